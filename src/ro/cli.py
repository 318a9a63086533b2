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
    try:
        from importlib.metadata import version

        pyroute2 = version("pyroute2")
    except Exception:  # a build without metadata still answers --version
        pyroute2 = "unknown"
    return (
        f"route-override {__version__} (pyroute2 {pyroute2}, "
        f"Python {platform.python_version()} at {sys.executable})"
    )


def _plugin_configs(document: object, source: str) -> list[tuple[str, dict, str]]:
    """(key path, plugin config, cniVersion) of each route-override entry."""
    if not isinstance(document, dict):
        raise ValueError(f"{source}: not a JSON object")
    if "plugins" not in document:
        return [("", document, document.get("cniVersion", "0.1.0"))]
    plugins = document["plugins"]
    if not isinstance(plugins, list):
        raise ValueError(f"{source}: plugins: must be a list")
    found = []
    for i, plugin in enumerate(plugins):
        if isinstance(plugin, dict) and plugin.get("type") == "route-override":
            # libcni hands each plugin the list's name and cniVersion.
            merged = {"name": document.get("name"), "cniVersion": document.get("cniVersion", "0.1.0"), **plugin}
            found.append((f"plugins[{i}].", merged, merged["cniVersion"]))
    return found


def validate(path: str) -> int:
    """Print every problem of a conflist or plugin config; 1 if any."""
    from .config import config_problems

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
    for prefix, config, version in entries:
        if version not in versions.SUPPORTED:
            print(f"{path}: {prefix}cniVersion: {version!r} is not supported ({', '.join(versions.SUPPORTED)})")
            problems += 1
            continue
        parsed, found = config_problems(config, version)
        for problem in found:
            print(f"{path}: {prefix}{problem.msg}")
        problems += len(found)
        if parsed is not None:
            for warning in _warnings(parsed):
                print(f"{path}: {prefix}warning: {warning}", file=sys.stderr)
    if problems:
        print(f"{path}: {problems} problem(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(entries)} route-override config(s))")
    return 0


def _warnings(config) -> list[str]:
    """Valid but probably not what was meant."""
    warnings = []
    if config.flushgateway and any(route.gw is None for route in config.addroutes):
        warnings.append(
            "flushgateway drops the ips gateways before addroutes run, so addroutes"
            " entries without gw become on-link routes; give them a gw to route via the old gateway"
        )
    return warnings


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
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.file)
    parser.print_help(sys.stderr)
    return 2
