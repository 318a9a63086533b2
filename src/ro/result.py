"""The CNI result in every spec version, parsed into one model and printed back.

0.1.0/0.2.0 results carry `ip4`/`ip6` objects with their own routes and no
interfaces; 0.3.x/0.4.0 carry `interfaces`, `ips` (with "version") and
`routes`; 1.0.0 drops `ips[].version`; 1.1.0 adds route fields (mtu, advmss,
priority, table, scope) and interface fields (mtu, socketPath, pciID).
"""

from __future__ import annotations

from . import fields
from .record import record, replace
from .versions import INTERFACES_SINCE, ROUTE_FIELDS_SINCE, UNVERSIONED_IPS_SINCE, at_least

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Collection, Optional
    from .addresses import Address, InterfaceAddress, Network

# Route fields the spec added in 1.1.0, with their JSON type bounds.
EXTRA_ROUTE_FIELDS = {
    "mtu": 2**32 - 1,
    "advmss": 2**32 - 1,
    "priority": 2**32 - 1,
    "table": 2**32 - 1,
    "scope": 255,
}


@record
class Route:
    """A CNI route object; `gw` absent means "via the interface's gateway".

    `gws` (the CNI proposal for ECMP, written by route-override) lists the
    next hops of a multipath route; a route has `gw` or `gws`, never both.
    """

    dst: Network
    gw: Optional[Address] = None
    gws: tuple[Address, ...] = ()
    mtu: Optional[int] = None
    advmss: Optional[int] = None
    priority: Optional[int] = None
    table: Optional[int] = None
    scope: Optional[int] = None

    @property
    def version(self) -> int:
        return self.dst.version


@record
class Interface:
    name: str
    mac: Optional[str] = None
    sandbox: Optional[str] = None
    mtu: Optional[int] = None
    socket_path: Optional[str] = None
    pci_id: Optional[str] = None


@record
class IPConfig:
    address: InterfaceAddress
    gateway: Optional[Address] = None
    interface: Optional[int] = None  # index into Result.interfaces

    @property
    def version(self) -> int:
        return self.address.version


@record
class Result:
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    dns: Optional[dict] = None

    def gateway(self, version: int, interface: Optional[int] = None) -> Optional[Address]:
        """The gateway a gw-less route of this IP version goes via.

        The spec's rule: the gateway of the `ips` entry of the same family,
        of `interface` (the index of the interface the route belongs to),
        else of an entry that names no interface. Another interface's
        gateway is never borrowed: it is not on this link.
        """
        unnamed = None
        for ip in self.ips:
            if ip.version != version or ip.gateway is None:
                continue
            if ip.interface == interface:
                return ip.gateway
            if ip.interface is None and unnamed is None:
                unnamed = ip.gateway
        return unnamed

    def without_gateways(self, versions: Collection[int] = (4, 6)) -> "Result":
        """The result without the ips gateways of these IP versions."""
        return replace(self, ips=tuple(replace(ip, gateway=None) if ip.version in versions else ip for ip in self.ips))


# ---- parsing -------------------------------------------------------------


def gateways(obj: dict, path: str, dst: Network) -> tuple[Address, ...]:
    """The next hops of a route object: `gws` followed by `gw` unless `gws`
    has it (the merge rule of the CNI ECMP proposal); () without either.

    The unspecified address (0.0.0.0, ::) as `gw` means no gateway: the Go
    original writes it into results. In `gws` it is an error, as is any
    address of the other family or one listed twice.
    """
    hops: list[Address] = []
    if obj.get("gws") is not None:
        gws_path = fields.key_path(path, "gws")
        items = obj["gws"]
        if not isinstance(items, list) or not items:
            raise fields.invalid(gws_path, "must be a non-empty list of IP addresses", items)
        for i, item in enumerate(items):
            hop_path = fields.key_path(gws_path, i)
            hop = fields.gateway(item, hop_path, dst)
            if hop is None:
                raise fields.invalid(hop_path, "the unspecified address is not a next hop", item)
            if hop in hops:
                raise fields.invalid(hop_path, f"repeats {gws_path}[{hops.index(hop)}]", item)
            hops.append(hop)
    if obj.get("gw") is not None:
        gw = fields.gateway(obj["gw"], fields.key_path(path, "gw"), dst)
        if gw is not None and gw not in hops:
            hops.append(gw)
    return tuple(hops)


def route_fields(obj: dict, path: str, extra_fields: bool, version: int) -> dict[str, int]:
    """The 1.1.0 route fields present in `obj`; before 1.1.0 they are an error
    (they would otherwise be silently ignored).

    Values the kernel reads as "not set" are read so here too, so that ADD,
    the result, CHECK and DEL agree: an mtu or advmss of 0, and an IPv6
    priority of 0 (the kernel makes it 1024, as for no priority).
    """
    extras = {}
    for key, largest in EXTRA_ROUTE_FIELDS.items():
        if obj.get(key) is None:
            continue
        key_path = fields.key_path(path, key)
        if not extra_fields:
            raise fields.invalid(key_path, "needs cniVersion 1.1.0", obj[key])
        value = fields.uint(obj[key], key_path, largest)
        if value or key in ("table", "scope") or (key == "priority" and version == 4):
            extras[key] = value
    if extras.get("table") == 0:
        raise fields.invalid(fields.key_path(path, "table"), "must be a table id from 1", 0)
    return extras


def extras_of(route: Any) -> dict[str, int]:
    """The 1.1.0 fields a route (or an addroutes entry) sets."""
    return {key: getattr(route, key) for key in EXTRA_ROUTE_FIELDS if getattr(route, key) is not None}


def route(dst: Network, hops: tuple[Address, ...], **extras: Any) -> Route:
    """A result route through `hops`: `gw` for one, `gws` for several."""
    if len(hops) > 1:
        return Route(dst=dst, gws=hops, **extras)
    return Route(dst=dst, gw=hops[0] if hops else None, **extras)


def parse_route(obj: Any, path: str) -> Route:
    """One route of another plugin's result (unknown keys are theirs to have)."""
    if not isinstance(obj, dict):
        raise fields.invalid(path, "must be an object like {\"dst\": \"10.0.0.0/8\"}", obj)
    if "dst" not in obj:
        raise fields.invalid(path, "has no dst", obj)
    dst = fields.cidr(obj["dst"], fields.key_path(path, "dst"), strict=False)
    return route(dst, gateways(obj, path, dst), **route_fields(obj, path, True, dst.version))


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
        gateway = fields.gateway(obj["gateway"], fields.key_path(path, "gateway"), address.network)
    interface = obj.get("interface")
    if interface is not None:
        interface = fields.uint(interface, fields.key_path(path, "interface"), max(interface_count - 1, 0))
        if interface_count == 0:
            raise fields.invalid(fields.key_path(path, "interface"), "names an interface but there are none", interface)
    return IPConfig(address=address, gateway=gateway, interface=interface)


def _parse_routes(items: Optional[list], path: str) -> list[Route]:
    return [parse_route(item, fields.key_path(path, i)) for i, item in enumerate(items or ())]


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
    if route.gws:
        out["gws"] = [str(hop) for hop in route.gws]
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
