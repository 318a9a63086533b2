"""Every example an operator copies passes `route-override validate`: each
NetworkAttachmentDefinition of examples/ (its spec.config) and the README's
conflist. Needs no daemon, so it tells a broken example from a broken
cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nads import EXAMPLES, Example, examples
from runner import plugin_command


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*plugin_command(), "validate", str(path)], capture_output=True, text=True)


def test_there_is_an_example_for_each_use_the_readme_names() -> None:
    assert {e.file.name for e in examples()} == {"nad-vpn.yaml", "nad-ecmp.yaml", "nad-cni-args.yaml", "nad-ipv6-ra.yaml"}


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.file.name)
def test_each_nad_validates(example: Example, tmp_path: Path) -> None:
    config = tmp_path / f"{example.name}.conflist"
    config.write_text(example.nad["spec"]["config"])
    done = validate(config)
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    assert example.conflist["name"] == example.name  # Multus names the network after the NAD


def test_the_readme_conflist_validates() -> None:
    done = validate(EXAMPLES / "vpn-net.conflist")
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_can_fail_on_an_example(tmp_path: Path) -> None:
    """The control: the same check refuses a NAD whose route-override config is wrong."""
    (example,) = [e for e in examples() if e.name == "ecmp-net"]
    broken = example.nad["spec"]["config"].replace(
        '"gws": ["192.168.60.1", "192.168.60.2"]', '"gws": ["192.168.60.1", "2001:db8::1"]'
    )
    assert broken != example.nad["spec"]["config"]
    config = tmp_path / "broken.conflist"
    config.write_text(broken)
    assert validate(config).returncode == 1
