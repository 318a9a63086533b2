"""Pod sandboxes through the CRI, as a kubelet makes them: crictl runp, stopp
and rmp against containerd's CRI plugin and against CRI-O, with the conflists
of examples/ (route-override after macvlan), the routes read in each pod's
namespace, and what each runtime calls (the double DEL, CHECK after ADD)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import MASTER, ConfDir
from containerd_cri import containerd_cri
from cri import Crictl, PodNetns
from crio import crio
from nads import EXAMPLES, Example, examples, on_node, with_cni_args
from netns import Namespace, wait_for
from router import Router, wait_for_advertisements

RUNTIMES = {"containerd": containerd_cri, "crio": crio}
ACCEPT_RA_DEFRTR = "net/ipv6/conf/eth0/accept_ra_defrtr"


Start = Callable[[dict], Crictl]


@pytest.fixture(params=list(RUNTIMES))
def runtime(request: pytest.FixtureRequest, node: Namespace, conf_dir: ConfDir, bin_dir: Path) -> Iterator[Start]:
    """Starts the runtime with one conflist in its conf directory."""
    with ExitStack() as stack:

        def start(conflist: dict) -> Crictl:
            conf_dir.write(conflist)
            return stack.enter_context(RUNTIMES[request.param](node, conf_dir.path, bin_dir))

        yield start


def readme_chain() -> dict:
    """examples/vpn-net.conflist, the README's example, on the node's master link."""
    conflist = json.loads((EXAMPLES / "vpn-net.conflist").read_text())
    conflist["plugins"][0]["master"] = MASTER
    return conflist


def recorded(conflist: dict, record: Path) -> dict:
    """`conflist` with ro-recorder after route-override."""
    return {**conflist, "plugins": [*conflist["plugins"], {"type": "ro-recorder", "recordTo": str(record)}]}


def calls(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_the_readme_chain_runs_in_a_pod_and_leaves_with_it(runtime: Start) -> None:
    """macvlan + static (an address with a gateway) + route-override
    flushgateway, delroutes, addroutes. Under CRI-O, whose CHECK follows
    every ADD, this needs the result to keep what static's CHECK compares
    (the ips gateway, issue 16); without, CRI-O fails the pod with "static:
    Failed to match addr 192.168.50.2 on interface eth0"."""
    crictl = runtime(readme_chain())
    pod = crictl.runp()
    assert PodNetns(pod).routes(4) == {
        "10.20.0.0/16 via 192.168.50.254 dev eth0",
        "172.16.0.0/12 via 192.168.50.1 dev eth0",
        "192.168.50.0/24 dev eth0",
    }
    crictl.remove(pod)
    assert crictl.pods() == []
    assert not Path(pod.netns).exists()


# What each example's pod has on its interface once the chain has run, IPAM
# on the node being host-local from the example's range_start.
EXPECTED_ROUTES = {
    "vpn-net": (
        4,
        {"10.20.0.0/16 via 192.168.50.254 dev eth0", "172.16.0.0/12 via 192.168.50.1 dev eth0", "192.168.50.0/24 dev eth0"},
    ),
    "ecmp-net": (
        4,
        {"10.20.0.0/16 nexthop via 192.168.60.1 dev eth0 nexthop via 192.168.60.2 dev eth0", "192.168.60.0/24 dev eth0"},
    ),
    "routed-net": (4, {"10.30.0.0/16 via 192.168.70.1 dev eth0", "192.168.70.0/24 dev eth0"}),
    "v6-net": (6, {"2001:db8:200::/48 via 2001:db8:50::1 dev eth0", "2001:db8:50::/64 dev eth0", "fe80::/64 dev eth0"}),
}


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.file.name)
def test_each_example_network_under_the_runtime(runtime: Start, example: Example, tmp_path: Path) -> None:
    """Each NAD of examples/ as the runtime's network (what Multus would
    delegate to it, without per-pod cni-args): its routes in the pod, and
    none of its added routes left after stopp (DEL)."""
    crictl = runtime(on_node(example.conflist, MASTER, tmp_path / "ipam"))
    pod = crictl.runp()
    family, expected = EXPECTED_ROUTES[example.name]
    assert PodNetns(pod).routes(family) == expected
    crictl.ok("stopp", pod.id)
    leases = [p.name for p in (tmp_path / "ipam").rglob("*") if p.is_file() and p.name[0].isdigit()]
    assert leases == [], "DEL did not run through the chain"
    crictl.ok("rmp", pod.id)


