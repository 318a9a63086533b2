"""One way in for configs: the plugin, `validate` and `explain` read, size-cap
and version-check a config alike, and warn alike (ro.intake)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from netns import V4, Link, Pod
from ro import intake
from ro.errors import CniError
from runner import CLEAN_PATH, plugin_command, plugin_config, run_plugin

PREV = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/run/netns/x"}]}


def human(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(plugin_command() + list(args), env={"PATH": CLEAN_PATH}, capture_output=True, text=True)


def conflist(*route_override: dict, version: str = "1.0.0") -> dict:
    return {"cniVersion": version, "name": "net", "plugins": [{"type": "macvlan", "master": "eth0"}, *route_override]}


def warnings_in(stderr: str) -> list[str]:
    """The warnings of `validate`/`explain` output or of the plugin's log, without their prefixes."""
    return [line.split("warning: ", 1)[1] for line in stderr.splitlines() if "warning: " in line]


# ---- through the built file: the plugin and the tools agree ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # NaN in another plugin of the list: json.load took it, libcni and the plugin do not
        '{"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "macvlan", "mtu": NaN}, {"type": "route-override"}]}',
        '{"cniVersion": "1.0.0", "name": "net", "type": "route-override", "addroutes": [{"dst": "10.0.0.0/8", "gw": "10.1.1.1", "x": Infinity}]}',
    ],
)
def test_validate_refuses_what_is_not_json_as_the_plugin_does(tmp_path: Path, text: str) -> None:
    path = tmp_path / "net.conflist"
    path.write_text(text)
    plugin = run_plugin("ADD", text.encode(), netns="/run/netns/x")
    assert plugin.code == 6 and plugin.msg.startswith("the config on stdin is not JSON: ")
    reason = plugin.msg.split("is not JSON: ", 1)[1]
    done = human("validate", str(path))
    assert done.returncode == 1 and "OK" not in done.stdout
    assert f"{path}: the file is not JSON: {reason} (CNI error 6)" in done.stdout


@pytest.mark.parametrize("version", ["9.9.9", "1.0"])
def test_explain_with_an_unsupported_cni_version_says_so_as_the_plugin_does(tmp_path: Path, version: str) -> None:
    """It used to end in a traceback."""
    config = plugin_config(version, None, flushgateway=True)
    path = tmp_path / "net.conflist"
    path.write_text(json.dumps(conflist(config, version=version)))
    plugin = run_plugin("ADD", plugin_config(version, PREV, flushgateway=True), netns="/run/netns/x")
    assert plugin.code == 1
    expected = f"{path}: {plugin.msg}; {plugin.document['details']} (CNI error 1)"
    done = human("explain", str(path), "--netns", "/run/netns/x")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [expected]
    done = human("validate", str(path))
    assert done.returncode == 1 and done.stdout.splitlines() == [expected]


def test_a_file_over_the_cap_is_refused_by_the_plugin_validate_and_explain(tmp_path: Path) -> None:
    text = json.dumps(plugin_config("1.0.0", PREV, flushgateway=True)) + " " * intake.MAX_BYTES  # valid JSON, too big
    path = tmp_path / "big.json"
    path.write_text(text)
    plugin = run_plugin("ADD", text.encode(), netns="/run/netns/x")
    assert plugin.code == 6 and plugin.msg == "the config on stdin is larger than 8 MiB; refusing it"
    expected = f"{path}: the file is larger than 8 MiB; refusing it (CNI error 6)"
    done = human("validate", str(path))
    assert done.returncode == 1 and done.stdout.splitlines() == [expected]
    done = human("explain", str(path), "--netns", "/run/netns/x")
    assert done.returncode == 1 and done.stderr.splitlines() == [expected]


def test_validate_and_explain_warn_as_the_plugin_logs(pod: Pod, tmp_path: Path) -> None:
    """Each warning once, in the same words: key spellings of the Go
    original, a pod's args.cni.logFile, gw-less addroutes under flushgateway."""
    pod.add_link(Link("net1", **V4))
    config = plugin_config(
        "1.0.0",
        pod.prev_result("1.0.0"),
        flushGateway=True,
        addroutes=[{"dst": "10.40.0.0/16"}],
        args={"cni": {"logFile": "/tmp/planted.log"}},
    )
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(config))
    validated = human("validate", str(path))
    assert validated.returncode == 0, validated.stdout
    explained = human("explain", str(path), "--netns", pod.path, "--ifname", "net1")
    assert explained.returncode == 0, explained.stderr
    added = run_plugin("ADD", config, netns=pod.path)
    added.ok()
    logged = warnings_in(added.stderr)
    assert len(logged) == 3 and any("on-link" in warning for warning in logged)
    assert warnings_in(validated.stderr) == logged
    assert warnings_in(explained.stderr) == logged


# ---- ro.intake itself ----------------------------------------------------------------------


def test_reads_at_most_the_cap_and_names_the_source() -> None:
    assert intake.read(io.BytesIO(b'{"a": 1}'), "the config on stdin") == {"a": 1}
    with pytest.raises(CniError) as refused:
        intake.read(io.BytesIO(b" " * (intake.MAX_BYTES + 1)), "the file")
    assert refused.value.code == 6 and refused.value.msg == "the file is larger than 8 MiB; refusing it"


def test_an_unreadable_file_is_an_io_error(tmp_path: Path) -> None:
    with pytest.raises(CniError) as refused:
        intake.read_file(str(tmp_path / "missing.conflist"))
    assert refused.value.code == 5 and refused.value.msg == "cannot read the file: No such file or directory"


def test_a_conflist_hands_each_route_override_entry_the_lists_name_and_version() -> None:
    entries = intake.plugin_entries(conflist({"type": "route-override", "name": "own", "cniVersion": "1.1.0"}, {"type": "route-override"}))
    assert [entry.where for entry in entries] == ["plugins[1].", "plugins[2]."]
    assert all(entry.config["name"] == "net" and entry.config["cniVersion"] == "1.0.0" for entry in entries)
    assert entries[0].warnings == ["cniVersion: '1.1.0' is ignored: runtimes give every plugin the list's cniVersion ('1.0.0')"]
    (single,) = intake.plugin_entries({"type": "route-override", "name": "n"})
    assert single.where == "" and single.cni_version == "0.1.0"  # libcni's default


@pytest.mark.parametrize("document, code", [({"cniVersion": 1, "plugins": []}, 7), ({"cniVersion": "2.0.0", "plugins": []}, 1), ({"plugins": {}}, 7)])
def test_a_conflist_a_runtime_would_refuse_is_refused(document: dict, code: int) -> None:
    with pytest.raises(CniError) as refused:
        intake.plugin_entries(document)
    assert refused.value.code == code
