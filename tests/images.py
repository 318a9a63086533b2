"""A busybox root filesystem from Debian's busybox-static, for images made
offline (no registry is reachable in CI)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


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
