"""The planner: config + what the namespace holds + prevResult -> the changes.

Pure: no I/O and no netlink, so every rule of the design (flushroutes,
flushgateway, delroutes, addroutes, the Router Advertisement settings, and
what CHECK and DEL look for) is a function here, named after its config key
and testable without root.

Order of work, always: 1 flushroutes, 2 flushgateway, 3 delroutes,
4 addroutes; so a delroutes + addroutes of the same dst replaces a route.

One matcher per rule: a rule decides, next hop by next hop, which next hops
of a route it removes. The same matchers judge the kernel's routes (what
ADD deletes, what CHECK finds present again) and the result's routes (what
the result drops), each result route turned into the kernel route it stands
for, with its next hops worked out once, from prevResult as it came.
"""

from __future__ import annotations

from . import result as results
from .config import AddRoute, DelRoute, PluginConfig
from .record import record, replace
from .result import Result, Route
from .versions import ROUTE_FIELDS_SINCE, at_least
from .routes import (
    MAIN_TABLE,
    PROTO_RA,
    PROTO_ROUTE_OVERRIDE,
    RTN_UNICAST,
    SHOWN_HOPS,
    SCOPE_LINK,
    SCOPE_UNIVERSE,
    TABLE_NAMES,
    KernelRoute,
    NextHop,
    describe,
    describe_hop,
    effective_priority,
    is_default,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Mapping, Optional, Sequence, TypeVar, Union

    from .addresses import Address

    T = TypeVar("T", AddRoute, DelRoute)

    Step = Union["RouteStep", "SysctlStep"]

# The IPv6 settings that let Router Advertisements put routes back.
ACCEPT_RA_DEFRTR = "accept_ra_defrtr"  # default routes
ACCEPT_RA_RT_INFO = "accept_ra_rt_info_max_plen"  # more specific routes (Route Information Options)
RA_SETTINGS = (ACCEPT_RA_DEFRTR, ACCEPT_RA_RT_INFO)


@record
class Targets:
    """Which interfaces this invocation may change, by name."""

    names: tuple[str, ...]  # every sandbox interface of prevResult
    add_to: str  # the one addroutes go to
    add_to_index: Optional[int]  # its index in prevResult.interfaces


@record
class Observed:
    """What the plan needs from the namespace, read once after entering it."""

    links: Mapping[str, int]  # target interface name (as prevResult or CNI_IFNAME gives it) -> index
    # Interface names by index as the kernel has them: a target may be named
    # by an altname, but /proc/sys/net/ipv6/conf/ knows only the kernel's name.
    names: Mapping[int, str]
    # None: not read, because the plan adds only (see `reads_routes`).
    routes: Optional[Sequence[KernelRoute]]
    # Per target interface (kernel name) with IPv6: its RA_SETTINGS (those the
    # kernel has). Absent: no IPv6 there (disabled, or an MTU below 1280).
    ra_settings: Mapping[str, Mapping[str, int]]

    def kernel_name(self, name: str) -> str:
        return self.names.get(self.links[name], name) if name in self.links else name


@record
class RouteStep:
    """Add `new`, delete `old`, or replace `old` by `new` (the same route
    with fewer next hops: the other interfaces' share of a multipath route)."""

    old: Optional[KernelRoute]
    new: Optional[KernelRoute]
    reason: str  # the config key that asks for it, e.g. "delroutes[1]"

    @property
    def action(self) -> str:
        return "add" if self.old is None else "delete" if self.new is None else "replace"


@record
class SysctlStep:
    """Set one of the namespace's sysctls; its old value is the undo."""

    key: str  # under /proc/sys, e.g. "net/ipv6/conf/net1/accept_ra_defrtr"
    old: int
    new: int
    reason: str


@record
class Plan:
    steps: tuple[Step, ...]
    result: Result

    @property
    def route_steps(self) -> list[RouteStep]:
        return [step for step in self.steps if isinstance(step, RouteStep)]


def targets(prev_result: Optional[Result], ifname: str) -> Targets:
    """The sandbox interfaces of prevResult; CNI_IFNAME when it lists none."""
    interfaces = prev_result.interfaces if prev_result else ()
    sandboxed = [(i, iface.name) for i, iface in enumerate(interfaces) if iface.sandbox]
    if not sandboxed:
        return Targets(names=(ifname,), add_to=ifname, add_to_index=None)
    index, name = next(((i, n) for i, n in sandboxed if n == ifname), sandboxed[0])
    return Targets(names=tuple(n for _, n in sandboxed), add_to=name, add_to_index=index)


# ---- the rules: which next hops of a route each one removes ------------------------


def flushroutes_removes(route: KernelRoute, hop: NextHop, oifs: frozenset) -> bool:
    """flushroutes: every gateway route and default route on the target
    interfaces, in the main table; connected (gateway-less) routes and IPv6
    link-local routes stay."""
    return (
        hop.oif in oifs
        and route.table == MAIN_TABLE
        and route.type == RTN_UNICAST
        and (hop.gateway is not None or route.dst.prefixlen == 0)
        and not route.dst.is_link_local
    )


def flushgateway_removes(route: KernelRoute, hop: NextHop, oifs: frozenset) -> bool:
    """flushgateway: the default routes (0.0.0.0/0, ::/0) on the target
    interfaces, in the main table."""
    return hop.oif in oifs and route.table == MAIN_TABLE and route.type == RTN_UNICAST and route.dst.prefixlen == 0


def delroutes_removes(entry: DelRoute, route: KernelRoute, hop: NextHop, oifs: frozenset) -> bool:
    """delroutes: routes on the target interfaces whose destination equals
    `dst`, in `table` (default main); with `gw`/`gws`, only those next hops."""
    return (
        hop.oif in oifs
        and route.type == RTN_UNICAST
        and route.table == (entry.table or MAIN_TABLE)
        and route.dst == entry.dst
        and (not entry.gateways or hop.gateway in entry.gateways)
    )


def deletes_routes(config: PluginConfig) -> bool:
    """Whether any rule deletes routes (else ADD only adds)."""
    return bool(config.flushroutes or config.flushgateway or config.delroutes)


def deletes_defaults(config: PluginConfig) -> Optional[str]:
    """The rule that deletes the target interfaces' IPv6 default routes, if
    any: so their Router Advertisements must not bring them back."""
    if config.flushroutes:
        return "flushroutes"
    if config.flushgateway:
        return "flushgateway"
    return next(
        (f"delroutes[{i}]" for i, e in enumerate(config.delroutes) if e.dst.version == 6 and is_default(e.dst) and (e.table or MAIN_TABLE) == MAIN_TABLE),
        None,
    )


def by_destination(entries: Sequence[T]) -> dict[tuple, list[tuple[int, T]]]:
    """Config entries (with their index) by (dst, table): one lookup per route, not one scan per entry."""
    index: dict[tuple, list[tuple[int, T]]] = {}
    for i, entry in enumerate(entries):
        index.setdefault((entry.dst, entry.table or MAIN_TABLE), []).append((i, entry))
    return index


class Rules:
    """The deleting rules of one config, in order, for the target interfaces."""

    def __init__(self, config: PluginConfig, oifs: frozenset) -> None:
        self.flushroutes = config.flushroutes
        self.flushgateway = config.flushgateway
        self.oifs = oifs
        self.delroutes = by_destination(config.delroutes)

    def reason(self, route: KernelRoute, hop: NextHop) -> Optional[str]:
        """The first rule that removes this next hop of `route`, if any."""
        if self.flushroutes and flushroutes_removes(route, hop, self.oifs):
            return "flushroutes"
        if self.flushgateway and flushgateway_removes(route, hop, self.oifs):
            return "flushgateway"
        if self.delroutes:
            for i, entry in self.delroutes.get((route.dst, route.table), ()):
                if delroutes_removes(entry, route, hop, self.oifs):
                    return f"delroutes[{i}]"
        return None

    def cut(self, route: KernelRoute) -> tuple[tuple[NextHop, ...], list[tuple[NextHop, str]]]:
        """The next hops `route` keeps, and those removed with their reason."""
        if len(route.hops) == 1:  # most routes: no lists to build
            reason = self.reason(route, route.hops[0])
            return ((), [(route.hops[0], reason)]) if reason else (route.hops, [])
        kept: list[NextHop] = []
        removed: list[tuple[NextHop, str]] = []
        for hop in route.hops:
            reason = self.reason(route, hop)
            if reason:
                removed.append((hop, reason))
            else:
                kept.append(hop)
        return tuple(kept), removed


def _reasons(removed: list[tuple[NextHop, str]]) -> str:
    if len(removed) == 1:
        return removed[0][1]
    return ", ".join(dict.fromkeys(reason for _, reason in removed))


# ---- result routes as the kernel routes they stand for -------------------------------


def result_hops(route: Route, result: Result, interface: Optional[int]) -> tuple[Optional[Address], ...]:
    """Where a result route goes: its gws or gw; else, unless its scope is
    link, the ips gateway of its family on its interface; else on-link (None)."""
    if route.gws:
        return route.gws
    if route.gw is not None or route.scope == SCOPE_LINK:
        return (route.gw,)
    return (result.gateway(route.version, interface),)


def kernel_view(route: Route, gateways: Sequence[Optional[Address]], oif: int) -> KernelRoute:
    """The kernel route a result route stands for, on interface `oif`."""
    return KernelRoute(
        dst=route.dst,
        hops=tuple(NextHop(oif, gateway) for gateway in gateways),
        table=route.table or MAIN_TABLE,
        priority=effective_priority(route.version, route.priority),
    )


def addroutes_route(entry: AddRoute, result: Result, oif: int, interface: Optional[int]) -> KernelRoute:
    """addroutes: the kernel route for one entry, through its next hops, all
    on the target interface (several: one multipath route). Without any it
    goes via the gateway of the result's ips entry of its family (as the
    result stands after flushgateway), and is on-link when there is none or
    when its scope is link."""
    gateways: tuple[Optional[Address], ...] = entry.gateways
    if not gateways:
        gateways = (None if entry.on_link else result.gateway(entry.version, interface),)
    if entry.version == 6:
        scope = SCOPE_UNIVERSE  # the IPv6 kernel keeps no scope
    elif entry.scope is not None:
        scope = entry.scope
    else:
        scope = SCOPE_LINK if gateways == (None,) else SCOPE_UNIVERSE
    return KernelRoute(
        dst=entry.dst,
        hops=tuple(NextHop(oif, gateway) for gateway in gateways),
        table=entry.table or MAIN_TABLE,
        priority=effective_priority(entry.version, entry.priority),
        scope=scope,
        protocol=PROTO_ROUTE_OVERRIDE,
        mtu=entry.mtu,
        advmss=entry.advmss,
    )


def same_route(wanted: KernelRoute, present: KernelRoute) -> bool:
    """True when `present` already is the route `wanted` would add: the same
    identity (dst, table, tos, source, priority, type) and next hops."""
    return (
        wanted.identity == present.identity
        and {(h.way, h.weight) for h in wanted.hops} == {(h.way, h.weight) for h in present.hops}
        and wanted.nhid == present.nhid
        and (wanted.mtu is None or wanted.mtu == present.mtu)
        and (wanted.advmss is None or wanted.advmss == present.advmss)
    )


# ---- ADD ---------------------------------------------------------------------------


def reads_routes(config: PluginConfig) -> bool:
    """Whether ADD must read the routes before planning. A config that only
    adds need not: the kernel refuses an addition that exists already
    (EEXIST), and only then are the routes read and the plan made again
    (a namespace may hold a hundred thousand routes of other interfaces,
    and the kernel walks them all for any dump)."""
    return deletes_routes(config)


def _cut_result(config: PluginConfig, rules: Rules, oif: int, interface: Optional[int], printed: Result) -> Result:
    """Steps 1 to 3 on the result: each route loses the next hops the rules
    remove from the kernel route it stands for; a route that keeps them all
    still says where it goes when the `printed` ips gateways no longer say it."""
    prev = config.prev_result
    assert prev is not None
    routes = []
    for route in prev.routes:
        hops = result_hops(route, prev, interface)
        kept, removed = rules.cut(kernel_view(route, hops, oif))
        if not kept:
            continue
        gateways = tuple(hop.gateway for hop in kept)
        if removed or result_hops(route, printed, interface) != gateways:
            route = results.route(route.dst, tuple(g for g in gateways if g is not None), **results.extras_of(route))
        routes.append(route)
    return replace(printed, routes=tuple(routes))


def _printed_ips(config: PluginConfig, interface: Optional[int]) -> tuple[Result, frozenset]:
    """prevResult's ips as the result prints them, and the IP versions whose
    gw-less addroutes must be marked on-link (scope 253) in the result.

    flushgateway keeps the ips gateways in the result: `ips[].gateway` does
    not add routes (the spec), and static IPAM's CHECK, which CRI-O runs
    after every ADD, wants the gateway it configured there. But a result
    route without gw reads as going via that gateway, and a gw-less
    addroutes entry under flushgateway is on-link: from 1.1.0 the result
    says so with scope 253; before, it cannot, and the gateway of that
    family is dropped instead (`validate` warns)."""
    prev = config.prev_result
    assert prev is not None
    if not config.flushgateway:
        return prev, frozenset()
    on_link = frozenset(
        entry.version for entry in config.addroutes if not entry.gateways and not entry.on_link and prev.gateway(entry.version, interface) is not None
    )
    if not on_link or at_least(config.cni_version, ROUTE_FIELDS_SINCE):
        return prev, on_link
    return prev.without_gateways(on_link), frozenset()


def ra_guard(config: PluginConfig, chosen: Targets, seen: Observed) -> list[SysctlStep]:
    """Router Advertisements must not put back what the rules delete: no
    default routes where a rule deletes them, nor more specific RA routes
    under flushroutes. Made before the routes are read (even before the
    first RA came), so that no RA adds a route ADD would miss: one that
    came earlier is read and deleted. Interfaces without IPv6 learn nothing
    and are skipped."""
    wanted = guarded_settings(config)
    return _ra_steps(chosen, seen, lambda name, setting: wanted[setting])


def guarded_settings(config: PluginConfig) -> dict[str, Optional[str]]:
    """Each RA setting that must be 0 on the target interfaces, with the rule that needs it (None: left alone)."""
    return {ACCEPT_RA_DEFRTR: deletes_defaults(config), ACCEPT_RA_RT_INFO: "flushroutes" if config.flushroutes else None}


def ra_after_delroutes(config: PluginConfig, chosen: Targets, seen: Observed, route_steps: Sequence[RouteStep]) -> list[SysctlStep]:
    """delroutes of a route an RA put there (a Route Information Option,
    `proto ra`) also stops the more specific RA routes on its interfaces,
    or the next RA brings it back. (flushroutes stops them in `ra_guard`.)"""
    if config.flushroutes:
        return []
    deleted_on: dict[int, str] = {}
    for step in route_steps:
        old = step.old
        if old is not None and old.protocol == PROTO_RA and not is_default(old.dst) and step.reason.startswith("delroutes"):
            for oif in old.oifs() - (step.new.oifs() if step.new else set()):
                if oif is not None:
                    deleted_on.setdefault(oif, step.reason)
    if not deleted_on:
        return []
    return _ra_steps(chosen, seen, lambda name, setting: deleted_on.get(seen.links.get(name, -1)) if setting == ACCEPT_RA_RT_INFO else None)


def _ra_steps(chosen: Targets, seen: Observed, reason_for: Callable[[str, str], Optional[str]]) -> list[SysctlStep]:
    steps = []
    for name in chosen.names:
        kernel_name = seen.kernel_name(name)
        settings = seen.ra_settings.get(kernel_name)
        if settings is None:
            continue
        for setting in RA_SETTINGS:
            reason = reason_for(name, setting)
            if reason and settings.get(setting, 0) != 0:
                steps.append(SysctlStep(ra_key(kernel_name, setting), settings[setting], 0, reason))
    return steps


def ra_key(ifname: str, setting: str) -> str:
    """The /proc/sys key of an RA setting; `ifname` is the kernel's name (not an altname)."""
    return f"net/ipv6/conf/{ifname}/{setting}"


def plan_add(config: PluginConfig, chosen: Targets, seen: Observed) -> Plan:
    """What ADD changes once `ra_guard` is made: deletions in rule order,
    then additions, and the RA settings delroutes needs."""
    assert config.prev_result is not None
    oifs = frozenset(seen.links[name] for name in chosen.names)
    oif = seen.links[chosen.add_to]
    interface = chosen.add_to_index
    rules = Rules(config, oifs)
    route_steps: list[RouteStep] = []
    remaining: dict[tuple, list[KernelRoute]] = {}  # the table as it will be, by (dst, table)
    for present in seen.routes or ():
        kept, removed = rules.cut(present)
        left: Optional[KernelRoute] = present
        if removed:
            left = replace(present, hops=kept, nhid=None) if kept else None
            route_steps.append(RouteStep(present, left, _reasons(removed)))
        if left is not None:
            remaining.setdefault((left.dst, left.table), []).append(left)
    printed, mark_on_link = _printed_ips(config, interface)
    result = _cut_result(config, rules, oif, interface, printed)
    routing = result.without_gateways() if config.flushgateway else result  # where gw-less addroutes go
    listed = set(result.routes)
    added = []
    for i, entry in enumerate(config.addroutes):
        wanted = addroutes_route(entry, routing, oif, interface)
        same_dst = remaining.setdefault((wanted.dst, wanted.table), [])
        if not any(same_route(wanted, other) for other in same_dst):
            route_steps.append(RouteStep(None, wanted, f"addroutes[{i}]"))
            same_dst.append(wanted)
        route = entry.result_route()
        if entry.version in mark_on_link and not entry.gateways and route.scope is None:
            route = replace(route, scope=SCOPE_LINK)
        if route not in listed:
            listed.add(route)
            added.append(route)
    steps = ra_after_delroutes(config, chosen, seen, route_steps) + route_steps
    return Plan(tuple(steps), replace(result, routes=result.routes + tuple(added)))


# ---- DEL ---------------------------------------------------------------------------


def plan_del(config: PluginConfig, chosen: Targets, seen: Observed) -> Plan:
    """What DEL removes: the routes addroutes added (marked with our
    protocol) that are still there, every next hop of them. Routes ADD
    deleted are not restored, nor the RA settings: the container is going
    away."""
    oifs = frozenset(seen.links[name] for name in chosen.names if name in seen.links)
    entries = by_destination(config.addroutes)

    def added_by(route: KernelRoute) -> Optional[str]:
        for i, entry in entries.get((route.dst, route.table), ()):
            rule = DelRoute(entry.dst, entry.gateways, entry.table)
            if (entry.priority is None or route.priority == effective_priority(entry.version, entry.priority)) and all(
                delroutes_removes(rule, route, hop, oifs) for hop in route.hops
            ):
                return f"addroutes[{i}]"
        return None

    steps = []
    for route in seen.routes or ():
        reason = added_by(route) if route.protocol == PROTO_ROUTE_OVERRIDE and route.hops else None
        if reason:
            steps.append(RouteStep(route, None, reason))
    return Plan(tuple(steps), config.prev_result or Result())


# ---- CHECK -------------------------------------------------------------------------


def _hops_words(ways: Sequence[tuple[Optional[int], Optional[Address]]], names: Mapping[int, str], version: int) -> str:
    return ", ".join(describe_hop(NextHop(oif, gateway), names, version) for oif, gateway in ways)


def check(config: PluginConfig, chosen: Targets, seen: Observed) -> list[str]:
    """Every way the namespace differs from the final result: a listed route
    missing or with other next hops (compared as sets, on the target
    interfaces), a deleted route or next hop present again, or an RA setting
    back that lets Router Advertisements bring them back. Lookups are exact
    on (destination, table), never longest-prefix.

    Result routes with the same destination, table and priority stand for
    one kernel route, whose next hops are all of theirs: the reference
    plugins' IPAM adds `{dst: D, gw: A}` and `{dst: D, gw: B}` as one
    multipath route."""
    result = config.prev_result
    assert result is not None
    names = seen.names
    oifs = frozenset(seen.links[name] for name in chosen.names)
    oif = seen.links[chosen.add_to]
    mine: dict[tuple, list[KernelRoute]] = {}
    for present in seen.routes or ():
        if present.oifs() & oifs:
            mine.setdefault((present.dst, present.table), []).append(present)
    multipath = {(e.dst, e.table or MAIN_TABLE): e.gateways for e in config.addroutes if len(e.gateways) > 1}
    groups: dict[tuple, list[tuple[int, Route, KernelRoute]]] = {}
    for i, listed in enumerate(result.routes):
        hops = result_hops(listed, result, chosen.add_to_index)
        if listed.gw is None and not listed.gws:
            # libcni reads each result into its own types, which have no gws
            # (yet): the multipath route addroutes made comes back gw-less.
            hops = multipath.get((listed.dst, listed.table or MAIN_TABLE), hops)
        view = kernel_view(listed, hops, oif)
        groups.setdefault((view.dst, view.table, view.priority), []).append((i, listed, view))
    problems = []
    expected: set[tuple] = set()  # (dst, table, way) of every listed next hop
    for (dst, table, priority), members in groups.items():
        ways = frozenset().union(*(view.ways for _, _, view in members))
        expected.update((dst, table, way) for way in ways)
        any_priority = all(listed.priority is None for _, listed, _ in members)
        candidates = [
            r for r in mine.get((dst, table), ()) if r.type == RTN_UNICAST and not r.tos and r.src is None and (any_priority or r.priority == priority)
        ]
        first, listed, view = members[0]
        where = f"prevResult.routes[{first}] {describe_result_route(listed)}"
        if len(members) > 1:
            where += "".join(f" and routes[{i}] {describe_result_route(other)}" for i, other, _ in members[1:])
        if not candidates:
            problems.append(f"{where}: no such route on {', '.join(chosen.names)}")
            continue
        if any(frozenset(h.way for h in r.hops if h.oif in oifs) == ways for r in candidates):
            continue
        closest = max(candidates, key=lambda r: len(ways & r.ways))
        found = frozenset(h.way for h in closest.hops if h.oif in oifs)
        if len(ways) == 1 and len(closest.hops) == 1:
            words = f"expected {describe_next_hop(view.hops[0].gateway)}, found {', '.join(describe(r, names) for r in candidates)}"
        else:
            missing, extra = sorted(ways - found, key=str), sorted(found - ways, key=str)
            words = "; ".join(
                part
                for part in (
                    missing and f"next hop {_hops_words(missing, names, dst.version)} missing",
                    extra and f"next hop {_hops_words(extra, names, dst.version)} extra",
                )
                if part
            ) + f" (found {describe(closest, names)})"
        problems.append(f"{where}: {words}")
    rules = Rules(config, oifs)
    for routes in mine.values():
        for present in routes:
            _, removed = rules.cut(present)
            back = [(hop, reason) for hop, reason in removed if (present.dst, present.table, hop.way) not in expected]
            if back:
                what = describe(present, names)
                if len(present.hops) > 1:
                    what = f"next hop {_hops_words([h.way for h, _ in back], names, present.dst.version)} of {what}"
                problems.append(f"{what} is present again, but {_reasons(back)} deletes it")
    problems.extend(_check_ra(config, chosen, seen))
    return problems


def _check_ra(config: PluginConfig, chosen: Targets, seen: Observed) -> list[str]:
    """The RA settings `ra_guard` made, back to values that let RAs re-add routes."""
    wanted = guarded_settings(config)
    problems = []
    for name in chosen.names:
        kernel_name = seen.kernel_name(name)
        for setting, reason in wanted.items():
            value = seen.ra_settings.get(kernel_name, {}).get(setting, 0)
            if reason and value != 0:
                problems.append(
                    f"{sysctl_name(ra_key(kernel_name, setting))} is {value}, but {reason} needs 0:"
                    " Router Advertisements would put back the routes it deletes"
                )
    return problems


# ---- words for humans --------------------------------------------------------


def describe_next_hop(gateway: Optional[Address]) -> str:
    return f"via {gateway}" if gateway is not None else "on-link (no gateway)"


def describe_result_route(route: Route) -> str:
    text = str(route.dst)
    if route.gw is not None:
        text += f" via {route.gw}"
    text += "".join(f" nexthop via {hop}" for hop in route.gws[:SHOWN_HOPS])
    if len(route.gws) > SHOWN_HOPS:
        text += f" ... ({len(route.gws)} next hops)"
    if route.table is not None:
        text += f" table {TABLE_NAMES.get(route.table, route.table)}"
    return text


def sysctl_name(key: str) -> str:
    """A /proc/sys key as sysctl(8) names it (dots, and '/' for a dot in a name)."""
    return ".".join(part.replace(".", "/") for part in key.split("/"))


def describe_step(step: Step, names: Mapping[int, str]) -> str:
    """A step in words, without its reason: `add ...`, `set net.ipv6...=0`."""
    if isinstance(step, SysctlStep):
        return f"set {sysctl_name(step.key)}={step.new}"
    if step.old is None:
        assert step.new is not None
        return f"add {describe(step.new, names)}"
    if step.new is None:
        return f"delete {describe(step.old, names)}"
    return f"replace {describe(step.old, names)} by {describe(step.new, names)}"
