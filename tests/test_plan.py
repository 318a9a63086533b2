"""The planner's rules, one by one, without root or a kernel."""

from __future__ import annotations

from ro import addresses, plan
from ro.config import parse_config
from ro.record import replace
from ro.plan import ACCEPT_RA_DEFRTR, ACCEPT_RA_RT_INFO, Observed, RouteStep, SysctlStep, Targets
from ro.result import parse_result, render_result
from ro.routes import PROTO_RA, PROTO_ROUTE_OVERRIDE, SCOPE_LINK, KernelRoute, NextHop

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


def ip(text: str):
    return addresses.ip_address(text)


def kroute(dst: str, *gws: str, oif: int = NET1, **fields: object) -> KernelRoute:
    """A route via `gws` on `oif` (several: multipath); gateway-less when none."""
    hops = tuple(NextHop(oif, ip(gw)) for gw in gws) or (NextHop(oif),)
    return KernelRoute(dst=addresses.ip_network(dst), hops=hops, **fields)


TABLE = [
    kroute("0.0.0.0/0", "192.168.50.1"),
    kroute("10.10.0.0/16", "192.168.50.1"),
    kroute("192.168.50.0/24", scope=SCOPE_LINK, protocol=2),
    kroute("::/0", "2001:db8:50::1", priority=1024),
    kroute("2001:db8:50::/64", priority=256, protocol=2),
    kroute("fe80::/64", priority=256, protocol=2),
    kroute("0.0.0.0/0", "10.88.0.1", oif=ETH0, priority=100),
    kroute("10.10.0.0/16", "10.88.0.1", oif=ETH0),
    kroute("10.10.0.0/16", "192.168.50.1", table=100),
]
IPV6 = {"net1": {ACCEPT_RA_DEFRTR: 1, ACCEPT_RA_RT_INFO: 0}}


def config(prev: dict = PREV, **settings: object):
    return parse_config({"cniVersion": "1.1.0", "name": "n", "prevResult": prev, **settings}, "1.1.0")


def seen(routes=TABLE, ra_settings=None, names=None) -> Observed:
    return Observed(LINKS, names or {index: name for name, index in LINKS.items()}, routes, ra_settings or {})


def add(routes=TABLE, ra_settings=None, prev: dict = PREV, **settings: object) -> plan.Plan:
    """ADD's plan, with the RA guard made first as the plugin does."""
    the_config = config(prev, **settings)
    guard = plan.ra_guard(the_config, TARGET, seen(routes, ra_settings))
    the_plan = plan.plan_add(the_config, TARGET, seen(routes, ra_settings))
    return plan.Plan(tuple(guard) + the_plan.steps, the_plan.result)


def deleted(the_plan) -> set[tuple[str, ...]]:
    return {(str(s.old.dst), *(str(h.gateway) for h in s.old.hops)) for s in the_plan.route_steps if s.new is None}


def added(the_plan) -> list[KernelRoute]:
    return [s.new for s in the_plan.route_steps if s.old is None]


def dsts(the_plan) -> list[str]:
    return [str(r.dst) for r in the_plan.result.routes]


def result_routes(the_plan) -> list[dict]:
    return render_result(the_plan.result, "1.1.0").get("routes", [])


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
    the_plan = add(flushroutes=True)
    assert deleted(the_plan) == {("0.0.0.0/0", "192.168.50.1"), ("10.10.0.0/16", "192.168.50.1"), ("::/0", "2001:db8:50::1")}
    assert all(s.reason == "flushroutes" for s in the_plan.steps)
    assert dsts(the_plan) == []


def test_flushroutes_keeps_ipv6_link_local_even_with_a_gateway() -> None:
    assert add([kroute("fe80::/64", "fe80::1")], flushroutes=True).steps == ()


