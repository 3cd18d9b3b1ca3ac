"""Database.backup: copies, compact copies, refused destinations, cancels (from progress,
by an exception, by Ctrl-C), a writer committing throughout, and kill -9 mid-copy."""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import quiver
from quiver import _ffi

CHILD = Path(__file__).with_name("backup_child.py")

Nodes = Dict[int, Tuple[str, Dict[str, Any]]]
Edges = Dict[int, Tuple[int, int, str, Dict[str, Any]]]
Dump = Tuple[Nodes, Edges]


def dump(db: quiver.Database) -> Dump:
    """Every node (label, properties) and edge (ends, type, properties), by id."""
    nodes: Nodes = {}
    edges: Edges = {}
    with db.read() as tx:
        for n in tx.nodes():
            nodes[n] = (tx.label(n), tx.props(n))
            for e in tx.edges(n, "out"):
                edges[e.id] = (e.src, e.dst, e.type, tx.edge_props(e.id))
    return nodes, edges


def dump_of(path: Path) -> Dump:
    """The dump of the database at path, which must check clean."""
    with quiver.open(path, create=False) as copy:
        report = copy.check()
        assert report.ok, report
        return dump(copy)


def hidden(dest: Path) -> List[str]:
    """The hidden .NAME.qvbackup-* siblings of dest."""
    prefix = f".{dest.name}.qvbackup-"
    return [p.name for p in dest.parent.iterdir() if p.name.startswith(prefix)]


def assert_nothing_at(dest: Path) -> None:
    assert not dest.exists() and not dest.is_symlink(), f"{dest} exists"
    assert hidden(dest) == [], f"hidden directories left: {hidden(dest)}"


