"""This machine's bundled runtime against its own python3: a warm ADD at
most 1.1x the host python3's, and the cold first run (the extraction of
site-packages) of each. Runs alternate, so that a machine busy with other
work slows both alike: the ratio is the median of each round's own.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable

from netns import V4, V6, Link, Pod
from pythons import HOST_PYTHON, Python, Spec, host_platform
from runner import chained, plugin_config

ROUNDS = 31
ADDED = [{"dst": "10.20.0.0/16", "gw": "192.168.50.254"}, {"dst": "2001:db8:20::/48", "gw": "2001:db8:50::fe"}]


def timed(command: list[str], env: dict, stdin: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return elapsed, done.stdout


def test_a_warm_add_on_the_bundled_runtime_against_the_host_python3(
    made: Callable[[Spec], Python], plugin: Path, pod: Pod, work: Path, covered: list[str]
) -> None:
    bundled = made(Spec(f"bundled-{host_platform().arch}", "bundled"))
    host = {  # the same file as built, on Debian's python3 through its /bin/sh lines
        "command": [str(plugin)],
        "env": {"PATH": str(Path(HOST_PYTHON).parent), "SHIV_ROOT": str(work / "host-cache")},
    }
    runs = {"bundled": {"command": [bundled.plugin], "env": bundled.env}, "host": host}
    pod.add_link(Link("net1", **V4, **V6))
    config = plugin_config("1.0.0", pod.prev_result("1.0.0"), addroutes=ADDED)
    cni = {"CNI_NETNS": pod.path, "CNI_IFNAME": "net1", "CNI_CONTAINERID": "ctr-1", "CNI_PATH": "/usr/lib/cni"}
    version = json.dumps({"cniVersion": "1.0.0"})
    cold = {  # each into an empty cache of its own
        name: timed(run["command"], {**run["env"], "SHIV_ROOT": str(work / f"cold-{name}"), "CNI_COMMAND": "VERSION"}, version)[0]
        for name, run in runs.items()
    }
    adds: dict[str, list[float]] = {"bundled": [], "host": []}
    for round_ in range(ROUNDS + 1):
        for name, run in runs.items():
            env = {**run["env"], **cni}
            add, result = timed(run["command"], {**env, "CNI_COMMAND": "ADD"}, json.dumps(config))
            timed(run["command"], {**env, "CNI_COMMAND": "DEL"}, json.dumps(chained(config, json.loads(result))))
            if round_:  # the first round only warms up
                adds[name].append(add)
    bundled_add, host_add = statistics.median(adds["bundled"]), statistics.median(adds["host"])
    ratio = statistics.median(b / h for b, h in zip(adds["bundled"], adds["host"]))
    seen = bundled.describe()
    covered.append(
        f"bundled runtime (Python {seen['version']}) warm ADD {bundled_add * 1000:.1f} ms = {ratio:.2f}x "
        f"host {HOST_PYTHON} {host_add * 1000:.1f} ms; cold first run {cold['bundled'] * 1000:.0f} ms "
        f"(host python3: {cold['host'] * 1000:.0f} ms)"
    )
    assert ratio <= 1.1, covered[-1]
