"""Item 4 of issue 18, as far as this machine allows: a single-node cluster
(cluster.py) on containerd's CRI and on CRI-O, and
deployments/daemonset-install.yaml applied with the installer image built
here (build/image.sh) and loaded into the runtime: the pod turns Ready and
the plugin is installed; a rollout to the next release's image upgrades it
under a running pod.

Two things are the test's, not the manifest's: the image (the local build,
never pulled) and the host path of /opt/cni/bin (a directory of the test:
the machine's own must not change)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from builds import REFERENCE_PLUGINS, ROOT
from apiserver import Kubectl
from cluster import single_node
from conftest import ConfDir
from containerd_cri import containerd_cri
from containerd_cri import reloading_cni as containerd_reloading_cni
from crio import crio
from crio import reloading_cni as crio_reloading_cni
from cri import PodNetns, Sandbox
from daemons import CLEAN_PATH
from images import podman_storage
from netns import Namespace
from pause import PAUSE_IMAGE

DAEMONSET = ROOT / "deployments" / "daemonset-install.yaml"
IMAGE = "localhost/route-override-installer:k8s-test"
# each runtime's wait, around a write to the CNI conf directory, until it has loaded what was written
RELOADING_CNI = {containerd_cri: containerd_reloading_cni, crio: crio_reloading_cni}


def pod_network(data_dir: Path, *more: dict) -> dict:
    """The cluster's pod network: a bridge in the node, host-local addresses, then `more` plugins."""
    ipam = {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.0.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": str(data_dir),
    }
    bridge = {"type": "bridge", "bridge": "ro-k8s0", "isGateway": True, "ipMasq": False, "ipam": ipam}
    return {"cniVersion": "1.0.0", "name": "ro-k8s-pods", "plugins": [bridge, *more]}


def installer_archive(work: Path, tree: Path = ROOT, image: str = IMAGE) -> Path:
    """`tree`'s build/image.sh image (of its dist/route-override) for this
    machine's architecture, as a docker-archive."""
    archive = work / f"installer-{image.rsplit(':', 1)[1]}.tar"
    with podman_storage(work) as storage:
        env = {
            "PATH": CLEAN_PATH,
            "STORAGE": " ".join(storage),
            "HOME": str(work),
            "PYTHON": str(ROOT / ".venv" / "bin" / "python"),
        }
        subprocess.run([str(tree / "build" / "image.sh"), image], check=True, capture_output=True, env=env, cwd=tree)
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
        pushed = ["buildah", *storage, "push", f"{image}-{arch}", f"docker-archive:{archive}:{image}"]
        subprocess.run(pushed, check=True, capture_output=True, env=env)
    return archive


def next_version(work: Path) -> Path:
    """The committed tree as another release (its version + ".post1"), built
    into its own dist/route-override: what an upgrade installs."""
    tree = work / "next"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    init = tree / "src" / "ro" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "([^"]+)"', r'__version__ = "\1.post1"', init.read_text()))
    # what build/setup.sh unpacked (busybox, and the Debian roots of the bundled runtime where there is one)
    (tree / ".cache").mkdir()
    for unpacked in ("busybox", "debian"):
        if (ROOT / ".cache" / unpacked).exists():
            (tree / ".cache" / unpacked).symlink_to(ROOT / ".cache" / unpacked)
    env = {"PATH": CLEAN_PATH, "PYTHON": str(ROOT / ".venv" / "bin" / "python"), "HOME": str(work)}
    subprocess.run([str(tree / "build" / "shiv.sh")], check=True, capture_output=True, env=env, cwd=tree)
    return tree


def daemonset(host_cni_bin: Path, image: str = IMAGE) -> dict:
    manifest = yaml.safe_load(DAEMONSET.read_text())
    pod = manifest["spec"]["template"]["spec"]
    pod["containers"][0]["image"] = image
    pod["containers"][0]["imagePullPolicy"] = "Never"
    (cni_bin,) = [v for v in pod["volumes"] if v["name"] == "cni-bin"]
    cni_bin["hostPath"]["path"] = str(host_cni_bin)
    # an installer that writes the host's path into what it installs (the bundled runtime's) is told the same
    for variable in pod["containers"][0].get("env", []):
        if variable["name"] == "RO_HOST_DEST_DIR":
            variable["value"] = str(host_cni_bin)
    return manifest


