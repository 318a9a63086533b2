"""A python3 older than 3.9 (real ones, where the machine has them: pyenv's
3.6 to 3.8) gets CNI error 50 naming both versions, and re-runs the file
under a newer python3.N when PATH has one. Without any here, nothing is
collected; tests/test_launcher.py and tests/test_artifact.py prove the same
paths on every machine with Debian's python3 posing as an old one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pythons import FLOOR, HOST_PYTHON, dotted, installed
from runner import run_plugin

OLD = [(version, python) for version, python in installed() if version < FLOOR]


def on_path(directory: Path, **names: Path) -> Path:
    directory.mkdir(parents=True)
    for name, target in names.items():
        (directory / name).symlink_to(target)
    return directory


@pytest.mark.parametrize("version, python", OLD, ids=[dotted(version) for version, _ in OLD])
def test_an_old_python3_gets_error_50_or_a_newer_python3_n(
    version, python: Path, plugin: Path, work: Path, covered: list[str]
) -> None:
    named = dotted(version)
    here = work / f"old-{named}"  # the cache it extracts goes with the session's directory
    old = on_path(here / "old", python3=python)
    env = {"PATH": str(old), "SHIV_ROOT": str(here / "cache")}
    refused = run_plugin("VERSION", {"cniVersion": "1.0.0"}, plugin=[str(plugin)], env=env)
    assert refused.code == 50 and "needs Python 3.9 or newer" in refused.msg and f"is {named}" in refused.msg, refused.msg
    host = Path(os.path.realpath(HOST_PYTHON))  # python3.11 on Debian 12
    newer = on_path(here / "newer", **{host.name: host})
    rerun = subprocess.run([str(plugin), "--version"], env={**env, "PATH": f"{old}:{newer}"}, capture_output=True, text=True)
    assert rerun.returncode == 0 and f"at {newer / host.name})" in rerun.stdout, rerun.stdout + rerun.stderr
    covered.append(f"installed-{named:<10} Python {named:<8} alone: error 50; beside a {host.name}: re-ran under it")
