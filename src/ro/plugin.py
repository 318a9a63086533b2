"""route-override's commands, top to bottom: ADD, CHECK, DEL, STATUS, GC.

Each command parses the config, decides with the pure planner, and does the
kernel work in one place: after entering the container's namespace, with one
netlink socket. ro.netlink (and so pyroute2) is imported only there, so a
config error is answered before paying for it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Callable, Optional

from . import plan
from .cni import Request
from .config import PluginConfig, parse_config
from .errors import INVALID_CONFIG, NETNS_UNUSABLE, NOT_AVAILABLE, CHECK_FAILED, CniError
from .result import render_result


def _with_prev_result(request: Request) -> PluginConfig:
    config = parse_config(request.config, request.cni_version)
    if config.prev_result is None:
        raise CniError(
            INVALID_CONFIG,
            f"prevResult: missing; route-override is a chained plugin: it must follow an interface"
            f" plugin in a conflist, which passes its result on ({request.command})",
        )
    return config


def cmd_add(request: Request) -> dict:
    config = _with_prev_result(request)
    chosen = plan.targets(config.prev_result, request.ifname)
    from . import netlink

    netlink.enter_namespace(request.netns)
    links = netlink.require_links(chosen.names)
    with netlink.RouteSocket() as sock:
        changes = plan.plan_add(config, chosen, links, sock.routes())
        netlink.apply(sock, changes.steps, {index: name for name, index in links.items()})
    return render_result(changes.result, config.cni_version)


def cmd_check(request: Request) -> None:
    config = _with_prev_result(request)
    if config.skipcheck:
        return None
    chosen = plan.targets(config.prev_result, request.ifname)
    from . import netlink

    netlink.enter_namespace(request.netns)
    links = netlink.require_links(chosen.names)
    with netlink.RouteSocket() as sock:
        problems = plan.check(config, chosen, links, sock.routes())
    if problems:
        more = f" (and {len(problems) - 1} more, in details)" if len(problems) > 1 else ""
        raise CniError(CHECK_FAILED, problems[0] + more, "; ".join(problems[1:]))
    return None


def cmd_del(request: Request) -> None:
    """Best effort and idempotent: a missing namespace, interface or
    prevResult means there is nothing left to remove. So does an invalid
    config: ADD refused it, so it added nothing (and a runtime that DELs
    after a failed ADD must not be stuck retrying)."""
    try:
        config = parse_config(request.config, request.cni_version)
    except CniError as error:
        sys.stderr.write(f"route-override: DEL: nothing to remove under an invalid config: {error.msg}\n")
        return None
    if not request.netns or not config.addroutes:
        return None
    from . import netlink

    try:
        netlink.enter_namespace(request.netns)
    except CniError as error:
        if error.code == NETNS_UNUSABLE:
            return None  # the namespace is gone (or was never one): nothing of ours is left
        raise
    chosen = plan.targets(config.prev_result, request.ifname)
    links = netlink.link_indexes(chosen.names)
    if not links:
        return None
    with netlink.RouteSocket() as sock:
        removal = plan.plan_del(config, chosen, links, sock.routes())
        netlink.apply(sock, removal.steps, {index: name for name, index in links.items()})
    return None


def cmd_status(request: Request) -> None:
    """Ready when the netlink codec is in this build; nothing else is needed."""
    if importlib.util.find_spec("pyroute2") is None:
        raise CniError(NOT_AVAILABLE, "pyroute2 is missing from this build of route-override")
    return None


def cmd_gc(request: Request) -> None:
    """Nothing to collect: the plugin keeps no state outside the namespace."""
    parse_config(request.config, request.cni_version)
    return None


COMMANDS: dict[str, Callable[[Request], Optional[dict]]] = {
    "ADD": cmd_add,
    "CHECK": cmd_check,
    "DEL": cmd_del,
    "STATUS": cmd_status,
    "GC": cmd_gc,
}
