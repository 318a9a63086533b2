#!/usr/bin/env bash
# Builds the Kubernetes node's programs from the Go module proxy, each at the
# version pinned (and checked) by its module's go.mod and go.sum here:
#   crictl/  sigs.k8s.io/cri-tools           -> crictl
#   crio/    github.com/cri-o/cri-o          -> crio, and pinns from its sources
#   kube/    k8s.io/kubernetes, etcd server  -> kube (one binary: kube-apiserver,
#            kube-controller-manager, kube-scheduler, kubelet, kubectl, etcd)
# into .cache/k8s/bin/. Go's build cache (GOCACHE) and module cache
# (GOMODCACHE) make a second run a link or less; each program is rebuilt only
# when its module changed (go build decides).
#
#   build/k8s/build.sh [crictl|crio|kube ...]   (default: all)
# Prints each program's build time, for CI's log and the README's table.
set -euo pipefail
cd "$(dirname "$0")"
bin=$(cd ../.. && pwd)/.cache/k8s/bin
mkdir -p "$bin"
# The modules need no newer Go than Debian's 1.26 here; a module that asks for
# one fails rather than download a toolchain behind the build's back.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=1
# Debian's golang-go (1.19, for tests/e2e's cnitool) may come first in PATH;
# these modules need the Go 1.26 the machine has in /usr/local/go.
for go in /usr/local/go/bin/go $(command -v go || true); do
    [ -x "$go" ] && "$go" env GOVERSION | grep -Eq '^go1\.(2[6-9]|[3-9][0-9])' && break
    go=
done
[ -n "$go" ] || { echo "k8s-build: no Go 1.26 or newer (in /usr/local/go or PATH)" >&2; exit 1; }
export PATH="$(dirname "$go"):$PATH"

# CRI-O's build tags for the C libraries Debian 12 lacks (its Makefile probes
# for them the same way): no btrfs headers, no gpgme (OpenPGP in Go instead),
# no libostree. Without libseccomp-dev and libselinux-dev the seccomp and
# selinux tags stay off: the tests run pods unconfined.
CRIO_TAGS="containers_image_ostree_stub exclude_graphdriver_btrfs btrfs_noversion containers_image_openpgp"

timed() { # name, then the command
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "k8s-build: $name $((SECONDS - start)) s"
}

build_crictl() { (cd crictl && go build -trimpath -o "$bin/crictl" sigs.k8s.io/cri-tools/cmd/crictl); }

build_crio() {
    (cd crio && go build -trimpath -tags "$CRIO_TAGS" -o "$bin/crio" github.com/cri-o/cri-o/cmd/crio)
    # pinns (C) makes the pod's namespaces; it comes with CRI-O's module sources
    local source
    source=$(cd crio && go list -m -f '{{.Dir}}' github.com/cri-o/cri-o)/pinns/src
    [ "$bin/pinns" -nt "$source/pinns.c" ] || gcc -std=c99 -Os -Wall -Wextra -static -o "$bin/pinns" "$source"/*.c
}

# What `version` reports (the API's /version, kubectl's skew checks): the
# release, as Kubernetes' own build stamps it; a module build leaves v0.0.0.
KUBE_VERSION=$(cd kube && go list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBE_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitTreeState=clean"
KUBE_LDFLAGS+=" -X k8s.io/component-base/version.gitMajor=$(echo "$KUBE_VERSION" | cut -d. -f1 | tr -d v)"
KUBE_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"

build_kube() {
    (cd kube && go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$bin/kube" .)
    for command in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd; do
        ln -sf kube "$bin/$command"
    done
}

for program in "${@:-crictl crio kube}"; do
    for one in $program; do
        timed "$one" "build_$one"
    done
done
