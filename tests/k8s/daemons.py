"""Daemons the Kubernetes tests start (containerd, CRI-O, etcd,
kube-apiserver): each in a session of its own, its output in a log file,
ready when a probe says so, and stopped by its process id, with its whole
process group, even when the test fails."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def runtime_env(work: Path) -> dict[str, str]:
    """The environment of a container runtime, which its CNI plugins inherit.
    SHIV_ROOT gives route-override an extraction cache of the test's own: the
    shared one (/var/cache/route-override) is re-extracted whenever another
    build of the plugin runs on this machine (other checkouts' tests do), and
    a pod start would then pay for an extraction that a node never sees twice."""
    cache = work / "shiv"
    cache.mkdir(mode=0o700, exist_ok=True)
    return {"PATH": CLEAN_PATH, "SHIV_ROOT": str(cache)}


class Daemon:
    def __init__(self, name: str, process: subprocess.Popen, log: Path) -> None:
        self.name, self.process, self.log = name, process, log

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last lines of {self.log}:\n" + "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> None:
        """Poll `probe` until it is true; fail with the log if the daemon exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while not probe():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} was not ready within {timeout} s\n{self.tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the daemon, then SIGKILL to its process group if it lingers
        (its children: runc shims and conmon are reaped by the runtime's own stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def running(name: str, command: Sequence[str], log: Path, env: dict | None = None) -> Iterator[Daemon]:
    """Starts `command` (a new session: its group is its own), stops it on the way out."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env if env is not None else {"PATH": CLEAN_PATH}, start_new_session=True,
        )  # fmt: skip
    daemon = Daemon(name, process, log)
    try:
        yield daemon
    finally:
        daemon.stop()
