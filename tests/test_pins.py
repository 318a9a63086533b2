"""The artifact is ro and the standard library, nothing else; and the tests'
second opinion on the netlink codec is the pyroute2 pyproject.toml pins."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

from runner import PLUGIN, ROOT


def test_the_artifact_carries_no_third_party_package() -> None:
    """Every package in the zipapp is a file every pod start may read (the
    zip's directory, the extraction cache): only ro and shiv's bootstrap."""
    with zipfile.ZipFile(PLUGIN or ROOT / "dist" / "route-override") as archive:
        packages = {name.split("/")[1] for name in archive.namelist() if name.startswith("site-packages/")}
        # route_override_launcher_313.pyc: the launcher precompiled for the bundled runtime's Python (build/finish_pyz.py)
        tops = {re.sub(r"^route_override_launcher_\d+\.pyc$", "route_override_launcher_<N>.pyc", name.split("/")[0]) for name in archive.namelist()}
    assert packages == {"ro", "route_override-0.1.0.dist-info"}, packages
    assert tops <= {"site-packages", "_bootstrap", "environment.json", "__main__.py", "route_override_launcher.py", "route_override_launcher.pyc", "route_override_launcher_<N>.pyc", "route_override_cleanup.py"}, tops


def test_the_venv_has_the_pinned_pyroute2() -> None:
    (declared,) = re.findall(r'"pyroute2==([0-9][0-9A-Za-z.]*)"', (ROOT / "pyproject.toml").read_text())
    version = "from importlib.metadata import version; print(version('pyroute2'))"
    imported = subprocess.run([sys.executable, "-c", version], capture_output=True, text=True, check=True).stdout.strip()
    assert imported == declared, f".venv has pyroute2 {imported}; make setup installs {declared}"
