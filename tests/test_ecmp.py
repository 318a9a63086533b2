"""ECMP: multipath routes from addroutes (gws), and multipath routes already
in the namespace under flushroutes, flushgateway and delroutes; on real
namespaces with the built file, read back with `ip -j route` (never
filtered by `dev`: iproute2 then leaves multipath routes out)."""

from __future__ import annotations

import json
import subprocess
import sys

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


# ---- the other interfaces' next hops, exactly ----------------------------------------------

# The default route of one family as the kernel dumps it, read with nothing
# of ro (a second reader of the wire): each next hop as its ifindex, flags,
# weight (None for a route of one next hop, which has none), the raw struct
# rtnexthop with its attributes (None for a route of one next hop), and its
# attributes as a set of (type, hex value), wherever the kernel put them.
RAW_DEFAULT = r"""
import json, socket, struct, sys
family = int(sys.argv[1])
HOP_ATTRS = {5, 11, 18, 21, 22}  # RTA_GATEWAY, RTA_FLOW, RTA_VIA, RTA_ENCAP_TYPE, RTA_ENCAP
def attrs(data, start, end):
    while start + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, start)
        if length < 4:
            return
        yield kind & 0x3FFF, data[start + 4 : start + length]
        start += (length + 3) & ~3
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
sock.bind((0, 0))
sock.send(struct.pack("=IHHII", 28, 26, 0x301, 1, 0) + struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0))
hops, done = None, False
while not done:
    data = sock.recv(1 << 20)
    offset = 0
    while offset < len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind == 3:
            done = True
        elif kind == 24:
            body = data[offset + 16 : offset + length]
            dst_len, table, flags = body[1], body[4], struct.unpack_from("=I", body, 8)[0]
            top = dict(attrs(body, 12, len(body)))
            if dst_len == 0 and top.get(15, bytes([table, 0, 0, 0]))[:1] == b"\xfe":
                if 9 in top:
                    mp, hops, position = top[9], [], 0
                    while position + 8 <= len(mp):
                        size, hop_flags, weight, ifindex = struct.unpack_from("=HBBi", mp, position)
                        found = sorted([kind, value.hex()] for kind, value in attrs(mp, position + 8, position + size))
                        hops.append({"ifindex": ifindex, "flags": hop_flags, "weight": weight + 1, "raw": mp[position : position + size].hex(), "attrs": found})
                        position += (size + 3) & ~3
                else:
                    found = sorted([kind, value.hex()] for kind, value in top.items() if kind in HOP_ATTRS)
                    hops = [{"ifindex": struct.unpack("=I", top[4])[0], "flags": flags & 0xFF, "weight": None, "raw": None, "attrs": found}]
        offset += (length + 3) & ~3
print(json.dumps(hops))
"""

# What eth0's next hop carries that ro never decodes, and must keep. Realms
# (RTA_FLOW) are IPv4 only: the kernel takes an IPv6 route's realm without a
# word and keeps nothing of it, so there is nothing to keep.
KEPT_EXTRAS = [
    pytest.param(4, "encap ip id 5 dst 10.9.9.9", id="ipv4-encap-ip"),
    pytest.param(4, "encap seg6 mode encap segs fc00::1", id="ipv4-encap-seg6"),
    pytest.param(4, "realm 7", id="ipv4-realm"),
    pytest.param(4, "encap ip id 5 dst 10.9.9.9 realm 7", id="ipv4-encap-ip-and-realm"),
    pytest.param(6, "encap ip6 id 5 dst 2001:db8:9::9", id="ipv6-encap-ip6"),
    pytest.param(6, "encap seg6 mode encap segs fc00::1", id="ipv6-encap-seg6"),
]
ETH0_SECOND = {4: "10.88.0.2", 6: "2001:db8:88::2"}


