"""libcni (the library inside CRI-O, containerd and podman) drives the
chains bridge + host-local + route-override and macvlan + static +
route-override. libcni caches ADD's result and hands it to CHECK and DEL as
prevResult, as those runtimes do.

radvd in the node (tests/router.py) sends IPv6 Router Advertisements onto
the container's link, to show that a default route flushgateway deleted
stays deleted.

Conf versions 0.3.1, 0.4.0 and 1.0.0: Debian's libcni (1.1.2) and reference
plugins (1.1.1) do not accept 1.1.0 (covered by tests/test_add.py directly).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from chains import (
    ACCEPT_RA_DEFRTR, BRIDGE, CLEAN_PATH, MACVLAN, Chain, conflist, ipv6_defaults, need, wait_for_ra_default, write_json,
)  # fmt: skip
from netns import Namespace, ip
from router import wait_for_advertisements

VERSIONS = ["0.3.1", "0.4.0", "1.0.0"]


@pytest.fixture(scope="session")
def cnitool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/e2e/cnitool built against Debian's libcni sources."""
    need("go")
    out = tmp_path_factory.mktemp("cnitool") / "cnitool"
    env = {"PATH": CLEAN_PATH, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": str(out.parent / "gocache")}
    subprocess.run(["go", "build", "-o", str(out), "main.go"], cwd=Path(__file__).parent / "cnitool", env=env, check=True)
    return out


class Client:
    """cnitool run inside the node namespace, with its own libcni cache."""

    def __init__(self, tool: Path, plugin_dir: Path, node: Namespace, work: Path) -> None:
        self.tool, self.plugin_dir, self.node, self.work = tool, plugin_dir, node, work

    def __call__(self, verb: str, conf: Path, container: Namespace, ifname: str = "eth0") -> subprocess.CompletedProcess:
        env = {"PATH": CLEAN_PATH, "CNI_PATH": str(self.plugin_dir), "CNI_CACHE_DIR": str(self.work / "cache")}
        command = ["ip", "netns", "exec", self.node.name, str(self.tool), verb, str(conf), "ctr-e2e", container.path, ifname]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cni(cnitool: Path, plugin_dir: Path, node: Namespace, tmp_path: Path) -> Iterator[Client]:
    # the macvlan chain's master: a veth on the node
    ip("link", "add", "mvup", "type", "veth", "peer", "name", "mvpeer", ns=node.name)
    ip("link", "set", "mvup", "up", ns=node.name)
    ip("link", "set", "mvpeer", "up", ns=node.name)
    yield Client(cnitool, plugin_dir, node, tmp_path)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stderr
    return done


FEATURES = {
    # name: (route-override settings, the routes ADD leaves, given the chain)
    "flushroutes": (lambda c: {"flushroutes": True}, lambda c: {f"{c.subnet} dev eth0"}),
    "flushgateway": (
        lambda c: {"flushgateway": True},
        lambda c: c.base_routes() - {f"default via {c.gateway} dev eth0"},
    ),
    "delroutes": (
        lambda c: {"delroutes": [{"dst": "10.123.0.0/16"}]},
        lambda c: c.base_routes() - {f"10.123.0.0/16 via {c.gateway} dev eth0"},
    ),
    "addroutes with gw": (
        lambda c: {"addroutes": [{"dst": "10.200.0.0/16", "gw": c.other_gateway}]},
        lambda c: c.base_routes() | {f"10.200.0.0/16 via {c.other_gateway} dev eth0"},
    ),
    "replace the default route": (
        lambda c: {"delroutes": [{"dst": "0.0.0.0/0"}], "addroutes": [{"dst": "0.0.0.0/0", "gw": c.other_gateway}]},
        lambda c: c.base_routes() - {f"default via {c.gateway} dev eth0"} | {f"default via {c.other_gateway} dev eth0"},
    ),
}


@pytest.mark.parametrize("feature", list(FEATURES))
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("chain", [BRIDGE, MACVLAN], ids=["bridge", "macvlan"])
def test_each_feature_leaves_exactly_the_expected_routes(
    cni: Client, container: Namespace, tmp_path: Path, chain: Chain, version: str, feature: str
) -> None:
    settings, expected = FEATURES[feature]
    conf = write_json(tmp_path / "net.conflist", conflist(chain, version, tmp_path, settings(chain)))
    ok(cni("add", conf, container))
    assert container.routes(4) == expected(chain)
    if version != "0.3.1":
        ok(cni("check", conf, container))
    ok(cni("del", conf, container))
    ok(cni("del", conf, container))


@pytest.mark.parametrize("chain", [BRIDGE, MACVLAN], ids=["bridge", "macvlan"])
def test_check_fails_when_a_configured_route_is_deleted_by_hand(cni: Client, container: Namespace, tmp_path: Path, chain: Chain) -> None:
    settings = {"addroutes": [{"dst": "10.200.0.0/16", "gw": chain.other_gateway}]}
    conf = write_json(tmp_path / "net.conflist", conflist(chain, "1.0.0", tmp_path, settings))
    ok(cni("add", conf, container))
    ip("route", "del", "10.200.0.0/16", ns=container.name)
    failed = cni("check", conf, container)
    # The interface plugin checks the result's routes first and may report it before us.
    assert failed.returncode == 1 and "10.200.0.0" in failed.stderr
    ok(cni("del", conf, container))


@pytest.mark.parametrize("chain", [BRIDGE, MACVLAN], ids=["bridge", "macvlan"])
def test_check_fails_when_a_deleted_route_comes_back(cni: Client, container: Namespace, tmp_path: Path, chain: Chain) -> None:
    """The interface plugin's CHECK does not look for extra routes; ours does."""
    conf = write_json(tmp_path / "net.conflist", conflist(chain, "1.0.0", tmp_path, {"flushgateway": True}))
    ok(cni("add", conf, container))
    ip("route", "add", "default", "via", chain.gateway, ns=container.name)
    failed = cni("check", conf, container)
    assert failed.returncode == 1 and "present again, but flushgateway deletes it" in failed.stderr
    ok(cni("del", conf, container))


def test_an_invalid_config_fails_add_with_our_message_and_del_still_cleans_up(
    cni: Client, container: Namespace, tmp_path: Path
) -> None:
    conf = write_json(tmp_path / "net.conflist", conflist(BRIDGE, "1.0.0", tmp_path, {"addroutes": [{"dst": "10.0.0.1/8"}]}))
    failed = cni("add", conf, container)
    assert failed.returncode == 1
    assert "addroutes[0].dst: has host bits set, did you mean 10.0.0.0/8?" in failed.stderr
    ok(cni("del", conf, container))  # runtimes DEL after a failed ADD; it must not get stuck on us


def test_gw_less_addroutes_work_but_the_old_bridge_check_rejects_them(cni: Client, container: Namespace, tmp_path: Path) -> None:
    """Reference plugins 1.1.1 check every route of the final result and,
    for a non-default route without gw, wrongly expect one without a gateway
    (fixed upstream in 1.3.0). The route is right (via the ips gateway, as
    the spec says); the failing CHECK is bridge's, not ours."""
    conf = write_json(tmp_path / "net.conflist", conflist(BRIDGE, "1.0.0", tmp_path, {"addroutes": [{"dst": "10.201.0.0/16"}]}))
    ok(cni("add", conf, container))
    assert "10.201.0.0/16 via 203.0.113.1 dev eth0" in container.routes(4)
    failed = cni("check", conf, container)
    assert failed.returncode == 1
    assert "Expected Route {Dst:{IP:10.201.0.0 Mask:ffff0000} GW:<nil>} not found" in failed.stderr  # bridge's words
    ok(cni("del", conf, container))
    assert not any("10.201.0.0" in route for route in container.routes(4))


def test_gw_less_addroutes_without_an_ips_gateway_are_on_link_and_check_passes(
    cni: Client, container: Namespace, tmp_path: Path
) -> None:
    conf = write_json(tmp_path / "net.conflist", conflist(MACVLAN, "1.0.0", tmp_path, {"addroutes": [{"dst": "10.202.0.0/16"}]}))
    ok(cni("add", conf, container))
    assert "10.202.0.0/16 dev eth0" in container.routes(4)
    ok(cni("check", conf, container))
    ok(cni("del", conf, container))


# The README's chain in each family: static IPAM with an address `gateway`,
# IPAM routes (a default and one more), then flushgateway, delroutes and
# addroutes (via the old gateway and another router).
STATIC_FAMILIES = {
    4: dict(address="198.51.100.10/24", gateway="198.51.100.1", default="0.0.0.0/0", gone="10.123.0.0/16", kept="10.124.0.0/16",
            added="10.200.0.0/16", other="198.51.100.254"),
    6: dict(address="2001:db8:64::10/64", gateway="2001:db8:64::1", default="::/0", gone="2001:db8:123::/48", kept="2001:db8:124::/48",
            added="2001:db8:200::/48", other="2001:db8:64::fe"),
}  # fmt: skip


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
@pytest.mark.parametrize("family", [4, 6])
def test_static_with_a_gateway_passes_check_right_after_add_under_flushgateway(
    cni: Client, container: Namespace, tmp_path: Path, family: int, version: str
) -> None:
    """Issue 16.1: CRI-O runs CHECK after every ADD and fails the pod when it
    fails. static's CHECK wants the gateway it configured in the result's
    ips, so flushgateway keeps it there (it adds no route: the spec); the
    routes that stay say where they go."""
    f = STATIC_FAMILIES[family]
    macvlan = {
        "type": "macvlan", "master": "mvup", "mode": "bridge",
        "ipam": {"type": "static", "addresses": [{"address": f["address"], "gateway": f["gateway"]}],
                 "routes": [{"dst": f["default"]}, {"dst": f["gone"]}, {"dst": f["kept"], "gw": f["gateway"]}]},
    }  # fmt: skip
    route_override = {
        "type": "route-override", "flushgateway": True, "delroutes": [{"dst": f["gone"]}],
        "addroutes": [{"dst": f["added"], "gw": f["other"]}, {"dst": "10.201.0.0/16" if family == 4 else "2001:db8:201::/48", "gw": f["gateway"]}],
    }  # fmt: skip
    conf = write_json(tmp_path / "net.conflist", {"cniVersion": version, "name": "ro-static", "plugins": [macvlan, route_override]})
    result = json.loads(ok(cni("add", conf, container)).stdout)
    assert [ip.get("gateway") for ip in result["ips"]] == [f["gateway"]]
    assert {route["dst"] for route in result["routes"]} == {f["kept"], f["added"], route_override["addroutes"][1]["dst"]}
    routes = {r["dst"]: r.get("gateway") for r in container.routes_detailed(family) if r.get("dev") == "eth0"}
    assert "default" not in routes and f["gone"] not in routes and routes[f["kept"]] == f["gateway"]
    ok(cni("check", conf, container))
    ok(cni("del", conf, container))


def _check_one(plugin_dir: Path, node: Namespace, container: Namespace, plugin: dict, result: dict) -> subprocess.CompletedProcess:
    """One plugin of the chain run by hand for CHECK, with `result` as prevResult."""
    env = {
        "PATH": CLEAN_PATH, "CNI_PATH": str(plugin_dir), "CNI_COMMAND": "CHECK", "CNI_CONTAINERID": "ctr-e2e",
        "CNI_NETNS": container.path, "CNI_IFNAME": "eth0",
    }  # fmt: skip
    config = json.dumps({"cniVersion": "1.0.0", "name": "ro-e2e", **plugin, "prevResult": result})
    command = ["ip", "netns", "exec", node.name, str(plugin_dir / plugin["type"])]
    return subprocess.run(command, input=config, env=env, capture_output=True, text=True, timeout=60)


def test_an_ecmp_route_through_libcni_and_what_the_reference_plugins_make_of_it(
    cni: Client, plugin_dir: Path, node: Namespace, container: Namespace, tmp_path: Path
) -> None:
    """route-override lists a multipath route with gws (all next hops) and
    no gw. libcni reads every result into its own types, which have no gws,
    so the runtime, the cache and CHECK see {"dst"} alone; macvlan 1.1.1's
    CHECK then finds the multipath route (its gateway filter matches a route
    without a single gateway), and ours knows it from addroutes. With a gw
    beside gws, macvlan's CHECK looks for a route via that one gateway and
    fails: so the result carries no gw for a multipath route."""
    gws = [MACVLAN.gateway, MACVLAN.other_gateway]
    conf = write_json(tmp_path / "net.conflist", conflist(MACVLAN, "1.0.0", tmp_path, {"addroutes": [{"dst": "10.210.0.0/16", "gws": gws}]}))
    added = json.loads(ok(cni("add", conf, container)).stdout)
    assert container.routes(4) >= {f"10.210.0.0/16 nexthop via {gws[0]} dev eth0 nexthop via {gws[1]} dev eth0"}
    assert {"dst": "10.210.0.0/16"} in added["routes"]  # gws did not survive libcni's types
    ok(cni("check", conf, container))
    macvlan = conflist(MACVLAN, "1.0.0", tmp_path, {})["plugins"][0]
    as_printed = {**added, "routes": [*added["routes"][:-1], {"dst": "10.210.0.0/16", "gws": gws}]}
    assert _check_one(plugin_dir, node, container, macvlan, as_printed).returncode == 0
    with_gw = {**added, "routes": [*added["routes"][:-1], {"dst": "10.210.0.0/16", "gw": gws[0], "gws": gws}]}
    refused = _check_one(plugin_dir, node, container, macvlan, with_gw)
    assert refused.returncode != 0 and f"Expected Route {{Dst:{{IP:10.210.0.0 Mask:ffff0000}} GW:{gws[0]}}} not found" in refused.stdout
    ip("route", "replace", "10.210.0.0/16", "proto", "114", "via", gws[0], "dev", "eth0", ns=container.name)  # one hop lost
    assert cni("check", conf, container).returncode == 1  # macvlan may report it first, in its words
    ours = conflist(MACVLAN, "1.0.0", tmp_path, {"addroutes": [{"dst": "10.210.0.0/16", "gws": gws}]})["plugins"][1]
    failed = _check_one(plugin_dir, node, container, ours, added)
    assert failed.returncode == 1 and f"next hop via {gws[1]} dev eth0 missing" in failed.stdout
    ok(cni("del", conf, container))
    assert not any(route.startswith("10.210.0.0/16") for route in container.routes(4))


# Where the node's IPv6 router sends its Router Advertisements from: the
# bridge (made by the bridge plugin's ADD), the macvlan master's peer.
RA_SENDER = {BRIDGE.name: "robr0", MACVLAN.name: "mvpeer"}


@pytest.mark.parametrize("chain", [BRIDGE, MACVLAN], ids=["bridge", "macvlan"])
def test_without_route_override_the_container_learns_the_ra_default_route(
    cni: Client, container: Namespace, radvd, tmp_path: Path, chain: Chain
) -> None:
    """The control for the test below: the node's RAs reach the container's
    interface and put an IPv6 default route there."""
    full = conflist(chain, "1.0.0", tmp_path, {})
    conf = write_json(tmp_path / "net.conflist", {**full, "plugins": full["plugins"][:1]})
    ok(cni("add", conf, container))
    radvd(RA_SENDER[chain.name])
    wait_for_ra_default(container)
    ok(cni("del", conf, container))


@pytest.mark.parametrize("chain", [BRIDGE, MACVLAN], ids=["bridge", "macvlan"])
def test_flushgateway_keeps_the_ra_default_route_away_and_check_sees_it_return(
    cni: Client, container: Namespace, radvd, tmp_path: Path, chain: Chain
) -> None:
    """RAs every 3-4 s would put the IPv6 default back after ADD deleted
    it; ADD switched accept_ra_defrtr off, and CHECK notices when it is on
    again and the route is back."""
    conf = write_json(tmp_path / "net.conflist", conflist(chain, "1.0.0", tmp_path, {"flushgateway": True}))
    ok(cni("add", conf, container))
    radvd(RA_SENDER[chain.name])
    wait_for_advertisements(container, 3)
    assert ipv6_defaults(container) == [] and container.sysctl(ACCEPT_RA_DEFRTR) == 0
    ok(cni("check", conf, container))
    container.sysctl(ACCEPT_RA_DEFRTR, 1)
    wait_for_ra_default(container)
    failed = cni("check", conf, container)
    assert failed.returncode == 1, failed.stderr
    assert "net.ipv6.conf.eth0.accept_ra_defrtr is 1, but flushgateway needs 0" in failed.stderr
    assert "present again, but flushgateway deletes it" in failed.stderr
    ok(cni("del", conf, container))
