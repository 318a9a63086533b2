"""Hardening: concurrent runs, dangerous parameters, logs, and isolation
from the environment the runtime happens to have."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from netns import V4, Link, Pod
from runner import CLEAN_PATH, PLUGIN, Outcome, chained, plugin_command, plugin_config, run_plugin, with_peak_rss

# ---- concurrency ---------------------------------------------------------------

MANY_ROUTES = [{"dst": f"10.77.{i >> 8}.{i & 255}/32"} for i in range(800)]  # long enough runs to overlap


def start(command: str, config: dict, netns: str, **env: str) -> subprocess.Popen:
    environ = {"PATH": CLEAN_PATH, "CNI_COMMAND": command, "CNI_CONTAINERID": "ctr", "CNI_IFNAME": "net1", "CNI_NETNS": netns, **env}
    process = subprocess.Popen(plugin_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ)
    process.stdin.write(json.dumps(config).encode())
    process.stdin.close()
    process.stdin = None
    return process


def finish(process: subprocess.Popen) -> Outcome:
    out, err = process.communicate(timeout=120)
    return Outcome(process.returncode, out.decode(), err.decode())


def test_64_adds_in_64_namespaces_at_once_all_succeed(make_pod) -> None:
    pods = [make_pod() for _ in range(64)]
    for pod in pods:
        pod.add_link(Link("net1", **V4))
    runs = [
        start("ADD", plugin_config("1.0.0", pod.prev_result("1.0.0"), flushgateway=True, addroutes=[{"dst": "10.60.0.0/16", "gw": "192.168.50.9"}]), pod.path)
        for pod in pods
    ]
    outcomes = [finish(run) for run in runs]
    assert [o.exit_code for o in outcomes] == [0] * 64, [o.document for o in outcomes if o.exit_code]
    for pod in pods:
        assert pod.routes(4) == {"192.168.50.0/24 dev net1", "10.60.0.0/16 via 192.168.50.9 dev net1"}


def test_8_add_del_check_runs_on_one_namespace_never_leave_it_half_changed(pod: Pod) -> None:
    """Without the namespace lock, concurrent ADDs plan the same additions and
    all but one fail (EEXIST), rolling back; DEL races ADD half-way."""
    pod.add_link(Link("net1", **V4))
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushroutes=True, addroutes=MANY_ROUTES)
    result = run_plugin("ADD", config, netns=pod.path).ok()
    added = pod.snapshot()
    run_plugin("DEL", chained(config, result), netns=pod.path).ok()
    deleted = pod.snapshot()
    run_plugin("ADD", config, netns=pod.path).ok()
    commands = ["ADD", "CHECK", "DEL", "ADD", "CHECK", "ADD", "DEL", "CHECK"]
    runs = [start(command, chained(config, result) if command != "ADD" else config, pod.path) for command in commands]
    outcomes = dict(zip(range(8), (finish(run) for run in runs)))
    for index, command in enumerate(commands):
        outcome = outcomes[index]
        if command == "CHECK":
            assert outcome.exit_code == 0 or outcome.code == 103, outcome.document  # 103: a DEL went first
        else:
            assert outcome.exit_code == 0, (command, outcome.document, outcome.stderr)
    assert pod.snapshot() in (added, deleted)


def test_a_run_waits_for_the_namespace_lock_then_proceeds(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=[{"dst": "10.61.0.0/16"}])
    holder = os.open(pod.path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    run = start("ADD", config, pod.path)
    timer = threading.Timer(1.0, os.close, [holder])  # releases the lock while the run waits
    timer.start()
    outcome = finish(run)
    timer.join()
    assert outcome.exit_code == 0 and "10.61.0.0/16 via 192.168.50.1 dev net1" in pod.routes(4)


def test_a_lock_held_too_long_is_error_11_and_changes_nothing(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    before = pod.snapshot()
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushroutes=True)
    holder = os.open(pod.path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        outcome = run_plugin("ADD", config, netns=pod.path)
    finally:
        os.close(holder)
    assert outcome.code == 11 and "try again" in outcome.msg
    assert pod.snapshot() == before


# ---- dangerous parameters ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "symlink to a file", "symlink to nothing", "character device", "host namespace"])
def test_a_netns_that_is_not_one_is_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "netns"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink to a file":
        (tmp_path / "file").write_text("x")
        path.symlink_to(tmp_path / "file")
    elif kind == "symlink to nothing":
        path.symlink_to(tmp_path / "nothing")
    elif kind == "character device":
        path = Path("/dev/zero")
    else:
        path = Path(f"/proc/{os.getpid()}/ns/net")
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": str(path)}]}
    outcome = run_plugin("ADD", plugin_config("1.0.0", prev, flushroutes=True), netns=str(path), timeout=20)
    assert outcome.code == 101, outcome.document
    if kind == "fifo":
        assert path.exists() and not (tmp_path / "nothing").exists()


@pytest.mark.parametrize(
    "variable, value, code",
    [
        (b"CNI_IFNAME", b"n\xff/e", 4),
        (b"CNI_IFNAME", b"n\xffe", 101),  # a valid Linux name: the missing namespace is the problem
        (b"CNI_CONTAINERID", b"\xff\xfe", 4),
        (b"CNI_COMMAND", b"A\xffD", 4),
        (b"CNI_NETNS", b"/run/\xff", 101),
    ],
)
def test_undecodable_bytes_in_variables_are_named_errors(variable: bytes, value: bytes, code: int) -> None:
    environ = {b"PATH": CLEAN_PATH.encode(), b"CNI_COMMAND": b"ADD", b"CNI_CONTAINERID": b"c", b"CNI_IFNAME": b"net1", b"CNI_NETNS": b"/x"}
    environ[variable] = value
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/x"}]}
    done = subprocess.run(plugin_command(), input=json.dumps(plugin_config("1.0.0", prev)).encode(), env=environ, capture_output=True)
    outcome = Outcome(done.returncode, done.stdout.decode(), done.stderr.decode(errors="replace"))
    assert outcome.code == code
    assert (variable.decode() if code == 4 else "CNI_NETNS") in outcome.msg


def test_too_many_routes_are_refused_before_any_work() -> None:
    routes = [{"dst": f"10.{i // 256 % 256}.{i % 256}.0/24"} for i in range(10_001)]
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/x"}]}
    outcome = run_plugin("ADD", plugin_config("1.0.0", prev, addroutes=routes), netns="/run/netns/does-not-matter")
    assert outcome.code == 7 and outcome.msg.startswith("addroutes: has 10001 entries")


def test_oversized_stdin_is_refused_early_with_bounded_memory() -> None:
    environ = {"PATH": CLEAN_PATH, "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", "CNI_NETNS": "/x"}
    command = with_peak_rss(plugin_command())
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ)
    payload = b'{"cniVersion": "1.0.0", "name": "' + b"x" * (100 << 20) + b'"}'
    try:
        process.stdin.write(payload)  # 100 MB: the plugin stops reading at its limit
    except BrokenPipeError:
        pass
    process.stdin.close()
    stdout, stderr = process.stdout.read(), process.stderr.read().decode()
    process.wait()
    document = json.loads(stdout)
    assert document["code"] == 6 and "larger than 8 MiB" in document["msg"] and "exit=1" in stderr
    peak = int(stderr.split("peak_rss_kib=")[1].split()[0])
    assert peak < 64 * 1024, f"peak RSS {peak} KiB"


# ---- logs ------------------------------------------------------------------------


def test_log_file_gets_a_line_per_change_and_per_error(pod: Pod, tmp_path: Path) -> None:
    pod.add_link(Link("net1", **V4))
    log = tmp_path / "route-override.log"
    config = plugin_config(
        "1.0.0", pod.prev_result("1.0.0"), logFile=str(log), logLevel="info", flushgateway=True, addroutes=[{"dst": "10.62.0.0/16", "gw": "192.168.50.9"}]
    )
    outcome = run_plugin("ADD", config, netns=pod.path, container_id="ctr-logs")
    assert outcome.exit_code == 0 and outcome.stderr == ""
    lines = log.read_text().splitlines()
    assert len(lines) == 3
    assert all("ADD container=ctr-logs ifname=net1" in line and line[:4].isdigit() and "Z route-override[" in line for line in lines)
    assert lines[0].endswith("set net.ipv6.conf.net1.accept_ra_defrtr=0 (flushgateway)")
    assert lines[1].endswith("delete default via 192.168.50.1 dev net1 (flushgateway)")
    assert lines[2].endswith("add 10.62.0.0/16 via 192.168.50.9 dev net1 (addroutes[0])")
    broken = {**config, "addroutes": [{"dst": "10.63.0.0/16", "gw": "10.99.0.1"}]}
    assert run_plugin("ADD", broken, netns=pod.path).code == 100
    error = log.read_text().splitlines()[-1]
    assert "error 100: addroutes[0]: cannot add 10.63.0.0/16" in error


def test_by_default_only_errors_are_logged_to_stderr(pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), flushgateway=True)
    assert run_plugin("ADD", config, netns=pod.path).stderr == ""
    failed = run_plugin("ADD", {**config, "addroutes": [{"dst": "10.64.0.0/16", "gw": "10.99.0.1"}]}, netns=pod.path)
    assert failed.code == 100 and "error 100: addroutes[0]" in failed.stderr


def test_a_log_symlink_owned_by_another_user_is_not_followed(pod: Pod, tmp_path: Path) -> None:
    pod.add_link(Link("net1", **V4))
    target = tmp_path / "target"
    target.write_text("precious\n")
    link = tmp_path / "log"
    link.symlink_to(target)
    os.lchown(link, 65534, 65534)  # nobody's
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), logFile=str(link), logLevel="info", flushgateway=True)
    outcome = run_plugin("ADD", config, netns=pod.path)
    assert outcome.exit_code == 0
    assert target.read_text() == "precious\n"
    assert "symlink owned by uid 65534" in outcome.stderr and "delete default" in outcome.stderr


def test_a_log_symlink_of_root_is_followed_and_a_fifo_is_refused(pod: Pod, tmp_path: Path) -> None:
    pod.add_link(Link("net1", **V4))
    (tmp_path / "real.log").write_text("")
    (tmp_path / "link.log").symlink_to(tmp_path / "real.log")
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), logFile=str(tmp_path / "link.log"), logLevel="info", flushgateway=True)
    run_plugin("ADD", config, netns=pod.path).ok()
    assert "delete default" in (tmp_path / "real.log").read_text()
    os.mkfifo(tmp_path / "fifo")
    outcome = run_plugin("ADD", {**config, "logFile": str(tmp_path / "fifo")}, netns=pod.path, timeout=20)
    assert outcome.exit_code == 0 and "cannot log to logFile" in outcome.stderr


@pytest.mark.parametrize(
    "settings, path",
    [({"logLevel": "loud"}, "logLevel"), ({"logFile": "relative.log"}, "logFile"), ({"logFile": 3}, "logFile"), ({"logFile": "/tmp/a\u0000b"}, "logFile")],
)
def test_bad_log_settings_are_config_errors(settings: dict, path: str) -> None:
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/x"}]}
    outcome = run_plugin("ADD", plugin_config("1.0.0", prev, **settings), netns="/run/netns/x")
    assert outcome.code == 7 and outcome.msg.startswith(path + ":")


# ---- isolation from the environment ----------------------------------------------------


@pytest.fixture
def planted(tmp_path: Path) -> dict:
    """Every way an environment could inject code into a Python process; each
    writes a marker file if it ever runs."""
    if not PLUGIN:
        pytest.fail("isolation is a property of the built plugin's first lines: make test builds it")
    marker = tmp_path / "INJECTED"
    payload = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    pythonpath = tmp_path / "pythonpath"
    (pythonpath / "ro").mkdir(parents=True)
    for name in ("sitecustomize.py", "usercustomize.py", "json.py", "socket.py", "ctypes.py", "ro/__init__.py"):
        (pythonpath / name).write_text(payload)
    home = tmp_path / "home"
    user_site = home / ".local" / "lib" / "python3.11" / "site-packages"
    user_site.mkdir(parents=True)
    (user_site / "evil.pth").write_text(f"import os; {payload}")
    (tmp_path / "startup.py").write_text(payload)
    pythonhome = tmp_path / "pythonhome"
    shutil.copytree(pythonpath, pythonhome / "lib" / "python3.11")
    env = {
        "PYTHONPATH": str(pythonpath),
        "PYTHONSTARTUP": str(tmp_path / "startup.py"),
        "PYTHONINSPECT": "1",
        "PYTHONHOME": str(pythonhome),
        "HOME": str(home),
        "PYTHONUSERBASE": str(home / ".local"),
        "SHIV_ENTRY_POINT": "os:abort",
        "SHIV_INTERPRETER": "1",
        "SHIV_PREPEND_PYTHONPATH": str(pythonpath),
        "PYTHONWARNINGS": "error",
    }
    return {"env": env, "marker": marker}


def test_planted_python_environment_changes_nothing(planted: dict, pod: Pod) -> None:
    pod.add_link(Link("net1", **V4))
    version = run_plugin("VERSION", {"cniVersion": "1.0.0"}, env=planted["env"])
    assert version.ok()["cniVersion"] == "1.0.0"
    added = run_plugin("ADD", plugin_config("1.0.0", pod.prev_result("1.0.0"), flushgateway=True), netns=pod.path, env=planted["env"])
    assert added.exit_code == 0, added.document
    cli = subprocess.run([str(Path(PLUGIN).resolve()), "--version"], env={"PATH": CLEAN_PATH, **planted["env"]}, capture_output=True, text=True)
    assert cli.returncode == 0 and cli.stdout.startswith("route-override 0.1.0")
    assert not planted["marker"].exists(), planted["marker"].read_text()


def test_the_plants_do_run_in_a_python_that_is_not_isolated(planted: dict) -> None:
    """The control: the same environment does inject code into a plain python3."""
    env = {k: v for k, v in planted["env"].items() if k != "PYTHONHOME"}
    subprocess.run(["/usr/bin/python3", "-c", "import json"], env={"PATH": CLEAN_PATH, **env}, capture_output=True)
    assert planted["marker"].exists()
