"""The executor (ro.apply) against a stand-in for the kernel: the order of
requests, undo in reverse, all or nothing, and what counts as done.

No namespace: the socket is a fake that records each batch and refuses what
it is told to, and sysctls are written to a dict. The real kernel's side is
tests/test_ecmp.py, test_correctness.py and the rest.
"""

from __future__ import annotations

import errno
from typing import Callable, Optional

import pytest

from ro import addresses, apply
from ro.errors import KERNEL_REFUSED, ROLLBACK_INCOMPLETE, CniError
from ro.netlink import KernelError
from ro.plan import RouteStep, SysctlStep
from ro.record import replace
from ro.route_messages import new_route, with_hops
from ro.routes import KernelRoute, NextHop
from ro.wire import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTM_DELROUTE, RTM_NEWROUTE

net, address = addresses.ip_network, addresses.ip_address


def present(dst: str, *gateways: str) -> KernelRoute:
    """A route as dumped; its "message" is a label, sent back as it is (nothing to clean)."""
    hops = tuple(NextHop(3, address(gateway)) for gateway in gateways)
    return KernelRoute(net(dst), hops, wire=f"dumped {dst}".encode(), wire_as_is=True)


A, B = present("10.1.0.0/16", "10.0.0.1"), present("10.2.0.0/16", "10.0.0.1")
C = KernelRoute(net("10.3.0.0/16"), (NextHop(3, address("10.0.0.1")),), protocol=114)
DEL_A, DEL_B, ADD_C = RouteStep(A, None, "flushroutes"), RouteStep(B, None, "flushroutes"), RouteStep(None, C, "addroutes[0]")
RA = SysctlStep("net/ipv6/conf/net1/accept_ra_defrtr", 1, 0, "flushgateway")


class FakeKernel:
    """Stands for a RouteSocket: `batches` are the requests of each
    transact(), in words; `refuse` gives a request's errno (None: taken)."""

    def __init__(self, refuse: Callable[[str, int], Optional[int]] = lambda request, attempt: None) -> None:
        self.batches: list[list[str]] = []
        self.refuse = refuse
        self.attempts: dict[str, int] = {}

    def transact(self, requests):
        words = [_words(request) for request in requests]
        self.batches.append(words)
        outcomes = []
        for request in words:
            self.attempts[request] = self.attempts.get(request, 0) + 1
            code = self.refuse(request, self.attempts[request])
            outcomes.append(KernelError(code, "") if code else None)
        return outcomes


def _words(request: tuple[int, int, bytes]) -> str:
    kind, flags, body = request
    if body == new_route(C):
        return {RTM_NEWROUTE: "add C", RTM_DELROUTE: "delete C"}[kind]
    name = {A.wire: "A", B.wire: "B"}[body]
    if kind == RTM_DELROUTE:
        return f"delete {name}"
    assert kind == RTM_NEWROUTE and flags == NLM_F_CREATE | NLM_F_EXCL
    return f"restore {name}"


@pytest.fixture
def sysctls(monkeypatch) -> dict:
    """The namespace's sysctls as written, in order, by key."""
    written: dict = {"log": []}

    def write(key: str, value: int) -> None:
        written["log"].append((key, value))

    monkeypatch.setattr(apply.sysctl, "write", write)
    return written


def transaction(kernel: FakeKernel) -> apply.Transaction:
    return apply.Transaction(kernel, {3: "net1"})  # type: ignore[arg-type]


def test_steps_are_made_in_order_route_changes_in_one_batch(sysctls: dict) -> None:
    kernel = FakeKernel()
    made = transaction(kernel)
    made.apply([RA, DEL_A, DEL_B, ADD_C])
    assert sysctls["log"] == [(RA.key, 0)]
    assert kernel.batches == [["delete A", "delete B", "add C"]]
    assert made.done == [RA, DEL_A, DEL_B, ADD_C]


def test_a_refusal_midway_undoes_everything_made_newest_first(sysctls: dict) -> None:
    kernel = FakeKernel(lambda request, attempt: errno.ENETUNREACH if request == "add C" else None)
    made = transaction(kernel)
    with pytest.raises(apply.Refused) as refused:
        made.apply([RA, DEL_A, DEL_B, ADD_C])
    assert kernel.batches == [["delete A", "delete B", "add C"], ["restore B", "restore A"]]
    assert sysctls["log"] == [(RA.key, 0), (RA.key, 1)]  # set back after the routes: reverse order
    error = refused.value
    assert error.code == KERNEL_REFUSED and error.errnos == frozenset({errno.ENETUNREACH})
    assert error.msg.startswith("addroutes[0]: cannot add 10.3.0.0/16 via 10.0.0.1 dev net1: ")
    assert error.msg.endswith("3 change(s) already made were undone")
    assert made.done == []


