"""Benchmarks of dist/route-override as runtimes run it, each against a reference measured in the same run.

    make bench                     (or: .venv/bin/python bench/run.py [--quick] [--rounds N] [--runs N])
    .venv/bin/python bench/run.py --render-only     (results.json to README table and chart, no measuring)

Every timed figure is a whole process (fork, exec, start, work, exit), timed
from this process, and reported as a ratio to a reference that runs
interleaved with it, so that a drifting, shared machine moves both alike:

- start-up costs: the floor, `python3 -I -S -c pass`;
- kernel work at scale: iproute2 doing the same work (`ip route flush` of the
  same routes) in a namespace set up identically;
- routes on another interface: the same command in a namespace without them.

Writes bench/results.json, the tables between the markers in bench/README.md
and bench/flushroutes-vs-routes.svg (matplotlib: `make bench` installs it).
Needs root (it creates network namespaces) and removes every namespace it
made, also on a failure, Ctrl-C or SIGTERM. Nothing here fails on timing.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Callable, Optional, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = "/usr/bin/python3"
FLOOR = [PYTHON, "-I", "-S", "-c", "pass"]
ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
CHART = HERE / "flushroutes-vs-routes.svg"

# The pod: net1 is the target (prevResult's interface, CNI_IFNAME); eth0 is
# another interface of the pod that no rule may touch.
NET1_GW = "192.168.50.1"
ETH0_GW = "192.168.60.1"
ON_NET1 = ipaddress.IPv4Address("10.0.0.0")  # first of the /32 routes via net1 that flushroutes deletes
ON_ETH0 = ipaddress.IPv4Address("172.16.0.0")  # first of the /32 routes via eth0
ONE_ROUTE = {"addroutes": [{"dst": "10.250.0.0/16", "gw": "192.168.50.254"}]}
POD_SETTINGS = {
    "delroutes": [{"dst": "0.0.0.0/0"}],
    "addroutes": [{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}, {"dst": "10.250.0.0/16"}],
}

# Targets (issues 13 and 16): ratios of p50s.
LATENCY_TARGETS = {"VERSION": 1.5, "STATUS": 1.5, "GC": 1.5, "ADD": 2.5, "DEL (namespace gone)": 1.5}
FLUSH_TARGETS = {10000: 3.5}  # routes: at most this many times iproute2's flush of them
ELSEWHERE_TARGETS = {"ADD": 1.2}  # at most this many times the same ADD without routes on eth0

FULL = {"flush_sizes": (0, 1000, 10000, 30000), "elsewhere": ((10000, 5), (100000, 3)), "rounds": 30, "warmup": 3, "runs": 7}
QUICK = {"flush_sizes": (0, 1000, 10000), "elsewhere": ((10000, 3),), "rounds": 10, "warmup": 1, "runs": 3}
CONCURRENT_RUNS = 4

# ---- namespaces -------------------------------------------------------------------

# The test suite's helpers own namespaces (names, DAD off, sweeping what a
# killed run left) and peak-RSS measuring; the benchmarks use the same ones.
sys.path.insert(0, str(ROOT / "tests"))
from netns import Namespace, sweep  # noqa: E402
from runner import with_peak_rss  # noqa: E402

_made: dict[str, Namespace] = {}


def ip(*args: str, stdin: str = "") -> str:
    return subprocess.run(["ip", *args], input=stdin, check=True, capture_output=True, text=True).stdout


def pod(eth0: bool = False) -> str:
    """A pod namespace: net1 (192.168.50.2/24, default via .1) and, with `eth0`, eth0 (192.168.60.2/24) too;
    each a veth whose peer stays in the namespace (so the link is up). Fixed MAC addresses and no IPv6 DAD:
    twin namespaces get the same link-local routes at once, so their tables can be compared line by line."""
    namespace = Namespace("bench")
    _made[namespace.name] = namespace
    links = [("net1", "192.168.50.2/24", "50")] + ([("eth0", "192.168.60.2/24", "60")] if eth0 else [])
    batch = [
        f"link add {dev} address 02:00:00:00:{net}:02 type veth peer name {dev}-peer address 02:00:00:00:{net}:01\n"
        f"link set {dev} up\nlink set {dev}-peer up\naddr add {address} dev {dev}\n"
        for dev, address, net in links
    ]
    ip("-n", namespace.name, "-batch", "-", stdin="".join(batch) + f"route add default via {NET1_GW}\n")
    return namespace.name


def add_routes(name: str, count: int, first: ipaddress.IPv4Address, via: str) -> None:
    """`count` host routes from `first` on, via `via`, in one `ip -batch` (tens of thousands a second)."""
    if count:
        ip("-n", name, "-batch", "-", stdin="".join(f"route add {first + i}/32 via {via}\n" for i in range(count)))


def delete(name: str) -> None:
    _made.pop(name).delete()


def routes_of(name: str) -> list[str]:
    """Every route of every table, both families, as iproute2 prints them, sorted (the kernel's order
    of routes to one destination on two links depends on which link came up first)."""
    return sorted(
        line for family in ("-4", "-6") for line in ip("-n", name, "-d", family, "route", "show", "table", "all").splitlines()
    )


def same_routes(ours: str, theirs: str, when: str) -> list[str]:
    """The routes of `ours`, which must be those of `theirs` (else the difference is the error)."""
    mine, other = routes_of(ours), routes_of(theirs)
    if mine != other:
        diff = "\n".join(list(difflib.unified_diff(mine, other, ours, theirs, lineterm=""))[:20])
        raise AssertionError(f"{when}: the namespaces hold different routes:\n{diff}")
    return mine


# The kernel's route dump as the plugin requests it (RTM_GETROUTE, every
# family and table): how many RTM_NEWROUTE messages and their bytes, headers
# included. Run inside the namespace.
DUMP = """
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
s.send(struct.pack("=IHHII", 28, 26, 0x301, 1, 0) + bytes(12))
routes = size = 0
while True:
    data = s.recv(1 << 20)
    offset = 0
    while offset < len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind in (2, 3):
            print(routes, size, kind)
            raise SystemExit
        if kind == 24:
            routes, size = routes + 1, size + length
        offset += (length + 3) & ~3
