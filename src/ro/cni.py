"""The CNI protocol: environment and stdin in, one JSON document and an exit code out.

Like libcni's skel: reads CNI_* variables and the config, checks what every
command needs, negotiates the spec version, dispatches to the handlers it is
given (skel's PluginMainFuncs; it never imports the plugin), and renders any
CniError as the CNI error object. The plugin never touches the environment
or writes to stdout itself.

Imports stay minimal here: VERSION, STATUS and GC, and every environment or
decoding error, are answered without loading the planner or the netlink
layer (VERSION not even the log).
"""

from __future__ import annotations

import gc
import os
import sys

from . import intake, jsonio, versions
from .errors import INCOMPATIBLE_VERSION, INTERNAL, INVALID_ENVIRONMENT, CniError

TYPE_CHECKING = False  # typing costs ~3 ms per process; only annotations need it
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, Mapping, Optional

    from .log import Log

    Handler = Callable[["Request"], Optional[dict]]  # a command: the result document, or None for nothing to print
    Handlers = Callable[[], Mapping[str, Handler]]  # loads the commands' handlers: only requests that need them pay for the import

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC")
NEEDS_CONTAINER = ("ADD", "DEL", "CHECK")  # CNI_CONTAINERID and CNI_IFNAME
NEEDS_NETNS = ("ADD", "CHECK")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_CONTAINER_ID_CHARS = _ALNUM | frozenset("_.-")  # the spec's rule, as libcni checks it


def _valid_container_id(value: str) -> bool:
    return value[:1] in _ALNUM and all(char in _CONTAINER_ID_CHARS for char in value)


def _valid_ifname(value: str) -> bool:
    """Linux's rule: 1-15 bytes, not "." or "..", no '/', ':' or whitespace."""
    return (
        0 < len(value.encode(errors="surrogateescape")) <= 15  # undecodable bytes arrive as surrogates
        and value not in (".", "..")
        and not any(char in "/:" or char.isspace() for char in value)
    )


class Request:
    """One invocation: the CNI_* variables and the config document as decoded (JSON, not yet read)."""

    __slots__ = ("command", "container_id", "netns", "ifname", "document", "cni_version", "log")

    def __init__(self, command: str, environ: Mapping[str, str], document: dict, cni_version: str, log: Log) -> None:
        self.command = command
        self.container_id = environ.get("CNI_CONTAINERID", "")
        self.netns = environ.get("CNI_NETNS", "")
        self.ifname = environ.get("CNI_IFNAME", "")
        self.document = document
        self.cni_version = cni_version
        self.log = log


def _check_environment(command: str, environ: Mapping[str, str]) -> None:
    if command not in COMMANDS:
        raise CniError(INVALID_ENVIRONMENT, f"CNI_COMMAND={command!r} is not a CNI command ({', '.join(COMMANDS)})")
    if command in NEEDS_CONTAINER:
        container_id = environ.get("CNI_CONTAINERID", "")
        if not container_id:
            raise CniError(INVALID_ENVIRONMENT, "CNI_CONTAINERID is missing or empty")
        if not _valid_container_id(container_id):
            raise CniError(
                INVALID_ENVIRONMENT,
                "CNI_CONTAINERID has invalid characters: it must start with a letter or digit"
                " followed by letters, digits, '_', '.' or '-'",
                container_id[:100],
            )
        ifname = environ.get("CNI_IFNAME", "")
        if not ifname:
            raise CniError(INVALID_ENVIRONMENT, "CNI_IFNAME is missing or empty")
        if not _valid_ifname(ifname):
            raise CniError(
                INVALID_ENVIRONMENT,
                f"CNI_IFNAME={ifname[:40]!r} is not a valid interface name"
                " (at most 15 bytes, not '.' or '..', no '/', ':' or whitespace)",
            )
    if command in NEEDS_NETNS and not environ.get("CNI_NETNS"):
        raise CniError(INVALID_ENVIRONMENT, "CNI_NETNS is missing or empty")


STDIN = "the config on stdin"  # how errors name it


def _version_reply(stdin: BinaryIO) -> dict:
    """VERSION echoes the request's version when it is one we speak."""
    try:
        requested = intake.read(stdin, STDIN).get("cniVersion")
    except CniError:
        requested = None
    version = requested if requested in versions.SUPPORTED else versions.LATEST
    return {"cniVersion": version, "supportedVersions": list(versions.SUPPORTED)}


def _needs(command: str, version: str, floor: str) -> None:
    if not versions.at_least(version, floor):
        raise CniError(INCOMPATIBLE_VERSION, f"{command} needs cniVersion {floor} or newer; the config has {version}")


def error_document(error: CniError, version: str) -> dict:
    return {"cniVersion": version, "code": error.code, "msg": error.msg, "details": error.details}


def _write(stream: BinaryIO, document: dict) -> None:
    try:
        stream.write(jsonio.dumps(document).encode() + b"\n")
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass  # the runtime stopped listening; nothing else can be told


def _context(environ: Mapping[str, str]) -> str:
    from .log import context_of

    return context_of(environ.get("CNI_COMMAND", ""), environ.get("CNI_CONTAINERID", ""), environ.get("CNI_IFNAME", ""))


def _stderr_log(environ: Mapping[str, str]) -> Log:
    """Where errors go before the config says where (ro.log is loaded only then: VERSION never needs it)."""
    from .log import Log

    return Log(context=_context(environ))


def run(environ: Mapping[str, str], stdin: BinaryIO, stdout: BinaryIO, handlers: Handlers) -> int:
    """The exit code of one invocation; prints at most one JSON document."""
    version = versions.LATEST  # errors are printed in the request's version once it is known
    command = environ.get("CNI_COMMAND", "")
    log: Optional[Log] = None  # errors to stderr, until the config says otherwise
    try:
        _check_environment(command, environ)
        if command == "VERSION":
            document: Optional[dict] = _version_reply(stdin)
        else:
            config = intake.read(stdin, STDIN)
            version = intake.cni_version(config)
            from .log import Log

            log = Log.for_config(config, _context(environ))
            if command == "CHECK":
                _needs(command, version, versions.CHECK_SINCE)
            elif command in ("STATUS", "GC"):
                _needs(command, version, versions.STATUS_SINCE)
            document = handlers()[command](Request(command, environ, config, version, log))
    except CniError as error:
        log = log or _stderr_log(environ)
        log.error(f"error {error.code}: {error.msg}" + (f" [{error.details}]" if error.details else ""))
        _write(stdout, error_document(error, version))
        return 1
    except Exception as error:  # a bug: say so on stdout, show it on stderr
        import traceback

        traceback.print_exc(file=sys.stderr)
        internal = CniError(INTERNAL, f"internal error: {type(error).__name__}: {error}"[:500], "traceback on stderr")
        (log or _stderr_log(environ)).error(f"error {internal.code}: {internal.msg}")
        _write(stdout, error_document(internal, version))
        return 1
    if document is not None:
        _write(stdout, document)
    return 0


def main(handlers: Handlers) -> None:
    """Entry point for runtimes: never returns, skips interpreter teardown.

    The cyclic garbage collector is off: the process lives for one request,
    makes no cycles worth collecting, and a large dump makes tens of
    thousands of objects, each batch of which would start a collection
    (measured: a third of the cost of building the requests of a flush)."""
    gc.disable()
    code = run(os.environ, sys.stdin.buffer, sys.stdout.buffer, handlers)
    sys.stderr.flush()
    os._exit(code)
