"""Network namespaces for tests: made fresh, set up the way an interface
plugin leaves them, read back through iproute2, and always removed.

This module owns every namespace the tests create; the `pod` fixture in
conftest.py deletes them even when a test fails. Names carry the test
process id, so parallel runs never collide and leftovers of a killed run
can be told apart (see `sweep`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

PREFIX = "rot"
_names = itertools.count()


def ip(*args: str, ns: Optional[str] = None) -> str:
    command = ["ip"] + (["-n", ns] if ns else []) + list(args)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def wait_for(condition, what: str, timeout: float = 10.0, interval: float = 0.05):
    """Poll `condition` until it is true (returned) or `timeout` seconds pass (a test failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def sweep() -> None:
    """Remove namespaces left by test processes that no longer run."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0]
        if not name.startswith(PREFIX) or "-" not in name:
            continue
        pid = name[len(PREFIX) :].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Namespace:
    def __init__(self, role: str = "pod") -> None:
        self.name = f"{PREFIX}{os.getpid()}-{next(_names)}-{role}"
        ip("netns", "add", self.name)
        self.path = f"/run/netns/{self.name}"
        ip("link", "set", "lo", "up", ns=self.name)
        # No IPv6 duplicate address detection: link-local addresses (and their
        # local routes) appear at once, not a second later in the middle of a test.
        dad = "/proc/sys/net/ipv6/conf/{}/accept_dad"
        subprocess.run(
            ["ip", "netns", "exec", self.name, "sh", "-c", f"echo 0 > {dad.format('default')}; echo 0 > {dad.format('all')}"],
            check=True,
        )

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def routes(self, family: int = 4, table: str = "main") -> set[str]:
        """The routes of one table as "dst [via gw] dev X[ table T][ metric N]" strings."""
        out = ip(f"-{family}", "-j", "route", "show", "table", table, ns=self.name)
        return {_words(route) for route in json.loads(out or "[]") if route.get("type", "unicast") == "unicast"}

    def routes_detailed(self, family: int = 4, table: str = "main") -> list[dict]:
        return json.loads(ip(f"-{family}", "-d", "-j", "route", "show", "table", table, ns=self.name) or "[]")

    def snapshot(self) -> str:
        """Every route of every table and family, one line each (a multipath
        route with all its next hops), for before/after comparison.

        Two things are the kernel's running state, not the route: the
        seconds left of an expiring route (kept: that it expires), and
        `linkdown`, which the kernel does not even set alike for the same
        route (an IPv4 route via an IPv6 next hop gets it only when the
        carrier changes, not when it is added without one).
        """
        lines = ip("-o", "route", "show", "table", "all", ns=self.name).splitlines()
        lines += ip("-o", "-6", "route", "show", "table", "all", ns=self.name).splitlines()
        lines = [re.sub(r" linkdown\b", "", re.sub(r"expires \d+sec", "expires", line)) for line in lines]
        return "\n".join(sorted(" ".join(line.split()) for line in lines))

    def sysctl(self, key: str, value: Optional[int] = None) -> int:
        """Read (or first set) a sysctl of this namespace, e.g. net/ipv6/conf/net1/accept_ra_defrtr."""
        path = f"/proc/sys/{key}"
        script = f"echo {value} > {path}; cat {path}" if value is not None else f"cat {path}"
        done = subprocess.run(["ip", "netns", "exec", self.name, "sh", "-c", script], capture_output=True, text=True, check=True)
        return int(done.stdout.split()[0])


def _words(route: dict) -> str:
    """ "dst [via gw] dev X", and "dst nexthop via A dev X nexthop via B dev Y" for multipath routes."""
    text = route["dst"]
    for hop in route.get("nexthops", [route]):
        if "nexthops" in route:
            text += " nexthop"
        if "gateway" in hop:
            text += f" via {hop['gateway']}"
        if "dev" in hop:
            text += f" dev {hop['dev']}"
    return text


@dataclass
class Link:
    name: str
    v4: Optional[str] = None  # "192.168.50.2/24"
    v4_gateway: Optional[str] = None
    v6: Optional[str] = None
    v6_gateway: Optional[str] = None
    mac: str = ""


@dataclass
class Pod:
    """A container namespace whose interfaces are veths to a peer namespace."""

    ns: Namespace = field(default_factory=Namespace)
    peer: Namespace = field(default_factory=lambda: Namespace("peer"))
    links: list[Link] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.ns.path

    def add_link(self, link: Link, default_routes: bool = True) -> Link:
        """What bridge or macvlan + host-local do: interface, addresses, default routes."""
        peer_name = f"p{len(self.links)}"
        ip("link", "add", link.name, "netns", self.ns.name, "type", "veth", "peer", "name", peer_name, "netns", self.peer.name)
        ip("link", "set", peer_name, "up", ns=self.peer.name)
        ip("link", "set", link.name, "up", ns=self.ns.name)
        if link.v4:
            ip("addr", "add", link.v4, "dev", link.name, ns=self.ns.name)
        if link.v6:
            ip("-6", "addr", "add", link.v6, "dev", link.name, "nodad", ns=self.ns.name)
        metric = ["metric", str(100 * len(self.links))] if self.links else []  # one default per link
        if default_routes and link.v4_gateway:
            ip("route", "add", "default", "via", link.v4_gateway, "dev", link.name, *metric, ns=self.ns.name)
        if default_routes and link.v6_gateway:
            ip("-6", "route", "add", "default", "via", link.v6_gateway, "dev", link.name, *metric, ns=self.ns.name)
        link.mac = json.loads(ip("-j", "link", "show", link.name, ns=self.ns.name))[0]["address"]
        self.links.append(link)
        return link

    def route(self, *args: str, family: int = 4) -> None:
        ip(f"-{family}", "route", *args, ns=self.ns.name)

    def ip(self, *args: str) -> str:
        return ip(*args, ns=self.ns.name)

    def carrier_off(self, link: Link) -> None:
        """What an SR-IOV VF or a macvlan whose master has no carrier looks
        like: the link is up, its peer down; waits until its routes show
        `linkdown` (the kernel marks them shortly after)."""
        index = self.links.index(link)
        ip("link", "set", f"p{index}", "down", ns=self.peer.name)
        wait_for(lambda: "linkdown" in ip("route", "show", "dev", link.name, ns=self.ns.name), f"{link.name} routes linkdown")

    def routes(self, family: int = 4, table: str = "main") -> set[str]:
        return self.ns.routes(family, table)

    def snapshot(self) -> str:
        return self.ns.snapshot()

    def delete(self) -> None:
        self.ns.delete()
        self.peer.delete()

    def prev_result(self, version: str, routes: tuple[dict, ...] = (), names: Optional[list[str]] = None) -> dict:
        """The result an interface plugin of spec `version` prints for these links.

        Written out per version on purpose, independent of ro.result, so the
        tests do not check the plugin's conversions against themselves.
        """
        links = [link for link in self.links if names is None or link.name in names]
        if version in ("0.1.0", "0.2.0"):
            result: dict = {"cniVersion": version}
            link = links[0]
            for key, address, gateway, family in (
                ("ip4", link.v4, link.v4_gateway, 4),
                ("ip6", link.v6, link.v6_gateway, 6),
            ):
                if address:
                    section: dict = {"ip": address}
                    if gateway:
                        section["gateway"] = gateway
                    family_routes = [r for r in routes if (":" in r["dst"]) == (family == 6)]
                    if family_routes:
                        section["routes"] = family_routes
                    result[key] = section
            return result
        interfaces = [{"name": link.name, "mac": link.mac, "sandbox": self.path} for link in links]
        ips = []
        for index, link in enumerate(links):
            for address, gateway, family in ((link.v4, link.v4_gateway, "4"), (link.v6, link.v6_gateway, "6")):
                if address:
                    entry: dict = {"interface": index, "address": address}
                    if gateway:
                        entry["gateway"] = gateway
                    if version in ("0.3.0", "0.3.1", "0.4.0"):
                        entry["version"] = family
                    ips.append(entry)
        result = {"cniVersion": version, "interfaces": interfaces, "ips": ips}
        if routes:
            result["routes"] = list(routes)
        return result


V4 = dict(v4="192.168.50.2/24", v4_gateway="192.168.50.1")
V6 = dict(v6="2001:db8:50::2/64", v6_gateway="2001:db8:50::1")
