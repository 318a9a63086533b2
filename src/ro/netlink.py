"""The kernel side, inside the namespace (ro.netns entered it): read routes,
apply a plan, undo it.

The only module that imports pyroute2, and only its rtmsg codec: the socket
work is a plain AF_NETLINK socket, so no helper process is forked, no
namespace is ever created, and the pyroute2 package __init__ (NDB, IPDB,
asyncio, ~200 ms) is never run.

Deletions and restores re-send the kernel's own dumped messages (as
`ip route flush` does), so a deleted route comes back exactly as it was.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
import sys
import types
from importlib.machinery import PathFinder
from typing import Iterable, Iterator, Mapping, Optional, Sequence

from .errors import INTERFACE_MISSING, KERNEL_REFUSED, ROLLBACK_INCOMPLETE, TRY_AGAIN_LATER, CniError
from .plan import DELETE, KernelRoute, Step, describe


def _load_rtmsg() -> type:
    """pyroute2's route message codec, without running pyroute2/__init__."""
    if "pyroute2" not in sys.modules:
        spec = PathFinder.find_spec("pyroute2")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("pyroute2 is not installed")
        package = types.ModuleType("pyroute2")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["pyroute2"] = package
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    return rtmsg


rtmsg = _load_rtmsg()

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP_INTR = 0x1, 0x4, 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLM_F_ACK_TLVS = 0x200  # in an ack: extended-ack attributes follow
NLMSGERR_ATTR_MSG = 1
RTA_CACHEINFO = 12
RT_TABLE_COMPAT = 252

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_ATTR = struct.Struct("=HH")
_BATCH = 128  # messages per send: their acks must fit the receive buffer
_RECV_BUFFER = 1 << 20
_DUMP_ATTEMPTS = 3


# ---- interfaces ---------------------------------------------------------------


def link_indexes(names: Iterable[str]) -> dict[str, int]:
    """The interfaces of `names` that exist in the current namespace."""
    found = {}
    for name in names:
        try:
            found[name] = socket.if_nametoindex(name)
        except (OSError, ValueError):  # ValueError: a name no interface can have (a NUL in it)
            pass
    return found


def require_links(names: Sequence[str]) -> dict[str, int]:
    found = link_indexes(names)
    missing = [name for name in names if name not in found]
    if missing:
        raise CniError(INTERFACE_MISSING, f"interface {', '.join(missing)} not found in the container's namespace")
    return found


# ---- messages ----------------------------------------------------------------


def _decode(message: bytes) -> Optional[KernelRoute]:
    msg = rtmsg(message)
    msg.decode()
    family = msg["family"]
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    any_address = "0.0.0.0" if family == socket.AF_INET else "::"
    dst = ipaddress.ip_network(f"{msg.get_attr('RTA_DST') or any_address}/{msg['dst_len']}", strict=False)
    gateway = msg.get_attr("RTA_GATEWAY")
    metrics = msg.get_attr("RTA_METRICS")
    priority = msg.get_attr("RTA_PRIORITY")
    return KernelRoute(
        dst=dst,
        oif=msg.get_attr("RTA_OIF"),
        gateway=ipaddress.ip_address(gateway) if gateway else None,
        table=msg.get_attr("RTA_TABLE") or msg["table"],
        priority=priority or 0,
        scope=msg["scope"],
        protocol=msg["proto"],
        type=msg["type"],
        mtu=metrics.get_attr("RTAX_MTU") if metrics else None,
        advmss=metrics.get_attr("RTAX_ADVMSS") if metrics else None,
        wire=bytes(message),
    )


def _encode(route: KernelRoute) -> bytes:
    """A new route as a netlink message (header fields are set on sending)."""
    msg = rtmsg()
    msg["family"] = socket.AF_INET if route.dst.version == 4 else socket.AF_INET6
    msg["dst_len"] = route.dst.prefixlen
    msg["table"] = route.table if route.table < 256 else RT_TABLE_COMPAT
    msg["proto"] = route.protocol
    msg["scope"] = route.scope
    msg["type"] = route.type
    attrs = [
        ("RTA_TABLE", route.table),
        ("RTA_DST", str(route.dst.network_address)),
        ("RTA_PRIORITY", route.priority),
    ]
    if route.oif is not None:
        attrs.append(("RTA_OIF", route.oif))
    if route.gateway is not None:
        attrs.append(("RTA_GATEWAY", str(route.gateway)))
    metrics = [(name, value) for name, value in (("RTAX_MTU", route.mtu), ("RTAX_ADVMSS", route.advmss)) if value]
    if metrics:
        attrs.append(("RTA_METRICS", {"attrs": metrics}))
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


def _without_attr(message: bytes, unwanted: int) -> bytes:
    """`message` minus one attribute type (the kernel's read-only cacheinfo)."""
    body_start = _HEADER.size + 12  # nlmsghdr + struct rtmsg
    parts = [message[:body_start]]
    offset = body_start
    while offset + _ATTR.size <= len(message):
        length, kind = _ATTR.unpack_from(message, offset)
        if length < _ATTR.size:
            break
        padded = (length + 3) & ~3
        if kind & 0x3FFF != unwanted:
            parts.append(message[offset : offset + padded])
        offset += padded
    out = bytearray(b"".join(parts))
    struct.pack_into("=I", out, 0, len(out))
    return bytes(out)


