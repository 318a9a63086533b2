"""dist/route-override: reproducible, self-contained, and its extraction cache.

These run the built file; `make test` builds it first (RO_PLUGIN).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner import PLUGIN, ROOT



@pytest.fixture(autouse=True)
def _built() -> None:
    if not PLUGIN:
        pytest.fail("these tests run the built plugin: build/shiv.sh, then RO_PLUGIN=dist/route-override (make test does both)")


VERSION_CONFIG = json.dumps({"cniVersion": "1.0.0"}).encode()


def run(*args: str, env: dict | None = None, stdin: bytes = b"", python: str | None = None) -> subprocess.CompletedProcess:
    command = ([python, "-I", "-S"] if python else []) + [str(Path(PLUGIN).resolve()), *args]
    return subprocess.run(command, input=stdin, env=env if env is not None else {"PATH": "/usr/bin:/bin"}, capture_output=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_builds_of_one_commit_are_byte_identical(tmp_path: Path) -> None:
    for name in ("one", "two"):
        subprocess.run(["build/shiv.sh", str(tmp_path / name)], cwd=ROOT, check=True, capture_output=True)
    assert sha256(tmp_path / "one") == sha256(tmp_path / "two")
    assert (tmp_path / "one.version").read_text() == (tmp_path / "two.version").read_text()


def test_the_first_lines_find_python3_like_env_and_isolate_it() -> None:
    head = Path(PLUGIN).read_bytes()[:1000].split(b"\n")
    assert head[0] == b"#!/bin/sh"
    assert b"exec python3 -I -S -c 'import sys; sys.path.insert(0, sys.argv[1]); import route_override_launcher' \"$0\" \"$@\"" in head
    assert os.access(PLUGIN, os.X_OK)


def test_runs_on_debian_python3_with_nothing_else(tmp_path: Path) -> None:
    """env -i: no HOME, no PYTHON* variables, PATH with Debian's /usr/bin/python3 only."""
    done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", str(Path(PLUGIN).resolve()), "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("route-override 0.1.0 (Python 3.")
    assert "/usr/bin/python3" in done.stdout


def test_the_declared_python_floor_holds() -> None:
    """vermin reads syntax and stdlib use: ro needs no more than
    requires-python, and the launcher parses on any python3 (so an old one
    gets a CNI error, not a SyntaxError)."""
    floor = "3.9"
    assert f'requires-python = ">={floor}"' in (ROOT / "pyproject.toml").read_text()
    vermin = [str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations"]
    for target, path in ((floor, "src/ro"), ("3.6", "build/launcher.py")):
        done = subprocess.run(vermin + [f"-t={target}-", path], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_an_old_python3_gets_a_cni_error_not_a_traceback() -> None:
    """What /usr/bin/python3 = 3.6 (RHEL 8) meets, with no python3.9+ on PATH:
    the launcher, run as such a Python would see itself."""
    as_if_old = "import runpy, sys; sys.version_info = (3, 6, 15); runpy.run_path(sys.argv[1], run_name='__main__')"
    done = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", as_if_old, str(ROOT / "build/launcher.py")],
        input=VERSION_CONFIG,
        env={"PATH": "/nonexistent", "CNI_COMMAND": "VERSION"},
        capture_output=True,
    )
    document = json.loads(done.stdout)
    assert done.returncode == 1 and document["code"] == 50 and "3.9 or newer" in document["msg"]


# ---- the extraction cache ------------------------------------------------------


def cache_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def test_root_runs_use_the_system_cache_with_home_unset_or_read_only(tmp_path: Path) -> None:
    for env in ({"PATH": "/usr/bin:/bin"}, {"PATH": "/usr/bin:/bin", "HOME": "/proc"}):
        done = run("--version", env=env)
        assert done.returncode == 0, done.stderr
    assert any(p.name.startswith("route-override_") for p in Path("/var/cache/route-override").iterdir())


def test_32_simultaneous_first_runs_on_an_empty_cache_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    env = {"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(root), "CNI_COMMAND": "VERSION"}
    with ThreadPoolExecutor(32) as pool:
        runs = list(pool.map(lambda _: run(env=env, stdin=VERSION_CONFIG), range(32)))
    assert [r.returncode for r in runs] == [0] * 32, [r.stderr for r in runs if r.returncode]
    assert all(json.loads(r.stdout)["supportedVersions"] for r in runs)
    (extracted,) = cache_dirs(root)  # one extraction, no temporary left behind
    assert extracted.startswith("route-override_") and (root / extracted / "site-packages" / "ro").is_dir()


def test_a_cache_that_cannot_be_created_is_a_cni_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(blocker / "cache"), "CNI_COMMAND": "VERSION"}
    done = run(env=env, stdin=VERSION_CONFIG)
    document = json.loads(done.stdout)
    assert done.returncode == 1 and document["code"] == 5
    assert str(blocker / "cache") in document["msg"] and b"Traceback" not in done.stderr


@pytest.mark.parametrize("how", ["writable by others", "owned by another user"])
def test_a_cache_someone_else_could_write_is_never_imported_from(tmp_path: Path, how: str) -> None:
    """A root run must not import code that a non-root user could have
    planted: such a cache root is refused with the reason."""
    root = tmp_path / "cache"
    subprocess.run(["build/shiv.sh", str(tmp_path / "plugin")], cwd=ROOT, check=True, capture_output=True)
    good = subprocess.run(
        [str(tmp_path / "plugin"), "--version"], env={"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(root)}, capture_output=True
    )
    assert good.returncode == 0
    (extracted,) = cache_dirs(root)
    planted = root / extracted / "site-packages" / "ro" / "__init__.py"
    planted.write_text("raise SystemExit('planted code ran')\n")
    if how == "writable by others":
        root.chmod(0o777)
    else:
        shutil.chown(root, user="nobody")
    env = {"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(root), "CNI_COMMAND": "VERSION"}
    done = subprocess.run([str(tmp_path / "plugin")], input=VERSION_CONFIG, env=env, capture_output=True)
    assert b"planted code ran" not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["code"] == 5 and "refusing the cache" in document["msg"] and str(root) in document["msg"]
