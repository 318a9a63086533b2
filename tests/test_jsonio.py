"""ro.jsonio reads and writes exactly what the json package does."""

from __future__ import annotations

import json

import pytest

from ro import jsonio

DOCUMENTS = [
    b'{"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "x", "n": 1.5e3, "b": [true, false, null]}]}',
    b'  \n {"a": "\\u00e9\\ud83d\\ude00 \\\\ \\"q\\""}  \t',
    b"[]",
    b"-0",
    '{"snowman": "\u2603"}'.encode(),
]


@pytest.mark.parametrize("data", DOCUMENTS)
def test_reads_like_json(data: bytes) -> None:
    assert jsonio.loads(data) == json.loads(data)


@pytest.mark.parametrize("data", [b"", b"{", b'{"a": 1} x', b"NaN", b'{"a": Infinity}', b'"\\x"', b'"a\nb"', b"\xff"])
def test_rejects_what_json_rejects(data: bytes) -> None:
    with pytest.raises(ValueError):
        jsonio.loads(data)


def test_deep_nesting_is_a_recursion_error_not_a_crash() -> None:
    with pytest.raises(RecursionError):
        jsonio.loads(b"[" * 100_000)


@pytest.mark.parametrize("value", [{"a": [1, True, None, "\u00e9\U0001f600"], "b": {"c": -2}}, [], "x\n\"y\"", 10**30])
def test_writes_like_json(value: object) -> None:
    assert jsonio.dumps(value) == json.dumps(value)


def test_writes_no_nan() -> None:
    with pytest.raises(ValueError):
        jsonio.dumps(float("nan"))
