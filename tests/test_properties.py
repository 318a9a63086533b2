"""Properties of ADD, CHECK and DEL on real namespaces, over generated
configs, prevResults of every version, and namespaces that hold what real
networks hold: multipath routes (some shared with the pod's eth0, some that
a result lists as one route per gateway, as IPAM leaves them), routes on
nexthop objects, tos and source-specific routes, expiring routes, IPv4
routes via IPv6 next hops, and a target interface without carrier.

(a) After any successful ADD, CHECK with its result passes.
(b) After ADD then DEL, no route of ours (proto 114) is left, and every
    route ADD did not touch is unchanged.
(c) A failed ADD leaves every route and every RA setting as it was.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netns import Link, Pod
from runner import chained, plugin_config, run_plugin

VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
NET1 = Link("net1", v4="192.168.50.2/24", v4_gateway="192.168.50.1", v6="2001:db8:50::2/64", v6_gateway="2001:db8:50::1")
NET2 = Link("net2", v4="192.168.60.2/24", v4_gateway="192.168.60.1", v6="2001:db8:60::2/64")
ETH0 = Link("eth0", v4="10.88.0.5/16", v4_gateway="10.88.0.1", v6="2001:db8:88::5/64")

# What the namespace may hold besides the interface plugins' routes: `ip`
# arguments, and how a result lists the route (None: a result cannot say it;
# a list: as several result routes).
EXTRAS = {
    "multipath on net1": (
        ["route", "add", "10.10.0.0/16", "nexthop", "via", "192.168.50.1", "dev", "net1", "nexthop", "via", "192.168.50.254", "dev", "net1"],
        {"dst": "10.10.0.0/16", "gws": ["192.168.50.1", "192.168.50.254"]},
    ),
    "multipath shared with eth0": (
        ["route", "add", "10.20.0.0/16", "nexthop", "via", "192.168.50.1", "dev", "net1", "nexthop", "via", "10.88.0.1", "dev", "eth0"],
        {"dst": "10.20.0.0/16", "gw": "192.168.50.1"},  # the net1 share
    ),
    # IPAM adds same-dst routes without NLM_F_EXCL: the kernel makes them one
    # multipath route, which the result lists as one route per gateway.
    "one dst via two gateways": (
        ["route", "add", "10.60.0.0/16", "nexthop", "via", "192.168.50.1", "dev", "net1", "nexthop", "via", "192.168.50.7", "dev", "net1"],
        [{"dst": "10.60.0.0/16", "gw": "192.168.50.1"}, {"dst": "10.60.0.0/16", "gw": "192.168.50.7"}],
    ),
    "ipv6 one dst via two gateways": (
        ["-6", "route", "add", "2001:db8:40::/48", "nexthop", "via", "2001:db8:50::1", "dev", "net1", "nexthop", "via", "2001:db8:50::7", "dev", "net1"],
        [{"dst": "2001:db8:40::/48", "gw": "2001:db8:50::1"}, {"dst": "2001:db8:40::/48", "gw": "2001:db8:50::7"}],
    ),
    "ipv6 multipath": (
        ["-6", "route", "add", "2001:db8:10::/48", "nexthop", "via", "2001:db8:50::1", "dev", "net1", "nexthop", "via", "2001:db8:50::fe", "dev", "net1"],
        {"dst": "2001:db8:10::/48", "gws": ["2001:db8:50::1", "2001:db8:50::fe"]},
    ),
    "nexthop object": (["route", "add", "10.30.0.0/16", "nhid", "31"], {"dst": "10.30.0.0/16", "gw": "192.168.50.1"}),
    "nexthop group": (["route", "add", "10.31.0.0/16", "nhid", "33"], None),
    "tos": (["route", "add", "10.20.0.0/16", "tos", "0x10", "via", "192.168.50.1", "dev", "net1"], None),
    "source-specific": (["-6", "route", "add", "2001:db8:20::/48", "from", "2001:db8:77::/64", "via", "2001:db8:50::1", "dev", "net1"], None),
    "expiring": (
        ["-6", "route", "add", "2001:db8:30::/48", "via", "2001:db8:50::1", "dev", "net1", "expires", "600"],
        {"dst": "2001:db8:30::/48"},  # via the ips gateway
    ),
    "via inet6": (["route", "add", "10.40.0.0/16", "via", "inet6", "fe80::1", "dev", "net1"], None),
    "on net2": (["route", "add", "10.50.0.0/16", "via", "192.168.60.1", "dev", "net2"], None),
}
NEXTHOP_OBJECTS = [
    ["nexthop", "add", "id", "31", "via", "192.168.50.1", "dev", "net1"],
    ["nexthop", "add", "id", "32", "via", "10.88.0.1", "dev", "eth0"],
    ["nexthop", "add", "id", "33", "group", "31/32"],
]
DSTS = ["0.0.0.0/0", "10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16", "10.40.0.0/16", "10.50.0.0/16", "10.60.0.0/16", "192.168.50.0/24",
        "::/0", "2001:db8:10::/48", "2001:db8:20::/48", "2001:db8:30::/48", "2001:db8:40::/48", "2001:db8:60::/48"]  # fmt: skip
GATEWAYS = {4: ["192.168.50.1", "192.168.50.254", "192.168.50.7", "10.99.0.1"], 6: ["2001:db8:50::1", "2001:db8:50::fe", "2001:db8:50::7", "2001:db8:99::1"]}


@st.composite
def route_entry(draw: st.DrawFn) -> dict:
    """An addroutes or delroutes entry: a dst, and maybe gw and/or gws of its family
    (some unreachable, so that the kernel refuses some ADDs)."""
    dst = draw(st.sampled_from(DSTS))
    hops = GATEWAYS[6 if ":" in dst else 4]
    entry: dict = {"dst": dst}
    if draw(st.booleans()):
        entry["gw"] = draw(st.sampled_from(hops))
    if draw(st.integers(0, 3)) == 0:
        entry["gws"] = draw(st.lists(st.sampled_from(hops), min_size=1, max_size=3, unique=True))
    return entry


def kernel_identity(entry: dict) -> str:
    return entry["dst"]  # no priority or table generated: one kernel route per dst


scenario = st.fixed_dictionaries(
    {
        "version": st.sampled_from(VERSIONS),
        "extras": st.lists(st.sampled_from(sorted(EXTRAS)), unique=True, max_size=5),
        "listed": st.lists(st.sampled_from(sorted(EXTRAS)), unique=True, max_size=3),  # those of the extras the result lists
        "defaults_listed": st.booleans(),
        "net2_carrier": st.booleans(),
    },
    optional={
        "flushroutes": st.booleans(),
        "flushgateway": st.booleans(),
        "delroutes": st.lists(route_entry(), max_size=3, unique_by=lambda e: repr(sorted(e.items()))),
        "addroutes": st.lists(route_entry(), max_size=3, unique_by=kernel_identity),
    },
)


def build(pod: Pod, case: dict) -> list[str]:
    pod.add_link(ETH0)
    pod.add_link(NET1)
    net2 = pod.add_link(NET2, default_routes=False)
    for objects in NEXTHOP_OBJECTS:
        pod.ip(*objects)
    made = []
    for extra in case["extras"]:
        try:
            pod.ip(*EXTRAS[extra][0])
            made.append(extra)
        except RuntimeError:
            pass  # the same dst as another extra with another key: one of them is enough
    if not case["net2_carrier"]:
        pod.carrier_off(net2)
    return made


def result_routes(case: dict, made: list[str]) -> tuple[dict, ...]:
    """What the interface plugin's result lists: the routes the namespace holds (a result never lists others)."""
    listed = []
    for extra in case["listed"]:
        routes = EXTRAS[extra][1] if extra in made else None
        listed += routes if isinstance(routes, list) else [routes] if routes else []
    if case["defaults_listed"]:
        listed = [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}, *listed]
    return tuple(listed)


