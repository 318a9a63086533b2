"""End-to-end fixtures: real CNI clients drive dist/route-override chained
after Debian's reference plugins (containernetworking-plugins, /usr/lib/cni).

Each test gets a `node` namespace that plays the machine: bridges and macvlan
masters are made there, never on the real host. Everything a test creates
(namespaces, links, files, containers, images, daemons) is removed after it,
also when it fails.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterator

import pytest

from chains import REFERENCE_PLUGINS
from netns import Namespace
from router import Router
from runner import PLUGIN


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """route-override (the built file) beside the reference plugins."""
    if not PLUGIN:
        pytest.fail("end-to-end tests run the built plugin: make e2e builds it")
    if not (REFERENCE_PLUGINS / "bridge").exists():
        pytest.fail("the reference plugins are missing: make setup installs containernetworking-plugins")
    directory = tmp_path_factory.mktemp("cni-bin")
    shutil.copy(PLUGIN, directory / "route-override")
    for plugin in REFERENCE_PLUGINS.iterdir():
        (directory / plugin.name).symlink_to(plugin)
    return directory


def _namespace(role: str) -> Iterator[Namespace]:
    made = Namespace(role)
    try:
        yield made
    finally:
        made.delete()


@pytest.fixture
def node() -> Iterator[Namespace]:
    """A namespace playing the node the runtime runs on."""
    yield from _namespace("node")


@pytest.fixture
def container() -> Iterator[Namespace]:
    yield from _namespace("ctr")


@pytest.fixture
def radvd(node: Namespace, tmp_path: Path) -> Iterator[Callable[[str], Router]]:
    """Starts an IPv6 router (radvd) on an interface of the node: a bridge,
    a macvlan master's peer. Every one started is stopped after the test."""
    with ExitStack() as routers:

        def start(interface: str) -> Router:
            router = Router(node, interface, tmp_path)
            routers.callback(router.stop)
            return router.start()

        yield start
