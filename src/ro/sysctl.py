"""The namespace's sysctls, read and written through /proc/sys.

/proc/sys/net shows the network namespace of the process that opens it, so
after ro.netns entered the container's namespace these are the container's
own settings, whatever /proc is mounted.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Mapping, Optional

ROOT = "/proc/sys/"


def read(key: str) -> Optional[int]:
    """The integer value of `key` ("net/ipv6/conf/net1/accept_ra_defrtr"), None if there is none."""
    try:
        with open(ROOT + key, "rb") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write(key: str, value: int) -> None:
    """Set `key`; an OSError says why the kernel refused."""
    fd = os.open(ROOT + key, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"%d\n" % value)
    finally:
        os.close(fd)


def ipv6_settings(names: Iterable[str], settings: Iterable[str]) -> Mapping[str, Mapping[str, int]]:
    """Per interface with IPv6, the `settings` of its net/ipv6/conf that it
    has. Interfaces without IPv6 (disable_ipv6 = 1, or an MTU below 1280,
    which removes their IPv6 settings altogether) are left out."""
    found = {}
    for name in names:
        conf = f"net/ipv6/conf/{name}/"
        if read(conf + "disable_ipv6") != 0:
            continue
        values = {setting: read(conf + setting) for setting in settings}
        found[name] = {setting: value for setting, value in values.items() if value is not None}
    return found
