"""The executor: applies a plan's steps in order, and undoes them in reverse.

Whatever a step's kind, it carries what it changes and what undoes it: a
route change (turned here into the netlink requests that make and revert
it), a sysctl and its old value. ADD is all or nothing: when the kernel
refuses any step, every step already made is undone before the error is
raised. DEL is best effort.
"""

from __future__ import annotations

import errno
import os

from . import sysctl
from .errors import KERNEL_REFUSED, ROLLBACK_INCOMPLETE, CniError
from .netlink import KernelError, RouteSocket
from .plan import RouteStep, SysctlStep, describe_step
from .route_messages import new_route, replayable, with_hops
from .wire import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTM_DELROUTE, RTM_NEWROUTE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Mapping, Sequence, Union

    from .plan import Step

    Refusal = Union[KernelError, OSError]


def request(step: RouteStep) -> tuple[int, int, bytes]:
    """The netlink request (type, flags, body) that makes a route step."""
    old, new = step.old, step.new
    if old is None:
        assert new is not None
        return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, new_route(new)
    if new is None:
        return RTM_DELROUTE, 0, replayable(old.wire, as_is=old.wire_as_is)
    return RTM_NEWROUTE, NLM_F_REPLACE, with_hops(old.wire, new.hops)


def undo_request(step: RouteStep) -> tuple[int, int, bytes]:
    """The netlink request that undoes a route step made (made only when
    needed: a flush of ten thousand routes keeps no ten thousand undos)."""
    old, new = step.old, step.new
    if old is None:
        assert new is not None
        return RTM_DELROUTE, 0, new_route(new)
    original = replayable(old.wire, as_is=old.wire_as_is)
    return (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, original) if new is None else (RTM_NEWROUTE, NLM_F_REPLACE, original)


def _runs(steps: Sequence[Step]) -> Iterator[tuple[list[RouteStep], list[SysctlStep]]]:
    """Consecutive steps of one kind, as (route steps, sysctl steps) with
    one of the two empty: route changes in a row go to the kernel in one batch."""
    routes: list[RouteStep] = []
    sysctls: list[SysctlStep] = []
    for step in steps:
        if isinstance(step, RouteStep):
            if sysctls:
                yield routes, sysctls
                sysctls = []
            routes.append(step)
        else:
            if routes:
                yield routes, sysctls
                routes = []
            sysctls.append(step)
    if routes or sysctls:
        yield routes, sysctls


class Refused(CniError):
    """The kernel refused a step, and every step made was undone; `errnos`
    are the refusals' error numbers."""

    def __init__(self, msg: str, details: str, errnos: frozenset) -> None:
        super().__init__(KERNEL_REFUSED, msg, details)
        self.errnos = errnos


def _words(error: Refusal) -> str:
    return str(error) if isinstance(error, KernelError) else os.strerror(error.errno or errno.EIO)


class Transaction:
    """The steps made so far, and how to undo them."""

    def __init__(self, sock: RouteSocket, names: Mapping[int, str]) -> None:
        self.sock = sock
        self.names = names
        self.done: list[Step] = []  # made, in order; each knows its undo

    def apply(self, steps: Sequence[Step]) -> None:
        """Make `steps` in order; if any is refused, undo everything made
        (also by earlier calls) and raise the error."""
        refused: list[tuple[Step, Refusal]] = []
        for routes, sysctls in _runs(steps):
            refused = self._routes(routes) if routes else self._sysctls(sysctls)
            if refused:
                break
        if refused:
            self._fail(refused)

    def _routes(self, steps: list[RouteStep]) -> list[tuple[Step, Refusal]]:
        refused: list[tuple[Step, Refusal]] = []
        for step, outcome in zip(steps, self.sock.transact([request(step) for step in steps])):
            if outcome is None:
                self.done.append(step)
            elif not (step.new is None and outcome.code == errno.ESRCH):  # a route to delete already gone: fine
                refused.append((step, outcome))
        return refused

    def _sysctls(self, steps: list[SysctlStep]) -> list[tuple[Step, Refusal]]:
        for step in steps:
            try:
                sysctl.write(step.key, step.new)
            except OSError as error:
                return [(step, error)]
            self.done.append(step)
        return []

    def rollback(self) -> list[tuple[Step, Refusal]]:
        """Undo every step made, newest first; returns what stays refused."""
        lost: list[tuple[Step, Refusal]] = []
        for routes, sysctls in _runs(self.done[::-1]):
            lost += self._undo_routes(routes) if routes else self._undo_sysctls(sysctls)
        self.done = []
        return lost

    def _undo_routes(self, run: list[RouteStep]) -> list[tuple[Step, Refusal]]:
        """What is refused is tried again while the rest makes progress,
        because a restored route can need another one back first (a gateway
        route needs the connected route of its gateway, which the order of
        deletion says nothing about)."""
        pending = run
        while pending:
            outcomes = self.sock.transact([undo_request(step) for step in pending])
            refused: list[tuple[RouteStep, Refusal]] = [
                (step, outcome)
                for step, outcome in zip(pending, outcomes)
                if outcome is not None and outcome.code != (errno.ESRCH if step.old is None else errno.EEXIST)
            ]
            if len(refused) == len(pending):
                return list(refused)
            pending = [step for step, _ in refused]
        return []

    def _undo_sysctls(self, run: list[SysctlStep]) -> list[tuple[Step, Refusal]]:
        lost: list[tuple[Step, Refusal]] = []
        for step in run:
            try:
                sysctl.write(step.key, step.old)
            except OSError as error:
                lost.append((step, error))
        return lost

    def _fail(self, refused: list[tuple[Step, Refusal]]) -> None:
        made = len(self.done)
        lost = self.rollback()
        step, error = refused[0]
        msg = f"{step.reason}: cannot {describe_step(step, self.names)}: {_words(error)}"
        others = "; ".join(f"{s.reason}: {describe_step(s, self.names)}: {_words(e)}" for s, e in refused[1:])
        if lost:
            details = "; ".join(f"{describe_step(s, self.names)} not undone: {_words(e)}" for s, e in lost)
            raise CniError(ROLLBACK_INCOMPLETE, msg + "; rollback incomplete", details)
        undone = f"{made} change(s) already made were undone" if made else "nothing was changed"
        raise Refused(f"{msg}; {undone}", others, frozenset(e.code if isinstance(e, KernelError) else e.errno for _, e in refused))


def best_effort(sock: RouteSocket, steps: Sequence[RouteStep]) -> dict[RouteStep, str]:
    """Make every step the kernel takes (DEL: remove what can be removed);
    returns those it refused, other than routes already gone, with why."""
    outcomes = sock.transact([request(step) for step in steps])
    return {step: str(outcome) for step, outcome in zip(steps, outcomes) if outcome is not None and outcome.code != errno.ESRCH}
