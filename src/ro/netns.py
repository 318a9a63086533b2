"""Entering the container's network namespace, one run at a time.

Kept apart from ro.netlink: DEL finds out that a namespace is gone without
paying for the netlink layer.
"""

from __future__ import annotations

import errno
import os
import stat

from .errors import NETNS_UNUSABLE, TRY_AGAIN_LATER, CniError

CLONE_NEWNET = 0x40000000
LOCK_WAIT_SECONDS = 10  # then TRY_AGAIN_LATER; a run holds the lock for well under a second


def _setns(fd: int) -> None:
    """setns(2): os.setns from Python 3.12, through libc before."""
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)  # novermin: only where it exists (3.12+)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _lock(fd: int, where: str) -> None:
    """Serialize the runs on one namespace (as the reference sbr plugin
    does): an exclusive flock on the namespace file, whichever path named
    it, held until this process exits. Waits at most LOCK_WAIT_SECONDS."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    import signal

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, LOCK_WAIT_SECONDS)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except TimeoutError:
        raise CniError(
            TRY_AGAIN_LATER, f"{where}: another run on this namespace held it for {LOCK_WAIT_SECONDS} s; try again"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def enter(path: str) -> int:
    """Move this (single-threaded) process into the network namespace at
    `path`, holding its lock, and return the open namespace fd. Never
    creates a namespace: a missing path, or anything that is not a network
    namespace, is a NETNS_UNUSABLE error."""
    where = f"CNI_NETNS={path}"
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the plugin.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        reason = error.strerror if isinstance(error, OSError) else "not a path"
        raise CniError(NETNS_UNUSABLE, f"{where}: cannot open the network namespace: {reason}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CniError(NETNS_UNUSABLE, f"{where}: not a network namespace (not a namespace file)")
        own = os.stat("/proc/self/ns/net")
        if (info.st_dev, info.st_ino) == (own.st_dev, own.st_ino):
            raise CniError(NETNS_UNUSABLE, f"{where}: is the plugin's own (host) network namespace")
        _lock(fd, where)
        try:
            _setns(fd)
        except OSError as error:
            reason = "not a network namespace" if error.errno == errno.EINVAL else error.strerror
            raise CniError(NETNS_UNUSABLE, f"{where}: cannot enter: {reason}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd
