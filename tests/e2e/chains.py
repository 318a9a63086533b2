"""The conflists the end-to-end tests run, and what they should leave behind."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from netns import Namespace, wait_for

REFERENCE_PLUGINS = Path("/usr/lib/cni")
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def need(*tools: str) -> None:
    for tool in tools:
        if not shutil.which(tool, path=CLEAN_PATH):
            pytest.fail(f"{tool} is missing: make setup installs it")


def write_json(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


@dataclass
class Chain:
    """What a conflist's interface plugin hands out, for building expectations."""

    name: str
    subnet: str
    gateway: str  # where the IPAM routes go
    other_gateway: str  # another address in the subnet, for addroutes
    ips_gateway: bool  # whether the result's ips carry `gateway` too

    def base_routes(self, dev: str = "eth0") -> set[str]:
        return {f"default via {self.gateway} dev {dev}", f"10.123.0.0/16 via {self.gateway} dev {dev}", f"{self.subnet} dev {dev}"}


# host-local hands out a gateway in ips; the static config here gives routes
# explicit gws instead (test_libcni.py runs static with an address gateway
# too: flushgateway keeps it in the result, where static's CHECK looks).
BRIDGE = Chain("bridge", "203.0.113.0/24", "203.0.113.1", "203.0.113.254", ips_gateway=True)
MACVLAN = Chain("macvlan", "198.51.100.0/24", "198.51.100.1", "198.51.100.254", ips_gateway=False)


def interface_plugin(chain: Chain, work: Path, bridge: str = "robr0", master: str = "mvup", static_gateway: bool = False) -> dict:
    """The first plugin of a chain, with IPAM routes: a default, and
    10.123.0.0/16 with an explicit gw (the 1.1.1 plugins' CHECK mishandles
    gw-less non-default routes, see test_libcni.py)."""
    routes = [{"dst": "0.0.0.0/0"}, {"dst": "10.123.0.0/16", "gw": chain.gateway}]
    if chain is BRIDGE:
        return {
            "type": "bridge",
            "bridge": bridge,
            "isGateway": True,
            "ipMasq": False,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": chain.subnet, "gateway": chain.gateway}]],
                "routes": routes,
                "dataDir": str(work / "host-local"),
            },
        }
    address = {"address": "198.51.100.10/24"}
    if static_gateway:
        address["gateway"] = chain.gateway
    else:
        routes[0]["gw"] = chain.gateway
    return {"type": "macvlan", "master": master, "mode": "bridge", "ipam": {"type": "static", "addresses": [address], "routes": routes}}


def conflist(chain: Chain, version: str, work: Path, route_override: dict, name: str = "ro-e2e", **kwargs: object) -> dict:
    return {
        "cniVersion": version,
        "name": name,
        "plugins": [interface_plugin(chain, work, **kwargs), {"type": "route-override", **route_override}],
    }


# Whether the container's eth0 takes a default route from IPv6 Router
# Advertisements; route-override sets it to 0 where it deletes the default.
ACCEPT_RA_DEFRTR = "net/ipv6/conf/eth0/accept_ra_defrtr"


def ipv6_defaults(namespace: Namespace, dev: str = "eth0") -> list[dict]:
    """The namespace's IPv6 default routes on `dev`, whoever made them."""
    return [route for route in namespace.routes_detailed(6) if route["dst"] == "default" and route.get("dev") == dev]


def wait_for_ra_default(namespace: Namespace, dev: str = "eth0") -> dict:
    """Until a Router Advertisement has put a default route on `dev` (via the router's link-local address)."""
    (route,) = wait_for(lambda: ipv6_defaults(namespace, dev), f"an RA default route on {dev}", timeout=20)
    assert route.get("protocol") == "ra" and route["gateway"].startswith("fe80::"), route
    return route
