"""The netlink layer, against the kernel and against an independent codec.

ro.netlink reads and builds route messages with struct; pyroute2 (a test
dependency, not in the plugin) is the second opinion: its attribute table
must give our attribute numbers, it must read every route the kernel dumps
as we do, and read every message we build as what we meant.
"""

from __future__ import annotations

import json
import subprocess
import sys

from netns import V4, V6, Link, Pod
from runner import plugin_config, run_plugin

from ro import addresses, netlink, route_messages, wire
from ro.record import replace
from ro.routes import KernelRoute, NextHop

PROBE = """
import json, sys
import ro.netlink, ro.apply
print(json.dumps(sorted(name for name in sys.modules if name.startswith(("pyroute2", "asyncio", "multiprocessing")))))
"""

# The bodies of every route message the kernel dumps in a namespace, as hex.
DUMP = """
from ro import netlink, wire
sock = netlink.RouteSocket()
bodies, _, _ = sock._dump(wire.RTM_GETROUTE, wire.RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0))
print(" ".join(body.hex() for body in bodies))
"""


def _as_pyroute2_reads(body: bytes):
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    message = rtmsg(wire.message(wire.RTM_NEWROUTE, 0, 0, body))
    message.decode()
    return message


def ours(route: KernelRoute) -> dict:
    """A route in the words both codecs are compared in."""
    return {"family": route.version, "dst": str(route.dst), "table": route.table, "priority": route.priority,
            "protocol": route.protocol, "scope": route.scope, "type": route.type, "tos": route.tos,
            "src": str(route.src) if route.src else None, "mtu": route.mtu, "advmss": route.advmss,
            "hops": sorted(([h.oif, str(h.gateway) if h.gateway else None, h.weight] for h in route.hops), key=str)}  # fmt: skip


def theirs(body: bytes) -> dict:
    """pyroute2's reading of a route message, in the same words."""
    m = _as_pyroute2_reads(body)
    family = 4 if m["family"] == 2 else 6
    zero = "0.0.0.0" if family == 4 else "::"
    via = lambda attrs: (attrs.get("RTA_GATEWAY") or (attrs.get("RTA_VIA") or {}).get("addr"))  # noqa: E731
    nexthops = m.get_attr("RTA_MULTIPATH")
    if nexthops:
        hops = [[nh["oif"], via(dict(nh["attrs"])), nh["hops"] + 1] for nh in nexthops]
    elif m.get_attr("RTA_OIF") is not None or via(dict(m["attrs"])):
        hops = [[m.get_attr("RTA_OIF"), via(dict(m["attrs"])), 1]]
    else:
        hops = []
    metrics = m.get_attr("RTA_METRICS")
    return {"family": family, "dst": f"{m.get_attr('RTA_DST') or zero}/{m['dst_len']}", "table": m.get_attr("RTA_TABLE") or m["table"],
            "priority": m.get_attr("RTA_PRIORITY") or 0, "protocol": m["proto"], "scope": m["scope"], "type": m["type"], "tos": m["tos"],
            "src": f"{m.get_attr('RTA_SRC')}/{m['src_len']}" if m.get_attr("RTA_SRC") else None,
            "mtu": metrics.get_attr("RTAX_MTU") if metrics else None, "advmss": metrics.get_attr("RTAX_ADVMSS") if metrics else None,
            "hops": sorted(hops, key=str)}  # fmt: skip


def next_hop_words(part) -> tuple:
    """What pyroute2 reads of one next hop, an rtnexthop or a route of one
    next hop (its flags among the route's, its attributes among the
    route's): flags (less those the kernel refuses back), and attributes."""
    attrs = {name: value for name, value in part["attrs"] if name in ("RTA_GATEWAY", "RTA_VIA", "RTA_FLOW", "RTA_ENCAP", "RTA_ENCAP_TYPE")}
    return part["flags"] & 0xFF & ~wire.REPORTED_ONLY, attrs


