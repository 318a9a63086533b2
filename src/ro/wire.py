"""The netlink wire format of routes: numbers, structures and walks, nothing else.

The kernel's own names (linux/netlink.h, linux/rtnetlink.h,
linux/nexthop.h), one `struct.Struct` per C structure with its fields named
beside it, and each nested format walked by one function: attributes
(struct rtattr, also nlattr), next hops (struct rtnexthop) and messages
(struct nlmsghdr). What the messages say about routes is ro.route_messages'
business; the socket is ro.netlink's. (One hot loop inlines a walk, and says
why: route_messages.decode_route.)

Pure and cheap to import (struct alone): it is on the path of every pod
start. The address families are Linux's numbers rather than the socket
module's, which this module has no other use for.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

AF_INET, AF_INET6 = 2, 10

# ---- netlink (linux/netlink.h) ------------------------------------------------------

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK = 10, 11, 12
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_DUMP_FILTERED = 0x1, 0x4, 0x10, 0x20
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLM_F_ACK_TLVS = 0x200  # in an ack: extended-ack attributes follow the echoed header
NLMSGERR_ATTR_MSG = 1

# struct nlmsghdr: nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid
NLMSGHDR = struct.Struct("=IHHII")
# struct nlmsgerr: error (a negative errno, 0 for an ack), then the request's
# nlmsghdr (its body left out: NETLINK_CAP_ACK), then extended-ack attributes.
NLMSGERR = struct.Struct("=iIHHII")
# struct rtattr (and nlattr): rta_len, rta_type
RTATTR = struct.Struct("=HH")
ATTR_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
ALIGNTO = 4  # NLMSG_ALIGNTO, RTA_ALIGNTO, RTNH_ALIGNTO: all the same


def align(length: int) -> int:
    """`length` rounded up to where the next message, attribute or next hop starts."""
    return (length + ALIGNTO - 1) & ~(ALIGNTO - 1)


# What follows `length` bytes up to align(length), by length % ALIGNTO: no
# arithmetic per request of a batch of ten thousand.
PADDING = tuple(bytes(align(n) - n) for n in range(ALIGNTO))


# ---- routes (linux/rtnetlink.h) ------------------------------------------------------

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26

# struct rtmsg: rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table,
# rtm_protocol, rtm_scope, rtm_type, rtm_flags; its attributes follow.
RTMSG = struct.Struct("=BBBBBBBBI")
RT_TABLE_COMPAT = 252  # rtm_table of a table id above 255 (the id itself in RTA_TABLE)

RTA_DST, RTA_SRC, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY = 1, 2, 4, 5, 6
RTA_METRICS, RTA_MULTIPATH, RTA_FLOW, RTA_CACHEINFO, RTA_TABLE = 8, 9, 11, 12, 15
RTA_VIA, RTA_ENCAP_TYPE, RTA_ENCAP, RTA_EXPIRES, RTA_NH_ID = 18, 21, 22, 23, 30
RTAX_MTU, RTAX_ADVMSS = 2, 8  # inside RTA_METRICS

# struct rtnexthop: rtnh_len, rtnh_flags, rtnh_hops (the weight - 1),
# rtnh_ifindex; the next hop's own attributes (RTA_GATEWAY, RTA_ENCAP, ...) follow.
RTNEXTHOP = struct.Struct("=HBBi")
# struct rtvia (RTA_VIA's value): rtvia_family; the address follows.
RTVIA = struct.Struct("=H")
# struct rta_cacheinfo: rta_clntref, rta_lastuse, rta_expires (in USER_HZ),
# rta_error, rta_used, rta_id, rta_ts, rta_tsage
RTA_CACHEINFO_STRUCT = struct.Struct("=IIiIIIII")
USER_HZ = 100
U32 = struct.Struct("=I")

# Next-hop flags (rtnh_flags, and in rtm_flags for a route of one next hop).
RTNH_F_DEAD, RTNH_F_ONLINK, RTNH_F_OFFLOAD, RTNH_F_LINKDOWN, RTNH_F_UNRESOLVED, RTNH_F_TRAP = 1, 4, 8, 16, 32, 64
RTM_F_OFFLOAD, RTM_F_TRAP, RTM_F_OFFLOAD_FAILED = 0x4000, 0x8000, 0x20000000
# What the kernel reports but refuses back ("Invalid rtm_flags - can not
# contain DEAD or LINKDOWN"), or hardware offload state that a route sent
# back does not have: cleaned from every message replayed.
REPORTED_ONLY = RTNH_F_DEAD | RTNH_F_OFFLOAD | RTNH_F_LINKDOWN | RTNH_F_UNRESOLVED | RTNH_F_TRAP
REPORTED_ONLY_RTM = REPORTED_ONLY | RTM_F_OFFLOAD | RTM_F_TRAP | RTM_F_OFFLOAD_FAILED

# ---- nexthop objects (linux/nexthop.h) -----------------------------------------------

RTM_NEWNEXTHOP, RTM_GETNEXTHOP = 104, 106
# struct nhmsg: nh_family, nh_scope, nh_protocol, resvd, nh_flags
NHMSG = struct.Struct("=BBBBI")
NHA_ID, NHA_GROUP, NHA_OIF, NHA_GATEWAY = 1, 2, 5, 6
# struct nexthop_grp (NHA_GROUP is an array of them): id, weight (- 1), weight_high, resvd2
NEXTHOP_GRP = struct.Struct("=IBBH")


# ---- walks ---------------------------------------------------------------------------


def attributes(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, value start, value end) of each attribute in data[start:end]."""
    unpack = RTATTR.unpack_from
    while start + RTATTR.size <= end:
        length, kind = unpack(data, start)
        if length < RTATTR.size:
            return
        yield kind & ATTR_TYPE_MASK, start + RTATTR.size, start + length
        start += align(length)


def next_hops(data: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each struct rtnexthop (with its attributes) in an
    RTA_MULTIPATH value data[start:end]."""
    while start + RTNEXTHOP.size <= end:
        length = RTNEXTHOP.unpack_from(data, start)[0]
        if length < RTNEXTHOP.size:
            return
        yield start, start + length
        start += align(length)


def messages(data: bytes) -> Iterator[tuple[int, int, int, int, int]]:
    """(offset, length, type, flags, seq) of each nlmsghdr-framed message in
    what one recv() returned (a dump: up to a few hundred routes)."""
    offset, size = 0, len(data)
    unpack = NLMSGHDR.unpack_from
    while offset + NLMSGHDR.size <= size:
        length, kind, flags, seq, _ = unpack(data, offset)
        if length < NLMSGHDR.size:
            return
        yield offset, length, kind, flags, seq
        offset += align(length)


# ---- building ------------------------------------------------------------------------


def attribute(kind: int, value: bytes) -> bytes:
    """One attribute, padded to where the next one starts."""
    length = RTATTR.size + len(value)
    return RTATTR.pack(length, kind) + value + PADDING[length % ALIGNTO]


def message(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    """A request: its nlmsghdr, then `body` (a struct and its attributes),
    padded to where the next message of a batch starts."""
    length = NLMSGHDR.size + len(body)
    return NLMSGHDR.pack(length, kind, flags, seq, 0) + body + PADDING[length % ALIGNTO]
