"""ECMP: multipath routes from addroutes (gws), and multipath routes already
in the namespace under flushroutes, flushgateway and delroutes; on real
namespaces with the built file, read back with `ip -j route` (never
filtered by `dev`: iproute2 then leaves multipath routes out)."""

from __future__ import annotations

import json

import pytest

from netns import Link, Pod
from ro.routes import MAX_NEXT_HOPS
from runner import chained, plugin_config, run_plugin

ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
FAMILY = {
    4: {"link": dict(v4="10.0.0.2/24"), "dst": "10.20.0.0/16", "hops": ["10.0.0.1", "10.0.0.254", "10.0.0.7"], "other": "10.88.0.1", "default": "0.0.0.0/0"},
    6: {"link": dict(v6="2001:db8:50::2/64"), "dst": "2001:db8:20::/48", "hops": ["2001:db8:50::1", "2001:db8:50::fe", "2001:db8:50::7"], "other": "2001:db8:88::1", "default": "::/0"},
}
ETH0 = Link("eth0", v4="10.88.0.5/16", v6="2001:db8:88::5/64")


def next_hops(pod: Pod, dst: str, family: int, table: str = "main") -> list[tuple[str, str, int]] | None:
    """(gateway, dev, weight) of each next hop of the route to `dst`; None when there is none."""
    wanted = "default" if dst in ("0.0.0.0/0", "::/0") else dst
    routes = [r for r in json.loads(pod.ip(f"-{family}", "-j", "route", "show", "table", table)) if r["dst"] == wanted]
    if not routes:
        return None
    (route,) = routes
    hops = route.get("nexthops", [route])
    return [(hop.get("gateway", ""), hop["dev"], hop.get("weight", 1)) for hop in hops]


def multipath(pod: Pod, dst: str, family: int, hops: list[tuple[str, str]], *settings: str) -> None:
    """What a routing daemon or an IPAM tool leaves: one route through `hops` (gateway, dev)."""
    words = [word for gateway, dev in hops for word in ("nexthop", "via", gateway, "dev", dev)]
    pod.route("add", dst, *settings, *words, family=family)


def add(pod: Pod, version: str = "1.0.0", routes: tuple = (), **settings: object):
    config = plugin_config(version, pod.prev_result(version, routes, names=["net1"]), **settings)
    return config, run_plugin("ADD", config, netns=pod.path)


@pytest.fixture(params=[4, 6], ids=["ipv4", "ipv6"])
def family(request) -> int:
    return request.param


@pytest.fixture
def net(pod: Pod, family: int) -> dict:
    pod.add_link(Link("net1", **FAMILY[family]["link"]), default_routes=False)
    return FAMILY[family]


# ---- addroutes with gws ----------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3])
def test_an_entry_with_several_next_hops_is_one_multipath_route(pod: Pod, family: int, net: dict, count: int) -> None:
    config, added = add(pod, "1.1.0", addroutes=[{"dst": net["dst"], "gws": net["hops"][:count], "priority": 50, "mtu": 1400}])
    result = added.ok()
    assert next_hops(pod, net["dst"], family) == [(hop, "net1", 1) for hop in net["hops"][:count]]
    (route,) = json.loads(pod.ip(f"-{family}", "-j", "-d", "route", "show", net["dst"]))
    assert route["protocol"] == "114" and route["metric"] == 50 and route["metrics"] == [{"mtu": 1400}]
    assert result["routes"] == [{"dst": net["dst"], "gws": net["hops"][:count], "priority": 50, "mtu": 1400}]
    run_plugin("CHECK", chained(config, result), netns=pod.path).ok()


def test_gw_and_gws_merge_without_duplicates(pod: Pod, family: int, net: dict) -> None:
    one, two, three = net["hops"]
    _, added = add(pod, addroutes=[{"dst": net["dst"], "gws": [one, two], "gw": three}])
    assert [hop for hop, _, _ in next_hops(pod, net["dst"], family)] == [one, two, three]
    pod.route("del", net["dst"], family=family)
    _, added = add(pod, addroutes=[{"dst": net["dst"], "gws": [one, two], "gw": two}])
    assert [hop for hop, _, _ in next_hops(pod, net["dst"], family)] == [one, two]
    assert added.ok()["routes"] == [{"dst": net["dst"], "gws": [one, two]}]


def test_one_next_hop_in_gws_is_an_ordinary_route(pod: Pod, family: int, net: dict) -> None:
    _, added = add(pod, addroutes=[{"dst": net["dst"], "gws": [net["hops"][0]]}])
    assert added.ok()["routes"] == [{"dst": net["dst"], "gw": net["hops"][0]}]
    (route,) = json.loads(pod.ip(f"-{family}", "-j", "route", "show", net["dst"]))
    assert "nexthops" not in route and route["gateway"] == net["hops"][0]