def blob(k: int, n: int) -> bytes:
    """n bytes, different for every k."""
    pattern = bytes((k * 131 + i * 7) % 256 for i in range(256))
    return (pattern * (n // 256 + 1))[:n]


def fill_varied(db: quiver.Database) -> None:
    """Every value type, edges, deletes and unsets, with a checkpoint halfway."""
    ids: List[int] = []
    for rnd in range(2):
        with db.write() as tx:
            for i in range(40):
                props: Dict[str, quiver.Value] = {"i": i, "f": i / 3, "s": f"n-{rnd}-{i}"}
                props.update({"b": blob(i, 10 + 40 * i), "t": i % 2 == 0, "nil": None})
                ids.append(tx.create_node(("Person", "City", "Thing")[i % 3], props))
            for i in range(1, len(ids), 3):
                tx.create_edge(ids[i - 1], ids[i], "NEXT", {"w": i})
        if rnd == 0:
            db.checkpoint()
    with db.write() as tx:
        for i in range(5, len(ids), 11):
            tx.delete_node(ids[i], detach=True)
        tx.unset(ids[0], "s")
        tx.set(ids[1], "b", blob(999, 5000))


def fill_large(db: quiver.Database, n: int, size: int) -> None:
    """n nodes "Big" {"seq", "v": size bytes}, checkpointed."""
    for start in range(0, n, 16):
        with db.write() as tx:
            for j in range(start, min(start + 16, n)):
                tx.create_node("Big", {"seq": j, "v": blob(j, size)})
    db.checkpoint()


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("compact", [False, True])
def test_backup_round_trip(db: quiver.Database, tmp_path: Path, compact: bool) -> None:
    fill_varied(db)
    want = dump(db)
    calls: List[Tuple[int, int]] = []

    def progress(done: int, total: int) -> bool:
        calls.append((done, total))
        return False

    dest = tmp_path / "copy"
    db.backup(dest, compact=compact, progress=progress)
    assert hidden(dest) == []
    assert calls and calls[-1][0] == calls[-1][1] > 0, calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls), "done went backwards"
    with db.write() as tx:  # after the backup: not in the copy
        tx.create_node("After")
    assert dump_of(dest) == want
    with quiver.open(dest, create=False) as copy:
        assert copy.last_recovery().txns_replayed == 0, "the copy's log is not empty"
        assert copy.stats().nodes == len(want[0]) and copy.stats().edges == len(want[1])
        with copy.write() as tx:  # a working database
            tx.create_node("InCopy")
    with quiver.open(dest, create=False) as copy, copy.read() as tx:
        assert len(list(tx.nodes("InCopy"))) == 1 and list(tx.nodes("After")) == []


def test_compact_copy_is_smaller(db: quiver.Database, tmp_path: Path) -> None:
    with db.write() as tx:
        ids = [tx.create_node("N", {"v": blob(i, 16384)}) for i in range(20)]
    for rnd in range(30):
        with db.write() as tx:
            for i, n in enumerate(ids):
                tx.set(n, "v", blob(rnd * 100 + i, 16384))
        db.checkpoint()  # every superseded value is freed, its space reused
    want = dump(db)
    db.backup(tmp_path / "plain")
    db.backup(tmp_path / "compact", compact=True)
    assert dump_of(tmp_path / "plain") == want
    assert dump_of(tmp_path / "compact") == want
    plain, compact = dir_bytes(tmp_path / "plain"), dir_bytes(tmp_path / "compact")
    live = 20 * 16384
    # The source reuses freed space: it holds the live values and the round its last
    # checkpoint freed (reusable from the next one on), not 30 superseded rounds. A plain
    # copy carries that free space, a compact one only the live values.
    assert plain < 4 * live, (compact, plain)
    assert plain - compact >= live, (compact, plain)
    assert compact >= live


def test_refused_destinations(db: quiver.Database, tmp_path: Path) -> None:
    with db.write() as tx:
        tx.create_node("N", {"k": "v"})
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep").write_text("mine")
    (tmp_path / "file").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    for name in ("dir", "file", "link"):
        with pytest.raises(quiver.InvalidArgumentError, match="exists") as ei:
            db.backup(tmp_path / name)
        assert ei.value.status == 11 and isinstance(ei.value, ValueError)
        assert hidden(tmp_path / name) == []
    assert (tmp_path / "dir" / "keep").read_text() == "mine"
    assert (tmp_path / "file").read_text() == "mine"
    with pytest.raises(quiver.NotFoundError):
        db.backup(tmp_path / "no" / "such" / "parent")
    assert not (tmp_path / "no").exists()
    with pytest.raises(quiver.InvalidArgumentError):
        db.backup("")
    with pytest.raises(quiver.InvalidArgumentError, match="NUL"):
        db.backup(str(tmp_path / "a\0b"))
    # The source is unharmed.
    with db.write() as tx:
        tx.create_node("N")
    assert db.check().ok
    db.backup(tmp_path / "ok", compact=True)
    assert dump_of(tmp_path / "ok") == dump(db)
    db.close()
    with pytest.raises(quiver.MisuseError, match="closed"):
        db.backup(tmp_path / "closed")
    assert_nothing_at(tmp_path / "closed")


@pytest.mark.parametrize("at_call", [1, 3])
def test_cancel_from_progress(db: quiver.Database, tmp_path: Path, at_call: int) -> None:
    fill_large(db, 48, 131072)  # 6 MiB: several progress calls
    dest = tmp_path / "copy"
    seen: List[Tuple[int, int]] = []
    during: List[List[str]] = []

    def progress(done: int, total: int) -> bool:
        seen.append((done, total))
        during.append(hidden(dest))
        return len(seen) == at_call

    with pytest.raises(quiver.Interrupted) as ei:
        db.backup(dest, progress=progress)
    assert ei.value.status == 24 and ei.value.status_name == "QV_INTERRUPTED"
    assert "cancel" in ei.value.message
    assert len(seen) == at_call, "progress was called after it cancelled"
    if at_call > 1:
        done, total = seen[-1]
        assert 0 < done < total, seen
    assert all(len(h) == 1 for h in during), during  # the copy went to a hidden directory
    assert_nothing_at(dest)
    # The source is unharmed and a new backup to the same dest succeeds.
    assert db.check().ok
    with db.write() as tx:
        tx.create_node("After")
    db.backup(dest)
    assert dump_of(dest) == dump(db)


@pytest.mark.parametrize("how", ["RuntimeError", "KeyboardInterrupt", "SystemExit", "SIGINT"])
def test_exception_or_ctrl_c_in_progress_cancels(
    db: quiver.Database, tmp_path: Path, how: str
) -> None:
    """An exception raised by progress, or SIGINT arriving while progress runs (here:
    sleeps), cancels the backup; backup() raises it (KeyboardInterrupt for SIGINT)."""
    if how == "SIGINT" and threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    exc = {"RuntimeError": RuntimeError("stop here"), "SystemExit": SystemExit(3)}.get(
        how, KeyboardInterrupt()
    )
    fill_large(db, 32, 131072)
    dest = tmp_path / "copy"
    calls = 0

    def progress(done: int, total: int) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2 and how == "SIGINT":
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.01)
        elif calls == 2:
            raise exc
        return False

    with pytest.raises(type(exc)) as ei:
        db.backup(dest, progress=progress)
    assert how == "SIGINT" or ei.value is exc
    assert isinstance(ei.value.__cause__, quiver.Interrupted)
    assert calls == 2, "the backup went on after progress raised"
    assert_nothing_at(dest)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    db.backup(dest)
    assert dump_of(dest) == dump(db)