def test_flushgateway_takes_the_default_routes_and_keeps_the_ips_gateways() -> None:
    """Issue 16.1: static IPAM's CHECK (CRI-O runs it after every ADD) wants
    the gateway it configured in ips; ips[].gateway adds no route."""
    the_plan = add(flushgateway=True)
    assert deleted(the_plan) == {("0.0.0.0/0", "192.168.50.1"), ("::/0", "2001:db8:50::1")}
    assert dsts(the_plan) == ["10.10.0.0/16"]
    assert [str(ip.gateway) for ip in the_plan.result.ips] == ["192.168.50.1", "2001:db8:50::1"]


def test_a_route_that_stays_under_flushgateway_still_goes_via_the_ips_gateway() -> None:
    """Issue 9.1: the gw-less route goes via the ips gateway, which the result still names."""
    assert result_routes(add(flushgateway=True)) == [{"dst": "10.10.0.0/16"}]


def test_gw_less_addroutes_under_flushgateway_are_marked_on_link_in_the_result() -> None:
    """Issue 16.1: the kernel route is on-link; a gw-less result route would
    read as via the ips gateway. From 1.1.0 scope 253 says so; before, the
    gateway of that family goes, and the other routes name theirs."""
    settings = dict(flushgateway=True, addroutes=[{"dst": "10.20.0.0/16"}, {"dst": "10.21.0.0/16", "gw": "192.168.50.9"}])
    the_plan = add(**settings)
    assert result_routes(the_plan)[1:] == [{"dst": "10.20.0.0/16", "scope": 253}, {"dst": "10.21.0.0/16", "gw": "192.168.50.9"}]
    assert [str(ip.gateway) for ip in the_plan.result.ips] == ["192.168.50.1", "2001:db8:50::1"]
    older = plan.plan_add(parse_config({"cniVersion": "1.0.0", "name": "n", "prevResult": PREV, **settings}, "1.0.0"), TARGET, seen())
    rendered = render_result(older.result, "1.0.0")
    assert [ip.get("gateway") for ip in rendered["ips"]] == [None, "2001:db8:50::1"]
    assert rendered["routes"] == [
        {"dst": "10.10.0.0/16", "gw": "192.168.50.1"},
        {"dst": "10.20.0.0/16"},
        {"dst": "10.21.0.0/16", "gw": "192.168.50.9"},
    ]
    for the_config, chosen_plan, version in ((config(**settings), the_plan, "1.1.0"), (parse_config({"cniVersion": "1.0.0", "name": "n", "prevResult": PREV, **settings}, "1.0.0"), older, "1.0.0")):
        table = [r for r in TABLE if not (r.dst.prefixlen == 0 and r.oifs() == {NET1})] + [s.new for s in chosen_plan.route_steps if s.old is None]
        final = replace(the_config, prev_result=parse_result(render_result(chosen_plan.result, version)))
        assert plan.check(final, TARGET, seen(table)) == [], version


def test_delroutes_matches_dst_gw_and_table() -> None:
    the_plan = add(delroutes=[{"dst": "10.10.0.0/16", "gw": "192.168.50.1", "table": 100}, {"dst": "0.0.0.0/0", "gw": "192.168.50.9"}])
    assert [(s.reason, s.old.table) for s in the_plan.route_steps] == [("delroutes[0]", 100)]
    assert dsts(the_plan) == ["0.0.0.0/0", "10.10.0.0/16", "::/0"]


def test_delroutes_drops_result_routes_by_their_next_hop_as_prev_result_gave_it() -> None:
    """Issue 9.2: under flushgateway too, a gw-less result route goes via the
    ips gateway prevResult named, so delroutes with that gw drops it."""
    assert dsts(add(delroutes=[{"dst": "10.10.0.0/16", "gw": "192.168.50.1"}])) == ["0.0.0.0/0", "::/0"]
    both = add(flushgateway=True, delroutes=[{"dst": "10.10.0.0/16", "gw": "192.168.50.1"}])
    assert dsts(both) == [] and ("10.10.0.0/16", "192.168.50.1") in deleted(both)


