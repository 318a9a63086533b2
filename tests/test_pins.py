"""pyroute2 is pinned twice: pyproject.toml (what .venv, and so the source
tree's tests, import) and build/requirements.txt (hash-checked, what the
artifact ships). They must name one version, or the tests prove another
pyroute2 than the one nodes run."""

from __future__ import annotations

import re
import subprocess
import sys

from runner import ROOT


def pinned(text: str) -> list[str]:
    return re.findall(r"pyroute2==([0-9][0-9A-Za-z.]*)", text)


def test_pyproject_requirements_and_venv_agree_on_pyroute2() -> None:
    (shipped,) = pinned((ROOT / "build" / "requirements.txt").read_text())
    (declared,) = pinned((ROOT / "pyproject.toml").read_text())
    assert declared == shipped, f"pyproject.toml pins pyroute2 {declared}, build/requirements.txt {shipped}"
    version = "from importlib.metadata import version; print(version('pyroute2'))"
    imported = subprocess.run([sys.executable, "-c", version], capture_output=True, text=True, check=True).stdout.strip()
    assert imported == shipped, f".venv has pyroute2 {imported}; make setup installs {shipped}"
