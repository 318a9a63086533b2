"""Running the plugin as a runtime does, and checking what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

ROOT = Path(__file__).resolve().parent.parent
# RO_PLUGIN names the built zipapp (dist/route-override); without it the
# tests run the source tree, as `python -m ro`.
PLUGIN = os.environ.get("RO_PLUGIN")
CLEAN_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


def plugin_command(*python_flags: str) -> list[str]:
    """How to run the plugin; with `python_flags`, through an explicit interpreter."""
    if PLUGIN:
        built = str(Path(PLUGIN).resolve())
        return ["/usr/bin/python3", *python_flags, built] if python_flags else [built]
    return [sys.executable, *python_flags, "-m", "ro"]


@dataclass
class Outcome:
    """One run of the plugin; constructing it asserts the protocol's invariants."""

    exit_code: int
    stdout: str
    stderr: str

    def __post_init__(self) -> None:
        text = self.stdout.strip()
        self.document = json.loads(text) if text else None  # exactly one JSON document, or nothing
        is_error = isinstance(self.document, dict) and "code" in self.document
        assert (self.exit_code == 0) == (not is_error), f"exit {self.exit_code} with stdout {self.stdout!r}"
        if is_error:
            assert isinstance(self.document["code"], int) and isinstance(self.document["msg"], str)
            assert set(self.document) == {"cniVersion", "code", "msg", "details"}, self.document
        if "Traceback" in self.stderr:
            assert is_error and self.document["code"] == 999, self.stderr

    @property
    def code(self) -> Optional[int]:
        return self.document["code"] if self.exit_code else None

    @property
    def msg(self) -> str:
        return self.document["msg"] if self.exit_code else ""

    def ok(self) -> dict:
        assert self.exit_code == 0, f"{self.document}\n{self.stderr}"
        return self.document


def run_plugin(
    command: str,
    config: Union[dict, bytes, None] = None,
    *,
    netns: Optional[str] = "",
    ifname: Optional[str] = "net1",
    container_id: Optional[str] = "ctr-1",
    env: Optional[dict] = None,
    timeout: float = 60,
    plugin: Optional[list[str]] = None,
) -> Outcome:
    """Run the plugin as a runtime does: CNI_* variables, config on stdin.
    `plugin`: how to start it, when not `plugin_command()` (another python3's world)."""
    environ = {"PATH": CLEAN_PATH, "CNI_COMMAND": command, "CNI_PATH": "/usr/lib/cni"}
    for key, value in (("CNI_NETNS", netns), ("CNI_IFNAME", ifname), ("CNI_CONTAINERID", container_id)):
        if value is not None:
            environ[key] = value
    environ.update(env or {})
    stdin = config if isinstance(config, bytes) else json.dumps(config or {}).encode()
    done = subprocess.run(plugin or plugin_command(), input=stdin, env=environ, capture_output=True, timeout=timeout)
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


def plugin_config(version: str = "1.0.0", prev_result: Optional[dict] = None, **settings: object) -> dict:
    config: dict = {"cniVersion": version, "name": "test-net", "type": "route-override", **settings}
    if prev_result is not None:
        config["prevResult"] = prev_result
    return config


def chained(config: dict, result: dict) -> dict:
    """The config as libcni hands it to CHECK and DEL: prevResult is ADD's output."""
    return {**config, "prevResult": result}


# A small Python that runs a command and reports its peak RSS. Measured from
# the test process itself, a child's ru_maxrss starts at the RSS the parent
# had when it forked (the kernel records the pre-exec memory as a high-water
# mark), so a big pytest process would be blamed on the plugin.
PEAK_RSS = (
    "import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(child.pid, 0);"
    " sys.stderr.write(f'peak_rss_kib={usage.ru_maxrss} exit={os.waitstatus_to_exitcode(status)}\\n')"
)


def with_peak_rss(command: list[str]) -> list[str]:
    """`command`, run so that its peak RSS is reported on stderr as peak_rss_kib=N."""
    return ["/usr/bin/python3", "-I", "-S", "-c", PEAK_RSS, *command]
