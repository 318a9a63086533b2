"""Commands for humans, on the same executable when CNI_COMMAND is unset."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Optional, Sequence

from . import __version__, versions
from .cni import COMMANDS
from .errors import CniError
from .intake import PluginEntry, plugin_entries, read_file

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


def _refusal(path: str, error: CniError) -> str:
    """Why the file cannot be used: what a runtime's call with it would get."""
    return f"{path}: {error.msg}" + (f"; {error.details}" if error.details else "") + f" (CNI error {error.code})"


def _warn(path: str, entry: PluginEntry, warnings: list[str]) -> None:
    """The file's and the config's warnings, the plugin's own words (it logs
    the config's ones on every call)."""
    for warning in entry.warnings + warnings:
        print(f"{path}: warning: {entry.where}{warning}", file=sys.stderr)


def validate(path: str) -> int:
    """Print every problem of a conflist or plugin config; 1 if any."""
    from .config import examine

    try:
        entries = plugin_entries(read_file(path))
    except CniError as error:
        print(_refusal(path, error))
        return 1
    if not entries:
        print(f"{path}: no plugin of type route-override in this file", file=sys.stderr)
        return 1
    problems = 0
    for entry in entries:
        _, findings = examine(entry.config, entry.cni_version)
        for problem in findings.problems:
            print(f"{path}: {entry.where}{problem.msg}")
        problems += len(findings.problems)
        _warn(path, entry, findings.warnings)
    if problems:
        print(f"{path}: {problems} problem(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(entries)} route-override config(s))")
    return 0


def explain(path: str, netns_path: str, ifname: str) -> int:
    """Print what ADD of this plugin config would change in the namespace, changing nothing."""
    from .config import examine
    from .log import Log
    from .plan import describe_step
    from .plugin import add
    from .result import render_result

    try:
        entries = plugin_entries(read_file(path))
    except CniError as error:
        print(_refusal(path, error), file=sys.stderr)
        return 1
    if len(entries) != 1:
        print(f"{path}: needs exactly one route-override config, found {len(entries)}", file=sys.stderr)
        return 1
    (entry,) = entries
    document, version = entry.config, entry.cni_version
    if "prevResult" not in document:  # what a bare interface plugin would report: no gateways known
        document = {**document, "prevResult": {"cniVersion": version, "interfaces": [{"name": ifname, "sandbox": netns_path}]}}
        print(f"(no prevResult in {path}: assuming {ifname} with no ips gateway)")
    config, findings = examine(document, version)
    _warn(path, entry, findings.warnings)
    if config is None:
        for problem in findings.problems:
            print(f"{path}: {entry.where}{problem.msg}", file=sys.stderr)
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
