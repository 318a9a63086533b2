"""The result always says what the kernel holds: each case once reproduced
with the built file, where ADD exited 0 while the kernel or the printed
result was not what the config asked for (or could not be put back)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from netns import V4, V6, Link, Pod
from runner import chained, plugin_command, plugin_config, run_plugin


def add(pod: Pod, version: str = "1.0.0", routes: tuple = (), names=None, ifname: str = "net1", **settings: object) -> tuple[dict, dict]:
    """ADD, checked; then the config libcni passes to CHECK and DEL, and the result."""
    config = plugin_config(version, pod.prev_result(version, routes, names=names), **settings)
    result = run_plugin("ADD", config, netns=pod.path, ifname=ifname).ok()
    return chained(config, result), result


def check_passes(pod: Pod, final: dict, ifname: str = "net1") -> None:
    outcome = run_plugin("CHECK", final, netns=pod.path, ifname=ifname)
    assert outcome.exit_code == 0, outcome.document


def detailed(pod: Pod, dst: str, family: int = 4) -> dict:
    (route,) = [r for r in pod.ns.routes_detailed(family) if r["dst"] == dst]
    return route


# ---- result and kernel agree ----------------------------------------------------------


def test_flushgateway_keeps_the_next_hop_of_a_gw_less_route_that_stays(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    final, result = add(pod, routes=({"dst": "0.0.0.0/0"}, {"dst": "10.10.0.0/16"}), flushgateway=True)
    assert "10.10.0.0/16 via 192.168.50.1 dev net1" in pod.routes(4)
    assert result["routes"] == [{"dst": "10.10.0.0/16"}]  # via the ips gateway, which the result keeps (issue 16.1)
    assert result["ips"][0]["gateway"] == "192.168.50.1"
    check_passes(pod, final)


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_a_gw_less_addroute_under_flushgateway_reads_on_link_in_the_result(pod: Pod, version: str) -> None:
    """Issue 16.1: the result keeps the ips gateway, so an on-link route
    says so: scope 253 from 1.1.0; before, that gateway is left out."""
    pod.add_link(Link("net1", **V4))
    final, result = add(pod, version=version, routes=({"dst": "0.0.0.0/0"},), flushgateway=True, addroutes=[{"dst": "10.30.0.0/16"}])
    assert "10.30.0.0/16 dev net1" in pod.routes(4)
    if version == "1.1.0":
        assert result["routes"] == [{"dst": "10.30.0.0/16", "scope": 253}] and result["ips"][0]["gateway"] == "192.168.50.1"
    else:
        assert result["routes"] == [{"dst": "10.30.0.0/16"}] and "gateway" not in result["ips"][0]
    check_passes(pod, final)


def test_delroutes_with_gw_under_flushgateway_drops_the_route_from_the_result_too(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "20.0.0.0/24", "via", "192.168.50.1", "dev", "net1")
    final, result = add(pod, routes=({"dst": "20.0.0.0/24"},), flushgateway=True, delroutes=[{"dst": "20.0.0.0/24", "gw": "192.168.50.1"}])
    assert not any(r.startswith("20.0.0.0/24") for r in pod.routes(4))
    assert "routes" not in result
    check_passes(pod, final)


def test_ipv6_priority_0_is_the_kernels_1024_everywhere(pod: Pod) -> None:
    pod.add_link(Link("net1", **V6))
    entry = {"dst": "2001:db8:30::/48", "gw": "2001:db8:50::9", "priority": 0, "mtu": 0, "advmss": 0}
    final, result = add(pod, "1.1.0", addroutes=[entry])
    route = detailed(pod, "2001:db8:30::/48", 6)
    assert route["metric"] == 1024 and "metrics" not in route
    assert result["routes"] == [{"dst": "2001:db8:30::/48", "gw": "2001:db8:50::9"}]
    check_passes(pod, final)
    run_plugin("ADD", {**final, "prevResult": pod.prev_result("1.1.0")}, netns=pod.path).ok()  # a retried ADD
    run_plugin("DEL", final, netns=pod.path).ok()
    assert not any(r.startswith("2001:db8:30::") for r in pod.routes(6))


def test_the_unspecified_address_as_gw_or_gateway_means_no_gateway(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24"))
    prev = pod.prev_result("1.0.0")
    prev["ips"][0]["gateway"] = "0.0.0.0"  # as the Go original writes results
    config = plugin_config("1.0.0", prev, addroutes=[{"dst": "10.40.0.0/16", "gw": "0.0.0.0"}, {"dst": "10.41.0.0/16"}])
    result = run_plugin("ADD", config, netns=pod.path).ok()
    assert {"10.40.0.0/16 dev net1", "10.41.0.0/16 dev net1"} <= pod.routes(4)
    assert result["routes"] == [{"dst": "10.40.0.0/16"}, {"dst": "10.41.0.0/16"}] and "gateway" not in result["ips"][0]
    check_passes(pod, chained(config, result))
    run_plugin("DEL", chained(config, result), netns=pod.path).ok()
    assert not any(r.startswith("10.4") for r in pod.routes(4))


@pytest.mark.parametrize("family", [4, 6])
def test_gw_less_addroutes_never_borrow_another_interfaces_gateway(pod: Pod, family: int) -> None:
    if family == 4:
        pod.add_link(Link("eth0", v4="10.88.0.5/16", v4_gateway="10.88.0.1"))
        pod.add_link(Link("net1", v4="192.168.50.2/24"), default_routes=False)
        dst, words = "10.99.0.0/16", "10.99.0.0/16 dev net1"
    else:
        pod.add_link(Link("eth0", v6="2001:db8:88::5/64", v6_gateway="fe80::1"))
        pod.add_link(Link("net1", v6="2001:db8:50::2/64"), default_routes=False)
        dst, words = "2001:db8:99::/64", "2001:db8:99::/64 dev net1"
    final, _ = add(pod, addroutes=[{"dst": dst}])
    assert words in pod.routes(family)  # on-link on net1, not via eth0's router
    check_passes(pod, final)


# ---- routes the plugin must see and put back ------------------------------------------------


def test_rollback_on_a_link_without_carrier_restores_every_route(pod: Pod) -> None:
    net1 = pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    pod.carrier_off(net1)
    before = pod.snapshot()
    config = plugin_config(
        "1.0.0", pod.prev_result("1.0.0"), flushgateway=True, delroutes=[{"dst": "10.10.0.0/16"}], addroutes=[{"dst": "10.70.0.0/16", "gw": "10.99.0.1"}]
    )
    outcome = run_plugin("ADD", config, netns=pod.path)
    assert outcome.code == 100, outcome.document
    assert pod.snapshot() == before and "linkdown" in pod.ip("route", "show", "dev", "net1")


def test_rollback_restores_the_remaining_lifetime_of_an_expiring_route(pod: Pod) -> None:
    pod.add_link(Link("net1", **V6))
    pod.route("add", "2001:db8:5::/64", "via", "2001:db8:50::1", "dev", "net1", "expires", "300", family=6)
    before = pod.snapshot()
    config = plugin_config(
        "1.0.0", pod.prev_result("1.0.0"), delroutes=[{"dst": "2001:db8:5::/64"}], addroutes=[{"dst": "2001:db8:70::/48", "gw": "2001:db8:99::1"}]
    )
    assert run_plugin("ADD", config, netns=pod.path).code == 100
    assert pod.snapshot() == before
    assert 250 < detailed(pod, "2001:db8:5::/64", 6)["expires"] <= 300


@pytest.mark.parametrize("compat_mode", [1, 0])
def test_routes_on_nexthop_objects_are_deleted_and_restored_by_id(pod: Pod, compat_mode: int) -> None:
    pod.ns.sysctl("net/ipv4/nexthop_compat_mode", compat_mode)
    pod.add_link(Link("eth0", v4="10.88.0.5/16"))
    pod.add_link(Link("net1", v4="192.168.50.2/24"), default_routes=False)
    pod.ip("nexthop", "add", "id", "10", "via", "192.168.50.1", "dev", "net1")
    pod.ip("nexthop", "add", "id", "11", "via", "192.168.50.254", "dev", "net1")
    pod.ip("nexthop", "add", "id", "12", "group", "10/11")
    pod.ip("nexthop", "add", "id", "20", "via", "10.88.0.1", "dev", "eth0")
    pod.route("add", "default", "nhid", "10")
    pod.route("add", "10.12.0.0/16", "nhid", "12")
    pod.route("add", "10.20.0.0/16", "nhid", "20")  # eth0's: never touched
    objects = pod.ip("nexthop", "show")
    before = pod.snapshot()
    refused = plugin_config("1.0.0", pod.prev_result("1.0.0", names=["net1"]), flushroutes=True, addroutes=[{"dst": "10.70.0.0/16", "gw": "10.99.0.1"}])
    assert run_plugin("ADD", refused, netns=pod.path).code == 100
    assert pod.snapshot() == before
    final, _ = add(pod, names=["net1"], flushroutes=True)
    routes = pod.ip("route", "show")
    assert "nhid 10" not in routes and "nhid 12" not in routes and "10.20.0.0/16 nhid 20" in routes
    assert pod.ip("nexthop", "show") == objects  # the objects themselves are not ours
    check_passes(pod, final)


def test_an_ipv4_route_via_an_ipv6_next_hop_is_a_gateway_route(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.11.0.0/16", "via", "inet6", "fe80::1", "dev", "net1")
    final, _ = add(pod, flushroutes=True)
    assert not any(r.startswith("10.11.0.0/16") for r in pod.routes(4))
    check_passes(pod, final)
    pod.route("add", "10.11.0.0/16", "via", "inet6", "fe80::1", "dev", "net1")
    outcome = run_plugin("CHECK", final, netns=pod.path)
    assert outcome.code == 103 and "10.11.0.0/16 via inet6 fe80::1 dev net1 is present again, but flushroutes deletes it" in outcome.msg


@pytest.mark.parametrize("other", ["tos", "source"])
def test_a_route_that_differs_by_tos_or_source_does_not_stand_in_for_an_addroute(pod: Pod, other: str) -> None:
    pod.add_link(Link("net1", **V4, **V6), default_routes=False)  # no default to fall back on
    if other == "tos":
        pod.route("add", "10.20.0.0/16", "tos", "0x10", "via", "192.168.50.1", "dev", "net1")
        final, _ = add(pod, addroutes=[{"dst": "10.20.0.0/16", "gw": "192.168.50.1"}])
        assert "via 192.168.50.1 dev net1" in pod.ip("route", "get", "10.20.0.5")  # was: unreachable
    else:
        pod.route("add", "2001:db8:20::/48", "from", "2001:db8:77::/64", "via", "2001:db8:50::1", "dev", "net1", family=6)
        final, _ = add(pod, addroutes=[{"dst": "2001:db8:20::/48", "gw": "2001:db8:50::1"}])
        assert "2001:db8:20::/48 via 2001:db8:50::1 dev net1 proto 114 metric 1024" in pod.ip("-6", "route", "show", "2001:db8:20::/48")
    check_passes(pod, final)


# ---- config, DEL ---------------------------------------------------------------------------


def test_a_pod_supplied_log_file_writes_nothing_anywhere(pod: Pod, tmp_path: Path) -> None:
    pod.add_link(Link("net1", **V4))
    planted = tmp_path / "planted.log"
    config = plugin_config(
        "1.0.0", pod.prev_result("1.0.0"), flushgateway=True, args={"cni": {"logFile": str(planted), "logLevel": "debug", "flushroutes": True}}
    )
    outcome = run_plugin("ADD", config, netns=pod.path)
    assert outcome.exit_code == 0 and not planted.exists()
    assert "warning: args.cni.logFile: ignored" in outcome.stderr and str(planted) not in outcome.stderr.replace("value", "")
    assert list(tmp_path.iterdir()) == []


def test_keys_spelled_as_for_the_go_original_act_and_validate_warns(pod: Pod, tmp_path: Path) -> None:
    pod.add_link(Link("net1", **V4))
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushGateway=True, addRoutes=[{"Dst": "10.40.0.0/16", "GW": "192.168.50.9"}])
    run_plugin("ADD", config, netns=pod.path).ok()
    assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.40.0.0/16 via 192.168.50.9 dev net1"}
    path = tmp_path / "go.conflist"
    path.write_text(json.dumps({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "macvlan"}, {**config, "prevResult": None}]}))
    done = subprocess.run(plugin_command() + ["validate", str(path)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "plugins[1].flushGateway: read as 'flushgateway'" in done.stderr


def test_del_removes_what_it_can_and_succeeds(pod: Pod) -> None:
    """Here the kernel refuses every deletion (no CAP_NET_ADMIN); DEL still
    succeeds, says what it left, and undoes nothing."""
    pod.add_link(Link("net1", **V4))
    final, _ = add(pod, addroutes=[{"dst": "10.90.0.0/16"}, {"dst": "10.91.0.0/16"}])
    environ = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", "CNI_NETNS": pod.path}
    done = subprocess.run(
        ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", *plugin_command()],
        input=json.dumps(final).encode(), env=environ, capture_output=True,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == b"", done.stdout
    left = re.findall(r"cannot delete (10\.9\d\.0\.0/16) .*left in place", done.stderr.decode())
    assert left == ["10.90.0.0/16", "10.91.0.0/16"]
    run_plugin("DEL", final, netns=pod.path).ok()
    assert not any(r.startswith("10.9") for r in pod.routes(4))


# ---- issue 16 ------------------------------------------------------------------------


@pytest.mark.parametrize("family", [4, 6])
def test_check_passes_when_prev_result_lists_one_destination_via_two_gateways(pod: Pod, family: int) -> None:
    """Issue 16.2: IPAM adds {dst: D, gw: A} and {dst: D, gw: B} without
    NLM_F_EXCL, which the kernel holds as one multipath route (IPv6 always;
    IPv4 where IPAM groups them into ECMP). ADD's own result then passes CHECK."""
    pod.add_link(Link("net1", **V4, **V6))
    dst, a, b = ("10.40.0.0/16", "192.168.50.7", "192.168.50.8") if family == 4 else ("2001:db8:40::/48", "2001:db8:50::7", "2001:db8:50::8")
    if family == 4:
        pod.route("add", dst, "nexthop", "via", a, "dev", "net1", "nexthop", "via", b, "dev", "net1")
    else:
        pod.route("append", dst, "via", a, "dev", "net1", family=6)
        pod.route("append", dst, "via", b, "dev", "net1", family=6)
    assert len(detailed(pod, dst, family)["nexthops"]) == 2
    final, result = add(pod, routes=({"dst": dst, "gw": a}, {"dst": dst, "gw": b}), addroutes=[{"dst": "10.41.0.0/16", "gw": "192.168.50.9"}])
    assert result["routes"][:2] == [{"dst": dst, "gw": a}, {"dst": dst, "gw": b}]
    check_passes(pod, final)
    pod.route("del", dst, "via", b, "dev", "net1", family=family) if family == 6 else pod.route("replace", dst, "via", a, "dev", "net1")
    outcome = run_plugin("CHECK", final, netns=pod.path)
    assert outcome.code == 103 and f"next hop via {b} dev net1 missing" in outcome.msg


