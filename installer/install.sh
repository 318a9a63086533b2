#!/bin/sh
# route-override installer: the entrypoint of Dockerfile.installer.
#
# Installs, into the host's CNI bin dir, the image's bundled Python runtime
# and the plugin that runs on it, so that a node needs no python3 and no
# shell (Talos, Bottlerocket, Flatcar, ...):
#
# 1. The runtime (/runtime/.route-override-<id>, build/runtime.py; <id> comes
#    from its content) is copied to a temporary directory beside its final
#    name, checked against its SHA256SUMS, then renamed into place: complete
#    before anything names it. One already there is kept if it checks out
#    (nothing is written); a foreign entry at that name (a symlink, a file, a
#    directory that does not check out) is removed, never followed.
# 2. Beside it, <runtime>.start: a Python script whose first line is
#    `#!<runtime>/ld.so <runtime>/python3` (the host's absolute paths,
#    within the kernel's limit for that line) and which runs the plugin
#    named as its argument, as the plugin's sh lines would (`-c`, not
#    runpy: a warm ADD ~15% faster than running the zipapp directly).
# 3. The plugin is written with its first line `#!<runtime>.start` (the
#    kernel runs a script as another script's interpreter: no shell needed)
#    and its `runtime=` line naming the runtime for its sh code, to a
#    temporary file in the same directory, 0755, flushed, then renamed over
#    route-override: a runtime starting a pod meanwhile runs the complete
#    old or the complete new plugin, never half of one.
# 4. The runtimes no installed plugin names any more are removed by the
#    plugin itself (build/launcher.py, build/cache_cleanup.py): each run
#    holds a shared flock on its runtime, and a run on the new one removes
#    an old one only under an exclusive flock, so never while a run may
#    still use it. (busybox has no flock applet; Python has.)
#
# Everything written is root's and writable by root only; a bin dir that
# others can write (who could then swap the interpreter) is refused.
#
# POSIX sh (busybox in the image, dash in the tests). Every command is a
# builtin or one of the busybox applets busybox sh runs without exec (cp,
# chmod, date, dd, find, head, mkdir, mktemp, mv, rm, sha256sum, sort, stat,
# sync, uname, cut; not cat, cmp, sed, tail, wc), so tests/platforms runs it
# from each architecture's image under user-mode emulation, where exec of a
# foreign binary needs binfmt. (Daemon mode's sleep is the exception: it is
# not run emulated.)
#
# Options (each also as a variable):
#   --mode init|daemon|check      RO_MODE          init: exit after installing (init container);
#                                                  daemon: then stay alive (main container);
#                                                  check: change nothing, exit 0 only if this image's
#                                                  plugin and runtime are installed (readiness probe).
#                                                  Default: init
#   --dest-dir DIR                RO_DEST_DIR      the host's CNI bin dir as mounted here. Default: /host/opt/cni/bin
#   --host-dest-dir DIR           RO_HOST_DEST_DIR the same directory as the host names it, which the
#                                                  plugin's first line needs (OpenShift: /var/lib/cni/bin).
#                                                  Default: /opt/cni/bin
#   --source FILE                 RO_SOURCE        the plugin to install. Default: /route-override
#   --runtime DIR                 RO_RUNTIME       holds the runtime to install. Default: /runtime
# Accepted and ignored, from before the runtime was bundled: --host-usr, --python-check.
set -eu

MODE=${RO_MODE:-init}
DEST_DIR=${RO_DEST_DIR:-/host/opt/cni/bin}
HOST_DEST_DIR=${RO_HOST_DEST_DIR:-/opt/cni/bin}
SOURCE=${RO_SOURCE:-/route-override}
RUNTIME=${RO_RUNTIME:-/runtime}
NAME=route-override
RUNTIME_GLOB=".$NAME-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) route-override-installer: $*"; }
die() { log "ERROR: $*"; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --dest-dir) DEST_DIR=${2:?--dest-dir needs a value}; shift 2 ;;
    --host-dest-dir) HOST_DEST_DIR=${2:?--host-dest-dir needs a value}; shift 2 ;;
    --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
    --runtime) RUNTIME=${2:?--runtime needs a value}; shift 2 ;;
    --host-usr | --python-check)
        log "note: $1 is no longer used (the plugin runs on the bundled runtime, whatever the node has)"
        shift 2 ;;
    *) die "unknown option $1 (see the header of $0)" ;;
    esac
