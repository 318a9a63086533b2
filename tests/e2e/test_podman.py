"""podman 4.3 with its CNI network backend runs the chains: `podman run`,
`podman network connect`, and container removal (DEL); and radvd on a
node's bridge sends IPv6 Router Advertisements to the containers.

podman runs inside the node namespace through nsenter (not `ip netns exec`,
which remounts /sys and hides the cgroup mounts runc needs), with its own
containers.conf, storage and network config directory.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from chains import ACCEPT_RA_DEFRTR, CLEAN_PATH, ipv6_defaults, need, wait_for_ra_default, write_json
from images import busybox_rootfs_tar, podman_storage
from netns import Namespace, ip
from router import wait_for_advertisements

IMAGE = "localhost/ro-e2e-busybox:latest"


def bridge_network(name: str, bridge: str, subnet: str, gateway: str, routes: list, route_override: dict, work: Path) -> dict:
    ipam = {"type": "host-local", "ranges": [[{"subnet": subnet, "gateway": gateway}]], "routes": routes, "dataDir": str(work / "ipam")}
    return {
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False, "ipam": ipam},
            {"type": "route-override", **route_override},
        ],
    }


class Podman:
    def __init__(self, work: Path, storage: list[str], node: Namespace) -> None:
        self.work, self.storage, self.node = work, storage, node

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        command = ["nsenter", f"--net={self.node.path}", "podman", *self.storage, *args]
        env = {"PATH": CLEAN_PATH, "CONTAINERS_CONF": str(self.work / "containers.conf")}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def podman(plugin_dir: Path, node: Namespace, tmp_path: Path) -> Iterator[Podman]:
    need("podman", "runc", "nsenter")
    networks = tmp_path / "net.d"
    networks.mkdir()
    (tmp_path / "containers.conf").write_text(
        f"""[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "cni"
cni_plugin_dirs = ["{plugin_dir}"]
network_config_dir = "{networks}"
"""
    )
    write_json(
        networks / "ro-a.conflist",
        bridge_network(
            "ro-a", "ro-a0", "203.0.113.0/24", "203.0.113.1", [{"dst": "0.0.0.0/0"}],
            {"addroutes": [{"dst": "10.210.0.0/16", "gw": "203.0.113.254"}]}, tmp_path,
        ),
    )  # fmt: skip
    write_json(
        networks / "ro-b.conflist",
        bridge_network(
            "ro-b", "ro-b0", "198.51.100.0/24", "198.51.100.1", [{"dst": "10.221.0.0/16"}],
            {"delroutes": [{"dst": "10.221.0.0/16"}], "addroutes": [{"dst": "10.220.0.0/16", "gw": "198.51.100.254"}]},
            tmp_path,
        ),
    )  # fmt: skip
    write_json(
        networks / "ro-ra.conflist",
        bridge_network("ro-ra", "ro-ra0", "192.0.2.0/24", "192.0.2.1", [{"dst": "0.0.0.0/0"}], {"flushgateway": True}, tmp_path),
    )
    # The README's chain, in both families: macvlan on a veth of the node,
    # static IPAM whose addresses have a gateway, then flushgateway.
    ip("link", "add", "ro-mv0", "type", "veth", "peer", "name", "ro-mv1", ns=node.name)
    ip("link", "set", "ro-mv0", "up", ns=node.name)
    ip("link", "set", "ro-mv1", "up", ns=node.name)
    write_json(
        networks / "ro-static.conflist",
        {
            "cniVersion": "1.0.0",
            "name": "ro-static",
            "plugins": [
                {"type": "macvlan", "master": "ro-mv0", "mode": "bridge", "ipam": {
                    "type": "static",
                    "addresses": [{"address": "198.51.100.10/24", "gateway": "198.51.100.1"}, {"address": "2001:db8:64::10/64", "gateway": "2001:db8:64::1"}],
                    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}, {"dst": "10.123.0.0/16", "gw": "198.51.100.1"}],
                }},
                {"type": "route-override", "flushgateway": True, "addroutes": [{"dst": "10.200.0.0/16", "gw": "198.51.100.254"}, {"dst": "2001:db8:200::/48", "gw": "2001:db8:64::fe"}]},
            ],
        },
    )  # fmt: skip
    with podman_storage(tmp_path) as storage:
        client = Podman(tmp_path, storage, node)
        imported = client("import", str(busybox_rootfs_tar(tmp_path)), IMAGE)
        assert imported.returncode == 0, imported.stderr
        yield client


def start(podman: Podman, name: str, network: str) -> None:
    """A container that sleeps on `network`. No stop timeout: busybox's
    sleep, as PID 1, ignores SIGTERM, and removal would wait 10 s for it."""
    started = podman("run", "--detach", "--stop-timeout", "0", "--name", name, "--network", network, IMAGE, "sleep", "600")
    assert started.returncode == 0, started.stderr


def routes_of(text: str, dev: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines() if f"dev {dev}" in line}


def test_podman_sees_the_networks(podman: Podman) -> None:
    """podman drops, silently, a network whose plugins fail VERSION."""
    listed = podman("network", "ls", "--format", "{{.Name}}")
    assert {"ro-a", "ro-b", "ro-ra", "ro-static"} <= set(listed.stdout.split()), listed.stderr


def test_the_readme_chain_with_static_gateways_runs_under_podman(podman: Podman) -> None:
    """Issue 16.1: flushgateway deletes the default routes of both families
    and keeps static's gateways in the result (podman shows them as the
    network's gateway; they add no route), so the chain's CHECK would pass."""
    start(podman, "ro-static-ctr", "ro-static")
    v4 = podman("exec", "ro-static-ctr", "ip", "route").stdout
    v6 = podman("exec", "ro-static-ctr", "ip", "-6", "route").stdout
    assert routes_of(v4, "eth0") == {
        "10.123.0.0/16 via 198.51.100.1 dev eth0",
        "10.200.0.0/16 via 198.51.100.254 dev eth0",
        "198.51.100.0/24 dev eth0 scope link src 198.51.100.10",
    }
    assert not any(line.startswith("default") for line in v6.splitlines()), v6
    assert any(line.startswith("2001:db8:200::/48 via 2001:db8:64::fe dev eth0") for line in v6.splitlines()), v6
    network = podman("inspect", "--format", "{{json .NetworkSettings.Networks}}", "ro-static-ctr")
    settings = json.loads(network.stdout)["ro-static"]
    assert (settings["Gateway"], settings["IPv6Gateway"]) == ("198.51.100.1", "2001:db8:64::1"), network.stderr
    removed = podman("rm", "--force", "ro-static-ctr")
    assert removed.returncode == 0 and "error" not in removed.stderr.lower(), removed.stderr


def test_podman_run_shows_the_overridden_routes(podman: Podman) -> None:
    done = podman("run", "--rm", "--network", "ro-a", IMAGE, "ip", "route")
    assert done.returncode == 0, done.stderr
    assert routes_of(done.stdout, "eth0") == {
        "default via 203.0.113.1 dev eth0",
        "10.210.0.0/16 via 203.0.113.254 dev eth0",
        "203.0.113.0/24 dev eth0 scope link src 203.0.113.2",
    }
    assert "error" not in done.stderr.lower()


def test_network_connect_changes_only_that_interfaces_routes_and_rm_runs_del_cleanly(podman: Podman, tmp_path: Path) -> None:
    start(podman, "ro-e2e", "ro-a")
    before = podman("exec", "ro-e2e", "ip", "route").stdout
    connected = podman("network", "connect", "ro-b", "ro-e2e")
    assert connected.returncode == 0, connected.stderr
    after = podman("exec", "ro-e2e", "ip", "route").stdout
    assert routes_of(after, "eth0") == routes_of(before, "eth0")
    eth1 = routes_of(after, "eth1")
    assert "10.220.0.0/16 via 198.51.100.254 dev eth1" in eth1
    assert not any(route.startswith("10.221.") for route in eth1)
    removed = podman("rm", "--force", "ro-e2e")
    assert removed.returncode == 0 and "error" not in removed.stderr.lower(), removed.stderr
    # DEL ran through both chains: host-local released both addresses
    leases = [p.name for p in (tmp_path / "ipam").rglob("*") if p.is_file() and p.name[0].isdigit()]
    assert leases == [], leases


class ContainerNetns(Namespace):
    """The network namespace podman made for a container, by its path in
    /run/netns (podman removes it with the container)."""

    def __init__(self, path: str) -> None:
        self.path, self.name = path, Path(path).name


def run_beside_a_router(podman: Podman, radvd, network: str, bridge: str) -> ContainerNetns:
    """A container on `network`, then radvd on that network's bridge in the node."""
    start(podman, f"ctr-{network}", network)
    inspected = podman("inspect", "--format", "{{.NetworkSettings.SandboxKey}}", f"ctr-{network}")
    assert inspected.returncode == 0, inspected.stderr
    radvd(bridge)
    return ContainerNetns(inspected.stdout.strip())


def test_without_a_flush_rule_the_container_learns_the_ra_default_route(podman: Podman, radvd) -> None:
    """The control for the test below: ro-a's route-override only adds
    routes, so the node's RAs give the container an IPv6 default route."""
    container = run_beside_a_router(podman, radvd, "ro-a", "ro-a0")
    wait_for_ra_default(container)
    assert container.sysctl(ACCEPT_RA_DEFRTR) == 1


def test_flushgateway_keeps_the_ra_default_route_out_of_the_container(podman: Podman, radvd) -> None:
    """What podman users get from a flushgateway network: no IPv6 default
    from the node's router either, RA after RA."""
    container = run_beside_a_router(podman, radvd, "ro-ra", "ro-ra0")
    wait_for_advertisements(container, 3)
    assert ipv6_defaults(container) == [] and container.sysctl(ACCEPT_RA_DEFRTR) == 0
