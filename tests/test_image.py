"""The installer image, built with buildah and run with podman, offline.

The base image is made here from Debian's busybox-static (no registry is
reachable in CI); images live in a temporary storage root removed after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from images import busybox_rootfs_tar
from runner import PLUGIN, ROOT


def storage(tmp: Path) -> list[str]:
    # podman refuses a runroot of 50 characters or more: tmp's "run" is a link to a short one
    return ["--root", str(tmp / "storage"), "--runroot", os.readlink(tmp / "run"), "--storage-driver", "vfs"]


@pytest.fixture
def images(tmp_path: Path):
    if not PLUGIN:
        pytest.fail("the image carries the built plugin: run build/shiv.sh first (make test does)")
    for tool in ("buildah", "podman"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: make setup installs it")
    (tmp_path / "run").symlink_to(tempfile.mkdtemp(prefix="ro-run-"))
    yield tmp_path
    subprocess.run(["podman", *storage(tmp_path), "rmi", "--all", "--force"], capture_output=True)
    subprocess.run(["buildah", *storage(tmp_path), "rm", "--all"], capture_output=True)
    shutil.rmtree(os.readlink(tmp_path / "run"), ignore_errors=True)


def base_image(tmp: Path) -> str:
    tar = busybox_rootfs_tar(tmp)
    subprocess.run(["podman", *storage(tmp), "import", str(tar), "localhost/ro-busybox:test"], check=True, capture_output=True)
    return "localhost/ro-busybox:test"


def test_image_installs_a_working_plugin_with_least_privilege(images: Path) -> None:
    base = base_image(images)
    tag = "localhost/route-override-installer:test"
    build = ["buildah", *storage(images), "bud", "--quiet", "--build-arg", f"BASE={base}", "-f", "Dockerfile.installer", "-t", tag, "."]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True)
    host_bin = images / "host-cni-bin"
    host_bin.mkdir()
    run = [
        "podman", *storage(images), "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
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
