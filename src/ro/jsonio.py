"""JSON in and out through _json, the C accelerator the json package wraps.

`import json` also imports re and enum: about 6 ms of every run, a fifth of
VERSION's whole cost. _json parses and encodes exactly as json does (same
code, strict, no NaN), without them. It is CPython's private module, so
when it is missing or differs, the json package does the work instead.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

_WHITESPACE = " \t\n\r"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _refuse(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _DecoderSettings:
    """The attributes _json.make_scanner reads from a json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_reject_constant)
    memo: dict = {}


def _accelerated() -> tuple[Optional[Callable], Optional[Callable]]:
    try:
        import _json

        scanner = _json.make_scanner(_DecoderSettings())  # type: ignore[arg-type]  # it reads these attributes
        encoder = _json.make_encoder(None, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", False, False, False)
        if "".join(encoder({"a": [1, True, None, "\u00e9"]}, 0)) != '{"a": [1, true, null, "\\u00e9"]}':
            return None, None
        return scanner, encoder
    except (ImportError, AttributeError, TypeError):
        return None, None


_scan, _encode = _accelerated()


def loads(data: bytes) -> Any:
    """One JSON document from UTF-8 bytes; ValueError (or RecursionError) if it is not one."""
    text = data.decode("utf-8")
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
            if not text[end:].strip(_WHITESPACE):
                return value
        except (StopIteration, ValueError, SystemError):
            pass  # _json words syntax errors through json.decoder: let json say what is wrong
    import json

    return json.loads(text, parse_constant=_reject_constant)


def dumps(value: Any) -> str:
    """Compact-ish JSON as json.dumps(value) writes it."""
    if _encode is None:
        import json

        return json.dumps(value)
    return "".join(_encode(value, 0))
