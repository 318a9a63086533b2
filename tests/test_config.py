"""Config parsing and validation (no root)."""

from __future__ import annotations

import pytest

from ro.config import MAX_ROUTES, examine, parse_config
from ro.errors import CniError
from ro.routes import MAX_NEXT_HOPS


def parse(version: str = "1.0.0", **settings: object):
    return parse_config({"cniVersion": version, "name": "n", "type": "route-override", **settings}, version)


def test_defaults() -> None:
    config = parse()
    assert (config.flushroutes, config.flushgateway, config.skipcheck) == (False, False, False)
    assert config.delroutes == config.addroutes == () and config.prev_result is None


@pytest.mark.parametrize("key, value", [("flushroutes", True), ("flushgateway", True), ("skipcheck", True)])
def test_args_cni_overrides_each_flag(key: str, value: bool) -> None:
    assert getattr(parse(**{key: not value, "args": {"cni": {key: value}}}), key) is value


def test_args_cni_replaces_route_lists_and_keeps_the_rest() -> None:
    config = parse(
        addroutes=[{"dst": "10.1.0.0/16"}],
        delroutes=[{"dst": "10.2.0.0/16"}],
        args={"cni": {"addroutes": [{"dst": "10.3.0.0/16"}], "ips": ["10.0.0.1/24"]}, "k8s": {"x": 1}},
    )
    assert [str(r.dst) for r in config.addroutes] == ["10.3.0.0/16"]
    assert [str(r.dst) for r in config.delroutes] == ["10.2.0.0/16"]


def test_args_without_cni_is_fine() -> None:
    assert parse(args={"labels": []}).addroutes == ()


def test_null_means_not_given() -> None:
    config = parse(flushroutes=True, addroutes=[{"dst": "10.1.0.0/16"}], args={"cni": {"flushroutes": None, "addroutes": None}})
    assert config.flushroutes and len(config.addroutes) == 1


def test_route_values_are_typed() -> None:
    (route,) = parse("1.1.0", addroutes=[{"dst": "2001:db8::/32", "gw": "2001:db8::1", "priority": 7, "table": 9}]).addroutes
    assert str(route.dst) == "2001:db8::/32" and [str(hop) for hop in route.gateways] == ["2001:db8::1"]
    assert (route.priority, route.table, route.mtu) == (7, 9, None)


@pytest.mark.parametrize(
    "settings, start",
    [
        ({"addroutes": [{"dst": "10.0.0.0/8", "via": "10.0.0.1"}]}, "addroutes[0].via: not a key of this entry"),
        ({"addroutes": [{"gw": "10.0.0.1"}]}, "addroutes[0]: has no dst"),
        ({"addroutes": ["10.0.0.0/8"]}, "addroutes[0]: must be an object"),
        ({"addroutes": [{"dst": "10.0.0.0"}]}, "addroutes[0].dst: must be a CIDR"),
        ({"addroutes": [{"dst": "fe80::/64", "gw": "fe80::1%eth0"}]}, "addroutes[0].gw: must be an IP address"),
        ({"addroutes": [{"dst": "10.0.0.0/8"}, {"dst": "10.0.0.0/8"}]}, "addroutes[1]: repeats addroutes[0]"),
        ({"delroutes": [{"dst": "10.0.0.0/8", "mtu": 1}]}, "delroutes[0].mtu: not a key of this entry (known: dst, gw, gws, table)"),
        ({"args": "x"}, "args: must be an object"),
        ({"addroutes": [{"dst": "10.0.0.0/8", "mtu": 1500}]}, "addroutes[0].mtu: needs cniVersion 1.1.0"),
    ],
)
def test_problems_name_their_key_path(settings: dict, start: str) -> None:
    with pytest.raises(CniError) as raised:
        parse(**settings)
    assert raised.value.code == 7 and raised.value.msg.startswith(start), raised.value.msg


