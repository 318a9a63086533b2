"""Benchmarks of dist/route-override as runtimes run it.

    make bench                   (or: .venv/bin/python bench/run.py [--rounds N])

Every figure is a whole process (fork, exec, Python start, imports, work),
timed from this process, and reported as p50/p90 in ms and as a ratio to
the floor, `python3 -I -S -c pass`, measured in the same run and interleaved
with the plugin's commands so that a drifting machine moves both alike.

Writes bench/results.json, the table between the markers in
bench/README.md, and bench/latency-vs-routes.svg. Needs root (it creates
network namespaces) and removes every namespace it made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
PREFIX = f"robench{os.getpid()}-"
TARGETS = {"VERSION": 2.5, "STATUS": 2.5, "GC": 2.5, "ADD": 10, "CHECK": 10, "DEL (namespace gone)": 2.5}

_made: list[str] = []


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def namespace(routes: int = 0) -> str:
    """A pod namespace with net1 (192.168.50.2/24, default via .1) and `routes` more gateway routes."""
    name = f"{PREFIX}{len(_made)}"
    _made.append(name)
    ip("netns", "add", name)
    ip("-n", name, "link", "add", "net1", "type", "veth", "peer", "name", "peer1")
    ip("-n", name, "link", "set", "net1", "up")
    ip("-n", name, "link", "set", "peer1", "up")
    ip("-n", name, "addr", "add", "192.168.50.2/24", "dev", "net1")
    ip("-n", name, "route", "add", "default", "via", "192.168.50.1")
    if routes:
        batch = "".join(f"route add 10.{i >> 8 & 255}.{i & 255}.0/24 via 192.168.50.1\n" for i in range(routes))
        subprocess.run(["ip", "-n", name, "-batch", "-"], input=batch.encode(), check=True)
    return name


def delete(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def config(name: str, **settings: object) -> dict:
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "net1", "sandbox": f"/run/netns/{name}"}],
        "ips": [{"interface": 0, "address": "192.168.50.2/24", "gateway": "192.168.50.1"}],
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    return {"cniVersion": "1.0.0", "name": "bench", "type": "route-override", "prevResult": prev, **settings}


POD_SETTINGS = {"delroutes": [{"dst": "0.0.0.0/0"}], "addroutes": [{"dst": "0.0.0.0/0", "gw": "192.168.50.254"}, {"dst": "10.250.0.0/16"}]}


class Plugin:
    def __init__(self, path: Path) -> None:
        self.path = str(path.resolve())

    def start(self, command: str, stdin: dict, netns: str = "", env: dict | None = None) -> subprocess.Popen:
        environ = {**ENV, "CNI_COMMAND": command, "CNI_CONTAINERID": "bench", "CNI_IFNAME": "net1", "CNI_NETNS": netns, **(env or {})}
        process = subprocess.Popen([self.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ)
        process.stdin.write(json.dumps(stdin).encode())  # small: fits the pipe
        process.stdin.close()
        process.stdin = None  # so communicate() leaves it alone
        return process

    def run(self, command: str, stdin: dict, netns: str = "", env: dict | None = None) -> tuple[float, str]:
        """Seconds from spawn to exit, and stdout; fails loudly on a failed command."""
        start = time.perf_counter()
        process = self.start(command, stdin, netns, env)
        out, err = process.communicate()
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"{command} failed: {out.decode()} {err.decode()}")
        return elapsed, out.decode()


def floor() -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-I", "-S", "-c", "pass"], check=True)
    return time.perf_counter() - start


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 1),
    }


def interleaved(plugin: Plugin, rounds: int, warmup: int) -> dict:
    """floor, VERSION, STATUS, GC, ADD, CHECK, DEL, DEL (namespace gone), round after round."""
    samples: dict[str, list[float]] = {k: [] for k in ("floor", "VERSION", "STATUS", "GC", "ADD", "CHECK", "DEL", "DEL (namespace gone)")}
    for round_ in range(warmup + rounds):
        name = namespace()
        path = f"/run/netns/{name}"
        conf = config(name, **POD_SETTINGS)
        measured = {"floor": floor()}
        measured["VERSION"], _ = plugin.run("VERSION", {"cniVersion": "1.0.0"})
        measured["STATUS"], _ = plugin.run("STATUS", {"cniVersion": "1.1.0", "name": "bench"})
        measured["GC"], _ = plugin.run("GC", {"cniVersion": "1.1.0", "name": "bench"})
        measured["ADD"], result = plugin.run("ADD", conf, path)
        final = {**conf, "prevResult": json.loads(result)}
        measured["CHECK"], _ = plugin.run("CHECK", final, path)
        measured["DEL"], _ = plugin.run("DEL", final, path)
        delete(name)
        measured["DEL (namespace gone)"], _ = plugin.run("DEL", final, path)
        if round_ >= warmup:
            for key, value in measured.items():
                samples[key].append(value)
    base = statistics.median(samples["floor"])
    table = {}
    for key, values in samples.items():
        row = stats(values)
        row["p50_x_floor"] = round(statistics.median(values) / base, 2)
        row["p90_x_floor"] = round(sorted(values)[min(len(values) - 1, int(len(values) * 0.9))] / base, 2)
        if key in TARGETS:
            row["target_x_floor"] = TARGETS[key]
            row["met"] = row["p50_x_floor"] <= TARGETS[key]
        table[key] = row
    return table


FIRST_LINES = {
    "#!/bin/sh + exec python3 -I -S -c (default)": None,
    "#!/usr/bin/env python3": b"#!/usr/bin/env python3\n",
    "#!/usr/bin/python3": b"#!/usr/bin/python3\n",
    "#!/usr/bin/python3 -IS": b"#!/usr/bin/python3 -IS\n",
    "#!/usr/bin/env -S python3 -I -S": b"#!/usr/bin/env -S python3 -I -S\n",
}


def first_lines(plugin: Plugin, rounds: int, work: Path) -> dict:
    """VERSION through each way of starting the archive: the same zip behind
    other first lines (those run it as `python3 ARCHIVE`, through runpy)."""
    import zipfile

    variants = {}
    for label, prefix in FIRST_LINES.items():
        if prefix is None:
            variants[label] = plugin
            continue
        path = work / f"variant-{len(variants)}"
        with zipfile.ZipFile(plugin.path) as source, path.open("wb") as out:
            out.write(prefix)
            with zipfile.ZipFile(out, "w") as archive:
                for info in source.infolist():
                    entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                    entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
                    archive.writestr(entry, source.read(info))
        path.chmod(0o755)
        variants[label] = Plugin(path)
    samples: dict[str, list[float]] = {"floor": [], **{label: [] for label in variants}}
    for round_ in range(rounds + 2):
        measured = {"floor": floor()}
        for label, variant in variants.items():
            measured[label], _ = variant.run("VERSION", {"cniVersion": "1.0.0"})
        if round_ >= 2:
            for key, value in measured.items():
                samples[key].append(value)
    base = statistics.median(samples["floor"])
    return {key: {**stats(values), "p50_x_floor": round(statistics.median(values) / base, 2)} for key, values in samples.items()}


def cold_start(plugin: Plugin, runs: int) -> dict:
    """ADD with an empty extraction cache (a new SHIV_ROOT each run)."""
    samples = []
    for _ in range(runs):
        name = namespace()
        cache = tempfile.mkdtemp(prefix="robench-cache-")
        try:
            elapsed, _ = plugin.run("ADD", config(name, **POD_SETTINGS), f"/run/netns/{name}", {"SHIV_ROOT": cache})
            samples.append(elapsed)
        finally:
            shutil.rmtree(cache)
            delete(name)
    return stats(samples)


def scaling(plugin: Plugin, runs: int) -> dict:
    """ADD with flushroutes over N existing routes, and ADD with 1 000 addroutes."""
    out = {}
    for count in (10, 100, 1000, 10000):
        samples = []
        for _ in range(runs):
            name = namespace(routes=count)
            elapsed, _ = plugin.run("ADD", config(name, flushroutes=True), f"/run/netns/{name}")
            samples.append(elapsed)
            left = subprocess.run(["ip", "-n", name, "route"], capture_output=True, text=True).stdout.count("via")
            assert left == 0, f"flushroutes left {left} gateway routes"
            delete(name)
        out[f"flushroutes over {count} routes"] = {"routes": count, **stats(samples)}
    samples = []
    addroutes = [{"dst": f"10.{i >> 8 & 255}.{i & 255}.0/24"} for i in range(1000)]
    for _ in range(runs):
        name = namespace()
        elapsed, _ = plugin.run("ADD", config(name, addroutes=addroutes), f"/run/netns/{name}")
        samples.append(elapsed)
        delete(name)
    out["1 000 addroutes"] = {"routes": 1000, **stats(samples)}
    flush = {row["routes"]: row["p50_ms"] for key, row in out.items() if key.startswith("flushroutes")}
    # Per-route cost between sizes: equal slopes mean linear growth.
    out["growth"] = {
        "ms_per_route_100_to_1000": round((flush[1000] - flush[100]) / 900, 4),
        "ms_per_route_1000_to_10000": round((flush[10000] - flush[1000]) / 9000, 4),
        "x_10000_vs_1000_above_startup": round((flush[10000] - flush[10]) / max(flush[1000] - flush[10], 0.1), 1),
    }
    return out


def burst(plugin: Plugin, runs: int, width: int = 32) -> dict:
    """`width` ADDs started at once, each in its own namespace: wall time until all are done."""
    samples = []
    for _ in range(runs):
        names = [namespace() for _ in range(width)]
        start = time.perf_counter()
        processes = [plugin.start("ADD", config(name, **POD_SETTINGS), f"/run/netns/{name}") for name in names]
        failures = [p for p in processes if p.wait() != 0]
        samples.append(time.perf_counter() - start)
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        assert not failures, f"{len(failures)} of {width} ADDs failed"
        for name in names:
            delete(name)
    return {"adds": width, **stats(samples)}


# Reports the peak RSS of the command it runs. From this process, a child's
# ru_maxrss would start at this process's own RSS at fork time (the kernel
# records the pre-exec memory as a high-water mark).
PEAK_RSS = (
    "import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(child.pid, 0);"
    " print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))"
)


def peak_rss(plugin: Plugin) -> dict:
    """The largest resident size of one ADD, from the kernel's accounting of that process."""
    name = namespace()
    try:
        environ = {**ENV, "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "bench", "CNI_IFNAME": "net1", "CNI_NETNS": f"/run/netns/{name}"}
        done = subprocess.run(
            [PYTHON, "-I", "-S", "-c", PEAK_RSS, plugin.path],
            input=json.dumps(config(name, **POD_SETTINGS)).encode(),
            env=environ,
            capture_output=True,
            check=True,
        )
        peak_kib, exit_code = done.stdout.decode().split()[-2:]  # the plugin's result comes first
        assert exit_code == "0", done.stdout
        return {"peak_rss_mib": round(int(peak_kib) / 1024, 1)}
    finally:
        delete(name)


def svg_plot(rows: dict, path: Path) -> None:
    """p50 latency against route count on linear axes (a straight line is linear growth), as a small SVG."""
    points = [(row["routes"], row["p50_ms"]) for key, row in rows.items() if key.startswith("flushroutes")]
    added = rows["1 000 addroutes"]
    width, height, pad = 560, 320, 55
    right = max(n for n, _ in points) * 1.05
    top = max(ms for _, ms in points) * 1.15

    def place(n: float, ms: float) -> tuple[float, float]:
        return pad + n / right * (width - 2 * pad), height - pad - ms / top * (height - 2 * pad)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (place(n, ms) for n, ms in points))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle">ADD: p50 latency against the routes it handles</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="2"/>',
        f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">routes</text>',
        f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" text-anchor="middle">ms</text>',
        f'<text x="{width - pad}" y="{pad - 10}" text-anchor="end" fill="#1f77b4">● flushroutes over N existing routes</text>',
        f'<text x="{width - pad}" y="{pad + 6}" text-anchor="end" fill="#d62728">■ N addroutes</text>',
    ]
    for n, ms in points:
        x, y = place(n, ms)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        if n >= 1000:
            parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{ms:.0f} ms</text>')
    x, y = place(added["routes"], added["p50_ms"])
    parts.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="#d62728"/>')
    for tick in range(0, int(right) + 1, 2000):
        parts.append(f'<text x="{place(tick, 0)[0]:.1f}" y="{height - pad + 16}" text-anchor="middle">{tick}</text>')
    for fraction in (0.25, 0.5, 0.75, 1.0):
        y = height - pad - fraction * (height - 2 * pad)
        parts.append(f'<text x="{pad - 6}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:.0f}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def markdown(results: dict) -> str:
    lines = ["| command | p50 ms | p90 ms | p50 / floor | p90 / floor | target | met |", "|---|---|---|---|---|---|---|"]
    for key, row in results["latency"].items():
        target = f"≤ {row['target_x_floor']}x" if "target_x_floor" in row else ""
        met = ("yes" if row["met"] else "**no**") if "met" in row else ""
        lines.append(f"| {key} | {row['p50_ms']} | {row['p90_ms']} | {row['p50_x_floor']}x | {row['p90_x_floor']}x | {target} | {met} |")
    lines += ["", "| first lines (VERSION) | p50 ms | p90 ms | p50 / floor |", "|---|---|---|---|"]
    for key, row in results["first_lines"].items():
        if key != "floor":
            lines.append(f"| `{key}` | {row['p50_ms']} | {row['p90_ms']} | {row['p50_x_floor']}x |")
    lines += ["", "| scaling (ADD) | routes | p50 ms | p90 ms |", "|---|---|---|---|"]
    for key, row in results["scaling"].items():
        if "routes" in row:
            lines.append(f"| {key} | {row['routes']} | {row['p50_ms']} | {row['p90_ms']} |")
    growth = results["scaling"]["growth"]
    cold = results["cold_start"]
    burst_row = results["burst"]
    lines += [
        "",
        f"- growth: {growth['ms_per_route_100_to_1000']} ms per route from 100 to 1 000 routes, "
        f"{growth['ms_per_route_1000_to_10000']} ms per route from 1 000 to 10 000 "
        f"(the work above start-up grows {growth['x_10000_vs_1000_above_startup']}x for 10x the routes)",
        f"- cold start (ADD, empty extraction cache): p50 {cold['p50_ms']} ms, p90 {cold['p90_ms']} ms (n={cold['n']})",
        f"- burst: {burst_row['adds']} ADDs at once in {burst_row['adds']} namespaces: p50 {burst_row['p50_ms']} ms wall (n={burst_row['n']})",
        f"- peak RSS of one ADD: {results['memory']['peak_rss_mib']} MiB",
        f"- measured {results['when']} on {results['machine']}; floor `python3 -I -S -c pass` p50 {results['latency']['floor']['p50_ms']} ms",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default=str(ROOT / "dist" / "route-override"))
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds of the interleaved loop (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5, help="runs of each scaling size, cold start and burst")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root to create network namespaces", file=sys.stderr)
        return 1
    plugin = Plugin(Path(args.plugin))
    try:
        results = {
            "when": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, {os.uname().release}, Python {subprocess.run([PYTHON, '--version'], capture_output=True, text=True).stdout.split()[1]}",
            "plugin": Path(args.plugin + ".version").read_text().strip(),
        }
        print("interleaved latency ...", file=sys.stderr)
        results["latency"] = interleaved(plugin, args.rounds, args.warmup)
        print("first lines ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as work:
            results["first_lines"] = first_lines(plugin, args.rounds, Path(work))
        print("cold start ...", file=sys.stderr)
        results["cold_start"] = cold_start(plugin, args.runs)
        print("scaling ...", file=sys.stderr)
        results["scaling"] = scaling(plugin, args.runs)
        print("burst ...", file=sys.stderr)
        results["burst"] = burst(plugin, max(3, args.runs // 2))
        results["memory"] = peak_rss(plugin)
    finally:
        for name in _made:
            delete(name)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    svg_plot(results["scaling"], HERE / "latency-vs-routes.svg")
    table = markdown(results)
    readme = HERE / "README.md"
    text = readme.read_text()
    text = re.sub(r"<!-- results -->.*<!-- /results -->", lambda _: f"<!-- results -->\n{table}\n<!-- /results -->", text, flags=re.S)
    readme.write_text(text)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