def test_a_target_named_by_an_altname_gets_its_ra_setting_under_its_kernel_name(pod: Pod) -> None:
    """Issue 16.4: /proc/sys/net/ipv6/conf/ has no entry for an altname, so
    accept_ra_defrtr was never written and the next Router Advertisement
    brought the deleted default back, while CHECK passed."""
    pod.add_link(Link("net1", **V4, **V6))
    pod.ip("link", "property", "add", "dev", "net1", "altname", "n1alt")
    config = plugin_config("1.0.0", {"cniVersion": "1.0.0", "interfaces": [{"name": "n1alt", "sandbox": pod.path}], "ips": []}, flushgateway=True)
    result = run_plugin("ADD", config, netns=pod.path, ifname="n1alt").ok()
    assert pod.ns.sysctl("net/ipv6/conf/net1/accept_ra_defrtr") == 0
    assert not [r for r in pod.routes(6) if r.startswith("default")]
    final = chained(config, result)
    check_passes(pod, final, ifname="n1alt")
    pod.ns.sysctl("net/ipv6/conf/net1/accept_ra_defrtr", 1)
    outcome = run_plugin("CHECK", final, netns=pod.path, ifname="n1alt")
    assert outcome.code == 103 and "net.ipv6.conf.net1.accept_ra_defrtr is 1" in outcome.msg


