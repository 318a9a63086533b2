"""The installer image index, as `make image` builds it (build/image.sh), into
a temporary storage, offline: it lists every platform of build/platforms,
pushes whole (`buildah manifest push --all`), is reproducible, at most 8 MB
compressed per platform, and each platform's image, run with least
privilege, installs its runtime and the plugin atomically.

The other architectures' images run without binfmt: their own busybox runs
under qemu-user, which the test makes the container's first process (the
image's entrypoint after it). Only exec of a foreign binary would need
binfmt, and the entrypoint's copy uses only applets busybox runs in-process.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from installer_index import NAME, Index, build
from pythons import Platform, host_platform, platforms
from runner import ROOT


def push(index: Index, oci: Path) -> tuple[str, int]:
    """Push the whole index to an OCI layout; its digest, and the bytes of every blob."""
    subprocess.run(
        ["buildah", *index.storage, "manifest", "push", "--all", "--quiet", NAME, f"oci:{oci}"], check=True, capture_output=True
    )
    (pushed,) = json.loads((oci / "index.json").read_text())["manifests"]
    return pushed["digest"], sum(blob.stat().st_size for blob in (oci / "blobs" / "sha256").iterdir())


def test_the_index_lists_every_platform_pushes_whole_and_is_reproducible(index: Index, work: Path, covered: list[str]) -> None:
    listed = {f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index.manifest["manifests"]}
    assert listed == {p.oci for p in platforms()} == {"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"}
    digest, size = push(index, work / "image" / "pushed")
    pushed = json.loads((work / "image" / "pushed" / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    assert {f"linux/{m['platform']['architecture']}" for m in pushed["manifests"]} == listed
    rebuilt = Index(index.storage, build(index.storage))
    assert push(rebuilt, work / "image" / "pushed-again")[0] == digest
    covered.append(f"installer image index {digest}: {len(listed)} platforms, {size} bytes of blobs (OCI layout)")


@pytest.mark.parametrize("platform", platforms(), ids=lambda p: p.arch)
def test_each_platforms_entrypoint_installs_the_plugin_atomically(
    index: Index, platform: Platform, plugin: Path, tmp_path: Path
) -> None:
    image = index.instance(platform)
    config = json.loads(
        subprocess.run(["podman", *index.storage, "image", "inspect", image], capture_output=True, text=True, check=True).stdout
    )[0]
    assert config["Architecture"] == platform.arch and config["Os"] == "linux"
    entrypoint = config["Config"]["Entrypoint"]
    emulation = []
    if platform != host_platform():  # qemu first, then the image's own entrypoint, all from the image
        qemu = f"/usr/bin/qemu-{platform.qemu}-static"
        emulation, entrypoint = ["-v", f"{qemu}:/qemu:ro"], ["/qemu", *entrypoint]
    host_bin = tmp_path / "host-cni-bin"
    host_bin.mkdir()
    old = host_bin / "route-override"
    old.write_bytes(b"the plugin before the upgrade")
    run = [
        "podman", *index.storage, "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", *emulation,
        "-v", f"{host_bin}:/host/opt/cni/bin", "-e", f"RO_HOST_DEST_DIR={host_bin}",
        "--entrypoint", json.dumps(entrypoint), image, "--mode", "init",
    ]  # fmt: skip
    with old.open("rb") as running:  # as a runtime that started the old plugin holds it
        done = subprocess.run(run, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert running.read() == b"the plugin before the upgrade"  # replaced by a rename, not rewritten in place
    assert "installed runtime" in done.stdout and "installed /route-override" in done.stdout
    installed = host_bin / "route-override"
    (runtime,) = [p for p in host_bin.glob(".route-override-*") if p.is_dir()]
    assert f"from Debian {platform.release} {platform.debian}" in done.stdout
    assert installed.read_bytes().split(b"\n", 3)[3] == plugin.read_bytes().split(b"\n", 3)[3]
    assert installed.read_bytes().startswith(f"#!{runtime}.start\n".encode())
    assert Path(f"{runtime}.start").read_text().startswith(f"#!{runtime}/ld.so {runtime}/python3\n")
    assert installed.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in host_bin.iterdir()) == [
        runtime.name,
        f"{runtime.name}.start",
        "route-override",
    ]  # no temporary left
    assert "skipped" in subprocess.run(run, capture_output=True, text=True).stdout
    if platform == host_platform():  # the kernel runs its first line: no python3 on PATH, none needed
        version = [str(installed), "--version"]
    else:  # what binfmt would do with that line
        version = [
            f"/usr/bin/qemu-{platform.qemu}-static",
            f"{runtime}/ld.so",
            f"{runtime}/python3",
            f"{runtime}.start",
            str(installed),
            "--version",
        ]
    done = subprocess.run(
        version, env={"PATH": "/nonexistent", "SHIV_ROOT": str(tmp_path / "cache")}, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("route-override 0.1.0"), done.stdout + done.stderr
    assert f"at {runtime}/python3)" in done.stdout


def test_each_platforms_image_is_at_most_8_mb_compressed(index: Index, work: Path, covered: list[str]) -> None:
    """The layers a node pulls (gzip, as a registry stores them), per platform."""
    oci = work / "image" / "sizes"
    push(index, oci)
    blobs = oci / "blobs" / "sha256"
    (pushed,) = json.loads((oci / "index.json").read_text())["manifests"]
    listed = json.loads((blobs / pushed["digest"].split(":")[1]).read_text())["manifests"]
    sizes = {}
    for entry in listed:
        manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_text())
        assert all(layer["mediaType"].endswith("gzip") for layer in manifest["layers"])
        sizes[entry["platform"]["architecture"]] = sum(layer["size"] for layer in manifest["layers"])
    for platform in platforms():
        runtime = ROOT / ".cache" / "runtime" / platform.arch
        on_disk = sum(p.stat().st_size for p in runtime.rglob("*") if p.is_file())
        covered.append(
            f"installer image {platform.arch:<8} {sizes[platform.arch] / 1e6:5.2f} MB compressed; "
            f"runtime ({platform.release}) {on_disk / 1e6:5.2f} MB on disk"
        )
    assert max(sizes.values()) <= 8_000_000, sizes
