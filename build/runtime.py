"""Assembles the bundled Python runtime of one platform from Debian's packages.

    build/runtime.py OCI_ARCH        (amd64, arm64, ppc64le, s390x)

Reads the Debian root build/setup.sh unpacked for that architecture and
release (build/platforms) into .cache/debian/, and writes
.cache/runtime/OCI_ARCH/.route-override-<id>/, offline:

  ld.so          glibc's dynamic loader: the plugin's first line runs
                 `<dir>/ld.so <dir>/python3`, so no loader or libc of the node's is used
  python3        Debian's interpreter, its RUNPATH set to $ORIGIN (patchelf)
  python3._pth   makes it isolated whatever its flags or environment
                 (PYTHONPATH, PYTHONHOME, user site and site itself are ignored)
                 and gives sys.path: lib/ only
  lib*.so.*      the libraries python3 and its extension modules need
  lib/           build/runtime-modules as sourceless .pyc (compiled by that
                 Python itself, hash-based): nothing to recompile, so the
                 runtime never writes into its own directory
  packages       the Debian packages (and versions) its files come from
  SHA256SUMS     every other file's checksum; <id> is the start of its own

The directory's name is its content's, so two builds of the same packages
give the same name, and the installer can tell a complete, unchanged one.
Every file is 0644 (0755: ld.so, python3) with a fixed mtime, so the image
layers it goes into are reproducible.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
PREFIX = ".route-override-"  # + id: the installer and the launcher know runtimes by it
ID_LENGTH = 12  # hex digits: enough to tell builds apart; the installer verifies every file anyway
MTIME = 315532800  # 1980-01-01, as shiv's reproducible zip entries
EXECUTABLES = ("ld.so", "python3")
MERGED = ("bin", "sbin", "lib", "lib64")


def platform_row(oci_arch: str) -> dict[str, str]:
    for line in (ROOT / "build" / "platforms").read_text().splitlines():
        fields = line.split()
        if fields and not line.startswith("#") and fields[0] == f"linux/{oci_arch}":
            return dict(zip(("oci", "debian", "qemu", "release"), fields))
    raise SystemExit(f"runtime: {oci_arch} is not in build/platforms")


def debian_root(row: dict[str, str]) -> Path:
    root = CACHE / "debian" / f"{row['release']}-{row['debian']}"
    if not (root / ".packages").is_dir():
        raise SystemExit(f"runtime: no {root} (build/setup.sh unpacks it)")
    return root


def inside(root: Path, path: str) -> Path:
    """`path` of the Debian root, symlinks resolved within the root (they may be absolute)."""
    current = root
    for part in Path(path).relative_to("/").parts:
        if current == root and part in MERGED and not os.path.lexists(root / part):
            part = f"usr/{part}"  # merged /usr without base-files' links (trixie's extract)
        current = current / part
        hops = 0
        while current.is_symlink():
            target = os.readlink(current)
            current = root / target.lstrip("/") if target.startswith("/") else current.parent / target
            current = root / os.path.normpath(current.relative_to(root))
            hops += 1
            if hops > 20:
                raise SystemExit(f"runtime: symlink loop at {path}")
    return current


def library_dirs(root: Path, row: dict[str, str]) -> list[str]:
    triplets = [p.name for p in (root / "usr" / "lib").iterdir() if p.name.endswith("-linux-gnu")]
    return [f"{base}/{triplet}" for triplet in triplets for base in ("/lib", "/usr/lib")]


def needed(binary: Path) -> list[str]:
    done = subprocess.run(["patchelf", "--print-needed", str(binary)], capture_output=True, text=True, check=True)
    return done.stdout.split()


def modules(version: tuple[int, int]) -> list[str]:
    """build/runtime-modules for this Python version."""
    names = []
    for line in (ROOT / "build" / "runtime-modules").read_text().splitlines():
        fields = line.split("#")[0].split()
        if not fields:
            continue
        if len(fields) == 2:
            below = tuple(map(int, fields[1].lstrip("<").split(".")))
            if version >= below:
                continue
        names.append(fields[0])
    return names


def run_python(row: dict[str, str], loader: Path, libraries: list[Path], python: Path, *args: str) -> str:
    """Runs a Python of this platform (natively, or under qemu-user) with its own loader and libraries."""
    command = [str(loader), "--library-path", ":".join(map(str, libraries)), str(python), *args]
    if row["qemu"] != platform.machine():
        command = [f"/usr/bin/qemu-{row['qemu']}-static", *command]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def owners(root: Path) -> dict[Path, str]:
    """Each file of the root, as found in it -> "package version arch" (setup's record, .packages/)."""
    owner = {}
    for record in (root / ".packages").iterdir():
        first, *paths = record.read_text().splitlines()
        for path in paths:
            found = inside(root, os.path.normpath("/" + path.lstrip("./")))
            if found.is_file():
                owner[found] = first
    return owner


def inputs(row: dict[str, str], root: Path) -> str:
    """A digest of everything the runtime is made from: the same one means the same runtime."""
    digest = hashlib.sha256(repr(sorted(row.items())).encode())
    for path in (Path(__file__), ROOT / "build" / "compile_stdlib.py", ROOT / "build" / "runtime-modules"):
        digest.update(path.read_bytes())
    for record in sorted((root / ".packages").iterdir()):
        digest.update(record.read_text().split("\n", 1)[0].encode())
    return digest.hexdigest()


def built(oci_arch: str) -> Path:
    """The runtime of `oci_arch`, assembled unless the one in .cache/runtime was made from the same inputs."""
    row = platform_row(oci_arch)
    root = debian_root(row)
    stamp = CACHE / "runtime" / f"{oci_arch}.inputs"
    made = sorted((CACHE / "runtime" / oci_arch).glob(PREFIX + "*"))
    if len(made) == 1 and stamp.exists() and stamp.read_text() == inputs(row, root):
        return made[0]
    runtime = assemble(row, root, oci_arch)
    stamp.write_text(inputs(row, root))
    return runtime


def assemble(row: dict[str, str], root: Path, oci_arch: str) -> Path:
    (python_path,) = [p for p in (root / "usr" / "bin").glob("python3.*") if re.fullmatch(r"python3\.\d+", p.name)]
    version = (3, int(python_path.name.split(".")[1]))
    stdlib = f"/usr/lib/python3.{version[1]}"
    out = CACHE / "runtime" / oci_arch
    stage = CACHE / "runtime" / f"{oci_arch}.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "lib").mkdir(parents=True)
    taken: dict[str, str] = {}  # file of the runtime -> the Debian path it came from

    def take(debian_path: str, name: str) -> Path:
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(inside(root, debian_path), target)
        taken[name] = debian_path
        return target

    dirs = library_dirs(root, row)

    def library(soname: str) -> str:
        for directory in dirs:
            if inside(root, f"{directory}/{soname}").exists():
                return f"{directory}/{soname}"
        raise SystemExit(f"runtime: {soname} is in none of {dirs}")

    python3 = take(f"/usr/bin/{python_path.name}", "python3")
    interpreter = subprocess.run(["patchelf", "--print-interpreter", str(python3)], capture_output=True, text=True, check=True)
    take(interpreter.stdout.strip(), "ld.so")
    subprocess.run(["patchelf", "--set-rpath", "$ORIGIN", str(python3)], check=True)

    # Extension modules (3.11 has _json, _typing, _ctypes outside the interpreter), then pure ones.
    sources = []
    carried = []  # the listed modules this Python has outside its interpreter
    elves = [python3]
    dynload = inside(root, f"{stdlib}/lib-dynload")
    for name in modules(version):
        relative = name.replace(".", "/")
        extension = sorted(dynload.glob(f"{name}.cpython-*.so"))
        if (
            extension
            or inside(root, f"{stdlib}/{relative}.py").exists()
            or inside(root, f"{stdlib}/{relative}/__init__.py").exists()
        ):
            carried.append(name)
        if extension:
            so = take(f"{stdlib}/lib-dynload/{extension[0].name}", f"lib/{extension[0].name}")
            subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/..", str(so)], check=True)
            elves.append(so)
        elif inside(root, f"{stdlib}/{relative}.py").exists():
            sources.append(f"{relative}.py")
        elif inside(root, f"{stdlib}/{relative}/__init__.py").exists():
            sources.append(f"{relative}/__init__.py")
    # Libraries: the closure of what the ELF files need, by soname (the loader is already there).
    pending = [soname for elf in elves for soname in needed(elf)]
    while pending:
        soname = pending.pop()
        if soname in taken or soname.startswith("ld"):
            continue
        pending.extend(needed(take(library(soname), soname)))

    # Compiled by the very Python that will run them (its magic number, its marshal).
    loader, libraries = inside(root, interpreter.stdout.strip()), [inside(root, d) for d in dirs]
    compiler = ROOT / "build" / "compile_stdlib.py"
    source_python = inside(root, f"/usr/bin/{python_path.name}")
    run_python(
        row,
        loader,
        libraries,
        source_python,
        "-I",
        "-S",
        str(compiler),
        str(inside(root, stdlib)),
        stdlib,
        str(stage / "lib"),
        *sources,
    )
    for relative in sources:
        taken[f"lib/{relative[:-3]}.pyc"] = f"{stdlib}/{relative}"

    (stage / "python3._pth").write_text("lib\n")
    owner = owners(root)
    unowned = [path for path in taken.values() if inside(root, path) not in owner]
    if unowned:
        raise SystemExit(f"runtime: no package ships {unowned}")
    packages = sorted({owner[inside(root, path)] for path in taken.values()})
    (stage / "packages").write_text(f"# Debian {row['release']} {row['debian']}\n" + "".join(p + "\n" for p in packages))
    for path in stage.rglob("*"):
        path.chmod(0o755 if path.is_dir() or path.name in EXECUTABLES else 0o644)
    # Every module carried imports, and nothing is written into the runtime meanwhile.
    before = sorted(p.relative_to(stage) for p in stage.rglob("*"))
    check = "import sys; [__import__(m) for m in sys.argv[1:]]; print(sys.flags.isolated, sys.flags.no_site, sys.path)"
    command = [str(stage / "ld.so"), str(stage / "python3"), "-c", check, *carried]
    if row["qemu"] != platform.machine():
        command.insert(0, f"/usr/bin/qemu-{row['qemu']}-static")
    checked = subprocess.run(command, capture_output=True, text=True, env={"PYTHONPATH": "/nonexistent"})
    if checked.returncode != 0 or checked.stdout.split()[:2] != ["1", "1"]:
        raise SystemExit(f"runtime: the assembled runtime fails its own imports:\n{checked.stdout}{checked.stderr}")
    if sorted(p.relative_to(stage) for p in stage.rglob("*")) != before:
        raise SystemExit("runtime: running the assembled runtime wrote into it")

    files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    sums = "".join(f"{hashlib.sha256((stage / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    (stage / "SHA256SUMS").write_text(sums)
    (stage / "SHA256SUMS").chmod(0o644)
    for path in [*stage.rglob("*"), stage]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    name = PREFIX + hashlib.sha256(sums.encode()).hexdigest()[:ID_LENGTH]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.utime(out, (MTIME, MTIME))
    stage.rename(out / name)
    return out / name


if __name__ == "__main__":
    runtime = built(sys.argv[1])
    size = sum(p.stat().st_size for p in runtime.rglob("*") if p.is_file())
    print(f"runtime {runtime.relative_to(ROOT)} ({sum(1 for _ in runtime.rglob('*'))} files, {size} bytes)")
