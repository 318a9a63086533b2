"""Logs for whoever is paged at 3 a.m.: a line per route change and per error.

Configured with the keys Multus uses: `logFile` (default: stderr) and
`logLevel`: "error" (the default) logs errors only; "info" or "verbose"
also every route change; "debug" also what was found and decided. Lines
carry a UTC timestamp, the command, container id and interface. Nothing is
ever written to stdout, which belongs to the result.

The file is opened append-only; a symlink there is followed only if root
(or the user running the plugin) owns it, and only a regular file is
written. When it cannot be used, the lines go to stderr with the reason.
"""

from __future__ import annotations

import errno
import os
import stat
import time

from . import fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

LOG_KEYS = ("logFile", "logLevel")
LEVELS = {"panic": 0, "error": 1, "info": 2, "verbose": 2, "debug": 3}
ERROR, INFO, DEBUG = 1, 2, 3


def read_log_settings(config: dict) -> tuple[Optional[str], int]:
    """(logFile, level) from a plugin config; a bad value is a code-7 error."""
    path = fields.optional_string(config, "logFile")
    level = fields.optional_string(config, "logLevel")
    if level is not None and level not in LEVELS:
        raise fields.invalid("logLevel", f"must be one of {', '.join(LEVELS)}", level)
    if path is not None and (not os.path.isabs(path) or "\0" in path):
        raise fields.invalid("logFile", "must be an absolute path", path)
    return path, LEVELS[level] if level else ERROR


def open_append(path: str) -> int:
    """An append-only fd for `path`, refusing what is not safe to write."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(path, flags, 0o640)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        owner = os.lstat(path).st_uid
        if owner not in (0, os.geteuid()):
            raise PermissionError(errno.EPERM, f"is a symlink owned by uid {owner}") from None
        fd = os.open(os.path.realpath(path), flags, 0o640)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PermissionError(errno.EPERM, "is not a regular file")
    return fd


class Log:
    """Writes whole lines with one write(2) each, so concurrent runs appending
    to one file never interleave within a line."""

    def __init__(self, fd: int = 2, level: int = ERROR, context: str = "") -> None:
        self.fd = fd
        self.level = level
        self.context = context

    @classmethod
    def for_config(cls, config: dict, context: str) -> "Log":
        path, level = read_log_settings(config)
        if path is None:
            return cls(2, level, context)
        try:
            return cls(open_append(path), level, context)
        except OSError as error:
            log = cls(2, level, context)
            log.error(f"cannot log to logFile {path}: {error.strerror or error}; logging to stderr")
            return log

    def _write(self, text: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        line = f"{stamp} route-override[{os.getpid()}] {self.context}: {text}\n"
        try:
            os.write(self.fd, line.encode(errors="replace"))
        except OSError:
            pass  # a full disk or a closed stderr must not change the result

    def error(self, text: str) -> None:
        if self.level >= ERROR:
            self._write(text)

    def warning(self, text: str) -> None:
        """What is valid but probably not what was meant: shown with the errors."""
        if self.level >= ERROR:
            self._write("warning: " + text)

    def info(self, text: str) -> None:
        if self.level >= INFO:
            self._write(text)

    def debug(self, text: str) -> None:
        if self.level >= DEBUG:
            self._write(text)


def context_of(command: str, container_id: str, ifname: str) -> str:
    return f"{command} container={container_id[:64] or '-'} ifname={ifname or '-'}"

