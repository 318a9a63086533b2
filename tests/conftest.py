"""Fixtures: pods (network namespaces) that clean up after themselves."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

from netns import Pod, sweep
from router import Router


@pytest.fixture(scope="session", autouse=True)
def _sweep_leftovers() -> None:
    if os.geteuid() == 0:
        sweep()


@pytest.fixture
def pod() -> Iterator[Pod]:
    """A container namespace (and a peer namespace), removed after the test."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and must run as root (CI does)")
    made = Pod()
    try:
        yield made
    finally:
        made.delete()


@pytest.fixture
def make_pod() -> Iterator:
    """Several pods for one test, all removed after it."""
    made: list[Pod] = []

    def make() -> Pod:
        made.append(Pod())
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            one.delete()


@pytest.fixture
def router(pod: Pod, tmp_path) -> Iterator:
    """Makes an IPv6 router (radvd) on the peer side of one of the pod's
    links; every one started is stopped after the test."""
    made: list[Router] = []

    def make(link_name: str = "net1") -> Router:
        index = [link.name for link in pod.links].index(link_name)
        made.append(Router(pod.peer, f"p{index}", tmp_path))
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            one.stop()


# Property tests: a few hundred examples in CI; `--hypothesis-profile=deep`
# runs ten thousand and more (see README.md, "Hardening").
settings.register_profile("ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
