"""Every node OS of README's table, as a root (tests/platforms/noderoots.py):
the real installer image installs into it as the DaemonSet's pod template
says, then a static cnitool (libcni) chrooted there runs a macvlan + static
+ route-override conflist: ADD, CHECK and DEL on real namespaces, with the
kernel's routes read back. Also: an upgrade with a run in flight, and the
hand-copied file on a node with and without a python3.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from installer_index import Index
from netns import Namespace, ip
from noderoots import KINDS, SIMULATES, Root, installer_run, make_root, readiness_probe, static_tools
from pythons import host_platform

ROUTE_OVERRIDE = {"type": "route-override", "flushgateway": True, "addroutes": [{"dst": "10.20.0.0/16", "gw": "198.51.100.254"}]}
CONFLIST = {
    "cniVersion": "1.0.0",  # Debian's libcni (1.1.2) goes up to 1.0.0
    "name": "node-root",
    "plugins": [
        {
            "type": "macvlan",
            "master": "mvup",
            "mode": "bridge",
            "ipam": {
                "type": "static",
                "addresses": [{"address": "198.51.100.10/24"}],
                "routes": [{"dst": "0.0.0.0/0", "gw": "198.51.100.1"}, {"dst": "10.123.0.0/16", "gw": "198.51.100.1"}],
            },
        },
        ROUTE_OVERRIDE,
    ],
}
AFTER_ADD = {"198.51.100.0/24 dev eth0", "10.123.0.0/16 via 198.51.100.1 dev eth0", "10.20.0.0/16 via 198.51.100.254 dev eth0"}
CLIENT_ENV = {"PATH": "/nonexistent", "CNI_PATH": "/opt/cni/bin", "CNI_CACHE_DIR": "/var/lib/cni"}


@pytest.fixture(scope="session")
def tools(work: Path) -> Path:
    return static_tools(work / "static-tools")


@pytest.fixture
def root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tools: Path) -> Iterator[Root]:
    path = tmp_path_factory.mktemp("node") / "root"
    made = make_root(request.param, path, tools)
    made.host("/etc/cni/net.d/10-node-root.conflist").write_text(json.dumps(CONFLIST))
    try:
        yield made
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def node() -> Iterator[Namespace]:
    """The node's network namespace, with the macvlan master."""
    made = Namespace("node")
    try:
        ip("link", "add", "mvup", "type", "veth", "peer", "name", "mvpeer", ns=made.name)
        ip("link", "set", "mvup", "up", ns=made.name)
        ip("link", "set", "mvpeer", "up", ns=made.name)
        yield made
    finally:
        made.delete()


@pytest.fixture
def ctr() -> Iterator[Namespace]:
    made = Namespace("ctr")
    try:
        yield made
    finally:
        made.delete()


