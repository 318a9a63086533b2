"""IP addresses and networks, as much of them as the plugin needs.

Not the ipaddress module: importing it costs a pod start about 2.6 ms here
(it pulls in functools and collections), a third of Python's own start, and
making one of its networks from a dumped route costs about a microsecond,
ten thousand times in a large table. Here an address is its packed bytes;
the C library parses them (inet_pton: strict, no leading zeros, no scope
ids) and prints IPv4 ones, IPv6 ones are printed as RFC 5952 says (as
ipaddress does; inet_ntop would print ::1:0 as ::0.1.0.0), and comparing
or hashing is comparing bytes. tests/test_addresses.py holds them to
ipaddress's answers.
"""

from __future__ import annotations

try:  # the socket module's C core; `import socket` adds enum and selectors
    from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
except ImportError:  # not CPython
    from socket import AF_INET, AF_INET6, inet_ntop, inet_pton  # type: ignore[assignment]

from .record import record

_SIZE = {4: 4, 6: 16}

_LINK_LOCAL_V6 = (b"\xfe\x80", 10)  # fe80::/10


@record
class Address:
    """An IPv4 or IPv6 address: its 4 or 16 bytes."""

    packed: bytes

    @property
    def version(self) -> int:
        return 4 if len(self.packed) == 4 else 6

    def __str__(self) -> str:
        return inet_ntop(AF_INET, self.packed) if len(self.packed) == 4 else _v6_text(self.packed)

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"

    @property
    def is_unspecified(self) -> bool:
        """0.0.0.0 or ::, which as a gateway means none."""
        return not any(self.packed)


def _v6_text(packed: bytes) -> str:
    """RFC 5952: lowercase hex words without leading zeros, the longest run
    of two or more zero words (the first of equals) as "::"."""
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best, best_length, start = 0, 0, None
    for i, word in enumerate(words + [1]):
        if word == 0 and start is None:
            start = i
        elif word != 0 and start is not None:
            if i - start > best_length:
                best, best_length = start, i - start
            start = None
    texts = [f"{word:x}" for word in words]
    if best_length < 2:
        return ":".join(texts)
    return ":".join(texts[:best]) + "::" + ":".join(texts[best + best_length :])


@record
class Network:
    """An IP network: its address with the host bits zero (packed), and the
    prefix length. (No Address inside: a large dump makes one per route.)"""

    packed: bytes
    prefixlen: int

    @property
    def version(self) -> int:
        return 4 if len(self.packed) == 4 else 6

    @property
    def network_address(self) -> Address:
        return Address(self.packed)

    def __str__(self) -> str:
        return f"{self.network_address}/{self.prefixlen}"

    def __repr__(self) -> str:
        return f"Network({str(self)!r})"

    @property
    def is_link_local(self) -> bool:
        """Wholly in IPv6's link-local fe80::/10 (IPv4's 169.254/16 never matters here)."""
        prefix, length = _LINK_LOCAL_V6
        packed = self.packed
        return len(packed) == 16 and self.prefixlen >= length and packed[0] == prefix[0] and packed[1] & 0xC0 == prefix[1]


@record
class InterfaceAddress:
    """An address with the prefix length of its subnet, as in ips[].address ("10.1.0.5/24")."""

    ip: Address
    network: Network

    @property
    def version(self) -> int:
        return self.ip.version

    def __str__(self) -> str:
        return f"{self.ip}/{self.network.prefixlen}"

    def __repr__(self) -> str:
        return f"InterfaceAddress({str(self)!r})"


def ip_address(text: str) -> Address:
    """An address in its usual text form; ValueError if it is not one."""
    for family in (AF_INET, AF_INET6):
        try:
            return Address(inet_pton(family, text))
        except (OSError, ValueError):  # ValueError: a NUL in the text
            continue
    raise ValueError(f"not an IP address: {text!r}")


def _masked(packed: bytes, prefixlen: int) -> bytes:
    bits = len(packed) * 8
    value = int.from_bytes(packed, "big") >> (bits - prefixlen) << (bits - prefixlen) if prefixlen else 0
    return value.to_bytes(len(packed), "big")


def _split(text: str) -> tuple[Address, int]:
    address, slash, length = text.partition("/")
    ip = ip_address(address)
    if not slash or not length.isdigit() or int(length) > _SIZE[ip.version] * 8:
        raise ValueError(f"not address/prefix length: {text!r}")
    return ip, int(length)


def ip_network(text: str, strict: bool = True) -> Network:
    """A network in CIDR form; with `strict`, host bits are a ValueError."""
    ip, prefixlen = _split(text)
    masked = _masked(ip.packed, prefixlen)
    if strict and masked != ip.packed:
        raise ValueError(f"host bits set: {text!r}")
    return Network(masked, prefixlen)


def ip_interface(text: str) -> InterfaceAddress:
    """An address with its prefix length, like 10.1.0.5/24."""
    ip, prefixlen = _split(text)
    return InterfaceAddress(ip, Network(_masked(ip.packed, prefixlen), prefixlen))
