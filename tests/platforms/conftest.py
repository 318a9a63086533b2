"""The platforms suite (`make platforms`): the built file, byte for byte, on
every architecture and every Python it claims, and the installer image index.

Every python3 is unpacked once per session under one temporary directory,
removed at the end; the summary lists what was covered, with timings.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from images import podman_storage
from installer_index import Index, build
from pythons import Python, Spec, materialize, proven
from runner import PLUGIN

COVERED: list[str] = []  # lines for the summary, in the order tests ran


@pytest.fixture(scope="session")
def plugin() -> Path:
    if not PLUGIN:
        pytest.fail("the platforms suite runs the built file: make platforms builds it")
    return Path(PLUGIN).resolve()


@pytest.fixture(scope="session")
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ro-platforms-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def made(work: Path, plugin: Path) -> Callable[[Spec], Python]:
    cache: dict[Spec, Python | Exception] = {}

    def make(spec: Spec) -> Python:
        if spec not in cache:
            try:
                cache[spec] = materialize(spec, work / spec.name, plugin)
            except Exception as error:  # each of its tests fails with this, not with a half-made root
                cache[spec] = error
        made = cache[spec]
        if isinstance(made, Exception):
            raise made
        return made

    return make


@pytest.fixture(scope="session")
def index(work: Path, plugin: Path) -> Iterator[Index]:
    """The installer image index, built into a storage under the session's directory: images and pushed layouts go with it."""
    for tool in ("buildah", "podman"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: make setup installs it")
    (work / "image").mkdir()
    with podman_storage(work / "image") as storage:
        yield Index(storage, build(storage))


@pytest.fixture(params=proven(), ids=lambda spec: spec.name)
def python(request: pytest.FixtureRequest, made: Callable[[Spec], Python]) -> Python:
    """Each python3 the file is proven on: other architectures, Debian suites, installed CPythons."""
    return made(request.param)


@pytest.fixture(scope="session")
def covered() -> list[str]:
    return COVERED


def pytest_terminal_summary(terminalreporter) -> None:
    if COVERED:
        terminalreporter.section("covered")
        for line in COVERED:
            terminalreporter.write_line(line)
