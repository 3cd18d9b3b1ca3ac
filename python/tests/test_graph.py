"""Nodes, edges, iterators, degrees and property dicts."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

import quiver
from quiver import Edge


def test_create_and_read_back(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("Person", {"name": "Alice"})
        b = tx.create_node("Person")
        c = tx.create_node("City")
        e1 = tx.create_edge(a, b, "KNOWS", {"since": 2019})
        e2 = tx.create_edge(a, c, "LIVES_IN")
        assert a >= 1 and len({a, b, c}) == 3 and e1 != e2
    with db.read() as tx:
        assert tx.label(a) == "Person" and tx.label(c) == "City"
        assert tx.edge(e1) == Edge(e1, a, b, "KNOWS")
        assert tx.edge(e2).type == "LIVES_IN"
        assert isinstance(tx.edge(e1), tuple)
        assert tx.get_edge(e1, "since") == 2019
        assert list(tx.nodes()) == [a, b, c]
        assert list(tx.nodes("Person")) == [a, b]
        assert list(tx.nodes("Nobody")) == []


def test_edges_directions_types_and_self_loops(db: quiver.Database) -> None:
    with db.write() as tx:
        a, b = tx.create_node("N"), tx.create_node("N")
        ab = tx.create_edge(a, b, "X")
        ba = tx.create_edge(b, a, "Y")
        aa = tx.create_edge(a, a, "X")
    with db.read() as tx:
        assert {e.id for e in tx.edges(a)} == {ab, aa}
        assert {e.id for e in tx.edges(a, "in")} == {ba, aa}
        both = [e.id for e in tx.edges(a, "both")]
        assert sorted(both) == sorted([ab, ba, aa])  # the self-loop once
        assert {e.id for e in tx.edges(a, "out", "X")} == {ab, aa}
        assert list(tx.edges(a, "out", "Y")) == []
        assert list(tx.edges(a, "both", "NEVER")) == []
        assert tx.degree(a) == 2 and tx.degree(a, "in") == 2 and tx.degree(a, "both") == 3
        assert tx.degree(a, "both", "X") == 2 and tx.degree(a, "both", "NEVER") == 0
        for e in tx.edges(a, "both"):
            assert tx.edge(e.id) == e
        with pytest.raises(quiver.InvalidArgumentError, match="direction"):
            tx.edges(a, "sideways")
        with pytest.raises(quiver.InvalidArgumentError, match="direction"):
            tx.degree(a, "OUT")
        with pytest.raises(quiver.NotFoundError):
            tx.edges(999)  # raised when the iterator is made, not when it is read
        with pytest.raises(quiver.NotFoundError):
            tx.degree(999)


@pytest.mark.parametrize("count", [0, 1, 511, 512, 513, 1500])
def test_iteration_across_batches(db: quiver.Database, count: int) -> None:
    with db.write() as tx:
        hub = tx.create_node("Hub")
        others = [tx.create_node("Leaf") for _ in range(count)]
        edges = [tx.create_edge(hub, o, f"T{i % 3}") for i, o in enumerate(others)]
    with db.read() as tx:
        got = list(tx.edges(hub))
        assert sorted(e.id for e in got) == edges
        assert {e.type for e in got} <= {"T0", "T1", "T2"}
        assert all(e.src == hub and tx.edge(e.id) == e for e in got)
        assert list(tx.nodes("Leaf")) == others
        assert len(list(tx.nodes())) == count + 1
        assert tx.degree(hub) == count


def test_iterators_see_the_state_when_made(db: quiver.Database) -> None:
    with db.write() as tx:
        hub = tx.create_node("Hub")
        leaves = [tx.create_node("Leaf") for _ in range(1000)]
        for leaf in leaves:
            tx.create_edge(hub, leaf, "T")
        it = tx.edges(hub)
        nit = tx.nodes("Leaf")
        first = next(it)
        deleted = 0
        for e in it:  # deleting while iterating is safe, and the iterator is unchanged
            tx.delete_edge(e.id)
            deleted += 1
        tx.delete_edge(first.id)
        assert deleted == 999
        for leaf in nit:
            tx.delete_node(leaf)
        assert tx.degree(hub) == 0 and list(tx.nodes("Leaf")) == []


def test_interleaved_iterators_in_one_transaction(db: quiver.Database) -> None:
    with db.write() as tx:
        a, b = tx.create_node("A"), tx.create_node("B")
        for _ in range(700):
            tx.create_edge(a, b, "AB")
            tx.create_edge(b, a, "BA")
    with db.read() as tx:
        ia, ib = tx.edges(a), tx.edges(b)
        pairs = list(zip(ia, ib))
        assert len(pairs) == 700
        assert all(x.type == "AB" and y.type == "BA" for x, y in pairs)


def test_iterator_close_and_garbage_collection(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("A")
        for _ in range(10):
            tx.create_edge(a, a, "L")
    with db.read() as tx:
        it = tx.edges(a)
        next(it)
        it.close()
        assert list(it) == []
        never_started = tx.nodes()
        del never_started  # its cursor is freed by the collector
        gc.collect()
    db.close()  # nothing left open


def started_iterators(
    db: quiver.Database,
) -> Tuple[quiver.Transaction, Iterator[Edge], Iterator[int], int]:
    """Commits a node with 600 self-loops (more than one batch), then opens a read
    transaction with an edges iterator over them that has read its first batch and a
    nodes iterator not yet started; returns those and the node."""
    with db.write() as tx:
        a = tx.create_node("A")
        for _ in range(600):
            tx.create_edge(a, a, "L")
    tx = db.read()
    it = tx.edges(a)
    unread = tx.nodes()
    assert next(it).src == a
    return tx, it, unread, a


def test_iterator_after_the_transaction_ended(db: quiver.Database) -> None:
    tx, it, unread, _ = started_iterators(db)
    tx.rollback()
    with pytest.raises(quiver.MisuseError, match="ended"):
        for _ in it:  # the first batch was read; the next read fails
            pass
    with pytest.raises(quiver.MisuseError):
        next(unread)


def test_delete_node_with_edges_and_detach(db: quiver.Database) -> None:
    with db.write() as tx:
        a, b = tx.create_node("N"), tx.create_node("N")
        e = tx.create_edge(a, b, "E")
        with pytest.raises(quiver.ConstraintError) as ei:
            tx.delete_node(a)
        assert ei.value.status == 23 and ei.value.message
        assert tx.edge(e).src == a  # the failed call changed nothing
        tx.delete_node(a, detach=True)
        with pytest.raises(quiver.NotFoundError):
            tx.edge(e)
        with pytest.raises(quiver.NotFoundError):
            tx.label(a)
        assert tx.degree(b, "in") == 0
        tx.delete_node(b)
        with pytest.raises(quiver.NotFoundError):
            tx.delete_node(b)
        with pytest.raises(quiver.NotFoundError):
            tx.delete_edge(e)


def test_edge_to_missing_node(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("N")
        with pytest.raises(quiver.NotFoundError):
            tx.create_edge(a, 999, "E")
        with pytest.raises(quiver.NotFoundError):
            tx.create_edge(999, a, "E")


def test_props_dicts(db: quiver.Database) -> None:
    values: Dict[str, quiver.Value] = {
        "s": "x",
        "i": -7,
        "f": 0.5,
        "b": b"\0",
        "t": True,
        "n": None,
        "e": "",
    }
    with db.write() as tx:
        a = tx.create_node("N", values)
        bare = tx.create_node("N")
        e = tx.create_edge(a, bare, "E", values)
        plain = tx.create_edge(a, bare, "E")
        assert tx.props(a) == values
        tx.set(a, "added", 1)
        tx.unset(a, "s")
    with db.read() as tx:
        want = {k: v for k, v in values.items() if k != "s"}
        want["added"] = 1
        got = tx.props(a)
        assert got == want
        assert all(type(got[k]) is type(v) for k, v in want.items())
        assert tx.props(bare) == {}
        assert tx.edge_props(e) == values
        assert tx.edge_props(plain) == {}
        with pytest.raises(quiver.NotFoundError):
            tx.props(999)
        with pytest.raises(quiver.NotFoundError):
            tx.edge_props(999)


def test_create_with_props_is_all_or_nothing(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("N")
        with pytest.raises(quiver.InvalidArgumentError):
            tx.create_node("N", {"ok": 1, "bad": [1]})  # type: ignore[dict-item]
        with pytest.raises(quiver.InvalidArgumentError):
            tx.create_node("N", {"ok": 1, "": 2})  # refused by the library
        with pytest.raises(quiver.InvalidArgumentError):
            tx.create_edge(a, a, "E", {"ok": 1, "x" * 2000: 2})
        with pytest.raises(quiver.InvalidArgumentError, match="mapping"):
            tx.create_node("N", [("k", 1)])  # type: ignore[arg-type]
        with pytest.raises(quiver.InvalidArgumentError, match="must be a str"):
            tx.create_node("N", {1: 1})  # type: ignore[dict-item]
        assert list(tx.nodes()) == [a]
        assert tx.degree(a) == 0


@pytest.mark.parametrize(
    "props, match",
    [
        ({"ok": 1, "": 2}, "empty"),  # a bad key
        ({"a": 1, "z": b"x", "s": "\udcff"}, "UTF-8"),  # refused before the call
        ({"a": 1, "k": "x" * (16 * 1024 * 1024 + 1)}, "16777216"),  # refused by the library
    ],
)
def test_refused_create_leaves_nothing_and_uses_no_id(
    db: quiver.Database, props: Dict[str, quiver.Value], match: str
) -> None:
    """create_* is one qv_*_insert_with call: a refused property leaves no node or edge and
    uses up no id (an insert followed by a delete would use one), so the next create gets
    the id the refused one would have had, as from C."""
    with db.write() as tx:
        a = tx.create_node("N")
        e = tx.create_edge(a, a, "E")
        with pytest.raises(quiver.InvalidArgumentError, match=match):
            tx.create_node("N", props)
        with pytest.raises(quiver.InvalidArgumentError, match=match):
            tx.create_edge(a, a, "E", props)
        assert list(tx.nodes()) == [a]
        assert tx.degree(a) == 1
        b = tx.create_node("N", {"k": "v", "n": None})
        f = tx.create_edge(a, b, "E", {"k": 1})
        assert (b, f) == (a + 1, e + 1)
    with db.read() as tx:
        assert list(tx.nodes()) == [a, b]
        assert tx.props(b) == {"k": "v", "n": None}
        assert tx.edge_props(f) == {"k": 1}


def test_create_with_many_props_keeps_key_order(db: quiver.Database) -> None:
    many: Dict[str, quiver.Value] = {f"k{i}": "v" * i for i in range(40)}
    with db.write() as tx:
        n = tx.create_node("N", many)
        small = tx.create_node("N", {"b": 1, "a": 2})
        again = tx.create_node("N", {"b": 1, "a": 2})  # the same cached array, refilled
        assert tx.props(n) == many and list(tx.props(n)) == list(many)
        assert list(tx.props(small).items()) == [("b", 1), ("a", 2)]
        assert tx.props(again) == {"b": 1, "a": 2}


def test_edge_properties(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("N")
        e = tx.create_edge(a, a, "E")
        tx.set_edge(e, "w", 1.5)
        assert tx.get_edge(e, "w") == 1.5
        tx.unset_edge(e, "w")
        assert tx.get_edge(e, "w", None) is None
        with pytest.raises(quiver.NotFoundError):
            tx.get_edge(e, "w")
        with pytest.raises(quiver.NotFoundError):
            tx.set_edge(999, "w", 1)
        with pytest.raises(quiver.NotFoundError):
            tx.unset_edge(999, "w")
        with pytest.raises(quiver.NotFoundError):
            tx.set(999, "w", 1)
        with pytest.raises(quiver.NotFoundError):
            tx.unset(999, "w")


def test_cursor_outliving_its_transaction_and_database(db_path: Path) -> None:
    db = quiver.open(db_path)
    tx, it, nodes, a = started_iterators(db)
    tx.commit()
    db.close()  # the cursors are still to be freed: after the database closed
    del it, nodes
    gc.collect()
    with quiver.open(db_path) as again, again.read() as tx2:
        assert tx2.degree(a) == 600
