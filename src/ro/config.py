"""The plugin's configuration: parsed, validated, and frozen.

Every setting can also come per invocation under `args.cni` (the CNI args
convention, which Multus fills from a pod's `cni-args`); a key given there
replaces the top-level value. Other keys of `args` belong to other plugins
and are ignored, and so are `args.cni.logFile` and `args.cni.logLevel`: a
pod's annotations must never choose a file that root writes to.

Keys match in any case (`flushGateway`, `addRoutes`, `GW`), as the Go
original's JSON decoding does; `validate` warns about the spelling.
"""

from __future__ import annotations

from . import fields, jsonio
from .errors import INVALID_CONFIG, CniError
from .log import LOG_KEYS, read_log_settings
from .record import hidden, record
from .result import EXTRA_ROUTE_FIELDS, Result, Route, extras_of, gateways, parse_result, route, route_fields
from .routes import LARGEST_METRICS, MAIN_TABLE, MAX_NEXT_HOPS, SCOPE_LINK, effective_priority
from .versions import ROUTE_FIELDS_SINCE, at_least

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, TypeVar

    T = TypeVar("T")
    from .addresses import Address, Network


FLAGS = ("flushroutes", "flushgateway", "skipcheck")
ROUTE_LISTS = ("delroutes", "addroutes")  # with FLAGS: the settings args.cni can override
SETTINGS = FLAGS + ROUTE_LISTS
ADDROUTE_KEYS = ("dst", "gw", "gws", *EXTRA_ROUTE_FIELDS)
DELROUTE_KEYS = ("dst", "gw", "gws", "table")  # what a delroutes entry matches on
MAX_ROUTES = 10_000  # per list; far beyond any pod, small enough to bound memory and time


@record
class AddRoute:
    """An addroutes entry: one route through its next hops (`gws`, then
    `gw`); with none, via the result's ips gateway, else on-link."""

    dst: Network
    gateways: tuple[Address, ...] = ()
    mtu: Optional[int] = None
    advmss: Optional[int] = None
    priority: Optional[int] = None
    table: Optional[int] = None
    scope: Optional[int] = None

    @property
    def version(self) -> int:
        return self.dst.version

    @property
    def on_link(self) -> bool:
        """An explicit link scope means directly attached: never via a gateway."""
        return self.scope == SCOPE_LINK

    @property
    def identity(self) -> tuple:
        """Entries with the same identity would be the same kernel route."""
        return (self.dst, self.table or MAIN_TABLE, effective_priority(self.version, self.priority))

    def result_route(self) -> Route:
        return route(self.dst, self.gateways, **extras_of(self))


@record
class DelRoute:
    """A delroutes entry: the routes of the target interfaces to `dst` in
    `table` (default main), narrowed to next hops via `gateways` when given."""

    dst: Network
    gateways: tuple[Address, ...] = ()
    table: Optional[int] = None


@record
class PluginConfig:
    """What one route-override entry of a conflist asks for."""

    cni_version: str
    name: str
    flushroutes: bool = False
    flushgateway: bool = False
    delroutes: tuple[DelRoute, ...] = ()
    addroutes: tuple[AddRoute, ...] = ()
    skipcheck: bool = False
    prev_result: Optional[Result] = None
    warnings: tuple[str, ...] = hidden(default=())  # valid, but probably not what was meant


class Findings:
    """Collects every problem of a config, so `validate` can list them all,
    and the warnings: what is valid but probably not what was meant."""

    def __init__(self) -> None:
        self.problems: list[CniError] = []
        self.warnings: list[str] = []

    def attempt(self, read: Callable[..., T], *args: Any, default: T, **kwargs: Any) -> T:
        try:
            return read(*args, **kwargs)
        except CniError as error:
            self.problems.append(error)
            return default

    def spelled(self, obj: dict, known: tuple[str, ...], parent: str) -> dict:
        """`obj` with keys in another case renamed to the known key they fold
        to, as Go's encoding/json matches them (the last spelling wins)."""
        canonical = {key.casefold(): key for key in known}
        out: dict = {}
        for key, value in obj.items():
            name = canonical.get(key.casefold(), key) if isinstance(key, str) else key
            if name != key:
                self.warnings.append(f"{fields.key_path(parent, key)}: read as {name!r} (keys match in any case, as in the Go original)")
            if name in out and name != key:
                self.warnings.append(f"{fields.key_path(parent, key)}: {name!r} is given twice; the last one wins")
            out[name] = value
        return out


