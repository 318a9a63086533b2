"""ro.addresses against the standard library's ipaddress, its second opinion (no root)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ro.addresses import Address, ip_address, ip_interface, ip_network

v4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
v6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))).filter(lambda t: not t.startswith("::ffff:"))
addresses = v4 | v6


@given(text=addresses)
def test_addresses_read_and_print_as_ipaddress_does(text: str) -> None:
    ours, theirs = ip_address(text), ipaddress.ip_address(text)
    assert (str(ours), ours.packed, ours.version, ours.is_unspecified) == (str(theirs), theirs.packed, theirs.version, theirs.is_unspecified)


@given(text=addresses, data=st.data())
def test_networks_read_and_mask_as_ipaddress_does(text: str, data: st.DataObject) -> None:
    length = data.draw(st.integers(0, 32 if "." in text else 128))
    ours, theirs = ip_network(f"{text}/{length}", strict=False), ipaddress.ip_network(f"{text}/{length}", strict=False)
    assert (str(ours), ours.prefixlen, ours.version) == (str(theirs), theirs.prefixlen, theirs.version)
    assert ours.is_link_local == (theirs.version == 6 and theirs.is_link_local)
    strict_ok = theirs.network_address == ipaddress.ip_address(text)
    if strict_ok:
        assert ip_network(f"{text}/{length}") == ours
    else:
        with pytest.raises(ValueError):
            ip_network(f"{text}/{length}")
    interface = ip_interface(f"{text}/{length}")
    assert (str(interface), interface.network) == (str(ipaddress.ip_interface(f"{text}/{length}")), ours)


@pytest.mark.parametrize(
    "text", ["10.0.0.01", "1.2.3", "256.1.1.1", "1.2.3.4 ", "0x1.2.3.4", "fe80::1%eth0", "1::2::3", "", "10.0.0.1\x00", "1:2:3:4:5:6:7:8:9"]
)
def test_what_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ip_address(text)


@pytest.mark.parametrize("text", ["10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.0/8/8", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/ 8"])
def test_what_is_not_a_network_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ip_network(text, strict=False)


def test_values_compare_and_hash_by_their_bytes() -> None:
    assert ip_address("2001:DB8:0::1") == ip_address("2001:db8::1") and len({ip_address("10.0.0.1"), ip_address("10.0.0.1")}) == 1
    assert ip_network("10.1.0.0/16") != ip_network("10.1.0.0/17") and ip_address("10.0.0.1") != Address(bytes(16))
    assert ip_network("fe80::/64").is_link_local and not ip_network("fe80::/9").is_link_local and not ip_network("169.254.0.0/16").is_link_local