def raw_default(pod: Pod, family: int) -> list[dict]:
    done = subprocess.run(["ip", "netns", "exec", pod.ns.name, sys.executable, "-c", RAW_DEFAULT, str(family)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def shared_default(pod: Pod, family: int, extras: str, eth0_hops: int) -> None:
    """A default route over net1 and eth0, eth0's next hop(s) carrying `extras`
    (a second one, when asked for, weight 2 and on-link)."""
    pod.add_link(ETH0, default_routes=False)
    pod.add_link(Link("net1", **FAMILY[family]["link"]), default_routes=False)
    words = ["nexthop", "via", FAMILY[family]["hops"][0], "dev", "net1"]
    words += ["nexthop", "via", FAMILY[family]["other"], "dev", "eth0", "weight", "3", *extras.split()]
    if eth0_hops == 2:
        words += ["nexthop", "via", ETH0_SECOND[family], "dev", "eth0", "weight", "2", "onlink"]
    pod.route("add", "default", "proto", "static", "metric", "7", *words, family=family)


@pytest.mark.parametrize("eth0_hops", [1, 2], ids=["one-kept", "two-kept"])
@pytest.mark.parametrize("family, extras", KEPT_EXTRAS)
def test_a_shared_route_keeps_the_other_next_hops_exactly(pod: Pod, family: int, extras: str, eth0_hops: int) -> None:
    """flushgateway takes net1's next hop out of a default route shared with
    eth0: eth0's next hops stay as the kernel had them, attribute for
    attribute; with two left, rtnexthop for rtnexthop, byte for byte."""
    shared_default(pod, family, extras, eth0_hops)
    before = raw_default(pod, family)
    eth0 = json.loads(pod.ip("-j", "link", "show", "eth0"))[0]["ifindex"]
    kept = [hop for hop in before if hop["ifindex"] == eth0]
    assert len(kept) == eth0_hops and any(len(hop["attrs"]) > 1 for hop in kept), before  # the extras are there to keep
    config, added = add(pod, flushgateway=True)
    added.ok()
    after = raw_default(pod, family)
    if eth0_hops == 2:
        assert [hop["raw"] for hop in after] == [hop["raw"] for hop in kept]
    else:  # a route of one next hop: the same attributes, one level up, and no weight
        assert after == [dict(kept[0], weight=None, raw=None)], pod.ip(f"-{family}", "-d", "route", "show", "default")
    (route,) = json.loads(pod.ip(f"-{family}", "-j", "route", "show", "default"))
    assert route["protocol"] == "static" and route["metric"] == 7
    run_plugin("CHECK", chained(config, added.document), netns=pod.path).ok()
    if family == 6 and eth0_hops == 1:  # IPv6 keeps a lone next hop's weight, as its own delete of a next hop does
        pod.route("append", "default", "via", FAMILY[6]["hops"][1], "dev", "net1", "proto", "static", "metric", "7", family=6)
        assert [hop["raw"] for hop in raw_default(pod, 6) if hop["ifindex"] == eth0] == [kept[0]["raw"]]


def test_a_kept_next_hop_without_carrier_is_sent_back_without_linkdown(pod: Pod, family: int) -> None:
    """The kernel marks eth0's next hops linkdown, and refuses the flag back:
    the replacement leaves it out, and the kernel marks them again."""
    shared_default(pod, family, "encap seg6 mode encap segs fc00::1", 2)
    pod.carrier_off(ETH0)
    before = raw_default(pod, family)
    eth0 = json.loads(pod.ip("-j", "link", "show", "eth0"))[0]["ifindex"]
    kept = [hop for hop in before if hop["ifindex"] == eth0]
    assert all(hop["flags"] & 16 for hop in kept), before  # RTNH_F_LINKDOWN
    add(pod, flushgateway=True)[1].ok()
    assert [hop["raw"] for hop in raw_default(pod, family)] == [hop["raw"] for hop in kept]


@pytest.mark.parametrize("family, extras", KEPT_EXTRAS)
def test_a_refused_add_puts_a_shared_route_back_exactly(pod: Pod, family: int, extras: str) -> None:
    shared_default(pod, family, extras, 2)
    before, snapshot = raw_default(pod, family), pod.snapshot()
    unreachable = "10.99.0.1" if family == 4 else "2001:db8:99::1"
    _, added = add(pod, flushgateway=True, addroutes=[{"dst": FAMILY[family]["dst"], "gw": unreachable}])
    assert added.code == 100 and "undone" in added.msg, added.document
    assert raw_default(pod, family) == before
    assert pod.snapshot() == snapshot


def test_a_route_on_a_nexthop_object_with_encapsulation_is_deleted_and_restored(pod: Pod, family: int, net: dict) -> None:
    """The kernel dumps such a route with its object's id and, beside it,
    the object's next hop and encapsulation; it takes the id alone back
    ("Nexthop specification and nexthop id are mutually exclusive")."""
    encap = "encap ip id 5 dst 10.9.9.9" if family == 4 else "encap seg6 mode encap segs fc00::1"
    pod.ip(f"-{family}", "nexthop", "add", "id", "7", "via", net["hops"][0], "dev", "net1", *encap.split())
    pod.route("add", net["dst"], "nhid", "7", family=family)
    before = pod.snapshot()
    unreachable = "10.99.0.1" if family == 4 else "2001:db8:99::1"
    _, refused = add(pod, flushroutes=True, addroutes=[{"dst": net["default"], "gw": unreachable}])
    assert refused.code == 100 and refused.msg.startswith("addroutes[0]"), refused.msg  # the deletion went through
    assert pod.snapshot() == before
    add(pod, flushroutes=True)[1].ok()
    assert next_hops(pod, net["dst"], family) is None


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
