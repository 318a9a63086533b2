"""ro.record: records declared like frozen dataclasses, without importing dataclasses."""

from __future__ import annotations

from typing import Optional

import pytest

from ro.record import hidden, record, replace


@record
class Hop:
    oif: int
    gateway: Optional[str] = None
    weight: int = 1
    raw: bytes = hidden(default=b"")


@record
class Other:
    oif: int
    gateway: Optional[str] = None
    weight: int = 1
    raw: bytes = hidden(default=b"")


@record
class Worded:
    name: str

    def __repr__(self) -> str:
        return f"<{self.name}>"


def test_defaults_and_required_fields() -> None:
    hop = Hop(3)
    assert (hop.oif, hop.gateway, hop.weight, hop.raw) == (3, None, 1, b"")
    assert Hop(3, "10.0.0.1", weight=2).weight == 2
    with pytest.raises(TypeError):
        Hop()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Hop(3, nonsense=1)  # type: ignore[call-arg]


def test_equality_and_hash_are_the_fields_but_hidden_ones() -> None:
    one, same = Hop(3, "10.0.0.1", raw=b"\x01"), Hop(3, "10.0.0.1", raw=b"\x02")
    assert one == same and hash(one) == hash(same) and len({one, same}) == 1
    assert one != Hop(3, "10.0.0.2") and one != Hop(3, "10.0.0.1", weight=2)
    assert one != Other(3, "10.0.0.1")  # the same fields, another record
    assert one != (3, "10.0.0.1", 1)


def test_repr_shows_the_fields_but_hidden_ones_and_the_class_may_have_its_own() -> None:
    assert repr(Hop(3, raw=b"secret")) == "Hop(oif=3, gateway=None, weight=1)"
    assert repr(Worded("x")) == "<x>"


def test_replace_changes_only_what_it_names() -> None:
    hop = Hop(3, "10.0.0.1", raw=b"\x01")
    changed = replace(hop, weight=5)
    assert (changed.oif, changed.gateway, changed.weight, changed.raw) == (3, "10.0.0.1", 5, b"\x01")  # hidden ones too
    assert hop.weight == 1 and type(changed) is Hop
    with pytest.raises(TypeError, match="Hop has no field nonsense"):
        replace(hop, nonsense=1)  # a misspelt field is not silently left as it was


def test_fields_are_slots() -> None:
    hop = Hop(3)
    assert Hop.__slots__ == Hop._fields == Hop.__match_args__ == ("oif", "gateway", "weight", "raw")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        hop.other = 1  # type: ignore[attr-defined]


def test_a_record_without_fields() -> None:
    @record
    class Empty:
        pass

    assert Empty() == Empty() and repr(Empty()) == "Empty()"


def test_lazy_annotations_are_refused_not_made_into_a_record_without_fields() -> None:
    """Python 3.14 (PEP 649) leaves a class's annotations to an __annotate__
    function unless its module has `from __future__ import annotations`:
    such a class would become a record without fields, silently."""
    lazy = type("Lazy", (), {"__annotate__": lambda format: {"oif": int}})
    with pytest.raises(TypeError, match="Lazy: its module needs `from __future__ import annotations`"):
        record(lazy)