"""


def route_dump(name: str) -> dict:
    routes, size, last = ip("netns", "exec", name, *FLOOR[:-2], "-c", DUMP).split()
    assert last == "3", "the route dump ended in an error"
    return {"messages": int(routes), "bytes": int(size)}


# ---- processes ------------------------------------------------------------------


def run(argv: list[str], stdin: bytes = b"", env: Optional[dict] = None) -> tuple[float, bytes]:
    """Seconds from spawn to exit, and stdout; a failed command raises with its output."""
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, env={**ENV, **(env or {})})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stdout.decode()} {done.stderr.decode()}")
    return elapsed, done.stdout


def floor() -> float:
    return run(FLOOR)[0]


def config(name: str, **settings: object) -> dict:
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "net1", "sandbox": f"/run/netns/{name}"}],
        "ips": [{"interface": 0, "address": "192.168.50.2/24", "gateway": NET1_GW}],
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    return {"cniVersion": "1.0.0", "name": "bench", "type": "route-override", "prevResult": prev, **settings}


def cni_env(command: str, netns: str, container: str = "bench") -> dict:
    return {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": "net1", "CNI_NETNS": netns}


class Plugin:
    def __init__(self, path: Path) -> None:
        self.path = str(path.resolve())

    def start(self, command: str, stdin: dict, netns: str = "", env: Optional[dict] = None) -> subprocess.Popen:
        environ = {**ENV, **cni_env(command, netns), **(env or {})}
        process = subprocess.Popen(
            [self.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(stdin).encode())  # small: fits the pipe
        process.stdin.close()
        process.stdin = None  # so communicate() leaves it alone
        return process

    def run(self, command: str, stdin: dict, netns: str = "", env: Optional[dict] = None) -> tuple[float, bytes]:
        return run([self.path], json.dumps(stdin).encode(), {**cni_env(command, netns), **(env or {})})

    def add(self, name: str, settings: dict) -> tuple[float, dict]:
        """ADD in the pod namespace `name`: seconds, and the final config (the result as prevResult) for CHECK and DEL."""
        conf = config(name, **settings)
        elapsed, out = self.run("ADD", conf, f"/run/netns/{name}")
        return elapsed, {**conf, "prevResult": json.loads(out)}


# ---- statistics -----------------------------------------------------------------


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def stats(samples: list[float]) -> dict:
    return {"n": len(samples), "p50_ms": round(statistics.median(samples) * 1000, 1), "p90_ms": round(p90(samples) * 1000, 1)}


def compared(samples: list[float], reference: list[float], target: Optional[float] = None) -> dict:
    """stats of `samples` and their p50 and p90 as ratios to the reference's p50 (and the target, met or not)."""
    base = statistics.median(reference)
    row = {**stats(samples), "p50_ratio": round(statistics.median(samples) / base, 2), "p90_ratio": round(p90(samples) / base, 2)}
    if target is not None:
        row.update(target_ratio=target, met=row["p50_ratio"] <= target)
    return row


