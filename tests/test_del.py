"""DEL: removes what addroutes added, best effort and idempotent."""

from __future__ import annotations

import pytest

from runner import chained, plugin_config, run_plugin
from netns import V4, Link, Pod


def added(pod: Pod, **settings: object) -> dict:
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), **settings)
    return chained(config, run_plugin("ADD", config, netns=pod.path).ok())


def test_del_removes_added_routes_only(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.91.0.0/16", "via", "192.168.50.1", "dev", "net1")
    config = added(pod, addroutes=[{"dst": "10.90.0.0/16"}, {"dst": "10.92.0.0/16", "gw": "192.168.50.5"}])
    run_plugin("DEL", config, netns=pod.path).ok()
    assert pod.routes(4) == {
        "default via 192.168.50.1 dev net1",
        "192.168.50.0/24 dev net1",
        "10.91.0.0/16 via 192.168.50.1 dev net1",
    }


def test_del_twice_succeeds(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = added(pod, addroutes=[{"dst": "10.90.0.0/16"}])
    run_plugin("DEL", config, netns=pod.path).ok()
    run_plugin("DEL", config, netns=pod.path).ok()
    assert "10.90.0.0/16 via 192.168.50.1 dev net1" not in pod.routes(4)


def test_del_without_prev_result_removes_routes_on_cni_ifname(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = added(pod, addroutes=[{"dst": "10.93.0.0/16"}])
    del config["prevResult"]
    run_plugin("DEL", config, netns=pod.path).ok()
    assert not any("10.93.0.0" in r for r in pod.routes(4))


def test_del_succeeds_when_the_interface_is_gone(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = added(pod, addroutes=[{"dst": "10.94.0.0/16"}])
    pod.peer.delete()  # takes the veth pair, and so net1, with it
    run_plugin("DEL", config, netns=pod.path).ok()


@pytest.mark.parametrize("netns", ["", None, "/run/netns/route-override-test-gone", "regular file"])
def test_del_succeeds_when_the_namespace_is_empty_missing_or_gone(tmp_path, netns) -> None:
    if netns == "regular file":  # what an unmounted /run/netns entry leaves behind
        netns = str(tmp_path / "ns")
        (tmp_path / "ns").write_text("")
    config = plugin_config("1.0.0", None, addroutes=[{"dst": "10.95.0.0/16"}])
    run_plugin("DEL", config, netns=netns).ok()
    run_plugin("DEL", config, netns=netns).ok()


def test_del_under_an_invalid_config_succeeds_and_says_why(pod: Pod) -> None:
    """ADD refused this config, so nothing was added; a runtime DELs after a
    failed ADD and must not be stuck retrying."""
    pod.add_link(Link("net1", **V4))
    before = pod.snapshot()
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=[{"dst": "10.96.0.1/16"}])
    assert run_plugin("ADD", config, netns=pod.path).code == 7
    outcome = run_plugin("DEL", config, netns=pod.path)
    assert outcome.exit_code == 0 and "invalid config" in outcome.stderr and "addroutes[0].dst" in outcome.stderr
    assert pod.snapshot() == before