def test_addroutes_without_gw_use_the_ips_gateway_of_their_family() -> None:
    the_plan = add(addroutes=[{"dst": "10.20.0.0/16"}, {"dst": "2001:db8:20::/48"}])
    assert [str(r.hops[0].gateway) for r in added(the_plan)] == ["192.168.50.1", "2001:db8:50::1"]
    assert [r.priority for r in added(the_plan)] == [0, 1024] and {r.protocol for r in added(the_plan)} == {PROTO_ROUTE_OVERRIDE}
    assert [r.gw for r in the_plan.result.routes[-2:]] == [None, None]


def test_gw_less_addroutes_never_borrow_another_interfaces_gateway() -> None:
    """Issue 9.5: the IPv6 gateway belongs to eth0 (interface 0); net1 gets an on-link route."""
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "sandbox": "/x"}, {"name": "net1", "sandbox": "/x"}],
        "ips": [{"interface": 0, "address": "2001:db8:1::2/64", "gateway": "fe80::1"}, {"interface": 1, "address": "2001:db8:2::2/64"}],
    }
    chosen = plan.targets(parse_result(prev), "net1")
    the_plan = plan.plan_add(config(prev, addroutes=[{"dst": "2001:db8:99::/64"}]), chosen, seen([]))
    assert added(the_plan)[0].hops == (NextHop(NET1, None),)
    unnamed = {**prev, "ips": [{"address": "2001:db8:2::2/64", "gateway": "2001:db8:2::1"}]}  # no interface: anyone's
    the_plan = plan.plan_add(config(unnamed, addroutes=[{"dst": "2001:db8:99::/64"}]), chosen, seen([]))
    assert str(added(the_plan)[0].hops[0].gateway) == "2001:db8:2::1"


def test_addroutes_after_flushgateway_are_on_link_with_link_scope() -> None:
    (route,) = added(add(flushgateway=True, addroutes=[{"dst": "10.20.0.0/16"}]))
    assert route.hops == (NextHop(NET1, None),) and route.scope == SCOPE_LINK


def test_an_explicit_link_scope_is_on_link_in_both_families() -> None:
    """Issue 10.10: scope 253 without gw never goes via the ips gateway."""
    v4, v6 = added(add(addroutes=[{"dst": "10.20.0.0/16", "scope": 253}, {"dst": "2001:db8:20::/48", "scope": 253}]))
    assert v4.hops == v6.hops == (NextHop(NET1, None),) and v4.scope == SCOPE_LINK


def test_delroutes_plus_addroutes_replace_a_route_in_order() -> None:
    the_plan = add(delroutes=[{"dst": "0.0.0.0/0"}], addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}])
    assert [(s.action, str((s.old or s.new).hops[0].gateway)) for s in the_plan.route_steps] == [("delete", "192.168.50.1"), ("add", "192.168.50.254")]
    assert [str(r.gw) for r in the_plan.result.routes if r.dst.prefixlen == 0 and r.version == 4] == ["192.168.50.254"]


def test_an_identical_route_already_present_is_not_added() -> None:
    the_plan = add(addroutes=[{"dst": "10.10.0.0/16"}])
    assert the_plan.steps == () and dsts(the_plan) == ["0.0.0.0/0", "10.10.0.0/16", "::/0"]


def test_a_route_that_differs_by_tos_or_source_is_not_the_same_route() -> None:
    """Issue 9.10: tos and source prefix make a route distinct in the kernel."""
    table = [
        kroute("10.20.0.0/16", "192.168.50.1", tos=0x10),
        kroute("2001:db8:20::/48", "2001:db8:50::1", priority=1024, src=addresses.ip_network("2001:db8:1::/64")),
    ]
    the_plan = add(table, addroutes=[{"dst": "10.20.0.0/16", "gw": "192.168.50.1"}, {"dst": "2001:db8:20::/48", "gw": "2001:db8:50::1"}])
    assert len(added(the_plan)) == 2


