"""Upgrades leave nothing behind in the extraction cache: the first run of a
new build removes what other builds left there (their caches, shiv's
temporaries and lock files), but never a cache that a running process of
its build holds, and never anything else.

Build A is the built plugin; build B is a rebuild with a changed source.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import PLUGIN, ROOT

ENV = {"PATH": "/usr/bin:/bin"}
VERSION = json.dumps({"cniVersion": "1.0.0"})


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not PLUGIN:
        pytest.fail("these run the built plugin: make test builds it")
    work = tmp_path_factory.mktemp("rebuild")
    for part in ("pyproject.toml", "README.md", "src", "build"):
        (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, work / part)
    with (work / "src" / "ro" / "__init__.py").open("a") as source:
        source.write("# a changed source: another build id\n")
    subprocess.run(
        ["build/shiv.sh", str(work / "B")],
        cwd=work,
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
    )
    return Path(PLUGIN).resolve(), work / "B"


def run(plugin: Path, root: Path) -> None:
    done = subprocess.run([str(plugin), "--version"], env={**ENV, "SHIV_ROOT": str(root)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def entries(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


def caches(root: Path) -> set[str]:
    return {name for name in entries(root) if name.startswith("route-override_")}


@pytest.fixture
def root(builds: tuple[Path, Path], tmp_path: Path) -> Path:
    """A cache root where build A has run."""
    run(builds[0], tmp_path / "cache")
    return tmp_path / "cache"


def test_the_first_run_of_a_new_build_removes_the_old_builds_leftovers_and_nothing_else(builds, root: Path) -> None:
    (old,) = caches(root)
    interrupted = f"route-override_{'e' * 64}.tmp"  # an extraction of a third build, killed halfway
    (root / interrupted / "site-packages").mkdir(parents=True)
    others = {"notes.txt", "route-override-config", f"other-app_{'a' * 64}", f".other-app_{'a' * 64}_lock"}
    for name in others:
        (root / name).write_text("not route-override's")
    run(builds[1], root)
    (new,) = caches(root)
    assert new != old
    assert entries(root) == others | {new, f".{new}_lock"}
    planted = f"route-override_{'f' * 64}"  # appears after B's first run: its warm runs never scan
    (root / planted / "site-packages").mkdir(parents=True)
    run(builds[1], root)
    assert caches(root) == {new, planted}


def test_a_cache_that_a_running_process_holds_stays(builds, root: Path) -> None:
    a, b = builds
    (old,) = caches(root)
    # A VERSION run waits for its stdin with its cache held, and imports from it after that.
    running = subprocess.Popen(
        [str(a)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**ENV, "SHIV_ROOT": str(root), "CNI_COMMAND": "VERSION"},
    )
    try:
        wait_until_held(root / old)
        run(b, root)
        assert old in caches(root) and f".{old}_lock" in entries(root)
        out, _ = running.communicate(VERSION, timeout=30)
        assert running.returncode == 0 and json.loads(out)["supportedVersions"]
    finally:
        running.kill()
        running.wait()


def wait_until_held(cache: Path) -> None:
    """Until some process holds a shared flock on `cache` (bounded)."""
    deadline = time.monotonic() + 30
    fd = os.open(cache, os.O_RDONLY)
    try:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            fcntl.flock(fd, fcntl.LOCK_UN)
            time.sleep(0.01)
        raise AssertionError(f"no process took {cache}")
    finally:
        os.close(fd)
