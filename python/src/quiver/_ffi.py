"""Every ctypes declaration of the C API (include/quiver.h), and loading the library.

Nothing else lives here: no Python-side logic beyond finding, loading and checking the
library. Every function gets its argtypes and restype (the default restype, int, would
truncate pointers). Handles (qv_db*, qv_txn*, qv_cursor*) travel as plain ints.

ctypes.CDLL (unlike PyDLL) releases the GIL for the whole of every call, so other Python
threads run while the library works, reads or waits for the writer lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    Structure,
    Union,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

# The library series this package is written for: libquiver MAJOR.MINOR (its SONAME,
# libquiver.so.0.1). A patch release of the series is compatible; another series is not.
ABI_SERIES: Tuple[int, int] = (0, 1)

# Where to look; the first that exists wins (README.md, "Python").
LIBRARY_ENV = "QUIVER_LIBRARY"
LIBRARY_NAME = "libquiver.dylib" if sys.platform == "darwin" else "libquiver.so"
BUNDLED_LIBRARY = Path(__file__).resolve().parent / "_lib" / LIBRARY_NAME

# ---- Constants (the header's enums and #defines) ------------------------------------

QV_OK = 0
QV_DONE = 1

QV_OPEN_CREATE = 1
QV_OPEN_READ_ONLY = 2
QV_OPEN_UNTIMED_CHECKPOINTS = 4
QV_TXN_READ_ONLY = 1
QV_DETACH = 1
QV_BACKUP_COMPACT = 1

QV_SYNC_FULL = 0
QV_SYNC_NORMAL = 1
QV_SYNC_OFF = 2

QV_OUT = 1
QV_IN = 2
QV_BOTH = 3

QV_TYPE_NULL = 0
QV_TYPE_BOOL = 1
QV_TYPE_INT = 2
QV_TYPE_FLOAT = 3
QV_TYPE_STRING = 4
QV_TYPE_BYTES = 5

QV_MAX_IDENT_LEN = 1024
QV_MAX_VALUE_LEN = 16 * 1024 * 1024
QV_MAX_PROPS_LEN = 64 * 1024 * 1024

# ---- Structures ---------------------------------------------------------------------


class Options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("flags", c_uint32),
        ("sync", c_uint32),
        ("busy_timeout_ms", c_uint32),
        ("checkpoint_bytes", c_uint64),
        ("segment_bytes", c_uint64),
    ]


class CheckReport(Structure):
    _fields_ = [
        ("nodes_checked", c_uint64),
        ("edges_checked", c_uint64),
        ("problems", c_uint64),
        ("first_problem", c_char * 256),
    ]


class RecoveryStats(Structure):
    _fields_ = [
        ("txns_replayed", c_uint64),
        ("txns_discarded", c_uint64),
        ("nodes", c_uint64),
        ("edges", c_uint64),
        ("props", c_uint64),
        ("wal_bytes_scanned", c_uint64),
        ("bytes_truncated", c_uint64),
        ("micros", c_uint64),
    ]


class DbStats(Structure):
    _fields_ = [
        ("nodes", c_uint64),
        ("edges", c_uint64),
        ("data_bytes", c_uint64),
        ("wal_bytes", c_uint64),
        ("last_commit_lsn", c_uint64),
        ("checkpoint_lsn", c_uint64),
        ("readers", c_uint64),
    ]


class Edge(Structure):
    # type is a NUL-terminated string owned by the transaction; kept as an address so
    # that a batch of edges can be decoded with one struct.iter_unpack (see EDGE_FORMAT).
    _fields_ = [("id", c_uint64), ("src", c_uint64), ("dst", c_uint64), ("type", c_void_p)]


# struct module layout of one qv_edge (native alignment, like the C compiler's).
EDGE_FORMAT = "@QQQP"


class Bytes(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class BytesIn(Structure):
    """qv_bytes as the package fills it in: assigning bytes to a c_char_p field is several
    times faster than taking their address with ctypes.cast (and the field keeps them)."""

    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]


class ValueAs(Union):
    _fields_ = [
        ("b", c_bool),
        ("i", c_int64),
        ("f", c_double),
        ("bytes", Bytes),
        ("bytes_in", BytesIn),
    ]


class Value(Structure):
    _fields_ = [("type", c_uint32), ("as_", ValueAs)]


class Prop(Structure):
    _fields_ = [("key", c_char_p), ("value", Value)]


# int (*qv_progress_fn)(void *user, uint64_t done, uint64_t total)
PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, c_uint64, c_uint64)

# ---- Functions ----------------------------------------------------------------------

_db = c_void_p
_txn = c_void_p
_cur = c_void_p
_status = c_uint32


def _to(target: Any) -> Any:
    """A pointer-to-`target` parameter, declared as void*.

    The package always passes ctypes.byref() of a `target` (or an array of them). A
    POINTER(target) declaration would have ctypes check that on every call, which costs
    about 0.3 µs, as much as the library's own work in a property get; `target` stays
    named here for the reader.
    """
    return c_void_p


def _library_path() -> str:
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return explicit
    if BUNDLED_LIBRARY.is_file():
        return str(BUNDLED_LIBRARY)
    found = ctypes.util.find_library("quiver")
    if found:
        return found
    raise ImportError(
        f"quiver: no libquiver found: not in the package ({BUNDLED_LIBRARY}), "
        f"{LIBRARY_ENV} is not set, and the system has none. Install the package with "
        "`pip install ./python` after `cargo build --release`, or set "
        f"{LIBRARY_ENV}=/path/to/{LIBRARY_NAME}."
    )


def _load() -> Tuple[ctypes.CDLL, str, str]:
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"quiver: cannot load {path}: {e}") from e
    try:
        version_fn = lib.qv_version
    except AttributeError:
        raise ImportError(f"quiver: {path} is not libquiver (it has no qv_version)") from None
    version_fn.restype = c_char_p
    version_fn.argtypes = []
    raw = version_fn()
    version = raw.decode("ascii", "replace") if raw else "?"
    try:
        series = tuple(int(x) for x in version.split(".")[:2])
    except ValueError:
        series = ()
    if series != ABI_SERIES:
        want = f"{ABI_SERIES[0]}.{ABI_SERIES[1]}"
        raise ImportError(
            f"quiver: {path} is libquiver {version}, but this package needs libquiver "
            f"{want}.x (a library of another series has another ABI). Reinstall the package "
            f"from a matching build, or point {LIBRARY_ENV} at a {want} build."
        )
    return lib, path, version


_lib, LIBRARY_PATH, LIBRARY_VERSION = _load()


_missing: List[str] = []


def _fn(name: str, restype: Any, argtypes: List[Any], required: bool = True) -> Any:
    """Library function `name` with its restype and argtypes, or None if the library lacks
    it (noted in _missing when it is required)."""
    fn = getattr(_lib, name, None)
    if fn is None:
        if required:
            _missing.append(name)
        return None
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


# Every function the package calls, declared once: its Python type, then its C signature.
# Pointer arguments are ctypes.byref(...) objects, typed Any; statuses come back as int. A
# required function missing from the library refuses it at import (below); an optional
# one is None here and its Python method says so.
_Status = Callable[..., int]

qv_options_init: Callable[[Any], None] = _fn("qv_options_init", None, [_to(Options)])
qv_open: _Status = _fn("qv_open", _status, [c_char_p, _to(Options), _to(c_void_p)])
qv_close: _Status = _fn("qv_close", _status, [_db])
qv_checkpoint: _Status = _fn("qv_checkpoint", _status, [_db])
qv_check: _Status = _fn("qv_check", _status, [_db, _to(CheckReport)])
qv_last_recovery: _Status = _fn("qv_last_recovery", _status, [_db, _to(RecoveryStats)])
qv_stats: _Status = _fn("qv_stats", _status, [_db, _to(DbStats)])
qv_status_str: Callable[[int], Optional[bytes]] = _fn("qv_status_str", c_char_p, [c_uint32])
qv_last_error: _Status = _fn("qv_last_error", _status, [c_void_p, c_size_t, _to(c_size_t)])
qv_version: Callable[[], Optional[bytes]] = _fn("qv_version", c_char_p, [])
qv_node_insert: _Status = _fn("qv_node_insert", _status, [_txn, c_char_p, _to(c_uint64)])
qv_node_delete: _Status = _fn("qv_node_delete", _status, [_txn, c_uint64, c_uint32])
qv_node_label: _Status = _fn("qv_node_label", _status, [_txn, c_uint64, _to(c_char_p)])
qv_edge_insert: _Status = _fn(
    "qv_edge_insert", _status, [_txn, c_uint64, c_uint64, c_char_p, _to(c_uint64)]
)
qv_edge_delete: _Status = _fn("qv_edge_delete", _status, [_txn, c_uint64])
qv_edge_get: _Status = _fn("qv_edge_get", _status, [_txn, c_uint64, _to(Edge)])
qv_node_set: _Status = _fn("qv_node_set", _status, [_txn, c_uint64, c_char_p, _to(Value)])
qv_node_get: _Status = _fn("qv_node_get", _status, [_txn, c_uint64, c_char_p, _to(Value)])
qv_node_unset: _Status = _fn("qv_node_unset", _status, [_txn, c_uint64, c_char_p])
qv_edge_set: _Status = _fn("qv_edge_set", _status, [_txn, c_uint64, c_char_p, _to(Value)])
qv_edge_get_prop: _Status = _fn("qv_edge_get_prop", _status, [_txn, c_uint64, c_char_p, _to(Value)])
qv_edge_unset: _Status = _fn("qv_edge_unset", _status, [_txn, c_uint64, c_char_p])
qv_edges: _Status = _fn("qv_edges", _status, [_txn, c_uint64, c_uint32, c_char_p, _to(c_void_p)])
qv_cursor_next_edge: _Status = _fn("qv_cursor_next_edge", _status, [_cur, _to(Edge)])
qv_nodes: _Status = _fn("qv_nodes", _status, [_txn, c_char_p, _to(c_void_p)])
qv_cursor_next_node: _Status = _fn("qv_cursor_next_node", _status, [_cur, _to(c_uint64)])
qv_cursor_free: Callable[[int], None] = _fn("qv_cursor_free", None, [_cur])
qv_degree: _Status = _fn("qv_degree", _status, [_txn, c_uint64, c_uint32, c_char_p, _to(c_uint64)])
qv_txn_begin: _Status = _fn("qv_txn_begin", _status, [_db, c_uint32, _to(c_void_p)])
qv_txn_commit: _Status = _fn("qv_txn_commit", _status, [_txn])
qv_txn_rollback: Callable[[int], None] = _fn("qv_txn_rollback", None, [_txn])
qv_savepoint: _Status = _fn("qv_savepoint", _status, [_txn, c_char_p])
qv_rollback_to: _Status = _fn("qv_rollback_to", _status, [_txn, c_char_p])
qv_release: _Status = _fn("qv_release", _status, [_txn, c_char_p])
# API.md "Version 0.2 additions": the batch reads, property listing, inserts with
# properties and backup are required; the rest is optional (None when the library lacks
# it).
qv_cursor_next_edges: _Status = _fn(
    "qv_cursor_next_edges", _status, [_cur, _to(Edge), c_size_t, _to(c_size_t)]
)
qv_cursor_next_nodes: _Status = _fn(
    "qv_cursor_next_nodes", _status, [_cur, _to(c_uint64), c_size_t, _to(c_size_t)]
)
qv_node_props: _Status = _fn("qv_node_props", _status, [_txn, c_uint64, _to(c_void_p)])
qv_edge_props: _Status = _fn("qv_edge_props", _status, [_txn, c_uint64, _to(c_void_p)])
qv_cursor_next_prop: _Status = _fn("qv_cursor_next_prop", _status, [_cur, _to(Prop)])
qv_node_insert_with: _Status = _fn(
    "qv_node_insert_with",
    _status,
    [_txn, c_char_p, _to(Prop), c_size_t, _to(c_uint64)],
)
qv_edge_insert_with: _Status = _fn(
    "qv_edge_insert_with",
    _status,
    [_txn, c_uint64, c_uint64, c_char_p, _to(Prop), c_size_t, _to(c_uint64)],
)
qv_backup: _Status = _fn("qv_backup", _status, [_db, c_char_p, c_uint32, PROGRESS_FN, c_void_p])
qv_digest: Optional[_Status] = _fn("qv_digest", _status, [_txn, _to(c_uint8 * 32)], required=False)

if _missing:
    raise ImportError(
        f"quiver: {LIBRARY_PATH} (libquiver {LIBRARY_VERSION}) lacks {', '.join(_missing)}: "
        "it is older than this package needs. Rebuild the library from the same source tree."
    )
