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
# (make platforms, make image).
packages=(
    python3 python3-venv iproute2 git make radvd
    busybox-static buildah podman runc catatonit
    containernetworking-plugins containerd golang-go golang-github-appc-cni-dev
    conmon gcc libc6-dev
    qemu-user-static mmdebstrap
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

python=/usr/bin/python3 # Debian's: what the plugin runs on, on a node like this one
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install -qq --disable-pip-version-check -e '.[test,build]'
touch .venv/.ready
