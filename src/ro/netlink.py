"""The kernel's routes, inside the namespace (ro.netns entered it): read
them, and turn plan steps into the netlink requests that make and undo them.

Messages are read and built with struct, attribute by attribute: the plan
looks at a dozen fields of a route, and decoding only those keeps a dump of
ten thousand routes cheap. The socket is a plain AF_NETLINK socket: no
helper process, no namespace ever created.

Deletions and restores re-send the kernel's own dumped messages (as
`ip route flush` does), cleaned in one place (`replayable`) of what the
kernel reports but does not take back, so a deleted route comes back
exactly as it was.
"""

from __future__ import annotations

import os
import struct

try:  # the socket module's C core: `import socket` adds enum and selectors (~1 ms) to every pod start
    import _socket as socket
except ImportError:  # not CPython
    import socket  # type: ignore[no-redef]

from .addresses import Address, Network
from .errors import INTERFACE_MISSING, KERNEL_REFUSED, TRY_AGAIN_LATER, CniError
from .record import replace
from .routes import KernelRoute, NextHop

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection, Iterator, Optional, Sequence
    from .addresses import Address as IPAddress  # (renamed on merge with the codec split)
    from .plan import RouteStep

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEXTHOP, RTM_GETNEXTHOP = 104, 106
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_DUMP_FILTERED = 0x1, 0x4, 0x10, 0x20
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLM_F_ACK_TLVS = 0x200  # in an ack: extended-ack attributes follow
NLMSGERR_ATTR_MSG = 1
AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
# Route attributes (linux/rtnetlink.h).
RTA_DST, RTA_SRC, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY = 1, 2, 4, 5, 6
RTA_METRICS, RTA_MULTIPATH, RTA_FLOW, RTA_CACHEINFO, RTA_TABLE = 8, 9, 11, 12, 15
RTA_VIA, RTA_EXPIRES, RTA_NH_ID = 18, 23, 30
RTAX_MTU, RTAX_ADVMSS = 2, 8
RT_TABLE_COMPAT = 252
# Nexthop object attributes (linux/nexthop.h).
NHA_ID, NHA_GROUP, NHA_OIF, NHA_GATEWAY = 1, 2, 5, 6
# Next-hop flags: the kernel reports these but refuses them back ("Invalid
# rtm_flags - can not contain DEAD or LINKDOWN"), or they describe hardware
# offload state that a restored route does not have.
RTNH_F_DEAD, RTNH_F_ONLINK, RTNH_F_OFFLOAD, RTNH_F_LINKDOWN, RTNH_F_UNRESOLVED, RTNH_F_TRAP = 1, 4, 8, 16, 32, 64
RTM_F_OFFLOAD, RTM_F_TRAP, RTM_F_OFFLOAD_FAILED = 0x4000, 0x8000, 0x20000000
REPORTED_ONLY = RTNH_F_DEAD | RTNH_F_OFFLOAD | RTNH_F_LINKDOWN | RTNH_F_UNRESOLVED | RTNH_F_TRAP
REPORTED_ONLY_RTM = REPORTED_ONLY | RTM_F_OFFLOAD | RTM_F_TRAP | RTM_F_OFFLOAD_FAILED
USER_HZ = 100  # rta_cacheinfo.rta_expires counts in these; RTA_EXPIRES in seconds

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_BODY = _RTMSG.size  # where a route message's attributes start (messages are kept without their nlmsghdr)
_ATTR = struct.Struct("=HH")
_RTNH = struct.Struct("=HBBi")  # rtnexthop: length, flags, hops (weight - 1), ifindex
_U32 = struct.Struct("=I")
_EXPIRES_AT = 8  # of rta_expires in struct rta_cacheinfo
_BATCH_BYTES = 64 << 10  # per send: well under the socket's send buffer
_BATCH = 1024  # messages per send: even if the kernel refuses them all, their errors fit the receive buffer
_RECV_BUFFER = 1 << 20
_DUMP_ATTEMPTS = 3
_HOP_ATTRS = (RTA_OIF, RTA_GATEWAY, RTA_VIA, RTA_MULTIPATH, RTA_FLOW, RTA_NH_ID)


# ---- interfaces ---------------------------------------------------------------


def link_indexes(names: Sequence[str]) -> dict[str, int]:
    """The interfaces of `names` that exist in the current namespace."""
    found = {}
    for name in names:
        try:
            found[name] = socket.if_nametoindex(name)
        except (OSError, ValueError):  # ValueError: a name no interface can have (a NUL in it)
            pass
    return found