@pytest.mark.parametrize(
    "gws, words",
    [
        ("one", "must be a non-empty list"),
        ("empty", "must be a non-empty list"),
        ("not an address", "gws[0]: must be an IP address"),
        ("other family", "gws[0]: is IPv"),
        ("twice", "gws[1]: repeats"),
        ("too many", f"takes at most {MAX_NEXT_HOPS[4]}"),
    ],
)
def test_bad_gws_is_code_7_and_changes_nothing(pod: Pod, family: int, net: dict, gws: str, words: str) -> None:
    one = net["hops"][0]
    value = {
        "one": one,
        "empty": [],
        "not an address": ["x"],
        "other family": [FAMILY[10 - family]["hops"][0]],
        "twice": [one, one.replace("::", ":0:0:0:0:") if family == 6 else one],  # the same address, spelled otherwise
        "too many": [f"10.0.{i >> 8}.{i & 255}" if family == 4 else f"2001:db8:50::{i:x}" for i in range(1, MAX_NEXT_HOPS[family] + 2)],
    }[gws]
    before = pod.snapshot()
    _, added = add(pod, flushroutes=True, addroutes=[{"dst": net["dst"], "gws": value}])
    assert added.code == 7 and added.msg.startswith("addroutes[0].gws") and words in added.msg, added.msg
    assert pod.snapshot() == before


def test_the_most_next_hops_a_route_takes_are_added_and_removed(pod: Pod, family: int, net: dict) -> None:
    pod.ip("addr", "flush", "dev", "net1")
    pod.ip("addr", "add", "10.0.0.2/16" if family == 4 else "2001:db8:50::2/64", "dev", "net1", *(["nodad"] if family == 6 else []))
    hops = [f"10.0.{i >> 8}.{i & 255}" if family == 4 else f"2001:db8:50::{i:x}" for i in range(3, MAX_NEXT_HOPS[family] + 3)]
    config, added = add(pod, addroutes=[{"dst": net["dst"], "gws": hops}])
    final = chained(config, added.ok())
    assert len(next_hops(pod, net["dst"], family)) == MAX_NEXT_HOPS[family]  # iproute2 still reads the table back
    run_plugin("CHECK", final, netns=pod.path).ok()
    run_plugin("DEL", final, netns=pod.path).ok()
    assert next_hops(pod, net["dst"], family) is None


def test_two_entries_for_one_kernel_route_are_code_7_pointing_at_gws(pod: Pod, family: int, net: dict) -> None:
    one, two, _ = net["hops"]
    before = pod.snapshot()
    _, added = add(pod, addroutes=[{"dst": net["dst"], "gw": one}, {"dst": net["dst"], "gw": two}])
    assert added.code == 7 and "addroutes[1]: same dst, table and priority as addroutes[0]" in added.msg and "gws" in added.msg
    assert pod.snapshot() == before


# ---- multipath routes already there ------------------------------------------------------


@pytest.mark.parametrize("rule", ["flushgateway", "flushroutes", "delroutes"])
def test_a_multipath_default_wholly_on_the_target_is_deleted(pod: Pod, family: int, net: dict, rule: str) -> None:
    multipath(pod, "default", family, [(net["hops"][0], "net1"), (net["hops"][1], "net1")])
    settings = {"delroutes": [{"dst": net["default"]}]} if rule == "delroutes" else {rule: True}
    config, added = add(pod, routes=({"dst": net["default"]},), **settings)
    result = added.ok()
    assert next_hops(pod, net["default"], family) is None
    assert "routes" not in result
    run_plugin("CHECK", chained(config, result), netns=pod.path).ok()


@pytest.mark.parametrize("rule", ["flushgateway", "flushroutes", "delroutes"])
def test_a_route_shared_with_another_interface_keeps_that_interfaces_share(pod: Pod, family: int, net: dict, rule: str) -> None:
    pod.add_link(ETH0, default_routes=False)
    multipath(pod, "default", family, [(net["hops"][0], "net1"), (net["other"], "eth0"), (net["hops"][1], "net1")], "proto", "static", "metric", "7")
    settings = {"delroutes": [{"dst": net["default"]}]} if rule == "delroutes" else {rule: True}
    config, added = add(pod, **settings)
    added.ok()
    assert next_hops(pod, net["default"], family) == [(net["other"], "eth0", 1)]
    (route,) = [r for r in json.loads(pod.ip(f"-{family}", "-j", "route", "show", "default"))]
    assert route["protocol"] == "static" and route["metric"] == 7  # still the other plugin's route
    run_plugin("CHECK", chained(config, added.document), netns=pod.path).ok()


@pytest.mark.parametrize("narrow", ["gw", "gws"])
def test_delroutes_gw_or_gws_removes_only_those_next_hops(pod: Pod, family: int, net: dict, narrow: str) -> None:
    one, two, three = net["hops"]
    multipath(pod, net["dst"], family, [(one, "net1"), (two, "net1"), (three, "net1")])
    entry = {"dst": net["dst"], "gw": one} if narrow == "gw" else {"dst": net["dst"], "gws": [one, three]}
    config, added = add(pod, routes=({"dst": net["dst"], "gws": [one, two, three]},), delroutes=[entry])
    result = added.ok()
    left = [two, three] if narrow == "gw" else [two]
    assert next_hops(pod, net["dst"], family) == [(hop, "net1", 1) for hop in left]
    assert result["routes"] == [{"dst": net["dst"], **({"gws": left} if len(left) > 1 else {"gw": left[0]})}]
    run_plugin("CHECK", chained(config, result), netns=pod.path).ok()


