"""Item 4 of issue 18, as far as this machine allows: a single-node cluster
(cluster.py) on containerd's CRI, and deployments/daemonset-install.yaml
applied with the installer image built here (build/image.sh) and loaded
into containerd: the pod turns Ready and the plugin is installed.

Two things are the test's, not the manifest's: the image (the local build,
never pulled) and the host path of /opt/cni/bin (a directory of the test:
the machine's own must not change)."""

from __future__ import annotations

import filecmp
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from builds import ROOT
from cluster import single_node
from conftest import ConfDir
from daemons import CLEAN_PATH
from images import podman_storage
from netns import Namespace
from runner import PLUGIN

DAEMONSET = ROOT / "deployments" / "daemonset-install.yaml"
IMAGE = "localhost/route-override-installer:k8s-test"
POD_NETWORK = {
    "cniVersion": "1.0.0",
    "name": "ro-k8s-pods",
    "plugins": [
        {
            "type": "bridge", "bridge": "ro-k8s0", "isGateway": True, "ipMasq": False,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]},
        }
    ],
}  # fmt: skip


def installer_archive(work: Path) -> Path:
    """build/image.sh's image for this machine's architecture, as a docker-archive."""
    archive = work / "installer.tar"
    with podman_storage(work) as storage:
        env = {"PATH": CLEAN_PATH, "STORAGE": " ".join(storage), "HOME": str(work)}
        subprocess.run([str(ROOT / "build" / "image.sh"), IMAGE], check=True, capture_output=True, env=env, cwd=ROOT)
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
        pushed = ["buildah", *storage, "push", f"{IMAGE}-{arch}", f"docker-archive:{archive}:{IMAGE}"]
        subprocess.run(pushed, check=True, capture_output=True, env=env)
    return archive


def daemonset(host_cni_bin: Path) -> dict:
    manifest = yaml.safe_load(DAEMONSET.read_text())
    pod = manifest["spec"]["template"]["spec"]
    pod["containers"][0]["image"] = IMAGE
    pod["containers"][0]["imagePullPolicy"] = "Never"
    (cni_bin,) = [v for v in pod["volumes"] if v["name"] == "cni-bin"]
    cni_bin["hostPath"]["path"] = str(host_cni_bin)
    return manifest


def test_the_daemonset_installs_the_plugin_and_turns_ready(
    node: Namespace, conf_dir: ConfDir, bin_dir: Path, tmp_path: Path
) -> None:
    conf_dir.write(
        {
            **POD_NETWORK,
            "plugins": [
                {**POD_NETWORK["plugins"][0], "ipam": {**POD_NETWORK["plugins"][0]["ipam"], "dataDir": str(tmp_path / "ipam")}}
            ],
        }
    )
    with tempfile.TemporaryDirectory(prefix="ro-k8s-img-") as name:
        archive = installer_archive(Path(name))
        host_cni_bin = tmp_path / "host-opt-cni-bin"
        with single_node(node, conf_dir.path, bin_dir) as (kubectl, crictl):
            ctr = ["ctr", "--address", str(crictl.socket), "--namespace", "k8s.io", "images", "import", str(archive)]
            subprocess.run(ctr, check=True, capture_output=True, env={"PATH": CLEAN_PATH})
            kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(daemonset(host_cni_bin)))
            kubectl.ok(
                "-n", "kube-system", "rollout", "status", "daemonset/route-override-installer", "--timeout=300s", timeout=330
            )
            kubectl.ok(
                "-n",
                "kube-system",
                "wait",
                "--for=condition=Ready",
                "pod",
                "-l",
                "app.kubernetes.io/name=route-override-installer",
                "--timeout=120s",
                timeout=150,
            )
            assert filecmp.cmp(host_cni_bin / "route-override", PLUGIN, shallow=False)
