"""The installer image index as `make image` builds it (build/image.sh), into
a temporary storage: built once a session (conftest's `index`), for the
image tests and the node roots."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

from pythons import Platform
from runner import ROOT

NAME = "localhost/route-override-installer:test"


@dataclass
class Index:
    storage: list[str]
    manifest: dict  # the manifest list as buildah keeps it

    def instance(self, platform: Platform) -> str:
        (digest,) = [m["digest"] for m in self.manifest["manifests"] if f"linux/{m['platform']['architecture']}" == platform.oci]
        return f"{NAME.split(':')[0]}@{digest}"


def build(storage: list[str]) -> dict:
    done = subprocess.run(
        ["build/image.sh", NAME], cwd=ROOT, env={**os.environ, "STORAGE": " ".join(storage)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    inspect = subprocess.run(["buildah", *storage, "manifest", "inspect", NAME], capture_output=True, text=True, check=True)
    return json.loads(inspect.stdout)