def test_ipv6_priority_0_means_what_the_kernel_makes_of_it() -> None:
    """Issue 9.3: the kernel stores 1024; so do the plan and the result."""
    the_plan = add(addroutes=[{"dst": "2001:db8:20::/48", "gw": "2001:db8:50::9", "priority": 0, "mtu": 0, "advmss": 0}])
    (route,) = added(the_plan)
    assert (route.priority, route.mtu, route.advmss) == (1024, None, None)
    assert result_routes(the_plan)[-1] == {"dst": "2001:db8:20::/48", "gw": "2001:db8:50::9"}


def test_the_unspecified_gateway_means_no_gateway() -> None:
    """Issue 9.4: what the Go original writes into results."""
    prev = {**PREV, "ips": [{"interface": 0, "address": "192.168.50.2/24", "gateway": "0.0.0.0"}], "routes": [{"dst": "10.10.0.0/16", "gw": "0.0.0.0"}]}
    the_plan = plan.plan_add(config(prev, addroutes=[{"dst": "10.20.0.0/16", "gw": "0.0.0.0"}]), TARGET, seen([]))
    assert added(the_plan)[0].hops == (NextHop(NET1, None),)
    assert result_routes(the_plan) == [{"dst": "10.10.0.0/16"}, {"dst": "10.20.0.0/16"}]


def test_other_interfaces_are_never_planned() -> None:
    the_plan = add(flushroutes=True, flushgateway=True, delroutes=[{"dst": "10.10.0.0/16"}])
    assert all(s.old.oifs() == {NET1} for s in the_plan.route_steps)


# ---- multipath -----------------------------------------------------------------


def test_addroutes_with_gws_is_one_multipath_route_listed_with_gws() -> None:
    the_plan = add(addroutes=[{"dst": "10.20.0.0/16", "gws": ["192.168.50.7", "192.168.50.8"], "gw": "192.168.50.9", "priority": 5}])
    (route,) = added(the_plan)
    assert [str(h.gateway) for h in route.hops] == ["192.168.50.7", "192.168.50.8", "192.168.50.9"]
    assert {h.oif for h in route.hops} == {NET1} and route.priority == 5
    assert result_routes(the_plan)[-1] == {"dst": "10.20.0.0/16", "gws": ["192.168.50.7", "192.168.50.8", "192.168.50.9"], "priority": 5}


def test_rules_take_only_the_target_interfaces_next_hops_of_a_shared_route() -> None:
    shared = KernelRoute(addresses.ip_network("0.0.0.0/0"), (NextHop(NET1, ip("192.168.50.1")), NextHop(ETH0, ip("10.88.0.1"))))
    (step,) = add([shared], flushgateway=True).route_steps
    assert step.action == "replace" and step.new.hops == (NextHop(ETH0, ip("10.88.0.1")),)
    wholly = kroute("0.0.0.0/0", "192.168.50.1", "192.168.50.254")
    (step,) = add([wholly], flushroutes=True).route_steps
    assert step.action == "delete"