def test_ctrl_c_cancels_a_backup(tmp_path: Path) -> None:
    """SIGINT while the main thread is inside backup() (no progress callback of its own):
    KeyboardInterrupt, and nothing left. In a child process, so that the signal cannot
    reach pytest."""
    src = tmp_path / "src"
    with quiver.open(src) as db:
        fill_large(db, 384, 131072)  # 48 MiB
    out = subprocess.run(
        [sys.executable, str(CHILD), "sigint", str(src), str(tmp_path / "copy")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n") == ["interrupted", "dest no", "hidden 0", ""], out.stdout
    assert dump_of(src)[0]  # the source opens and checks


def test_backup_releases_the_gil() -> None:
    """ctypes releases the GIL around calls through a CDLL (not a PyDLL)."""
    assert type(_ffi._lib) is ctypes.CDLL
    flags, pythonapi = getattr(_ffi.qv_backup, "_flags_"), getattr(ctypes, "_FUNCFLAG_PYTHONAPI")  # noqa: B009
    assert not flags & pythonapi


class Committer:
    """A thread that commits transaction after transaction: k creates node "T"
    {"seq": k, "v": ...} and sets the root's "last" to k; acked is the last k whose
    commit returned."""

    def __init__(self, db: quiver.Database) -> None:
        with db.write() as tx:
            self.root = tx.create_node("Root", {"last": 0})
        self.db = db
        self.acked = 0
        self.error: Optional[BaseException] = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    @staticmethod
    def value(k: int) -> bytes:
        return blob(k, 100 + (k % 50) * 20)

    def run(self) -> None:
        k = 0
        try:
            while not self.stop.is_set():
                k += 1
                with self.db.write() as tx:
                    tx.create_node("T", {"seq": k, "v": self.value(k)})
                    tx.set(self.root, "last", k)
                self.acked = k
                time.sleep(0.0002)
        except BaseException as e:
            self.error = e

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(60)
        if self.error is not None:
            raise self.error


def committed_prefix(dest: Path, root: int) -> int:
    """Checks that the copy at dest holds exactly transactions 1..last, whole; returns last."""
    with quiver.open(dest, create=False) as copy:
        assert copy.check().ok
        with copy.read() as tx:
            last = tx.get(root, "last")
            assert isinstance(last, int)
            seqs = []
            for n in tx.nodes("T"):
                props = tx.props(n)
                seq = props["seq"]
                assert isinstance(seq, int)
                seqs.append(seq)
                assert props["v"] == Committer.value(seq)
    assert sorted(seqs) == list(range(1, last + 1)), (last, sorted(seqs)[-5:])
    return last


def holding(writer: Committer) -> Tuple[Callable[[int, int], bool], List[int]]:
    """A progress callback that, at its first call (the snapshot is taken by then), notes
    writer.acked in the list and holds the backup there until the writer committed five
    more (the GIL is free while it sleeps)."""
    at_first: List[int] = []

    def progress(done: int, total: int) -> bool:
        if not at_first:
            at_first.append(writer.acked)
            deadline = time.monotonic() + 30
            while writer.acked < at_first[0] + 5:
                assert time.monotonic() < deadline, "the writer is stuck"
                assert writer.thread.is_alive(), writer.error
                time.sleep(0.001)
        return False

    return progress, at_first


def test_backups_while_a_thread_commits(tmp_path: Path) -> None:
    db = quiver.open(tmp_path / "src", sync="normal")
    fill_large(db, 32, 65536)
    writer = Committer(db)
    try:
        for i in range(6):
            dest = tmp_path / f"copy{i}"
            before = writer.acked
            progress, at_first = holding(writer)
            db.backup(dest, compact=i % 3 == 0, progress=progress if i % 2 == 0 else None)
            after = writer.acked
            last = committed_prefix(dest, writer.root)
            assert before <= last <= after, (before, last, after)
            if at_first:
                assert last <= at_first[0], "the copy holds commits made after its snapshot"
                assert after >= at_first[0] + 5
    finally:
        writer.finish()
        db.close()
    assert writer.acked > 0


def run_kill_child(src: Path, dest: Path) -> Tuple[List[int], str]:
    """Runs backup_child.py kill, SIGKILLs it once it is in the middle of the copy;
    returns its acknowledged commits and its "started" line."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "kill", str(src), str(dest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    acks: List[int] = []
    started = ""
    try:
        while not started:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"child died: {proc.stderr.read()}")
            if line.startswith("ack "):
                acks.append(int(line.split()[1]))
            elif line.startswith("started"):
                started = line.strip()
    finally:
        proc.kill()  # SIGKILL
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -9
    return acks, started


@pytest.mark.slow
def test_kill_9_during_a_backup(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "copy"
    with quiver.open(src) as db:
        fill_large(db, 96, 131072)  # 12 MiB
        before = dump(db)
    acked: List[int] = []
    for rnd in range(3):
        acks, started = run_kill_child(src, dest)
        assert acks == [len(acked) + 1, len(acked) + 2, len(acked) + 3]
        acked += acks
        _, done, total = started.split()
        assert 0 < int(done) < int(total), started
        assert not dest.exists(), f"round {rnd}: {dest} exists after a kill mid-copy"
        with quiver.open(src, create=False) as db:
            assert db.check().ok
            nodes, edges = dump(db)
            ks = sorted(int(props["seq"]) for label, props in nodes.values() if label == "K")
            assert ks == acked, f"round {rnd}: acknowledged commits lost"
            assert {n: v for n, v in nodes.items() if v[0] != "K"} == before[0]
            assert edges == before[1]
            db.backup(dest, compact=rnd == 1)  # a leftover hidden directory is no obstacle
            assert dump_of(dest) == (nodes, edges)
        for p in [dest, *(tmp_path / h for h in hidden(dest))]:
            shutil.rmtree(p)
