"""The programs `make k8s-build` builds from the Go module proxy (build/k8s/),
and the Debian ones the tests run beside them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".cache" / "k8s" / "bin"
REFERENCE_PLUGINS = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def built(name: str) -> Path:
    """A program of build/k8s, failing the test (not skipping it) when it is missing."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: make k8s-build builds it (build/k8s/README.md)")
    return path


def debian(name: str) -> str:
    found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        pytest.fail(f"{name} is missing: make setup installs it (build/setup.sh)")
    return found
