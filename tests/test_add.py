"""ADD on real namespaces: every feature, every cniVersion, both IP families."""

from __future__ import annotations

import pytest

from runner import plugin_config, run_plugin
from netns import V4, V6, Link, Pod

ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


def add(pod: Pod, version: str = "1.0.0", routes: tuple = (), **settings: object):
    config = plugin_config(version, pod.prev_result(version, routes), **settings)
    return run_plugin("ADD", config, netns=pod.path)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_dual_stack_replace_default_route_in_every_version(pod: Pod, version: str) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    result = add(
        pod,
        version,
        routes=({"dst": "0.0.0.0/0"}, {"dst": "::/0"}),
        delroutes=[{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
        addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}, {"dst": "::/0", "gw": "2001:db8:50::fe"}],
    ).ok()
    assert pod.routes(4) == {"default via 192.168.50.254 dev net1", "192.168.50.0/24 dev net1"}
    assert pod.routes(6) == {"default via 2001:db8:50::fe dev net1", "2001:db8:50::/64 dev net1", "fe80::/64 dev net1"}
    assert result["cniVersion"] == version
    if version in ("0.1.0", "0.2.0"):
        assert result["ip4"]["routes"] == [{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}]
        assert result["ip6"]["routes"] == [{"dst": "::/0", "gw": "2001:db8:50::fe"}]
        assert "interfaces" not in result
    else:
        assert result["routes"] == [
            {"dst": "0.0.0.0/0", "gw": "192.168.50.254"},
            {"dst": "::/0", "gw": "2001:db8:50::fe"},
        ]
        assert ("version" in result["ips"][0]) == (version in ("0.3.0", "0.3.1", "0.4.0"))


@pytest.mark.parametrize("family", [4, 6])
def test_flushroutes_deletes_gateway_and_default_routes_keeps_connected(pod: Pod, family: int) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    if family == 4:
        pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
        pod.route("add", "10.11.0.0/16", "dev", "net1")  # on-link: stays
    else:
        pod.route("add", "2001:db8:10::/48", "via", "2001:db8:50::1", "dev", "net1", family=6)
    add(pod, flushroutes=True).ok()
    if family == 4:
        assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.11.0.0/16 dev net1"}
    else:
        assert pod.routes(6) == {"2001:db8:50::/64 dev net1", "fe80::/64 dev net1"}


