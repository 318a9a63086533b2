"""Results of every spec version: parsed into one model and printed back (no root)."""

from __future__ import annotations

import pytest

from ro.errors import CniError
from ro.result import parse_result, render_result

V1 = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "br0", "mac": "aa:bb:cc:dd:ee:00"},
        {"name": "net1", "mac": "aa:bb:cc:dd:ee:01", "sandbox": "/run/netns/x"},
    ],
    "ips": [
        {"interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1"},
        {"interface": 1, "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.9.0.0/16", "gw": "10.1.0.9"}, {"dst": "::/0"}],
    "dns": {"nameservers": ["10.1.0.1"], "search": ["svc"]},
}


def with_ip_versions(result: dict, version: str) -> dict:
    ips = [{"version": "6" if ":" in ip["address"] else "4", **ip} for ip in result["ips"]]
    return {**result, "cniVersion": version, "ips": ips}


LEGACY = {
    "cniVersion": "0.2.0",
    "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1", "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.9.0.0/16", "gw": "10.1.0.9"}]},
    "ip6": {"ip": "2001:db8::5/64", "gateway": "2001:db8::1", "routes": [{"dst": "::/0"}]},
    "dns": {"nameservers": ["10.1.0.1"], "search": ["svc"]},
}


@pytest.mark.parametrize(
    "version, document",
    [
        ("0.1.0", {**LEGACY, "cniVersion": "0.1.0"}),
        ("0.2.0", LEGACY),
        ("0.3.0", with_ip_versions(V1, "0.3.0")),
        ("0.3.1", with_ip_versions(V1, "0.3.1")),
        ("0.4.0", with_ip_versions(V1, "0.4.0")),
        ("1.0.0", V1),
        ("1.1.0", {**V1, "cniVersion": "1.1.0"}),
    ],
)
def test_round_trip_in_every_version(version: str, document: dict) -> None:
    assert render_result(parse_result(document), version) == document


def test_legacy_results_convert_up_without_interfaces() -> None:
    out = render_result(parse_result(LEGACY), "0.4.0")
    assert "interfaces" not in out
    assert out["ips"] == [
        {"version": "4", "address": "10.1.0.5/16", "gateway": "10.1.0.1"},
        {"version": "6", "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
    ]
    assert out["routes"] == LEGACY["ip4"]["routes"] + LEGACY["ip6"]["routes"]


def test_new_results_convert_down_to_ip4_ip6_sections() -> None:
    assert render_result(parse_result(V1), "0.2.0") == LEGACY


def test_route_fields_of_1_1_0_are_kept_in_1_1_0_only() -> None:
    route = {"dst": "10.9.0.0/16", "gw": "10.1.0.9", "mtu": 1400, "advmss": 1360, "priority": 5, "table": 100, "scope": 0}
    parsed = parse_result({**V1, "cniVersion": "1.1.0", "routes": [route]})
    assert render_result(parsed, "1.1.0")["routes"] == [route]
    assert render_result(parsed, "1.0.0")["routes"] == [{"dst": "10.9.0.0/16", "gw": "10.1.0.9"}]


def test_interface_fields_of_1_1_0() -> None:
    interface = {"name": "net1", "mac": "aa:bb:cc:dd:ee:01", "sandbox": "/run/netns/x", "mtu": 9000, "socketPath": "/s", "pciID": "0000:00:01.0"}
    parsed = parse_result({"cniVersion": "1.1.0", "interfaces": [interface]})
    assert render_result(parsed, "1.1.0")["interfaces"] == [interface]
    assert render_result(parsed, "1.0.0")["interfaces"] == [{"name": "net1", "mac": "aa:bb:cc:dd:ee:01", "sandbox": "/run/netns/x"}]


def test_other_plugins_host_bits_in_dst_are_tolerated() -> None:
    parsed = parse_result({"cniVersion": "1.0.0", "routes": [{"dst": "10.9.1.1/16"}]})
    assert str(parsed.routes[0].dst) == "10.9.0.0/16"


@pytest.mark.parametrize(
    "document, path",
    [
        ({"ips": [{"address": "10.1.0.5"}]}, "prevResult.ips[0].address"),
        ({"ips": [{"address": "10.1.0.5/16", "gateway": "2001:db8::1"}]}, "prevResult.ips[0].gateway"),
        ({"ips": [{"address": "10.1.0.5/16", "version": "6"}]}, "prevResult.ips[0].version"),
        ({"ips": [{"address": "10.1.0.5/16", "interface": 3}], "interfaces": [{"name": "a"}]}, "prevResult.ips[0].interface"),
        ({"interfaces": [{"mac": "x"}]}, "prevResult.interfaces[0].name"),
        ({"routes": [{"gw": "10.0.0.1"}]}, "prevResult.routes[0]"),
        ({"routes": "none"}, "prevResult.routes"),
        ({"ip4": {"ip": "2001:db8::5/64"}}, "prevResult.ip4.ip"),
    ],
)
def test_invalid_results_name_the_key_path(document: dict, path: str) -> None:
    with pytest.raises(CniError) as raised:
        parse_result(document)
    assert raised.value.code == 7 and raised.value.msg.startswith(path + ":")
