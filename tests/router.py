"""A real IPv6 router for test pods: Debian's radvd, sending Router
Advertisements from a peer namespace across the pod's veth, started and
stopped by the test (and always stopped, also when the test fails).

Waiting for RAs is polling with a bounded deadline: the pod's own count of
Router Advertisements received (Icmp6InRouterAdvertisements in its
/proc/net/snmp6) tells when the next ones have arrived.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

from netns import Namespace, wait_for

# RA interval 3-4 s, as radvd sends them once started; a default lifetime of
# 30 s, so a default route the kernel learned stays well beyond a test.
INTERVAL = 4
CONFIG = """\
interface {interface} {{
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval {interval};
    AdvDefaultLifetime 30;
    prefix {prefix} {{ AdvOnLink on; AdvAutonomous off; }};
    route {route} {{ AdvRouteLifetime 60; }};
}};
"""


class Router:
    """radvd on `interface` of `namespace`, advertising itself as a default
    router, `prefix` on-link, and `route` (a Route Information Option)."""

    def __init__(self, namespace: Namespace, interface: str, work: Path, prefix: str = "2001:db8:50::/64", route: str = "2001:db8:77::/48") -> None:
        if not shutil.which("radvd", path="/usr/sbin:/usr/bin:/sbin:/bin"):
            raise RuntimeError("radvd is missing: make setup installs it")
        self.namespace, self.interface, self.work = namespace, interface, work
        self.config = work / f"radvd-{interface}.conf"
        self.config.write_text(CONFIG.format(interface=interface, interval=INTERVAL, prefix=prefix, route=route))
        self.config.chmod(0o644)
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "Router":
        # radvd insists on a router: forwarding on, in its own namespace only.
        self.namespace.sysctl("net/ipv6/conf/all/forwarding", 1)
        command = ["ip", "netns", "exec", self.namespace.name, "radvd", "--nodaemon", "--logmethod", "stderr",
                   "--config", str(self.config), "--pidfile", str(self.work / f"radvd-{self.interface}.pid")]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None


def advertisements(pod: Namespace) -> int:
    """How many Router Advertisements the namespace has received so far."""
    done = subprocess.run(["ip", "netns", "exec", pod.name, "cat", "/proc/net/snmp6"], capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" ")
        if name == "Icmp6InRouterAdvertisements":
            return int(value)
    raise AssertionError("no Icmp6InRouterAdvertisements in /proc/net/snmp6")


def wait_for_advertisements(pod: Namespace, count: int) -> None:
    """Until `count` more RAs have arrived (bounded: a little over that many intervals)."""
    target = advertisements(pod) + count
    wait_for(lambda: advertisements(pod) >= target, f"{count} more Router Advertisements", timeout=(count + 2) * INTERVAL + 5, interval=0.2)
