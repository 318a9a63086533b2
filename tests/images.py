"""A busybox root filesystem from Debian's busybox-static, for images made
offline (no registry is reachable in CI)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def busybox_rootfs_tar(work: Path) -> Path:
    """A tar of / with busybox and a symlink per applet (sh, ip, sleep, ...)."""
    busybox = shutil.which("busybox", path="/usr/bin:/bin")
    if busybox is None:
        raise RuntimeError("busybox is missing: make setup installs busybox-static")
    rootfs = work / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(busybox, rootfs / "bin" / "busybox")
    for applet in subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split():
        if applet != "busybox":
            (rootfs / "bin" / applet).symlink_to("busybox")
    tar = work / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
    return tar


@contextmanager
def podman_storage(work: Path) -> Iterator[list[str]]:
    """Storage flags for podman and buildah: images and containers under
    `work`, all removed afterwards. The runroot is a short path of its own:
    podman refuses one of 50 characters or more."""
    runroot = tempfile.mkdtemp(prefix="ro-pm-")
    storage = ["--root", str(work / "storage"), "--runroot", runroot, "--storage-driver", "vfs"]
    try:
        yield storage
    finally:
        subprocess.run(["podman", *storage, "rm", "--all", "--force"], capture_output=True)
        subprocess.run(["podman", *storage, "rmi", "--all", "--force"], capture_output=True)
        subprocess.run(["buildah", *storage, "rm", "--all"], capture_output=True)
        shutil.rmtree(runroot, ignore_errors=True)