def test_flushroutes_result_keeps_only_on_link_routes(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24"))  # no gateway: routes are on-link
    pod.route("add", "10.12.0.0/16", "dev", "net1")
    result = add(pod, routes=({"dst": "10.12.0.0/16"}, {"dst": "10.13.0.0/16", "gw": "192.168.50.9"}), flushroutes=True)
    assert result.ok()["routes"] == [{"dst": "10.12.0.0/16"}]


def test_flushgateway_deletes_defaults_and_keeps_the_ips_gateways(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    result = add(pod, routes=({"dst": "0.0.0.0/0"}, {"dst": "10.10.0.0/16"}, {"dst": "::/0"}), flushgateway=True).ok()
    assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.10.0.0/16 via 192.168.50.1 dev net1"}
    assert "default" not in " ".join(pod.routes(6))
    # ips[].gateway adds no route (the spec) and static IPAM's CHECK wants it
    # there (issue 16.1); the route that stays still goes via it
    assert result["routes"] == [{"dst": "10.10.0.0/16"}]
    assert [ip["gateway"] for ip in result["ips"]] == ["192.168.50.1", "2001:db8:50::1"]


def test_delroutes_matches_dst_and_optional_gw(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    pod.route("add", "10.20.0.0/16", "via", "192.168.50.1", "dev", "net1")
    pod.route("add", "10.20.0.0/16", "via", "192.168.50.7", "dev", "net1", "metric", "50")
    result = add(
        pod,
        routes=({"dst": "10.10.0.0/16"}, {"dst": "10.20.0.0/16", "gw": "192.168.50.7"}),
        delroutes=[{"dst": "10.10.0.0/16"}, {"dst": "10.20.0.0/16", "gw": "192.168.50.7"}],
    ).ok()
    assert pod.routes(4) == {
        "default via 192.168.50.1 dev net1",
        "192.168.50.0/24 dev net1",
        "10.20.0.0/16 via 192.168.50.1 dev net1",
    }
    assert "routes" not in result


def test_addroutes_without_gw_go_via_the_ips_gateway_and_stay_gw_less_in_the_result(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    result = add(pod, addroutes=[{"dst": "10.30.0.0/16"}, {"dst": "2001:db8:30::/48"}]).ok()
    assert "10.30.0.0/16 via 192.168.50.1 dev net1" in pod.routes(4)
    assert "2001:db8:30::/48 via 2001:db8:50::1 dev net1" in pod.routes(6)
    assert result["routes"] == [{"dst": "10.30.0.0/16"}, {"dst": "2001:db8:30::/48"}]


def test_addroutes_without_gw_and_without_ips_gateway_are_on_link(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24"))
    add(pod, addroutes=[{"dst": "10.31.0.0/16"}]).ok()
    (route,) = [r for r in pod.ns.routes_detailed(4) if r["dst"] == "10.31.0.0/16"]
    assert "gateway" not in route and route["scope"] == "link" and route["dev"] == "net1"


def test_routes_of_other_interfaces_are_never_touched(pod: Pod) -> None:
    pod.add_link(Link("eth0", v4="10.88.0.5/16", v4_gateway="10.88.0.1"))
    pod.add_link(Link("net1", v4="192.168.50.2/24", v4_gateway="192.168.50.1"), default_routes=False)
    pod.route("add", "10.10.0.0/16", "via", "10.88.0.1", "dev", "eth0")
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1", "metric", "10")
    eth0_before = {r for r in pod.routes(4) if "eth0" in r}
    config = plugin_config(
        "1.0.0",
        pod.prev_result("1.0.0", names=["net1"]),
        flushroutes=True,
        flushgateway=True,
        delroutes=[{"dst": "10.10.0.0/16"}],
        addroutes=[{"dst": "172.16.0.0/12"}],
    )
    run_plugin("ADD", config, netns=pod.path, ifname="net1").ok()
    assert {r for r in pod.routes(4) if "eth0" in r} == eth0_before
    # flushgateway dropped the ips gateway, so the gw-less addroutes entry is on-link
    assert {r for r in pod.routes(4) if "net1" in r} == {"192.168.50.0/24 dev net1", "172.16.0.0/12 dev net1"}


def test_cni_ifname_picks_the_interface_routes_are_added_to(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24"), default_routes=False)
    pod.add_link(Link("net2", v4="192.168.60.2/24"), default_routes=False)
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=[{"dst": "10.40.0.0/16"}])
    run_plugin("ADD", config, netns=pod.path, ifname="net2").ok()
    assert "10.40.0.0/16 dev net2" in pod.routes(4)


def test_without_interfaces_in_prev_result_acts_on_cni_ifname(pod: Pod) -> None:
    pod.add_link(Link("eth0", v4="10.88.0.5/16", v4_gateway="10.88.0.1"))
    pod.add_link(Link("net9", **V4))
    config = plugin_config("0.2.0", pod.prev_result("0.2.0", names=["net9"]), flushgateway=True)
    run_plugin("ADD", config, netns=pod.path, ifname="net9").ok()
    assert pod.routes(4) == {"default via 10.88.0.1 dev eth0", "10.88.0.0/16 dev eth0", "192.168.50.0/24 dev net9"}


def test_route_fields_of_1_1_0_reach_the_kernel_and_the_result(pod: Pod) -> None:
    pod.add_link(Link("net1", v4="192.168.50.2/24"))  # no ips gateway: gw-less routes are on-link
    routes = [
        {"dst": "10.50.0.0/16", "gw": "192.168.50.1", "priority": 300, "mtu": 1400, "advmss": 1360},
        {"dst": "10.51.0.0/16", "gw": "192.168.50.1", "table": 100},
        {"dst": "10.52.0.0/16", "scope": 0},  # on-link routes default to scope link; this asks for global
    ]
    result = add(pod, "1.1.0", addroutes=routes).ok()
    detailed = {r["dst"]: r for r in pod.ns.routes_detailed(4)}
    assert detailed["10.50.0.0/16"]["metric"] == 300
    assert detailed["10.50.0.0/16"]["metrics"] == [{"mtu": 1400, "advmss": 1360}]
    assert pod.routes(4, table="100") == {"10.51.0.0/16 via 192.168.50.1 dev net1"}
    assert detailed["10.52.0.0/16"]["scope"] == "global" and "gateway" not in detailed["10.52.0.0/16"]
    assert result["routes"] == routes


def test_args_cni_overrides_top_level_settings(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    add(
        pod,
        addroutes=[{"dst": "10.60.0.0/16"}],
        flushgateway=False,
        args={"cni": {"addroutes": [{"dst": "10.61.0.0/16"}], "flushgateway": True}, "other": {"x": 1}},
    ).ok()
    assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.61.0.0/16 dev net1"}


def test_doubled_cni_args_and_cni_path_as_multus_passes_them_change_nothing(pod: Pod) -> None:
    """Multus 4.3 passes every CNI_ARGS key twice and CNI_PATH doubled. The
    plugin's settings come from the config (args.cni), never from CNI_ARGS,
    and it runs no other plugin, so neither may matter: ADD, CHECK and DEL
    act on args.cni as without Multus."""
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    overrides = {"flushgateway": True, "delroutes": [{"dst": "10.10.0.0/16"}], "addroutes": [{"dst": "10.30.0.0/16", "gw": "192.168.50.254"}]}
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=[{"dst": "10.20.0.0/16", "gw": "192.168.50.254"}], args={"cni": overrides})
    multus = {
        "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p",
        "CNI_PATH": "/opt/cni/bin:/opt/cni/bin",
    }
    result = run_plugin("ADD", config, netns=pod.path, env=multus).ok()
    assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.30.0.0/16 via 192.168.50.254 dev net1"}
    final = {**config, "prevResult": result}
    run_plugin("CHECK", final, netns=pod.path, env=multus).ok()
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    assert run_plugin("CHECK", final, netns=pod.path, env=multus).code == 103  # args.cni.delroutes still counts
    run_plugin("DEL", final, netns=pod.path, env=multus).ok()
    assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.10.0.0/16 via 192.168.50.1 dev net1"}


def test_rules_reach_a_vrf_table_only_where_an_entry_names_it(pod: Pod) -> None:
    """As the README's VRF example: the vrf plugin leaves the interface's
    routes in the VRF's table (this kernel has no VRF: put there by hand).
    flushgateway acts on main only; table-qualified entries act on the table."""
    pod.add_link(Link("net1", v4="192.168.60.2/24"), default_routes=False)
    pod.route("add", "192.168.60.0/24", "dev", "net1", "table", "100")
    pod.route("add", "default", "via", "192.168.60.1", "dev", "net1", "table", "100")
    pod.route("add", "10.10.0.0/16", "via", "192.168.60.1", "dev", "net1", "table", "100")
    config = plugin_config(
        "1.1.0",
        pod.prev_result("1.1.0"),
        flushgateway=True,
        delroutes=[{"dst": "10.10.0.0/16", "table": 100}],
        addroutes=[{"dst": "10.20.0.0/16", "gw": "192.168.60.254", "table": 100}],
    )
    result = run_plugin("ADD", config, netns=pod.path).ok()
    assert pod.ns.routes(4, table="100") == {"192.168.60.0/24 dev net1", "default via 192.168.60.1 dev net1", "10.20.0.0/16 via 192.168.60.254 dev net1"}
    final = {**config, "prevResult": result}
    run_plugin("CHECK", final, netns=pod.path).ok()
    run_plugin("DEL", final, netns=pod.path).ok()
    assert pod.ns.routes(4, table="100") == {"192.168.60.0/24 dev net1", "default via 192.168.60.1 dev net1"}


def test_an_existing_identical_route_is_kept_not_added_twice(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.62.0.0/16", "via", "192.168.50.1", "dev", "net1")
    result = add(pod, routes=({"dst": "10.62.0.0/16"},), addroutes=[{"dst": "10.62.0.0/16"}]).ok()
    assert "10.62.0.0/16 via 192.168.50.1 dev net1" in pod.routes(4)
    assert result["routes"] == [{"dst": "10.62.0.0/16"}]


# ---- all or nothing ------------------------------------------------------------


def test_a_refused_route_rolls_back_every_change(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    pod.route("add", "2001:db8:10::/48", "via", "2001:db8:50::1", "dev", "net1", family=6)
    before = pod.snapshot()
    outcome = add(
        pod,
        flushroutes=True,
        addroutes=[
            {"dst": "10.70.0.0/16", "gw": "192.168.50.9"},
            {"dst": "2001:db8:70::/48", "gw": "2001:db8:50::9"},
            {"dst": "10.71.0.0/16", "gw": "10.99.0.1"},  # not reachable: the kernel refuses it
        ],
    )
    assert outcome.code == 100
    assert "addroutes[2]" in outcome.msg and "10.71.0.0/16 via 10.99.0.1" in outcome.msg
    assert "unreachable" in outcome.msg.lower()
    assert "undone" in outcome.msg
    assert pod.snapshot() == before


def test_a_route_that_already_exists_fails_and_rolls_back(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    before = pod.snapshot()
    outcome = add(pod, flushgateway=True, addroutes=[{"dst": "192.168.50.0/24", "gw": "192.168.50.1"}])
    assert outcome.code == 100 and "File exists" in outcome.msg
    assert pod.snapshot() == before


# ---- the namespace and its interfaces ---------------------------------------------


def test_a_missing_interface_is_error_102(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    prev = pod.prev_result("1.0.0")
    prev["interfaces"][0]["name"] = "net7"
    outcome = run_plugin("ADD", plugin_config("1.0.0", prev, flushroutes=True), netns=pod.path, ifname="net7")
    assert outcome.code == 102 and "net7" in outcome.msg


@pytest.mark.parametrize("kind", ["missing", "regular file", "directory"])
def test_a_netns_path_that_is_not_a_namespace_is_error_101(pod: Pod, tmp_path, kind: str) -> None:
    pod.add_link(Link("net1", **V4))
    path = tmp_path / "netns"
    if kind == "regular file":
        path.write_text("")
    elif kind == "directory":
        path.mkdir()
    outcome = run_plugin("ADD", plugin_config("1.0.0", pod.prev_result("1.0.0"), flushroutes=True), netns=str(path))
    assert outcome.code == 101 and str(path) in outcome.msg
    assert path.exists() == (kind != "missing")  # nothing was created at the path


def test_rollback_restores_a_gateway_route_after_the_connected_route_it_needs(pod: Pod) -> None:
    """Found by the property test: delroutes takes the connected route and
    the default; the new default's gateway is then unreachable; restoring
    the old default must wait for the connected route to be back."""
    pod.add_link(Link("net1", **V4))
    before = pod.snapshot()
    outcome = add(pod, "0.4.0", delroutes=[{"dst": "192.168.50.0/24"}, {"dst": "0.0.0.0/0"}], addroutes=[{"dst": "0.0.0.0/0"}])
    assert outcome.code == 100 and "2 change(s) already made were undone" in outcome.msg
    assert pod.snapshot() == before
