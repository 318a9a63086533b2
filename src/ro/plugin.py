"""route-override's commands, top to bottom: ADD, CHECK, DEL, STATUS, GC.

Each command parses the config, decides with the pure planner, and does the
kernel work in one place, after entering the container's namespace, with one
netlink socket.

The planner and the netlink layer are imported inside the commands that use
them: every pod start pays for each import, and STATUS, GC and a DEL whose
namespace is gone answer without them.
"""

from __future__ import annotations

import errno

from . import netns
from .cni import Request
from .errors import CHECK_FAILED, INVALID_CONFIG, NETNS_UNUSABLE, CniError
from .log import INFO

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional, Sequence

    from .apply import Transaction
    from .config import PluginConfig
    from .log import Log
    from .netlink import RouteSocket
    from .plan import Observed, Plan, Step, Targets


def _config(request: Request, need_prev_result: bool = True) -> PluginConfig:
    from .config import parse_config

    config = parse_config(request.config, request.cni_version)
    if need_prev_result and config.prev_result is None:
        raise CniError(
            INVALID_CONFIG,
            f"prevResult: missing; route-override is a chained plugin: it must follow an interface"
            f" plugin in a conflist, which passes its result on ({request.command})",
        )
    for warning in config.warnings:
        request.log.warning(warning)
    return config


def _report(log: Log, steps: Sequence[Step], names: Mapping[int, str]) -> None:
    from .plan import describe_step

    if log.level >= INFO:
        for step in steps:
            log.info(f"{describe_step(step, names)} ({step.reason})")


def ra_settings(config: PluginConfig, chosen: Targets, links: Mapping[str, int]) -> Mapping[str, Mapping[str, int]]:
    """Where a rule deletes routes, the RA settings of the target interfaces."""
    from . import plan, sysctl
    from .plan import RA_SETTINGS

    if not plan.deletes_routes(config):
        return {}
    return sysctl.ipv6_settings([name for name in chosen.names if name in links], RA_SETTINGS)


def observe(config: PluginConfig, chosen: Targets, links: dict[str, int], sock: RouteSocket) -> Observed:
    """What the plan needs from the namespace (entered already), read once:
    the routes on the target interfaces, and their RA settings."""
    from .plan import Observed

    return Observed(links, sock.routes(list(links.values())), ra_settings(config, chosen, links))


def add_in_namespace(config: PluginConfig, ifname: str, path: str, log: Log, apply: bool) -> tuple[Plan, Mapping[int, str]]:
    """Enter the namespace at `path` and plan ADD there; with `apply`, also
    make the changes, all or nothing. Returns the plan and the interface
    names by index. `route-override explain` is this without `apply`.

    The RA settings come first, before the routes are read: a Router
    Advertisement after that cannot add a route, and one before it added
    its route in time to be read and deleted."""
    from . import netlink, plan

    chosen = plan.targets(config.prev_result, ifname)
    netns.enter(path)
    links = netlink.require_links(chosen.names)
    names = netlink.LinkNames(links)
    ipv6 = ra_settings(config, chosen, links)
    first = plan.ra_steps(config, chosen, links, ipv6)
    with netlink.RouteSocket() as sock:
        transaction = None
        if apply:
            from .apply import Transaction

            transaction = Transaction(sock, names)
            made = None if plan.deletes_routes(config) else _additions_alone(config, chosen, links, transaction, log)
            if made is not None:
                return made, names
            transaction.apply(first)
        try:
            seen = plan.Observed(links, sock.routes(list(links.values())), plan.settings_after(ipv6, first))
            changes = plan.plan_add(config, chosen, seen)
            log.debug(
                f"interfaces {', '.join(chosen.names)} (adding to {chosen.add_to}); "
                f"{len(seen.routes)} routes on them; {len(first) + len(changes.steps)} changes planned"
            )
            if transaction is not None:
                transaction.apply(changes.steps)
        except BaseException:
            if transaction is not None:
                transaction.rollback()  # the RA settings, when reading the routes failed
            raise
    return plan.Plan(tuple(first) + changes.steps, changes.result), names


