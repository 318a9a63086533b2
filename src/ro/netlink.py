"""The netlink socket inside the namespace (ro.netns entered it): route
dumps, batched requests and the kernel's answers to them, and interface
names and indexes.

A plain AF_NETLINK socket: no helper process, no namespace ever created.
What goes over it is ro.route_messages' business (routes as bytes) and
ro.wire's (the format); which requests a plan makes, ro.apply's.
"""

from __future__ import annotations

import os

try:  # the socket module's C core: `import socket` adds enum and selectors (~1 ms) to every pod start
    import _socket as socket
except ImportError:  # not CPython
    import socket  # type: ignore[no-redef]

from .errors import INTERFACE_MISSING, KERNEL_REFUSED, TRY_AGAIN_LATER, CniError
from .record import replace
from .route_messages import decode_nexthops, decode_route
from .wire import (
    AF_INET,
    AF_INET6,
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
    NETLINK_ROUTE,
    NHMSG,
    NLM_F_ACK,
    NLM_F_ACK_TLVS,
    NLM_F_DUMP,
    NLM_F_DUMP_FILTERED,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGERR,
    NLMSGERR_ATTR_MSG,
    NLMSGHDR,
    RTA_OIF,
    RTM_GETNEXTHOP,
    RTM_GETROUTE,
    RTM_NEWNEXTHOP,
    RTM_NEWROUTE,
    RTMSG,
    SOL_NETLINK,
    U32,
    attribute,
    attributes,
    message,
    messages,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection, Iterator, Optional, Sequence

    from .routes import KernelRoute

_BATCH_BYTES = 64 << 10  # per send: well under the socket's send buffer
_BATCH = 1024  # messages per send: even if the kernel refuses them all, their errors fit the receive buffer
_RECV_BUFFER = 1 << 20
_DUMP_ATTEMPTS = 3


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
    """Interface names by index as the kernel has them (not an altname a
    config may use), each looked up when first named: the targets', and any
    other (the pod's eth0 in a multipath route). `known`: names already
    known to be the kernel's, by index."""

    def __init__(self, known: Optional[dict[int, str]] = None) -> None:
        super().__init__(known or {})

    def get(self, index: int, default: object = None) -> object:  # type: ignore[override]
        """The name of `index`, looked up when first asked for (dict.get
        would not); `default` when no interface has it (any more)."""
        name = super().get(index)
        if name is None:
            try:
                name = self[index] = socket.if_indextoname(index)
            except OSError:
                return default
        return name

    def __missing__(self, index: int) -> str:
        """names[index]: an index no interface has is named by its number."""
        name = self.get(index)
        return name if isinstance(name, str) else str(index)


def require_links(names: Sequence[str]) -> dict[str, int]:
    found = link_indexes(names)
    missing = [name for name in names if name not in found]
    if missing:
        raise CniError(INTERFACE_MISSING, f"interface {', '.join(missing)} not found in the container's namespace")
    return found


# ---- the kernel's answers ----------------------------------------------------------


class KernelError(Exception):
    """The kernel refused a request: its errno, and its extended-ack text if any."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        text = os.strerror(self.code)
        return f"{text} ({self.reason})" if self.reason else text


def _refusal(data: bytes, offset: int, length: int, flags: int) -> Optional[KernelError]:
    """What an NLMSG_ERROR message says: None for an ack, else the refusal
    with its extended-ack text ("Nexthop has invalid gateway"), if any."""
    code = -NLMSGERR.unpack_from(data, offset + NLMSGHDR.size)[0]
    if not code:
        return None
    reason = ""
    if flags & NLM_F_ACK_TLVS:
        for kind, a, b in attributes(data, offset + NLMSGHDR.size + NLMSGERR.size, offset + length):
            if kind == NLMSGERR_ATTR_MSG:
                reason = data[a:b].split(b"\0", 1)[0].decode(errors="replace")
                break
    return KernelError(code, reason)


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
            bodies, interrupted, filtered = self._route_messages(oifs)
            if not interrupted:
                break
        else:
            raise CniError(TRY_AGAIN_LATER, "the route table kept changing while it was read; try again")
        seen_hops: dict = {}
        routes = [route for route in (decode_route(body, seen_hops) for body in bodies) if route is not None]
        if len(oifs) > 1 and filtered:  # a multipath route over two of them came twice
            routes = list(dict.fromkeys(routes))
        routes = self._resolve_nexthops(routes)
        return routes if filtered else [route for route in routes if any(hop.oif in oifs for hop in route.hops)]

    def _route_messages(self, oifs: Collection[int]) -> tuple[list[bytes], bool, bool]:
        """The dumped route messages for `oifs`, whether a change interrupted
        a dump, and whether the kernel filtered them (else they are all)."""
        if self._strict:
            bodies: list[bytes] = []
            interrupted, filtered = False, True
            for family in (AF_INET, AF_INET6):
                for oif in oifs:
                    request = RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0) + attribute(RTA_OIF, U32.pack(oif))
                    some, changed, by_kernel = self._dump(RTM_GETROUTE, request)
                    bodies += some
                    interrupted |= changed
                    filtered &= by_kernel
            if filtered:
                return bodies, interrupted, True
        return self._dump(RTM_GETROUTE, RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0))

    def _resolve_nexthops(self, routes: list[KernelRoute]) -> list[KernelRoute]:
        """Next hops for routes on nexthop objects that the dump gave only by
        id (as it does with net.ipv4.nexthop_compat_mode = 0)."""
        if not any(route.nhid is not None and not route.hops for route in routes):
            return routes
        bodies, _, _ = self._dump(RTM_GETNEXTHOP, NHMSG.pack(0, 0, 0, 0, 0))  # every family
        objects = decode_nexthops(bodies)
        return [
            replace(route, hops=objects.get(route.nhid, ())) if route.nhid is not None and not route.hops else route
            for route in routes
        ]

    def _dump(self, kind: int, body: bytes) -> tuple[list[bytes], bool, bool]:
        """The bodies of the messages one dump request returns (what is sent
        back to delete or restore a route), whether a change interrupted it,
        and whether the kernel applied the request's filter."""
        seq = self._next_seq()
        self._sock.send(message(kind, NLM_F_REQUEST | NLM_F_DUMP, seq, body))
        bodies: list[bytes] = []
        interrupted = False
        while True:
            data = self._sock.recv(_RECV_BUFFER)
            for offset, length, reply, flags, reply_seq in messages(data):
                if reply_seq != seq:
                    continue
                if flags & NLM_F_DUMP_INTR:
                    interrupted = True
                if reply == RTM_NEWROUTE or reply == RTM_NEWNEXTHOP:
                    bodies.append(data[offset + NLMSGHDR.size : offset + length])
                elif reply == NLMSG_DONE:
                    return bodies, interrupted, bool(flags & NLM_F_DUMP_FILTERED)
                elif reply == NLMSG_ERROR:
                    raise CniError(KERNEL_REFUSED, f"cannot read routes: {_refusal(data, offset, length, flags) or 'no dump'}")

    def _replies(self) -> Iterator[tuple[bytes, int, int, int, int, int]]:
        """(buffer, offset, length, type, flags, seq) of each message received, endlessly."""
        while True:
            data = self._sock.recv(_RECV_BUFFER)
            for offset, length, kind, flags, seq in messages(data):
                yield data, offset, length, kind, flags, seq

    def transact(self, requests: Sequence[tuple[int, int, bytes]]) -> list[Optional[KernelError]]:
        """Send (type, flags, body) requests in order; return each one's
        refusal, or None where the kernel accepted it. Only the last request
        of each batch asks for an ack: the kernel answers the others only to
        refuse them, and in order, so its ack means the batch is done (ten
        thousand deletions are not ten thousand replies to read)."""
        outcomes: list[Optional[KernelError]] = [None] * len(requests)
        start = 0
        while start < len(requests):
            end, size = start, 0
            while end < len(requests) and end - start < _BATCH:
                size += NLMSGHDR.size + len(requests[end][2])
                if end > start and size > _BATCH_BYTES:
                    break
                end += 1
            first_seq = self._seq + 1
            last = self._seq = first_seq + end - start - 1
            self._sock.send(
                b"".join(
                    [
                        message(kind, flags | (NLM_F_REQUEST | NLM_F_ACK if seq == last else NLM_F_REQUEST), seq, body)
                        for seq, (kind, flags, body) in zip(range(first_seq, last + 1), requests[start:end])
                    ]
                )
            )
            for data, offset, length, kind, flags, seq in self._replies():
                if kind != NLMSG_ERROR or not first_seq <= seq <= last:
                    continue
                outcomes[start + seq - first_seq] = _refusal(data, offset, length, flags)
                if seq == last:
                    break
            start = end
        return outcomes
