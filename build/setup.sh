#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine to build and test route-override:
# Debian packages (when run as root and any is missing), then .venv with
# the project and its test and build tools. Idempotent; `make setup` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: test namespaces; radvd: a real IPv6 router for them;
# busybox-static, buildah, podman, runc, catatonit: the installer image;
# containernetworking-plugins to golang-github-appc-cni-dev: the end-to-end
# runtimes; conmon, gcc, libc6-dev: CRI-O and its pinns (make k8s);
# qemu-user-static, mmdebstrap: other architectures and Pythons
# (make platforms, make image); patchelf: the bundled runtime (build/runtime.py).
packages=(
    python3 python3-venv iproute2 git make radvd
    busybox-static buildah podman runc catatonit
    containernetworking-plugins containerd golang-go golang-github-appc-cni-dev
    conmon gcc libc6-dev
    qemu-user-static mmdebstrap patchelf
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]}; run as root (or install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# busybox-static of every architecture in build/platforms, for the installer
# image index (build/image.sh): dpkg installs only this machine's
# architecture, so each is unpacked from Debian's package into .cache/.
while read -r _ arch _; do
    busybox=.cache/busybox/$arch
    [ -x "$busybox" ] && continue
    mkdir -p .cache/busybox
    mmdebstrap --quiet --variant=extract --architectures="$arch" --include=busybox-static bookworm - |
        tar -xO ./bin/busybox >"$busybox.tmp"
    chmod 0755 "$busybox.tmp"
    mv "$busybox.tmp" "$busybox"
done < <(grep -v '^#' build/platforms)

# The Debian root each platform's bundled runtime is assembled from
# (build/runtime.py, offline): its python3 and libraries, unpacked from the
# release build/platforms names, with a record of every package's version
# and files in .packages/ (the runtime's manifest is made from it). Delete
# .cache/debian to take a security update.
while read -r _ arch _ release; do
    root=.cache/debian/$release-$arch
    [ -d "$root/.packages" ] && continue
    rm -rf "$root" "$root.tmp"
    mkdir -p .cache/debian
    mmdebstrap --quiet --variant=extract --architectures="$arch" --include=python3-minimal,libpython3-stdlib \
        --extract-hook='mkdir "$1/.packages" && for deb in "$1"/var/cache/apt/archives/*.deb; do
            record="$1/.packages/$(dpkg-deb --show --showformat="\${Package}" "$deb")"
            dpkg-deb --show --showformat="\${Package} \${Version} \${Architecture}\n" "$deb" >"$record"
            dpkg-deb --fsys-tarfile "$deb" | tar -t >>"$record"
        done' "$release" "$root.tmp"
    mv "$root.tmp" "$root"
done < <(grep -v '^#' build/platforms)

# This machine's bundled runtime: build/shiv.sh compiles the launcher for its
# Python too (the other architectures' are built by build/image.sh).
native=$(awk -v machine="$(uname -m)" '!/^#/ && $3 == machine { sub("linux/", "", $1); print $1 }' build/platforms)
/usr/bin/python3 build/runtime.py "$native"

# Go: the static reference plugins the node-root tests install (go.mod and
# go.sum pin them), fetched once into Go's module cache; their builds stay
# in Go's build cache.
# Go 1.26.8 or newer (the plugins' go.mod): /usr/local/go first, as the tests use it.
(cd tests/platforms/staticcni && PATH=/usr/local/go/bin:$PATH go mod download)

python=/usr/bin/python3 # Debian's: what the plugin runs on, on a node like this one
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install -qq --disable-pip-version-check -e '.[test,build]'
touch .venv/.ready
