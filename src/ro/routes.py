"""The route model: a route as the kernel holds it, with its next hops.

One model for every route the plugin sees or makes: an ordinary route has
one next hop, a multipath (ECMP) route several, a route on a nexthop object
the hops of that object (or group). Routes of a CNI result are turned into
this model too (`ro.plan`), so that one matcher per rule serves both.

Also the kernel's meaning of route values (default priorities, unset
metrics), in one place, so config, result, CHECK and DEL agree on them.
"""

from __future__ import annotations

from .record import hidden, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional
    from .addresses import Address, Network

MAIN_TABLE = 254
SCOPE_UNIVERSE = 0
SCOPE_LINK = 253
RTN_UNICAST = 1
PROTO_RA = 9  # routes the kernel learned from IPv6 Router Advertisements
# rtm_protocol of the routes this plugin adds: DEL removes only those, and
# `ip route show proto 114` shows an operator which ones they are.
PROTO_ROUTE_OVERRIDE = 114
TABLE_NAMES = {253: "default", 254: "main", 255: "local"}

# What the kernel stores for a route added with no priority, or with 0:
# IPv6 has no metric 0 and makes it 1024.
DEFAULT_PRIORITY = {4: 0, 6: 1024}
# Next hops of one route. The kernel takes up to 4 095 (what the 16-bit
# length of RTA_MULTIPATH allows), but a route must also fit in one message
# of a route dump, or nobody sees it again: not CHECK, not DEL, not `ip
# route` (seen here: from 2 047 hops on, a dump ends at that route without an
# error, hiding every route after it). 128 IPv6 next hops still fit in a dump
# message of a reader with a 4 KB buffer; far beyond any real ECMP width.
MAX_NEXT_HOPS = {4: 128, 6: 128}
# The largest route mtu and advmss the kernel stores as given, in both
# families: ip_metrics_convert() lowers anything above to these without a
# word, so the route would not be the one asked for (and a second ADD would
# find it and fail with "File exists").
LARGEST_METRICS = {"mtu": 65535 - 15, "advmss": 65535 - 40}
SHOWN_HOPS = 4  # in words for people: a route's first next hops, then how many in all


def effective_priority(version: int, priority: Optional[int]) -> int:
    """The priority the kernel holds for a route asked for with `priority`."""
    return priority or DEFAULT_PRIORITY[version]


@record
class NextHop:
    """One way out of a route: an interface and, unless on-link, a gateway
    (of the other family for an IPv4 route via an IPv6 next hop)."""

    oif: Optional[int]
    gateway: Optional[Address] = None
    weight: int = 1
    flags: int = 0  # RTNH_F_ONLINK and the like, as the kernel reports them
    # The kernel's own struct rtnexthop of a multipath route's next hop, with
    # its attributes (encapsulation, realm, whatever a kernel adds): a route
    # that loses other next hops keeps this one exactly (ro.route_messages).
    wire: bytes = hidden(default=b"")

    @property
    def way(self) -> tuple[Optional[int], Optional[Address]]:
        """What makes two next hops the same way out."""
        return self.oif, self.gateway


@record
class KernelRoute:
    """A route as the kernel holds it (or as this plugin will add it)."""

    dst: Network
    hops: tuple[NextHop, ...]  # none for blackhole, unreachable and similar routes
    table: int = MAIN_TABLE
    priority: int = 0
    scope: int = SCOPE_UNIVERSE
    protocol: int = 0
    type: int = RTN_UNICAST
    tos: int = 0
    src: Optional[Network] = None  # the source prefix of a source-specific (IPv6 "from") route
    nhid: Optional[int] = None  # the nexthop object the route uses, if any
    mtu: Optional[int] = None
    advmss: Optional[int] = None
    # The kernel's own netlink message for this route, so the netlink layer
    # deletes and restores exactly what it dumped; and whether the kernel
    # takes it back as it is (nothing in it to clean).
    wire: bytes = hidden(default=b"")
    wire_as_is: bool = hidden(default=False)

    @property
    def version(self) -> int:
        return self.dst.version

    @property
    def identity(self) -> tuple:
        """What makes two routes distinct in the kernel: two with the same
        identity cannot both exist (the second is "File exists")."""
        return (self.dst, self.table, self.tos, self.src, self.priority, self.type)

    @property
    def ways(self) -> frozenset:
        return frozenset(hop.way for hop in self.hops)

    def oifs(self) -> set[Optional[int]]:
        return {hop.oif for hop in self.hops}


def is_default(dst: Network) -> bool:
    return dst.prefixlen == 0


# ---- words for humans --------------------------------------------------------


def describe_hop(hop: NextHop, names: Mapping[int, str], version: int) -> str:
    """`via GW dev IF`; `via inet6 GW` for an IPv4 route's IPv6 next hop, as `ip route` says."""
    words = []
    if hop.gateway is not None:
        family = "inet6 " if hop.gateway.version != version else ""
        words.append(f"via {family}{hop.gateway}")
    if hop.oif is not None:
        words.append(f"dev {names.get(hop.oif, hop.oif)}")
    return " ".join(words) or "(no interface)"


def describe(route: KernelRoute, names: Mapping[int, str]) -> str:
    """A kernel route in `ip route` words; multipath as `nexthop via ... dev ...` each."""
    text = "default" if is_default(route.dst) else str(route.dst)
    if route.src is not None:
        text += f" from {route.src}"
    if route.nhid is not None:
        text += f" nhid {route.nhid}"
    version = route.dst.version
    if len(route.hops) == 1:
        text += " " + describe_hop(route.hops[0], names, version)
    else:
        text += "".join(f" nexthop {describe_hop(hop, names, version)}" for hop in route.hops[:SHOWN_HOPS])
        if len(route.hops) > SHOWN_HOPS:
            text += f" ... ({len(route.hops)} next hops)"
    if route.table != MAIN_TABLE:
        text += f" table {TABLE_NAMES.get(route.table, route.table)}"
    if route.tos:
        text += f" tos {route.tos:#x}"
    if route.priority:
        text += f" metric {route.priority}"
    if route.scope == SCOPE_LINK:
        text += " scope link"
    if route.mtu is not None:
        text += f" mtu {route.mtu}"
    if route.advmss is not None:
        text += f" advmss {route.advmss}"
    return text