class LinkNames(dict):
    """Interface names by index, for words: those of the targets, and any
    other (the pod's eth0 in a multipath route) looked up when named."""

    def __init__(self, links: dict[str, int]) -> None:
        super().__init__((index, name) for name, index in links.items())

    def __missing__(self, index: int) -> str:
        try:
            self[index] = socket.if_indextoname(index)
        except OSError:
            self[index] = str(index)
        return self[index]

    def get(self, index: int, default: object = None) -> str:  # type: ignore[override]
        return self[index]


def require_links(names: Sequence[str]) -> dict[str, int]:
    found = link_indexes(names)
    missing = [name for name in names if name not in found]
    if missing:
        raise CniError(INTERFACE_MISSING, f"interface {', '.join(missing)} not found in the container's namespace")
    return found


# ---- reading messages -----------------------------------------------------------


def _attrs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, value start, value end) of each attribute in data[start:end]."""
    while start + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, start)
        if length < _ATTR.size:
            return
        yield kind & 0x3FFF, start + _ATTR.size, start + length  # without the nested/byte-order bits
        start += (length + 3) & ~3


def _address(raw: bytes) -> Optional[IPAddress]:
    return Address(raw) if len(raw) in (4, 16) else None


def _gateway(data: bytes, kind: int, start: int, end: int) -> Optional[IPAddress]:
    """The next hop of an RTA_GATEWAY, or of an RTA_VIA (family, then address)."""
    return _address(data[start:end] if kind == RTA_GATEWAY else data[start + 2 : end])


def _multipath(data: bytes, start: int, end: int) -> tuple[NextHop, ...]:
    hops = []
    while start + _RTNH.size <= end:
        length, flags, hops_minus_one, ifindex = _RTNH.unpack_from(data, start)
        if length < _RTNH.size:
            break
        gateway = None
        for kind, a, b in _attrs(data, start + _RTNH.size, start + length):
            if kind in (RTA_GATEWAY, RTA_VIA):
                gateway = _gateway(data, kind, a, b)
        hops.append(NextHop(ifindex, gateway, hops_minus_one + 1, flags))
        start += (length + 3) & ~3
    return tuple(hops)


def decode_route(message: bytes, seen_hops: Optional[dict] = None) -> Optional[KernelRoute]:
    """A dumped RTM_NEWROUTE message as a KernelRoute (None: not IPv4 or IPv6).

    The hottest code of a large flush: one pass over the attributes, only
    those the plan reads, no intermediate objects; and `seen_hops`, kept
    across one dump, gives the routes of one gateway one NextHop (values
    are immutable), where a large table has thousands of routes each."""
    family, dst_len, src_len, tos, table, protocol, scope, kind, flags = _RTMSG.unpack_from(message)
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
    end = len(message)
    position = _BODY
    unpack_attr, unpack_u32 = _ATTR.unpack_from, _U32.unpack_from
    while position + 4 <= end:
        length, attr = unpack_attr(message, position)
        if length < 4:
            break
        value = position + 4
        attr &= 0x3FFF  # without the nested and byte-order bits
        if attr == RTA_TABLE:  # in the order dumps carry them
            table = unpack_u32(message, value)[0]
        elif attr == RTA_DST:
            dst = message[value : position + length]
        elif attr == RTA_PRIORITY:
            priority = unpack_u32(message, value)[0]
        elif attr == RTA_GATEWAY:
            gateway = message[value : position + length]
        elif attr == RTA_OIF:
            oif = unpack_u32(message, value)[0]
        elif attr == RTA_CACHEINFO:
            as_is = False
        elif attr == RTA_SRC:
            src = message[value : position + length]
        elif attr == RTA_VIA:
            gateway = message[value + 2 : position + length]  # after the family: an IPv4 route's IPv6 next hop
        elif attr == RTA_MULTIPATH:
            hops = _multipath(message, value, position + length)
            as_is = as_is and not any(hop.flags & REPORTED_ONLY for hop in hops)
        elif attr == RTA_NH_ID:
            nhid = unpack_u32(message, value)[0]
            as_is = False
        elif attr == RTA_METRICS:
            for metric, c, _ in _attrs(message, value, position + length):
                if metric == RTAX_MTU:
                    mtu = unpack_u32(message, c)[0]
                elif metric == RTAX_ADVMSS:
                    advmss = unpack_u32(message, c)[0]
        position += (length + 3) & ~3
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
    """Nexthop objects by id, each as the next hops it stands for (a group's members)."""
    single: dict[int, NextHop] = {}
    groups: dict[int, list[tuple[int, int]]] = {}
    for message in messages:
        nh_id, oif, gateway, members = None, None, None, None
        for attr, a, b in _attrs(message, 8, len(message)):  # after struct nhmsg
            if attr == NHA_ID:
                nh_id = _U32.unpack_from(message, a)[0]
            elif attr == NHA_OIF:
                oif = _U32.unpack_from(message, a)[0]
            elif attr == NHA_GATEWAY:
                gateway = _address(message[a:b])
            elif attr == NHA_GROUP:
                members = [(struct.unpack_from("=I", message, c)[0], message[c + 4] + 1) for c in range(a, b - 7, 8)]
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


# ---- building messages ------------------------------------------------------------


def _attr(kind: int, value: bytes) -> bytes:
    padding = b"\0" * (-len(value) % 4)
    return _ATTR.pack(_ATTR.size + len(value), kind) + value + padding


def _hop_gateway(gateway: IPAddress, family: int) -> bytes:
    if (gateway.version == 4) == (family == AF_INET):
        return _attr(RTA_GATEWAY, gateway.packed)
    return _attr(RTA_VIA, struct.pack("=H", AF_INET6 if gateway.version == 6 else AF_INET) + gateway.packed)


def _hops(family: int, hops: Sequence[NextHop]) -> tuple[bytes, int]:
    """The attributes that say where a route goes, and the rtm_flags they need."""
    if len(hops) == 1:
        (hop,) = hops
        attrs = _attr(RTA_OIF, _U32.pack(hop.oif)) if hop.oif is not None else b""
        if hop.gateway is not None:
            attrs += _hop_gateway(hop.gateway, family)
        return attrs, hop.flags & RTNH_F_ONLINK
    nexthops = b""
    for hop in hops:
        gateway = _hop_gateway(hop.gateway, family) if hop.gateway is not None else b""
        nexthops += _RTNH.pack(_RTNH.size + len(gateway), hop.flags & RTNH_F_ONLINK, hop.weight - 1, hop.oif or 0) + gateway
    return _attr(RTA_MULTIPATH, nexthops), 0


def new_route(route: KernelRoute) -> bytes:
    """A route this plugin adds, as an RTM_NEWROUTE body (struct rtmsg and
    attributes: every request gets its nlmsghdr when sent)."""
    family = AF_INET if route.dst.version == 4 else AF_INET6
    where, flags = _hops(family, route.hops)
    header = _RTMSG.pack(
        family, route.dst.prefixlen, 0, 0, route.table if route.table < 256 else RT_TABLE_COMPAT,
        route.protocol, route.scope, route.type, flags,
    )  # fmt: skip
    attrs = _attr(RTA_TABLE, _U32.pack(route.table)) + _attr(RTA_DST, route.dst.packed)
    attrs += _attr(RTA_PRIORITY, _U32.pack(route.priority)) + where
    metrics = b"".join(_attr(kind, _U32.pack(value)) for kind, value in ((RTAX_MTU, route.mtu), (RTAX_ADVMSS, route.advmss)) if value)
    if metrics:
        attrs += _attr(RTA_METRICS, metrics)
    return header + attrs


def _clean_hops(data: bytes, start: int, end: int) -> bytes:
    """An RTA_MULTIPATH value without the next-hop flags the kernel refuses back."""
    out = bytearray(data[start:end])
    position = 0
    while position + _RTNH.size <= len(out):
        length = _RTNH.unpack_from(out, position)[0]
        if length < _RTNH.size:
            break
        out[position + 2] &= ~REPORTED_ONLY & 0xFF
        position += (length + 3) & ~3
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
    family, dst_len, src_len, tos, table, protocol, scope, kind, flags = _RTMSG.unpack_from(wire)
    attrs = list(_attrs(wire, _BODY, len(wire)))
    by_id = any(attr == RTA_NH_ID for attr, _, _ in attrs)
    out = []
    expires = 0
    for attr, a, b in attrs:
        if attr == RTA_CACHEINFO:
            expires = struct.unpack_from("=i", wire, a + _EXPIRES_AT)[0]
        elif attr in _HOP_ATTRS and (not keep_hops or (by_id and attr != RTA_NH_ID)):
            continue
        elif attr == RTA_MULTIPATH:
            out.append(_attr(attr, _clean_hops(wire, a, b)))
        else:
            out.append(wire[a - _ATTR.size : b] + b"\0" * (-(b - a) % 4))
    if family == AF_INET6 and expires > 0:
        out.append(_attr(RTA_EXPIRES, _U32.pack(-(-expires // USER_HZ))))
    flags &= ~(REPORTED_ONLY_RTM | (0 if keep_hops and not by_id else RTNH_F_ONLINK))
    return _RTMSG.pack(family, dst_len, src_len, tos, table, protocol, scope, kind, flags) + b"".join(out)


def with_hops(wire: bytes, hops: Sequence[NextHop]) -> bytes:
    """The dumped route through other next hops: the same route (protocol,
    metric, scope, prefsrc and all) with only what is left of its next hops."""
    message = bytearray(replayable(wire, keep_hops=False))
    where, flags = _hops(message[0], hops)
    message[8:12] = _U32.pack(_U32.unpack_from(message, 8)[0] | flags)  # rtm_flags
    return bytes(message) + where


def request(step: RouteStep) -> tuple[int, int, bytes]:
    """The netlink request (type, flags, body) that makes a step."""
    old, new = step.old, step.new
    if old is None:
        assert new is not None
        return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, new_route(new)
    if new is None:
        return RTM_DELROUTE, 0, replayable(old.wire, as_is=old.wire_as_is)
    return RTM_NEWROUTE, NLM_F_REPLACE, with_hops(old.wire, new.hops)


def undo_request(step: RouteStep) -> tuple[int, int, bytes]:
    """The netlink request that undoes a step made (made only when needed:
    a flush of ten thousand routes keeps no ten thousand undos)."""
    old, new = step.old, step.new
    if old is None:
        assert new is not None
        return RTM_DELROUTE, 0, new_route(new)
    original = replayable(old.wire, as_is=old.wire_as_is)
    return (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, original) if new is None else (RTM_NEWROUTE, NLM_F_REPLACE, original)


def _kernel_reason(ack: bytes, offset: int, length: int, flags: int) -> str:
    """The extended-ack text of a refusal ("Nexthop has invalid gateway"), if any."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    position = offset + _HEADER.size + 4 + _HEADER.size  # our header, errno, echoed header
    for kind, a, b in _attrs(ack, position, offset + length):
        if kind == NLMSGERR_ATTR_MSG:
            return ack[a:b].split(b"\0", 1)[0].decode(errors="replace")
    return ""


class KernelError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        text = os.strerror(self.code)
        return f"{text} ({self.reason})" if self.reason else text


# ---- the socket ----------------------------------------------------------------


class RouteSocket:
    """A NETLINK_ROUTE socket in the current namespace."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            try:
                self._sock.setsockopt(SOL_NETLINK, option, 1)
            except OSError:
                pass  # older kernels: plain acks, no reason text
        try:
            self._sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            self._strict = True  # dumps take filters
        except OSError:
            self._strict = False
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "RouteSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def routes(self, oifs: Collection[int]) -> list[KernelRoute]:
        """The IPv4 and IPv6 routes of every table with a next hop on one of
        `oifs`, each read once; routes on nexthop objects get the next hops
        of their object. The kernel filters them (strict dump checking,
        Linux 4.20 and later), so the routes of other interfaces (a
        namespace may hold a hundred thousand) are never even read; where it
        cannot, all routes are read and filtered here."""
        for _ in range(_DUMP_ATTEMPTS):
            messages, interrupted, filtered = self._route_messages(oifs)
            if not interrupted:
                break
        else:
            raise CniError(TRY_AGAIN_LATER, "the route table kept changing while it was read; try again")
        seen_hops: dict = {}
        routes = [route for route in (decode_route(message, seen_hops) for message in messages) if route is not None]
        if len(oifs) > 1 and filtered:  # a multipath route over two of them came twice
            routes = list(dict.fromkeys(routes))
        routes = self._resolve_nexthops(routes)
        return routes if filtered else [route for route in routes if any(hop.oif in oifs for hop in route.hops)]

    def _route_messages(self, oifs: Collection[int]) -> tuple[list[bytes], bool, bool]:
        """The dumped route messages for `oifs`, whether a change interrupted
        a dump, and whether the kernel filtered them (else they are all)."""
        if self._strict:
            messages: list[bytes] = []
            interrupted, filtered = False, True
            for family in (AF_INET, AF_INET6):
                for oif in oifs:
                    request = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0) + _attr(RTA_OIF, _U32.pack(oif))
                    some, changed, by_kernel = self._dump(RTM_GETROUTE, request)
                    messages += some
                    interrupted |= changed
                    filtered &= by_kernel
            if filtered:
                return messages, interrupted, True
        return self._dump(RTM_GETROUTE, bytes(_RTMSG.size))

    def _resolve_nexthops(self, routes: list[KernelRoute]) -> list[KernelRoute]:
        """Next hops for routes on nexthop objects that the dump gave only by
        id (as it does with net.ipv4.nexthop_compat_mode = 0)."""
        if not any(route.nhid is not None and not route.hops for route in routes):
            return routes
        messages, _, _ = self._dump(RTM_GETNEXTHOP, bytes(8))  # struct nhmsg, family AF_UNSPEC
        objects = decode_nexthops(messages)
        return [
            replace(route, hops=objects.get(route.nhid, ())) if route.nhid is not None and not route.hops else route
            for route in routes
        ]

    def _replies(self) -> Iterator[tuple[bytes, int, int, int, int, int]]:
        """(buffer, offset, length, type, flags, seq) of each message received, endlessly."""
        while True:
            data = self._sock.recv(_RECV_BUFFER)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, flags, seq, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    break
                yield data, offset, length, kind, flags, seq
                offset += (length + 3) & ~3

    def _dump(self, kind: int, body: bytes) -> tuple[list[bytes], bool, bool]:
        """The messages of one dump request, whether a change interrupted it,
        and whether the kernel applied the request's filter. (A loop of its
        own, not _replies(): it runs once per route of a large table.)"""
        seq = self._next_seq()
        self._sock.send(_HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
        messages: list[bytes] = []
        interrupted = False
        unpack = _HEADER.unpack_from
        while True:
            data = self._sock.recv(_RECV_BUFFER)
            offset, size = 0, len(data)
            while offset + _HEADER.size <= size:
                length, reply, flags, reply_seq, _ = unpack(data, offset)
                if length < _HEADER.size:
                    break
                if reply_seq == seq:
                    if flags & NLM_F_DUMP_INTR:
                        interrupted = True
                    if reply == RTM_NEWROUTE or reply == RTM_NEWNEXTHOP:
                        messages.append(data[offset + _HEADER.size : offset + length])  # the body: what is sent back
                    elif reply == NLMSG_DONE:
                        return messages, interrupted, bool(flags & NLM_F_DUMP_FILTERED)
                    elif reply == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data, offset + _HEADER.size)[0]
                        raise CniError(KERNEL_REFUSED, f"cannot read routes: {os.strerror(code)}")
                offset += (length + 3) & ~3

    def transact(self, requests: Sequence[tuple[int, int, bytes]]) -> list[Optional[KernelError]]:
        """Send (type, flags, body) requests in order; return each one's
        refusal, or None where the kernel accepted it. Only the last request
        of each batch asks for an ack: the kernel answers the others only to
        refuse them, and in order, so its ack means the batch is done (ten
        thousand deletions are not ten thousand replies to read)."""
        outcomes: list[Optional[KernelError]] = [None] * len(requests)
        pack = _HEADER.pack
        start = 0
        while start < len(requests):
            end, size = start, 0
            while end < len(requests) and end - start < _BATCH:
                size += _HEADER.size + len(requests[end][2])
                if end > start and size > _BATCH_BYTES:
                    break
                end += 1
            first_seq = self._seq + 1
            last = self._seq = first_seq + end - start - 1
            self._sock.send(
                b"".join(
                    [
                        pack(_HEADER.size + len(body), kind, flags | (NLM_F_REQUEST | NLM_F_ACK if seq == last else NLM_F_REQUEST), seq, 0) + body
                        for seq, (kind, flags, body) in zip(range(first_seq, last + 1), requests[start:end])
                    ]
                )
            )
            for data, offset, length, kind, flags, seq in self._replies():
                if kind != NLMSG_ERROR or not first_seq <= seq <= last:
                    continue
                code = -struct.unpack_from("=i", data, offset + _HEADER.size)[0]
                if code:
                    outcomes[start + seq - first_seq] = KernelError(code, _kernel_reason(data, offset, length, flags))
                if seq == last:
                    break
            start = end
        return outcomes
