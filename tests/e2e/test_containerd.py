"""containerd 1.6 (`ctr run --cni`) runs the chain, started by the test with
its own config, root, state and socket, and stopped by PID.

`ctr run --cni` takes the first conflist of /etc/cni/net.d (by name) and
the plugins of /opt/cni/bin, so the test adds its own files there and
removes exactly those afterwards. ctr calls DEL with an empty CNI_NETNS.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from chains import CLEAN_PATH, REFERENCE_PLUGINS, need, write_json
from images import busybox_rootfs_tar, podman_storage
from netns import Namespace
from runner import PLUGIN

CONF_DIR = Path("/etc/cni/net.d")
BIN_DIR = Path("/opt/cni/bin")
CONFLIST = CONF_DIR / "00-route-override-e2e.conflist"
IMAGE = "localhost/ro-e2e-busybox:latest"


class Containerd:
    def __init__(self, work: Path, node: Namespace) -> None:
        self.work, self.node = work, node
        self.socket = work / "containerd.sock"

    def ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = ["nsenter", f"--net={self.node.path}", "ctr", "--address", str(self.socket), *args]
        return subprocess.run(command, env={"PATH": CLEAN_PATH}, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cni_files(plugin_dir: Path) -> Iterator[None]:
    """Our conflist first in /etc/cni/net.d, our plugins in /opt/cni/bin; undone after."""
    created: list[Path] = []
    for directory in (BIN_DIR.parent, BIN_DIR, CONF_DIR):
        if not directory.exists():
            directory.mkdir()
            created.append(directory)
    added: list[Path] = []
    try:
        for source in [Path(PLUGIN), *REFERENCE_PLUGINS.iterdir()]:
            target = BIN_DIR / ("route-override" if source == Path(PLUGIN) else source.name)
            if not target.exists():
                shutil.copy(source, target) if target.name == "route-override" else target.symlink_to(source)
                added.append(target)
        assert "route-override" in {p.name for p in added}, "/opt/cni/bin already has a route-override; not replacing it"
        yield
    finally:
        CONFLIST.unlink(missing_ok=True)
        for path in added:
            path.unlink()
        for directory in reversed(created):
            directory.rmdir()


@pytest.fixture
def containerd(node: Namespace, cni_files: None) -> Iterator[Containerd]:
    need("containerd", "ctr", "runc", "nsenter")
    work = Path(tempfile.mkdtemp(prefix="ro-ctd-"))  # a short path: the socket's must fit 108 bytes
    config = work / "config.toml"
    config.write_text(
        f"""version = 2
root = "{work}/root"
state = "{work}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[plugins."io.containerd.internal.v1.opt"]
  path = "{work}/opt"
[grpc]
  address = "{work}/containerd.sock"
[ttrpc]
  address = "{work}/containerd.sock.ttrpc"
"""
    )
    log = (work / "containerd.log").open("w")
    daemon = subprocess.Popen(["containerd", "--config", str(config)], stdout=log, stderr=log, start_new_session=True)
    client = Containerd(work, node)
    try:
        deadline = time.monotonic() + 30
        while client.ctr("version", timeout=10).returncode != 0:
            assert daemon.poll() is None, (work / "containerd.log").read_text()
            assert time.monotonic() < deadline, "containerd did not answer within 30 s"
            time.sleep(0.1)
        yield client
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def image_archive(tmp_path: Path) -> Path:
    """A docker-archive of the busybox image, written by podman save."""
    archive = tmp_path / "busybox.tar"
    with podman_storage(tmp_path) as storage:
        subprocess.run(["podman", *storage, "import", str(busybox_rootfs_tar(tmp_path)), IMAGE], check=True, capture_output=True)
        subprocess.run(["podman", *storage, "save", "--format", "docker-archive", "-o", str(archive), IMAGE], check=True, capture_output=True)
    return archive


def test_ctr_run_with_cni_shows_the_overridden_routes_and_cleans_up(
    containerd: Containerd, image_archive: Path, tmp_path: Path
) -> None:
    ipam = tmp_path / "ipam"
    write_json(
        CONFLIST,
        {
            "cniVersion": "1.0.0",
            "name": "ro-e2e-ctr",
            "plugins": [
                {
                    "type": "bridge", "bridge": "ro-c0", "isGateway": True, "ipMasq": False,
                    "ipam": {
                        "type": "host-local", "ranges": [[{"subnet": "203.0.113.0/24", "gateway": "203.0.113.1"}]],
                        "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(ipam),
                    },
                },
                {
                    "type": "route-override",
                    "delroutes": [{"dst": "0.0.0.0/0"}],
                    "addroutes": [{"dst": "0.0.0.0/0", "gw": "203.0.113.254"}, {"dst": "10.230.0.0/16", "gw": "203.0.113.1"}],
                },
            ],
        },
    )  # fmt: skip
    first = sorted(p.name for p in CONF_DIR.iterdir() if p.suffix in (".conf", ".conflist", ".json"))[0]
    assert first == CONFLIST.name, f"{first} sorts before our conflist; ctr would use it"
    imported = containerd.ctr("images", "import", str(image_archive))
    assert imported.returncode == 0, imported.stderr
    done = containerd.ctr("run", "--cni", "--rm", IMAGE, "ro-e2e-1", "ip", "route")
    assert done.returncode == 0, done.stderr
    routes = {" ".join(line.split()) for line in done.stdout.splitlines()}
    assert routes == {
        "default via 203.0.113.254 dev eth0",
        "10.230.0.0/16 via 203.0.113.1 dev eth0",
        "203.0.113.0/24 dev eth0 scope link src 203.0.113.2",
    }
    assert containerd.ctr("containers", "ls", "-q").stdout.strip() == ""
    leases = [p.name for p in ipam.rglob("*") if p.is_file() and p.name[0].isdigit()]
    assert leases == [], "DEL did not run through the chain"