def test_a_refused_next_hop_rolls_back_every_change_exactly(pod: Pod, family: int, net: dict) -> None:
    pod.add_link(ETH0, default_routes=False)
    one, two, three = net["hops"]
    multipath(pod, "default", family, [(one, "net1"), (net["other"], "eth0")])
    pod.route("change", "default", "nexthop", "via", one, "dev", "net1", "weight", "3", "nexthop", "via", net["other"], "dev", "eth0", family=family)
    multipath(pod, net["dst"], family, [(one, "net1"), (two, "net1")])
    before = pod.snapshot()
    unreachable = "10.99.0.1" if family == 4 else "2001:db8:99::1"
    _, added = add(pod, flushroutes=True, addroutes=[{"dst": "10.30.0.0/16" if family == 4 else "2001:db8:30::/48", "gws": [three, unreachable]}])
    assert added.code == 100 and "addroutes[0]" in added.msg and "undone" in added.msg, added.document
    assert pod.snapshot() == before
    assert next_hops(pod, "default" if family == 4 else "::/0", family) == [(one, "net1", 3), (net["other"], "eth0", 1)]


# ---- CHECK, DEL, results -------------------------------------------------------------------


def test_check_fails_when_a_next_hop_is_dropped_and_names_it(pod: Pod, family: int, net: dict) -> None:
    one, two, three = net["hops"]
    config, added = add(pod, addroutes=[{"dst": net["dst"], "gws": [one, two, three]}])
    final = chained(config, added.ok())
    run_plugin("CHECK", final, netns=pod.path).ok()
    pod.route("replace", net["dst"], "proto", "114", "nexthop", "via", one, "dev", "net1", "nexthop", "via", three, "dev", "net1", family=family)
    outcome = run_plugin("CHECK", final, netns=pod.path)
    assert outcome.code == 103 and f"next hop via {two} dev net1 missing" in outcome.msg, outcome.msg


def test_check_reports_a_deleted_next_hop_that_is_back(pod: Pod, family: int, net: dict) -> None:
    pod.add_link(ETH0, default_routes=False)
    multipath(pod, "default", family, [(net["hops"][0], "net1"), (net["other"], "eth0")])
    config, added = add(pod, flushgateway=True)
    final = chained(config, added.ok())
    run_plugin("CHECK", final, netns=pod.path).ok()
    pod.route("replace", "default", "nexthop", "via", net["hops"][0], "dev", "net1", "nexthop", "via", net["other"], "dev", "eth0", family=family)
    outcome = run_plugin("CHECK", final, netns=pod.path)
    assert outcome.code == 103 and f"next hop via {net['hops'][0]} dev net1 of default" in outcome.msg and "present again" in outcome.msg


def test_del_removes_the_multipath_routes_add_added_and_only_those(pod: Pod, family: int, net: dict) -> None:
    one, two, three = net["hops"]
    other = "10.21.0.0/16" if family == 4 else "2001:db8:21::/48"
    multipath(pod, other, family, [(one, "net1"), (two, "net1")])  # not ours
    config, added = add(pod, addroutes=[{"dst": net["dst"], "gws": [one, two, three]}])
    run_plugin("DEL", chained(config, added.ok()), netns=pod.path).ok()
    assert next_hops(pod, net["dst"], family) is None
    assert next_hops(pod, other, family) == [(one, "net1", 1), (two, "net1", 1)]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_results_list_multipath_routes_with_gws_in_every_version(pod: Pod, version: str) -> None:
    pod.add_link(Link("net1", v4="10.0.0.2/24", v4_gateway="10.0.0.1"), default_routes=False)
    gws = ["10.0.0.1", "10.0.0.254"]
    _, added = add(pod, version, addroutes=[{"dst": "10.20.0.0/16", "gws": gws}])
    result = added.ok()
    routes = result["ip4"]["routes"] if version in ("0.1.0", "0.2.0") else result["routes"]
    assert routes == [{"dst": "10.20.0.0/16", "gws": gws}]


def test_args_cni_gws_of_one_pod(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="10.0.0.2/24"), default_routes=False)
    gws = ["10.0.0.1", "10.0.0.254"]
    add(pod, addroutes=[{"dst": "10.20.0.0/16", "gw": "10.0.0.1"}], args={"cni": {"addroutes": [{"dst": "10.30.0.0/16", "gws": gws}]}})[1].ok()
    assert next_hops(pod, "10.30.0.0/16", 4) == [(gw, "net1", 1) for gw in gws]
    assert next_hops(pod, "10.20.0.0/16", 4) is None