done
case $MODE in init | daemon | check) ;; *) die "--mode must be init, daemon or check, not $MODE" ;; esac
# The path goes into a shebang line, which the kernel splits at blanks, and
# into sh code: plain characters only.
case $HOST_DEST_DIR in
/*) ;; *) die "--host-dest-dir must be absolute, not $HOST_DEST_DIR" ;;
esac
case $HOST_DEST_DIR in *[!A-Za-z0-9._/-]*) die "--host-dest-dir may hold only letters, digits and ._/-, not $HOST_DEST_DIR" ;; esac

sha256() { set -- "$(sha256sum <"$1")"; echo "${1%% *}"; }
short() { echo "$1" | cut -c1-16; }

# The runtime in the image: exactly one .route-override-<id> directory.
image_runtime() {
    set -- "$RUNTIME"/$RUNTIME_GLOB
    [ $# -eq 1 ] && [ -d "$1" ] || die "$RUNTIME must hold exactly one $NAME runtime directory"
    echo "$1"
}

# Whether DIR is exactly the image's runtime: only regular files and
# directories, root's and writable by root only, the very files SHA256SUMS
# lists (the image's list), each with its checksum. Reads, never follows a
# symlink (there must be none).
intact() {
    dir=$1
    [ -d "$dir" ] && [ ! -L "$dir" ] && [ -f "$dir/SHA256SUMS" ] || return 1
    [ -z "$(find "$dir" ! -type f ! -type d)" ] || return 1
    [ -z "$(find "$dir" ! -user 0 -o -perm -020 -o -perm -002)" ] || return 1
    [ "$(sha256 "$dir/SHA256SUMS")" = "$(sha256 "$SOURCE_RUNTIME/SHA256SUMS")" ] || return 1
    listed=$(cut -c67- "$dir/SHA256SUMS" | sort)
    present=$(cd "$dir" && find . -type f ! -name SHA256SUMS | cut -c3- | sort)
    [ "$listed" = "$present" ] || return 1
    (cd "$dir" && sha256sum -c SHA256SUMS >/dev/null 2>&1)
}

# The plugin as installed: SOURCE with line 1 (the shebang) and line 3
# (runtime=) naming the runtime, and from line 4 on the same bytes.
plugin_text() {
    printf '%s\n%s\nruntime=%s\n' "$PLUGIN_SHEBANG" "$LINE2" "$HOST_RUNTIME"
    dd if="$SOURCE" bs="$HEAD_BYTES" skip=1 2>/dev/null
}

# <runtime>.start: runs the plugin ($1 after the kernel's shebang handling) on the runtime, isolated
# (the runtime's python3._pth), as the plugin's own sh lines do.
start_text() {
    printf '%s\n' "$START_SHEBANG" \
        "# route-override: the plugin's first line names this file, which runs the plugin (argv[1]) on the runtime" \
        "import sys; del sys.argv[0]; sys.path.insert(0, sys.argv[0]); precompiled = 'route_override_launcher_%d%d' % sys.version_info[:2]" \
        "try: __import__(precompiled)  # build/shiv.sh compiled it for this runtime's Python" \
        "except ModuleNotFoundError as missing:" \
        "    if missing.name != precompiled: raise" \
        "    import route_override_launcher"
}

# The longest first line (with its newline) the host's kernel runs whole:
# 256 bytes from Linux 5.1, 128 before (RHEL 8's 4.18).
shebang_limit() {
    release=$(uname -r)
    major=${release%%.*}
    rest=${release#*.}
    minor=${rest%%[!0-9]*}
    if [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ "${minor:-0}" -ge 1 ]; }; then echo 256; else echo 128; fi
}

prepare() {
    [ -f "$SOURCE" ] || die "no plugin at $SOURCE"
    { IFS= read -r line1 && IFS= read -r LINE2 && IFS= read -r line3; } <"$SOURCE" || die "$SOURCE is not a plugin"
    [ "$line3" = "runtime=" ] || die "$SOURCE has no runtime= line 3: not a plugin this installer knows"
    HEAD_BYTES=$((${#line1} + ${#LINE2} + ${#line3} + 3)) # the preamble is ASCII
    [ -d "$DEST_DIR" ] || die "$DEST_DIR is not a directory (is the host's CNI bin dir mounted there?)"
    [ ! -L "$DEST_DIR" ] || die "$DEST_DIR is a symlink; mount the directory itself"
    set -- $(stat -c '%u %a' "$DEST_DIR")
    [ "$1" = 0 ] || die "$DEST_DIR belongs to uid $1, not root: its plugin would run as root what they write"
    case $2 in *[2367]? | *[2367]) die "$DEST_DIR is writable by group or others (mode $2): they could swap the interpreter" ;; esac
    SOURCE_RUNTIME=$(image_runtime)
    RUNTIME_NAME=${SOURCE_RUNTIME##*/}
    HOST_RUNTIME=${HOST_DEST_DIR%/}/$RUNTIME_NAME
    START_SHEBANG="#!$HOST_RUNTIME/ld.so $HOST_RUNTIME/python3"
    limit=$(shebang_limit)
    if [ $((${#START_SHEBANG} + 1)) -gt "$limit" ]; then
        PLUGIN_SHEBANG="#!/bin/sh"
        SHEBANG_NOTE="WARNING: $START_SHEBANG is longer than this kernel's $limit bytes: the plugin starts with #!/bin/sh, which needs a shell on the node, and runs the runtime from there"
    else
        PLUGIN_SHEBANG="#!$HOST_RUNTIME.start"
        SHEBANG_NOTE=""
    fi
    START_SHA=$(start_text | sha256sum | cut -d' ' -f1)
    PLUGIN_SHA=$(plugin_text | sha256sum | cut -d' ' -f1)
}

install_runtime() {
    target=$DEST_DIR/$RUNTIME_NAME
    while read -r package version arch; do
        case $package in '#') log "runtime $RUNTIME_NAME: from $version $arch" ;; *) log "runtime $RUNTIME_NAME: package $package $version ($arch)" ;; esac
    done <"$SOURCE_RUNTIME/packages"
    if [ -L "$target" ] || { [ -e "$target" ] && [ ! -d "$target" ]; }; then
        rm -f "$target"
        log "removed a foreign entry at $target (a symlink or file), without following it"
    elif [ -d "$target" ]; then
        if intact "$target"; then
            log "runtime $RUNTIME_NAME: already installed and intact"
            return 0
        fi
        aside=$(mktemp -d "$DEST_DIR/.$NAME.tmp.XXXXXX")
        mv "$target" "$aside/"
        rm -rf "$aside"
        log "removed $target: it does not match this runtime (changed, incomplete or foreign)"
    fi
    tmp=$(mktemp -d "$DEST_DIR/.$NAME.tmp.XXXXXX")
    cp -R "$SOURCE_RUNTIME/." "$tmp/"
    chmod -R go-w "$tmp"
    chmod 0755 "$tmp"
    intact "$tmp" || die "the copy of $SOURCE_RUNTIME in $tmp does not check out"
    sync -f "$tmp"
    mv "$tmp" "$target"
    sync "$DEST_DIR"
    log "installed runtime $target"
}

install_start() {
    start=$DEST_DIR/$RUNTIME_NAME.start
    if [ -f "$start" ] && [ ! -L "$start" ] && [ "$(sha256 "$start")" = "$START_SHA" ]; then
        return 0
    fi
    if [ -d "$start" ] && [ ! -L "$start" ]; then # mv would move into it
        rm -rf "$start" && log "removed a foreign directory at $start"
    fi
    tmp=$(mktemp "$DEST_DIR/.$NAME.tmp.XXXXXX")
    start_text >"$tmp"
    chmod 0755 "$tmp"
    sync "$tmp"
    mv -f "$tmp" "$start" # a symlink or file there is replaced, never followed
    sync "$DEST_DIR"
    log "installed $start (#!$HOST_RUNTIME/ld.so $HOST_RUNTIME/python3)"
}

install_plugin() {
    dest=$DEST_DIR/$NAME
    [ -f "$SOURCE.version" ] && log "plugin: $(head -n 1 "$SOURCE.version")"
    [ -z "$SHEBANG_NOTE" ] || log "$SHEBANG_NOTE"
    if [ -L "$dest" ]; then
        before="a symlink to $(readlink "$dest"), replaced without following it"
    elif [ -e "$dest" ]; then
        dest_sha=$(sha256 "$dest")
        if [ -f "$dest" ] && [ "$dest_sha" = "$PLUGIN_SHA" ]; then
            log "skipped: $dest is already this plugin on $RUNTIME_NAME (sha256 $(short "$PLUGIN_SHA"))"
            return 0
        fi
        before="sha256 $(short "$dest_sha")"
    else
        before="none"
    fi
    # mktemp creates the file exclusively (no planted file or symlink is reused).
    tmp=$(mktemp "$DEST_DIR/.$NAME.tmp.XXXXXX")
    plugin_text >"$tmp"
    chmod 0755 "$tmp"
    sync "$tmp"
    mv -f "$tmp" "$dest"
    sync "$DEST_DIR"
    log "installed $SOURCE -> $dest on $HOST_RUNTIME (sha256 $(short "$PLUGIN_SHA"); before: $before)"
}

# Leftovers of an interrupted run: temporary files and directories (rm never follows a symlink).
remove_temporaries() {
    for stale in "$DEST_DIR"/.$NAME.tmp.*; do
        [ -e "$stale" ] || [ -L "$stale" ] || continue
        rm -rf "$stale" && log "removed $stale, left by an interrupted run"
    done
}

# The readiness probe's question: is this image's plugin, on this image's runtime, installed?
check() {
    intact "$DEST_DIR/$RUNTIME_NAME" || { log "not ready: $DEST_DIR/$RUNTIME_NAME is missing or does not check out"; exit 1; }
    start=$DEST_DIR/$RUNTIME_NAME.start
    [ -f "$start" ] && [ ! -L "$start" ] && [ "$(sha256 "$start")" = "$START_SHA" ] ||
        { log "not ready: $start is missing or not this runtime's"; exit 1; }
    [ -f "$DEST_DIR/$NAME" ] && [ ! -L "$DEST_DIR/$NAME" ] && [ "$(sha256 "$DEST_DIR/$NAME")" = "$PLUGIN_SHA" ] ||
        { log "not ready: $DEST_DIR/$NAME is not this image's plugin"; exit 1; }
}

prepare
if [ "$MODE" = check ]; then
    check
    exit 0
fi
log "mode $MODE, source $SOURCE, destination $DEST_DIR (on the host: $HOST_DEST_DIR)"
remove_temporaries
install_runtime
install_start
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
