"""crictl (sigs.k8s.io/cri-tools, built by build/k8s) against a CRI socket:
pod sandboxes made, stopped and removed as a kubelet would, and the routes
read back in each pod's network namespace."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from builds import built
from daemons import CLEAN_PATH
from netns import Namespace

_pods = itertools.count()
_runtimes = itertools.count()
CGROUPS = Path("/sys/fs/cgroup")


@dataclass
class Sandbox:
    id: str
    name: str
    netns: str  # a path: /var/run/netns/... or /proc/PID/ns/net


class Crictl:
    def __init__(self, socket: Path, work: Path, image_loader: Callable[[Path], None]) -> None:
        self.socket, self.work = socket, work
        self.load_image = image_loader  # a docker-archive into the runtime's image store
        # its own config file, so /etc/crictl.yaml (if any) is never read
        self.config = work / "crictl.yaml"
        self.config.write_text(f"runtime-endpoint: unix://{socket}\nimage-endpoint: unix://{socket}\ntimeout: 60\n")
        # every pod's cgroups under one parent of this test's, removed by remove_cgroups
        # (without one, containerd leaves an empty /k8s.io in every hierarchy)
        self.cgroup_parent = f"/ro-k8s-{os.getpid()}-{next(_runtimes)}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(built("crictl")), "--config", str(self.config), *args]
        return subprocess.run(command, env={"PATH": CLEAN_PATH}, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"crictl {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout.strip()

    def answers(self) -> bool:
        return self.run("version", timeout=10).returncode == 0

    def pod_config(self, annotations: dict[str, str] | None = None, metadata: dict | None = None) -> tuple[str, Path]:
        """A pod sandbox config as a kubelet would send it (name, namespace, uid)."""
        number = next(_pods)
        metadata = metadata or {"name": f"ro-pod-{number}", "namespace": "ro-test", "uid": f"ro-uid-{number}", "attempt": 0}
        name = metadata["name"]
        config = {
            "metadata": metadata,
            "hostname": name,
            "log_directory": str(self.work / "pod-logs" / name),
            "annotations": annotations or {},
            "linux": {"cgroup_parent": self.cgroup_parent},
        }
        path = self.work / f"pod-{number}.json"
        path.write_text(json.dumps(config))
        return name, path

    def runp(self, annotations: dict[str, str] | None = None, metadata: dict | None = None) -> Sandbox:
        name, config = self.pod_config(annotations, metadata)
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

    def remove_pods(self) -> None:
        """Stop and remove the pods a failed test left, while the runtime still runs (their netns and shims go too)."""
        for pod in self.run("pods", "-q").stdout.split():
            self.run("stopp", pod)
            self.run("rmp", pod)

    def remove_cgroups(self) -> None:
        """The pods' cgroup parent in every hierarchy (cgroup v1 or v2), deepest first;
        call it after the runtime has stopped and removed the pods."""
        for parent in [CGROUPS / self.cgroup_parent.lstrip("/"), *CGROUPS.glob(f"*/{self.cgroup_parent.lstrip('/')}")]:
            if parent.is_dir():
                for directory in sorted((p for p in parent.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                    directory.rmdir()
                parent.rmdir()

    def netns_of(self, pod_id: str) -> str:
        """The pod's network namespace: the path in the runtime spec (containerd,
        CRI-O both report it in `inspectp`'s info), else the sandbox process's."""
        info = json.loads(self.ok("inspectp", pod_id)).get("info", {})
        spec = info.get("runtimeSpec", {})
        for namespace in spec.get("linux", {}).get("namespaces", []):
            if namespace.get("type") == "network" and namespace.get("path"):
                return namespace["path"]
        return f"/proc/{info['pid']}/ns/net"


class PodNetns(Namespace):
    """A namespace the runtime made for a pod (in /var/run/netns), read through
    the same code as the tests' own; the runtime removes it with the pod."""

    def __init__(self, sandbox: Sandbox) -> None:
        assert sandbox.netns.startswith(("/var/run/netns/", "/run/netns/")), sandbox.netns
        self.path, self.name = sandbox.netns, Path(sandbox.netns).name
