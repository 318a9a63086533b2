"""The planner's rules, one by one, without root or a kernel."""

from __future__ import annotations

import ipaddress

from ro import plan
from ro.config import parse_config
from ro.plan import ADD, DELETE, PROTO_ROUTE_OVERRIDE, KernelRoute, Targets
from ro.result import parse_result

NET1, ETH0 = 3, 2
LINKS = {"net1": NET1, "eth0": ETH0}
TARGET = Targets(names=("net1",), add_to="net1", add_to_index=0)
PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "net1", "sandbox": "/run/netns/x"}],
    "ips": [
        {"interface": 0, "address": "192.168.50.2/24", "gateway": "192.168.50.1"},
        {"interface": 0, "address": "2001:db8:50::2/64", "gateway": "2001:db8:50::1"},
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.10.0.0/16"}, {"dst": "::/0"}],
}


def kroute(dst: str, gw: str = "", oif: int = NET1, **fields: object) -> KernelRoute:
    return KernelRoute(
        dst=ipaddress.ip_network(dst), oif=oif, gateway=ipaddress.ip_address(gw) if gw else None, **fields
    )


TABLE = [
    kroute("0.0.0.0/0", "192.168.50.1"),
    kroute("10.10.0.0/16", "192.168.50.1"),
    kroute("192.168.50.0/24", scope=plan.SCOPE_LINK, protocol=2),
    kroute("::/0", "2001:db8:50::1", priority=1024),
    kroute("2001:db8:50::/64", priority=256, protocol=2),
    kroute("fe80::/64", priority=256, protocol=2),
    kroute("0.0.0.0/0", "10.88.0.1", oif=ETH0, priority=100),
    kroute("10.10.0.0/16", "10.88.0.1", oif=ETH0),
    kroute("10.10.0.0/16", "192.168.50.1", table=100),
]


def config(prev: dict = PREV, **settings: object):
    return parse_config({"cniVersion": "1.1.0", "name": "n", "prevResult": prev, **settings}, "1.1.0")


def deleted(the_plan) -> set[tuple[str, str]]:
    return {(str(s.route.dst), str(s.route.gateway)) for s in the_plan.steps if s.action == DELETE}


def dsts(the_plan) -> list[str]:
    return [str(r.dst) for r in the_plan.result.routes]


# ---- targets -------------------------------------------------------------


def test_targets_are_the_sandbox_interfaces_and_cni_ifname_picks_where_to_add() -> None:
    prev = parse_result(
        {"interfaces": [{"name": "br0"}, {"name": "net1", "sandbox": "/x"}, {"name": "net2", "sandbox": "/x"}]}
    )
    assert plan.targets(prev, "net2") == Targets(("net1", "net2"), "net2", 2)
    assert plan.targets(prev, "other") == Targets(("net1", "net2"), "net1", 1)


def test_without_interfaces_the_target_is_cni_ifname() -> None:
    assert plan.targets(parse_result({"ip4": {"ip": "10.0.0.2/24"}}), "net9") == Targets(("net9",), "net9", None)
    assert plan.targets(None, "net9") == Targets(("net9",), "net9", None)


# ---- the four rules ----------------------------------------------------------


def test_flushroutes_takes_gateway_and_default_routes_of_targets_in_main() -> None:
    the_plan = plan.plan_add(config(flushroutes=True), TARGET, LINKS, TABLE)
    assert deleted(the_plan) == {("0.0.0.0/0", "192.168.50.1"), ("10.10.0.0/16", "192.168.50.1"), ("::/0", "2001:db8:50::1")}
    assert all(s.reason == "flushroutes" for s in the_plan.steps)
    assert dsts(the_plan) == []


def test_flushroutes_keeps_ipv6_link_local_even_with_a_gateway() -> None:
    the_plan = plan.plan_add(config(flushroutes=True), TARGET, LINKS, [kroute("fe80::/64", "fe80::1")])
    assert the_plan.steps == ()


def test_flushgateway_takes_defaults_and_gateways_from_the_result() -> None:
    the_plan = plan.plan_add(config(flushgateway=True), TARGET, LINKS, TABLE)
    assert deleted(the_plan) == {("0.0.0.0/0", "192.168.50.1"), ("::/0", "2001:db8:50::1")}
    assert dsts(the_plan) == ["10.10.0.0/16"]
    assert all(ip.gateway is None for ip in the_plan.result.ips)


def test_delroutes_matches_dst_gw_and_table() -> None:
    the_plan = plan.plan_add(
        config(delroutes=[{"dst": "10.10.0.0/16", "gw": "192.168.50.1", "table": 100}, {"dst": "0.0.0.0/0", "gw": "192.168.50.9"}]),
        TARGET,
        LINKS,
        TABLE,
    )
    assert [(s.reason, s.route.table) for s in the_plan.steps] == [("delroutes[0]", 100)]
    assert dsts(the_plan) == ["0.0.0.0/0", "10.10.0.0/16", "::/0"]