def _additions_alone(config: PluginConfig, chosen: Targets, links: dict[str, int], transaction: Transaction, log: Log) -> Optional[Plan]:
    """When no rule deletes routes: the additions made without reading the
    table, which may hold a hundred thousand routes of other interfaces
    (the kernel walks them all for any dump). None when the kernel says a
    route exists already: all is undone, and the caller plans from the
    routes, which tell the same route (kept) from another (refused)."""
    from . import plan
    from .apply import Refused

    additions = plan.plan_add(config, chosen, plan.Observed(links, (), {}))
    try:
        transaction.apply(additions.steps)
    except Refused as refusal:
        if refusal.errnos != {errno.EEXIST}:
            raise
        return None
    log.debug(f"added to {chosen.add_to} without reading its routes")
    return additions


def cmd_add(request: Request) -> dict:
    config = _config(request)
    from .result import render_result

    changes, names = add_in_namespace(config, request.ifname, request.netns, request.log, apply=True)
    _report(request.log, changes.steps, names)
    return render_result(changes.result, config.cni_version)


def cmd_check(request: Request) -> None:
    config = _config(request)
    if config.skipcheck:
        return None
    from . import netlink, plan

    chosen = plan.targets(config.prev_result, request.ifname)
    netns.enter(request.netns)
    links = netlink.require_links(chosen.names)
    with netlink.RouteSocket() as sock:
        problems = plan.check(config, chosen, observe(config, chosen, links, sock), netlink.LinkNames(links))
    if problems:
        more = f" (and {len(problems) - 1} more, in details)" if len(problems) > 1 else ""
        raise CniError(CHECK_FAILED, problems[0] + more, "; ".join(problems[1:]))
    return None


def cmd_del(request: Request) -> None:
    """Best effort and idempotent: a missing namespace, interface or
    prevResult means there is nothing left to remove. So does an invalid
    config: ADD refused it, so it added nothing (and a runtime that DELs
    after a failed ADD must not be stuck retrying). A route the kernel
    refuses to delete is logged, and the rest is still removed."""
    if not request.netns:
        return None
    try:
        netns.enter(request.netns)
    except CniError as error:
        if error.code == NETNS_UNUSABLE:
            return None  # the namespace is gone (or was never one): nothing of ours is left
        raise
    try:
        config = _config(request, need_prev_result=False)
    except CniError as error:
        request.log.error(f"nothing to remove under an invalid config: {error.msg}")
        return None
    if not config.addroutes:
        return None
    from . import netlink, plan
    from .apply import best_effort

    chosen = plan.targets(config.prev_result, request.ifname)
    links = netlink.link_indexes(chosen.names)
    if not links:
        return None
    names = netlink.LinkNames(links)
    with netlink.RouteSocket() as sock:
        removal = plan.plan_del(config, chosen, plan.Observed(links, sock.routes(list(links.values())), {}))  # DEL leaves the RA settings
        refused = best_effort(sock, removal.route_steps)
    for step, words in refused.items():
        request.log.error(f"{step.reason}: cannot {plan.describe_step(step, names)}: {words}; left in place")
    _report(request.log, [step for step in removal.route_steps if step not in refused], names)
    return None


def cmd_status(request: Request) -> None:
    """Always ready: the plugin needs nothing but the kernel and this file
    (the launcher already refused a python3 too old to run it)."""
    return None


def cmd_gc(request: Request) -> None:
    """Nothing to collect: the plugin keeps no state outside the namespace."""
    return None


COMMANDS = {
    "ADD": cmd_add,
    "CHECK": cmd_check,
    "DEL": cmd_del,
    "STATUS": cmd_status,
    "GC": cmd_gc,
}
