"""The README's demo runs as written and leaves nothing behind."""

from __future__ import annotations

import re
import subprocess

import pytest

from runner import PLUGIN, ROOT


def test_demo_shows_routes_before_and_after_and_cleans_up() -> None:
    if not PLUGIN:
        pytest.fail("the demo runs the built plugin: make test builds it")
    done = subprocess.run(["demo/demo.sh"], cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "RO_PLUGIN": PLUGIN})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10.20.0.0/16 via 192.168.50.254 dev net1 proto 114" in done.stdout
    assert "CHECK passed" in done.stdout and "CHECK failed, as it should" in done.stdout
    # Only its own namespaces: other test runs may add and remove theirs meanwhile.
    (made,) = re.findall(r"net1 in namespace (ro-demo-\d+)", done.stdout)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    assert made not in listed and f"{made}-peer" not in listed, listed
