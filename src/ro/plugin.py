"""route-override's commands, top to bottom: ADD, CHECK, DEL, STATUS, GC.

Each command reads as named steps, like the reference sbr plugin's cmdAdd:
load the config; protect (enter the container's namespace, one run at a
time, and stop Router Advertisements from re-adding what is deleted next);
observe (what the namespace holds, read once, by the one `observe`); plan
(the pure planner); apply (all or nothing, or best effort for DEL).

The planner and the netlink layer are imported inside the commands that use
them: every pod start pays for each import, and STATUS, GC and a DEL whose
namespace is gone answer without them.
"""

from __future__ import annotations

import errno

from . import netns
from .errors import CHECK_FAILED, INVALID_CONFIG, NETNS_UNUSABLE, CniError
from .log import INFO

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional, Sequence

    from .apply import Transaction
    from .cni import Request
    from .config import PluginConfig
    from .log import Log
    from .netlink import RouteSocket
    from .plan import Observed, Plan, Step


def load_config(request: Request, need_prev_result: bool = True) -> PluginConfig:
    """The plugin config of this invocation, its warnings logged."""
    from .config import parse_config

    config = parse_config(request.document, request.cni_version)
    if need_prev_result and config.prev_result is None:
        raise CniError(
            INVALID_CONFIG,
            f"prevResult: missing; route-override is a chained plugin: it must follow an interface"
            f" plugin in a conflist, which passes its result on ({request.command})",
        )
    for warning in config.warnings:
        request.log.warning(warning)
    return config


def report(log: Log, steps: Sequence[Step], names: Mapping[int, str]) -> None:
    from .plan import describe_step

    if log.level >= INFO:
        for step in steps:
            log.info(f"{describe_step(step, names)} ({step.reason})")


def observe(config: PluginConfig, links: Mapping[str, int], sock: RouteSocket, routes: bool, ra_settings: bool) -> Observed:
    """What the plan needs from the namespace (entered already), read once:
    the routes with a next hop on the target interfaces (unless the plan
    can do without), and their RA settings where a rule deletes routes."""
    from . import netlink, plan, sysctl

    names = netlink.LinkNames()  # the kernel's names: a target may be given by an altname
    found: Mapping[str, Mapping[str, int]] = {}
    if ra_settings and plan.deletes_routes(config):
        found = sysctl.ipv6_settings([names[index] for index in links.values()], plan.RA_SETTINGS)
    return plan.Observed(links, names, sock.routes(list(links.values())) if routes else None, found)


def add(config: PluginConfig, ifname: str, netns_path: str, log: Log, apply: bool) -> tuple[Plan, Mapping[int, str]]:
    """ADD in the namespace at `netns_path`; without `apply`, what it would
    do (`route-override explain`). Returns the plan and interface names."""
    from . import netlink, plan
    from .apply import Transaction

    chosen = plan.targets(config.prev_result, ifname)
    netns.enter(netns_path)  # protect: one run per namespace at a time
    links = netlink.require_links(chosen.names)
    with netlink.RouteSocket() as sock:
        seen = observe(config, links, sock, routes=False, ra_settings=True)
        transaction = Transaction(sock, seen.names) if apply else None
        try:
            guard = plan.ra_guard(config, chosen, seen)
            _make(transaction, guard)  # protect: no RA puts back what is deleted next
            seen = observe(config, links, sock, routes=plan.reads_routes(config) or not apply, ra_settings=True)
            changes = plan.plan_add(config, chosen, seen)
            log.debug(
                f"interfaces {', '.join(chosen.names)} (adding to {chosen.add_to}); "
                + (f"{len(seen.routes)} routes on them; " if seen.routes is not None else "their routes not read; ")
                + f"{len(guard) + len(changes.steps)} changes planned"
            )
            if not _made_or_present(transaction, changes, seen):
                seen = observe(config, links, sock, routes=True, ra_settings=True)
                changes = plan.plan_add(config, chosen, seen)
                _make(transaction, changes.steps)
        except BaseException:
            if transaction is not None:
                transaction.rollback()  # the RA guard, when reading the routes failed
            raise
    return plan.Plan(tuple(guard) + changes.steps, changes.result), seen.names


def _make(transaction: Optional[Transaction], steps: Sequence[Step]) -> None:
    if transaction is not None:
        transaction.apply(steps)


def _made_or_present(transaction: Optional[Transaction], changes: Plan, seen: Observed) -> bool:
    """Apply a plan; False when it was made without reading the routes and
    the kernel says one of its routes exists already (all is undone then):
    only the routes tell the same route (kept) from another (refused)."""
    from .apply import Refused

    try:
        _make(transaction, changes.steps)
    except Refused as refusal:
        if seen.routes is None and refusal.errnos == {errno.EEXIST}:
            return False
        raise
    return True


def cmd_add(request: Request) -> dict:
    config = load_config(request)
    from .result import render_result

    changes, names = add(config, request.ifname, request.netns, request.log, apply=True)
    report(request.log, changes.steps, names)
    return render_result(changes.result, config.cni_version)


def cmd_check(request: Request) -> None:
    config = load_config(request)
    if config.skipcheck:
        return None
    from . import netlink, plan

    chosen = plan.targets(config.prev_result, request.ifname)
    netns.enter(request.netns)
    links = netlink.require_links(chosen.names)
    with netlink.RouteSocket() as sock:
        problems = plan.check(config, chosen, observe(config, links, sock, routes=True, ra_settings=True))
    if problems:
        more = f" (and {len(problems) - 1} more, in details)" if len(problems) > 1 else ""
        raise CniError(CHECK_FAILED, problems[0] + more, "; ".join(problems[1:]))
    return None


def cmd_del(request: Request) -> None:
    """Best effort and idempotent: a missing namespace, interface or
    prevResult means there is nothing left to remove. So does an invalid
    config: ADD refused it, so it added nothing (and a runtime that DELs
    after a failed ADD must not be stuck retrying). A route the kernel
    refuses to delete is logged, and the rest is still removed. The RA
    settings stay: the container is going away."""
    if not request.netns:
        return None
    try:
        netns.enter(request.netns)
    except CniError as error:
        if error.code == NETNS_UNUSABLE:
            return None  # the namespace is gone (or was never one): nothing of ours is left
        raise
    try:
        config = load_config(request, need_prev_result=False)
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
    with netlink.RouteSocket() as sock:
        seen = observe(config, links, sock, routes=True, ra_settings=False)
        removal = plan.plan_del(config, chosen, seen)
        refused = best_effort(sock, removal.route_steps)
    for step, words in refused.items():
        request.log.error(f"{step.reason}: cannot {plan.describe_step(step, seen.names)}: {words}; left in place")
    report(request.log, [step for step in removal.route_steps if step not in refused], seen.names)
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