class Samples(dict):
    """Named lists of seconds, of which the first rounds (warm-up) are dropped."""

    def __init__(self, warmup: int = 0) -> None:
        super().__init__()
        self.warmup = warmup
        self.rounds = 0

    def add(self, measured: dict[str, float]) -> None:
        self.rounds += 1
        if self.rounds > self.warmup:
            for key, value in measured.items():
                self.setdefault(key, []).append(value)

    def pair(self, plugin: Callable[[], tuple], reference: Callable[[], tuple]) -> None:
        """One round of the plugin's command and its reference (each returns its seconds first);
        every other round the reference goes first, so neither always runs on the other's heels."""
        if self.rounds % 2:
            theirs = reference()[0]
            self.add({"plugin": plugin()[0], "reference": theirs})
        else:
            ours = plugin()[0]
            self.add({"plugin": ours, "reference": reference()[0]})

    def versus(self, target: Optional[float] = None) -> dict:
        return {"plugin": compared(self["plugin"], self["reference"], target), "reference": stats(self["reference"])}


# ---- one command, against the floor ------------------------------------------------


def interleaved(plugin: Plugin, rounds: int, warmup: int) -> dict:
    """floor, VERSION, STATUS, GC, ADD, CHECK, DEL, DEL (namespace gone), round after round; every ADD in a new namespace."""
    samples = Samples(warmup)
    for _ in range(warmup + rounds):
        name = pod()
        measured = {"floor": floor()}
        measured["VERSION"], _ = plugin.run("VERSION", {"cniVersion": "1.0.0"})
        measured["STATUS"], _ = plugin.run("STATUS", {"cniVersion": "1.1.0", "name": "bench"})
        measured["GC"], _ = plugin.run("GC", {"cniVersion": "1.1.0", "name": "bench"})
        measured["ADD"], final = plugin.add(name, POD_SETTINGS)
        measured["CHECK"], _ = plugin.run("CHECK", final, f"/run/netns/{name}")
        measured["DEL"], _ = plugin.run("DEL", final, f"/run/netns/{name}")
        delete(name)
        measured["DEL (namespace gone)"], _ = plugin.run("DEL", final, f"/run/netns/{name}")
        samples.add(measured)
    return {key: compared(values, samples["floor"], LATENCY_TARGETS.get(key)) for key, values in samples.items()}


FIRST_LINES = {
    "#!/bin/sh + exec python3 -I -S -c (default)": None,
    "#!/usr/bin/env python3": b"#!/usr/bin/env python3\n",
    "#!/usr/bin/python3": b"#!/usr/bin/python3\n",
    "#!/usr/bin/python3 -IS": b"#!/usr/bin/python3 -IS\n",
    "#!/usr/bin/env -S python3 -I -S": b"#!/usr/bin/env -S python3 -I -S\n",
}