def test_delroutes_gw_narrows_a_multipath_route_to_that_next_hop() -> None:
    (step,) = add([kroute("0.0.0.0/0", "192.168.50.1", "192.168.50.254")], delroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.1"}]).route_steps
    assert step.action == "replace" and [str(h.gateway) for h in step.new.hops] == ["192.168.50.254"]


def test_a_result_route_with_gws_loses_the_next_hops_a_rule_removes() -> None:
    prev = {**PREV, "routes": [{"dst": "10.20.0.0/16", "gws": ["192.168.50.7", "192.168.50.8", "192.168.50.9"]}]}
    the_plan = plan.plan_add(config(prev, delroutes=[{"dst": "10.20.0.0/16", "gws": ["192.168.50.8", "192.168.50.9"]}]), TARGET, seen([]))
    assert result_routes(the_plan) == [{"dst": "10.20.0.0/16", "gw": "192.168.50.7"}]


# ---- Router Advertisements -------------------------------------------------------


def test_rules_that_delete_defaults_also_stop_ra_default_routes_first() -> None:
    for settings in ({"flushgateway": True}, {"flushroutes": True}, {"delroutes": [{"dst": "::/0"}]}):
        the_plan = add(ra_settings=IPV6, **settings)
        assert isinstance(the_plan.steps[0], SysctlStep)
        assert the_plan.steps[0] == SysctlStep("net/ipv6/conf/net1/accept_ra_defrtr", 1, 0, next(iter(settings)) + ("[0]" if "delroutes" in settings else ""))
    assert not [s for s in add(ra_settings=IPV6, delroutes=[{"dst": "0.0.0.0/0"}]).steps if isinstance(s, SysctlStep)]
    assert not [s for s in add(ra_settings={}, flushgateway=True).steps if isinstance(s, SysctlStep)]  # no IPv6 there
    assert not [s for s in add(ra_settings={"net1": {ACCEPT_RA_DEFRTR: 0}}, flushgateway=True).steps if isinstance(s, SysctlStep)]


def test_more_specific_ra_routes_are_stopped_under_flushroutes_and_after_delroutes_of_one() -> None:
    ipv6 = {"net1": {ACCEPT_RA_DEFRTR: 0, ACCEPT_RA_RT_INFO: 64}}
    assert add(ra_settings=ipv6, flushroutes=True).steps[0] == SysctlStep("net/ipv6/conf/net1/accept_ra_rt_info_max_plen", 64, 0, "flushroutes")
    learned = kroute("2001:db8:77::/48", "fe80::1", priority=1024, protocol=PROTO_RA)
    steps = add([learned], ra_settings=ipv6, delroutes=[{"dst": "2001:db8:77::/48"}]).steps
    assert steps[0] == SysctlStep("net/ipv6/conf/net1/accept_ra_rt_info_max_plen", 64, 0, "delroutes[0]")
    static = kroute("2001:db8:77::/48", "fe80::1", priority=1024)
    assert all(isinstance(s, RouteStep) for s in add([static], ra_settings=ipv6, delroutes=[{"dst": "2001:db8:77::/48"}]).steps)


# ---- DEL and CHECK -------------------------------------------------------------


def test_del_takes_only_routes_marked_as_ours() -> None:
    ours = kroute("10.30.0.0/16", "192.168.50.1", protocol=PROTO_ROUTE_OVERRIDE)
    theirs = kroute("10.30.0.0/16", "192.168.50.7", priority=5)
    the_plan = plan.plan_del(config(addroutes=[{"dst": "10.30.0.0/16"}]), TARGET, seen([ours, theirs]))
    assert [s.old for s in the_plan.route_steps] == [ours]


def test_check_accepts_the_table_add_leaves() -> None:
    settings = dict(delroutes=[{"dst": "0.0.0.0/0"}], addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}])
    the_plan = add(**settings)
    table = [r for r in TABLE if r != TABLE[0]] + [kroute("0.0.0.0/0", "192.168.50.254", protocol=PROTO_ROUTE_OVERRIDE)]
    final = config(prev=render_result(the_plan.result, "1.1.0"), **settings)
    assert plan.check(final, TARGET, seen(table)) == []
    table.append(kroute("0.0.0.0/0", "192.168.50.1", priority=7))
    (problem,) = plan.check(final, TARGET, seen(table))
    assert "present again" in problem and "delroutes[0]" in problem


def test_check_reports_missing_and_wrong_next_hop_routes() -> None:
    table = [r for r in TABLE if str(r.dst) != "10.10.0.0/16" or r.oifs() != {NET1}]
    table = [r for r in table if str(r.dst) != "::/0"] + [kroute("::/0", "2001:db8:50::99")]
    problems = plan.check(config(), TARGET, seen(table))
    assert problems[0].startswith("prevResult.routes[1] 10.10.0.0/16: no such route on net1")
    assert problems[1].startswith("prevResult.routes[2] ::/0: expected via 2001:db8:50::1, found default via 2001:db8:50::99")


