"""A single-node cluster in the node namespace: etcd and kube-apiserver
(apiserver.py), kube-controller-manager, kube-scheduler, containerd's CRI
(containerd_cri.py) and a kubelet, all from build/k8s and all stopped after.

The kubelet writes six kernel-wide sysctls at start (vm.overcommit_memory,
vm.panic_on_oom, kernel.panic, kernel.panic_on_oops, kernel.keys.root_maxkeys
and root_maxbytes: pkg/kubelet/cm/container_manager_linux.go,
setupKernelTunables), with no setting that only checks them without failing.
They are not per namespace: on a shared machine that would change every
process's memory overcommit and what an oops does. So the kubelet runs in a
mount namespace of its own where those six files are regular files holding
the values it wants: it reads them, finds them right, and writes nothing.

This machine mounts cgroup v1, which kubelet 1.37 refuses unless told
(failCgroupV1: false). No QoS cgroups (cgroupsPerQOS: false): the kubelet
makes no cgroups of its own; the pods' are containerd's, under the test's
parent.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apiserver import ADDRESS, Kubectl, apiserver
from builds import built
from containerd_cri import containerd_cri
from cri import Crictl
from daemons import running
from host import leaves_no_trace
from netns import Namespace

NODE_NAME = "ro-node"
# what setupKernelTunables wants, in its own words (k8s.io/component-helpers/node/util/sysctl)
KERNEL_TUNABLES = {
    "vm/overcommit_memory": 1,
    "vm/panic_on_oom": 0,
    "kernel/panic": 10,
    "kernel/panic_on_oops": 1,
    "kernel/keys/root_maxkeys": 1000000,
    "kernel/keys/root_maxbytes": 25000000,
}


def kubelet_config(work: Path, crictl: Crictl) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "containerRuntimeEndpoint": f"unix://{crictl.socket}",
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "address": "127.0.0.1",
        "readOnlyPort": 0,
        "podLogsDir": str(work / "pod-logs"),
        "resolvConf": "",
        "oomScoreAdj": 0,  # this machine cannot lower a process's OOM score
        # a busy shared disk must not evict the test's pods
        "evictionHard": {"memory.available": "1Mi", "nodefs.available": "0%", "imagefs.available": "0%"},
        "imageGCHighThresholdPercent": 100,
        "localStorageCapacityIsolation": False,
    }


def kubelet_command(work: Path, node: Namespace, kubeconfig: Path) -> list[str]:
    """The kubelet in the node namespace and a private mount namespace whose
    kernel tunables are files of the test's (see the module's docstring)."""
    binds = []
    for key, value in KERNEL_TUNABLES.items():
        stand_in = work / "sysctl" / key.replace("/", ".")
        stand_in.parent.mkdir(exist_ok=True)
        stand_in.write_text(f"{value}\n")
        binds.append(f"mount --bind {shlex.quote(str(stand_in))} /proc/sys/{key}")
    kubelet = [
        str(built("kubelet")), "--config", str(work / "kubelet.json"), "--kubeconfig", str(kubeconfig),
        "--root-dir", str(work / "kubelet"), "--cert-dir", str(work / "kubelet-pki"),
        "--hostname-override", NODE_NAME, "--node-ip", ADDRESS,
    ]  # fmt: skip
    # /var/log/containers (symlinks to container logs) and /var/lib/kubelet/device-plugins are
    # hard-coded: a tmpfs of its own over /var/log and /var/lib, which it needs nothing else from
    mounts = ["mount -t tmpfs tmpfs /var/log", "mount -t tmpfs tmpfs /var/lib"]
    script = " && ".join([*binds, *mounts, "exec " + shlex.join(kubelet)])
    return ["nsenter", f"--net={node.path}", "unshare", "--mount", "--propagation", "private", "sh", "-c", script]


@contextmanager
def single_node(node: Namespace, conf_dir: Path, bin_dir: Path, runtime=containerd_cri) -> Iterator[tuple[Kubectl, Crictl]]:
    """The cluster on `runtime` (containerd_cri or crio), its node Ready; everything stopped and removed after."""
    forbidden = ["/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/etc/kubernetes"]
    with leaves_no_trace([], forbidden), tempfile.TemporaryDirectory(prefix="ro-k8s-node-") as name:
        work = Path(name)
        with apiserver(node) as kubectl, runtime(node, conf_dir, bin_dir) as crictl:
            enter = ["nsenter", f"--net={node.path}"]
            config = ["--kubeconfig", str(kubectl.kubeconfig), "--leader-elect=false", "--bind-address", "127.0.0.1"]
            (work / "kubelet.json").write_text(json.dumps(kubelet_config(work, crictl)))
            with (
                running("kube-controller-manager", [*enter, str(built("kube-controller-manager")), *config], work / "kcm.log"),
                running("kube-scheduler", [*enter, str(built("kube-scheduler")), *config], work / "scheduler.log"),
                running("kubelet", kubelet_command(work, node, kubectl.kubeconfig), work / "kubelet.log") as kubelet,
            ):
                kubelet.wait_ready(lambda: _node_ready(kubectl), timeout=180)
                yield kubectl, crictl
                # pods go before the kubelet does, so that their DEL runs through it
                kubectl.run(
                    "delete", "daemonsets,pods", "--all", "--all-namespaces", "--wait=true", "--timeout=120s", timeout=150
                )


def _node_ready(kubectl: Kubectl) -> bool:
    done = kubectl.run("get", "node", NODE_NAME, "-o", "json", timeout=10)
    if done.returncode != 0:
        return False
    conditions = json.loads(done.stdout)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
