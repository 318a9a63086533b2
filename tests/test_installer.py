"""installer/install.sh, the image's entrypoint, against temporary directories.

Run with dash and with busybox sh (the image's shell).
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


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_usr(root: Path, *names: str, links: dict | None = None) -> Path:
    """A host /usr/bin with these python executables (and symlinks)."""
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for name in names:
        (bin_dir / name).write_text("")
        (bin_dir / name).chmod(0o755)
    for name, target in (links or {}).items():
        (bin_dir / name).symlink_to(target)
    return root / "usr"


@pytest.fixture
def host(tmp_path: Path) -> dict:
    source = tmp_path / "route-override"
    source.write_bytes(b"new plugin " * 1000)
    source.chmod(0o644)
    (tmp_path / "route-override.version").write_text("route-override 9.9.9 (test)")
    dest = tmp_path / "cni-bin"
    dest.mkdir()
    usr = fake_usr(tmp_path / "host", "python3.11", links={"python3": "python3.11"})
    return {"source": source, "dest": dest, "usr": usr}


def install(host: dict, *args: str, shell: list = SHELLS[0]) -> subprocess.CompletedProcess:
    command = [*shell, str(INSTALL), "--source", str(host["source"]), "--dest-dir", str(host["dest"]), "--host-usr", str(host["usr"]), *args]
    return subprocess.run(command, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("shell", SHELLS, ids=["dash", "busybox"])
def test_installs_0755_then_skips_when_identical_then_replaces(host: dict, shell: list) -> None:
    first = install(host, shell=shell)
    installed = host["dest"] / "route-override"
    assert first.returncode == 0, first.stdout + first.stderr
    assert installed.read_bytes() == host["source"].read_bytes() and installed.stat().st_mode & 0o777 == 0o755
    assert "route-override 9.9.9 (test)" in first.stdout and "installed" in first.stdout and "before: none" in first.stdout
    assert "skipped" in install(host, shell=shell).stdout
    host["source"].write_bytes(b"newer plugin")
    third = install(host, shell=shell)
    assert "installed" in third.stdout and installed.read_bytes() == b"newer plugin"
    assert sorted(p.name for p in host["dest"].iterdir()) == ["route-override"]


def test_removes_temporaries_of_an_interrupted_run(host: dict) -> None:
    stale = host["dest"] / ".route-override.tmp.Ab12Cd"
    stale.write_text("half a plugin")
    out = install(host).stdout
    assert not stale.exists() and "left by an interrupted run" in out


def test_replaces_a_planted_symlink_without_following_it(host: dict, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("do not touch")
    (host["dest"] / "route-override").symlink_to(victim)
    out = install(host).stdout
    assert victim.read_text() == "do not touch"
    assert not (host["dest"] / "route-override").is_symlink() and "without following it" in out


@pytest.mark.parametrize(
    "names, links, usable",
    [
        (["python3.11"], {"python3": "python3.11"}, True),
        (["python3.6", "python3.9"], {"python3": "/etc/alternatives/python3"}, True),  # RHEL 8 with python39
        (["python3.6"], {"python3": "python3.6"}, False),
        (["python3.12"], {}, False),  # no python3 to start the plugin with
        ([], {}, False),
    ],
)
def test_python_check_requires_a_usable_python3_unless_told_to_warn(host: dict, tmp_path: Path, names, links, usable) -> None:
    host["usr"] = fake_usr(tmp_path / "other-host", *names, links=links)
    required = install(host)
    assert (required.returncode == 0) == usable, required.stdout
    assert (host["dest"] / "route-override").exists() == usable
    if not usable:
        assert "needs python3 and Python 3.9+" in required.stdout
        warned = install(host, "--python-check", "warn")
        assert warned.returncode == 0 and "installing anyway" in warned.stdout
        assert (host["dest"] / "route-override").exists()


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
    command = [*shell, str(INSTALL), "--source", str(host["source"]), "--dest-dir", str(host["dest"]), "--host-usr", str(host["usr"]), "--mode", "daemon"]
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
    """Kill the installer at random points of a copy, many times: the
    destination is always one of the two complete files, never partial or
    missing. Big files make the copy take long enough to be hit."""
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_bytes(os.urandom(1 << 20) * 8)
    new.write_bytes(os.urandom(1 << 20) * 8)
    digests = {digest(old): "old", digest(new): "new"}
    dest = tmp_path / "bin"
    dest.mkdir()
    usr = fake_usr(tmp_path / "host", "python3.11", links={"python3": "python3.11"})
    (dest / "route-override").write_bytes(old.read_bytes())
    rng = random.Random(1234)
    start = time.monotonic()
    subprocess.run(["dash", str(INSTALL), "--source", str(new), "--dest-dir", str(dest), "--host-usr", str(usr)], check=True, capture_output=True)
    full_run = time.monotonic() - start
    seen = {"replaced": 0, "kept": 0}
    for round_ in range(KILL_ROUNDS):
        current = digests[digest(dest / "route-override")]
        source = old if current == "new" else new
        process = subprocess.Popen(
            ["dash", str(INSTALL), "--source", str(source), "--dest-dir", str(dest), "--host-usr", str(usr)],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0, full_run * 1.2))  # a random moment, not a wait for success
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        installed = dest / "route-override"
        assert installed.exists(), f"round {round_}: the plugin is missing"
        state = digests.get(digest(installed))
        assert state is not None, f"round {round_}: a partial plugin is installed"
        assert installed.stat().st_mode & 0o777 == 0o755
        seen["replaced" if (state == "new") == (source == new) else "kept"] += 1
    print(f"{KILL_ROUNDS} kills: {seen}")
    assert seen["replaced"] and seen["kept"], seen  # the kills landed both before and after the rename
    subprocess.run(["dash", str(INSTALL), "--source", str(new), "--dest-dir", str(dest), "--host-usr", str(usr)], check=True, capture_output=True)
    assert sorted(p.name for p in dest.iterdir()) == ["route-override"]
