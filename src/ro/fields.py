"""Typed readers for JSON values; every failure names its key path.

Config, prevResult and log settings all read through these, so a bad value
always surfaces as code 7 with the path ("addroutes[1].gw") and the value.
ro.addresses is imported by the readers that need it: the log settings are
read on every command, STATUS and GC included, which need no addresses.
"""

from __future__ import annotations

from . import jsonio
from .errors import INVALID_CONFIG, CniError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Union

    from .addresses import Address, InterfaceAddress, Network

_MAX_SHOWN = 80


def show(value: Any) -> str:
    """The value as JSON, shortened so one bad entry cannot flood a log."""
    try:
        text = jsonio.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def invalid(path: str, problem: str, value: Any) -> CniError:
    return CniError(INVALID_CONFIG, f"{path}: {problem} (value: {show(value)})")


def key_path(parent: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _optional(obj: dict, key: str, parent: str, kind: type, expected: str) -> Any:
    """obj[key] if it is a `kind`; null or absent mean "not given" (None)."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise invalid(key_path(parent, key), expected, value)


def optional_bool(obj: dict, key: str, parent: str = "") -> Optional[bool]:
    return _optional(obj, key, parent, bool, "must be true or false")


def optional_list(obj: dict, key: str, parent: str = "") -> Optional[list]:
    return _optional(obj, key, parent, list, "must be a list")


def optional_object(obj: dict, key: str, parent: str = "") -> Optional[dict]:
    return _optional(obj, key, parent, dict, "must be an object")


def optional_string(obj: dict, key: str, parent: str = "") -> Optional[str]:
    return _optional(obj, key, parent, str, "must be a string")


def uint(value: Any, path: str, largest: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= largest:
        return value
    raise invalid(path, f"must be an integer from 0 to {largest}", value)


def cidr(value: Any, path: str, strict: bool) -> Network:
    """A network in CIDR form; `strict` rejects host bits (user input)."""
    if not isinstance(value, str) or value.count("/") != 1 or "%" in value:
        raise invalid(path, "must be a CIDR like 10.0.0.0/8 or 2001:db8::/32", value)
    address, _, length = value.partition("/")
    if not length.isdigit():
        raise invalid(path, "must be a CIDR like 10.0.0.0/8 or 2001:db8::/32", value)
    from .addresses import ip_address, ip_network

    try:
        network = ip_network(value, strict=False)
    except ValueError:
        raise invalid(path, "must be a CIDR like 10.0.0.0/8 or 2001:db8::/32", value) from None
    if strict and network.network_address != ip_address(address):
        raise invalid(path, f"has host bits set, did you mean {network}?", value)
    return network


def address(value: Any, path: str) -> Address:
    from .addresses import ip_address

    if isinstance(value, str) and "%" not in value:
        try:
            return ip_address(value)
        except ValueError:
            pass
    raise invalid(path, "must be an IP address", value)


def gateway(value: Any, path: str, dst: Network) -> Optional[Address]:
    """A next hop for routes to `dst`: an address of its family, or None for
    the unspecified address (0.0.0.0, ::), which means "no gateway"."""
    hop = address(value, path)
    if hop.version != dst.version:
        raise invalid(path, f"is IPv{hop.version} but dst {dst} is IPv{dst.version}", value)
    return None if hop.is_unspecified else hop


def interface_address(value: Any, path: str) -> InterfaceAddress:
    """An address with its prefix length, as in ips[].address."""
    from .addresses import ip_interface

    if isinstance(value, str) and value.count("/") == 1 and "%" not in value:
        try:
            return ip_interface(value)
        except ValueError:
            pass
    raise invalid(path, "must be an address with prefix length like 10.1.0.5/24", value)
