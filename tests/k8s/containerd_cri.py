"""containerd 1.6 (Debian's) with its CRI plugin, started for one test with
its own config, root, state, socket and CNI directories, inside the node
namespace (so the CNI plugins it runs see the node's links, not the host's).

- restrict_oom_score_adj: this machine cannot lower a process's OOM score,
  and containerd would try to for every sandbox.
- disable_apparmor: containerd would otherwise load its AppArmor profile into
  the host's kernel, a change outside the test.
- stream_server_port 0: a free port, so runs side by side never collide.
- runc's state under the test's directory (Root); the shims' sockets still
  go to /run/containerd/s (hard-coded in 1.6), removed after (host.py).
- snapshotter native: plain directories under the test's root, no overlay
  mounts to leak if the test is killed.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from builds import debian
from cri import Crictl
from daemons import CLEAN_PATH, running, runtime_env
from host import leaves_no_trace
from netns import Namespace, wait_for
from pause import PAUSE_IMAGE, pause_archive
from images import podman_storage

NAME = "containerd"


def config(work: Path, conf_dir: Path, bin_dir: Path) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{work}/root"
state = "{work}/state"
[plugins."io.containerd.internal.v1.opt"]
  path = "{work}/opt"
[grpc]
  address = "{work}/cri.sock"
[ttrpc]
  address = "{work}/cri.sock.ttrpc"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[{cri}.containerd]
  snapshotter = "native"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.runc.options]
  Root = "{work}/runc"
[{cri}.cni]
  bin_dir = "{bin_dir}"
  conf_dir = "{conf_dir}"
  max_conf_num = 1
"""


@contextmanager
def containerd_cri(node: Namespace, conf_dir: Path, bin_dir: Path) -> Iterator[Crictl]:
    """containerd's CRI on a socket of its own, the pause image imported; all removed after."""
    debian("containerd")
    removable = ["/run/containerd", "/sys/fs/cgroup/k8s.io", "/sys/fs/cgroup/*/k8s.io"]
    with (
        leaves_no_trace(removable, forbidden=["/var/lib/containerd", "/etc/containerd"]),
        _containerd(node, conf_dir, bin_dir) as crictl,
    ):
        yield crictl


@contextmanager
def _containerd(node: Namespace, conf_dir: Path, bin_dir: Path) -> Iterator[Crictl]:
    # a short path: a unix socket's must fit in 108 bytes
    with tempfile.TemporaryDirectory(prefix="ro-k8s-ctd-") as name:
        work = Path(name)
        (work / "config.toml").write_text(config(work, conf_dir, bin_dir))
        command = ["nsenter", f"--net={node.path}", "containerd", "--config", str(work / "config.toml")]

        def load(archive: Path) -> None:
            ctr = ["ctr", "--address", str(work / "cri.sock"), "--namespace", "k8s.io", "images", "import", str(archive)]
            subprocess.run(ctr, check=True, capture_output=True, env={"PATH": CLEAN_PATH})

        crictl = Crictl(work / "cri.sock", work, load)
        with running("containerd", command, work / "containerd.log", runtime_env(work)) as daemon:
            daemon.wait_ready(crictl.answers, timeout=60)
            with podman_storage(work) as storage:
                archive = pause_archive(storage, work)
            load(archive)
            try:
                yield crictl
            finally:
                crictl.remove_pods()
        subprocess.run(["umount", "--recursive", "--lazy", str(work)], capture_output=True)  # if anything stayed mounted
        crictl.remove_cgroups()


@contextmanager
def reloading_cni(crictl: Crictl, conflist: dict, timeout: float = 30) -> Iterator[None]:
    """Around a write of `conflist` into the CNI conf directory: after it, until
    containerd has loaded it (it reloads when the directory changes; until then
    pods get the old one). `crictl info` shows the networks it holds."""
    yield
    wanted = (conflist["name"], [plugin["type"] for plugin in conflist["plugins"]])

    def loaded() -> bool:
        networks = json.loads(crictl.ok("info")).get("cniconfig", {}).get("Networks") or []
        held = [(n["Config"]["Name"], [p["Network"]["type"] for p in n["Config"]["Plugins"]]) for n in networks]
        return wanted in held

    wait_for(loaded, f"containerd to load the pod network {wanted}", timeout)
