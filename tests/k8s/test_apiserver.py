"""The NetworkAttachmentDefinitions of examples/ against a real
kube-apiserver (on etcd): the CRD, each NAD created and read back, each
read-back config passing `route-override validate`; then a pod's `cni-args`
taken from the API and run through containerd's CRI.

This is NOT Multus: github.com/k8snetworkplumbingwg/multus-cni/v4 is refused
by the Go module proxy (403 "This module version is not available", every
version). The last test does, by hand, the part of Multus's job that
reaches the plugin: resolve the pod's network selection against the API,
put its `cni-args` into the delegate's config as args.cni, and run the chain
with the pod's identity.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from apiserver import Kubectl, apiserver
from conftest import MASTER, ConfDir
from containerd_cri import containerd_cri
from cri import PodNetns
from nads import examples, on_node, with_cni_args
from netns import Namespace
from runner import plugin_command

CRD = Path(__file__).parent / "network-attachment-definition-crd.yaml"
NAMESPACE = "ro-test"


@pytest.fixture(scope="module")
def kubectl() -> Iterator[Kubectl]:
    with apiserver() as client:
        client.ok("apply", "-f", str(CRD))
        client.ok("wait", "--for", "condition=established", "--timeout=60s", "crd/network-attachment-definitions.k8s.cni.cncf.io")
        client.ok("create", "namespace", NAMESPACE)
        # the ServiceAccount admission plugin wants it; kube-controller-manager, not run here, would make it
        client.ok("create", "serviceaccount", "default", "-n", NAMESPACE)
        yield client


def apply(kubectl: Kubectl, document: dict) -> None:
    kubectl.ok("apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(document))


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.file.name)
def test_each_example_nad_is_served_back_as_written_and_validates(kubectl: Kubectl, example, tmp_path: Path) -> None:
    apply(kubectl, example.nad)
    served = kubectl.get("network-attachment-definitions.k8s.cni.cncf.io", example.name, "-n", NAMESPACE)
    assert served["spec"]["config"] == example.nad["spec"]["config"]
    config = tmp_path / f"{example.name}.conflist"
    config.write_text(served["spec"]["config"])
    done = subprocess.run([*plugin_command(), "validate", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "net-attach-def" in kubectl.ok("api-resources", "--api-group", "k8s.cni.cncf.io")


def test_a_pods_cni_args_from_the_api_reach_route_override(
    kubectl: Kubectl, node: Namespace, conf_dir: ConfDir, bin_dir: Path, tmp_path: Path
) -> None:
    (example,) = [e for e in examples() if e.name == "routed-net"]
    apply(kubectl, example.nad)
    apply(kubectl, example.pod)
    pod = kubectl.get("pod", example.pod["metadata"]["name"], "-n", NAMESPACE)
    (selection,) = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])
    nad = kubectl.get("network-attachment-definitions.k8s.cni.cncf.io", selection["name"], "-n", NAMESPACE)
    delegate = with_cni_args(on_node(json.loads(nad["spec"]["config"]), MASTER, tmp_path / "ipam"), selection["cni-args"])
    conf_dir.write(delegate)
    with containerd_cri(node, conf_dir.path, bin_dir) as crictl:
        identity = {"name": pod["metadata"]["name"], "namespace": NAMESPACE, "uid": pod["metadata"]["uid"], "attempt": 0}
        sandbox = crictl.runp(metadata=identity)
        assert PodNetns(sandbox).routes(4) == {"10.40.0.0/16 via 192.168.70.254 dev eth0", "192.168.70.0/24 dev eth0"}
        crictl.remove(sandbox)
    leases = [p.name for p in (tmp_path / "ipam").rglob("*") if p.is_file() and p.name[0].isdigit()]
    assert leases == [], "DEL did not run through the chain"