def _next_hops(obj: dict, path: str, dst: Network) -> tuple[Address, ...]:
    hops = gateways(obj, path, dst)
    if len(hops) > MAX_NEXT_HOPS[dst.version]:
        raise fields.invalid(
            fields.key_path(path, "gws"), f"has {len(hops)} next hops; one IPv{dst.version} route takes at most {MAX_NEXT_HOPS[dst.version]}", obj.get("gws")
        )
    return hops


def _entry(item: Any, path: str, known: tuple[str, ...], findings: Findings) -> tuple[dict, Network]:
    """An entry's keys (in their known spelling) and its dst; unknown keys are an error."""
    if not isinstance(item, dict):
        raise fields.invalid(path, "must be an object like {\"dst\": \"10.0.0.0/8\"}", item)
    item = findings.spelled(item, known, path)
    for key in item:
        if key not in known:
            raise fields.invalid(fields.key_path(path, key), f"not a key of this entry (known: {', '.join(known)})", item[key])
    if "dst" not in item:
        raise fields.invalid(path, "has no dst", item)
    return item, fields.cidr(item["dst"], fields.key_path(path, "dst"), strict=True)


def read_addroute(item: Any, path: str, extra_fields: bool, findings: Findings) -> AddRoute:
    item, dst = _entry(item, path, ADDROUTE_KEYS, findings)
    hops = _next_hops(item, path, dst)
    extras = route_fields(item, path, extra_fields, dst.version)
    for key, largest in LARGEST_METRICS.items():
        if extras.get(key, 0) > largest:
            raise fields.invalid(
                fields.key_path(path, key), f"must be at most {largest}: the kernel would store {largest} instead, without saying so", item[key]
            )
    if extras.get("scope") == SCOPE_LINK and hops:
        raise fields.invalid(fields.key_path(path, "scope"), "253 (link) means directly attached: such a route has no gw or gws", item["scope"])
    return AddRoute(dst=dst, gateways=hops, **extras)


def read_delroute(item: Any, path: str, extra_fields: bool, findings: Findings) -> DelRoute:
    item, dst = _entry(item, path, DELROUTE_KEYS, findings)
    return DelRoute(dst=dst, gateways=_next_hops(item, path, dst), table=route_fields(item, path, extra_fields, dst.version).get("table"))


def _conflicts(entries: list[tuple[int, AddRoute]], path: str) -> list[CniError]:
    """Two addroutes entries that would be one kernel route (same dst, table
    and priority): several next hops of one route belong in one entry's gws."""
    problems = []
    first: dict[tuple, tuple[int, AddRoute]] = {}
    for i, entry in entries:
        earlier, other = first.setdefault(entry.identity, (i, entry))
        if earlier == i:
            continue
        where = fields.key_path(path, i)
        if entry == other:
            problems.append(CniError(INVALID_CONFIG, f"{where}: repeats {path}[{earlier}]"))
        elif entry.gateways != other.gateways:
            hops = jsonio.dumps([str(hop) for hop in dict.fromkeys(other.gateways + entry.gateways)])
            problems.append(CniError(
                INVALID_CONFIG,
                f"{where}: same dst, table and priority as {path}[{earlier}] with other next hops; the kernel holds"
                f" one route per dst, table and priority: list all its next hops in one entry's gws ({hops})",
            ))
        else:
            problems.append(CniError(INVALID_CONFIG, f"{where}: same dst, table and priority as {path}[{earlier}]; the kernel holds one route per dst, table and priority"))
    return problems


def _repeats(entries: list[tuple[int, DelRoute]], path: str) -> list[CniError]:
    seen: dict[DelRoute, int] = {}
    problems = []
    for i, entry in entries:
        earlier = seen.setdefault(entry, i)
        if earlier != i:
            problems.append(CniError(INVALID_CONFIG, f"{fields.key_path(path, i)}: repeats {path}[{earlier}]"))
    return problems


