"""Debian roots unpacked from Debian's own packages: any suite's and any
architecture's python3 in a few seconds, from the apt mirror, without an
image registry (`mmdebstrap --variant=extract` downloads and unpacks the
packages and their dependencies, runs nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# Suites whose Release file on this mirror is past its Valid-Until date (sid
# is re-signed daily upstream; the mirror lags): apt refuses them otherwise.
STALE_RELEASE = {"sid"}
# What merged-/usr systems get from base-files, which an extract of python3
# and dash alone lacks (trixie and later): the loader is found as /lib64/...
MERGED = ("bin", "sbin", "lib", "lib64")


def unpack(suite: str, arch: str, packages: list[str], root: Path) -> Path:
    """`packages` of Debian `suite` for `arch` (Debian's name), unpacked into `root` (must not exist)."""
    if not shutil.which("mmdebstrap"):
        raise RuntimeError("mmdebstrap is missing: make setup installs it")
    command = ["mmdebstrap", "--quiet", "--variant=extract", f"--architectures={arch}", f"--include={','.join(packages)}"]
    if suite in STALE_RELEASE:
        command.append('--aptopt=Acquire::Check-Valid-Until "false"')
    done = subprocess.run([*command, suite, str(root)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"unpacking {suite}/{arch} {packages} failed:\n{done.stderr}")
    for name in MERGED:
        if not os.path.lexists(root / name) and (root / "usr" / name).is_dir():
            (root / name).symlink_to(f"usr/{name}")
    relative_links(root)
    return root


def relative_links(root: Path) -> None:
    """Absolute symlinks to files of the root, made relative: `qemu -L root`
    looks a guest path up under the root once, but does not follow an
    absolute link found there (ppc64el's /lib64/ld64.so.2) back into it."""
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            link = Path(directory, name)
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if target.startswith("/") and os.path.lexists(root / target.lstrip("/")):
                link.unlink()
                link.symlink_to(os.path.relpath(root / target.lstrip("/"), link.parent))