def test_delroutes_drops_result_routes_by_their_effective_gateway() -> None:
    the_plan = plan.plan_add(config(delroutes=[{"dst": "10.10.0.0/16", "gw": "192.168.50.1"}]), TARGET, LINKS, TABLE)
    assert dsts(the_plan) == ["0.0.0.0/0", "::/0"]


def test_addroutes_without_gw_use_the_ips_gateway_of_their_family() -> None:
    the_plan = plan.plan_add(config(addroutes=[{"dst": "10.20.0.0/16"}, {"dst": "2001:db8:20::/48"}]), TARGET, LINKS, TABLE)
    added = [s.route for s in the_plan.steps if s.action == ADD]
    assert [str(r.gateway) for r in added] == ["192.168.50.1", "2001:db8:50::1"]
    assert [r.priority for r in added] == [0, 1024] and {r.protocol for r in added} == {PROTO_ROUTE_OVERRIDE}
    assert [r.gw for r in the_plan.result.routes[-2:]] == [None, None]


def test_addroutes_after_flushgateway_are_on_link_with_link_scope() -> None:
    the_plan = plan.plan_add(config(flushgateway=True, addroutes=[{"dst": "10.20.0.0/16"}]), TARGET, LINKS, TABLE)
    (added,) = [s.route for s in the_plan.steps if s.action == ADD]
    assert added.gateway is None and added.scope == plan.SCOPE_LINK


def test_delroutes_plus_addroutes_replace_a_route_in_order() -> None:
    the_plan = plan.plan_add(
        config(delroutes=[{"dst": "0.0.0.0/0"}], addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}]), TARGET, LINKS, TABLE
    )
    assert [(s.action, str(s.route.gateway)) for s in the_plan.steps] == [(DELETE, "192.168.50.1"), (ADD, "192.168.50.254")]
    assert [str(r.gw) for r in the_plan.result.routes if r.dst.prefixlen == 0 and r.version == 4] == ["192.168.50.254"]


def test_an_identical_route_already_present_is_not_added() -> None:
    the_plan = plan.plan_add(config(addroutes=[{"dst": "10.10.0.0/16"}]), TARGET, LINKS, TABLE)
    assert the_plan.steps == () and dsts(the_plan) == ["0.0.0.0/0", "10.10.0.0/16", "::/0"]


def test_other_interfaces_are_never_planned() -> None:
    the_plan = plan.plan_add(
        config(flushroutes=True, flushgateway=True, delroutes=[{"dst": "10.10.0.0/16"}]), TARGET, LINKS, TABLE
    )
    assert all(s.route.oif == NET1 for s in the_plan.steps)


# ---- DEL and CHECK -------------------------------------------------------------


def test_del_takes_only_routes_marked_as_ours() -> None:
    ours = kroute("10.30.0.0/16", "192.168.50.1", protocol=PROTO_ROUTE_OVERRIDE)
    theirs = kroute("10.30.0.0/16", "192.168.50.7", priority=5)
    the_plan = plan.plan_del(config(addroutes=[{"dst": "10.30.0.0/16"}]), TARGET, LINKS, [ours, theirs])
    assert [s.route for s in the_plan.steps] == [ours]


def test_check_accepts_the_table_add_leaves() -> None:
    settings = dict(delroutes=[{"dst": "0.0.0.0/0"}], addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}])
    added = plan.plan_add(config(**settings), TARGET, LINKS, TABLE)
    table = [r for r in TABLE if (r.dst, r.gateway) != (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_address("192.168.50.1"))]
    table.append(kroute("0.0.0.0/0", "192.168.50.254", protocol=PROTO_ROUTE_OVERRIDE))
    from ro.result import render_result

    final = config(prev=render_result(added.result, "1.1.0"), **settings)
    assert plan.check(final, TARGET, LINKS, table) == []
    table.append(kroute("0.0.0.0/0", "192.168.50.1", priority=7))
    (problem,) = plan.check(final, TARGET, LINKS, table)
    assert "present again" in problem and "delroutes[0]" in problem


def test_check_reports_missing_and_wrong_next_hop_routes() -> None:
    table = [r for r in TABLE if str(r.dst) != "10.10.0.0/16" or r.oif != NET1]
    table = [r for r in table if str(r.dst) != "::/0"] + [kroute("::/0", "2001:db8:50::99")]
    problems = plan.check(config(), TARGET, LINKS, table)
    assert problems[0].startswith("prevResult.routes[1] 10.10.0.0/16: no such route on net1")
    assert problems[1].startswith("prevResult.routes[2] ::/0: expected via 2001:db8:50::1, found default via 2001:db8:50::99")
