"""How long a pod sandbox takes to start (crictl runp) with and without
route-override in the chain, under containerd's CRI and under CRI-O, in one
run: 20 pods each, started alternately on two instances of the runtime
(one per chain, side by side), the medians (p50) compared. Written to
.cache/k8s/pod-start.json and .txt (`make k8s` prints the table).

The chain is bridge + host-local, and route-override replacing the default
route and adding one, as a VPN network would. The times include crictl's
own start (the same for both) and, under CRI-O, its CHECK after ADD (which
runs route-override a second time) and runc_wrapper.py's Python start.
"""

from __future__ import annotations

import json
import statistics
from contextlib import ExitStack
from pathlib import Path

from builds import ROOT
from conftest import ConfDir
from containerd_cri import containerd_cri
from crio import crio
from netns import Namespace

PODS = 20
RESULTS = ROOT / ".cache" / "k8s"


def chain(with_route_override: bool, data_dir: Path) -> dict:
    # each chain its own bridge and subnet: both runtimes of a pair run side by side in the node
    number = int(with_route_override)
    bridge = {
        "type": "bridge", "bridge": f"robench{number}", "isGateway": True, "ipMasq": False,
        "ipam": {
            "type": "host-local", "ranges": [[{"subnet": f"10.{98 + number}.0.0/16", "gateway": f"10.{98 + number}.0.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(data_dir),
        },
    }  # fmt: skip
    route_override = {
        "type": "route-override",
        "delroutes": [{"dst": "0.0.0.0/0"}],
        "addroutes": [{"dst": "0.0.0.0/0", "gw": "10.99.0.254"}, {"dst": "10.230.0.0/16", "gw": "10.99.0.1"}],
    }
    return {"cniVersion": "1.0.0", "name": "ro-bench", "plugins": [bridge, *([route_override] if with_route_override else [])]}


def start_times(runtime, node: Namespace, bin_dir: Path, work: Path) -> dict[str, list[float]]:
    """Two instances of `runtime`, one per chain, pods started alternately on
    each: the machine's load at any moment weighs on both alike."""
    times: dict[str, list[float]] = {"without": [], "with": []}
    with ExitStack() as stack:
        clients = {}
        for label, with_ro in (("without", False), ("with", True)):
            conf_dir = ConfDir(work / f"net.d-{label}")
            conf_dir.write(chain(with_ro, work / f"ipam-{label}"))
            clients[label] = stack.enter_context(runtime(node, conf_dir.path, bin_dir))
            clients[label].runp()  # the first pod pays for loading the image and the plugins into the page cache
        for _ in range(PODS):
            for label, crictl in clients.items():
                times[label].append(crictl.timed_runp()[1])
        for crictl in clients.values():
            for pod in crictl.pods():
                crictl.ok("stopp", pod)
                crictl.ok("rmp", pod)
    return times


def test_pod_sandbox_start_with_and_without_route_override(node: Namespace, bin_dir: Path, tmp_path: Path) -> None:
    results: dict[str, dict] = {}
    for name, runtime in (("containerd", containerd_cri), ("crio", crio)):
        (tmp_path / name).mkdir()
        times = start_times(runtime, node, bin_dir, tmp_path / name)
        runs = {}
        for label, taken in times.items():
            assert len(taken) == PODS
            runs[label] = {
                "p50_ms": round(statistics.median(taken) * 1000, 1),
                "min_ms": round(min(taken) * 1000, 1),
                "max_ms": round(max(taken) * 1000, 1),
            }
        added = runs["with"]["p50_ms"] - runs["without"]["p50_ms"]
        results[name] = {
            **runs,
            "route_override_ms": round(added, 1),
            "route_override_share": round(added / runs["with"]["p50_ms"], 3),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pod-start.json").write_text(json.dumps(results, indent=2))
    lines = [f"runp p50 over {PODS} pods (ms)   without   with   route-override's share"]
    for name, row in results.items():
        lines.append(
            f"{name:<32}{row['without']['p50_ms']:>8}{row['with']['p50_ms']:>7}   {row['route_override_ms']} ms ({row['route_override_share']:.0%})"
        )
    (RESULTS / "pod-start.txt").write_text("\n".join(lines) + "\n")
    for row in results.values():
        # the plugin runs once per pod under containerd, twice (ADD, CHECK) under CRI-O:
        # a second per pod would mean it is doing something very wrong
        assert row["route_override_ms"] < 1000, results
