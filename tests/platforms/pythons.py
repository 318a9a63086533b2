"""The python3s the built file is proven on, and how to run the file with each.

Four kinds, one interface (`Python`):
- bundled: each platform's bundled runtime (build/runtime.py), installed with
  the plugin by installer/install.sh into a bin dir with no python3 on PATH;
  natively the kernel runs the plugin's first line, as on a node; other
  architectures run what that line names (`<runtime>.start`, whose own
  first line is `ld.so python3`) under qemu-user, as the kernel would with
  binfmt.
- emulated: another architecture's Debian bookworm python3 under qemu-user,
  with no binfmt registration: `python3` on PATH is a script that runs
  `qemu-<arch>-static -L ROOT ROOT/usr/bin/python3`. The file's /bin/sh
  first lines run on the host and exec that python3: only the plugin is
  emulated (qemu 7.2 cannot translate every netlink request `ip` makes,
  so namespaces are set up by the host's `ip`).
- chrooted: another Debian suite's python3 (and dash as /bin/sh), native,
  in a chroot inside a private mount namespace that binds /proc, /dev and
  /run/netns in. Every mount belongs to that one process and vanishes with
  it, even on failure; `ip netns add` on the host never reaches it.
- installed: a CPython already on this machine (pyenv's), first on PATH.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from debian import unpack
from runner import ROOT

HERE = Path(__file__).resolve().parent
TIMER = HERE / "timer.py"
HOST_PYTHON = "/usr/bin/python3"  # Debian's; runs the timer beside emulated and installed pythons
SUITES = ("bullseye", "bookworm", "trixie", "sid")  # 3.9 (the floor), 3.11, 3.13, the newest Debian ships
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
FLOOR = (3, 9)  # pyproject.toml's requires-python
# A private mount namespace ($0 is the root): what the plugin needs of the host, then chroot.
ENTER_CHROOT = (
    'mount --rbind /proc "$0/proc" && mount --rbind /dev "$0/dev" && '
    '{ [ ! -d /run/netns ] || mount --rbind /run/netns "$0/run/netns"; } && exec /usr/sbin/chroot "$0" "$@"'
)


@dataclass(frozen=True)
class Platform:
    """A row of build/platforms."""

    oci: str  # linux/arm64
    debian: str  # arm64
    qemu: str  # aarch64
    release: str  # trixie: the Debian release of its bundled runtime

    @property
    def arch(self) -> str:
        return self.oci.split("/")[1]


def platforms() -> list[Platform]:
    rows = (line.split() for line in (ROOT / "build" / "platforms").read_text().splitlines() if not line.startswith("#"))
    return [Platform(*row) for row in rows if row]


def host_platform() -> Platform:
    (host,) = [p for p in platforms() if p.qemu == platform.machine()]
    return host


@dataclass(frozen=True)
class Spec:
    """What to prove the file on, known at collection time (nothing unpacked yet)."""

    name: str
    kind: str  # bundled, emulated, chrooted, installed
    suite: str = "bookworm"
    platform: Platform = field(default_factory=host_platform)
    path: str = ""  # installed: its python3


def proven() -> list[Spec]:
    """Every platform's bundled runtime, every other architecture, every Debian suite, every CPython 3.9+ installed here."""
    specs = [Spec(f"bundled-{p.arch}", "bundled", platform=p) for p in platforms()]
    specs += [Spec(p.arch, "emulated", platform=p) for p in platforms() if p != host_platform()]
    specs += [Spec(suite, "chrooted", suite=suite) for suite in SUITES]
    specs += [
        Spec(f"installed-{dotted(version)}", "installed", path=str(python)) for version, python in installed() if version >= FLOOR
    ]
    return specs


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def installed() -> list[tuple[tuple[int, ...], Path]]:
    """CPython 3.x interpreters installed by pyenv (its CPython versions are named 3.N.M)."""
    versions = (python.parent.parent.name for python in PYENV.glob("*/bin/python3"))
    cpythons = [version for version in versions if re.fullmatch(r"3\.\d+\.\d+", version)]
    return sorted((tuple(map(int, version.split("."))), PYENV / version / "bin" / "python3") for version in cpythons)


