"""Config parsing and validation (no root)."""

from __future__ import annotations

import ipaddress

import pytest

from ro.config import MAX_ROUTES, config_problems, parse_config
from ro.errors import CniError


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
    assert route.dst == ipaddress.ip_network("2001:db8::/32") and route.gw == ipaddress.ip_address("2001:db8::1")
    assert (route.priority, route.table, route.mtu) == (7, 9, None)


@pytest.mark.parametrize(
    "settings, start",
    [
        ({"addroutes": [{"dst": "10.0.0.0/8", "via": "10.0.0.1"}]}, "addroutes[0].via: unknown route key"),
        ({"addroutes": [{"gw": "10.0.0.1"}]}, "addroutes[0]: has no dst"),
        ({"addroutes": ["10.0.0.0/8"]}, "addroutes[0]: must be an object"),
        ({"addroutes": [{"dst": "10.0.0.0"}]}, "addroutes[0].dst: must be a CIDR"),
        ({"addroutes": [{"dst": "fe80::/64", "gw": "fe80::1%eth0"}]}, "addroutes[0].gw: must be an IP address"),
        ({"addroutes": [{"dst": "10.0.0.0/8"}, {"dst": "10.0.0.0/8"}]}, "addroutes[1]: repeats addroutes[0]"),
        ({"delroutes": [{"dst": "10.0.0.0/8", "mtu": 1}]}, "delroutes[0].mtu: delroutes match on dst, gw and table only"),
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
    config, problems = config_problems(
        {"cniVersion": "1.0.0", "flushroutes": 1, "addroutes": [{"dst": "x"}, {"dst": "10.0.0.0/8"}, {"dst": "y"}]},
        "1.0.0",
    )
    assert config is None
    assert [p.msg.split(":")[0] for p in problems] == ["name", "flushroutes", "addroutes[0].dst", "addroutes[2].dst"]
