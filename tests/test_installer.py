"""installer/install.sh, the image's entrypoint, against temporary directories.

Run with dash and with busybox sh (the image's shell). The runtime here is a
stand-in with the real one's layout (build/runtime.py): what is checked is
how it is installed, replaced and removed; tests/platforms/test_node_roots.py
installs the real one from the real image and runs the plugin on it.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runner import ROOT

INSTALL = ROOT / "installer" / "install.sh"
SHELLS = [["dash"], ["busybox", "sh"]]
PREAMBLE = b"#!/bin/sh\n# the plugin's comment line\nruntime=\necho the plugin's sh code\n"
HOST_BIN = "/opt/cni/bin"  # the bin dir as the host names it (--host-dest-dir)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_runtime(image: Path, id_: str, python3: bytes = b"python3 v1") -> Path:
    """A runtime directory as build/runtime.py lays it out, with its SHA256SUMS."""
    runtime = image / "runtime" / f".route-override-{id_}"
    (runtime / "lib" / "encodings").mkdir(parents=True)
    files = {
        "ld.so": b"loader",
        "python3": python3,
        "python3._pth": b"lib\n",
        "libc.so.6": b"libc",
        "lib/os.pyc": b"os",
        "lib/encodings/__init__.pyc": b"encodings",
        "packages": b"# Debian trixie amd64\nlibc6 2.41-12+deb13u5 amd64\npython3.13-minimal 3.13.5-2+deb13u5 amd64\n",
    }
    for name, data in files.items():
        (runtime / name).write_bytes(data)
        (runtime / name).chmod(0o755 if name in ("ld.so", "python3") else 0o644)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    (runtime / "SHA256SUMS").write_text(sums)
    return runtime


def make_image(root: Path, id_: str = "0123456789ab", body: bytes = b"new plugin " * 1000) -> dict:
    """What the image holds: /route-override, its .version, /runtime/<one runtime>."""
    root.mkdir(parents=True, exist_ok=True)
    source = root / "route-override"
    source.write_bytes(PREAMBLE + body)
    source.chmod(0o644)
    (root / "route-override.version").write_text("route-override 9.9.9 (test)")
    runtime = fake_runtime(root, id_, python3=f"python3 of {id_}".encode())
    return {"source": source, "runtime": root / "runtime", "name": runtime.name}


@pytest.fixture
def host(tmp_path: Path) -> dict:
    dest = tmp_path / "cni-bin"
    dest.mkdir()
    tmp_path.chmod(0o755)
    return {"dest": dest, **make_image(tmp_path / "image")}


def install(host: dict, *args: str, shell: list = SHELLS[0]) -> subprocess.CompletedProcess:
    command = [
        *shell, str(INSTALL), "--source", str(host["source"]), "--runtime", str(host["runtime"]),
        "--dest-dir", str(host["dest"]), "--host-dest-dir", HOST_BIN, *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})


def snapshot(directory: Path) -> dict:
    """Every entry under `directory` (and itself) with what a write would change."""
    entries = [directory, *sorted(directory.rglob("*"))]
    return {str(p): (p.lstat().st_ino, p.lstat().st_mtime_ns, p.lstat().st_ctime_ns, p.lstat().st_mode) for p in entries}


def runtimes(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith(".route-override-") and p.is_dir())


@pytest.mark.parametrize("shell", SHELLS, ids=["dash", "busybox"])
def test_installs_runtime_then_plugin_naming_it_then_a_second_run_writes_nothing(host: dict, shell: list) -> None:
    first = install(host, shell=shell)
    assert first.returncode == 0, first.stdout + first.stderr
    installed = host["dest"] / "route-override"
    runtime = f"{HOST_BIN}/{host['name']}"
    lines = installed.read_bytes().split(b"\n", 3)
    assert lines[0] == f"#!{runtime}.start".encode()  # host paths, not the mount's
    start = (host["dest"] / f"{host['name']}.start").read_text().splitlines()
    assert start[0] == f"#!{runtime}/ld.so {runtime}/python3" and "import route_override_launcher" in start[-1]
    assert lines[1] == b"# the plugin's comment line" and lines[2] == f"runtime={runtime}".encode()
    assert lines[3] == host["source"].read_bytes().split(b"\n", 3)[3]  # the rest, byte for byte
    assert installed.stat().st_mode & 0o777 == 0o755
    copied = host["dest"] / host["name"]
    for path in (copied / "python3", copied / "lib" / "os.pyc"):
        assert path.read_bytes() == (host["runtime"] / host["name"] / path.relative_to(copied)).read_bytes()
    log = first.stdout
    assert "route-override 9.9.9 (test)" in log and "before: none" in log
    assert "from Debian trixie amd64" in log and "package python3.13-minimal 3.13.5-2+deb13u5 (amd64)" in log
    assert (
        log.index("installed runtime") < log.index(".start (#!") < log.index("installed " + str(host["source"]))
    )  # complete before named
    assert sorted(p.name for p in host["dest"].iterdir()) == [
        host["name"],
        f"{host['name']}.start",
        "route-override",
    ]  # no temporary left
    before = snapshot(host["dest"])
    again = install(host, shell=shell)
    assert again.returncode == 0 and "already installed and intact" in again.stdout and "skipped" in again.stdout
    assert snapshot(host["dest"]) == before  # v2 over v2 writes nothing


def test_everything_installed_is_roots_and_writable_by_root_only(host: dict) -> None:
    for path in (host["runtime"] / host["name"]).rglob("*"):
        path.chmod(0o777 if path.is_dir() else 0o666)  # an image built with a careless umask
    assert install(host).returncode == 0
    for path in [
        host["dest"] / host["name"],
        *(host["dest"] / host["name"]).rglob("*"),
        host["dest"] / "route-override",
        host["dest"] / f"{host['name']}.start",
    ]:
        info = path.lstat()
        assert info.st_uid == 0 and info.st_gid == 0 and not info.st_mode & 0o022, f"{path}: {oct(info.st_mode)}"


def test_an_upgrade_installs_the_new_runtime_beside_the_old_one_then_switches(host: dict, tmp_path: Path) -> None:
    """The old runtime stays for the runs still on it: the plugin removes it
    later, under a lock (tests/test_runtime.py)."""
    assert install(host).returncode == 0
    old = host["dest"] / host["name"]
    before = snapshot(old)
    v2 = make_image(tmp_path / "image-v2", id_="ba9876543210", body=b"newer plugin")
    upgraded = install({**host, **v2})
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert f"runtime={HOST_BIN}/{v2['name']}".encode() in (host["dest"] / "route-override").read_bytes()
    assert runtimes(host["dest"]) == sorted([host["name"], v2["name"]]) and snapshot(old) == before


@pytest.mark.parametrize("planted", ["symlink", "file", "tampered directory", "symlinked interpreter"])
def test_a_foreign_entry_at_the_runtimes_name_is_never_followed(host: dict, tmp_path: Path, planted: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "python3").write_text("do not touch")
    target = host["dest"] / host["name"]
    if planted == "symlink":
        target.symlink_to(victim)
    elif planted == "file":
        target.write_text("not a runtime")
    elif planted == "tampered directory":
        assert install(host).returncode == 0
        (target / "lib" / "sitecustomize.pyc").write_bytes(b"planted")  # not in SHA256SUMS
    else:  # the same bytes, but in a directory others can write: its checksum alone would pass
        assert install(host).returncode == 0
        (victim / "python3").write_bytes((target / "python3").read_bytes())
        victim.chmod(0o777)
        (target / "python3").unlink()
        (target / "python3").symlink_to(victim / "python3")
    done = install(host)
    assert done.returncode == 0, done.stdout + done.stderr
    if planted != "symlinked interpreter":
        assert (victim / "python3").read_text() == "do not touch"
    assert sorted(p.name for p in victim.iterdir()) == ["python3"]
    assert (
        target.is_dir()
        and not (target / "python3").is_symlink()
        and not target.is_symlink()
        and not (target / "lib" / "sitecustomize.pyc").exists()
    )
    assert (target / "python3").read_bytes() == (host["runtime"] / host["name"] / "python3").read_bytes()


def test_replaces_a_planted_plugin_symlink_without_following_it(host: dict, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("do not touch")
    (host["dest"] / "route-override").symlink_to(victim)
    out = install(host).stdout
    assert victim.read_text() == "do not touch"
    assert not (host["dest"] / "route-override").is_symlink() and "without following it" in out


@pytest.mark.parametrize("how", ["writable by others", "writable by its group", "owned by another user"])
def test_refuses_a_bin_dir_others_could_write(host: dict, how: str) -> None:
    """The plugin runs as root whatever interpreter its first line names: a bin
    dir others can write would let them swap it."""
    if how == "owned by another user":
        os.chown(host["dest"], 65534, 65534)
    else:
        host["dest"].chmod(0o757 if how == "writable by others" else 0o775)
    refused = install(host)
    assert refused.returncode == 1 and not list(host["dest"].iterdir())
    assert "writable by group or others" in refused.stdout or "not root" in refused.stdout


def test_a_first_line_longer_than_the_kernel_runs_falls_back_to_sh(host: dict) -> None:
    long_dir = "/var/lib/" + "k" * 120 + "/cni/bin"  # #!<dir>/.route-override-<id>/ld.so ... > 256 bytes
    done = install(host, "--host-dest-dir", long_dir)
    assert done.returncode == 0 and "needs a shell on the node" in done.stdout
    first, _, third = (host["dest"] / "route-override").read_bytes().split(b"\n", 3)[:3]  # the .start line is as long
    assert first == b"#!/bin/sh" and third == f"runtime={long_dir}/{host['name']}".encode()


@pytest.mark.parametrize("bad", ["relative/bin", "/opt/cni bin", "/opt/$(reboot)/bin"])
def test_refuses_a_host_dest_dir_a_shebang_or_sh_would_misread(host: dict, bad: str) -> None:
    refused = install(host, "--host-dest-dir", bad)
    assert refused.returncode == 1 and "--host-dest-dir" in refused.stdout and not list(host["dest"].iterdir())


def test_check_mode_answers_the_readiness_probe_and_writes_nothing(host: dict) -> None:
    assert install(host, "--mode", "check").returncode == 1  # nothing installed yet
    assert install(host).returncode == 0
    before = snapshot(host["dest"])
    assert install(host, "--mode", "check").returncode == 0
    assert snapshot(host["dest"]) == before
    start = host["dest"] / f"{host['name']}.start"
    start.write_text(start.read_text().replace(HOST_BIN, "/elsewhere"))
    assert "not this runtime's" in install(host, "--mode", "check").stdout
    assert install(host).returncode == 0 and install(host, "--mode", "check").returncode == 0  # put back
    (host["dest"] / host["name"] / "lib" / "os.pyc").write_bytes(b"changed")
    damaged = install(host, "--mode", "check")
    assert damaged.returncode == 1 and "does not check out" in damaged.stdout


def test_old_python_options_are_accepted_and_ignored(host: dict) -> None:
    """A DaemonSet from before the bundled runtime still installs, on a node without python3."""
    done = install(host, "--host-usr", "/nonexistent", "--python-check", "require")
    assert done.returncode == 0 and "--python-check is no longer used" in done.stdout
    assert (host["dest"] / "route-override").exists()


def test_removes_temporaries_of_an_interrupted_run(host: dict) -> None:
    stale_file = host["dest"] / ".route-override.tmp.Ab12Cd"
    stale_file.write_text("half a plugin")
    stale_dir = host["dest"] / ".route-override.tmp.Ef34Gh"
    (stale_dir / "lib").mkdir(parents=True)
    out = install(host).stdout
    assert not stale_file.exists() and not stale_dir.exists() and "left by an interrupted run" in out


def children(pid: int) -> dict[int, str]:
    """The running (not yet dead) children of `pid`, each with its start time (PID reuse)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or gone meanwhile
        state, parent, started = fields[0], int(fields[1]), fields[19]
        if parent == pid and state not in "ZX":
            found[int(entry.name)] = started
    return found


