#!/bin/sh
# route-override installer: the entrypoint of Dockerfile.installer.
#
# Copies the plugin into the host's CNI bin dir atomically: to a temporary
# file in that same directory, 0755, flushed to disk, then renamed over
# route-override. rename(2) within one directory is atomic, so a runtime
# starting a pod meanwhile runs the complete old or the complete new plugin,
# never half of one. POSIX sh (busybox in the image, dash in the tests).
# The copy uses only applets busybox sh runs without exec (cp, sha256sum,
# not cat, cmp), so tests/platforms runs it from each architecture's image
# under user-mode emulation, where exec of a foreign binary needs binfmt.
#
# Options (each also as a variable):
#   --mode init|daemon            RO_MODE          init: exit after installing (init container);
#                                                  daemon: then stay alive (main container). Default: init
#   --dest-dir DIR                RO_DEST_DIR      the host's CNI bin dir as mounted. Default: /host/opt/cni/bin
#   --host-usr DIR                RO_HOST_USR      the host's /usr, mounted read-only, to look for python3.
#                                                  Default: /host/usr
#   --python-check require|warn   RO_PYTHON_CHECK  without a usable python3 on the host, refuse to install
#                                                  (require, the default) or install anyway (warn)
#   --source FILE                 RO_SOURCE        the plugin to install. Default: /route-override
set -eu

MODE=${RO_MODE:-init}
DEST_DIR=${RO_DEST_DIR:-/host/opt/cni/bin}
HOST_USR=${RO_HOST_USR:-/host/usr}
PYTHON_CHECK=${RO_PYTHON_CHECK:-require}
SOURCE=${RO_SOURCE:-/route-override}
NAME=route-override
PYTHON_FLOOR_MINOR=9 # the plugin needs Python 3.9+ (pyproject.toml)

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) route-override-installer: $*"; }
die() { log "ERROR: $*"; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --dest-dir) DEST_DIR=${2:?--dest-dir needs a value}; shift 2 ;;
    --host-usr) HOST_USR=${2:?--host-usr needs a value}; shift 2 ;;
    --python-check) PYTHON_CHECK=${2:?--python-check needs a value}; shift 2 ;;
    --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
    *) die "unknown option $1 (see the header of $0)" ;;
    esac
done
case $MODE in init | daemon) ;; *) die "--mode must be init or daemon, not $MODE" ;; esac
case $PYTHON_CHECK in require | warn) ;; *) die "--python-check must be require or warn, not $PYTHON_CHECK" ;; esac

# The minor version a host python3 path points at (3.N -> N), following
# symlinks inside the mounted /usr; empty when it cannot be told.
python_minor() {
    path=$1
    hops=0
    while [ -L "$path" ] && [ $hops -lt 10 ]; do
        target=$(readlink "$path")
        case $target in
        /usr/*) path=$HOST_USR${target#/usr} ;;
        /*) break ;; # outside the mount (e.g. /etc/alternatives): tell by the other names
        *) path=${path%/*}/$target ;;
        esac
        hops=$((hops + 1))
    done
    name=${path##*/}
    minor=${name#python3.}
    case $name:$minor in python3.*:[0-9] | python3.*:[0-9][0-9]) echo "$minor" ;; esac
}

# Whether the host can run the plugin: a python3 on PATH (the plugin's
# first line runs `python3`) and a Python 3.9+ under that or another name
# (on an older python3 the plugin re-runs itself with python3.9+).
check_python() {
    python3=""
    best=""
    for dir in local/bin bin; do
        for candidate in "$HOST_USR/$dir"/python3 "$HOST_USR/$dir"/python3.[0-9]*; do
            [ -e "$candidate" ] || [ -L "$candidate" ] || continue
            minor=$(python_minor "$candidate")
            [ "${candidate##*/}" = python3 ] && [ -z "$python3" ] && python3="/usr/$dir/python3${minor:+ (3.$minor)}"
            if [ -n "$minor" ] && { [ -z "$best" ] || [ "$minor" -gt "$best" ]; }; then best=$minor; fi
        done
    done
    if [ -n "$python3" ] && [ -n "$best" ] && [ "$best" -ge $PYTHON_FLOOR_MINOR ]; then
        log "host python: $python3, newest Python 3.$best: ok (needs 3.$PYTHON_FLOOR_MINOR+)"
        return 0
    fi
    newest=${best:+3.$best}
    problem="host python: ${python3:-no python3 in /usr/bin or /usr/local/bin}; newest Python ${newest:-unknown}; route-override needs python3 and Python 3.$PYTHON_FLOOR_MINOR+ (looked in $HOST_USR)"
    [ "$PYTHON_CHECK" = require ] && die "$problem; not installing (--python-check warn installs anyway)"
    log "WARNING: $problem; installing anyway (--python-check warn)"
}

sha256() { set -- "$(sha256sum <"$1")"; echo "${1%% *}"; }
short() { echo "$1" | cut -c1-16; }

install_plugin() {
    dest=$DEST_DIR/$NAME
    [ -f "$SOURCE" ] || die "no plugin at $SOURCE"
    [ -d "$DEST_DIR" ] || die "$DEST_DIR is not a directory (is the host's CNI bin dir mounted there?)"
    [ -f "$SOURCE.version" ] && log "plugin: $(head -n 1 "$SOURCE.version")"
    for stale in "$DEST_DIR"/.$NAME.tmp.*; do
        [ -e "$stale" ] || [ -L "$stale" ] || continue
        rm -f "$stale" && log "removed $stale, left by an interrupted run"
    done
    source_sha=$(sha256 "$SOURCE")
    if [ -L "$dest" ]; then
        before="a symlink to $(readlink "$dest"), replaced without following it"
    elif [ -e "$dest" ]; then
        dest_sha=$(sha256 "$dest")
        if [ -f "$dest" ] && [ "$dest_sha" = "$source_sha" ]; then
            log "skipped: $dest is already identical to $SOURCE (sha256 $(short "$source_sha"))"
            return 0
        fi
        before="sha256 $(short "$dest_sha")"
    else
        before="none"
    fi
    # mktemp creates the file exclusively (no planted file or symlink is reused);
    # cp writes into that file, it does not replace it.
    tmp=$(mktemp "$DEST_DIR/.$NAME.tmp.XXXXXX")
    cp "$SOURCE" "$tmp"
    chmod 0755 "$tmp"
    sync "$tmp"
    mv -f "$tmp" "$dest"
    sync "$DEST_DIR"
    log "installed $SOURCE -> $dest (sha256 $(short "$source_sha"); before: $before)"
}

log "mode $MODE, source $SOURCE, destination $DEST_DIR"
check_python
install_plugin
if [ "$MODE" = daemon ]; then
    # The shell waits on a background sleep (a foreground one would hold off
    # TERM for up to an hour), so stopping must kill that child too, or it
    # outlives us. $! names it from the moment it exists (a variable set
    # after `sleep &` would leave a window); before the first one it is
    # unset, hence set +u.
    trap 'log "stopping"; set +u; kill $! 2>/dev/null || :; exit 0' TERM INT
    log "installed; staying alive (daemon mode)"
    while :; do
        sleep 3600 &
        wait $! || true
    done
fi