def install(index: Index, root: Root, image: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        installer_run(index.storage, image or index.instance(host_platform()), root, "init"), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def client(root: Root, node: Namespace, ctr: Namespace) -> Callable[..., subprocess.CompletedProcess]:
    def run(verb: str, **kwargs) -> subprocess.CompletedProcess:
        argv = ["/cnitool", verb, "/etc/cni/net.d/10-node-root.conflist", "ctr-node-root", ctr.path, "eth0"]
        return subprocess.run(
            root.command(node.name, *argv), env=CLIENT_ENV, capture_output=True, text=True, timeout=120, **kwargs
        )

    return run


def runtimes(root: Root) -> list[str]:
    return sorted(p.name for p in root.host("/opt/cni/bin").iterdir() if p.name.startswith(".route-override-") and p.is_dir())


@pytest.mark.parametrize("root", KINDS, indirect=True)
def test_the_installer_image_serves_the_node_and_cnitool_runs_the_chain(
    index: Index, root: Root, node: Namespace, ctr: Namespace, covered: list[str]
) -> None:
    done = install(index, root)
    assert "installed runtime /host/opt/cni/bin/.route-override-" in done.stdout
    (runtime,) = runtimes(root)
    plugin = root.host("/opt/cni/bin/route-override")
    assert plugin.read_bytes().startswith(f"#!/opt/cni/bin/{runtime}.start\n".encode())
    start = root.host(f"/opt/cni/bin/{runtime}.start").read_text()
    assert start.startswith(f"#!/opt/cni/bin/{runtime}/ld.so /opt/cni/bin/{runtime}/python3\n")
    probe = subprocess.run(readiness_probe(index.storage, index.instance(host_platform()), root), capture_output=True, text=True)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    for path in [
        root.host("/opt/cni/bin"),
        plugin,
        root.host(f"/opt/cni/bin/{runtime}.start"),
        *root.host(f"/opt/cni/bin/{runtime}").rglob("*"),
    ]:
        info = path.lstat()
        assert info.st_uid == 0 and not info.st_mode & 0o022, f"{path}: {oct(info.st_mode)}"

    version = subprocess.run(
        root.command(node.name, "/opt/cni/bin/route-override", "--version"),
        env={"PATH": "/nonexistent"},
        capture_output=True,
        text=True,
    )
    assert version.returncode == 0, version.stdout + version.stderr
    assert f"at /opt/cni/bin/{runtime}/python3)" in version.stdout  # the bundled runtime, whatever the root has

    cni = client(root, node, ctr)
    start = time.perf_counter()
    added = cni("add")
    add_seconds = time.perf_counter() - start
    assert added.returncode == 0, added.stderr
    assert ctr.routes(4) == AFTER_ADD  # the default route flushed, 10.20.0.0/16 added: read back from the kernel
    assert json.loads(added.stdout)["routes"] == [{"dst": "10.123.0.0/16", "gw": "198.51.100.1"}, *ROUTE_OVERRIDE["addroutes"]]
    checked = cni("check")
    assert checked.returncode == 0, checked.stderr
    ctr_route = ["route", "add", "10.20.0.0/16", "via", "198.51.100.1", "dev", "eth0"]
    ip("route", "del", "10.20.0.0/16", ns=ctr.name)
    ip(*ctr_route, ns=ctr.name)  # changed behind the plugin's back: CHECK must see it
    assert cni("check").returncode != 0
    deleted = cni("del")
    assert deleted.returncode == 0, deleted.stderr
    assert "eth0" not in ip("-o", "link", "show", ns=ctr.name)
    if root.kind == "old-python":
        assert not root.host("/python3-was-called").exists()  # the node's python3 was never asked
    covered.append(
        f"node root {root.kind:<11} {SIMULATES[root.kind]:<52} ADD, CHECK, DEL via cnitool: ADD {add_seconds * 1000:.0f} ms"
    )


@pytest.mark.parametrize("root", ["busybox", "no-bin", "debian12"], indirect=True)
def test_the_hand_copied_file_without_its_runtime(root: Root, node: Namespace, plugin: Path) -> None:
    """No runtime beside it: the node's python3 runs it as before; with no
    python3, a CNI error 50 names what is missing; with no shell at all the
    kernel cannot start it (README says so)."""
    shutil.copy(plugin, root.host("/opt/cni/bin/route-override"))
    env = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": "VERSION"}
    done = subprocess.run(
        root.command(node.name, "/opt/cni/bin/route-override"),
        input='{"cniVersion": "1.0.0"}',
        env=env,
        capture_output=True,
        text=True,
    )
    if root.kind == "debian12":
        assert done.returncode == 0 and "1.0.0" in json.loads(done.stdout)["supportedVersions"], done.stderr
        version = subprocess.run(
            root.command(node.name, "/opt/cni/bin/route-override", "--version"),
            env=env | {"CNI_COMMAND": ""},
            capture_output=True,
            text=True,
        )
        assert "at /usr/bin/python3)" in version.stdout, version.stdout + version.stderr
    elif root.kind == "busybox":
        assert done.returncode == 1
        error = json.loads(done.stdout)
        assert error["code"] == 50 and "needs python3" in error["msg"]
    else:
        assert done.returncode != 0 and not done.stdout  # ENOENT for /bin/sh: nothing can answer


def variant(index: Index, work: Path, tag: str) -> str:
    """This platform's image with a runtime of other content (as a security
    rebuild makes: another `packages` line), under another name."""
    from hashlib import sha256

    container = subprocess.run(
        ["buildah", *index.storage, "from", index.instance(host_platform())], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        mount = Path(
            subprocess.run(
                ["buildah", *index.storage, "mount", container], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        (runtime,) = (mount / "runtime").iterdir()
        with (runtime / "packages").open("a") as packages:
            packages.write(f"# rebuilt: {tag}\n")
        lines = [line for line in (runtime / "SHA256SUMS").read_text().splitlines() if not line.endswith("  packages")]
        lines.append(f"{sha256((runtime / 'packages').read_bytes()).hexdigest()}  packages")
        sums = "".join(line + "\n" for line in sorted(lines, key=lambda line: line[66:]))
        (runtime / "SHA256SUMS").write_text(sums)
        runtime.rename(runtime.with_name(".route-override-" + sha256(sums.encode()).hexdigest()[:12]))
        image = f"localhost/route-override-installer:{tag}"
        subprocess.run(["buildah", *index.storage, "commit", "--quiet", container, image], check=True, capture_output=True)
        return image
    finally:
        subprocess.run(["buildah", *index.storage, "rm", container], capture_output=True)


def snapshot(directory: Path) -> dict:
    entries = [directory, *sorted(directory.rglob("*"))]
    return {str(p): (p.lstat().st_ino, p.lstat().st_mtime_ns, p.lstat().st_ctime_ns) for p in entries}


def held_by_a_run(directory: Path) -> bool:
    """Whether some process holds a flock on `directory` (as each plugin run holds its runtime)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.mark.parametrize("root", ["no-bin"], indirect=True)
def test_an_upgrade_lets_a_run_in_flight_finish_then_leaves_one_runtime(
    index: Index, root: Root, node: Namespace, ctr: Namespace, work: Path
) -> None:
    v1 = variant(index, work, "v1")
    install(index, root, v1)
    (old,) = runtimes(root)
    bin_dir = root.host("/opt/cni/bin")
    cni = client(root, node, ctr)
    netns = os.open(ctr.path, os.O_RDONLY)
    fcntl.flock(netns, fcntl.LOCK_EX)  # route-override waits for this namespace's lock: a run held in flight
    try:
        in_flight = subprocess.Popen(
            root.command(node.name, "/cnitool", "add", "/etc/cni/net.d/10-node-root.conflist", "ctr-node-root", ctr.path, "eth0"),
            env=CLIENT_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not held_by_a_run(bin_dir / old):  # the v1 plugin has started on its runtime
            assert in_flight.poll() is None and time.monotonic() < deadline, in_flight.communicate()
            time.sleep(0.05)
        upgraded = install(index, root)  # v2
        (new,) = [name for name in runtimes(root) if name != old]
        assert f"runtime=/opt/cni/bin/{new}".encode() in (bin_dir / "route-override").read_bytes()
        past = time.time() - 60  # the switch, as long ago as a settled upgrade
        os.utime(bin_dir / "route-override", (past, past))
        version = subprocess.run(
            root.command(node.name, "/opt/cni/bin/route-override", "--version"),
            env={"PATH": "/nonexistent"},
            capture_output=True,
            text=True,
        )
        assert f"at /opt/cni/bin/{new}/python3)" in version.stdout, version.stdout + version.stderr
        assert runtimes(root) == sorted([old, new])  # that run removed nothing the run in flight holds
    finally:
        os.close(netns)  # lets the run in flight go on
    out, err = in_flight.communicate(timeout=120)
    assert in_flight.returncode == 0, err
    assert ctr.routes(4) == AFTER_ADD and "installed runtime" in upgraded.stdout
    assert client(root, node, ctr)("check").returncode == 0  # a run on v2, after the one on v1 ended: removes v1
    assert runtimes(root) == [new] and sorted(p.name for p in bin_dir.iterdir() if p.name.startswith(".")) == [
        new,
        f"{new}.start",
    ]
    before = snapshot(bin_dir)
    again = install(index, root)
    assert "already installed and intact" in again.stdout and "skipped" in again.stdout
    assert snapshot(bin_dir) == before  # v2 over v2 writes nothing
    assert cni("del").returncode == 0
