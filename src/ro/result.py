"""The CNI result in every spec version, parsed into one model and printed back.

0.1.0/0.2.0 results carry `ip4`/`ip6` objects with their own routes and no
interfaces; 0.3.x/0.4.0 carry `interfaces`, `ips` (with "version") and
`routes`; 1.0.0 drops `ips[].version`; 1.1.0 adds route fields (mtu, advmss,
priority, table, scope) and interface fields (mtu, socketPath, pciID).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional

from . import fields
from .versions import INTERFACES_SINCE, ROUTE_FIELDS_SINCE, UNVERSIONED_IPS_SINCE, at_least

if TYPE_CHECKING:
    from .fields import IPAddress, IPInterface, IPNetwork

# Route fields the spec added in 1.1.0, with their JSON type bounds.
EXTRA_ROUTE_FIELDS = {
    "mtu": 2**32 - 1,
    "advmss": 2**32 - 1,
    "priority": 2**32 - 1,
    "table": 2**32 - 1,
    "scope": 255,
}
ROUTE_KEYS = ("dst", "gw", *EXTRA_ROUTE_FIELDS)


@dataclass(frozen=True)
class Route:
    """A CNI route object; `gw` absent means "via the interface's gateway"."""

    dst: IPNetwork
    gw: Optional[IPAddress] = None
    mtu: Optional[int] = None
    advmss: Optional[int] = None
    priority: Optional[int] = None
    table: Optional[int] = None
    scope: Optional[int] = None

    @property
    def version(self) -> int:
        return self.dst.version


@dataclass(frozen=True)
class Interface:
    name: str
    mac: Optional[str] = None
    sandbox: Optional[str] = None
    mtu: Optional[int] = None
    socket_path: Optional[str] = None
    pci_id: Optional[str] = None


@dataclass(frozen=True)
class IPConfig:
    address: IPInterface
    gateway: Optional[IPAddress] = None
    interface: Optional[int] = None  # index into Result.interfaces

    @property
    def version(self) -> int:
        return self.address.version


@dataclass(frozen=True)
class Result:
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    dns: Optional[dict] = None

    def gateway(self, version: int, interface: Optional[int] = None) -> Optional[IPAddress]:
        """The gateway a gw-less route of this IP version goes via.

        The spec's rule: the gateway of the `ips` entry of the same family,
        preferring entries of `interface` (the index of the interface the
        route is added to) over entries of other or unnamed interfaces.
        """
        candidates = [ip for ip in self.ips if ip.version == version and ip.gateway is not None]
        for ip in candidates:
            if ip.interface == interface:
                return ip.gateway
        return candidates[0].gateway if candidates else None

    def without_gateways(self) -> "Result":
        return replace(self, ips=tuple(replace(ip, gateway=None) for ip in self.ips))


# ---- parsing -------------------------------------------------------------


def parse_route(obj: Any, path: str, *, from_user: bool, extra_fields: bool) -> Route:
    """One route object.

    `from_user` (a config, not another plugin's result) rejects unknown keys
    and host bits in `dst`; `extra_fields` allows the 1.1.0 fields.
    """
    if not isinstance(obj, dict):
        raise fields.invalid(path, "must be an object like {\"dst\": \"10.0.0.0/8\"}", obj)
    if from_user:
        for key in obj:
            if key not in ROUTE_KEYS:
                raise fields.invalid(
                    fields.key_path(path, key), f"unknown route key (known: {', '.join(ROUTE_KEYS)})", obj[key]
                )
    if "dst" not in obj:
        raise fields.invalid(path, "has no dst", obj)
    dst = fields.cidr(obj["dst"], fields.key_path(path, "dst"), strict=from_user)
    gw = None
    if obj.get("gw") is not None:
        gw_path = fields.key_path(path, "gw")
        gw = fields.address(obj["gw"], gw_path)
        if gw.version != dst.version:
            raise fields.invalid(gw_path, f"is IPv{gw.version} but dst {dst} is IPv{dst.version}", obj["gw"])
    extras = {}
    for key, largest in EXTRA_ROUTE_FIELDS.items():
        if obj.get(key) is None:
            continue
        key_path = fields.key_path(path, key)
        if not extra_fields:
            raise fields.invalid(key_path, "needs cniVersion 1.1.0", obj[key])
        extras[key] = fields.uint(obj[key], key_path, largest)
    if extras.get("table") == 0:
        raise fields.invalid(fields.key_path(path, "table"), "must be a table id from 1", 0)
    return Route(dst=dst, gw=gw, **extras)


def _parse_interface(obj: Any, path: str) -> Interface:
    if not isinstance(obj, dict):
        raise fields.invalid(path, "must be an object", obj)
    name = fields.optional_string(obj, "name", path)
    if not name:
        raise fields.invalid(fields.key_path(path, "name"), "must be a non-empty string", obj.get("name"))
    mtu = obj.get("mtu")
    return Interface(
        name=name,
        mac=fields.optional_string(obj, "mac", path),
        sandbox=fields.optional_string(obj, "sandbox", path) or None,
        mtu=None if mtu is None else fields.uint(mtu, fields.key_path(path, "mtu"), 2**32 - 1),
        socket_path=fields.optional_string(obj, "socketPath", path),
        pci_id=fields.optional_string(obj, "pciID", path),
    )


def _parse_ip(obj: Any, path: str, interface_count: int) -> IPConfig:
    if not isinstance(obj, dict):
        raise fields.invalid(path, "must be an object", obj)
    address = fields.interface_address(obj.get("address"), fields.key_path(path, "address"))
    version = obj.get("version")
    if version is not None and version != str(address.version):
        raise fields.invalid(fields.key_path(path, "version"), f"does not match address {address}", version)
    gateway = None
    if obj.get("gateway") is not None:
        gateway = fields.address(obj["gateway"], fields.key_path(path, "gateway"))
        if gateway.version != address.version:
            raise fields.invalid(fields.key_path(path, "gateway"), f"is not IPv{address.version}", obj["gateway"])
    interface = obj.get("interface")
    if interface is not None:
        interface = fields.uint(interface, fields.key_path(path, "interface"), max(interface_count - 1, 0))
        if interface_count == 0:
            raise fields.invalid(fields.key_path(path, "interface"), "names an interface but there are none", interface)
    return IPConfig(address=address, gateway=gateway, interface=interface)


def _parse_routes(items: Optional[list], path: str) -> list[Route]:
    return [
        parse_route(item, fields.key_path(path, i), from_user=False, extra_fields=True)
        for i, item in enumerate(items or ())
    ]


def parse_result(obj: Any, path: str = "prevResult") -> Result:
    """A result of any supported version, told apart by its shape."""
    if not isinstance(obj, dict):
        raise fields.invalid(path, "must be an object", obj)
    dns = fields.optional_object(obj, "dns", path)
    if "ip4" in obj or "ip6" in obj:
        return _parse_legacy(obj, path, dns)
    interfaces = [
        _parse_interface(item, fields.key_path(fields.key_path(path, "interfaces"), i))
        for i, item in enumerate(fields.optional_list(obj, "interfaces", path) or ())
    ]
    ips = [
        _parse_ip(item, fields.key_path(fields.key_path(path, "ips"), i), len(interfaces))
        for i, item in enumerate(fields.optional_list(obj, "ips", path) or ())
    ]
    routes = _parse_routes(fields.optional_list(obj, "routes", path), fields.key_path(path, "routes"))
    return Result(tuple(interfaces), tuple(ips), tuple(routes), dns)


def _parse_legacy(obj: dict, path: str, dns: Optional[dict]) -> Result:
    """0.1.0/0.2.0: an ip4 and an ip6 object, each with its own routes."""
    ips: list[IPConfig] = []
    routes: list[Route] = []
    for key, version in (("ip4", 4), ("ip6", 6)):
        section = fields.optional_object(obj, key, path)
        if section is None:
            continue
        section_path = fields.key_path(path, key)
        ip = _parse_ip({"address": section.get("ip"), "gateway": section.get("gateway")}, section_path, 0)
        if ip.version != version:
            raise fields.invalid(fields.key_path(section_path, "ip"), f"is not IPv{version}", section.get("ip"))
        ips.append(ip)
        routes.extend(
            _parse_routes(fields.optional_list(section, "routes", section_path), fields.key_path(section_path, "routes"))
        )
    return Result((), tuple(ips), tuple(routes), dns)


# ---- printing ------------------------------------------------------------


def render_route(route: Route, version: str) -> dict:
    out: dict[str, Any] = {"dst": str(route.dst)}
    if route.gw is not None:
        out["gw"] = str(route.gw)
    if at_least(version, ROUTE_FIELDS_SINCE):
        for key in EXTRA_ROUTE_FIELDS:
            value = getattr(route, key)
            if value is not None:
                out[key] = value
    return out


def _render_interface(interface: Interface, version: str) -> dict:
    out: dict[str, Any] = {"name": interface.name}
    optional: list[tuple[str, object]] = [("mac", interface.mac), ("sandbox", interface.sandbox)]
    if at_least(version, ROUTE_FIELDS_SINCE):
        optional += [("mtu", interface.mtu), ("socketPath", interface.socket_path), ("pciID", interface.pci_id)]
    out.update((key, value) for key, value in optional if value is not None)
    return out


def _render_ip(ip: IPConfig, version: str) -> dict:
    out: dict[str, Any] = {}
    if not at_least(version, UNVERSIONED_IPS_SINCE):
        out["version"] = str(ip.version)
    if ip.interface is not None:
        out["interface"] = ip.interface
    out["address"] = str(ip.address)
    if ip.gateway is not None:
        out["gateway"] = str(ip.gateway)
    return out


def render_result(result: Result, version: str) -> dict:
    """The result as the JSON object of spec `version`."""
    out: dict[str, Any] = {"cniVersion": version}
    if not at_least(version, INTERFACES_SINCE):
        for key, family in (("ip4", 4), ("ip6", 6)):
            ip = next((ip for ip in result.ips if ip.version == family), None)
            if ip is None:
                continue
            section: dict[str, Any] = {"ip": str(ip.address)}
            if ip.gateway is not None:
                section["gateway"] = str(ip.gateway)
            routes = [render_route(r, version) for r in result.routes if r.version == family]
            if routes:
                section["routes"] = routes
            out[key] = section
    else:
        if result.interfaces:
            out["interfaces"] = [_render_interface(i, version) for i in result.interfaces]
        if result.ips:
            out["ips"] = [_render_ip(ip, version) for ip in result.ips]
        if result.routes:
            out["routes"] = [render_route(r, version) for r in result.routes]
    if result.dns is not None:
        out["dns"] = result.dns
    return out
