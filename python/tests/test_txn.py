"""Transactions, savepoints, and the life of a Database."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any, Callable, List

import pytest

import quiver
from quiver import _ffi


class Boom(Exception):
    pass


def count_nodes(db: quiver.Database) -> int:
    with db.read() as tx:
        return len(list(tx.nodes()))


def test_write_block_commits_on_normal_exit(db: quiver.Database) -> None:
    with db.write() as tx:
        tx.create_node("N")
        assert not tx.ended and not tx.read_only
    assert tx.ended
    assert count_nodes(db) == 1


def test_write_block_rolls_back_on_exception(db: quiver.Database) -> None:
    with pytest.raises(Boom):
        with db.write() as tx:
            tx.create_node("N")
            raise Boom()
    assert tx.ended
    assert count_nodes(db) == 0


def test_read_block_always_ends(db: quiver.Database) -> None:
    with db.read() as tx:
        assert tx.read_only
        assert db.stats().readers == 1
    assert tx.ended and db.stats().readers == 0
    with pytest.raises(Boom):
        with db.read() as tx:
            raise Boom()
    assert tx.ended and db.stats().readers == 0


def test_commit_or_rollback_inside_the_block(db: quiver.Database) -> None:
    with db.write() as tx:
        tx.create_node("N")
        tx.commit()
    with db.write() as tx:
        tx.create_node("N")
        tx.rollback()
    with pytest.raises(Boom):
        with db.write() as tx:
            tx.create_node("N")
            tx.commit()
            raise Boom()  # already committed: the exit changes nothing
    assert count_nodes(db) == 2


def test_explicit_commit_and_rollback(db: quiver.Database) -> None:
    tx = db.write()
    tx.create_node("N")
    tx.commit()
    tx = db.write()
    tx.create_node("N")
    tx.rollback()
    assert count_nodes(db) == 1


METHODS: Any = [
    ("create_node", ("N",)),
    ("create_edge", (1, 1, "E")),
    ("delete_node", (1,)),
    ("delete_edge", (1,)),
    ("label", (1,)),
    ("edge", (1,)),
    ("get", (1, "k")),
    ("get", (1, "k", None)),
    ("set", (1, "k", 1)),
    ("unset", (1, "k")),
    ("props", (1,)),
    ("get_edge", (1, "k")),
    ("set_edge", (1, "k", 1)),
    ("unset_edge", (1, "k")),
    ("edge_props", (1,)),
    ("edges", (1,)),
    ("nodes", ()),
    ("degree", (1,)),
    ("savepoint", ("s",)),
    ("rollback_to", ("s",)),
    ("release", ("s",)),
    ("commit", ()),
    ("rollback", ()),
]


@pytest.mark.parametrize("name,args", METHODS, ids=[m[0] + str(len(m[1])) for m in METHODS])
def test_ended_transaction_raises_misuse_without_calling_the_library(
    db: quiver.Database, monkeypatch: pytest.MonkeyPatch, name: str, args: Any
) -> None:
    tx = db.write()
    tx.commit()

    def refuse(*a: Any) -> int:
        raise AssertionError("the library was called")

    for fn in list(vars(_ffi)):
        if fn.startswith("qv_") and callable(getattr(_ffi, fn)):
            monkeypatch.setattr(_ffi, fn, refuse)
    with pytest.raises(quiver.MisuseError, match="ended") as ei:
        getattr(tx, name)(*args)
    assert ei.value.status == 12 and ei.value.status_name == "QV_MISUSE"


def test_closed_database_raises_misuse_without_calling_the_library(
    db: quiver.Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db.close()
    assert db.closed
    db.close()  # twice is fine

    def refuse(*a: Any) -> int:
        raise AssertionError("the library was called")

    for fn in list(vars(_ffi)):
        if fn.startswith("qv_") and callable(getattr(_ffi, fn)):
            monkeypatch.setattr(_ffi, fn, refuse)
    calls = [db.read, db.write, db.checkpoint, db.check, db.stats, db.last_recovery]
    for call in calls:
        with pytest.raises(quiver.MisuseError, match="closed"):
            call()
    with pytest.raises(quiver.MisuseError, match="closed"):
        db.backup(tmp_path / "b")


def test_snapshot_isolation(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N", {"v": 1})
    reader = db.read()
    with db.write() as tx:
        tx.set(n, "v", 2)
        tx.create_node("N")
        assert tx.get(n, "v") == 2  # the writer reads its own writes
    assert reader.get(n, "v") == 1 and list(reader.nodes()) == [n]
    reader.rollback()
    with db.read() as tx:
        assert tx.get(n, "v") == 2 and len(list(tx.nodes())) == 2


def test_writes_in_a_read_transaction(db: quiver.Database) -> None:
    with db.write() as tx:
        n = tx.create_node("N")
    with db.read() as tx:
        calls: List[Callable[[], object]] = [
            lambda: tx.create_node("N"),
            lambda: tx.set(n, "k", 1),
            lambda: tx.unset(n, "k"),
            lambda: tx.delete_node(n),
            lambda: tx.create_edge(n, n, "E"),
            lambda: tx.savepoint("s"),
        ]
        for call in calls:
            with pytest.raises(quiver.ReadOnlyError) as ei:
                call()
            assert ei.value.status == 22 and ei.value.message


def test_read_only_database(db_path: Path) -> None:
    with quiver.open(db_path) as db:
        with db.write() as tx:
            tx.create_node("N")
    with quiver.open(db_path, read_only=True) as db:
        assert db.read_only
        with pytest.raises(quiver.ReadOnlyError):
            db.write()
        with db.read() as tx:
            assert list(tx.nodes()) == [1]


def test_savepoints_as_context_managers(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("A")
        with tx.savepoint("sp") as sp:
            assert sp.name == "sp"
            tx.create_node("B")
        with pytest.raises(Boom):
            with tx.savepoint("sp"):
                tx.create_node("C")
                tx.set(a, "k", 1)
                raise Boom()
        assert [tx.label(n) for n in tx.nodes()] == ["A", "B"]
        assert tx.get(a, "k", None) is None
        with pytest.raises(quiver.NotFoundError):
            tx.release("sp")  # both were released
    assert count_nodes(db) == 2


def test_nested_and_repeated_savepoints(db: quiver.Database) -> None:
    with db.write() as tx:
        tx.create_node("A")
        with tx.savepoint("outer"):
            tx.create_node("B")
            with pytest.raises(Boom):
                with tx.savepoint("inner"):
                    tx.create_node("C")
                    raise Boom()
            tx.savepoint("x")
            tx.create_node("D")
            tx.savepoint("x")  # the latest "x" is meant
            tx.create_node("E")
            tx.rollback_to("x")
            assert [tx.label(n) for n in tx.nodes()] == ["A", "B", "D"]
            tx.rollback_to("x")  # it stays
            tx.release("x")
            tx.rollback_to("x")  # now the first "x"
            assert [tx.label(n) for n in tx.nodes()] == ["A", "B"]
        tx.savepoint("open at commit")
        tx.create_node("F")
    with db.read() as tx:
        assert [tx.label(n) for n in tx.nodes()] == ["A", "B", "F"]


def test_savepoint_errors(db: quiver.Database) -> None:
    with db.write() as tx:
        with pytest.raises(quiver.NotFoundError):
            tx.rollback_to("nope")
        with pytest.raises(quiver.NotFoundError):
            tx.release("nope")
        sp = tx.savepoint("s")
        tx.create_node("N")
        sp.rollback()
        assert list(tx.nodes()) == []
        sp.release()
    with pytest.raises(Boom):
        with db.write() as tx:
            with tx.savepoint("s"):
                tx.commit()  # ending the transaction inside the block
                raise Boom()


def test_close_with_open_transaction_is_busy(db: quiver.Database) -> None:
    tx = db.read()
    with pytest.raises(quiver.BusyError) as ei:
        db.close()
    assert ei.value.status == 20 and not db.closed
    assert list(tx.nodes()) == []  # still usable
    tx.rollback()
    db.close()
    assert db.closed


def test_dropped_transaction_is_rolled_back(db: quiver.Database) -> None:
    tx = db.write()
    tx.create_node("N")
    del tx
    gc.collect()
    assert count_nodes(db) == 0
    db.close()


def test_database_context_manager_closes(db_path: Path) -> None:
    with quiver.open(db_path) as db:
        assert not db.closed
    assert db.closed
    assert "closed" in repr(db)


def test_open_twice_is_locked(db: quiver.Database, db_path: Path) -> None:
    with pytest.raises(quiver.LockedError) as ei:
        quiver.open(db_path)
    assert ei.value.status == 21 and ei.value.message


def test_open_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(quiver.NotFoundError) as ei:
        quiver.open(tmp_path / "missing", create=False)
    assert isinstance(ei.value, KeyError) and ei.value.status == 2
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("sync", ["full", "normal", "off"])
def test_open_options(tmp_path: Path, sync: str) -> None:
    with quiver.open(
        str(tmp_path / "o"),
        sync=sync,
        busy_timeout=0.25,
        checkpoint_bytes=1 << 20,
        segment_bytes=1 << 20,
    ) as db:
        with db.write() as tx:
            tx.create_node("N")
    with quiver.open(tmp_path / "o", create=False) as db:
        assert db.stats().nodes == 1


def test_untimed_checkpoints(tmp_path: Path) -> None:
    # By default a commit is checkpointed within a few tenths of a second with no further
    # call (the writer is idle); with untimed_checkpoints it waits for checkpoint_bytes.
    with quiver.open(tmp_path / "timed") as db:
        with db.write() as tx:
            tx.create_node("N")
        deadline = time.monotonic() + 30
        while db.stats().checkpoint_lsn != db.stats().last_commit_lsn:
            assert time.monotonic() < deadline, "no timed checkpoint after 30 s"
            time.sleep(0.005)
    with quiver.open(tmp_path / "untimed", untimed_checkpoints=True) as db:
        with db.write() as tx:
            tx.create_node("N")
        time.sleep(0.5)
        s = db.stats()
        assert s.checkpoint_lsn != s.last_commit_lsn, "checkpointed with untimed_checkpoints"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sync": "sometimes"},
        {"sync": 0},
        {"busy_timeout": -1},
        {"busy_timeout": float("nan")},
        {"busy_timeout": 1e12},
        {"busy_timeout": True},
        {"checkpoint_bytes": -1},
        {"segment_bytes": 1.5},
    ],
    ids=repr,
)
def test_bad_open_options(tmp_path: Path, kwargs: Any) -> None:
    with pytest.raises(quiver.InvalidArgumentError):
        quiver.open(tmp_path / "o", **kwargs)
    assert not (tmp_path / "o").exists()


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(quiver.InvalidArgumentError, match="NUL"):
        quiver.open(str(tmp_path) + "/a\0b")
    with pytest.raises(quiver.InvalidArgumentError):
        quiver.open(42)  # type: ignore[arg-type]
    with quiver.open(bytes(tmp_path / "bytes-path")) as db:
        assert db.path.endswith("bytes-path")


def test_checkpoint_stats_check_recovery(db: quiver.Database) -> None:
    with db.write() as tx:
        a = tx.create_node("N", {"x": "y" * 1000})
        tx.create_edge(a, a, "E")
    s = db.stats()
    assert (s.nodes, s.edges, s.readers) == (1, 1, 0)
    assert s.last_commit_lsn > 0 and s.wal_bytes > 0
    db.checkpoint()
    assert db.stats().checkpoint_lsn == db.stats().last_commit_lsn
    report = db.check()
    assert report.ok and report.problems == 0 and report.first_problem == ""
    assert report.nodes_checked >= 1 and report.edges_checked >= 1
    r = db.last_recovery()
    assert r.txns_replayed == 0 and r.bytes_truncated == 0


def test_checkpoint_in_read_only_database(db_path: Path) -> None:
    quiver.open(db_path).close()
    with quiver.open(db_path, read_only=True) as db:
        with pytest.raises(quiver.ReadOnlyError):
            db.checkpoint()


def test_recovery_replays_after_reopen(db_path: Path) -> None:
    db = quiver.open(db_path)
    with db.write() as tx:
        tx.create_node("N")
    db.close()
    with quiver.open(db_path) as db:
        assert db.stats().nodes == 1