def first_lines(plugin: Plugin, rounds: int) -> dict:
    """VERSION through each way of starting the archive: the same zip behind
    other first lines (those run it as `python3 ARCHIVE`, through runpy)."""
    import zipfile

    with tempfile.TemporaryDirectory() as work:
        variants = {}
        for label, prefix in FIRST_LINES.items():
            if prefix is None:
                variants[label] = plugin
                continue
            path = Path(work) / f"variant-{len(variants)}"
            with zipfile.ZipFile(plugin.path) as source, path.open("wb") as out:
                out.write(prefix)
                with zipfile.ZipFile(out, "w") as archive:
                    for info in source.infolist():
                        entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                        entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
                        archive.writestr(entry, source.read(info))
            path.chmod(0o755)
            variants[label] = Plugin(path)
        samples = Samples(warmup=2)
        for _ in range(rounds + 2):
            measured = {"floor": floor()}
            for label, variant in variants.items():
                measured[label], _ = variant.run("VERSION", {"cniVersion": "1.0.0"})
            samples.add(measured)
    return {key: compared(values, samples["floor"]) for key, values in samples.items()}


def cold_start(plugin: Plugin, runs: int) -> dict:
    """ADD with an empty extraction cache (a new SHIV_ROOT each run), against a warm ADD run next to it."""
    samples = Samples()
    for _ in range(runs):
        warm, cold = pod(), pod()
        cache = tempfile.mkdtemp(prefix="robench-cache-")
        try:
            samples.pair(
                partial(plugin.run, "ADD", config(cold, **POD_SETTINGS), f"/run/netns/{cold}", {"SHIV_ROOT": cache}),
                partial(plugin.add, warm, POD_SETTINGS),
            )
        finally:
            shutil.rmtree(cache)
            delete(warm)
            delete(cold)
    return samples.versus()


def burst(plugin: Plugin, runs: int, width: int = 32) -> dict:
    """`width` ADDs started at once, each in its own namespace, against `width` floors started at once: wall time until all are done."""

    def at_once(starts: Sequence[Callable[[], subprocess.Popen]]) -> tuple[float]:
        began = time.perf_counter()
        processes = [start() for start in starts]
        outputs = [process.communicate()[0] for process in processes]
        elapsed = time.perf_counter() - began
        failures = [out for process, out in zip(processes, outputs) if process.returncode != 0]
        assert not failures, f"{len(failures)} of {width} failed: {failures[0].decode()}"
        return (elapsed,)

    samples = Samples()
    for _ in range(runs):
        names = [pod() for _ in range(width)]
        adds = [partial(plugin.start, "ADD", config(name, **POD_SETTINGS), f"/run/netns/{name}") for name in names]
        floors = [partial(subprocess.Popen, FLOOR, stdout=subprocess.PIPE, env=ENV)] * width
        samples.pair(partial(at_once, adds), partial(at_once, floors))
        for name in names:
            delete(name)
    return {"width": width, **samples.versus()}


# ---- scale ------------------------------------------------------------------------


def flush_reference(name: str) -> list[str]:
    """iproute2 deleting what flushroutes deletes here: the routes via net1's gateway, the default among them."""
    return ["ip", "-n", name, "-4", "route", "flush", "dev", "net1", "via", NET1_GW]


def flushroutes(plugin: Plugin, sizes: tuple[int, ...], runs: int) -> dict:
    """ADD with flushroutes on a namespace with N more routes via net1, against iproute2's flush of the same
    routes in a twin namespace, run after run (the routes put back between runs, untimed). After each run
    both namespaces must hold the same routes, so both did the same kernel work."""
    ours, theirs = pod(), pod()
    rows: dict[int, dict] = {}
    try:
        for count in sizes:
            samples = Samples()
            for round_ in range(runs):
                for name in (ours, theirs):
                    add_routes(name, count, ON_NET1, NET1_GW)
                if not round_:
                    same_routes(ours, theirs, f"before flushing {count} routes")
                samples.pair(
                    partial(plugin.run, "ADD", config(ours, flushroutes=True), f"/run/netns/{ours}"),
                    partial(run, flush_reference(theirs)),
                )
                left = same_routes(ours, theirs, f"after flushroutes and ip route flush of {count} routes")
                assert not any(f"via {NET1_GW}" in route for route in left), f"a route via {NET1_GW} is left ({count} routes)"
                for name in (ours, theirs):
                    ip("-n", name, "route", "add", "default", "via", NET1_GW)
            rows[count] = {"routes": count, **samples.versus(FLUSH_TARGETS.get(count))}
    finally:
        delete(ours)
        delete(theirs)
    if 0 in rows:  # cost per route above the same command's run over no extra routes: flat means linear
        for row in rows.values():
            for side in ("plugin", "reference"):
                if row["routes"]:
                    row[side]["us_per_route"] = round((row[side]["p50_ms"] - rows[0][side]["p50_ms"]) * 1000 / row["routes"], 1)
    return {str(count): row for count, row in rows.items()}