def test_undo_reaches_steps_of_earlier_calls(sysctls: dict) -> None:
    kernel = FakeKernel(lambda request, attempt: errno.EINVAL if request == "add C" else None)
    made = transaction(kernel)
    made.apply([RA])
    made.apply([DEL_A])
    with pytest.raises(apply.Refused):
        made.apply([ADD_C])
    assert kernel.batches[-1] == ["restore A"] and sysctls["log"][-1] == (RA.key, 1)


def test_a_route_to_delete_already_gone_is_no_refusal(sysctls: dict) -> None:
    kernel = FakeKernel(lambda request, attempt: errno.ESRCH if request == "delete A" else None)
    made = transaction(kernel)
    made.apply([DEL_A, DEL_B])
    assert made.done == [DEL_B]  # nothing to put back for A


def test_a_refused_sysctl_undoes_the_routes_made(sysctls: dict, monkeypatch) -> None:
    def write(key: str, value: int) -> None:
        raise PermissionError(errno.EACCES, "no")

    kernel = FakeKernel()
    made = transaction(kernel)
    made.apply([DEL_A])
    monkeypatch.setattr(apply.sysctl, "write", write)
    with pytest.raises(apply.Refused) as refused:
        made.apply([RA])
    assert kernel.batches[-1] == ["restore A"] and refused.value.errnos == frozenset({errno.EACCES})


def test_refused_undos_are_tried_again_while_others_make_progress(sysctls: dict) -> None:
    """A restores only once B is back (B: the connected route of A's gateway, say)."""

    def refuse(request: str, attempt: int) -> Optional[int]:
        if request == "add C":
            return errno.EEXIST
        return errno.ENETUNREACH if request == "restore A" and attempt == 1 else None

    kernel = FakeKernel(refuse)
    with pytest.raises(apply.Refused):
        transaction(kernel).apply([DEL_B, DEL_A, ADD_C])
    assert kernel.batches[1:] == [["restore A", "restore B"], ["restore A"]]


def test_undos_refused_for_good_are_reported_as_an_incomplete_rollback(sysctls: dict) -> None:
    def refuse(request: str, attempt: int) -> Optional[int]:
        return errno.ENETUNREACH if request in ("add C", "restore A") else None

    kernel = FakeKernel(refuse)
    with pytest.raises(CniError) as failed:
        transaction(kernel).apply([DEL_A, DEL_B, ADD_C])
    assert kernel.batches[1:] == [["restore B", "restore A"], ["restore A"]]  # tried again once B came back, then given up
    assert failed.value.code == ROLLBACK_INCOMPLETE and "rollback incomplete" in failed.value.msg
    assert "delete 10.1.0.0/16 via 10.0.0.1 dev net1 not undone" in failed.value.details


def test_undo_of_what_is_already_undone_is_fine(sysctls: dict) -> None:
    """An added route already gone (ESRCH), a deleted one already back (EEXIST)."""
    refusals = {"delete C": errno.ESRCH, "restore A": errno.EEXIST}
    kernel = FakeKernel(lambda request, attempt: refusals.get(request))
    made = transaction(kernel)
    made.apply([DEL_A, ADD_C])
    assert made.rollback() == []
    assert kernel.batches[-1] == ["delete C", "restore A"]


def test_requests_and_their_undos() -> None:
    shared = KernelRoute(net("0.0.0.0/0"), (NextHop(3, address("10.0.0.1")), NextHop(2, address("10.88.0.1"))), wire=A.wire, wire_as_is=True)
    left = replace(shared, hops=shared.hops[1:])
    cut = RouteStep(shared, left, "flushgateway")
    assert apply.request(cut) == (RTM_NEWROUTE, NLM_F_REPLACE, with_hops(A.wire, left.hops))
    assert apply.undo_request(cut) == (RTM_NEWROUTE, NLM_F_REPLACE, A.wire)
    assert apply.request(ADD_C) == (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, new_route(C))
    assert apply.undo_request(ADD_C) == (RTM_DELROUTE, 0, new_route(C))
    assert apply.request(DEL_A) == (RTM_DELROUTE, 0, A.wire)
    assert apply.undo_request(DEL_A) == (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, A.wire)


def test_best_effort_reports_refusals_but_not_routes_already_gone() -> None:
    refusals = {"delete A": errno.ESRCH, "delete B": errno.EPERM}
    kernel = FakeKernel(lambda request, attempt: refusals.get(request))
    assert apply.best_effort(kernel, [DEL_A, DEL_B]) == {DEL_B: "Operation not permitted"}  # type: ignore[arg-type]
