"""The protocol: environment, stdin, versions and error codes, as a runtime sees them."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from runner import plugin_command, plugin_config, run_plugin

SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "net1", "sandbox": "/run/netns/x"}],
    "ips": [{"address": "192.168.50.2/24", "gateway": "192.168.50.1", "interface": 0}],
}


@pytest.mark.parametrize("version", SUPPORTED)
def test_version_echoes_the_request_and_lists_every_version(version: str) -> None:
    document = run_plugin("VERSION", {"cniVersion": version}, netns=None, ifname=None, container_id=None).ok()
    assert document == {"cniVersion": version, "supportedVersions": SUPPORTED}


@pytest.mark.parametrize("stdin", [b"", b"not json", json.dumps({"cniVersion": "9.9.9"}).encode()])
def test_version_answers_whatever_stdin_holds(stdin: bytes) -> None:
    assert run_plugin("VERSION", stdin).ok()["cniVersion"] == "1.1.0"


@pytest.mark.parametrize("command", ["STATUS", "GC"])
def test_status_and_gc_succeed_silently_from_1_1_0(command: str) -> None:
    outcome = run_plugin(command, plugin_config("1.1.0"), netns=None, ifname=None, container_id=None)
    assert outcome.exit_code == 0 and outcome.stdout == ""
    refused = run_plugin(command, plugin_config("1.0.0"), netns=None, ifname=None, container_id=None)
    assert refused.code == 1 and "1.1.0" in refused.msg


def test_unknown_command_is_error_4() -> None:
    outcome = run_plugin("UPDATE", plugin_config())
    assert outcome.code == 4 and "CNI_COMMAND" in outcome.msg and "UPDATE" in outcome.msg


@pytest.mark.parametrize(
    "command, variable, env",
    [
        ("ADD", "CNI_CONTAINERID", {"container_id": None}),
        ("DEL", "CNI_CONTAINERID", {"container_id": ""}),
        ("CHECK", "CNI_CONTAINERID", {"container_id": "-starts-with-dash"}),
        ("ADD", "CNI_CONTAINERID", {"container_id": "has space"}),
        ("ADD", "CNI_IFNAME", {"ifname": None}),
        ("DEL", "CNI_IFNAME", {"ifname": "sixteen-bytes-xx"}),
        ("ADD", "CNI_IFNAME", {"ifname": "net/1"}),
        ("CHECK", "CNI_IFNAME", {"ifname": ".."}),
        ("ADD", "CNI_NETNS", {"netns": None}),
        ("CHECK", "CNI_NETNS", {"netns": ""}),
    ],
)
def test_missing_or_invalid_variables_are_error_4_naming_the_variable(command: str, variable: str, env: dict) -> None:
    arguments = {"netns": "/run/netns/x", **env}
    outcome = run_plugin(command, plugin_config("1.0.0", PREV), **arguments)
    assert outcome.code == 4 and variable in outcome.msg


def test_del_needs_no_netns() -> None:
    run_plugin("DEL", plugin_config("1.0.0", PREV), netns=None).ok()


@pytest.mark.parametrize("stdin", [b"{", b"nope", b"[1, 2]", b'{"cniVersion": NaN}', b"\xff\xfe{}", b"[" * 100_000])
def test_stdin_that_is_not_a_json_object_is_error_6(stdin: bytes) -> None:
    outcome = run_plugin("ADD", stdin, netns="/run/netns/x")
    assert outcome.code == 6


@pytest.mark.parametrize("version", ["0.0.1", "2.0.0", "1.0", ""])
def test_unsupported_cni_version_is_error_1(version: str) -> None:
    outcome = run_plugin("ADD", plugin_config(version, PREV), netns="/run/netns/x")
    assert outcome.code == 1 and "supported" in outcome.msg


@pytest.mark.parametrize(
    "settings, path, value",
    [
        ({"flushroutes": "yes"}, "flushroutes", '"yes"'),
        ({"flushgateway": 1}, "flushgateway", "1"),
        ({"skipcheck": "true"}, "skipcheck", '"true"'),
        ({"addroutes": [{"dst": "10.0.0.0/33"}]}, "addroutes[0].dst", '"10.0.0.0/33"'),
        ({"addroutes": [{"dst": "10.1.2.3/8"}]}, "addroutes[0].dst", '"10.1.2.3/8"'),
        ({"addroutes": [{"dst": "10.0.0.0/8", "gw": "2001:db8::1"}]}, "addroutes[0].gw", '"2001:db8::1"'),
        ({"delroutes": [{"dst": "2001:db8::/32", "gw": "10.0.0.1"}]}, "delroutes[0].gw", '"10.0.0.1"'),
        ({"addroutes": {"dst": "10.0.0.0/8"}}, "addroutes", '{"dst": "10.0.0.0/8"}'),
        ({"addroutes": [{"dst": "10.0.0.0/8", "table": 5}]}, "addroutes[0].table", "5"),
        ({"args": {"cni": "flushroutes"}}, "args.cni", '"flushroutes"'),
        ({"args": {"cni": {"addroutes": [{"dst": "x"}]}}}, "args.cni.addroutes[0].dst", '"x"'),
        ({"name": ""}, "name", '""'),
    ],
)
def test_invalid_config_is_error_7_naming_key_path_and_value(settings: dict, path: str, value: str) -> None:
    outcome = run_plugin("ADD", plugin_config("1.0.0", PREV, **settings), netns="/run/netns/x")
    assert outcome.code == 7
    assert outcome.msg.startswith(path + ":") and value in outcome.msg, outcome.msg


@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_missing_prev_result_is_error_7(command: str) -> None:
    outcome = run_plugin(command, plugin_config("1.0.0"), netns="/run/netns/x")
    assert outcome.code == 7 and "prevResult" in outcome.msg


def test_invalid_prev_result_is_error_7_naming_its_path() -> None:
    prev = {**PREV, "routes": [{"dst": "10.0.0.0/8", "gw": "nope"}]}
    outcome = run_plugin("ADD", plugin_config("1.0.0", prev), netns="/run/netns/x")
    assert outcome.code == 7 and outcome.msg.startswith("prevResult.routes[0].gw:")


def test_every_problem_is_in_the_details() -> None:
    outcome = run_plugin("ADD", plugin_config("1.0.0", PREV, flushroutes=2, skipcheck="x"), netns="/run/netns/x")
    assert outcome.msg.startswith("flushroutes:") and outcome.document["details"].startswith("skipcheck:")


def test_an_unexpected_bug_is_error_999_with_the_traceback_on_stderr_only(monkeypatch, capsys) -> None:
    """Fault injection at the plugin boundary: the protocol layer must turn
    any exception into a CNI error object, never a bare traceback."""
    from ro import cni

    def broken(request):
        raise ZeroDivisionError("injected")

    stdout = io.BytesIO()
    environ = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", "CNI_NETNS": "/run/netns/x"}
    code = cni.run(environ, io.BytesIO(json.dumps(plugin_config("1.0.0", PREV)).encode()), stdout, lambda: {"ADD": broken})
    document = json.loads(stdout.getvalue())
    assert code == 1 and document["code"] == 999 and "ZeroDivisionError" in document["msg"]
    assert "Traceback" in capsys.readouterr().err and "Traceback" not in stdout.getvalue().decode()


def test_errors_are_printed_in_the_request_version() -> None:
    outcome = run_plugin("ADD", plugin_config("0.4.0", None), netns="/run/netns/x")
    assert outcome.document["cniVersion"] == "0.4.0"


@pytest.mark.parametrize(
    "command, config, env",
    [
        ("VERSION", {"cniVersion": "1.0.0"}, {}),
        ("STATUS", plugin_config("1.1.0"), {}),
        ("GC", plugin_config("1.1.0"), {}),
        ("DEL", plugin_config("1.0.0", PREV, addroutes=[{"dst": "10.0.0.0/8"}]), {"CNI_NETNS": ""}),
        ("DEL", plugin_config("1.0.0", PREV, addroutes=[{"dst": "10.0.0.0/8"}]), {"CNI_NETNS": "/run/netns/gone"}),
        ("ADD", plugin_config("1.0.0", PREV, flushroutes="no"), {"CNI_NETNS": "/run/netns/x"}),
        ("ADD", plugin_config("1.0.0", None), {"CNI_NETNS": "/run/netns/x"}),
    ],
)
def test_cheap_paths_import_neither_planner_nor_netlink(command: str, config: dict, env: dict) -> None:
    """Every pod start pays for each import: the answers that need no kernel
    work load neither the planner nor the netlink layer, and no module that
    pulls in enum, re or typing (each a measurable part of a start)."""
    environ = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": command, "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", **env}
    done = subprocess.run(
        plugin_command("-X", "importtime"), input=json.dumps(config).encode(), env=environ, capture_output=True
    )
    imported = [line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time")]
    assert "ro.cni" in imported
    heavy = {"ro.plan", "ro.netlink", "ro.wire", "ro.route_messages", "ro.apply", "enum", "re", "typing", "dataclasses", "socket", "pyroute2"}
    assert not heavy & set(imported), heavy & set(imported)
    if command == "VERSION":
        assert "ro.log" not in imported
