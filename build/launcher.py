"""The zipapp's launcher: find (or make) the extraction cache, then run ro.

It replaces shiv's own __main__ (import _bootstrap; _bootstrap.bootstrap())
so that the warm path imports nothing but os, sys and fcntl, and so that a cache
another user could have written is never imported from. Extraction itself
is shiv's, with shiv's lock (`_bootstrap.extract_site_packages`).

Where the cache lives, in order:
  SHIV_ROOT, when set (and then only there: a bad explicit root is an error);
  as root: /var/cache/route-override, then /run/route-override (tmpfs);
  otherwise: $XDG_CACHE_HOME or ~/.cache, then /tmp/route-override-<uid>.
A root is used only if it and every directory above it belong to root (or
to this user) and nobody else can write to them (a sticky /tmp is fine).

Every run holds a shared flock on its build's cache directory until it exits
(it may import from there at any time), so that the first run of another
build, which removes superseded caches (route_override_cleanup), leaves
that one alone. On the warm path that is one open and one flock; the scan of
the cache root happens only in the run that extracted.

On the bundled runtime (the installer's `.route-override-<id>` directory
beside the plugin), every run also holds a shared flock on that directory
until it exits, and removes the other runtimes of the bin dir (those of
earlier installs, which no installed plugin names) that no run holds
(route_override_cleanup): SETTLE_SECONDS after the plugin was replaced, so
that a run started on the old runtime just before has its lock by then. A
run that still finds its runtime gone at its lock starts the plugin again,
which names the new one. On the warm path that is one open, one flock, one
listdir of the bin dir.
The runtime is used only while nobody but root can write to it, and an old
python3's fallback runs no python3.N from a directory others can write.

Written for any python3 that may be first on a node's PATH (3.6 syntax), so
that an old one gets a clear CNI error instead of a SyntaxError.
"""

import fcntl
import os
import stat
import sys
import time

BUILD_ID = "@BUILD_ID@"  # shiv's hash of site-packages, filled in by build/finish_pyz.py
CACHE_PREFIX = "route-override_"  # + BUILD_ID: this build's directory in the cache root
FLOOR = (3, 9)  # pyproject.toml's requires-python
NOT_AVAILABLE = 50  # CNI: the plugin cannot serve ADD
IO_FAILURE = 5
RUNTIME_PREFIX = ".route-override-"  # + id: the bundled runtime's directory (build/runtime.py)
RESTARTED = "ROUTE_OVERRIDE_RESTARTED"  # set when a run started the plugin again (at most once)
SETTLE_SECONDS = 10  # after the plugin file changed, before a run removes the runtimes it replaced


def fail(code, msg):
    """Say why in the form the caller reads: a CNI error object or a line on stderr."""
    if os.environ.get("CNI_COMMAND"):
        import json

        document = {"cniVersion": "1.1.0", "code": code, "msg": msg, "details": ""}
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write("route-override: " + msg + "\n")
    sys.stderr.flush()
    os._exit(1)


