"""The pod sandbox ("pause") image, built here with buildah from Debian's
busybox-static: no registry is reachable. Its process waits for a signal and
exits on SIGTERM (a shell as PID 1 gets no default signal handling)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from images import busybox_rootfs_tar

PAUSE_IMAGE = "localhost/ro-pause:1"
PAUSE_COMMAND = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait"]


def build_pause(storage: list[str], work: Path) -> None:
    """Commits PAUSE_IMAGE into the containers/storage that `storage` (buildah's flags) names."""
    tar = busybox_rootfs_tar(work)

    def buildah(*args: str) -> str:
        return subprocess.run(["buildah", *storage, *args], check=True, capture_output=True, text=True).stdout.strip()

    container = buildah("from", "scratch")
    try:
        buildah("add", container, str(tar), "/")
        buildah("config", "--entrypoint", "[]", "--cmd", json.dumps(PAUSE_COMMAND), container)
        buildah("commit", "--quiet", container, PAUSE_IMAGE)
    finally:
        subprocess.run(["buildah", *storage, "rm", container], capture_output=True)


def pause_archive(storage: list[str], work: Path) -> Path:
    """PAUSE_IMAGE as a docker-archive (for `ctr images import`)."""
    build_pause(storage, work)
    archive = work / "pause.tar"
    subprocess.run(
        ["buildah", *storage, "push", PAUSE_IMAGE, f"docker-archive:{archive}:{PAUSE_IMAGE}"], check=True, capture_output=True
    )
    return archive