@dataclass
class Python:
    """One python3 the built file runs on. Paths are as seen inside its world;
    `enter` is the command prefix that gets there ([] on the host)."""

    spec: Spec
    file: Path  # the built file this world runs, as the host sees it
    enter: list[str]
    plugin: str
    python3: str
    timer: list[str]  # a native python3 and timer.py, inside
    env: dict[str, str]

    def command(self, *argv: str) -> list[str]:
        return [*self.enter, *argv]

    def describe(self) -> dict[str, str]:
        """What the python3 the plugin finds says it is (asked directly, not through the plugin)."""
        code = "import platform, sys; print(sys.version.split()[0], platform.machine(), sys.byteorder)"
        done = subprocess.run(
            self.command(self.python3, "-I", "-S", "-c", code), env=self.env, capture_output=True, text=True, check=True
        )
        version, machine, byteorder = done.stdout.split()
        return {"version": version, "machine": machine, "byteorder": byteorder}


def bundled(spec: Spec, work: Path, plugin: Path) -> Python:
    """The plugin and `spec`'s runtime as the installer lays them out, in work/bin."""
    subprocess.run([sys.executable, "build/runtime.py", spec.platform.arch], cwd=ROOT, check=True, capture_output=True)
    bin_dir = work / "bin"
    bin_dir.mkdir()
    install = [
        "dash", str(ROOT / "installer" / "install.sh"), "--source", str(plugin),
        "--runtime", str(ROOT / ".cache" / "runtime" / spec.platform.arch),
        "--dest-dir", str(bin_dir), "--host-dest-dir", str(bin_dir),
    ]  # fmt: skip
    subprocess.run(install, check=True, capture_output=True)
    installed = bin_dir / "route-override"
    (runtime,) = [p for p in bin_dir.glob(".route-override-*") if p.is_dir()]
    wrappers = work / "wrappers"  # nothing else on PATH: no python3 of the host's to fall back to
    wrappers.mkdir()
    python3 = wrappers / "python3"
    if spec.platform == host_platform():
        runner, plugin_command = f"{runtime}/ld.so {runtime}/python3", str(installed)
    else:  # what the kernel's binfmt would do with the first line, done by hand
        qemu = f"/usr/bin/qemu-{spec.platform.qemu}-static"
        runner = f"{qemu} {runtime}/ld.so {runtime}/python3"
        emulated = wrappers / "route-override"
        emulated.write_text(f'#!/bin/sh\nexec {runner} {runtime}.start {installed} "$@"\n')
        emulated.chmod(0o755)
        plugin_command = str(emulated)
    python3.write_text(f'#!/bin/sh\nexec {runner} "$@"\n')
    python3.chmod(0o755)
    env = {"PATH": str(wrappers), "SHIV_ROOT": str(work / "cache")}
    return Python(spec, installed, [], plugin_command, str(python3), [HOST_PYTHON, str(TIMER)], env)


def materialize(spec: Spec, work: Path, plugin: Path) -> Python:
    """Unpack (or find) `spec`'s python3 under `work` and say how to run `plugin` with it."""
    work.mkdir(parents=True)
    if spec.kind == "bundled":
        return bundled(spec, work, plugin)
    if spec.kind == "chrooted":
        root = unpack(spec.suite, spec.platform.debian, ["python3", "dash"], work / "root")
        for inside in ("opt", "run/netns", "proc"):
            (root / inside).mkdir(parents=True, exist_ok=True)
        shutil.copy(plugin, root / "opt" / "route-override")  # the same bytes: copy keeps them, and the mode
        shutil.copy(TIMER, root / "opt" / "timer.py")
        enter = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", ENTER_CHROOT, str(root)]
        timer = ["/usr/bin/python3", "/opt/timer.py"]
        return Python(
            spec,
            root / "opt" / "route-override",
            enter,
            "/opt/route-override",
            "/usr/bin/python3",
            timer,
            {"PATH": "/usr/bin:/bin"},
        )
    bin_dir = work / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    if spec.kind == "emulated":
        qemu = Path(f"/usr/bin/qemu-{spec.platform.qemu}-static")
        if not qemu.exists():
            raise RuntimeError(f"{qemu} is missing: make setup installs qemu-user-static")
        root = unpack(spec.suite, spec.platform.debian, ["python3"], work / "root")
        python3.write_text(f'#!/bin/sh\nexec {qemu} -L {root} {root}/usr/bin/python3 "$@"\n')
        python3.chmod(0o755)
    else:
        python3.symlink_to(spec.path)
    # PATH holds nothing but this python3: the plugin cannot fall back to the host's.
    env = {"PATH": str(bin_dir), "SHIV_ROOT": str(work / "cache")}
    return Python(spec, plugin, [], str(plugin), str(python3), [HOST_PYTHON, str(TIMER)], env)