def test_per_pod_cni_args_as_multus_hands_them_over(runtime: Start, tmp_path: Path) -> None:
    """examples/nad-cni-args.yaml's pod: its cni-args replace the NAD's
    addroutes, and flushgateway (not replaced) still applies. NOT Multus:
    the chain carries args.cni as Multus writes it into the delegate's config
    (every plugin gets them; the others ignore keys they do not know)."""
    (example,) = [e for e in examples() if e.name == "routed-net"]
    (selection,) = example.networks_annotation
    crictl = runtime(with_cni_args(on_node(example.conflist, MASTER, tmp_path / "ipam"), selection["cni-args"]))
    pod = crictl.runp()
    assert PodNetns(pod).routes(4) == {"10.40.0.0/16 via 192.168.70.254 dev eth0", "192.168.70.0/24 dev eth0"}
    crictl.remove(pod)


def test_the_ipv6_example_keeps_router_advertisements_from_adding_a_default(
    runtime: Start, node: Namespace, tmp_path: Path
) -> None:
    """examples/nad-ipv6-ra.yaml with a router (radvd) on the node's side of
    the macvlan master: RA after RA, the pod gets no IPv6 default route."""
    (example,) = [e for e in examples() if e.name == "v6-net"]
    crictl = runtime(on_node(example.conflist, MASTER, tmp_path / "ipam"))
    router = Router(node, "mvpeer", tmp_path, prefix="2001:db8:50::/64")
    try:
        pod = crictl.runp()
        netns = PodNetns(pod)
        router.start()
        wait_for_advertisements(netns, 3)
        assert not any(route.startswith("default") for route in netns.routes(6))
        assert netns.sysctl(ACCEPT_RA_DEFRTR) == 0
        crictl.remove(pod)
    finally:
        router.stop()


def test_containerd_passes_the_pods_identity_never_checks_and_deletes_twice(
    node: Namespace, conf_dir: ConfDir, bin_dir: Path, tmp_path: Path
) -> None:
    record = tmp_path / "calls.jsonl"
    conf_dir.write(recorded(readme_chain(), record))
    with containerd_cri(node, conf_dir.path, bin_dir) as crictl:
        pod = crictl.runp()
        crictl.remove(pod)
    made = calls(record)
    assert [call["command"] for call in made] == ["ADD", "DEL", "DEL"]
    args = dict(pair.split("=", 1) for pair in made[0]["args"].split(";"))
    assert args["IgnoreUnknown"] == "1" and args["K8S_POD_NAME"] == pod.name and args["K8S_POD_NAMESPACE"] == "ro-test"
    assert args["K8S_POD_UID"].startswith("ro-uid-") and args["K8S_POD_INFRA_CONTAINER_ID"] == pod.id


def test_crio_checks_after_every_add(node: Namespace, conf_dir: ConfDir, bin_dir: Path, tmp_path: Path) -> None:
    """CRI-O runs CHECK right after ADD and fails the pod when CHECK fails:
    here a chain whose CHECK passes (route-override's own included)."""
    record = tmp_path / "calls.jsonl"
    (example,) = [e for e in examples() if e.name == "vpn-net"]
    conf_dir.write(recorded(on_node(example.conflist, MASTER, tmp_path / "ipam"), record))
    with crio(node, conf_dir.path, bin_dir) as crictl:
        pod = crictl.runp()
        wait_for(lambda: len(calls(record)) >= 2, "CHECK after ADD")
        crictl.remove(pod)
    commands = [call["command"] for call in calls(record)]
    assert commands[:2] == ["ADD", "CHECK"] and set(commands[2:]) == {"DEL"}, commands
