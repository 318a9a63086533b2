"""Removes what other builds of route-override left: in a cache root, their
extracted site-packages (about 3 MB each, one per build a node ever ran),
shiv's temporary directories and shiv's lock files; in the CNI bin dir, the
bundled runtimes (about 12 MB each) no installed plugin names any more
(`remove_other_runtimes`). Nothing else is touched.

The launcher imports this (as route_override_cleanup, from the archive) only
in the run that just extracted its own build, so a node pays for the scan
once per upgrade, not per pod start. A build's cache is removed only while
both locks that could say it is in use are ours:
- shiv's extraction lock (`.route-override_<id>_lock`): no run of that build
  is extracting it right now;
- an exclusive flock on the cache directory, which every run of every build
  holds shared for as long as it runs (the launcher's `held`): no process of
  that build may still import from it. Such a cache stays, and goes with a
  later upgrade.
"""

import errno
import fcntl
import os
import re
import shutil


def remove_other_builds(root: str, prefix: str, mine: str) -> None:
    """`prefix` + build id names a build's cache directory in `root`; `mine` is this build's id."""
    name = re.compile(r"\.?%s([0-9a-f]{64})(?:\.tmp|_lock)?\Z" % re.escape(prefix))
    try:
        entries = os.listdir(root)
    except OSError:
        return  # best effort, here and below: a leftover costs disk space, never a failed ADD
    others = {match.group(1) for match in map(name.match, entries) if match and match.group(1) != mine}
    for build in sorted(others):
        try:
            _remove_build(os.path.join(root, prefix + build), os.path.join(root, ".%s%s_lock" % (prefix, build)))
        except OSError:
            pass


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _remove_build(cache: str, lock_path: str) -> None:
    # Created if missing, as shiv does: an extraction that starts now then waits for us.
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(lock):
            return  # that build is being extracted
        temporary = cache + ".tmp"  # shiv's own name for it: safe to use while its lock is ours
        shutil.rmtree(temporary, ignore_errors=True)
        if os.path.isdir(cache) and not os.path.islink(cache):
            held = os.open(cache, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                if not _try_lock(held):
                    return  # a running process of that build holds it
                # Renamed first, so a half-removed cache is never found under the live name.
                os.rename(cache, temporary)
                shutil.rmtree(temporary)
            finally:
                os.close(held)
        # Unlinked last: until the removal is done, an extraction of that build waits on this lock.
        os.unlink(lock_path)
    finally:
        os.close(lock)


def runtimes_named(first_lines: bytes, prefix: str) -> set:
    """The runtimes (`prefix`<id>) a plugin file's first lines name: its
    shebang's start script, or its `runtime=` line."""
    return set(re.findall(r"(%s[0-9a-f]{12})" % re.escape(prefix), first_lines.decode("utf-8", "replace")))


def remove_other_runtimes(bin_dir: str, prefix: str, mine: str, named: set) -> None:
    """Every `prefix`<id> directory in `bin_dir` but `mine` (this run's) and
    those `named` by the installed plugin, with its `.start` script, each
    only while no run holds it (every run on a runtime holds a shared flock
    on its directory for as long as it runs: the launcher's `hold_runtime`),
    and none put in place after the installed plugin's runtime: the
    installer installs the next one before the plugin that names it. One
    still held stays, for a later run."""
    name = re.compile(r"(%s[0-9a-f]{12})(\.start)?\Z" % re.escape(prefix))
    try:
        entries = os.listdir(bin_dir)
        installed = [os.lstat(os.path.join(bin_dir, runtime)).st_ctime for runtime in named if os.path.isdir(os.path.join(bin_dir, runtime))]
    except OSError:
        return  # best effort, as above
    newest = max(installed) if installed else None
    for entry in sorted({match.group(1) for match in map(name.match, entries) if match} - {mine} - set(named)):
        path = os.path.join(bin_dir, entry)
        start = path + ".start"
        if not os.path.lexists(path):  # a start script left without its runtime
            _unlink(start)
            continue
        try:
            # O_NOFOLLOW: a symlink (or a file) at such a name is not a runtime of ours; left alone.
            held = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if newest is not None and os.fstat(held).st_ctime > newest:
                continue  # put in place for the next plugin, which is not installed yet
            if not _try_lock(held):
                continue  # a run still uses it
            # Renamed aside first (under the installer's name for its temporaries,
            # so that an interrupted removal is finished by its next run), so a
            # half-removed runtime is never found under its name.
            _unlink(start)  # no run starts on this runtime any more: the plugin names another
            aside = os.path.join(bin_dir, ".route-override.tmp.%d-%s" % (os.getpid(), entry))
            os.mkdir(aside, 0o700)
            os.rename(path, os.path.join(aside, entry))
            shutil.rmtree(aside)
        except OSError:
            pass
        finally:
            os.close(held)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
