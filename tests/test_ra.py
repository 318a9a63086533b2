"""IPv6 Router Advertisements must not put back what the plugin deletes:
radvd (a real RA sender) in the pod's peer namespace, RAs every 3-4 s.

Every wait is a poll with a bounded deadline on what the pod has seen: its
routes, or its count of RAs received."""

from __future__ import annotations

import json
import subprocess

from netns import Link, Pod, wait_for
from router import wait_for_advertisements
from runner import chained, plugin_command, plugin_config, run_plugin

NET1 = dict(v4="192.168.50.2/24", v4_gateway="192.168.50.1", v6="2001:db8:50::2/64")
DEFRTR = "net/ipv6/conf/net1/accept_ra_defrtr"
RT_INFO = "net/ipv6/conf/net1/accept_ra_rt_info_max_plen"


def ra_routes(pod: Pod, dst: str = "default") -> list[dict]:
    """The routes to `dst` the kernel learned from RAs."""
    return [r for r in json.loads(pod.ip("-6", "-j", "route", "show", dst)) if r.get("protocol") == "ra"]


def add(pod: Pod, **settings: object):
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), **settings)
    return config, run_plugin("ADD", config, netns=pod.path)


def test_without_route_override_the_ra_default_route_appears(pod: Pod, router) -> None:
    """The control: so the tests below can fail."""
    pod.add_link(Link("net1", **NET1))
    router().start()
    (route,) = wait_for(lambda: ra_routes(pod), "the RA default route", timeout=20)
    assert route["dev"] == "net1" and route["gateway"].startswith("fe80::")


def test_a_default_route_learned_before_add_stays_gone(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    router().start()
    wait_for(lambda: ra_routes(pod), "the RA default route", timeout=20)
    _, added = add(pod, flushgateway=True)
    added.ok()
    assert ra_routes(pod) == [] and pod.ns.sysctl(DEFRTR) == 0
    wait_for_advertisements(pod.ns, 3)
    assert ra_routes(pod) == []


def test_no_default_route_when_the_router_starts_after_add(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    add(pod, flushgateway=True)[1].ok()
    router().start()
    wait_for_advertisements(pod.ns, 3)
    assert ra_routes(pod) == []


def test_delroutes_of_the_ipv6_default_the_same(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    router().start()
    wait_for(lambda: ra_routes(pod), "the RA default route", timeout=20)
    add(pod, delroutes=[{"dst": "::/0"}])[1].ok()
    assert ra_routes(pod) == []
    wait_for_advertisements(pod.ns, 3)
    assert ra_routes(pod) == []


def test_more_specific_ra_routes_stay_gone_after_delroutes_and_flushroutes(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    pod.ns.sysctl(RT_INFO, 64)  # this node takes Route Information Options
    router().start()
    wait_for(lambda: ra_routes(pod, "2001:db8:77::/48"), "the RA's more specific route", timeout=20)
    _, added = add(pod, delroutes=[{"dst": "2001:db8:77::/48"}])
    added.ok()
    assert pod.ns.sysctl(RT_INFO) == 0 and pod.ns.sysctl(DEFRTR) == 1  # only what delroutes deleted
    wait_for_advertisements(pod.ns, 3)
    assert ra_routes(pod, "2001:db8:77::/48") == [] and ra_routes(pod)  # the default was not asked for


def test_flushroutes_stops_both_kinds(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    pod.ns.sysctl(RT_INFO, 64)
    add(pod, flushroutes=True)[1].ok()
    assert (pod.ns.sysctl(DEFRTR), pod.ns.sysctl(RT_INFO)) == (0, 0)
    router().start()
    wait_for_advertisements(pod.ns, 3)
    assert ra_routes(pod) == [] and ra_routes(pod, "2001:db8:77::/48") == []


def test_a_refused_addroute_puts_the_ra_settings_back(pod: Pod) -> None:
    pod.add_link(Link("net1", **NET1))
    pod.ns.sysctl(RT_INFO, 48)
    _, added = add(pod, flushroutes=True, addroutes=[{"dst": "10.70.0.0/16", "gw": "10.99.0.1"}])
    assert added.code == 100 and "undone" in added.msg
    assert (pod.ns.sysctl(DEFRTR), pod.ns.sysctl(RT_INFO)) == (1, 48)


def test_check_reports_the_setting_and_the_default_route_when_they_are_back(pod: Pod, router) -> None:
    pod.add_link(Link("net1", **NET1))
    router().start()
    config, added = add(pod, flushgateway=True)
    final = chained(config, added.ok())
    run_plugin("CHECK", final, netns=pod.path).ok()
    pod.ns.sysctl(DEFRTR, 1)
    wait_for(lambda: ra_routes(pod), "the RA default route, back", timeout=20)
    outcome = run_plugin("CHECK", final, netns=pod.path)
    assert outcome.code == 103
    words = outcome.msg + outcome.document["details"]
    assert "net.ipv6.conf.net1.accept_ra_defrtr is 1, but flushgateway needs 0" in words
    assert "dev net1" in words and "present again, but flushgateway deletes it" in words


def test_interfaces_without_ipv6_are_skipped(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24", v4_gateway="192.168.50.1"))
    pod.add_link(Link("net2", v4="192.168.60.2/24"), default_routes=False)
    pod.ns.sysctl("net/ipv6/conf/net1/disable_ipv6", 1)
    pod.ip("link", "set", "net2", "mtu", "1200")  # below IPv6's minimum: no IPv6 settings at all
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushgateway=True)
    run_plugin("ADD", config, netns=pod.path).ok()
    assert pod.ns.sysctl(DEFRTR) == 1


def test_explain_and_the_log_show_the_settings(pod: Pod, tmp_path) -> None:
    pod.add_link(Link("net1", **NET1))
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "macvlan"}, {"type": "route-override", "flushgateway": True}]}))
    done = subprocess.run(plugin_command() + ["explain", str(path), "--netns", pod.path, "--ifname", "net1"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert "would set net.ipv6.conf.net1.accept_ra_defrtr=0 (flushgateway)" in done.stdout
    assert pod.ns.sysctl(DEFRTR) == 1  # explain changes nothing
    _, added = add(pod, flushgateway=True, logLevel="info")
    assert "set net.ipv6.conf.net1.accept_ra_defrtr=0 (flushgateway)" in added.stderr
