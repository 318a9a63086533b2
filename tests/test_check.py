"""CHECK: exact lookups against the final result, as libcni calls it after ADD."""

from __future__ import annotations

import pytest

from runner import chained, plugin_config, run_plugin
from netns import V4, V6, Link, Pod


def add_then_config(pod: Pod, version: str = "1.0.0", routes: tuple = (), **settings: object) -> dict:
    """ADD, then the config libcni passes to CHECK: prevResult = ADD's output."""
    config = plugin_config(version, pod.prev_result(version, routes), **settings)
    result = run_plugin("ADD", config, netns=pod.path).ok()
    return chained(config, result)


def check(pod: Pod, config: dict):
    return run_plugin("CHECK", config, netns=pod.path)


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_check_passes_right_after_add_also_for_gw_less_addroutes(pod: Pod, version: str) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    config = add_then_config(
        pod,
        version,
        routes=({"dst": "0.0.0.0/0"}, {"dst": "::/0"}),
        delroutes=[{"dst": "0.0.0.0/0"}],
        addroutes=[{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}, {"dst": "10.80.0.0/16"}, {"dst": "2001:db8:80::/48"}],
    )
    outcome = check(pod, config)
    assert outcome.exit_code == 0 and outcome.stdout == "", outcome.document


def test_check_passes_after_flushgateway_with_on_link_addroutes(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = add_then_config(pod, routes=({"dst": "0.0.0.0/0"},), flushgateway=True, addroutes=[{"dst": "10.81.0.0/16"}])
    check(pod, config).ok()


def test_check_fails_when_a_listed_route_is_missing(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = add_then_config(pod, addroutes=[{"dst": "10.82.0.0/16"}])
    pod.route("del", "10.82.0.0/16")
    outcome = check(pod, config)
    assert outcome.code == 103 and "10.82.0.0/16" in outcome.msg and "no such route" in outcome.msg


def test_check_fails_when_a_listed_route_has_another_next_hop(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = add_then_config(pod, addroutes=[{"dst": "10.83.0.0/16"}])
    pod.route("replace", "10.83.0.0/16", "via", "192.168.50.77", "dev", "net1", "proto", "114")
    outcome = check(pod, config)
    assert outcome.code == 103
    assert "expected via 192.168.50.1" in outcome.msg and "192.168.50.77" in outcome.msg


def test_check_is_exact_not_longest_prefix(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = add_then_config(pod, addroutes=[{"dst": "10.84.0.0/16", "gw": "192.168.50.9"}])
    pod.route("del", "10.84.0.0/16")
    pod.route("add", "10.0.0.0/8", "via", "192.168.50.9", "dev", "net1")  # would match 10.84.x by LPM
    assert check(pod, config).code == 103


def test_check_fails_when_a_deleted_route_is_back(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    pod.route("add", "10.85.0.0/16", "via", "192.168.50.1", "dev", "net1")
    config = add_then_config(pod, routes=({"dst": "10.85.0.0/16"},), delroutes=[{"dst": "10.85.0.0/16"}])
    check(pod, config).ok()
    pod.route("add", "10.85.0.0/16", "via", "192.168.50.1", "dev", "net1")
    outcome = check(pod, config)
    assert outcome.code == 103 and "present again" in outcome.msg and "delroutes[0]" in outcome.msg


def test_check_fails_when_the_default_route_is_back_under_flushgateway(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4, **V6))
    config = add_then_config(pod, routes=({"dst": "0.0.0.0/0"}, {"dst": "::/0"}), flushgateway=True)
    check(pod, config).ok()
    pod.route("add", "default", "via", "2001:db8:50::1", "dev", "net1", family=6)
    outcome = check(pod, config)
    assert outcome.code == 103 and "flushgateway" in outcome.msg and "default" in outcome.msg


def test_skipcheck_passes_without_looking(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = add_then_config(pod, addroutes=[{"dst": "10.86.0.0/16"}], skipcheck=True)
    pod.route("del", "10.86.0.0/16")
    check(pod, config).ok()


def test_check_below_0_4_0_is_refused_with_code_1(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    outcome = check(pod, plugin_config("0.3.1", pod.prev_result("0.3.1")))
    assert outcome.code == 1 and "0.4.0" in outcome.msg
