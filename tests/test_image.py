"""The installer image, built with buildah and run with podman, offline.

The base image is made here from Debian's busybox-static (no registry is
reachable in CI); images live in a temporary storage root removed after.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from images import busybox_rootfs_tar, podman_storage
from runner import PLUGIN, ROOT


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[list[str]]:
    if not PLUGIN:
        pytest.fail("the image carries the built plugin: run build/shiv.sh first (make test does)")
    for tool in ("buildah", "podman"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: make setup installs it")
    with podman_storage(tmp_path) as flags:
        yield flags


def test_image_installs_a_working_plugin_with_least_privilege(storage: list[str], tmp_path: Path) -> None:
    base = "localhost/ro-busybox:test"
    subprocess.run(["podman", *storage, "import", str(busybox_rootfs_tar(tmp_path)), base], check=True, capture_output=True)
    tag = "localhost/route-override-installer:test"
    build = ["buildah", *storage, "bud", "--quiet", "--build-arg", f"BASE={base}", "-f", "Dockerfile.installer", "-t", tag, "."]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True)
    host_bin = tmp_path / "host-cni-bin"
    host_bin.mkdir()
    run = [
        "podman", *storage, "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "-v", f"{host_bin}:/host/opt/cni/bin", "-v", "/usr:/host/usr:ro",
        tag, "--mode", "init",
    ]  # fmt: skip
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "host python: /usr/bin/python3" in done.stdout and "installed /route-override" in done.stdout
    installed = host_bin / "route-override"
    assert installed.read_bytes() == Path(PLUGIN).read_bytes()
    version = subprocess.run([str(installed), "--version"], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("route-override 0.1.0")
    again = subprocess.run(run, capture_output=True, text=True)
    assert "skipped" in again.stdout
