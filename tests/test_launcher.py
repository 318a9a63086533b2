"""The launcher's fallback to a newer python3.N when python3 is too old.

The built file's own launcher, on Debian's python3 made to look old (as in
test_artifact.py): real old interpreters, where the machine has them, are
in tests/platforms/test_pythons.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner import PLUGIN

AS_IF_OLD = "import sys; sys.version_info = (3, 8, 18); sys.path.insert(0, sys.argv[1]); import route_override_launcher"


def as_if_old(path: str) -> subprocess.CompletedProcess:
    if not PLUGIN:
        pytest.fail("this runs the built plugin's launcher: make test builds it")
    command = ["/usr/bin/python3", "-I", "-S", "-c", AS_IF_OLD, str(Path(PLUGIN).resolve()), "--version"]
    return subprocess.run(command, env={"PATH": path}, capture_output=True, text=True)


def test_an_old_python3_re_runs_under_the_newest_python3_n_of_any_n(tmp_path: Path) -> None:
    """No list of names to fall behind: python3.42 is found, and preferred
    to python3.13 in the same directory; names below 3.9 or not python3.N
    (python3.8, python3.50-config) are never run."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    for name in ("python3.13", "python3.42"):
        (first / name).symlink_to("/usr/bin/python3")
    for decoy in ("python3.8", "python3.50-config"):
        (first / decoy).write_text("#!/bin/sh\necho decoy ran; exit 3\n")
        (first / decoy).chmod(0o755)
    (second / "python3.99").symlink_to("/usr/bin/python3")  # newer, but PATH order comes first
    done = as_if_old(f"{tmp_path / 'missing'}:{first}:{second}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("route-override 0.1.0") and f"at {first}/python3.42)" in done.stdout