def lines(pod: Pod) -> set[str]:
    return set(pod.snapshot().splitlines())


def ra_settings(pod: Pod) -> list[int]:
    return [pod.ns.sysctl(f"net/ipv6/conf/{name}/{key}") for name in ("net1", "net2") for key in ("accept_ra_defrtr", "accept_ra_rt_info_max_plen")]


@settings(max_examples=max(40, settings.default.max_examples // 10))  # each one is four real runs
@given(case=scenario)
def test_add_check_and_del_agree_with_each_other_and_with_the_kernel(case: dict) -> None:
    pod = Pod()
    try:
        made = build(pod, case)
        version = case["version"]
        names = ["net1", "net2"] if version not in ("0.1.0", "0.2.0") else ["net1"]
        rules = {key: case[key] for key in ("flushroutes", "flushgateway", "delroutes", "addroutes") if key in case}
        config = plugin_config(version, pod.prev_result(version, result_routes(case, made), names=names), **rules)
        before, settings_before = lines(pod), ra_settings(pod)
        added = run_plugin("ADD", config, netns=pod.path)
        if added.exit_code:
            assert added.code in (7, 100), added.document  # refused: config or kernel, never a half-done change
            assert lines(pod) == before and ra_settings(pod) == settings_before  # (c)
            return
        final = chained(config, added.document)
        if version not in ("0.1.0", "0.2.0", "0.3.0", "0.3.1"):  # CHECK exists from 0.4.0
            checked = run_plugin("CHECK", final, netns=pod.path)
            assert checked.exit_code == 0, (checked.document, added.document)  # (a)
        after_add = lines(pod)
        run_plugin("DEL", final, netns=pod.path).ok()
        after_del = lines(pod)
        assert not [line for line in after_del if "proto 114" in line]  # (b)
        assert before & after_add <= after_del, (before & after_add) - after_del
        assert after_del <= before | after_add
    finally:
        pod.delete()
