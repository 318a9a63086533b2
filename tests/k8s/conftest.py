"""Fixtures of the Kubernetes suite: a node namespace with a macvlan master,
a CNI bin directory of the test's own (the built route-override, Debian's
reference plugins, the recorder), and a CNI conf directory per runtime.

Runtimes and API servers are started by the tests' context managers
(containerd_cri.py, crio.py, apiserver.py), each with its own config, root,
state and socket in temporary directories, and stopped even on failure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from builds import REFERENCE_PLUGINS
from netns import Namespace, ip
from runner import PLUGIN

MASTER = "mvup"  # the macvlan master in the node; its peer mvpeer is where the node's router sits
RECORDER = Path(__file__).parent / "recorder.py"


@pytest.fixture(scope="session")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PLUGIN:
        pytest.fail("the Kubernetes suite runs the built plugin: make k8s builds it")
    if not (REFERENCE_PLUGINS / "macvlan").exists():
        pytest.fail("the reference plugins are missing: make setup installs containernetworking-plugins")
    directory = tmp_path_factory.mktemp("cni-bin")
    shutil.copy(PLUGIN, directory / "route-override")
    shutil.copy(RECORDER, directory / "ro-recorder")
    for plugin in REFERENCE_PLUGINS.iterdir():
        (directory / plugin.name).symlink_to(plugin)
    return directory


@pytest.fixture
def node() -> Iterator[Namespace]:
    """The namespace the runtime runs in, playing the node: a veth pair stands
    for its second NIC (the macvlan master) and the network behind it."""
    made = Namespace("k8snode")
    try:
        ip("link", "add", MASTER, "type", "veth", "peer", "name", "mvpeer", ns=made.name)
        ip("link", "set", MASTER, "up", ns=made.name)
        ip("link", "set", "mvpeer", "up", ns=made.name)
        yield made
    finally:
        made.delete()


class ConfDir:
    """A runtime's CNI conf directory holding one conflist at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()

    def write(self, conflist: dict) -> Path:
        for old in self.path.iterdir():
            old.unlink()
        target = self.path / f"10-{conflist['name']}.conflist"
        target.write_text(json.dumps(conflist, indent=2))
        return target


@pytest.fixture
def conf_dir(tmp_path: Path) -> ConfDir:
    return ConfDir(tmp_path / "net.d")
