"""crictl (sigs.k8s.io/cri-tools, built by build/k8s) against a CRI socket:
pod sandboxes made, stopped and removed as a kubelet would, and the routes
read back in each pod's network namespace."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from builds import built
from daemons import CLEAN_PATH

_pods = itertools.count()


@dataclass
class Sandbox:
    id: str
    name: str
    netns: str  # a path: /var/run/netns/... or /proc/PID/ns/net


class Crictl:
    def __init__(self, socket: Path, work: Path) -> None:
        self.socket, self.work = socket, work
        # its own config file, so /etc/crictl.yaml (if any) is never read
        self.config = work / "crictl.yaml"
        self.config.write_text(f"runtime-endpoint: unix://{socket}\nimage-endpoint: unix://{socket}\ntimeout: 60\n")

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(built("crictl")), "--config", str(self.config), *args]
        return subprocess.run(command, env={"PATH": CLEAN_PATH}, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"crictl {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout.strip()

    def answers(self) -> bool:
        return self.run("version", timeout=10).returncode == 0

    def pod_config(self, annotations: dict[str, str] | None = None) -> tuple[str, Path]:
        """A pod sandbox config as a kubelet would send it (name, namespace, uid)."""
        number = next(_pods)
        name = f"ro-pod-{number}"
        config = {
            "metadata": {"name": name, "namespace": "ro-test", "uid": f"ro-uid-{number}", "attempt": 0},
            "hostname": name,
            "log_directory": str(self.work / "pod-logs" / name),
            "annotations": annotations or {},
            "linux": {},
        }
        path = self.work / f"{name}.json"
        path.write_text(json.dumps(config))
        return name, path

    def runp(self, annotations: dict[str, str] | None = None) -> Sandbox:
        name, config = self.pod_config(annotations)
        pod_id = self.ok("runp", str(config))
        return Sandbox(pod_id, name, self.netns_of(pod_id))

    def timed_runp(self, annotations: dict[str, str] | None = None) -> tuple[Sandbox, float]:
        """runp and the seconds it took, crictl's own start-up included (the same for every pod)."""
        name, config = self.pod_config(annotations)
        started = time.perf_counter()
        pod_id = self.ok("runp", str(config))
        took = time.perf_counter() - started
        return Sandbox(pod_id, name, ""), took

    def runp_fails(self, annotations: dict[str, str] | None = None) -> str:
        """runp that must fail: its error, for the test to read."""
        _, config = self.pod_config(annotations)
        done = self.run("runp", str(config))
        assert done.returncode != 0, f"runp succeeded: {done.stdout}"
        return done.stderr

    def remove(self, sandbox: Sandbox) -> None:
        self.ok("stopp", sandbox.id)
        self.ok("rmp", sandbox.id)

    def pods(self) -> list[str]:
        return self.ok("pods", "-q").split()

    def netns_of(self, pod_id: str) -> str:
        """The pod's network namespace: the path in the runtime spec (containerd,
        CRI-O both report it in `inspectp`'s info), else the sandbox process's."""
        info = json.loads(self.ok("inspectp", pod_id)).get("info", {})
        spec = info.get("runtimeSpec", {})
        for namespace in spec.get("linux", {}).get("namespaces", []):
            if namespace.get("type") == "network" and namespace.get("path"):
                return namespace["path"]
        return f"/proc/{info['pid']}/ns/net"


def routes_in(netns: str, family: int = 4) -> set[str]:
    """The main table of a namespace, as `ip route` prints it, one spaced line each."""
    command = ["nsenter", f"--net={netns}", "ip", f"-{family}", "route", "show"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={"PATH": CLEAN_PATH}).stdout
    return {" ".join(line.split()) for line in out.splitlines()}


def in_netns(netns: str, *command: str) -> str:
    return subprocess.run(["nsenter", f"--net={netns}", *command], capture_output=True, text=True, check=True, env={"PATH": CLEAN_PATH}).stdout
