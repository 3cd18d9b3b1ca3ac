"""Threads: readers and a writer at once, the GIL released, a shared Transaction, and
per-thread error messages."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, List

import pytest

import quiver


def run_threads(targets: List[Callable[[], None]]) -> None:
    errors: List[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as e:
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]


def test_readers_and_a_writer(db: quiver.Database) -> None:
    # The writer commits batches that keep one invariant: every node has value == its
    # batch's size. Each reader's snapshot must be whole: a batch entirely or not at all.
    stop = threading.Event()
    commits = 60

    def writer() -> None:
        try:
            for i in range(commits):
                with db.write() as tx:
                    size = 1 + i % 7
                    for _ in range(size):
                        tx.create_node(f"B{i}", {"size": size})
        finally:
            stop.set()

    def reader() -> None:
        snapshots = 0
        while not stop.is_set() or snapshots < 3:
            with db.read() as tx:
                counts: dict[str, int] = {}
                total = 0
                for n in tx.nodes():
                    label = tx.label(n)
                    counts[label] = counts.get(label, 0) + 1
                    total += 1
                for label, count in counts.items():
                    nodes = list(tx.nodes(label))
                    assert len(nodes) == count == tx.get(nodes[0], "size")
            snapshots += 1

    run_threads([writer] + [reader] * 4)
    with db.read() as tx:
        assert len(list(tx.nodes())) == sum(1 + i % 7 for i in range(commits))
    assert db.check().ok


def test_many_writers_take_turns(db: quiver.Database) -> None:
    def writer() -> None:
        for _ in range(20):
            with db.write() as tx:
                n = tx.create_node("W")
                tx.set(n, "t", threading.get_ident())

    run_threads([writer] * 4)
    assert db.stats().nodes == 80


def test_gil_is_released_while_the_library_waits(db_path: Path) -> None:
    # One thread waits inside qv_txn_begin for the writer lock (busy_timeout 1 s); if the
    # GIL were held, this thread could not count meanwhile.
    with quiver.open(db_path, busy_timeout=1.0) as db:
        holder = db.write()
        done = threading.Event()
        result: List[BaseException] = []

        def waiter() -> None:
            try:
                db.write()
            except quiver.BusyError as e:
                result.append(e)
            finally:
                done.set()

        t = threading.Thread(target=waiter)
        t.start()
        ticks = 0
        start = time.monotonic()
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)
        elapsed = time.monotonic() - start
        t.join()
        holder.rollback()
        assert isinstance(result[0], quiver.BusyError)
        assert elapsed > 0.5 and ticks > 50


def test_transaction_shared_by_two_threads_is_serialized(db: quiver.Database) -> None:
    tx = db.write()
    hub = tx.create_node("Hub")
    per_thread = 400

    def worker(tag: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(per_thread):
                n = tx.create_node("T")
                tx.set(n, "tag", tag)
                tx.set(n, "i", i)
                tx.create_edge(hub, n, "HAS")
                assert tx.get(n, "tag") == tag and tx.label(n) == "T"
                if i % 50 == 0:
                    assert len(list(tx.edges(hub))) >= i

        return run

    run_threads([worker(1), worker(2)])
    assert tx.degree(hub) == 2 * per_thread
    tags = [tx.get(e.dst, "tag") for e in tx.edges(hub)]
    assert tags.count(1) == tags.count(2) == per_thread
    tx.commit()
    assert db.check().ok


def test_commit_racing_other_calls_never_crashes(db: quiver.Database) -> None:
    # One thread commits while another keeps calling: the other gets MisuseError once the
    # transaction ended, never a use of a freed handle.
    for _ in range(20):
        tx = db.write()
        n = tx.create_node("N")
        seen: List[str] = []

        def caller(tx: quiver.Transaction = tx, n: int = n, seen: List[str] = seen) -> None:
            for _ in range(200):
                try:
                    tx.set(n, "k", 1)
                    seen.append("ok")
                except quiver.MisuseError:
                    seen.append("ended")

        t = threading.Thread(target=caller)
        t.start()
        tx.commit()
        t.join()
        assert set(seen) <= {"ok", "ended"}


def test_error_messages_are_per_thread(db: quiver.Database) -> None:
    # Each thread fails on its own ids; each exception carries its own call's message,
    # though the threads fail at the same time.
    with db.write() as tx:
        tx.create_node("N")
    threads = 8
    rounds = 300
    barrier = threading.Barrier(threads)

    def worker(k: int) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()
            with db.read() as tx:
                for r in range(rounds):
                    missing = 1_000_000 * (k + 1) + r
                    with pytest.raises(quiver.NotFoundError) as ei:
                        if r % 2:
                            tx.label(missing)
                        else:
                            tx.edge(missing)
                    assert str(missing) in ei.value.message, (k, r, ei.value.message)

        return run

    run_threads([worker(k) for k in range(threads)])


def test_close_is_not_starved_by_busy_threads(db_path: Path) -> None:
    # Threads call the database in tight loops; close() waits for the calls in progress,
    # lets no new one start, and closes promptly. Two threads close at once: both return.
    db = quiver.open(db_path)
    with db.write() as tx:
        tx.create_node("N")
    stop = threading.Event()
    seen: List[str] = []

    def stats_loop() -> None:
        while not stop.is_set():
            try:
                db.stats()
                seen.append("ok")
            except quiver.MisuseError:
                seen.append("closed")
                return

    loops = [threading.Thread(target=stats_loop) for _ in range(3)]
    for t in loops:
        t.start()
    time.sleep(0.05)
    started = time.monotonic()
    run_threads([db.close, db.close])
    took = time.monotonic() - started
    stop.set()
    for t in loops:
        t.join()
    assert db.closed and took < 2.0
    assert seen.count("closed") == 3 and "ok" in seen