def addroutes(plugin: Plugin, runs: int, count: int = 1000) -> dict:
    """ADD with `count` addroutes (via the ips gateway), against `ip -batch` adding the same routes, each in a new namespace."""
    settings = {"addroutes": [{"dst": f"{ON_NET1 + i}/32"} for i in range(count)]}
    batch = "".join(f"route add {ON_NET1 + i}/32 via {NET1_GW} dev net1\n" for i in range(count)).encode()
    samples = Samples()
    for _ in range(runs):
        ours, theirs = pod(), pod()
        samples.pair(partial(plugin.add, ours, settings), partial(run, ["ip", "-n", theirs, "-batch", "-"], batch))
        delete(ours)
        delete(theirs)
    return {"routes": count, **samples.versus()}


def elsewhere(plugin: Plugin, plain: str, crowded: str, rounds: int) -> dict:
    """A one-route ADD, its CHECK and its DEL on net1 in `crowded` (many routes on eth0) against the same in `plain`."""

    def add(name: str, finals: dict) -> tuple[float]:
        elapsed, finals[name] = plugin.add(name, ONE_ROUTE)
        return (elapsed,)

    samples = {command: Samples() for command in ("ADD", "CHECK", "DEL")}
    for _ in range(rounds):
        finals: dict[str, dict] = {}
        samples["ADD"].pair(partial(add, crowded, finals), partial(add, plain, finals))
        for command in ("CHECK", "DEL"):
            samples[command].pair(
                *(partial(plugin.run, command, finals[name], f"/run/netns/{name}") for name in (crowded, plain))
            )
        for name in (plain, crowded):
            assert not ip("-n", name, "route", "show", "10.250.0.0/16"), "DEL left the added route"
    return {command: pairs.versus(ELSEWHERE_TARGETS.get(command)) for command, pairs in samples.items()}


def lifecycle(plugin: Plugin, name: str, index: int, started: list[subprocess.Popen]) -> list[dict]:
    """ADD, CHECK and DEL of one of several concurrent runs (its own container ID and route); stops at the first failure."""
    conf = config(name, addroutes=[{"dst": f"10.{251 + index}.0.0/16", "gw": "192.168.50.254"}])
    outcomes = []
    for command in ("ADD", "CHECK", "DEL"):
        start = time.perf_counter()
        process = plugin.start(command, conf, f"/run/netns/{name}", {"CNI_CONTAINERID": f"bench{index}"})
        started.append(process)
        out, _ = process.communicate()
        outcome = {"run": index, "command": command, "exit": process.returncode, "seconds": round(time.perf_counter() - start, 2)}
        outcomes.append(outcome)
        if process.returncode:
            error = json.loads(out) if out.strip() else {}
            outcome.update(code=error.get("code"), msg=error.get("msg", ""))
            break
        if command == "ADD":
            conf = {**conf, "prevResult": json.loads(out)}
    return outcomes


def concurrently(plugin: Plugin, name: str, width: int) -> dict:
    """`width` ADD/CHECK/DEL runs at once on one namespace: wall time until all are done, and what failed."""
    started: list[subprocess.Popen] = []
    outcomes: list[list[dict]] = [[] for _ in range(width)]

    def worker(i: int) -> None:
        outcomes[i] = lifecycle(plugin, name, i, started)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(width)]
    start = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:
        for process in started:
            process.kill()
        raise
    wall = time.perf_counter() - start
    done = [outcome for run_ in outcomes for outcome in run_]
    return {
        "runs": width,
        "commands": 3 * width,
        "succeeded": sum(1 for outcome in done if outcome["exit"] == 0),
        "failed": [outcome for outcome in done if outcome["exit"] != 0],
        "wall_s": round(wall, 2),
    }


