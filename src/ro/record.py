"""Frozen, typed records, declared like dataclasses, without their import.

`import dataclasses` pulls in inspect, re, enum and copy: measured here, it
adds about as much to a pod start as the plugin's whole netlink work. A
record is declared the same way (annotated fields, defaults after the
required ones), type checkers read it as a frozen dataclass (PEP 681) and
refuse assignments to its fields, and it costs one small generated
__init__ per class. Instances have __slots__, compare and hash by their
fields (those declared with `hidden` excepted), and are changed only
through `replace`.

Frozen is the type checker's to enforce (mypy runs in the test suite):
without a __setattr__ that refuses, __init__ stores each field straight in
its slot, three times faster, and a dump of ten thousand routes makes ten
thousand records.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform  # novermin: for type checkers only

    T = TypeVar("T")
else:

    def dataclass_transform(**_: object) -> object:
        return lambda decorator: decorator


class _Hidden:
    __slots__ = ("default",)

    def __init__(self, default: object) -> None:
        self.default = default


def hidden(*, default: Any) -> Any:
    """A field left out of comparison, hashing and repr (the kernel's raw message, say)."""
    return _Hidden(default)


@dataclass_transform(frozen_default=True, field_specifiers=(hidden,))
def record(cls: type[T]) -> type[T]:
    """The class as a frozen record of its annotated fields."""
    if "__annotations__" not in cls.__dict__ and any(key in cls.__dict__ for key in ("__annotate__", "__annotate_func__")):
        # Python 3.14 evaluates annotations lazily unless the module asks for strings.
        raise TypeError(f"record {cls.__name__}: its module needs `from __future__ import annotations`")
    names = list(cls.__dict__.get("__annotations__", {}))
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    shown = tuple(name for name in names if not isinstance(defaults.get(name), _Hidden))
    values = {f"_d_{name}": getattr(value, "default", value) for name, value in defaults.items()}
    params = ", ".join(name + (f"=_d_{name}" if name in defaults else "") for name in names)
    body = "".join(f"\n    self.{name} = {name}" for name in names) or "\n    pass"
    key = "".join(f"self.{name}, " for name in shown)
    code = f"def __init__(self, {params}):{body}\ndef _key(self):\n    return ({key})"
    scope: dict = dict(values)
    exec(code.replace("(self, )", "(self)"), scope)  # fixed text, made of the class's own field names
    generated = dict(
        __eq__=lambda self, other: type(other) is type(self) and self._key() == other._key(),
        __hash__=lambda self: hash(self._key()),
        __repr__=lambda self: f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})",
    )
    namespace = {key: value for key, value in cls.__dict__.items() if key not in defaults and key not in ("__dict__", "__weakref__")}
    namespace.update((name, method) for name, method in generated.items() if name not in cls.__dict__)  # the class's own win
    namespace.update(__slots__=tuple(names), __init__=scope["__init__"], __match_args__=tuple(names), _fields=tuple(names), _key=scope["_key"])
    return type(cls.__name__, cls.__bases__, namespace)  # type: ignore[return-value]


def replace(obj: T, **changes: Any) -> T:
    """A copy of record `obj` with some fields changed."""
    unknown = changes.keys() - obj._fields  # type: ignore[attr-defined]
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {', '.join(sorted(unknown))}")
    return type(obj)(**{name: changes[name] if name in changes else getattr(obj, name) for name in obj._fields})  # type: ignore[attr-defined]