@pytest.mark.parametrize(
    "route, start",
    [
        ({"dst": "10.0.0.0/8", "table": 0}, "addroutes[0].table: must be a table id from 1"),
        ({"dst": "10.0.0.0/8", "scope": 256}, "addroutes[0].scope: must be an integer from 0 to 255"),
        ({"dst": "10.0.0.0/8", "priority": -1}, "addroutes[0].priority: must be an integer"),
        ({"dst": "10.0.0.0/8", "mtu": True}, "addroutes[0].mtu: must be an integer"),
        ({"dst": "10.0.0.0/8", "mtu": 65521}, "addroutes[0].mtu: must be at most 65520: the kernel would store 65520 instead"),
        ({"dst": "2001:db8::/32", "advmss": 65496}, "addroutes[0].advmss: must be at most 65495: the kernel would store 65495 instead"),
    ],
)
def test_route_fields_of_1_1_0_are_range_checked(route: dict, start: str) -> None:
    with pytest.raises(CniError) as raised:
        parse("1.1.0", addroutes=[route])
    assert raised.value.msg.startswith(start), raised.value.msg


def test_route_lists_are_bounded() -> None:
    routes = [{"dst": f"10.{i // 256 % 256}.{i % 256}.0/24"} for i in range(MAX_ROUTES + 1)]
    with pytest.raises(CniError) as raised:
        parse(addroutes=routes)
    assert raised.value.msg.startswith("addroutes: has 10001 entries")


def test_every_problem_is_collected() -> None:
    config, findings = examine(
        {"cniVersion": "1.0.0", "flushroutes": 1, "addroutes": [{"dst": "x"}, {"dst": "10.0.0.0/8"}, {"dst": "y"}]},
        "1.0.0",
    )
    assert config is None
    assert [p.msg.split(":")[0] for p in findings.problems] == ["name", "flushroutes", "addroutes[0].dst", "addroutes[2].dst"]


# ---- gws: next hops of one multipath route ----------------------------------------------


def test_gws_and_gw_merge_into_the_next_hops_of_an_entry() -> None:
    (merged, deduplicated) = parse(
        addroutes=[
            {"dst": "10.1.0.0/16", "gws": ["10.0.0.1", "10.0.0.2"], "gw": "10.0.0.3"},
            {"dst": "10.2.0.0/16", "gws": ["10.0.0.1", "10.0.0.2"], "gw": "10.0.0.2"},
        ]
    ).addroutes
    assert [str(a) for a in merged.gateways] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert [str(a) for a in deduplicated.gateways] == ["10.0.0.1", "10.0.0.2"]
    (narrowed,) = parse(delroutes=[{"dst": "0.0.0.0/0", "gws": ["10.0.0.1"], "gw": "10.0.0.2"}]).delroutes
    assert [str(a) for a in narrowed.gateways] == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    "gws, start",
    [
        ("10.0.0.1", "addroutes[0].gws: must be a non-empty list of IP addresses"),
        ([], "addroutes[0].gws: must be a non-empty list of IP addresses"),
        (["10.0.0.1", "x"], "addroutes[0].gws[1]: must be an IP address"),
        (["2001:db8::1"], "addroutes[0].gws[0]: is IPv6 but dst 10.1.0.0/16 is IPv4"),
        (["10.0.0.1", "10.0.0.01"], "addroutes[0].gws[1]: must be an IP address"),
        (["10.0.0.1", "10.0.0.1"], "addroutes[0].gws[1]: repeats addroutes[0].gws[0]"),
        (["0.0.0.0"], "addroutes[0].gws[0]: the unspecified address is not a next hop"),
        ([f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(1, MAX_NEXT_HOPS[4] + 2)], "addroutes[0].gws: has 129 next hops; one IPv4 route takes at most 128"),
    ],
)
def test_bad_gws_is_code_7_with_the_key_path_and_value(gws: object, start: str) -> None:
    with pytest.raises(CniError) as raised:
        parse(addroutes=[{"dst": "10.1.0.0/16", "gws": gws}])
    assert raised.value.code == 7 and raised.value.msg.startswith(start), raised.value.msg
    assert "(value: " in raised.value.msg


def test_ipv6_duplicates_are_found_by_address_not_by_spelling() -> None:
    with pytest.raises(CniError) as raised:
        parse(addroutes=[{"dst": "2001:db8::/64", "gws": ["2001:db8::1", "2001:DB8:0::1"]}])
    assert raised.value.msg.startswith("addroutes[0].gws[1]: repeats addroutes[0].gws[0]")