def routes_elsewhere(plugin: Plugin, sizes: tuple[tuple[int, int], ...], width: int) -> dict:
    """`elsewhere` at each (routes on eth0, rounds), and, on the largest, `width` concurrent runs
    against the same in the namespace without those routes."""
    plain = pod(eth0=True)
    rows: dict = {}
    concurrency: dict = {}
    try:
        for count, rounds in sizes:
            crowded = pod(eth0=True)
            add_routes(crowded, count, ON_ETH0, ETH0_GW)
            rows[str(count)] = {"routes": count, **elsewhere(plugin, plain, crowded, rounds)}
            if count == max(size for size, _ in sizes):
                concurrency = {
                    "routes": count,
                    "with": concurrently(plugin, crowded, width),
                    "without": concurrently(plugin, plain, width),
                }
                concurrency["wall_ratio"] = round(concurrency["with"]["wall_s"] / concurrency["without"]["wall_s"], 1)
            delete(crowded)
    finally:
        delete(plain)
    return {"sizes": rows, "concurrency": concurrency}


# ---- memory ----------------------------------------------------------------------

# Reports the peak RSS of the command it runs. From this process, a child's
# ru_maxrss would start at this process's own RSS at fork time (the kernel
# records the pre-exec memory as a high-water mark).
def peak_rss_mib(argv: list[str], stdin: bytes = b"", env: Optional[dict] = None) -> float:
    """The largest resident size of one run of `argv`, from the kernel's accounting of that process."""
    done = subprocess.run(with_peak_rss(argv), input=stdin, capture_output=True, env={**ENV, **(env or {})})
    peak_kib, exit_code = re.findall(r"peak_rss_kib=(\d+) exit=(-?\d+)", done.stderr.decode())[-1]
    assert exit_code == "0", done.stdout + done.stderr
    return round(int(peak_kib) / 1024, 1)


def memory(plugin: Plugin, flushed: int) -> dict:
    """Peak RSS of one ADD (against the floor's), and of flushroutes over `flushed` routes (against
    iproute2's flush of them), next to the size of the kernel's route dump of that namespace."""

    def add_rss(name: str, settings: dict) -> float:
        return peak_rss_mib([plugin.path], json.dumps(config(name, **settings)).encode(), cni_env("ADD", f"/run/netns/{name}"))

    small, ours, theirs = pod(), pod(), pod()
    try:
        for name in (ours, theirs):
            add_routes(name, flushed, ON_NET1, NET1_GW)
        dump = route_dump(ours)
        out: dict = {
            "floor_mib": peak_rss_mib(FLOOR),
            "add_mib": add_rss(small, POD_SETTINGS),
            "flush_routes": flushed,
            "flush_mib": add_rss(ours, {"flushroutes": True}),
            "flush_reference_mib": peak_rss_mib(flush_reference(theirs)),
            "dump_messages": dump["messages"],
            "dump_mib": round(dump["bytes"] / 2**20, 2),
        }
    finally:
        for name in (small, ours, theirs):
            delete(name)
    out["flush_x_dump"] = round(out["flush_mib"] / out["dump_mib"], 1)
    out["flush_above_add_x_dump"] = round((out["flush_mib"] - out["add_mib"]) / out["dump_mib"], 1)
    return out


# ---- output ---------------------------------------------------------------------


def plot(flush: dict, path: Path) -> None:
    """flushroutes' p50 against route count, with iproute2's flush of the same routes on the same axes."""
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    matplotlib.rcParams.update({"svg.hashsalt": "route-override-bench", "svg.fonttype": "none", "font.size": 11})
    rows = sorted(flush.values(), key=lambda row: row["routes"])
    counts = [row["routes"] for row in rows]
    figure, axes = pyplot.subplots(figsize=(7.5, 4.5), layout="constrained")
    for side, label, style in (
        ("plugin", "route-override ADD with flushroutes", "o-"),
        ("reference", "iproute2: ip route flush of the same routes", "s-"),
    ):
        axes.plot(counts, [row[side]["p50_ms"] / 1000 for row in rows], style, label=label)
    for count, target in FLUSH_TARGETS.items():
        if str(count) in flush:
            limit = flush[str(count)]["reference"]["p50_ms"] / 1000 * target
            axes.plot([count], [limit], "v", color="tab:red", label=f"target at {count:,} routes: {target}x iproute2")
    axes.set_xlabel("routes on net1 (deleted by each run)")
    axes.set_ylabel("p50 wall time of one run (s)")
    axes.set_title("flushroutes against route count (ratios in bench/README.md)")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k" if value else "0"))
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.savefig(path, metadata={"Date": None})
    pyplot.close(figure)