def _kernel_reason(ack: bytes, offset: int, length: int, flags: int) -> str:
    """The extended-ack text of a refusal ("Nexthop has invalid gateway"), if any."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    position = offset + _HEADER.size + 4 + _HEADER.size  # our header, errno, echoed header
    end = offset + length
    while position + _ATTR.size <= end:
        attr_length, kind = _ATTR.unpack_from(ack, position)
        if attr_length < _ATTR.size:
            break
        if kind == NLMSGERR_ATTR_MSG:
            return ack[position + _ATTR.size : position + attr_length].split(b"\0", 1)[0].decode(errors="replace")
        position += (attr_length + 3) & ~3
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

    def routes(self) -> list[KernelRoute]:
        """Every IPv4 and IPv6 route of every table, dumped once."""
        for _ in range(_DUMP_ATTEMPTS):
            messages, interrupted = self._dump()
            if not interrupted:
                return [route for route in map(_decode, messages) if route is not None]
        raise CniError(TRY_AGAIN_LATER, "the route table kept changing while it was read; try again")

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

    def _dump(self) -> tuple[list[bytes], bool]:
        seq = self._next_seq()
        request = bytearray(_HEADER.size + 12)
        _HEADER.pack_into(request, 0, len(request), RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
        self._sock.send(request)
        messages: list[bytes] = []
        interrupted = False
        for data, offset, length, kind, flags, reply_seq in self._replies():
            if reply_seq != seq:
                continue
            interrupted |= bool(flags & NLM_F_DUMP_INTR)
            if kind == NLMSG_DONE:
                return messages, interrupted
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, offset + _HEADER.size)[0]
                raise CniError(KERNEL_REFUSED, f"cannot read routes: {os.strerror(code)}")
            if kind == RTM_NEWROUTE:
                messages.append(data[offset : offset + length])
        raise AssertionError("_replies() never ends")

    def transact(self, requests: Sequence[tuple[int, int, bytes]]) -> list[Optional[KernelError]]:
        """Send (type, flags, message) requests in order, each acked; return
        each one's refusal, or None where the kernel accepted it."""
        outcomes: list[Optional[KernelError]] = []
        for start in range(0, len(requests), _BATCH):
            batch = requests[start : start + _BATCH]
            first_seq = self._seq + 1
            buffer = bytearray()
            for kind, flags, message in batch:
                request = bytearray(message)
                _HEADER.pack_into(request, 0, len(request), kind, flags | NLM_F_REQUEST | NLM_F_ACK, self._next_seq(), 0)
                buffer += request
            self._sock.send(buffer)
            outcomes.extend(self._acks(first_seq, len(batch)))
        return outcomes

    def _acks(self, first_seq: int, count: int) -> list[Optional[KernelError]]:
        outcomes: list[Optional[KernelError]] = [None] * count
        pending = count
        for data, offset, length, kind, flags, seq in self._replies():
            index = seq - first_seq
            if kind == NLMSG_ERROR and 0 <= index < count:
                code = -struct.unpack_from("=i", data, offset + _HEADER.size)[0]
                if code:
                    outcomes[index] = KernelError(code, _kernel_reason(data, offset, length, flags))
                pending -= 1
                if not pending:
                    break
        return outcomes


# ---- applying a plan -------------------------------------------------------------


def _do(step: Step) -> tuple[int, int, bytes]:
    if step.action == DELETE:
        return RTM_DELROUTE, 0, step.route.wire
    return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, _encode(step.route)


def _undo(step: Step, message: bytes) -> tuple[int, int, bytes]:
    if step.action == DELETE:
        return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, _without_attr(message, RTA_CACHEINFO)
    return RTM_DELROUTE, 0, message


def _undo_all(sock: RouteSocket, done: list[tuple[Step, bytes]]) -> list[tuple[Step, KernelError]]:
    """Undo `done`, newest first; what is refused is tried again while the
    rest makes progress, because a restored route can need another one
    back first (a gateway route needs the connected route of its gateway,
    which the order of deletion says nothing about). Returns what stays
    refused."""
    pending = list(reversed(done))
    while pending:
        outcomes = sock.transact([_undo(step, message) for step, message in pending])
        refused = [
            (item, outcome)
            for item, outcome in zip(pending, outcomes)
            if outcome is not None and outcome.code != (errno.EEXIST if item[0].action == DELETE else errno.ESRCH)
        ]
        if len(refused) == len(pending):
            return [(step, outcome) for (step, _), outcome in refused]
        pending = [item for item, _ in refused]
    return []


def apply(sock: RouteSocket, steps: Sequence[Step], names: Mapping[int, str]) -> None:
    """All or nothing: when the kernel refuses any step, every step already
    done is undone (added routes removed, deleted routes restored) before
    the error is raised."""
    requests = [_do(step) for step in steps]
    outcomes = sock.transact(requests)
    done = []
    refused = []
    for step, request, outcome in zip(steps, requests, outcomes):
        if outcome is None:
            done.append((step, request[2]))
        elif not (step.action == DELETE and outcome.code == errno.ESRCH):  # already gone: fine
            refused.append((step, outcome))
    if not refused:
        return
    undo_failures = _undo_all(sock, done)
    step, error = refused[0]
    msg = f"{step.reason}: cannot {step.action} route {describe(step.route, names)}: {error}"
    others = [f"{s.reason}: {describe(s.route, names)}: {e}" for s, e in refused[1:]]
    if undo_failures:
        lost = "; ".join(f"{s.action} {describe(s.route, names)} not undone: {e}" for s, e in undo_failures)
        raise CniError(ROLLBACK_INCOMPLETE, msg + "; rollback incomplete", lost)
    done_words = f"{len(done)} change(s) already made were undone" if done else "nothing was changed"
    raise CniError(KERNEL_REFUSED, f"{msg}; {done_words}", "; ".join(others))
