"""The launcher: its fallback to a newer python3.N when python3 is too old,
and how it runs on the bundled runtime the installer puts beside it.

The built file's own launcher, on Debian's python3 made to look old (as in
test_artifact.py): real old interpreters, where the machine has them, are
in tests/platforms/test_pythons.py.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from runner import PLUGIN, ROOT

AS_IF_OLD = "import sys; sys.version_info = (3, 8, 18); sys.path.insert(0, sys.argv[1]); import route_override_launcher"


def as_if_old(path: str) -> subprocess.CompletedProcess:
    if not PLUGIN:
        pytest.fail("this runs the built plugin's launcher: make test builds it")
    command = ["/usr/bin/python3", "-I", "-S", "-c", AS_IF_OLD, str(Path(PLUGIN).resolve()), "--version"]
    return subprocess.run(command, env={"PATH": path}, capture_output=True, text=True)


def test_an_old_python3_re_runs_under_the_newest_python3_n_of_any_n(tmp_path: Path) -> None:
    """No list of names to fall behind: python3.42 is found, and preferred
    to python3.13 in the same directory; names below 3.9 or not python3.N
    (python3.8, python3.50-config) are never run."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    for name in ("python3.13", "python3.42"):
        (first / name).symlink_to("/usr/bin/python3")
    for decoy in ("python3.8", "python3.50-config"):
        (first / decoy).write_text("#!/bin/sh\necho decoy ran; exit 3\n")
        (first / decoy).chmod(0o755)
    (second / "python3.99").symlink_to("/usr/bin/python3")  # newer, but PATH order comes first
    done = as_if_old(f"{tmp_path / 'missing'}:{first}:{second}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("route-override 0.1.0") and f"at {first}/python3.42)" in done.stdout


def test_an_old_python3_never_runs_a_python3_n_from_a_directory_others_can_write(tmp_path: Path) -> None:
    """A python3.N that anyone could have put there is skipped, as if absent."""
    writable = tmp_path / "writable"
    writable.mkdir()
    (writable / "python3.42").write_text("#!/bin/sh\necho planted ran; exit 3\n")
    (writable / "python3.42").chmod(0o755)
    writable.chmod(0o777)
    done = as_if_old(str(writable))
    assert "planted ran" not in done.stdout and done.returncode == 1
    assert "no python3.9+ is on PATH" in done.stderr


def installed_with_runtime(tmp_path: Path) -> tuple[Path, Path]:
    """The built plugin and this machine's bundled runtime, installed by the installer into tmp_path/bin."""
    if not PLUGIN:
        pytest.fail("this runs the built plugin: make test builds it")
    subprocess.run([sys.executable, "build/runtime.py", host_arch()], cwd=ROOT, check=True, capture_output=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tmp_path.chmod(0o755)
    install = [
        "dash", str(ROOT / "installer" / "install.sh"), "--source", str(Path(PLUGIN).resolve()),
        "--runtime", str(ROOT / ".cache" / "runtime" / host_arch()), "--dest-dir", str(bin_dir), "--host-dest-dir", str(bin_dir),
    ]  # fmt: skip
    subprocess.run(install, check=True, capture_output=True)
    (runtime,) = [p for p in bin_dir.iterdir() if p.is_dir()]
    return bin_dir / "route-override", runtime


def host_arch() -> str:
    machines = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}
    return machines[platform.machine()]


def test_the_bundled_runtime_runs_isolated_and_writes_nothing_into_itself(tmp_path: Path) -> None:
    plugin, runtime = installed_with_runtime(tmp_path)
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "sitecustomize.py").write_text("raise SystemExit('planted code ran')\n")
    (planted / "json.py").write_text("raise SystemExit('planted code ran')\n")
    before = sorted((str(p), p.stat().st_mtime_ns) for p in [runtime, *runtime.rglob("*")])
    env = {
        "PATH": "/nonexistent",
        "SHIV_ROOT": str(tmp_path / "cache"),
        "PYTHONPATH": str(planted),
        "PYTHONHOME": str(planted),
        "PYTHONSTARTUP": str(planted / "json.py"),
    }
    for _ in range(2):  # the first run extracts (cold), the second is warm
        done = subprocess.run([str(plugin), "--version"], env=env, capture_output=True, text=True)
        assert done.returncode == 0 and f"at {runtime}/python3)" in done.stdout, done.stdout + done.stderr
    assert sorted((str(p), p.stat().st_mtime_ns) for p in [runtime, *runtime.rglob("*")]) == before


def test_a_bundled_runtime_others_can_write_is_refused(tmp_path: Path) -> None:
    plugin, runtime = installed_with_runtime(tmp_path)
    runtime.chmod(0o777)
    env = {"PATH": "/nonexistent", "SHIV_ROOT": str(tmp_path / "cache"), "CNI_COMMAND": "VERSION"}
    done = subprocess.run([str(plugin)], input='{"cniVersion": "1.0.0"}', env=env, capture_output=True, text=True)
    error = json.loads(done.stdout)
    assert (
        done.returncode == 1
        and error["code"] == 50
        and "refusing the bundled runtime" in error["msg"]
        and str(runtime) in error["msg"]
    )


def _cleanup_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("route_override_cleanup", ROOT / "build" / "cache_cleanup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_of_the_old_plugin_keeps_a_runtime_installed_for_the_next_one(tmp_path: Path) -> None:
    """The installer puts the next runtime in place before the plugin that
    names it; CRI-O runs every plugin when the bin dir changes, so the old
    plugin may run in between (seen under the kubelet: it removed the new
    runtime, and the node's new plugin named a runtime that was gone)."""
    cleanup = _cleanup_module()
    prefix = ".route-override-"
    old, new = tmp_path / f"{prefix}{'a' * 12}", tmp_path / f"{prefix}{'b' * 12}"
    old.mkdir()
    new.mkdir()
    while new.stat().st_ctime <= old.stat().st_ctime:  # distinct timestamps (the kernel's clock is coarse)
        new.rmdir()
        new.mkdir()
    plugin = tmp_path / "route-override"
    plugin.write_text(f"#!{old}.start\n")
    named = cleanup.runtimes_named(plugin.read_bytes(), prefix)
    assert named == {old.name}
    cleanup.remove_other_runtimes(str(tmp_path), prefix, old.name, named)  # the old plugin runs before the switch
    assert new.is_dir() and old.is_dir()
    # After the switch the installed plugin names the new runtime: a run of the old plugin keeps its own,
    plugin.write_text(f"#!/bin/sh\nruntime={new}\n")
    named = cleanup.runtimes_named(plugin.read_bytes(), prefix)
    cleanup.remove_other_runtimes(str(tmp_path), prefix, old.name, named)
    assert new.is_dir() and old.is_dir()
    # and a run of the new one removes the old runtime.
    cleanup.remove_other_runtimes(str(tmp_path), prefix, new.name, named)
    assert new.is_dir() and not old.exists()