def ratio_cells(row: dict) -> list:
    """p50 and p90 ratios, the target and whether the p50 meets it."""
    target = f"≤ {row['target_ratio']}x" if "target_ratio" in row else ""
    met = ("yes" if row["met"] else "**no**") if "met" in row else ""
    return [f"{row['p50_ratio']}x", f"{row['p90_ratio']}x", target, met]


def table(header: list[str], rows: list[list]) -> list[str]:
    return [
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(map(str, row)) + " |" for row in rows),
    ]


def markdown(results: dict) -> str:
    ratios = ["target", "met"]
    lines = table(
        ["command", "p50 ms", "p90 ms", "p50 / floor", "p90 / floor", *ratios],
        [[key, row["p50_ms"], row["p90_ms"], *ratio_cells(row)] for key, row in results["latency"].items()],
    )
    lines += table(
        ["first lines (VERSION)", "p50 ms", "p90 ms", "p50 / floor"],
        [
            [f"`{key}`", row["p50_ms"], row["p90_ms"], f"{row['p50_ratio']}x"]
            for key, row in results["first_lines"].items()
            if key != "floor"
        ],
    )
    lines += table(
        [
            "flushroutes: routes on net1",
            "p50 ms",
            "iproute2 p50 ms",
            "p50 / iproute2",
            "p90 / iproute2",
            *ratios,
            "µs per route",
            "iproute2 µs per route",
        ],
        [
            [
                f"{row['routes']:,}",
                row["plugin"]["p50_ms"],
                row["reference"]["p50_ms"],
                *ratio_cells(row["plugin"]),
                row["plugin"].get("us_per_route", ""),
                row["reference"].get("us_per_route", ""),
            ]
            for row in results["flush"].values()
        ],
    )
    lines += table(
        ["one-route command on net1", "p50 ms", "p50 ms without them", "p50 / without", "p90 / without", *ratios],
        [
            [
                f"{command}, {row['routes']:,} routes on eth0",
                row[command]["plugin"]["p50_ms"],
                row[command]["reference"]["p50_ms"],
                *ratio_cells(row[command]["plugin"]),
            ]
            for row in results["elsewhere"]["sizes"].values()
            for command in ("ADD", "CHECK", "DEL")
        ],
    )
    conc = results["elsewhere"]["concurrency"]
    lines += table(
        [f"{conc['with']['runs']} concurrent ADD→CHECK→DEL runs on one namespace", "commands succeeded", "wall s", "failed"],
        [
            [
                label,
                f"{run_['succeeded']} of {run_['commands']}",
                run_["wall_s"],
                "; ".join(f"run {f['run']} {f['command']}: code {f.get('code')} after {f['seconds']} s" for f in run_["failed"]),
            ]
            for label, run_ in ((f"{conc['routes']:,} routes on eth0", conc["with"]), ("without them", conc["without"]))
        ],
    )
    lines += table(
        ["more", "p50 ms", "reference", "reference p50 ms", "p50 / reference"],
        [
            [label, row["plugin"]["p50_ms"], reference, row["reference"]["p50_ms"], f"{row['plugin']['p50_ratio']}x"]
            for label, reference, row in (
                (
                    f"ADD of {results['addroutes']['routes']:,} addroutes",
                    "`ip -batch` adding the same routes",
                    results["addroutes"],
                ),
                ("ADD, empty extraction cache", "ADD, warm cache", results["cold_start"]),
                (
                    f"{results['burst']['width']} ADDs at once, in as many namespaces (wall)",
                    "as many floors at once",
                    results["burst"],
                ),
            )
        ],
    )
    mem = results["memory"]
    lines += table(
        ["peak RSS", "MiB"],
        [
            ["`python3 -I -S -c pass` (the method's floor: no process reads below its small parent's size)", mem["floor_mib"]],
            ["one ADD", mem["add_mib"]],
            [f"ADD with flushroutes of {mem['flush_routes']:,} routes", mem["flush_mib"]],
            ["iproute2's flush of the same routes", mem["flush_reference_mib"]],
            [
                f"the kernel's route dump of that namespace ({mem['dump_messages']:,} RTM_NEWROUTE messages, headers included)",
                mem["dump_mib"],
            ],
        ],
    )
    lines += [
        "",
        f"- flushroutes of {mem['flush_routes']:,} routes: peak RSS {mem['flush_x_dump']}x the dump; {mem['flush_above_add_x_dump']}x the dump above one ADD's RSS",
        f"- {conc['with']['runs']} concurrent runs with {conc['routes']:,} routes on eth0 took {conc['wall_ratio']}x the wall time of the same runs without them",
        f"- measured {results['when']} on {results['machine']}, {results['plugin']}; floor `python3 -I -S -c pass` p50 "
        f"{results['latency']['floor']['p50_ms']} ms; the run took {results['seconds']} s",
    ]
    return "\n".join(lines[1:])


