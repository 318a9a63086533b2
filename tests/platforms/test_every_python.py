"""The same built file, byte for byte, on every python3 it claims: linux/arm64,
ppc64le and s390x (big-endian) under user-mode emulation, each with its
architecture's Debian python3; Debian bullseye (3.9, the floor), bookworm,
trixie and sid natively; and every CPython 3.9+ installed on this machine.

On real namespaces, read back with the host's `ip`: the emulated runs do
real kernel work through emulated netlink, so they also prove the netlink
code on a big-endian machine.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from netns import V4, V6, Link, Pod
from pythons import Python
from runner import Outcome, chained, plugin_config, run_plugin

ADDED = [{"dst": "10.20.0.0/16", "gw": "192.168.50.254"}, {"dst": "2001:db8:20::/48", "gw": "2001:db8:50::fe"}]
CONNECTED = {4: {"192.168.50.0/24 dev net1"}, 6: {"2001:db8:50::/64 dev net1", "fe80::/64 dev net1"}}
ROUNDS = 11  # timing: the median of 11 warm ADDs, each beside a run of the floor


def cni(python: Python, command: str, config: dict, **kwargs) -> Outcome:
    return run_plugin(command, config, plugin=python.command(python.plugin), env=python.env, **kwargs)


def dual_stack(pod: Pod) -> Pod:
    """net1 as an interface plugin leaves it, and a route per family for delroutes."""
    pod.add_link(Link("net1", **V4, **V6))
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")
    pod.route("add", "2001:db8:10::/48", "via", "2001:db8:50::1", "dev", "net1", family=6)
    return pod


def test_the_same_file_runs_and_names_the_python_it_ran_on(python: Python, plugin: Path) -> None:
    if python.spec.kind == "bundled":  # the installer rewrote lines 1 and 3 (the runtime's paths), nothing else
        assert python.file.read_bytes().split(b"\n", 3)[3] == plugin.read_bytes().split(b"\n", 3)[3]
    else:
        assert python.file.read_bytes() == plugin.read_bytes()
    seen = python.describe()
    if python.spec.kind in ("emulated", "bundled"):  # the python3 the file found is that architecture's
        assert seen["machine"] == python.spec.platform.qemu
        assert seen["byteorder"] == ("big" if python.spec.platform.arch == "s390x" else "little")
    versions = cni(python, "VERSION", {"cniVersion": "1.1.0"}, netns=None, ifname=None, container_id=None).ok()
    assert "1.1.0" in versions["supportedVersions"]
    human = subprocess.run(python.command(python.plugin, "--version"), env=python.env, capture_output=True, text=True)
    assert human.returncode == 0, human.stderr
    assert f"Python {seen['version']} at " in human.stdout


def test_add_check_del_on_a_real_namespace(python: Python, pod: Pod) -> None:
    dual_stack(pod)
    routes = ({"dst": "0.0.0.0/0"}, {"dst": "::/0"}, {"dst": "10.10.0.0/16"}, {"dst": "2001:db8:10::/48"})
    config = plugin_config(
        "1.0.0",
        pod.prev_result("1.0.0", routes),
        flushgateway=True,
        delroutes=[{"dst": "10.10.0.0/16"}, {"dst": "2001:db8:10::/48"}],
        addroutes=ADDED,
    )
    result = cni(python, "ADD", config, netns=pod.path).ok()
    assert pod.routes(4) == CONNECTED[4] | {"10.20.0.0/16 via 192.168.50.254 dev net1"}
    assert pod.routes(6) == CONNECTED[6] | {"2001:db8:20::/48 via 2001:db8:50::fe dev net1"}
    assert result["routes"] == ADDED and all("gateway" in entry for entry in result["ips"])  # flushgateway keeps them (issue 16.1)
    cni(python, "CHECK", chained(config, result), netns=pod.path).ok()
    pod.route("add", "10.10.0.0/16", "via", "192.168.50.1", "dev", "net1")  # a deleted route comes back
    assert cni(python, "CHECK", chained(config, result), netns=pod.path).code == 103
    cni(python, "DEL", chained(config, result), netns=pod.path).ok()
    assert pod.routes(4) == CONNECTED[4] | {"10.10.0.0/16 via 192.168.50.1 dev net1"} and pod.routes(6) == CONNECTED[6]


def test_an_add_the_kernel_refuses_is_rolled_back_exactly(python: Python, pod: Pod) -> None:
    dual_stack(pod)
    before = pod.snapshot()
    refused = {"dst": "10.71.0.0/16", "gw": "10.99.0.1"}  # no route to the gateway: the kernel refuses it
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushroutes=True, addroutes=[*ADDED, refused])
    outcome = cni(python, "ADD", config, netns=pod.path)
    assert outcome.code == 100 and "addroutes[2]" in outcome.msg and "undone" in outcome.msg
    assert pod.snapshot() == before


def test_a_warm_add_against_its_interpreters_floor(python: Python, pod: Pod, covered: list[str]) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    before = pod.snapshot()
    job = {
        "rounds": ROUNDS,
        "python3": python.python3,
        "plugin": python.plugin,
        "env": {
            **python.env,
            "CNI_NETNS": pod.path,
            "CNI_IFNAME": "net1",
            "CNI_CONTAINERID": "ctr-1",
            "CNI_PATH": "/usr/lib/cni",
        },
        "config": plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=ADDED),
    }
    done = subprocess.run(python.command(*python.timer), input=json.dumps(job), env=python.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    times = json.loads(done.stdout)
    seen = python.describe()
    ratio = times["add"] / times["floor"]
    endian = f"{seen['byteorder']}-endian"
    covered.append(
        f"{python.spec.name:<18} Python {seen['version']:<8} {seen['machine']:<8} {endian:<14} "
        f"warm ADD {times['add'] * 1000:6.1f} ms = {ratio:4.2f}x python3 -I -S -c pass ({times['floor'] * 1000:.1f} ms)"
    )
    assert pod.snapshot() == before  # every timed ADD was undone by its DEL
