"""Property values: every type, its edge cases, stored None against unset, identifiers."""

from __future__ import annotations

import math
from typing import Any, List

import pytest

import quiver

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_VALUE = 16 * 1024 * 1024

ROUND_TRIP: List[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    INT64_MIN,
    INT64_MAX,
    0.0,
    -0.0,
    1.5,
    -2.25e300,
    5e-324,
    math.inf,
    -math.inf,
    "",
    "a",
    "héllo wörld ✓ 𝄞",
    "nul\0inside",
    b"",
    b"\0",
    b"\x00\xff\x80binary",
    bytes(range(256)),
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_node_value_round_trip(db: quiver.Database, value: Any) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        tx.set(n, "k", value)
        got = tx.get(n, "k")  # the write transaction reads its own write
        assert type(got) is type(value) and got == value
    with db.read() as tx:
        got = tx.get(n, "k")
        assert type(got) is type(value) and got == value
        if isinstance(value, float) and isinstance(got, float):
            assert math.copysign(1, got) == math.copysign(1, value)


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_edge_value_round_trip(db: quiver.Database, value: Any) -> None:
    with db.write() as tx:
        a = tx.create_node("N")
        e = tx.create_edge(a, a, "SELF")
        tx.set_edge(e, "k", value)
    with db.read() as tx:
        got = tx.get_edge(e, "k")
        assert type(got) is type(value) and got == value


def test_nan_round_trips(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N", {"x": math.nan})
        got = tx.get(n, "x")
        assert isinstance(got, float) and math.isnan(got)


def test_bool_is_not_int(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N", {"t": True, "one": 1, "f": False, "zero": 0})
        assert tx.get(n, "t") is True
        assert tx.get(n, "f") is False
        assert type(tx.get(n, "one")) is int and tx.get(n, "one") == 1
        assert type(tx.get(n, "zero")) is int and tx.get(n, "zero") == 0


def test_int_subclass_is_stored_as_int(db: quiver.Database) -> None:
    import enum

    class Color(enum.IntEnum):
        RED = 3

    with db.write() as tx:
        n = tx.create_node("N", {"c": Color.RED})
        assert type(tx.get(n, "c")) is int and tx.get(n, "c") == 3


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 2**64, -(2**100)])
def test_int_outside_int64_is_refused(db: quiver.Database, value: int) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        with pytest.raises(quiver.InvalidArgumentError, match="outside int64") as ei:
            tx.set(n, "k", value)
        assert ei.value.status == 11 and ei.value.status_name == "QV_INVALID_ARGUMENT"
        assert isinstance(ei.value, ValueError)
        assert tx.get(n, "k", "unset") == "unset"


@pytest.mark.parametrize(
    "value", [[1], {"a": 1}, (1,), bytearray(b"x"), memoryview(b"x"), 1j, object(), {1}], ids=repr
)
def test_unsupported_types_are_refused(db: quiver.Database, value: Any) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        with pytest.raises(quiver.InvalidArgumentError, match="cannot store a value of type"):
            tx.set(n, "k", value)
        with pytest.raises(quiver.InvalidArgumentError):
            tx.create_node("N", {"k": value})


def test_surrogate_string_is_refused(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        with pytest.raises(quiver.InvalidArgumentError, match="not valid UTF-8"):
            tx.set(n, "k", "\ud800")


def test_large_values_up_to_the_limit(db: quiver.Database) -> None:
    big = bytes(range(256)) * (MAX_VALUE // 256)
    text = "x" * MAX_VALUE
    with db.write() as tx:
        n = tx.create_node("N")
        tx.set(n, "b", big)
        tx.set(n, "s", text)
    with db.read() as tx:
        assert tx.get(n, "b") == big
        assert tx.get(n, "s") == text


def test_value_over_the_limit_is_refused_by_the_library(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        with pytest.raises(quiver.InvalidArgumentError) as ei:
            tx.set(n, "b", b"x" * (MAX_VALUE + 1))
        assert ei.value.message  # the library's own message
        assert "16777216" in ei.value.message or "limit" in ei.value.message.lower()


def test_stored_none_is_not_unset(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N", {"nul": None})
    with db.read() as tx:
        assert tx.get(n, "nul") is None
        assert tx.get(n, "nul", "dflt") is None
        assert tx.get(n, "other", "dflt") == "dflt"
        assert tx.get(n, "other", None) is None
        with pytest.raises(quiver.NotFoundError) as ei:
            tx.get(n, "other")
        assert isinstance(ei.value, KeyError)
        assert "other" in ei.value.message


def test_unset_removes_and_unset_of_unset_is_fine(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N", {"a": 1, "b": None})
        tx.unset(n, "a")
        tx.unset(n, "b")
        tx.unset(n, "never")
        assert tx.get(n, "a", 42) == 42
        assert tx.get(n, "b", 42) == 42


def test_get_with_default_on_missing_node_still_raises(db: quiver.Database) -> None:
    with db.read() as tx:
        with pytest.raises(quiver.NotFoundError, match="node 12345"):
            tx.get(12345, "k", "dflt")
        with pytest.raises(quiver.NotFoundError):
            tx.get_edge(12345, "k", "dflt")


def test_overwrite_changes_type(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        values: List[quiver.Value] = [1, "one", b"1", 1.0, True, None, 2]
        for v in values:
            tx.set(n, "k", v)
            assert tx.get(n, "k") == v and type(tx.get(n, "k")) is type(v)


def test_value_read_is_a_copy(db: quiver.Database) -> None:
    # The library's memory for a value lasts until the next write; the package copies.
    with db.write() as tx:
        n = tx.create_node("N", {"s": "first", "b": b"first"})
        s, b = tx.get(n, "s"), tx.get(n, "b")
        tx.set(n, "s", "second")
        tx.set(n, "b", b"second")
        tx.create_node("Other", {"pad": "x" * 10000})
        assert s == "first" and b == b"first"


IDENT_USES = ["label", "key", "edge type", "savepoint", "nodes label", "edges type", "degree type"]


def _use_ident(tx: quiver.Transaction, use: str, name: Any) -> None:
    n = tx.create_node("N")
    if use == "label":
        tx.create_node(name)
    elif use == "key":
        tx.set(n, name, 1)
    elif use == "edge type":
        tx.create_edge(n, n, name)
    elif use == "savepoint":
        tx.savepoint(name)
    elif use == "nodes label":
        list(tx.nodes(name))
    elif use == "edges type":
        list(tx.edges(n, "out", name))
    elif use == "degree type":
        tx.degree(n, "out", name)


@pytest.mark.parametrize("use", IDENT_USES)
def test_nul_in_identifier_is_refused(db: quiver.Database, use: str) -> None:
    with db.write() as tx:
        with pytest.raises(quiver.InvalidArgumentError, match="NUL") as ei:
            _use_ident(tx, use, "ab\0cd")
        assert ei.value.status == 11


@pytest.mark.parametrize("use", ["label", "key", "edge type", "savepoint"])
def test_empty_and_too_long_identifiers_are_refused_by_the_library(
    db: quiver.Database, use: str
) -> None:
    with db.write() as tx:
        for bad in ["", "x" * 1025]:
            with pytest.raises(quiver.InvalidArgumentError) as ei:
                _use_ident(tx, use, bad)
            assert ei.value.message and "NUL" not in ei.value.message


@pytest.mark.parametrize("use", IDENT_USES)
def test_identifier_of_wrong_type_is_refused(db: quiver.Database, use: str) -> None:
    with db.write() as tx:
        with pytest.raises(quiver.InvalidArgumentError, match="must be a str"):
            _use_ident(tx, use, b"bytes")


def test_longest_and_unicode_identifiers(db: quiver.Database) -> None:
    longest = "k" * 1024
    uni = "ключ✓"
    with db.write() as tx:
        n = tx.create_node(longest, {longest: 1, uni: 2})
        e = tx.create_edge(n, n, uni)
        assert tx.label(n) == longest
        assert tx.get(n, longest) == 1 and tx.get(n, uni) == 2
        assert tx.edge(e).type == uni
        assert list(tx.nodes(longest)) == [n]


def test_ids_must_be_ints_in_range(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
        for bad in [True, -1, 2**64, 1.0, "1", None]:
            with pytest.raises(quiver.InvalidArgumentError):
                tx.label(bad)  # type: ignore[arg-type]
        with pytest.raises(quiver.NotFoundError):
            tx.label(0)
        with pytest.raises(quiver.NotFoundError):
            tx.label(2**64 - 1)
        assert tx.label(n) == "N"
