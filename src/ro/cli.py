"""Commands for humans, on the same executable when CNI_COMMAND is unset."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Optional, Sequence

from . import __version__, versions
from .cni import COMMANDS

DESCRIPTION = """\
route-override is a CNI meta plugin: chained after an interface plugin in a
conflist, it flushes, deletes and adds routes in the container's network
namespace (flushroutes, flushgateway, delroutes, addroutes, also per pod
through args.cni), then passes the updated result on.

Runtimes run it with CNI_COMMAND set (one of: {commands}) and the config on
stdin; supported cniVersions: {versions}. Without CNI_COMMAND it offers the
commands below.
"""


def _version_text() -> str:
    return f"route-override {__version__} (Python {platform.python_version()} at {sys.executable})"


def _plugin_configs(document: object, source: str) -> list[tuple[str, dict, str, list[str]]]:
    """(key path, plugin config, cniVersion, warnings) of each route-override
    entry, as the runtime hands it over."""
    if not isinstance(document, dict):
        raise ValueError(f"{source}: not a JSON object")
    if "plugins" not in document:
        return [("", document, document.get("cniVersion", "0.1.0"), [])]
    plugins = document["plugins"]
    if not isinstance(plugins, list):
        raise ValueError(f"{source}: plugins: must be a list")
    found = []
    version = document.get("cniVersion", "0.1.0")
    for i, plugin in enumerate(plugins):
        if isinstance(plugin, dict) and plugin.get("type") == "route-override":
            # libcni gives every plugin the list's name and cniVersion, whatever the entry says.
            warnings = []
            if "cniVersion" in plugin and plugin["cniVersion"] != version:
                warnings.append(f"cniVersion: {plugin['cniVersion']!r} is ignored: runtimes give every plugin the list's cniVersion ({version!r})")
            merged = {**plugin, "name": document.get("name"), "cniVersion": version}
            found.append((f"plugins[{i}].", merged, version, warnings))
    return found


def validate(path: str) -> int:
    """Print every problem of a conflist or plugin config; 1 if any."""
    from .config import examine

    try:
        with open(path, "rb") as handle:
            document = json.load(handle)
        entries = _plugin_configs(document, path)
    except (OSError, ValueError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    if not entries:
        print(f"{path}: no plugin of type route-override in this conflist", file=sys.stderr)
        return 1
    problems = 0
    for prefix, config, version, warnings in entries:
        for warning in warnings:
            print(f"{path}: warning: {prefix}{warning}", file=sys.stderr)
        if version not in versions.SUPPORTED:
            print(f"{path}: {prefix}cniVersion: {version!r} is not supported ({', '.join(versions.SUPPORTED)})")
            problems += 1
            continue
        parsed, findings = examine(config, version)
        for problem in findings.problems:
            print(f"{path}: {prefix}{problem.msg}")
        problems += len(findings.problems)
        for warning in findings.warnings + (_warnings(parsed) if parsed else []):
            print(f"{path}: warning: {prefix}{warning}", file=sys.stderr)
    if problems:
        print(f"{path}: {problems} problem(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(entries)} route-override config(s))")
    return 0


def _warnings(config) -> list[str]:
    """Valid but probably not what was meant."""
    warnings = []
    if config.flushgateway and any(not route.gateways and not route.on_link for route in config.addroutes):
        warnings.append(
            "flushgateway drops the ips gateways before addroutes run, so addroutes"
            " entries without gw become on-link routes; give them a gw to route via the old gateway"
        )
    return warnings


def explain(path: str, netns_path: str, ifname: str) -> int:
    """Print what ADD of this plugin config would change in the namespace, changing nothing."""
    from .config import examine
    from .errors import CniError
    from .log import Log
    from .plan import describe_step
    from .plugin import add
    from .result import render_result

    try:
        with open(path, "rb") as handle:
            entries = _plugin_configs(json.load(handle), path)
    except (OSError, ValueError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    if len(entries) != 1:
        print(f"{path}: needs exactly one route-override config, found {len(entries)}", file=sys.stderr)
        return 1
    _, document, version, _ = entries[0]
    if "prevResult" not in document:  # what a bare interface plugin would report: no gateways known
        document = {**document, "prevResult": {"cniVersion": version, "interfaces": [{"name": ifname, "sandbox": netns_path}]}}
        print(f"(no prevResult in {path}: assuming {ifname} with no ips gateway)")
    config, findings = examine(document, version)
    if config is None:
        for problem in findings.problems:
            print(f"{path}: {problem.msg}", file=sys.stderr)
        return 1
    try:
        changes, names = add(config, ifname, netns_path, Log(), apply=False)
    except CniError as error:
        print(f"error {error.code}: {error.msg}", file=sys.stderr)
        return 1
    for step in changes.steps:
        print(f"would {describe_step(step, names)} ({step.reason})")
    if not changes.steps:
        print("would change nothing")
    print(json.dumps(render_result(changes.result, version), indent=2))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="route-override",
        description=DESCRIPTION.format(commands=", ".join(COMMANDS), versions=", ".join(versions.SUPPORTED)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("validate", help="check a conflist or plugin config file and list every problem")
    check.add_argument("file", help="a .conflist or a single plugin config (JSON)")
    dry_run = commands.add_parser("explain", help="show what ADD would change in a namespace, changing nothing")
    dry_run.add_argument("file", help="a conflist or plugin config; its prevResult, if any, is used")
    dry_run.add_argument("--netns", required=True, help="the namespace, e.g. /run/netns/NAME or /proc/PID/ns/net")
    dry_run.add_argument("--ifname", default="net1", help="CNI_IFNAME (default: net1)")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.file)
    if args.command == "explain":
        return explain(args.file, args.netns, args.ifname)
    parser.print_help(sys.stderr)
    return 2
