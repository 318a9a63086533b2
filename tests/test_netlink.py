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

from ro import addresses, route_messages, wire
from ro.routes import KernelRoute, NextHop

PROBE = """
import json, sys
import ro.netlink, ro.apply
print(json.dumps(sorted(name for name in sys.modules if name.startswith(("pyroute2", "asyncio", "multiprocessing")))))
"""

# What both codecs make of a dumped message: ours, and pyroute2's, to the same words.
BOTH = """
import json, sys
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from ro import netlink, route_messages, wire

def ours(route):
    return {"family": route.version, "dst": str(route.dst), "table": route.table, "priority": route.priority,
            "protocol": route.protocol, "scope": route.scope, "type": route.type, "tos": route.tos,
            "src": str(route.src) if route.src else None, "mtu": route.mtu, "advmss": route.advmss,
            "hops": sorted([h.oif, str(h.gateway) if h.gateway else None, h.weight] for h in route.hops)}

def theirs(body):
    m = rtmsg(wire.message(wire.RTM_NEWROUTE, 0, 0, body)); m.decode()
    family = 4 if m["family"] == 2 else 6
    zero = "0.0.0.0" if family == 4 else "::"
    via = lambda attrs: (attrs.get("RTA_GATEWAY") or (attrs.get("RTA_VIA") or {}).get("addr"))
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
            "hops": sorted(hops, key=str)}

sock = netlink.RouteSocket()
messages, _, _ = sock._dump(wire.RTM_GETROUTE, wire.RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0))
pairs = []
for message in messages:
    route = route_messages.decode_route(message)
    if route is not None:
        mine = ours(route); mine["hops"] = sorted(mine["hops"], key=str)
        pairs.append([mine, theirs(message)])
print(json.dumps(pairs))
"""


def test_the_netlink_layer_loads_no_netlink_library() -> None:
    """ro.netlink reads and builds route messages itself: no helper process,
    no asyncio, no pyroute2 on the path of every pod start."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_our_attribute_numbers_are_pyroute2s() -> None:
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    table = {name: number for number, (name, _) in enumerate(rtmsg.nla_map)}
    for name in ("RTA_DST", "RTA_SRC", "RTA_OIF", "RTA_GATEWAY", "RTA_PRIORITY", "RTA_METRICS", "RTA_MULTIPATH", "RTA_FLOW",
                 "RTA_CACHEINFO", "RTA_TABLE", "RTA_VIA", "RTA_EXPIRES"):  # fmt: skip
        assert getattr(wire, name) == table[name], name
    metrics = {name: number for number, (name, _) in enumerate(rtmsg.metrics.nla_map)}
    assert (wire.RTAX_MTU, wire.RTAX_ADVMSS) == (metrics["RTAX_MTU"], metrics["RTAX_ADVMSS"])


def test_every_dumped_route_reads_as_pyroute2_reads_it(pod: Pod) -> None:
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
    ):
        pod.ip(*args)
    done = subprocess.run(["ip", "netns", "exec", pod.ns.name, sys.executable, "-c", BOTH], capture_output=True, text=True, check=True)
    pairs = json.loads(done.stdout)
    assert len(pairs) > 20
    for ours, theirs in pairs:
        assert ours == theirs


def _as_pyroute2_reads(body: bytes):
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    message = rtmsg(wire.message(wire.RTM_NEWROUTE, 0, 0, body))
    message.decode()
    return message


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
