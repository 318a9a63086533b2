"""What a daemon under test may leave on the host: nothing.

Some paths the daemons make are hard-coded, whatever their config says
(containerd 1.6's shims put their sockets in /run/containerd/s; its CRI
makes a /k8s.io cgroup in every hierarchy for pods without a parent; the
kubelet's device plugin directory). Those are removed after the daemon
stops when the test made them and they are empty directories (only rmdir:
another run's files there stay). Any other listed path that appeared is a
test failure.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _existing(patterns: list[str]) -> set[Path]:
    return {Path(found) for pattern in patterns for found in glob.glob(pattern)}


def _remove_empty_tree(top: Path) -> None:
    for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:
            pass
    try:
        top.rmdir()
    except OSError:
        pass


@contextmanager
def leaves_no_trace(removable: list[str], forbidden: list[str]) -> Iterator[None]:
    """Removes the `removable` paths (globs) that appear meanwhile, if empty; fails if a `forbidden` one appears."""
    before = _existing(removable + forbidden)
    yield
    for path in sorted(_existing(removable) - before, key=lambda p: len(p.parts), reverse=True):
        _remove_empty_tree(path)
    made = sorted(str(path) for path in _existing(forbidden) - before)
    assert not made, f"left on the host: {made}"