def test_two_addroutes_of_one_kernel_route_are_an_error_pointing_at_gws() -> None:
    with pytest.raises(CniError) as raised:
        parse(addroutes=[{"dst": "10.1.0.0/16", "gw": "10.0.0.1"}, {"dst": "10.1.0.0/16", "gw": "10.0.0.2"}])
    assert raised.value.msg.startswith("addroutes[1]: same dst, table and priority as addroutes[0] with other next hops")
    assert "gws" in raised.value.msg
    # another priority or table is another route; IPv6 priority 0 and none are the same (1024)
    parse("1.1.0", addroutes=[{"dst": "10.1.0.0/16", "gw": "10.0.0.1"}, {"dst": "10.1.0.0/16", "gw": "10.0.0.2", "priority": 9}])
    with pytest.raises(CniError):
        parse("1.1.0", addroutes=[{"dst": "2001:db8::/64", "gw": "2001:db8::1"}, {"dst": "2001:db8::/64", "gw": "2001:db8::2", "priority": 0}])


def test_link_scope_with_a_gateway_is_an_error() -> None:
    with pytest.raises(CniError) as raised:
        parse("1.1.0", addroutes=[{"dst": "10.1.0.0/16", "gws": ["10.0.0.1", "10.0.0.2"], "scope": 253}])
    assert raised.value.msg.startswith("addroutes[0].scope: 253 (link) means directly attached")


def test_gws_work_in_every_version_and_in_args_cni() -> None:
    for version in ("0.1.0", "0.4.0", "1.0.0"):
        assert len(parse(version, addroutes=[{"dst": "10.1.0.0/16", "gws": ["10.0.0.1", "10.0.0.2"]}]).addroutes[0].gateways) == 2
    config = parse(args={"cni": {"addroutes": [{"dst": "10.1.0.0/16", "gws": ["10.0.0.1", "10.0.0.2"]}]}})
    assert len(config.addroutes[0].gateways) == 2


# ---- as the Go original reads it ------------------------------------------------------


def test_keys_in_another_case_are_read_as_the_go_original_reads_them_with_a_warning() -> None:
    config = parse(flushGateway=True, AddRoutes=[{"Dst": "10.1.0.0/16", "GW": "10.0.0.1"}], Args={"CNI": {"flushRoutes": True}})
    assert config.flushgateway and config.flushroutes and str(config.addroutes[0].gateways[0]) == "10.0.0.1"
    assert any(w.startswith("flushGateway: read as 'flushgateway'") for w in config.warnings)
    assert any(w.startswith("addroutes[0].GW: read as 'gw'") for w in config.warnings)
    assert any(w.startswith("args.cni.flushRoutes: read as 'flushroutes'") for w in config.warnings)
    assert parse(flushgateway=True, flushGateway=False).flushgateway is False  # the last one wins, as in Go
    assert parse(flushgateway=True).warnings == ()


def test_prev_result_routes_may_carry_any_mtu_and_advmss() -> None:
    """Another plugin's routes are reported as they are, not refused."""
    prev = {"cniVersion": "1.1.0", "routes": [{"dst": "10.0.0.0/8", "mtu": 70000, "advmss": 2**32 - 1}]}
    (route,) = parse("1.1.0", prevResult=prev).prev_result.routes
    assert (route.mtu, route.advmss) == (70000, 2**32 - 1)


def test_gw_less_addroutes_under_flushgateway_are_warned_about_once() -> None:
    config = parse(flushgateway=True, addroutes=[{"dst": "10.1.0.0/16"}, {"dst": "10.2.0.0/16"}, {"dst": "10.3.0.0/16", "gw": "10.0.0.1"}])
    assert [w.split(":")[0] for w in config.warnings] == ["flushgateway"] and "on-link" in config.warnings[0]
    assert parse(flushgateway=True, addroutes=[{"dst": "10.1.0.0/16", "gw": "10.0.0.1"}]).warnings == ()


def test_args_cni_never_sets_the_log_file() -> None:
    config = parse(args={"cni": {"logFile": "/etc/cron.d/x", "logLevel": "debug"}})
    assert [w.split(":")[0] for w in config.warnings] == ["args.cni.logFile", "args.cni.logLevel"]
    assert all("ignored" in w for w in config.warnings)