def installed_version(host_cni_bin: Path) -> str:
    """What the installed plugin says it is, run as a runtime runs it (by its path)."""
    done = subprocess.run(
        [str(host_cni_bin / "route-override"), "--version"], capture_output=True, text=True, env={"PATH": CLEAN_PATH}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[1]


def version_of(tree: Path) -> str:
    return re.search(r'__version__ = "([^"]+)"', (tree / "src" / "ro" / "__init__.py").read_text()).group(1)


@pytest.mark.parametrize("runtime", [containerd_cri, crio], ids=["containerd", "crio"])
def test_the_daemonset_installs_the_plugin_and_turns_ready(
    runtime, node: Namespace, conf_dir: ConfDir, bin_dir: Path, tmp_path: Path
) -> None:
    conf_dir.write(pod_network(tmp_path / "ipam"))
    with tempfile.TemporaryDirectory(prefix="ro-k8s-img-") as name:
        archive = installer_archive(Path(name))
        host_cni_bin = tmp_path / "host-opt-cni-bin"
        with single_node(node, conf_dir.path, bin_dir, runtime) as (kubectl, crictl):
            crictl.load_image(archive)
            kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(daemonset(host_cni_bin)))
            rolled_out(kubectl)
            installer = ["pod", "-l", "app.kubernetes.io/name=route-override-installer"]
            kubectl.ok("-n", "kube-system", "wait", "--for=condition=Ready", *installer, "--timeout=120s", timeout=150)
            assert installed_version(host_cni_bin) == version_of(ROOT)


def rolled_out(kubectl: Kubectl) -> None:
    """Until the DaemonSet's rollout is done; else fail with what its pods went through."""
    done = kubectl.run(
        "-n", "kube-system", "rollout", "status", "daemonset/route-override-installer", "--timeout=180s", timeout=210
    )
    if done.returncode != 0:
        pods = kubectl.run("-n", "kube-system", "describe", "pods").stdout
        installer = ["-l", "app.kubernetes.io/name=route-override-installer", "--prefix", "--tail=40"]
        logs = kubectl.run("-n", "kube-system", "logs", *installer).stdout
        raise AssertionError(f"the DaemonSet did not roll out: {done.stderr.strip()}\n{pods[-4000:]}\n{logs[-4000:]}")


WORKLOAD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "workload", "namespace": "default"},
    "spec": {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": PAUSE_IMAGE, "imagePullPolicy": "Never"}],
    },
}


def pod_uid(kubectl, name: str, namespace: str) -> tuple[str, str]:
    pod = kubectl.get("pod", name, "-n", namespace)
    return pod["metadata"]["uid"], pod["status"].get("phase", "")


@pytest.mark.parametrize("runtime", [containerd_cri, crio], ids=["containerd", "crio"])
def test_a_rollout_to_a_new_installer_image_upgrades_the_plugin_under_a_running_pod(
    runtime, node: Namespace, conf_dir: ConfDir, tmp_path: Path
) -> None:
    """The pod network is bridge + route-override from the node's CNI bin
    directory, where the DaemonSet installs the plugin: a workload pod starts
    through the installed release, the DaemonSet rolls out the next one, the
    workload keeps running (same pod, same routes), and its DEL then runs the
    new release against what the old one made."""
    host_cni_bin = tmp_path / "host-opt-cni-bin"
    host_cni_bin.mkdir()
    for plugin in REFERENCE_PLUGINS.iterdir():
        (host_cni_bin / plugin.name).symlink_to(plugin)
    conf_dir.write(pod_network(tmp_path / "ipam"))  # until the plugin is installed
    route_override = {"type": "route-override", "addroutes": [{"dst": "10.230.0.0/16", "gw": "10.244.0.254"}]}
    with tempfile.TemporaryDirectory(prefix="ro-k8s-img-") as name:
        work = Path(name)
        tree = next_version(work)
        images = {"old": installer_archive(work), "new": installer_archive(work, tree, IMAGE + "-next")}
        with single_node(node, conf_dir.path, host_cni_bin, runtime) as (kubectl, crictl):
            for archive in images.values():
                crictl.load_image(archive)
            kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(daemonset(host_cni_bin)))
            rolled_out(kubectl)
            assert installed_version(host_cni_bin) == version_of(ROOT)

            chained = pod_network(tmp_path / "ipam", route_override)
            # the runtime reloads its CNI config when the directory changes: until it has, pods get the old one
            with RELOADING_CNI[runtime](crictl, chained):
                conf_dir.write(chained)
            kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(WORKLOAD))
            kubectl.ok("wait", "--for=condition=Ready", "pod/workload", "--timeout=120s", timeout=150)
            (sandbox,) = crictl.ok("pods", "--name", "workload", "-q").split()
            workload = PodNetns(Sandbox(sandbox, "workload", crictl.netns_of(sandbox)))
            routes = workload.routes(4)
            assert "10.230.0.0/16 via 10.244.0.254 dev eth0" in routes
            before = pod_uid(kubectl, "workload", "default")

            kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(daemonset(host_cni_bin, IMAGE + "-next")))
            rolled_out(kubectl)
            assert installed_version(host_cni_bin) == version_of(tree) == version_of(ROOT) + ".post1"
            assert pod_uid(kubectl, "workload", "default") == before == (before[0], "Running")
            assert workload.routes(4) == routes

            kubectl.ok("delete", "pod", "workload", "--wait=true", "--timeout=120s", timeout=150)
            leases = [p.name for p in (tmp_path / "ipam").rglob("*") if p.is_file() and p.name[0].isdigit()]
            assert len(leases) == 1, f"the workload's DEL (through the new release) left its lease: {leases}"