def still_running(processes: dict[int, str]) -> dict[int, str]:
    alive = {}
    for pid, started in processes.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in "ZX" and fields[19] == started:
            alive[pid] = started
    return alive


@pytest.mark.parametrize("shell", SHELLS, ids=["dash", "busybox"])
def test_daemon_mode_stays_alive_until_terminated_and_leaves_no_child(host: dict, shell: list) -> None:
    command = [
        *shell, str(INSTALL), "--source", str(host["source"]), "--runtime", str(host["runtime"]),
        "--dest-dir", str(host["dest"]), "--host-dest-dir", HOST_BIN, "--mode", "daemon",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"})
    sleepers: dict[int, str] = {}
    try:
        assert "staying alive" in "".join(iter_lines_until(process, "staying alive"))
        deadline = time.monotonic() + 10
        while not sleepers and time.monotonic() < deadline:
            sleepers = children(process.pid)
            time.sleep(0.01)
        assert sleepers, "the daemon started no sleep to wait on"
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        deadline = time.monotonic() + 10
        while still_running(sleepers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not still_running(sleepers), f"left behind: {still_running(sleepers)}"
    finally:
        process.kill()
        for pid in still_running(sleepers):  # so that a failure leaves no orphan either
            os.kill(pid, signal.SIGKILL)


def iter_lines_until(process: subprocess.Popen, marker: str):
    for line in process.stdout:
        yield line
        if marker in line:
            return


def test_refuses_unknown_options_and_a_missing_destination(host: dict) -> None:
    assert install(host, "--frobnicate", "1").returncode == 1
    host["dest"] = host["dest"] / "missing"
    failed = install(host)
    assert failed.returncode == 1 and "is not a directory" in failed.stdout


KILL_ROUNDS = int(os.environ.get("RO_KILL_ROUNDS", "150"))


def test_sigkill_at_random_moments_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """Kill the installer at random points of an install, many times: the
    plugin is always one of the two complete files, never partial or
    missing, and the runtime it names is always complete. Big files make the
    copy take long enough to be hit."""
    images = {
        "old": make_image(tmp_path / "old", id_="000000000001", body=os.urandom(1 << 20) * 8),
        "new": make_image(tmp_path / "new", id_="000000000002", body=os.urandom(1 << 20) * 8),
    }
    dest = tmp_path / "bin"
    dest.mkdir()
    tmp_path.chmod(0o755)

    def command(image: dict) -> list[str]:
        return [
            "dash", str(INSTALL), "--source", str(image["source"]), "--runtime", str(image["runtime"]),
            "--dest-dir", str(dest), "--host-dest-dir", HOST_BIN,
        ]  # fmt: skip

    subprocess.run(command(images["new"]), check=True, capture_output=True)
    digests = {digest(dest / "route-override"): "new"}
    start = time.monotonic()
    subprocess.run(command(images["old"]), check=True, capture_output=True)
    full_run = time.monotonic() - start
    digests[digest(dest / "route-override")] = "old"
    rng = random.Random(1234)
    seen = {"replaced": 0, "kept": 0}
    for round_ in range(KILL_ROUNDS):
        current = digests[digest(dest / "route-override")]
        target = "old" if current == "new" else "new"
        process = subprocess.Popen(command(images[target]), stdout=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0, full_run * 1.2))  # a random moment, not a wait for success
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        installed = dest / "route-override"
        assert installed.exists(), f"round {round_}: the plugin is missing"
        state = digests.get(digest(installed))
        assert state is not None, f"round {round_}: a partial plugin is installed"
        assert installed.stat().st_mode & 0o777 == 0o755
        named = installed.read_bytes().split(b"\n", 3)[2].split(b"/")[-1].decode()
        assert named == images[state]["name"] and (dest / named / "SHA256SUMS").exists(), f"round {round_}"
        assert installed.read_bytes().startswith(f"#!{HOST_BIN}/{named}.start\n".encode()) and (dest / f"{named}.start").exists()
        assert (dest / named / "python3").read_bytes() == f"python3 of {named[-12:]}".encode()
        seen["replaced" if state == target else "kept"] += 1
    print(f"{KILL_ROUNDS} kills: {seen}")
    assert seen["replaced"] and seen["kept"], seen  # the kills landed both before and after the rename
    subprocess.run(command(images["new"]), check=True, capture_output=True)
    names = [images["old"]["name"], images["new"]["name"]]
    assert sorted(p.name for p in dest.iterdir()) == sorted([*names, *(name + ".start" for name in names), "route-override"])
