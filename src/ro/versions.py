"""The CNI spec versions this plugin speaks, and how to compare them."""

from __future__ import annotations

SUPPORTED = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST = SUPPORTED[-1]

# The first version of each feature, by the spec.
CHECK_SINCE = "0.4.0"
INTERFACES_SINCE = "0.3.0"  # results with interfaces/ips instead of ip4/ip6
UNVERSIONED_IPS_SINCE = "1.0.0"  # ips[] entries lose their "version" key
STATUS_SINCE = "1.1.0"  # STATUS and GC
ROUTE_FIELDS_SINCE = "1.1.0"  # route mtu/advmss/priority/table/scope, interface mtu/socketPath/pciID


def at_least(version: str, floor: str) -> bool:
    """True when `version` is `floor` or newer; both must be supported."""
    return SUPPORTED.index(version) >= SUPPORTED.index(floor)
