"""Opening and closing a database, and the calls made on the database as a whole."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from ctypes import byref
from typing import Any, Callable, List, NamedTuple, Optional, Union

from . import _ffi
from ._errors import (
    BusyError,
    CorruptError,
    Error,
    InvalidArgumentError,
    MisuseError,
    raise_status,
)
from ._scope import Scoped
from ._txn import Transaction

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_SYNC = {"full": _ffi.QV_SYNC_FULL, "normal": _ffi.QV_SYNC_NORMAL, "off": _ffi.QV_SYNC_OFF}
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1


class CheckReport(NamedTuple):
    """What Database.check() found: slots examined, problems, the first problem."""

    nodes_checked: int
    edges_checked: int
    problems: int
    first_problem: str

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.problems == 0


class Stats(NamedTuple):
    """Counts (as of the latest commit), file sizes, log positions, open readers."""

    # The fields of qv_db_stats, in its order.

    nodes: int
    edges: int
    data_bytes: int
    wal_bytes: int
    last_commit_lsn: int
    checkpoint_lsn: int
    readers: int


class RecoveryStats(NamedTuple):
    """What recovery did when the database was opened."""

    # The fields of qv_recovery_stats, in its order.

    txns_replayed: int
    txns_discarded: int
    nodes: int
    edges: int
    props: int
    wal_bytes_scanned: int
    bytes_truncated: int
    micros: int


def _path_bytes(path: PathLike) -> bytes:
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise InvalidArgumentError(
            f"path must be str, bytes or os.PathLike, not {type(path).__name__}"
        ) from None
    if b"\0" in raw:
        raise InvalidArgumentError(f"path {path!r} contains a NUL character")
    return raw


def _count(value: object, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InvalidArgumentError(f"{what} must be an int in 0..{limit}, not {value!r}")
    return int(value)


def open(
    path: PathLike,
    *,
    create: bool = True,
    read_only: bool = False,
    sync: str = "full",
    busy_timeout: float = 5.0,
    checkpoint_bytes: int = 0,
    segment_bytes: int = 0,
    untimed_checkpoints: bool = False,
) -> Database:
    """Opens (with create=True, creating) the database directory at `path`.

    sync: "full" (every commit is durable when it returns), "normal" (fsync at most about
    once a second) or "off" (only checkpoints and close fsync). busy_timeout: seconds a
    writer waits for the writer lock before BusyError. checkpoint_bytes, segment_bytes:
    0 for the library's defaults (64 MiB). untimed_checkpoints: checkpoint automatically
    only by size (checkpoint_bytes of log, or 2**18 nodes and edges changed, since the last
    one), not also once commits have waited a tenth of a second or the writer is idle.
    create=False and no database: NotFoundError; open elsewhere: LockedError.
    """
    raw = _path_bytes(path)
    mode = _SYNC.get(sync) if isinstance(sync, str) else None
    if mode is None:
        raise InvalidArgumentError(f"sync must be 'full', 'normal' or 'off', not {sync!r}")
    if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)):
        raise InvalidArgumentError(
            f"busy_timeout must be a number of seconds, not {busy_timeout!r}"
        )
    if not 0 <= busy_timeout * 1000 <= _U32_MAX:  # also refuses NaN
        raise InvalidArgumentError(
            f"busy_timeout must be in 0..{_U32_MAX / 1000} seconds, not {busy_timeout!r}"
        )
    opts = _ffi.Options()
    _ffi.qv_options_init(byref(opts))
    opts.flags = (
        (_ffi.QV_OPEN_CREATE if create else 0)
        | (_ffi.QV_OPEN_READ_ONLY if read_only else 0)
        | (_ffi.QV_OPEN_UNTIMED_CHECKPOINTS if untimed_checkpoints else 0)
    )
    opts.sync = mode
    opts.busy_timeout_ms = round(busy_timeout * 1000)
    opts.checkpoint_bytes = _count(checkpoint_bytes, "checkpoint_bytes", _U64_MAX)
    opts.segment_bytes = _count(segment_bytes, "segment_bytes", _U64_MAX)
    out = ctypes.c_void_p()
    st = _ffi.qv_open(raw, byref(opts), byref(out))
    if st:
        raise_status(st)
    assert out.value is not None
    return Database(out.value, os.fsdecode(raw), read_only)


class Database(Scoped):
    """An open database; see quiver.open(). Threads may share it.

    As a context manager it closes on exit. close() raises BusyError while transactions
    are open; after close() every method raises MisuseError.
    """

    def __init__(self, handle: int, path: str, read_only: bool) -> None:
        self._handle: Optional[int] = handle
        self.path = path
        self.read_only = read_only
        # Database-level calls in progress. qv_close must not run while another thread is
        # inside a call on the handle, so close() waits for them; while it waits (and
        # closes), new calls wait too, so a busy thread cannot starve it.
        self._cond = threading.Condition(threading.Lock())
        self._calls = 0
        self._closing = False

    def __repr__(self) -> str:
        return f"<quiver.Database {self.path!r}{' closed' if self._handle is None else ''}>"

    @property
    def closed(self) -> bool:
        """True once close() succeeded."""
        return self._handle is None

    def _enter(self) -> int:
        with self._cond:
            while self._closing:
                self._cond.wait()
            h = self._handle
            if h is None:
                raise MisuseError("the database is closed")
            self._calls += 1
            return h

    def _leave(self) -> None:
        with self._cond:
            self._calls -= 1
            if self._calls == 0:
                self._cond.notify_all()

    def _call(self, fn: Callable[..., int], *args: Any, ok: int = _ffi.QV_OK) -> None:
        """fn(handle, *args) as a database-level call (see _enter), raising its failure
        unless its status is `ok`."""
        h = self._enter()
        try:
            st = fn(h, *args)
            if st and st != ok:
                raise_status(st)
        finally:
            self._leave()

    def close(self) -> None:
        """Closes the database (a final checkpoint first). BusyError, and the database
        stays open, while transactions are open. Closing twice is allowed."""
        with self._cond:
            while self._closing:  # another thread is closing it
                self._cond.wait()
            h = self._handle
            if h is None:
                return
            self._closing = True
            try:
                self._cond.wait_for(lambda: self._calls == 0)
                st = _ffi.qv_close(h)
                if st != BusyError.STATUS:  # every outcome but QV_BUSY frees the handle
                    self._handle = None
                if st:
                    raise_status(st)
            finally:
                self._closing = False
                self._cond.notify_all()

    def _exit(self, failed: bool) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    def _begin(self, flags: int) -> int:
        out = ctypes.c_void_p()
        self._call(_ffi.qv_txn_begin, flags, byref(out))
        assert out.value is not None
        return out.value

    def read(self) -> Transaction:
        """Begins a read transaction: a snapshot of everything committed so far, for its
        whole life. It never waits for the writer. `with db.read() as tx:` ends it."""
        return Transaction(self, self._begin(_ffi.QV_TXN_READ_ONLY), write=False)

    def write(self) -> Transaction:
        """Begins the write transaction (one at a time: waits up to busy_timeout for the
        current one, then BusyError). `with db.write() as tx:` commits on normal exit and
        rolls back on an exception."""
        return Transaction(self, self._begin(0), write=True)

    def checkpoint(self) -> None:
        """Moves committed changes from the log into the data files (as far as open
        readers allow). Waits for the writer lock: do not call it from a thread that holds
        the write transaction."""
        self._call(_ffi.qv_checkpoint)

    def check(self) -> CheckReport:
        """Checks every invariant of the latest committed state. Problems are reported in
        the result (problems > 0), not raised."""
        rep = _ffi.CheckReport()
        # QV_CORRUPT: the report says what was found.
        self._call(_ffi.qv_check, byref(rep), ok=CorruptError.STATUS)
        return CheckReport(
            rep.nodes_checked,
            rep.edges_checked,
            rep.problems,
            rep.first_problem.decode("utf-8", "replace"),
        )

    def stats(self) -> Stats:
        """Counts and sizes, as of the latest commit."""
        s = _ffi.DbStats()
        self._call(_ffi.qv_stats, byref(s))
        return Stats._make(getattr(s, f) for f in Stats._fields)

    def last_recovery(self) -> RecoveryStats:
        """What recovery did when this database was opened."""
        r = _ffi.RecoveryStats()
        self._call(_ffi.qv_last_recovery, byref(r))
        return RecoveryStats._make(getattr(r, f) for f in RecoveryStats._fields)

    def backup(
        self,
        dest: PathLike,
        *,
        compact: bool = False,
        progress: Optional[Callable[[int, int], Optional[bool]]] = None,
    ) -> None:
        """Copies the database as of the latest commit into a new database at `dest`
        (which must not exist: InvalidArgumentError; its parent must: NotFoundError) while
        other threads go on reading and committing. compact=True copies live data only.

        progress(done, total) is called on this thread every megabyte or so with the bytes
        written and an estimated total; returning True cancels the backup (Interrupted).
        An exception raised by progress cancels it too and is raised from backup().
        Ctrl-C (SIGINT, default handler, main thread) during the backup cancels it and
        raises KeyboardInterrupt. After any failure or cancel nothing is left at `dest`.
        The GIL is released while the library copies.
        """
        raw = _path_bytes(dest)
        flags = _ffi.QV_BACKUP_COMPACT if compact else 0
        raised: List[BaseException] = []
        with _SigintFlag() as sigint:

            def on_progress(user: Optional[int], done: int, total: int) -> int:
                try:
                    if progress is not None and progress(done, total):
                        return 1
                except BaseException as e:  # KeyboardInterrupt and SystemExit too
                    raised.append(e)
                    return 1
                return 1 if sigint.caught else 0

            callback = _ffi.PROGRESS_FN(on_progress)
            try:
                self._call(_ffi.qv_backup, raw, flags, callback, None)
            except Error as e:
                if raised:
                    raise raised[0] from e
                if sigint.caught:
                    raise KeyboardInterrupt from e
                raise
        if raised:  # the library finished although the callback asked it to stop
            raise raised[0]


class _SigintFlag:
    """While active (a with block on the main thread, SIGINT at its default handler),
    SIGINT sets .caught instead of raising KeyboardInterrupt, and the KeyboardInterrupt
    is raised when the block ends (unless the block raised). Elsewhere it does nothing.

    A long library call is interrupted through its callback: the signal handler runs when
    Python code next runs on the main thread, which is inside the callback, at its very
    first instruction, before any try block there could catch an exception (ctypes would
    print and drop one raised there). So the handler only takes note; the callback cancels.
    """

    def __init__(self) -> None:
        self.caught = False
        self._active = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.caught = True

    def __enter__(self) -> _SigintFlag:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            signal.signal(signal.SIGINT, self._handler)
            self._active = True
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if self._active:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if self.caught and kind is None:
                raise KeyboardInterrupt


__all__ = ["CheckReport", "Database", "Error", "RecoveryStats", "Stats", "open"]
