"""The netlink layer: how it loads pyroute2 and how it enters namespaces."""

from __future__ import annotations

import json
import subprocess

from runner import plugin_config, run_plugin
from netns import V4, V6, Link, Pod

PROBE = """
import json, sys
import ro.netlink
print(json.dumps(sorted(name for name in sys.modules if name.startswith(("pyroute2", "asyncio", "multiprocessing")))))
"""


def test_the_netlink_layer_loads_no_netlink_library() -> None:
    """ro.netlink reads and builds route messages itself: no helper process,
    no asyncio, no pyroute2 on the path of every pod start."""
    import sys

    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_deleted_routes_are_restored_exactly(pod: Pod) -> None:
    """Rollback re-sends the kernel's own messages: metric, proto, mtu,
    preference and table survive a delete + restore."""
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1", "metric", "77", "proto", "static", "mtu", "1300")
    pod.route("add", "2001:db8:10::/48", "via", "2001:db8:50::1", "dev", "net1", "pref", "high", "metric", "9", family=6)
    before = pod.snapshot()
    config = plugin_config(
        "1.0.0",
        pod.prev_result("1.0.0"),
        flushroutes=True,
        addroutes=[{"dst": "10.20.0.0/16", "gw": "10.99.0.1"}],
    )
    assert run_plugin("ADD", config, netns=pod.path).code == 100
    assert pod.snapshot() == before


def test_the_host_namespace_is_refused() -> None:
    config = plugin_config("1.0.0", {"cniVersion": "1.0.0"}, flushroutes=True)
    outcome = run_plugin("ADD", config, netns="/proc/self/ns/net")
    assert outcome.code == 101 and "own (host) network namespace" in outcome.msg
