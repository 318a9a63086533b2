"""The commands for humans, on the same executable (CNI_COMMAND unset)."""

from __future__ import annotations

import json
import subprocess

from runner import CLEAN_PATH, plugin_command


def human(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(plugin_command() + list(args), env={"PATH": CLEAN_PATH}, capture_output=True, text=True)


def test_help_explains_the_plugin() -> None:
    done = human("--help")
    assert done.returncode == 0
    for words in ("meta plugin", "flushroutes", "addroutes", "args.cni", "1.1.0", "validate"):
        assert words in done.stdout


def test_version_names_plugin_and_python() -> None:
    done = human("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("route-override 0.1.0 (Python 3.")


def test_no_arguments_prints_usage_and_fails() -> None:
    done = human()
    assert done.returncode == 2 and "usage" in done.stderr


def test_validate_accepts_a_good_conflist(tmp_path) -> None:
    conflist = {
        "cniVersion": "1.0.0",
        "name": "net",
        "plugins": [
            {"type": "macvlan", "master": "eth0", "ipam": {"type": "static"}},
            {"type": "route-override", "flushgateway": True, "addroutes": [{"dst": "10.0.0.0/8", "gw": "192.168.1.1"}]},
        ],
    }
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps(conflist))
    done = human("validate", str(path))
    assert done.returncode == 0 and "OK" in done.stdout


def test_validate_lists_every_problem_with_its_key_path(tmp_path) -> None:
    conflist = {
        "cniVersion": "1.0.0",
        "name": "net",
        "plugins": [
            {"type": "bridge"},
            {"type": "route-override", "flushroutes": "yes", "addroutes": [{"dst": "10.0.0.1/8"}, {"dst": "::/0", "gw": "10.0.0.1"}]},
        ],
    }
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps(conflist))
    done = human("validate", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "plugins[1].flushroutes",
        "plugins[1].addroutes[0].dst",
        "plugins[1].addroutes[1].gw",
    ]
    assert "did you mean 10.0.0.0/8" in lines[1]


def test_validate_a_single_plugin_config_and_warn_about_on_link_routes(tmp_path) -> None:
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "route-override", "flushgateway": True, "addroutes": [{"dst": "10.0.0.0/8"}]}))
    done = human("validate", str(path))
    assert done.returncode == 0 and "on-link" in done.stderr


def test_validate_reports_unreadable_files(tmp_path) -> None:
    (tmp_path / "bad.json").write_text("{")
    assert human("validate", str(tmp_path / "bad.json")).returncode == 1
    assert human("validate", str(tmp_path / "missing.json")).returncode == 1


def test_explain_shows_what_add_would_change_and_changes_nothing(pod, tmp_path) -> None:
    from netns import V4, Link

    pod.add_link(Link("net1", **V4))
    before = pod.snapshot()
    conflist = {
        "cniVersion": "1.0.0",
        "name": "net",
        "plugins": [{"type": "macvlan"}, {"type": "route-override", "flushgateway": True, "addroutes": [{"dst": "10.0.0.0/8", "gw": "192.168.50.9"}]}],
    }
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps(conflist))
    done = human("explain", str(path), "--netns", pod.path, "--ifname", "net1")
    assert done.returncode == 0, done.stderr
    assert "would delete default via 192.168.50.1 dev net1 (flushgateway)" in done.stdout
    assert "would add 10.0.0.0/8 via 192.168.50.9 dev net1 (addroutes[0])" in done.stdout
    assert pod.snapshot() == before


def test_validate_checks_each_entry_with_the_lists_cni_version(tmp_path) -> None:
    """libcni gives every plugin the list's cniVersion: an entry's own 1.1.0
    does not make `priority` valid in a 1.0.0 list (the real ADD would fail)."""
    conflist = {
        "cniVersion": "1.0.0",
        "name": "net",
        "plugins": [{"type": "macvlan"}, {"type": "route-override", "cniVersion": "1.1.0", "addroutes": [{"dst": "10.0.0.0/8", "priority": 5}]}],
    }
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps(conflist))
    done = human("validate", str(path))
    assert done.returncode == 1
    assert "plugins[1].addroutes[0].priority: needs cniVersion 1.1.0" in done.stdout
    assert "plugins[1].cniVersion: '1.1.0' is ignored" in done.stderr


def test_validate_reports_bad_gws_and_same_route_entries(tmp_path) -> None:
    path = tmp_path / "plugin.json"
    routes = [{"dst": "10.1.0.0/16", "gws": ["10.0.0.1", "10.0.0.1"]}, {"dst": "10.2.0.0/16", "gw": "10.0.0.1"}, {"dst": "10.2.0.0/16", "gw": "10.0.0.2"}]
    path.write_text(json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "route-override", "addroutes": routes}))
    done = human("validate", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].endswith('addroutes[0].gws[1]: repeats addroutes[0].gws[0] (value: "10.0.0.1")')
    assert "addroutes[2]: same dst, table and priority as addroutes[1]" in lines[1] and "gws" in lines[1]
