"""Route messages and the route model (ro.routes), both ways: dumped
RTM_NEWROUTE and RTM_NEWNEXTHOP bodies read as KernelRoutes and NextHops,
and the bodies of the requests that add, delete, restore and replace them.

Pure (bytes in, bytes or records out; ro.wire gives the format), so every
message is testable without a kernel, and pyroute2 reads each one as a
second opinion (tests/test_netlink.py).

Only a dozen fields of a route matter to the plan, and decoding only those
keeps a dump of ten thousand routes cheap. Whatever else a route or a next
hop holds (encapsulation, realms, preferences, anything a later kernel
adds) is never decoded but never lost either: deletions and restores re-send
the kernel's own dumped message (as `ip route flush` does), and a route that
keeps some of its next hops keeps each as the kernel dumped it; both are
cleaned only of what the kernel reports but does not take back.
"""

from __future__ import annotations

from .addresses import Address, Network
from .routes import KernelRoute, NextHop
from .wire import (
    AF_INET,
    AF_INET6,
    ALIGNTO,
    ATTR_TYPE_MASK,
    NEXTHOP_GRP,
    NHA_GATEWAY,
    NHA_GROUP,
    NHA_ID,
    NHA_OIF,
    NHMSG,
    PADDING,
    REPORTED_ONLY,
    REPORTED_ONLY_RTM,
    RT_TABLE_COMPAT,
    RTA_CACHEINFO,
    RTA_CACHEINFO_STRUCT,
    RTA_DST,
    RTA_ENCAP,
    RTA_ENCAP_TYPE,
    RTA_EXPIRES,
    RTA_FLOW,
    RTA_GATEWAY,
    RTA_METRICS,
    RTA_MULTIPATH,
    RTA_NH_ID,
    RTA_OIF,
    RTA_PRIORITY,
    RTA_SRC,
    RTA_TABLE,
    RTA_VIA,
    RTATTR,
    RTAX_ADVMSS,
    RTAX_MTU,
    RTMSG,
    RTNEXTHOP,
    RTNH_F_ONLINK,
    RTVIA,
    U32,
    USER_HZ,
    align,
    attribute,
    attributes,
    next_hops,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Sequence

# What says where a route goes: left out of a replacement's copy of the route.
_WHERE = frozenset((RTA_OIF, RTA_GATEWAY, RTA_VIA, RTA_MULTIPATH, RTA_FLOW, RTA_ENCAP_TYPE, RTA_ENCAP, RTA_NH_ID))


# ---- reading ---------------------------------------------------------------------------


def _address(raw: bytes) -> Optional[Address]:
    return Address(raw) if len(raw) in (4, 16) else None


def _multipath(data: bytes, start: int, end: int) -> tuple[NextHop, ...]:
    """The next hops of an RTA_MULTIPATH value, each with its rtnexthop as dumped."""
    hops = []
    for hop_start, hop_end in next_hops(data, start, end):
        _, flags, hops_minus_one, ifindex = RTNEXTHOP.unpack_from(data, hop_start)
        gateway = None
        for kind, a, b in attributes(data, hop_start + RTNEXTHOP.size, hop_end):
            if kind == RTA_GATEWAY:
                gateway = _address(data[a:b])
            elif kind == RTA_VIA:
                gateway = _address(data[a + RTVIA.size : b])
        hops.append(NextHop(ifindex, gateway, hops_minus_one + 1, flags, data[hop_start:hop_end]))
    return tuple(hops)


def decode_route(message: bytes, seen_hops: Optional[dict] = None) -> Optional[KernelRoute]:
    """A dumped RTM_NEWROUTE body as a KernelRoute (None: not IPv4 or IPv6).

    The hottest code of a large flush: one pass over the attributes, only
    those the plan reads, no objects but the route's; and `seen_hops`, kept
    across one dump, gives the routes of one gateway one NextHop (values
    are immutable), where a large table has thousands of routes each."""
    family, dst_len, src_len, tos, table, protocol, scope, kind, flags = RTMSG.unpack_from(message)
    if family == AF_INET:
        size = 4
    elif family == AF_INET6:
        size = 16
    else:
        return None
    dst = src = None
    oif = gateway = nhid = mtu = advmss = None
    priority = 0
    hops: tuple[NextHop, ...] = ()
    as_is = not flags & REPORTED_ONLY_RTM
    # wire.attributes, written out: a generator costs this loop half as
    # much again per route of a large flush (tests hold the two to agree);
    # and what it uses per attribute in locals, for the same reason.
    unpack_attr, unpack_u32, aligned, header, mask = RTATTR.unpack_from, U32.unpack_from, align, RTATTR.size, ATTR_TYPE_MASK
    stop, position = len(message), RTMSG.size
    while position + header <= stop:
        length, attr = unpack_attr(message, position)
        if length < header:
            break
        value, end = position + header, position + length
        position += aligned(length)
        attr &= mask
        if attr == RTA_TABLE:  # in the order dumps carry them
            table = unpack_u32(message, value)[0]
        elif attr == RTA_DST:
            dst = message[value:end]
        elif attr == RTA_PRIORITY:
            priority = unpack_u32(message, value)[0]
        elif attr == RTA_GATEWAY:
            gateway = message[value:end]
        elif attr == RTA_OIF:
            oif = unpack_u32(message, value)[0]
        elif attr == RTA_CACHEINFO:
            as_is = False
        elif attr == RTA_SRC:
            src = message[value:end]
        elif attr == RTA_VIA:
            gateway = message[value + RTVIA.size : end]  # an IPv4 route's IPv6 next hop
        elif attr == RTA_MULTIPATH:
            hops = _multipath(message, value, end)
            as_is = as_is and not any(hop.flags & REPORTED_ONLY for hop in hops)
        elif attr == RTA_NH_ID:
            nhid = unpack_u32(message, value)[0]
            as_is = False
        elif attr == RTA_METRICS:
            for metric, c, _ in attributes(message, value, end):
                if metric == RTAX_MTU:
                    mtu = unpack_u32(message, c)[0]
                elif metric == RTAX_ADVMSS:
                    advmss = unpack_u32(message, c)[0]
    if not hops and (oif is not None or gateway is not None):
        key = (oif, gateway, flags & 0xFF)
        known = seen_hops.get(key) if seen_hops is not None else None
        if known is None:
            known = (NextHop(oif, _address(gateway) if gateway else None, 1, flags & 0xFF),)
            if seen_hops is not None:
                seen_hops[key] = known
        hops = known
    return KernelRoute(
        Network(dst or bytes(size), dst_len),
        hops,
        table,
        priority,
        scope,
        protocol,
        kind,
        tos,
        Network(src, src_len) if src else None,
        nhid,
        mtu,
        advmss,
        message,
        as_is,
    )


def decode_nexthops(messages: Sequence[bytes]) -> dict[int, tuple[NextHop, ...]]:
    """Nexthop objects by id (dumped RTM_NEWNEXTHOP bodies), each as the
    next hops it stands for (a group's members)."""
    single: dict[int, NextHop] = {}
    groups: dict[int, list[tuple[int, int]]] = {}
    for message in messages:
        nh_id, oif, gateway, members = None, None, None, None
        for attr, a, b in attributes(message, NHMSG.size, len(message)):
            if attr == NHA_ID:
                nh_id = U32.unpack_from(message, a)[0]
            elif attr == NHA_OIF:
                oif = U32.unpack_from(message, a)[0]
            elif attr == NHA_GATEWAY:
                gateway = _address(message[a:b])
            elif attr == NHA_GROUP:
                members = [(member, weight + 1) for member, weight, _, _ in NEXTHOP_GRP.iter_unpack(message[a:b])]
        if nh_id is None:
            continue
        if members is not None:
            groups[nh_id] = members
        else:
            single[nh_id] = NextHop(oif, gateway)
    found: dict[int, tuple[NextHop, ...]] = {nh_id: (hop,) for nh_id, hop in single.items()}
    for nh_id, members in groups.items():
        found[nh_id] = tuple(NextHop(single[m].oif, single[m].gateway, weight) for m, weight in members if m in single)
    return found


# ---- building ----------------------------------------------------------------------------


def _family(version: int) -> int:
    return AF_INET if version == 4 else AF_INET6


def _gateway(gateway: Address, family: int) -> bytes:
    """RTA_GATEWAY, or RTA_VIA for a next hop of the other family."""
    if _family(gateway.version) == family:
        return attribute(RTA_GATEWAY, gateway.packed)
    return attribute(RTA_VIA, RTVIA.pack(_family(gateway.version)) + gateway.packed)


def _rtnexthop(hop: NextHop, family: int) -> bytes:
    """A next hop as a struct rtnexthop with its attributes: as the kernel
    dumped it, cleaned of the flags it refuses; else made of its fields."""
    if hop.wire:
        length, flags, hops_minus_one, ifindex = RTNEXTHOP.unpack_from(hop.wire)
        if not flags & REPORTED_ONLY:
            return hop.wire
        return RTNEXTHOP.pack(length, flags & ~REPORTED_ONLY, hops_minus_one, ifindex) + hop.wire[RTNEXTHOP.size :]
    gateway = _gateway(hop.gateway, family) if hop.gateway is not None else b""
    return RTNEXTHOP.pack(RTNEXTHOP.size + len(gateway), hop.flags & RTNH_F_ONLINK, hop.weight - 1, hop.oif or 0) + gateway


def _multipath_attribute(family: int, hops: Sequence[NextHop]) -> bytes:
    return attribute(RTA_MULTIPATH, b"".join([_rtnexthop(hop, family) for hop in hops]))


def _where(family: int, hops: Sequence[NextHop]) -> tuple[bytes, int]:
    """The attributes that say where a new route goes, and the rtm_flags they need."""
    if len(hops) > 1:
        return _multipath_attribute(family, hops), 0
    if not hops:  # blackhole, unreachable and the like
        return b"", 0
    (hop,) = hops
    attrs = attribute(RTA_OIF, U32.pack(hop.oif)) if hop.oif is not None else b""
    if hop.gateway is not None:
        attrs += _gateway(hop.gateway, family)
    return attrs, hop.flags & RTNH_F_ONLINK


def new_route(route: KernelRoute) -> bytes:
    """A route this plugin adds, as an RTM_NEWROUTE body (struct rtmsg and
    attributes: every request gets its nlmsghdr when sent)."""
    family = _family(route.dst.version)
    where, flags = _where(family, route.hops)
    header = RTMSG.pack(
        family, route.dst.prefixlen, 0, 0, route.table if route.table < 256 else RT_TABLE_COMPAT,
        route.protocol, route.scope, route.type, flags,
    )  # fmt: skip
    attrs = attribute(RTA_TABLE, U32.pack(route.table)) + attribute(RTA_DST, route.dst.packed)
    attrs += attribute(RTA_PRIORITY, U32.pack(route.priority)) + where
    metrics = b"".join(attribute(kind, U32.pack(value)) for kind, value in ((RTAX_MTU, route.mtu), (RTAX_ADVMSS, route.advmss)) if value)
    if metrics:
        attrs += attribute(RTA_METRICS, metrics)
    return header + attrs


def _cleaned_multipath(data: bytes, start: int, end: int) -> bytes:
    """An RTA_MULTIPATH value without the next-hop flags the kernel refuses back."""
    value = data[start:end]
    out = bytearray(value)
    for hop_start, _ in next_hops(value, 0, len(value)):
        length, flags, hops_minus_one, ifindex = RTNEXTHOP.unpack_from(out, hop_start)
        RTNEXTHOP.pack_into(out, hop_start, length, flags & ~REPORTED_ONLY, hops_minus_one, ifindex)
    return bytes(out)


def replayable(wire: bytes, keep_hops: bool = True, as_is: bool = False) -> bytes:
    """A dumped route message as the kernel takes it back, to delete or to
    restore that route: without the flags it reports but refuses (DEAD,
    LINKDOWN, offload state), without the read-only cacheinfo but with the
    remaining lifetime it held (as RTA_EXPIRES: an expiring route stays
    expiring), and for a route on a nexthop object, by its id alone (the
    kernel refuses an id with the next hops it stands for). Without
    `keep_hops`, also without anything that says where the route goes.
    `as_is`: decoding found nothing to clean (most IPv4 routes)."""
    if keep_hops and as_is:
        return wire
    family, dst_len, src_len, tos, table, protocol, scope, kind, flags = RTMSG.unpack_from(wire)
    attrs = list(attributes(wire, RTMSG.size, len(wire)))
    by_id = any(attr == RTA_NH_ID for attr, _, _ in attrs)
    out = []
    expires = 0
    for attr, a, b in attrs:
        if attr == RTA_CACHEINFO:
            expires = RTA_CACHEINFO_STRUCT.unpack_from(wire, a)[2]  # rta_expires
        elif attr in _WHERE and (not keep_hops or (by_id and attr != RTA_NH_ID)):
            continue
        elif attr == RTA_MULTIPATH:
            out.append(attribute(attr, _cleaned_multipath(wire, a, b)))
        else:
            out.append(wire[a - RTATTR.size : b] + PADDING[(b - a) % ALIGNTO])  # padded even if the dump's last was not
    if family == AF_INET6 and expires > 0:
        out.append(attribute(RTA_EXPIRES, U32.pack(-(-expires // USER_HZ))))
    flags &= ~(REPORTED_ONLY_RTM | (0 if keep_hops and not by_id else RTNH_F_ONLINK))
    return RTMSG.pack(family, dst_len, src_len, tos, table, protocol, scope, kind, flags) + b"".join(out)


def with_hops(wire: bytes, hops: Sequence[NextHop]) -> bytes:
    """The dumped multipath route through fewer next hops: the same route
    (protocol, metric, scope, prefsrc and all), with each next hop it keeps
    as the kernel dumped it (encapsulation, realm, weight and all).

    Still an RTA_MULTIPATH when one next hop is left: the kernel makes that
    a route of one next hop in both families, dumped without a weight, but
    IPv6 keeps the weight, as it does when one next hop of a multipath route
    is deleted, and shows it again once the route has another next hop."""
    return replayable(wire, keep_hops=False) + _multipath_attribute(RTMSG.unpack_from(wire)[0], hops)