def _read_routes(obj: dict, key: str, parent: str, cni_version: str, findings: Findings) -> Optional[tuple]:
    items = fields.optional_list(obj, key, parent)
    if items is None:
        return None
    path = fields.key_path(parent, key)
    if len(items) > MAX_ROUTES:
        raise fields.invalid(path, f"has {len(items)} entries, more than the limit of {MAX_ROUTES}", items[:1])
    read = read_addroute if key == "addroutes" else read_delroute
    extra_fields = at_least(cni_version, ROUTE_FIELDS_SINCE)
    entries: list = []
    for i, item in enumerate(items):
        entry = findings.attempt(read, item, fields.key_path(path, i), extra_fields, findings, default=None)
        if entry is not None:
            entries.append((i, entry))
    findings.problems.extend(_conflicts(entries, path) if key == "addroutes" else _repeats(entries, path))
    return tuple(entry for _, entry in entries)


def _read_settings(obj: dict, parent: str, cni_version: str, findings: Findings) -> dict:
    """The settings present in `obj` (the top level, or args.cni)."""
    found: dict[str, Any] = {}
    for key in FLAGS:
        value = findings.attempt(fields.optional_bool, obj, key, parent, default=None)
        if value is not None:
            found[key] = value
    for key in ROUTE_LISTS:
        routes = findings.attempt(_read_routes, obj, key, parent, cni_version, findings, default=None)
        if routes is not None:
            found[key] = routes
    return found


def _overrides(obj: dict, findings: Findings) -> dict:
    """args.cni, as far as it is this plugin's to read."""
    args = findings.attempt(fields.optional_object, obj, "args", default=None)
    if args is None:
        return {}
    args = findings.spelled(args, ("cni",), "args")
    overrides = findings.attempt(fields.optional_object, args, "cni", "args", default=None)
    if overrides is None:
        return {}
    overrides = findings.spelled(overrides, SETTINGS + LOG_KEYS, "args.cni")
    for key in LOG_KEYS:
        if key in overrides:
            findings.warnings.append(
                f"args.cni.{key}: ignored: a pod's cni-args must not choose where root writes its log;"
                f" set {key} in the network's config"
            )
    return overrides


def examine(obj: dict, cni_version: str) -> tuple[Optional[PluginConfig], Findings]:
    """The config (None if it has any problem) and everything found in it."""
    findings = Findings()
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        findings.problems.append(fields.invalid("name", "the network name must be a non-empty string", name))
    top = findings.spelled(obj, SETTINGS + ("args",), "")
    settings = _read_settings(top, "", cni_version, findings)
    settings.update(_read_settings(_overrides(top, findings), "args.cni", cni_version, findings))
    findings.attempt(read_log_settings, obj, default=None)
    prev_result = None
    if obj.get("prevResult") is not None:
        prev_result = findings.attempt(parse_result, obj["prevResult"], default=None)
    if findings.problems:
        return None, findings
    # Among the config's warnings, so that the plugin logs what validate shows.
    if settings.get("flushgateway") and any(not entry.gateways and not entry.on_link for entry in settings.get("addroutes", ())):
        warning = (
            "flushgateway: takes the default gateway away before addroutes run, so addroutes entries"
            " without gw become on-link routes; give them a gw to route via the old gateway"
        )
        if not at_least(cni_version, ROUTE_FIELDS_SINCE):
            warning += (
                f"; before cniVersion {ROUTE_FIELDS_SINCE} the result cannot mark them on-link, so it leaves out"
                " that family's ips gateway, and static IPAM's CHECK (CRI-O runs it after every ADD) fails"
            )
        findings.warnings.append(warning)
    assert isinstance(name, str)
    config = PluginConfig(cni_version=cni_version, name=name, prev_result=prev_result, warnings=tuple(findings.warnings), **settings)
    return config, findings


def parse_config(obj: dict, cni_version: str) -> PluginConfig:
    """The config, or a code-7 error naming the first problem (all in details)."""
    config, findings = examine(obj, cni_version)
    if findings.problems:
        first, *others = findings.problems
        raise CniError(INVALID_CONFIG, first.msg, "; ".join(p.msg for p in others))
    assert config is not None
    return config
