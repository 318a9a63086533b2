#!/usr/bin/env bash
# Builds the installer image index (manifest list) route-override-installer:<version>:
# Dockerfile.installer for every platform in build/platforms, each on a base
# made here from that architecture's Debian busybox-static (build/setup.sh
# unpacks them into .cache/busybox/), with that architecture's bundled
# runtime (build/runtime.py assembles it from the Debian root setup unpacked
# into .cache/debian/). Offline: no registry, no mirror. No emulation in the
# image build: the Dockerfile has no RUN, and the bases are assembled, not
# run (build/runtime.py runs the other architectures' Pythons under qemu-user
# once, to compile and check their runtimes).
# Reproducible: every timestamp is the commit's, so one commit and one
# dist/route-override give one index digest.
#
#   build/image.sh [NAME]      (default route-override-installer:<version>)
#   PYTHON=...                 runs build/runtime.py (default .venv/bin/python)
#   STORAGE="--root DIR --runroot DIR --storage-driver vfs"
#                              buildah's storage options (default: its own; the tests use a temporary one)
#
# Then push all of it: buildah manifest push --all NAME docker://REGISTRY/route-override-installer:<version>
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' src/ro/__init__.py)
name=${1:-route-override-installer:$version}
read -r -a storage <<<"${STORAGE:-}"
buildah() { command buildah "${storage[@]}" "$@"; }
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
[ -f dist/route-override ] || { echo "image: no dist/route-override (make build)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The applets every base links to busybox, as this machine's busybox-static
# lists them: the same Debian release and configuration on every
# architecture, so the others need not be run (emulated) to ask.
applets=$(busybox --list)

# A rebuild replaces the index and its images (tagged NAME-<arch>), leaving no dangling ones.
exists() { [ -n "$(buildah images --quiet "$1" 2>/dev/null)" ]; }
buildah manifest exists "$name" && buildah manifest rm "$name" >/dev/null
buildah manifest create "$name" >/dev/null
while read -r platform debian_arch _; do
    busybox=.cache/busybox/$debian_arch
    [ -x "$busybox" ] || { echo "image: no $busybox (build/setup.sh unpacks it)" >&2; exit 1; }
    arch=${platform#linux/}
    "${PYTHON:-.venv/bin/python}" build/runtime.py "$arch"
    rootfs=$work/$arch
    mkdir -p "$rootfs/bin"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $applets; do
        [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
    base=localhost/route-override-busybox:$arch
    container=$(buildah from scratch)
    buildah copy "$container" "$rootfs" / >/dev/null
    buildah config --os linux --arch "$arch" "$container"
    buildah commit --quiet --timestamp "$epoch" --rm "$container" "$base" >/dev/null
    exists "$name-$arch" && buildah rmi "$name-$arch" >/dev/null
    buildah bud --quiet --timestamp "$epoch" --platform "$platform" --build-arg "BASE=$base" \
        --tag "$name-$arch" --manifest "$name" -f Dockerfile.installer . >/dev/null
    buildah rmi "$base" >/dev/null
done < <(grep -v '^#' build/platforms)
echo "built $name: $(buildah manifest inspect "$name" | grep -c '"architecture"') platforms"
