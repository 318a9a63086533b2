"""The plugin's configuration: parsed, validated, and frozen.

Every setting can also come per invocation under `args.cni` (the CNI args
convention, which Multus fills from a pod's `cni-args`); a key given there
replaces the top-level value. Other keys of `args` belong to other plugins
and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

from . import fields
from .errors import INVALID_CONFIG, CniError
from .log import read_log_settings
from .result import Result, Route, parse_result, parse_route
from .versions import ROUTE_FIELDS_SINCE, at_least

T = TypeVar("T")

FLAGS = ("flushroutes", "flushgateway", "skipcheck")
ROUTE_LISTS = ("delroutes", "addroutes")  # with FLAGS: the settings args.cni can override
DELROUTE_KEYS = ("dst", "gw", "table")  # what a delroutes entry matches on
MAX_ROUTES = 10_000  # per list; far beyond any pod, small enough to bound memory and time


@dataclass(frozen=True)
class PluginConfig:
    """What one route-override entry of a conflist asks for."""

    cni_version: str
    name: str
    flushroutes: bool = False
    flushgateway: bool = False
    delroutes: tuple[Route, ...] = ()
    addroutes: tuple[Route, ...] = ()
    skipcheck: bool = False
    prev_result: Optional[Result] = None


class _Problems:
    """Collects every problem of a config, so `validate` can list them all."""

    def __init__(self) -> None:
        self.found: list[CniError] = []

    def attempt(self, read: Callable[..., T], *args: Any, default: T, **kwargs: Any) -> T:
        try:
            return read(*args, **kwargs)
        except CniError as error:
            self.found.append(error)
            return default


def _read_routes(obj: dict, key: str, parent: str, cni_version: str, problems: _Problems) -> Optional[tuple]:
    items = fields.optional_list(obj, key, parent)
    if items is None:
        return None
    path = fields.key_path(parent, key)
    if len(items) > MAX_ROUTES:
        raise fields.invalid(path, f"has {len(items)} entries, more than the limit of {MAX_ROUTES}", items[:1])
    extra_fields = at_least(cni_version, ROUTE_FIELDS_SINCE)
    routes = []
    seen: dict[Route, int] = {}  # route -> its index, to name a repeat
    for i, item in enumerate(items):
        item_path = fields.key_path(path, i)
        if key == "delroutes" and isinstance(item, dict):
            unused = next((k for k in item if k not in DELROUTE_KEYS), None)
            if unused is not None:
                problems.found.append(
                    fields.invalid(fields.key_path(item_path, unused), "delroutes match on dst, gw and table only", item[unused])
                )
                continue
        route = problems.attempt(parse_route, item, item_path, from_user=True, extra_fields=extra_fields, default=None)
        if route is None:
            continue
        if route in seen:
            problems.found.append(fields.invalid(item_path, f"repeats {path}[{seen[route]}]", item))
            continue
        seen[route] = i
        routes.append(route)
    return tuple(routes)


def _read_settings(obj: dict, parent: str, cni_version: str, problems: _Problems) -> dict:
    """The settings present in `obj` (the top level, or args.cni)."""
    found: dict[str, Any] = {}
    for key in FLAGS:
        value = problems.attempt(fields.optional_bool, obj, key, parent, default=None)
        if value is not None:
            found[key] = value
    for key in ROUTE_LISTS:
        routes = problems.attempt(_read_routes, obj, key, parent, cni_version, problems, default=None)
        if routes is not None:
            found[key] = routes
    return found


def config_problems(obj: dict, cni_version: str) -> tuple[Optional[PluginConfig], list[CniError]]:
    """The config and every problem found in it (the config is None if any)."""
    problems = _Problems()
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        problems.found.append(fields.invalid("name", "the network name must be a non-empty string", name))
    settings = _read_settings(obj, "", cni_version, problems)
    args = problems.attempt(fields.optional_object, obj, "args", default=None)
    if args is not None:
        overrides = problems.attempt(fields.optional_object, args, "cni", "args", default=None)
        if overrides is not None:
            settings.update(_read_settings(overrides, "args.cni", cni_version, problems))
    problems.attempt(read_log_settings, obj, default=None)
    prev_result = None
    if obj.get("prevResult") is not None:
        prev_result = problems.attempt(parse_result, obj["prevResult"], default=None)
    if problems.found:
        return None, problems.found
    assert isinstance(name, str)
    return PluginConfig(cni_version=cni_version, name=name, prev_result=prev_result, **settings), []


def parse_config(obj: dict, cni_version: str) -> PluginConfig:
    """The config, or a code-7 error naming the first problem (all in details)."""
    config, problems = config_problems(obj, cni_version)
    if problems:
        first = problems[0]
        details = "; ".join(p.msg for p in problems[1:])
        raise CniError(INVALID_CONFIG, first.msg, details)
    assert config is not None
    return config
