"""The planner: config + the namespace's routes + prevResult -> the changes.

Pure: no I/O and no pyroute2, so every rule of the design (flushroutes,
flushgateway, delroutes, addroutes, and what CHECK and DEL look for) is a
function here, named after its config key and testable without root.

Order of work, always: 1 flushroutes, 2 flushgateway, 3 delroutes,
4 addroutes; so a delroutes + addroutes of the same dst replaces a route.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional, Sequence

from .config import PluginConfig
from .result import Result, Route

if TYPE_CHECKING:
    from .fields import IPAddress, IPNetwork

MAIN_TABLE = 254
SCOPE_UNIVERSE = 0
SCOPE_LINK = 253
RTN_UNICAST = 1
# rtm_protocol of the routes this plugin adds: DEL removes only those, and
# `ip route show proto 114` shows an operator which ones they are.
PROTO_ROUTE_OVERRIDE = 114
# What the kernel gives a route added without a priority.
DEFAULT_PRIORITY = {4: 0, 6: 1024}
TABLE_NAMES = {253: "default", 254: "main", 255: "local"}

ADD = "add"
DELETE = "delete"


@dataclass(frozen=True)
class KernelRoute:
    """A route as the kernel holds it (or as this plugin will add it)."""

    dst: IPNetwork
    oif: Optional[int]  # None for multipath, blackhole and similar routes
    gateway: Optional[IPAddress] = None
    table: int = MAIN_TABLE
    priority: int = 0
    scope: int = SCOPE_UNIVERSE
    protocol: int = 0
    type: int = RTN_UNICAST
    mtu: Optional[int] = None
    advmss: Optional[int] = None
    # The kernel's own netlink message for this route, so the netlink layer
    # deletes and restores exactly what it dumped.
    wire: bytes = field(default=b"", compare=False, repr=False)


@dataclass(frozen=True)
class Targets:
    """Which interfaces this invocation may change, by name."""

    names: tuple[str, ...]  # every sandbox interface of prevResult
    add_to: str  # the one addroutes go to
    add_to_index: Optional[int]  # its index in prevResult.interfaces


@dataclass(frozen=True)
class Step:
    action: str  # ADD or DELETE
    route: KernelRoute
    reason: str  # the config key that asks for it, e.g. "delroutes[1]"


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    result: Result


def targets(prev_result: Optional[Result], ifname: str) -> Targets:
    """The sandbox interfaces of prevResult; CNI_IFNAME when it lists none."""
    interfaces = prev_result.interfaces if prev_result else ()
    sandboxed = [(i, iface.name) for i, iface in enumerate(interfaces) if iface.sandbox]
    if not sandboxed:
        return Targets(names=(ifname,), add_to=ifname, add_to_index=None)
    index, name = next(((i, n) for i, n in sandboxed if n == ifname), sandboxed[0])
    return Targets(names=tuple(n for _, n in sandboxed), add_to=name, add_to_index=index)


# ---- the rules -------------------------------------------------------------


def is_default(dst: IPNetwork) -> bool:
    return dst.prefixlen == 0


def next_hop(route: Route, result: Result, interface: Optional[int]) -> Optional[IPAddress]:
    """Where a result route goes: its gw, else the ips gateway of its family, else on-link (None)."""
    return route.gw if route.gw is not None else result.gateway(route.version, interface)


def flushroutes_deletes(route: KernelRoute, oifs: frozenset) -> bool:
    """flushroutes: every gateway route and default route on the target
    interfaces, in the main table; connected (gateway-less) routes and IPv6
    link-local routes stay."""
    return (
        route.oif in oifs
        and route.table == MAIN_TABLE
        and route.type == RTN_UNICAST
        and (route.gateway is not None or is_default(route.dst))
        and not (route.dst.version == 6 and route.dst.is_link_local)
    )


def flushroutes_drops(route: Route, result: Result, interface: Optional[int]) -> bool:
    """flushroutes, on the result: the routes that go via a gateway, and defaults."""
    return (
        (route.table or MAIN_TABLE) == MAIN_TABLE
        and (next_hop(route, result, interface) is not None or is_default(route.dst))
        and not (route.version == 6 and route.dst.is_link_local)
    )


def flushgateway_deletes(route: KernelRoute, oifs: frozenset) -> bool:
    """flushgateway: the default routes (0.0.0.0/0, ::/0) on the target
    interfaces, in the main table."""
    return route.oif in oifs and route.table == MAIN_TABLE and route.type == RTN_UNICAST and is_default(route.dst)


def flushgateway_drops(route: Route) -> bool:
    return (route.table or MAIN_TABLE) == MAIN_TABLE and is_default(route.dst)


def delroutes_deletes(entry: Route, route: KernelRoute, oifs: frozenset) -> bool:
    """delroutes: routes on the target interfaces whose destination equals
    `dst`, in `table` (default main), and via `gw` when the entry gives one."""
    return (
        route.oif in oifs
        and route.type == RTN_UNICAST
        and route.table == (entry.table or MAIN_TABLE)
        and route.dst == entry.dst
        and (entry.gw is None or route.gateway == entry.gw)
    )


def delroutes_drops(entry: Route, route: Route, result: Result, interface: Optional[int]) -> bool:
    return (
        (route.table or MAIN_TABLE) == (entry.table or MAIN_TABLE)
        and route.dst == entry.dst
        and (entry.gw is None or next_hop(route, result, interface) == entry.gw)
    )


def addroutes_route(entry: Route, result: Result, oif: int, interface: Optional[int]) -> KernelRoute:
    """addroutes: the kernel route for one entry. Without `gw` it goes via
    the gateway of the result's ips entry of the same family (as the result
    stands after flushgateway), and is on-link when there is none."""
    gateway = next_hop(entry, result, interface)
    if entry.scope is not None:
        scope = entry.scope
    elif gateway is None and entry.version == 4:
        scope = SCOPE_LINK
    else:
        scope = SCOPE_UNIVERSE
    return KernelRoute(
        dst=entry.dst,
        oif=oif,
        gateway=gateway,
        table=entry.table or MAIN_TABLE,
        priority=DEFAULT_PRIORITY[entry.version] if entry.priority is None else entry.priority,
        scope=scope,
        protocol=PROTO_ROUTE_OVERRIDE,
        mtu=entry.mtu,
        advmss=entry.advmss,
    )


def same_route(wanted: KernelRoute, present: KernelRoute) -> bool:
    """True when `present` already is the route `wanted` would add."""
    return (
        wanted.dst == present.dst
        and wanted.oif == present.oif
        and wanted.gateway == present.gateway
        and wanted.table == present.table
        and wanted.priority == present.priority
        and (wanted.mtu is None or wanted.mtu == present.mtu)
        and (wanted.advmss is None or wanted.advmss == present.advmss)
    )


# ---- ADD -------------------------------------------------------------------


def _by_destination(entries: Sequence[Route]) -> dict[tuple, list[tuple[int, Route]]]:
    """Config entries (with their index) by (dst, table): one lookup per route, not one scan per entry."""
    index: dict[tuple, list[tuple[int, Route]]] = {}
    for i, entry in enumerate(entries):
        index.setdefault((entry.dst, entry.table or MAIN_TABLE), []).append((i, entry))
    return index


class _Planner:
    """Builds a Plan step by step; `remaining` is the table as it will be,
    by (dst, table), so that no rule costs more than one pass over the routes."""

    def __init__(self, observed: Sequence[KernelRoute]) -> None:
        self.remaining: dict[tuple, list[KernelRoute]] = {}
        for route in observed:
            self.remaining.setdefault((route.dst, route.table), []).append(route)
        self.steps: list[Step] = []

    def delete(self, matches: Callable[[KernelRoute], Optional[str]], keys: Optional[Iterable[tuple]] = None) -> None:
        """Plan deleting each route for which `matches` names a reason
        (looking only under `keys`, when given)."""
        for key in self.remaining if keys is None else keys:
            kept = []
            for route in self.remaining.get(key, ()):
                reason = matches(route)
                if reason:
                    self.steps.append(Step(DELETE, route, reason))
                else:
                    kept.append(route)
            self.remaining[key] = kept

    def add(self, route: KernelRoute, reason: str) -> None:
        present = self.remaining.setdefault((route.dst, route.table), [])
        if any(same_route(route, other) for other in present):
            return
        self.steps.append(Step(ADD, route, reason))
        present.append(route)


def plan_add(
    config: PluginConfig, chosen: Targets, links: Mapping[str, int], observed: Sequence[KernelRoute]
) -> Plan:
    """What ADD changes: deletions first, in rule order, then additions."""
    assert config.prev_result is not None
    result = config.prev_result
    oifs = frozenset(links[name] for name in chosen.names)
    interface = chosen.add_to_index
    planner = _Planner(observed)

    if config.flushroutes:
        planner.delete(lambda r: "flushroutes" if flushroutes_deletes(r, oifs) else None)
        result = replace(result, routes=tuple(r for r in result.routes if not flushroutes_drops(r, result, interface)))
    if config.flushgateway:
        planner.delete(lambda r: "flushgateway" if flushgateway_deletes(r, oifs) else None)
        result = replace(result, routes=tuple(r for r in result.routes if not flushgateway_drops(r)))
        result = result.without_gateways()
    if config.delroutes:
        entries = _by_destination(config.delroutes)
        planner.delete(
            lambda r: next((f"delroutes[{i}]" for i, e in entries[(r.dst, r.table)] if delroutes_deletes(e, r, oifs)), None),
            keys=list(entries),
        )
        result = replace(
            result,
            routes=tuple(
                r
                for r in result.routes
                if not any(delroutes_drops(e, r, result, interface) for _, e in entries.get((r.dst, r.table or MAIN_TABLE), ()))
            ),
        )
    listed = set(result.routes)
    added = []
    for i, entry in enumerate(config.addroutes):
        planner.add(addroutes_route(entry, result, links[chosen.add_to], interface), f"addroutes[{i}]")
        if entry not in listed:
            listed.add(entry)
            added.append(entry)
    return Plan(tuple(planner.steps), replace(result, routes=result.routes + tuple(added)))


# ---- DEL -------------------------------------------------------------------


def plan_del(config: PluginConfig, chosen: Targets, links: Mapping[str, int], observed: Sequence[KernelRoute]) -> Plan:
    """What DEL removes: the routes addroutes added (marked with our
    protocol) that are still there. Routes ADD deleted are not restored:
    the container is going away."""
    oifs = frozenset(links[name] for name in chosen.names if name in links)
    entries = _by_destination(config.addroutes)

    def added_by(route: KernelRoute) -> Optional[str]:
        if route.protocol != PROTO_ROUTE_OVERRIDE:
            return None
        for i, entry in entries[(route.dst, route.table)]:
            if delroutes_deletes(entry, route, oifs) and (entry.priority is None or route.priority == entry.priority):
                return f"addroutes[{i}]"
        return None

    planner = _Planner(observed)
    planner.delete(added_by, keys=list(entries))
    return Plan(tuple(planner.steps), config.prev_result or Result())


# ---- CHECK -----------------------------------------------------------------


def check(
    config: PluginConfig, chosen: Targets, links: Mapping[str, int], observed: Sequence[KernelRoute]
) -> list[str]:
    """Every way the namespace differs from the final result: a listed route
    missing or with another next hop, or a deleted route present again.
    Lookups are exact on (destination, table), never longest-prefix."""
    assert config.prev_result is not None
    result = config.prev_result
    names = {index: name for name, index in links.items()}
    oifs = frozenset(links[name] for name in chosen.names)
    mine: dict[tuple, list[KernelRoute]] = {}
    for present in observed:
        if present.oif in oifs:
            mine.setdefault((present.dst, present.table), []).append(present)
    problems = []
    expected = set()
    for i, listed in enumerate(result.routes):
        hop = next_hop(listed, result, chosen.add_to_index)
        table = listed.table or MAIN_TABLE
        expected.add((listed.dst, table, hop))
        same_dst = [r for r in mine.get((listed.dst, table), ()) if listed.priority is None or r.priority == listed.priority]
        if not same_dst:
            problems.append(f"prevResult.routes[{i}] {describe_route(listed)}: no such route on {', '.join(chosen.names)}")
        elif not any(r.gateway == hop for r in same_dst):
            found = ", ".join(describe(r, names) for r in same_dst)
            problems.append(f"prevResult.routes[{i}] {describe_route(listed)}: expected {describe_hop(hop)}, found {found}")
    deletions = _by_destination(config.delroutes)
    for key, routes in mine.items():
        for present in routes:
            reason = _deleted_by(config, present, oifs, deletions.get(key, ()))
            if reason and (present.dst, present.table, present.gateway) not in expected:
                problems.append(f"{describe(present, names)} is present again, but {reason} deletes it")
    return problems


def _deleted_by(config: PluginConfig, route: KernelRoute, oifs: frozenset, delroutes: Iterable[tuple[int, Route]]) -> Optional[str]:
    """The config key that deletes `route` at ADD, if any (`delroutes`: the entries of its destination)."""
    if config.flushroutes and flushroutes_deletes(route, oifs):
        return "flushroutes"
    if config.flushgateway and flushgateway_deletes(route, oifs):
        return "flushgateway"
    return next((f"delroutes[{i}]" for i, entry in delroutes if delroutes_deletes(entry, route, oifs)), None)


# ---- words for humans --------------------------------------------------------


def describe_hop(gateway: Optional[IPAddress]) -> str:
    return f"via {gateway}" if gateway is not None else "on-link (no gateway)"


def describe_route(route: Route) -> str:
    text = str(route.dst) + (f" via {route.gw}" if route.gw is not None else "")
    if route.table is not None:
        text += f" table {TABLE_NAMES.get(route.table, route.table)}"
    return text


def describe(route: KernelRoute, names: Mapping[int, str]) -> str:
    """A kernel route in `ip route` words."""
    text = "default" if is_default(route.dst) else str(route.dst)
    if route.gateway is not None:
        text += f" via {route.gateway}"
    if route.oif is not None:
        text += f" dev {names.get(route.oif, route.oif)}"
    if route.table != MAIN_TABLE:
        text += f" table {TABLE_NAMES.get(route.table, route.table)}"
    if route.priority:
        text += f" metric {route.priority}"
    if route.scope == SCOPE_LINK:
        text += " scope link"
    if route.mtu is not None:
        text += f" mtu {route.mtu}"
    if route.advmss is not None:
        text += f" advmss {route.advmss}"
    return text
