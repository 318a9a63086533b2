"""One way in for configs: the plugin and the human commands read them alike.

A config reaches the plugin on stdin and `route-override validate` and
`explain` as a file; both go through here, so the tools refuse what a
runtime's call would refuse, with the same code and words: the same size
cap, the same JSON reader (strict: no NaN, unlike json.load), the same
cniVersion check. For the tools it also splits a conflist into the
route-override configs a runtime would hand over.

Imported on every command, VERSION included: it loads nothing that ro.cni
does not load already.
"""

from __future__ import annotations

from . import jsonio, versions
from .errors import DECODING_FAILURE, INCOMPATIBLE_VERSION, INVALID_CONFIG, IO_FAILURE, CniError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

MAX_BYTES = 8 << 20  # a config with 10 000 routes is well under 1 MiB
DEFAULT_VERSION = "0.1.0"  # what libcni assumes when a config names none


def read(stream: BinaryIO, source: str) -> dict:
    """The JSON object in `stream`, read up to the cap; `source` says in
    errors where it came from ("the config on stdin")."""
    try:
        data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise CniError(IO_FAILURE, f"cannot read {source}: {error.strerror}") from None
    return decode(data, source)


def read_file(path: str) -> dict:
    """The JSON object in the file at `path`, read as the plugin reads stdin."""
    try:
        with open(path, "rb") as stream:
            return read(stream, "the file")
    except OSError as error:
        raise CniError(IO_FAILURE, f"cannot read the file: {error.strerror}") from None


def decode(data: bytes, source: str) -> dict:
    """`data` as a JSON object: code 6 when it is larger than the cap, not
    UTF-8 JSON, nested too deeply, or not an object."""
    if len(data) > MAX_BYTES:
        raise CniError(DECODING_FAILURE, f"{source} is larger than {MAX_BYTES >> 20} MiB; refusing it")
    try:
        config = jsonio.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise CniError(DECODING_FAILURE, f"{source} is not JSON: {reason}"[:300]) from None
    if not isinstance(config, dict):
        raise CniError(DECODING_FAILURE, f"{source} must be a JSON object")
    return config


def cni_version(config: dict) -> str:
    """The config's cniVersion: code 7 when it is not a string, 1 when this
    plugin does not speak it."""
    version = config.get("cniVersion", DEFAULT_VERSION)
    if not isinstance(version, str):
        raise CniError(INVALID_CONFIG, f"cniVersion: must be a string (value: {jsonio.dumps(version)[:40]})")
    if version not in versions.SUPPORTED:
        raise CniError(
            INCOMPATIBLE_VERSION,
            f"cniVersion {version[:40]!r} is not supported",
            f"supported versions: {', '.join(versions.SUPPORTED)}",
        )
    return version


class PluginEntry:
    """One route-override config of a file, as a runtime hands it over.

    `where` prefixes its key paths ("plugins[1]."); `warnings` are about the
    conflist around it, which the plugin itself never sees."""

    __slots__ = ("where", "config", "cni_version", "warnings")

    def __init__(self, where: str, config: dict, cni_version: str, warnings: list[str]) -> None:
        self.where = where
        self.config = config
        self.cni_version = cni_version
        self.warnings = warnings


def plugin_entries(document: dict) -> list[PluginEntry]:
    """The route-override configs of a conflist, or the one plugin config
    that `document` is. libcni gives every plugin of a list the list's name
    and cniVersion, whatever the entry says, so they are checked with those.
    Raises the CniError a runtime's call would get for the cniVersion."""
    version = cni_version(document)
    if "plugins" not in document:
        return [PluginEntry("", document, version, [])]
    plugins = document["plugins"]
    if not isinstance(plugins, list):
        from .fields import invalid

        raise invalid("plugins", "must be a list", plugins)
    entries = []
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or plugin.get("type") != "route-override":
            continue
        warnings = []
        if "cniVersion" in plugin and plugin["cniVersion"] != version:
            warnings.append(f"cniVersion: {plugin['cniVersion']!r} is ignored: runtimes give every plugin the list's cniVersion ({version!r})")
        merged = {**plugin, "name": document.get("name"), "cniVersion": version}
        entries.append(PluginEntry(f"plugins[{i}].", merged, version, warnings))
    return entries