def test_check_compares_next_hop_sets_exactly_and_names_the_difference() -> None:
    prev = {**PREV, "routes": [{"dst": "10.20.0.0/16", "gws": ["192.168.50.7", "192.168.50.8"]}]}
    exact = [kroute("10.20.0.0/16", "192.168.50.8", "192.168.50.7")]
    assert plan.check(config(prev), TARGET, seen(exact)) == []
    (problem,) = plan.check(config(prev), TARGET, seen([kroute("10.20.0.0/16", "192.168.50.7", "192.168.50.9")]))
    assert "next hop via 192.168.50.8 dev net1 missing" in problem and "next hop via 192.168.50.9 dev net1 extra" in problem


def test_check_reports_an_ra_setting_back_where_defaults_are_deleted() -> None:
    final = config(prev=render_result(add(flushgateway=True).result, "1.1.0"), flushgateway=True)
    table = [r for r in TABLE if not r.dst.prefixlen == 0 or r.oifs() != {NET1}]
    assert plan.check(final, TARGET, seen(table, {"net1": {ACCEPT_RA_DEFRTR: 0}})) == []
    (problem,) = plan.check(final, TARGET, seen(table, IPV6))
    assert problem.startswith("net.ipv6.conf.net1.accept_ra_defrtr is 1, but flushgateway needs 0")


def test_check_knows_a_multipath_route_whose_gws_a_runtime_dropped() -> None:
    """libcni parses results into types without gws; CHECK gets {"dst"} back."""
    settings = {"addroutes": [{"dst": "10.20.0.0/16", "gws": ["192.168.50.7", "192.168.50.8"]}]}
    prev = {**PREV, "routes": [{"dst": "10.20.0.0/16"}]}
    assert plan.check(config(prev, **settings), TARGET, seen([kroute("10.20.0.0/16", "192.168.50.7", "192.168.50.8")])) == []


def test_check_takes_result_routes_of_one_destination_as_one_kernel_route() -> None:
    """Issue 16.2: IPAM adds {dst: D, gw: A} and {dst: D, gw: B} without
    NLM_F_EXCL, and the kernel makes them one multipath route; CHECK with
    ADD's own result compares the union of their next hops."""
    prev = {**PREV, "routes": [{"dst": "10.20.0.0/16", "gw": "192.168.50.7"}, {"dst": "10.20.0.0/16", "gw": "192.168.50.8"}]}
    both = [kroute("10.20.0.0/16", "192.168.50.7", "192.168.50.8")]
    assert plan.check(config(prev), TARGET, seen(both)) == []
    assert plan.check(config(render_result(add(both, prev=prev).result, "1.1.0")), TARGET, seen(both)) == []
    (problem,) = plan.check(config(prev), TARGET, seen([kroute("10.20.0.0/16", "192.168.50.7")]))
    assert problem.startswith("prevResult.routes[0] 10.20.0.0/16 via 192.168.50.7 and routes[1] 10.20.0.0/16 via 192.168.50.8:")
    assert "next hop via 192.168.50.8 dev net1 missing" in problem
    other_priority = {**prev, "routes": [prev["routes"][0], {**prev["routes"][1], "priority": 5}]}
    split = [kroute("10.20.0.0/16", "192.168.50.7"), kroute("10.20.0.0/16", "192.168.50.8", priority=5)]
    assert plan.check(config(other_priority), TARGET, seen(split)) == []


def test_ra_settings_use_the_kernel_name_of_a_target_given_by_altname() -> None:
    """Issue 16.4: /proc/sys/net/ipv6/conf/ knows no altname."""
    chosen = Targets(names=("n1alt",), add_to="n1alt", add_to_index=None)
    prev = {**PREV, "interfaces": [{"name": "n1alt", "sandbox": "/x"}]}
    by_altname = Observed({"n1alt": NET1}, {NET1: "net1"}, TABLE, IPV6)
    guard = plan.ra_guard(config(prev, flushgateway=True), chosen, by_altname)
    assert guard == [SysctlStep("net/ipv6/conf/net1/accept_ra_defrtr", 1, 0, "flushgateway")]
    problems = plan.check(config(prev, flushgateway=True), chosen, by_altname)
    assert problems[-1].startswith("net.ipv6.conf.net1.accept_ra_defrtr is 1")
