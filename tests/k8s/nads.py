"""The NetworkAttachmentDefinitions of examples/ (nad-*.yaml), and the
conflists a node runs from them.

The examples name what an operator has: a master interface (eth1) and
cluster-wide IPAM (whereabouts, which needs the Kubernetes API). On the test
node the master is a veth in the node namespace and IPAM is host-local over
the same range and gateway; route-override's part is used exactly as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from builds import ROOT

EXAMPLES = ROOT / "examples"


@dataclass
class Example:
    file: Path
    nad: dict  # the NetworkAttachmentDefinition, as kubectl would send it
    pod: dict  # the example pod that attaches to it

    @property
    def name(self) -> str:
        return self.nad["metadata"]["name"]

    @property
    def conflist(self) -> dict:
        return json.loads(self.nad["spec"]["config"])

    @property
    def route_override(self) -> dict:
        (plugin,) = [p for p in self.conflist["plugins"] if p["type"] == "route-override"]
        return plugin

    @property
    def networks_annotation(self) -> list[dict]:
        """The pod's k8s.v1.cni.cncf.io/networks, in its JSON form (a bare name is {"name": ...})."""
        text = self.pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"].strip()
        return json.loads(text) if text.startswith("[") else [{"name": name.strip()} for name in text.split(",")]


def examples() -> list[Example]:
    found = []
    for path in sorted(EXAMPLES.glob("nad-*.yaml")):
        documents = list(yaml.safe_load_all(path.read_text()))
        (nad,) = [d for d in documents if d["kind"] == "NetworkAttachmentDefinition"]
        (pod,) = [d for d in documents if d["kind"] == "Pod"]
        found.append(Example(path, nad, pod))
    return found


def on_node(conflist: dict, master: str, data_dir: Path) -> dict:
    """`conflist` with the node's master link and host-local in place of whereabouts."""
    plugins = []
    for plugin in conflist["plugins"]:
        plugin = dict(plugin)
        if "master" in plugin:
            plugin["master"] = master
        ipam = plugin.get("ipam", {})
        if ipam.get("type") == "whereabouts":
            span = {"subnet": ipam["range"], "rangeStart": ipam["range_start"]}
            if "gateway" in ipam:
                span["gateway"] = ipam["gateway"]
            plugin["ipam"] = {
                "type": "host-local",
                "ranges": [[span]],
                "routes": ipam.get("routes", []),
                "dataDir": str(data_dir),
            }
        plugins.append(plugin)
    return {**conflist, "plugins": plugins}


def with_cni_args(conflist: dict, cni_args: dict) -> dict:
    """What Multus hands a runtime's CNI library for a pod whose network
    selection has `cni-args`: every plugin of the chain gets them as args.cni."""
    return {**conflist, "plugins": [{**p, "args": {"cni": cni_args}} for p in conflist["plugins"]]}
