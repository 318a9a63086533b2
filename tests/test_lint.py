"""Static checks: pyflakes-style errors and bugbears (ruff), and types (mypy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runner import ROOT

TOOLS = Path(sys.executable).parent


def test_ruff_finds_no_errors() -> None:
    done = subprocess.run([str(TOOLS / "ruff"), "check", "--select", "F,E9,B", "src", "tests", "bench", "build"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_mypy_finds_no_type_errors() -> None:
    done = subprocess.run([str(TOOLS / "mypy"), "src/ro"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