def newest_python_in(directory):
    """The python3.N with the highest N >= FLOOR's in `directory`, or None."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    found = []
    for name in names:
        minor = name[len("python3.") :]
        if name.startswith("python3.") and minor.isdigit() and int(minor) >= FLOOR[1]:
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                found.append((int(minor), candidate))
    return max(found)[1] if found else None


def use_newer_python(archive):
    """On an old python3 (RHEL 8's is 3.6), re-run under a newer one if installed:
    the newest python3.N (any N >= 9, no list to fall behind) of the first PATH
    directory that has one."""
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        candidate = newest_python_in(directory)
        if candidate and not unsafe(directory):
            os.execv(candidate, [candidate, "-I", "-S", archive] + sys.argv[1:])
    fail(
        NOT_AVAILABLE,
        "route-override needs Python %d.%d or newer; %s is %s and no python3.9+ is on PATH"
        % (FLOOR + (sys.executable, sys.version.split()[0])),
    )


def hold_runtime(runtime, archive):
    """Hold the bundled runtime this process runs on (see the module's doc)."""
    try:
        fd = os.open(runtime, os.O_RDONLY | os.O_DIRECTORY)  # never closed: held until exit
        fcntl.flock(fd, fcntl.LOCK_SH)
        current = os.path.samestat(os.fstat(fd), os.stat(runtime))
    except FileNotFoundError:
        current = False
    if current:
        reason = unsafe(runtime)
        if reason:
            fail(NOT_AVAILABLE, "refusing the bundled runtime: " + reason)
        # python3._pth turns bytecode writing off; the extraction cache (root's,
        # checked like every cache) is where it goes, as on any python3. The
        # runtime's own modules are sourceless .pyc: nothing is written there.
        sys.dont_write_bytecode = False
        remove_replaced_runtimes(runtime, archive)
        return
    if os.environ.get(RESTARTED):
        fail(NOT_AVAILABLE, "the bundled runtime %s was removed, also after starting %s again" % (runtime, archive))
    os.environ[RESTARTED] = "1"
    os.execv(archive, [archive] + sys.argv[1:])


def remove_replaced_runtimes(runtime, archive):
    """The bin dir's other runtimes, but never one the installed plugin names,
    nor one newer than that: the installer puts a new runtime in place before
    the plugin that names it, and a run of the old plugin in between (CRI-O
    runs every plugin when the bin dir changes) must not take it for a
    replaced one."""
    bin_dir, mine = os.path.split(runtime)
    try:
        ours = (mine, mine + ".start")  # the runtime and the script that starts it
        others = [name for name in os.listdir(bin_dir) if name.startswith(RUNTIME_PREFIX) and name not in ours]
        if not others:
            return
        with open(archive, "rb") as installed:  # the file now at the plugin's path: maybe already a newer one
            first_lines = installed.read(1024)
            since = os.fstat(installed.fileno()).st_mtime
        if time.time() - since < SETTLE_SECONDS:
            return
    except OSError:
        return  # best effort: a leftover costs disk space, never a failed ADD
    import route_override_cleanup  # from this archive

    named = route_override_cleanup.runtimes_named(first_lines, RUNTIME_PREFIX)
    route_override_cleanup.remove_other_runtimes(bin_dir, RUNTIME_PREFIX, mine, named)


def unsafe(path):
    """Why `path` (an existing directory) could have been written by someone else, or None."""
    me = os.geteuid()
    trusted = (0, me)
    path = os.path.realpath(path)
    leaf = True
    while True:
        info = os.stat(path)
        if info.st_uid not in trusted:
            return "%s belongs to uid %d" % (path, info.st_uid)
        others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if others_write and (leaf or not info.st_mode & stat.S_ISVTX):
            return "%s is writable by group or others" % path
        if me == 0 and leaf and info.st_uid != 0:
            return "%s does not belong to root" % path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path, leaf = parent, False


def candidate_roots():
    explicit = os.environ.get("SHIV_ROOT")
    if explicit:
        return [explicit], True
    if os.geteuid() == 0:
        return ["/var/cache/route-override", "/run/route-override"], False
    roots = []
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = os.environ.get("HOME")
    if xdg:
        roots.append(os.path.join(xdg, "route-override"))
    elif home:
        roots.append(os.path.join(home, ".cache", "route-override"))
    roots.append("/tmp/route-override-%d" % os.geteuid())
    return roots, False


def held(target):
    """`target`'s site-packages, under a shared flock that is never released:
    the descriptor stays open until this process exits. FileNotFoundError when
    it is not extracted, or was removed before the lock was granted."""
    fd = os.open(target, os.O_RDONLY)  # shiv renames a complete extraction into place: no separate check
    fcntl.flock(fd, fcntl.LOCK_SH)
    site = os.path.join(target, "site-packages")
    reason = unsafe(site)  # stats the path again: gone if another build's cleanup won the race
    if reason:
        raise OSError("refusing the cache: " + reason)
    return site


def extract(archive, root, target):
    os.makedirs(root, mode=0o755, exist_ok=True)
    reason = unsafe(root)
    if reason:
        raise OSError("refusing the cache: " + reason)
    import zipfile
    from pathlib import Path

    import _bootstrap  # shiv's, from this archive: extracts to a temp dir under a lock, then renames

    with zipfile.ZipFile(archive) as opened:
        _bootstrap.extract_site_packages(opened, Path(target))


def site_packages(archive, root):
    """The extracted site-packages under `root`, held (see `held`); extracted
    first if needed, and then the other builds' leftovers are removed."""
    target = os.path.join(root, CACHE_PREFIX + BUILD_ID)
    extractions = 0
    while True:
        try:
            site = held(target)
            break
        except FileNotFoundError:
            if extractions == 3:  # removed again each time by other builds' cleanups: give up on this root
                raise
        extract(archive, root, target)
        extractions += 1
    if extractions:
        import route_override_cleanup  # from this archive

        route_override_cleanup.remove_other_builds(root, CACHE_PREFIX, BUILD_ID)
    return site


def main():
    archive = os.path.dirname(os.path.abspath(__file__))
    if sys.argv[0] == "-c":  # started by the first lines' `python3 -c`, not as `python3 ARCHIVE`
        del sys.argv[0]
    runtime = os.path.dirname(sys.executable)
    if os.path.basename(runtime).startswith(RUNTIME_PREFIX):
        hold_runtime(runtime, archive)
    elif sys.version_info < FLOOR:
        use_newer_python(archive)
    os.umask(0o022)  # the cache must come out writable by its owner only
    roots, explicit = candidate_roots()
    site = None
    reasons = []
    for root in roots:
        try:
            site = site_packages(archive, root)
            break
        except OSError as error:
            reasons.append("%s: %s" % (root, error.strerror or error))
            if explicit:
                break
    if site is None:
        fail(IO_FAILURE, "no usable extraction cache for route-override (" + "; ".join(reasons) + ")")
    sys.path.insert(0, site)
    from ro.__main__ import main as ro_main

    ro_main()


main()
