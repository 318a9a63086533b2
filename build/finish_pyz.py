"""Turn shiv's zipapp into dist/route-override: our launcher in place of
shiv's __main__ (with the cache cleanup beside it), and a /bin/sh prefix that
runs the bundled runtime, when the installer named one, or python3, isolated.

Usage: finish_pyz.py SHIV_OUTPUT TARGET

Entries are copied in order with their timestamps and modes, so the result
is as reproducible as shiv's own output. TARGET is written to a temporary
name and renamed, so a half-written file is never executable.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Not "#!/usr/bin/env python3": a shebang can pass python3 no flags
# portably, and without -I -S the environment (PYTHONPATH, PYTHONHOME, user
# site, .pth files) could run code as root before route-override starts.
# sh looks python3 up on PATH exactly as env would. The zip after these
# lines is found by Python from the end of the file. Importing the launcher
# with -c, rather than running the archive, skips runpy (~7 ms a run);
# `python3 route-override` still works through __main__.py.
#
# The installer (installer/install.sh) rewrites two lines of this, byte for
# byte the rest: line 1 to `#!<runtime>/ld.so <runtime>/python3` (the bundled
# runtime, absolute host paths: the kernel runs it with no /bin/sh on the
# node; its python3._pth makes it isolated) and line 3 (RUNTIME_LINE) to
# `runtime=<runtime>`, which this sh code then prefers to any python3 on
# PATH: sh decides, no second interpreter is started to find the first.
LAUNCHER = "route_override_launcher"
CLEANUP = "route_override_cleanup"  # build/cache_cleanup.py, imported by the launcher after an extraction
RUNTIME_LINE = b"runtime=\n"
IMPORT_LAUNCHER = b'-c \'import sys; sys.path.insert(0, sys.argv[1]); import route_override_launcher\' "$0" "$@"'
PREFIX = (
    b"""#!/bin/sh
# route-override, a CNI plugin (Python zipapp): on the bundled runtime named below, else python3 from PATH, isolated.
"""
    + RUNTIME_LINE
    + b"""[ -n "$runtime" ] && [ -x "$runtime/python3" ] && exec "$runtime/ld.so" "$runtime/python3" """
    + IMPORT_LAUNCHER
    + b"""
command -v python3 >/dev/null 2>&1 || { [ -n "$CNI_COMMAND" ] && echo '{"cniVersion": "1.1.0", "code": 50, "msg": "route-override needs python3 (3.9 or newer) on the node, and none is on PATH", "details": ""}'; echo 'route-override: no python3 on PATH' >&2; exit 1; }
exec python3 -I -S """
    + IMPORT_LAUNCHER
    + b"""
"""
)


def _write(archive: zipfile.ZipFile, like: zipfile.ZipInfo, name: str, data: bytes) -> None:
    """An entry with `like`'s timestamp, mode and compression."""
    entry = zipfile.ZipInfo(name, date_time=like.date_time)
    entry.compress_type, entry.external_attr = like.compress_type, like.external_attr
    archive.writestr(entry, data)


def compiled(source: bytes, name: str) -> bytes:
    """`source` as an unchecked hash-based .pyc (PEP 552) for the building
    Python: zipimport cannot cache bytecode in the archive, so without it
    every run compiles the launcher (measured: VERSION 18% faster with it).
    Another Python finds the magic number not its own and compiles the .py
    beside it, as before; a hash, not a time, keeps the build reproducible."""
    code = compile(source, name, "exec", dont_inherit=True)
    flags = 0b01  # hash-based, source not checked: the .py beside it is the same text
    return importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + importlib.util.source_hash(source) + marshal.dumps(code)


# Run by another Python (the bundled runtime's, RO_BUNDLED_PYTHON): the same
# kind of .pyc as `compiled`, for that Python, on stdout.
COMPILE_ELSEWHERE = (
    "import importlib.util, marshal, sys; source = sys.stdin.buffer.read(); "
    "code = compile(source, sys.argv[1], 'exec', dont_inherit=True); "
    "sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER + (1).to_bytes(4, 'little') "
    "+ importlib.util.source_hash(source) + marshal.dumps(code))"
)


def compiled_for_bundled(source: bytes) -> tuple[str, bytes] | None:
    """The launcher as a sourceless .pyc for this machine's bundled runtime,
    named for its Python version (route_override_launcher_313), when
    RO_BUNDLED_PYTHON runs that runtime's python3 and it is not the building
    Python's version: the runtime's start script imports it (see
    installer/install.sh), so no run there compiles the launcher (~1.5 ms,
    5% of a warm ADD)."""
    command = os.environ.get("RO_BUNDLED_PYTHON", "").split()
    if not command:
        return None
    version = subprocess.run(
        [*command, "-c", "import sys; print('%d%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    )
    if version.stdout.strip() == "%d%d" % sys.version_info[:2]:
        return None  # route_override_launcher.pyc is already for that version
    done = subprocess.run([*command, "-c", COMPILE_ELSEWHERE, f"{LAUNCHER}.py"], input=source, capture_output=True, check=True)
    return f"{LAUNCHER}_{version.stdout.strip()}.pyc", done.stdout


def finish(shiv_output: Path, target: Path) -> None:
    with zipfile.ZipFile(shiv_output) as source:
        build_id = json.loads(source.read("environment.json"))["build_id"]
        launcher = (HERE / "launcher.py").read_text().replace("@BUILD_ID@", build_id)
        temporary = target.with_name(f".{target.name}.tmp")
        with temporary.open("wb") as out:
            out.write(PREFIX)
            with zipfile.ZipFile(out, "w") as archive:
                for info in source.infolist():
                    if info.filename == "__main__.py":
                        _write(archive, info, f"{LAUNCHER}.py", launcher.encode())
                        _write(archive, info, f"{LAUNCHER}.pyc", compiled(launcher.encode(), f"{LAUNCHER}.py"))
                        bundled = compiled_for_bundled(launcher.encode())
                        if bundled:
                            _write(archive, info, *bundled)
                        _write(archive, info, f"{CLEANUP}.py", (HERE / "cache_cleanup.py").read_bytes())
                        _write(archive, info, "__main__.py", f"import {LAUNCHER}\n".encode())
                    else:
                        _write(archive, info, info.filename, source.read(info))
        temporary.chmod(0o755)
        os.replace(temporary, target)


if __name__ == "__main__":
    finish(Path(sys.argv[1]), Path(sys.argv[2]))
