"""CRI-O (built by build/k8s at the newest release the module proxy serves),
started for one test with every path it would use under /etc, /var and /run
pointed into a temporary directory, inside the node namespace.

- runc through runc_wrapper.py: this machine cannot lower a process's OOM
  score and CRI-O has no option to not ask.
- apparmor_profile unconfined, NRI and CRIU off, irqbalance files in the
  work directory: otherwise CRI-O loads a profile into the host's kernel or
  writes host files.
- namespaces_dir stays /var/run: pinns makes the pod's netns in
  /var/run/netns (as `ip netns add` does) and CRI-O removes it with the pod.
- namespaced_auth_dir (a hidden option): else CRI-O makes /etc/crio/auth.
- the pause image is committed by buildah straight into CRI-O's storage (vfs).
- its log is crio.log in the work directory (log level info, the default):
  `reloading_cni` reads there when CRI-O has loaded a new CNI config, which
  `crictl info` does not show (CRI-O's verbose status is its own config).
"""

from __future__ import annotations

import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from builds import built, debian
from cri import Crictl
from daemons import running, runtime_env
from host import leaves_no_trace
from netns import Namespace, wait_for
from pause import PAUSE_IMAGE, build_pause

WRAPPER = Path(__file__).parent / "runc_wrapper.py"
# Where CRI-O writes by default; none may appear on the host.
HOST_PATHS = ["/etc/crio", "/var/lib/crio", "/var/run/crio", "/var/log/crio", "/etc/sysconfig/orig_irq_banned_cpus", "/run/crun"]


def storage_flags(work: Path) -> list[str]:
    return ["--root", str(work / "storage"), "--runroot", str(work / "storage-run"), "--storage-driver", "vfs"]


def config(work: Path, conf_dir: Path, bin_dir: Path) -> str:
    return f"""[crio]
root = "{work}/storage"
runroot = "{work}/storage-run"
storage_driver = "vfs"
log_dir = "{work}/pod-logs"
version_file = "{work}/version"
version_file_persist = "{work}/version-persist"
clean_shutdown_file = "{work}/clean.shutdown"
[crio.api]
listen = "{work}/cri.sock"
stream_address = "127.0.0.1"
stream_port = "0"
[crio.runtime]
default_runtime = "runc"
cgroup_manager = "cgroupfs"
apparmor_profile = "unconfined"
selinux = false
decryption_keys_path = "{work}/keys"
irqbalance_config_file = "{work}/irqbalance"
irqbalance_config_restore_file = "disable"
container_exits_dir = "{work}/exits"
container_attach_socket_dir = "{work}/attach"
cdi_spec_dirs = ["{work}/cdi"]
hooks_dir = ["{work}/hooks"]
pinns_path = "{built("pinns")}"
enable_criu_support = false
[crio.runtime.runtimes.runc]
runtime_path = "{WRAPPER}"
runtime_type = "oci"
runtime_root = "{work}/runc"
monitor_path = "{debian("conmon")}"
monitor_cgroup = "pod"
[crio.image]
pause_image = "{PAUSE_IMAGE}"
pause_command = ""
signature_policy = "{work}/policy.json"
signature_policy_dir = "{work}/policies"
namespaced_auth_dir = "{work}/auth"
[crio.network]
network_dir = "{conf_dir}"
plugin_dirs = ["{bin_dir}"]
[crio.nri]
enable_nri = false
nri_listen = "{work}/nri.sock"
nri_plugin_dir = "{work}/nri"
nri_plugin_config_dir = "{work}/nri.d"
"""


@contextmanager
def crio(node: Namespace, conf_dir: Path, bin_dir: Path) -> Iterator[Crictl]:
    """CRI-O on a socket of its own with the pause image in its storage; all removed after."""
    # pods without a cgroup parent (the kubelet's, with cgroupsPerQOS off) go under /crio
    removable = ["/sys/fs/cgroup/crio", "/sys/fs/cgroup/*/crio"]
    with leaves_no_trace(removable, forbidden=HOST_PATHS), _crio(node, conf_dir, bin_dir) as crictl:
        yield crictl


@contextmanager
def _crio(node: Namespace, conf_dir: Path, bin_dir: Path) -> Iterator[Crictl]:
    daemon_binary = built("crio")
    with tempfile.TemporaryDirectory(prefix="ro-k8s-crio-") as name:
        work = Path(name)
        (work / "policy.json").write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
        (work / "crio.conf.d").mkdir()
        (work / "crio.conf").write_text(config(work, conf_dir, bin_dir))
        build_pause(storage_flags(work), work)
        command = [
            "nsenter", f"--net={node.path}", str(daemon_binary),
            "--config", str(work / "crio.conf"), "--config-dir", str(work / "crio.conf.d"),
        ]  # fmt: skip

        def load(archive: Path) -> None:
            # into CRI-O's storage while it runs (containers/storage locks it)
            pulled = ["buildah", *storage_flags(work), "pull", "--quiet", f"docker-archive:{archive}"]
            subprocess.run(pulled, check=True, capture_output=True)

        crictl = Crictl(work / "cri.sock", work, load)
        try:
            with running("crio", command, work / "crio.log", runtime_env(work)) as daemon:
                daemon.wait_ready(crictl.answers, timeout=60)
                try:
                    yield crictl
                finally:
                    crictl.remove_pods()
        finally:
            # CRI-O's storage (vfs) and conmon's leftovers are plain directories, but a
            # killed run can leave shm mounts under the run root
            subprocess.run(["umount", "--recursive", "--lazy", str(work / "storage-run")], capture_output=True)
            crictl.remove_cgroups()


@contextmanager
def reloading_cni(crictl: Crictl, conflist: dict, timeout: float = 30) -> Iterator[None]:
    """Around a write of `conflist` into the CNI conf directory: after it, until
    CRI-O has loaded it (its CNI library, ocicni, watches the directory and
    reloads on every event; until then pods get the old one).

    ocicni logs each conf-file event ("CNI monitoring event WRITE ...") before
    handling it, one at a time, and "Updated default CNI network name to NAME"
    under the lock it swaps the networks in with: that line after a WRITE
    event that came after the write is a load of what was written. (Its
    "Found CNI network" line names the first plugin's type only, the same for
    the old and the new list.)"""
    log = crictl.work / "crio.log"
    start = log.stat().st_size
    yield
    updated = f"Updated default CNI network name to {conflist['name']}"

    def loaded() -> bool:
        with log.open("rb") as out:
            out.seek(start)
            lines = out.read().decode(errors="replace").splitlines()
        writes = [i for i, line in enumerate(lines) if "CNI monitoring event" in line and "WRITE" in line]
        return bool(writes) and any(updated in line for line in lines[writes[0] + 1 :])

    wait_for(loaded, f"CRI-O to load the pod network {conflist['name']} (in {log})", timeout)