def render(results: dict) -> str:
    """results.json, the README's results block and the chart, from `results`."""
    (HERE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    plot(results["flush"], CHART)
    block = markdown(results)
    readme = HERE / "README.md"
    text = re.sub(
        r"<!-- results -->.*<!-- /results -->",
        lambda _: f"<!-- results -->\n{block}\n<!-- /results -->",
        readme.read_text(),
        flags=re.DOTALL,
    )
    readme.write_text(text)
    return block


def measure(plugin: Plugin, settings: dict) -> dict:
    started = time.perf_counter()
    version = subprocess.run([PYTHON, "--version"], capture_output=True, text=True).stdout.split()[1]
    results: dict = {
        "when": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {os.uname().release}, Python {version}",
        "plugin": Path(plugin.path + ".version").read_text().strip(),
    }
    steps: list[tuple[str, Callable[[], object]]] = [
        ("latency", lambda: interleaved(plugin, settings["rounds"], settings["warmup"])),
        ("first_lines", lambda: first_lines(plugin, settings["rounds"])),
        ("cold_start", lambda: cold_start(plugin, settings["runs"])),
        ("burst", lambda: burst(plugin, max(3, settings["runs"] // 2))),
        ("addroutes", lambda: addroutes(plugin, settings["runs"])),
        ("flush", lambda: flushroutes(plugin, settings["flush_sizes"], settings["runs"])),
        ("memory", lambda: memory(plugin, max(settings["flush_sizes"]))),
        ("elsewhere", lambda: routes_elsewhere(plugin, settings["elsewhere"], CONCURRENT_RUNS)),
    ]
    for key, step in steps:
        print(f"{key} ...", file=sys.stderr, flush=True)
        results[key] = step()
    results["seconds"] = round(time.perf_counter() - started)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default=str(ROOT / "dist" / "route-override"))
    parser.add_argument("--quick", action="store_true", help="fewer rounds, at most 10 000 routes; prints, writes nothing")
    parser.add_argument("--rounds", type=int, help="measured rounds of the interleaved loops (after warm-up)")
    parser.add_argument("--runs", type=int, help="runs of cold start, burst, addroutes and each flushroutes size")
    parser.add_argument("--render-only", action="store_true", help="redraw the README block and the chart from results.json")
    args = parser.parse_args()
    if args.render_only:
        print(render(json.loads((HERE / "results.json").read_text())))
        return 0
    if os.geteuid() != 0:
        print("bench: needs root to create network namespaces", file=sys.stderr)
        return 1
    settings = dict(QUICK if args.quick else FULL)
    settings.update({key: value for key, value in (("rounds", args.rounds), ("runs", args.runs)) if value})
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # so the cleanup below runs
    sweep()
    try:
        results = measure(Plugin(Path(args.plugin)), settings)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        for name in list(_made):
            delete(name)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print(markdown(results) if args.quick else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