# ---- values the kernel would not store as given -------------------------------------------


@pytest.mark.parametrize("family, key, value", [(4, "mtu", 65521), (6, "mtu", 70000), (4, "advmss", 2**32 - 1), (6, "advmss", 65496)])
def test_an_mtu_or_advmss_the_kernel_would_lower_is_refused_and_nothing_changes(pod: Pod, tmp_path: Path, family: int, key: str, value: int) -> None:
    """ip_metrics_convert() lowers an mtu above 65520 and an advmss above
    65495 without a word: ADD used to exit 0 with the configured value in
    its result, and the same ADD again failed with "File exists"."""
    pod.add_link(Link("net1", **V4, **V6))
    dst, gw = ("10.50.0.0/16", "192.168.50.9") if family == 4 else ("2001:db8:30::/48", "2001:db8:50::9")
    before = pod.snapshot()
    config = plugin_config("1.1.0", pod.prev_result("1.1.0"), addroutes=[{"dst": dst, "gw": gw, key: value}])
    outcome = run_plugin("ADD", config, netns=pod.path)
    assert outcome.code == 7, outcome.document
    assert outcome.msg.startswith(f"addroutes[0].{key}: must be at most {65535 - (15 if key == 'mtu' else 40)}") and f"(value: {value})" in outcome.msg
    assert pod.snapshot() == before
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(plugin_command() + ["validate", str(path)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and f"addroutes[0].{key}: must be at most" in done.stdout


def test_the_largest_mtu_and_advmss_the_kernel_stores_are_kept_exactly(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    routes = [{"dst": "10.50.0.0/16", "gw": "192.168.50.9", "mtu": 65520, "advmss": 65495}, {"dst": "2001:db8:30::/48", "gw": "2001:db8:50::9", "mtu": 65520, "advmss": 65495}]
    final, result = add(pod, "1.1.0", addroutes=routes)
    assert detailed(pod, "10.50.0.0/16")["metrics"] == [{"mtu": 65520, "advmss": 65495}]
    assert detailed(pod, "2001:db8:30::/48", 6)["metrics"] == [{"mtu": 65520, "advmss": 65495}]
    assert result["routes"] == routes
    check_passes(pod, final)
    run_plugin("ADD", {**final, "prevResult": pod.prev_result("1.1.0")}, netns=pod.path).ok()  # a retried ADD finds its own routes