def test_the_netlink_layer_loads_no_netlink_library() -> None:
    """ro.netlink reads and builds route messages itself: no helper process,
    no asyncio, no pyroute2 on the path of every pod start."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_our_attribute_numbers_are_pyroute2s() -> None:
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    table = {name: number for number, (name, _) in enumerate(rtmsg.nla_map)}
    for name in ("RTA_DST", "RTA_SRC", "RTA_OIF", "RTA_GATEWAY", "RTA_PRIORITY", "RTA_METRICS", "RTA_MULTIPATH", "RTA_FLOW",
                 "RTA_CACHEINFO", "RTA_TABLE", "RTA_VIA", "RTA_ENCAP_TYPE", "RTA_ENCAP", "RTA_EXPIRES"):  # fmt: skip
        assert getattr(wire, name) == table[name], name
    metrics = {name: number for number, (name, _) in enumerate(rtmsg.metrics.nla_map)}
    assert (wire.RTAX_MTU, wire.RTAX_ADVMSS) == (metrics["RTAX_MTU"], metrics["RTAX_ADVMSS"])


def test_our_structs_are_pyroute2s_field_tables() -> None:
    from pyroute2.netlink import nlmsg, nlmsgerr
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    def layout(table) -> str:
        return "=" + "".join(kind for _, kind in table)

    assert wire.NLMSGHDR.format == layout(nlmsg.header)
    assert wire.RTMSG.format == layout(rtmsg.fields)
    assert wire.RTA_CACHEINFO_STRUCT.format == layout(rtmsg.cacheinfo.fields)
    assert wire.NLMSGERR.format == layout(nlmsgerr.fields + nlmsg.header)  # the error, then the request's header


def test_the_walks() -> None:
    """Attributes of any length, padded to 4; a malformed length ends a walk instead of looping."""
    attrs = wire.attribute(1, b"\x01") + wire.attribute(2, b"") + wire.attribute(3, bytes(5)) + wire.RTATTR.pack(2, 4)
    assert len(attrs) == 8 + 4 + 12 + 4
    assert list(wire.attributes(attrs, 0, len(attrs))) == [(1, 4, 5), (2, 12, 12), (3, 16, 21)]
    assert list(wire.attributes(wire.RTATTR.pack(8, 1 | 0x8000) + bytes(4), 0, 8)) == [(1, 4, 8)]  # NLA_F_NESTED is not the type
    hops = wire.RTNEXTHOP.pack(12, 0, 0, 3) + wire.attribute(5, b"") + wire.RTNEXTHOP.pack(8, 0, 1, 4) + wire.RTNEXTHOP.pack(0, 0, 0, 0)
    assert list(wire.next_hops(hops, 0, len(hops))) == [(0, 12), (12, 20)]
    two = wire.message(24, 0, 1, b"\x02" * 13) + wire.message(3, 0, 2, b"")
    assert [(offset, length, kind, seq) for offset, length, kind, _, seq in wire.messages(two)] == [(0, 29, 24, 1), (32, 16, 3, 2)]


def test_decode_route_walks_attributes_as_the_walk_does() -> None:
    """decode_route has its own copy of the attribute walk (the hot loop of a
    large flush): odd lengths and types it does not know change nothing."""
    body = wire.RTMSG.pack(wire.AF_INET, 16, 0, 0, 254, 4, 0, 1, 0) + wire.attribute(wire.RTA_TABLE, wire.U32.pack(254))
    body += wire.attribute(99, b"odd") + wire.attribute(wire.RTA_DST, bytes([10, 20, 0, 0])) + wire.attribute(98, b"")
    body += wire.attribute(wire.RTA_OIF, wire.U32.pack(3)) + wire.attribute(wire.RTA_GATEWAY, bytes([10, 0, 0, 1]))
    route = route_messages.decode_route(body)
    assert route is not None and ours(route) == theirs(body)
    assert ours(route)["hops"] == [[3, "10.0.0.1", 1]]


# A next hop as the kernel dumped it (ip -6 route ... nexthop via 2001:db8:88::1
# dev eth0 weight 3 encap seg6 mode encap segs fc00::1): struct rtnexthop,
# RTA_GATEWAY, RTA_ENCAP (SEG6_IPTUNNEL_SRH), RTA_ENCAP_TYPE (5, seg6).
SEG6_HOP = bytes.fromhex(
    "48000002020000001400050020010db8008800000000000000000001"
    "2400160020000100010000000002040000000000fc000000000000000000000000000001"
    "0600150005000000"
)


def test_a_replacement_keeps_a_next_hop_as_dumped_and_pyroute2_reads_it() -> None:
    """with_hops re-sends a kept next hop's own rtnexthop, cleaned of DEAD
    and LINKDOWN (which the kernel refuses back); in an RTA_MULTIPATH even
    when it is the only one left (its weight: see with_hops)."""
    address = addresses.ip_address
    flagged = bytes([SEG6_HOP[0], SEG6_HOP[1], wire.RTNH_F_DEAD | wire.RTNH_F_LINKDOWN]) + SEG6_HOP[3:]
    eth0 = NextHop(2, address("2001:db8:88::1"), 3, wire.RTNH_F_DEAD | wire.RTNH_F_LINKDOWN, flagged)
    net1, eth0_too = NextHop(3, address("2001:db8:50::1")), NextHop(2, address("2001:db8:88::2"))
    dumped = route_messages.new_route(KernelRoute(addresses.ip_network("::/0"), (net1, eth0, eth0_too), priority=1024, protocol=4))
    seg6 = {"mode": "encap", "segs": ["fc00::1"]}

    def words(hop) -> tuple:
        attrs = dict(hop["attrs"])
        (srh,) = attrs["RTA_ENCAP"]["attrs"]
        return hop["flags"], hop["hops"] + 1, hop["oif"], attrs["RTA_GATEWAY"], attrs["RTA_ENCAP_TYPE"], {key: srh[1][key] for key in seg6}

    left = _as_pyroute2_reads(route_messages.with_hops(dumped, (eth0, eth0_too)))
    (kept, other) = left.get_attr("RTA_MULTIPATH")
    assert words(kept) == (0, 3, 2, "2001:db8:88::1", 5, seg6)
    assert dict(other["attrs"]) == {"RTA_GATEWAY": "2001:db8:88::2"} and (left["proto"], left.get_attr("RTA_PRIORITY")) == (4, 1024)
    one = _as_pyroute2_reads(route_messages.with_hops(dumped, (eth0,)))
    assert [words(hop) for hop in one.get_attr("RTA_MULTIPATH")] == [words(kept)] and one.get_attr("RTA_OIF") is None
    assert route_messages.with_hops(dumped, (eth0,)).endswith(wire.attribute(wire.RTA_MULTIPATH, SEG6_HOP))  # byte for byte


def test_every_dumped_route_reads_as_pyroute2_reads_it(pod: Pod) -> None:
    """Every route the kernel dumps, ours and pyroute2's reading alike; and
    every multipath route, without its first next hop (what a rule leaves
    of a shared route), still each remaining next hop as pyroute2 read it."""
    pod.add_link(Link("eth0", v4="10.88.0.5/16", v6="2001:db8:88::5/64"))
    pod.add_link(Link("net1", **V4, **V6))
    for args in (
        ["route", "add", "10.10.0.0/16", "nexthop", "via", "192.168.50.1", "dev", "net1", "weight", "3", "nexthop", "via", "10.88.0.1", "dev", "eth0"],
        ["-6", "route", "add", "2001:db8:10::/48", "nexthop", "via", "2001:db8:50::1", "dev", "net1", "nexthop", "via", "2001:db8:88::1", "dev", "eth0"],
        ["route", "add", "10.11.0.0/16", "via", "inet6", "fe80::1", "dev", "net1"],
        ["route", "add", "10.12.0.0/16", "tos", "0x10", "via", "192.168.50.1", "dev", "net1", "metric", "9", "mtu", "1400", "advmss", "1360"],
        ["-6", "route", "add", "2001:db8:20::/48", "from", "2001:db8:77::/64", "via", "2001:db8:50::1", "dev", "net1"],
        ["-6", "route", "add", "2001:db8:30::/48", "via", "2001:db8:50::1", "dev", "net1", "expires", "600", "table", "100"],
        ["route", "add", "blackhole", "10.13.0.0/16"],
        ["route", "add", "10.14.0.0/16", "nexthop", "via", "192.168.50.1", "dev", "net1", "nexthop", "via", "10.88.0.1", "dev", "eth0",
         "weight", "2", "encap", "seg6", "mode", "encap", "segs", "fc00::1", "realm", "7", "nexthop", "via", "10.88.0.2", "dev", "eth0", "onlink"],
        ["-6", "route", "add", "2001:db8:40::/48", "nexthop", "via", "2001:db8:50::1", "dev", "net1", "nexthop", "via", "2001:db8:88::1",
         "dev", "eth0", "encap", "seg6", "mode", "inline", "segs", "fc00::1,fc00::2", "nexthop", "via", "2001:db8:88::2", "dev", "eth0"],
    ):  # fmt: skip
        pod.ip(*args)
    done = subprocess.run(["ip", "netns", "exec", pod.ns.name, sys.executable, "-c", DUMP], capture_output=True, text=True, check=True)
    bodies = [bytes.fromhex(word) for word in done.stdout.split()]
    routes = [(body, route_messages.decode_route(body)) for body in bodies]
    assert len(routes) > 20
    shared = 0
    for body, route in routes:
        if route is None:
            continue
        assert ours(route) == theirs(body)
        if len(route.hops) > 1:
            shared += 1
            whole = _as_pyroute2_reads(body)  # kept: pyroute2 decodes a next hop's family from it, through a weak reference
            dumped = whole.get_attr("RTA_MULTIPATH")
            body_left = route_messages.with_hops(body, route.hops[1:])
            assert ours(replace(route, hops=route.hops[1:])) == theirs(body_left)
            left = _as_pyroute2_reads(body_left)
            kept = left.get_attr("RTA_MULTIPATH") or [left]
            assert [next_hop_words(hop) for hop in kept] == [next_hop_words(hop) for hop in dumped[1:]]
    assert shared >= 4


def test_messages_we_build_read_as_meant() -> None:
    net = addresses.ip_network
    hops = (NextHop(3, addresses.ip_address("10.0.0.1")), NextHop(3, addresses.ip_address("10.0.0.2"), weight=2))
    route = KernelRoute(net("10.20.0.0/16"), hops, table=1000, priority=7, protocol=114, mtu=1400, advmss=1360)
    message = _as_pyroute2_reads(route_messages.new_route(route))
    assert (message["dst_len"], message["table"], message["proto"]) == (16, 252, 114)  # ids above 255 go in RTA_TABLE
    assert (message.get_attr("RTA_DST"), message.get_attr("RTA_TABLE"), message.get_attr("RTA_PRIORITY")) == ("10.20.0.0", 1000, 7)
    assert [(nh["oif"], nh["hops"], dict(nh["attrs"])["RTA_GATEWAY"]) for nh in message.get_attr("RTA_MULTIPATH")] == [(3, 0, "10.0.0.1"), (3, 1, "10.0.0.2")]
    assert message.get_attr("RTA_METRICS").get_attr("RTAX_MTU") == 1400
    single = KernelRoute(net("10.21.0.0/16"), (NextHop(3, addresses.ip_address("fe80::1")),), protocol=114)
    message = _as_pyroute2_reads(route_messages.new_route(single))
    assert message.get_attr("RTA_OIF") == 3 and message.get_attr("RTA_VIA")["addr"] == "fe80::1"  # via inet6


def test_deleted_routes_are_restored_exactly(pod: Pod) -> None:
    """Rollback re-sends the kernel's own messages: metric, proto, mtu,
    preference and table survive a delete + restore."""
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1", "metric", "77", "proto", "static", "mtu", "1300")
    pod.route("add", "2001:db8:10::/48", "via", "2001:db8:50::1", "dev", "net1", "pref", "high", "metric", "9", family=6)
    before = pod.snapshot()
    config = plugin_config(
        "1.0.0",
        pod.prev_result("1.0.0"),
        flushroutes=True,
        addroutes=[{"dst": "10.20.0.0/16", "gw": "10.99.0.1"}],
    )
    assert run_plugin("ADD", config, netns=pod.path).code == 100
    assert pod.snapshot() == before


def test_the_host_namespace_is_refused() -> None:
    config = plugin_config("1.0.0", {"cniVersion": "1.0.0"}, flushroutes=True)
    outcome = run_plugin("ADD", config, netns="/proc/self/ns/net")
    assert outcome.code == 101 and "own (host) network namespace" in outcome.msg


def test_routes_on_other_interfaces_are_filtered_by_the_kernel(pod: Pod) -> None:
    """A namespace may hold a hundred thousand routes on the pod's eth0: with
    strict dump checking only the target's routes are read at all."""
    pod.add_link(Link("eth0", v4="10.88.0.5/16"))
    pod.add_link(Link("net1", **V4), default_routes=False)
    batch = "".join(f"route add 172.16.{i >> 8}.{i & 255}/32 via 10.88.0.1 dev eth0\n" for i in range(2000))
    subprocess.run(["ip", "-n", pod.ns.name, "-batch", "-"], input=batch.encode(), check=True)
    probe = (
        "from ro import netlink; sock = netlink.RouteSocket(); oif = netlink.require_links(['net1'])['net1'];"
        " messages, _, filtered = sock._route_messages([oif]); routes = sock.routes([oif]);"
        " print(len(messages), filtered, len(routes), all(h.oif == oif for r in routes for h in r.hops))"
    )
    done = subprocess.run(["ip", "netns", "exec", pod.ns.name, sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    read, filtered, kept, on_net1 = done.stdout.split()
    assert filtered == "True" and int(read) < 20 and int(kept) > 0 and on_net1 == "True"


def test_link_names_look_up_other_interfaces_and_honour_a_default() -> None:
    names = netlink.LinkNames({4242: "net1"})
    assert names.get(4242) == "net1" and names[4242] == "net1"
    assert names.get(1) == "lo" and names[1] == "lo"  # not a target: looked up (lo is 1 in every namespace)
    gone = 2**31 - 1  # no interface has it
    assert names.get(gone) is None and names.get(gone, "?") == "?"
    assert names[gone] == str(gone)  # in words, a number
