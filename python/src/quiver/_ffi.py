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
from typing import Any, Callable, Dict, List, Optional, Tuple

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


class ValueAs(Union):
    _fields_ = [("b", c_bool), ("i", c_int64), ("f", c_double), ("bytes", Bytes)]


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


# name -> (restype, argtypes, required). A required function missing from the library
# refuses it at import; an optional one is None here and its Python method says so.
_SIGNATURES: Dict[str, Tuple[Any, List[Any], bool]] = {
    "qv_options_init": (None, [_to(Options)], True),
    "qv_open": (_status, [c_char_p, _to(Options), _to(c_void_p)], True),
    "qv_close": (_status, [_db], True),
    "qv_checkpoint": (_status, [_db], True),
    "qv_check": (_status, [_db, _to(CheckReport)], True),
    "qv_last_recovery": (_status, [_db, _to(RecoveryStats)], True),
    "qv_stats": (_status, [_db, _to(DbStats)], True),
    "qv_status_str": (c_char_p, [c_uint32], True),
    "qv_last_error": (_status, [c_void_p, c_size_t, _to(c_size_t)], True),
    "qv_version": (c_char_p, [], True),
    "qv_node_insert": (_status, [_txn, c_char_p, _to(c_uint64)], True),
    "qv_node_delete": (_status, [_txn, c_uint64, c_uint32], True),
    "qv_node_label": (_status, [_txn, c_uint64, _to(c_char_p)], True),
    "qv_edge_insert": (_status, [_txn, c_uint64, c_uint64, c_char_p, _to(c_uint64)], True),
    "qv_edge_delete": (_status, [_txn, c_uint64], True),
    "qv_edge_get": (_status, [_txn, c_uint64, _to(Edge)], True),
    "qv_node_set": (_status, [_txn, c_uint64, c_char_p, _to(Value)], True),
    "qv_node_get": (_status, [_txn, c_uint64, c_char_p, _to(Value)], True),
    "qv_node_unset": (_status, [_txn, c_uint64, c_char_p], True),
    "qv_edge_set": (_status, [_txn, c_uint64, c_char_p, _to(Value)], True),
    "qv_edge_get_prop": (_status, [_txn, c_uint64, c_char_p, _to(Value)], True),
    "qv_edge_unset": (_status, [_txn, c_uint64, c_char_p], True),
    "qv_edges": (_status, [_txn, c_uint64, c_uint32, c_char_p, _to(c_void_p)], True),
    "qv_cursor_next_edge": (_status, [_cur, _to(Edge)], True),
    "qv_nodes": (_status, [_txn, c_char_p, _to(c_void_p)], True),
    "qv_cursor_next_node": (_status, [_cur, _to(c_uint64)], True),
    "qv_cursor_free": (None, [_cur], True),
    "qv_degree": (_status, [_txn, c_uint64, c_uint32, c_char_p, _to(c_uint64)], True),
    "qv_txn_begin": (_status, [_db, c_uint32, _to(c_void_p)], True),
    "qv_txn_commit": (_status, [_txn], True),
    "qv_txn_rollback": (None, [_txn], True),
    "qv_savepoint": (_status, [_txn, c_char_p], True),
    "qv_rollback_to": (_status, [_txn, c_char_p], True),
    "qv_release": (_status, [_txn, c_char_p], True),
    # API.md "Version 0.2 additions": the batch reads and property listing are required;
    # the rest is optional (None when the library lacks it).
    "qv_cursor_next_edges": (_status, [_cur, _to(Edge), c_size_t, _to(c_size_t)], True),
    "qv_cursor_next_nodes": (_status, [_cur, _to(c_uint64), c_size_t, _to(c_size_t)], True),
    "qv_node_props": (_status, [_txn, c_uint64, _to(c_void_p)], True),
    "qv_edge_props": (_status, [_txn, c_uint64, _to(c_void_p)], True),
    "qv_cursor_next_prop": (_status, [_cur, _to(Prop)], True),
    "qv_node_insert_with": (
        _status,
        [_txn, c_char_p, _to(Prop), c_size_t, _to(c_uint64)],
        False,
    ),
    "qv_edge_insert_with": (
        _status,
        [_txn, c_uint64, c_uint64, c_char_p, _to(Prop), c_size_t, _to(c_uint64)],
        False,
    ),
    "qv_backup": (_status, [_db, c_char_p, c_uint32, PROGRESS_FN, c_void_p], False),
    "qv_digest": (_status, [_txn, _to(c_uint8 * 32)], False),
}


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
    missing = [name for name, (_, _, req) in _SIGNATURES.items() if req and not hasattr(lib, name)]
    if missing:
        raise ImportError(
            f"quiver: {path} (libquiver {version}) lacks {', '.join(missing)}: it is older "
            "than this package needs. Rebuild the library from the same source tree."
        )
    return lib, path, version


_lib, LIBRARY_PATH, LIBRARY_VERSION = _load()


def _declare(name: str) -> Any:
    restype, argtypes, _ = _SIGNATURES[name]
    fn = getattr(_lib, name, None)
    if fn is None:
        return None
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


# Typed names for the declared functions. Pointer arguments are ctypes.byref(...) objects,
# typed Any; statuses come back as int.
_Status = Callable[..., int]

qv_options_init: Callable[[Any], None] = _declare("qv_options_init")
qv_open: _Status = _declare("qv_open")
qv_close: _Status = _declare("qv_close")
qv_checkpoint: _Status = _declare("qv_checkpoint")
qv_check: _Status = _declare("qv_check")
qv_last_recovery: _Status = _declare("qv_last_recovery")
qv_stats: _Status = _declare("qv_stats")
qv_status_str: Callable[[int], Optional[bytes]] = _declare("qv_status_str")
qv_last_error: _Status = _declare("qv_last_error")
qv_version: Callable[[], Optional[bytes]] = _declare("qv_version")
qv_node_insert: _Status = _declare("qv_node_insert")
qv_node_delete: _Status = _declare("qv_node_delete")
qv_node_label: _Status = _declare("qv_node_label")
qv_edge_insert: _Status = _declare("qv_edge_insert")
qv_edge_delete: _Status = _declare("qv_edge_delete")
qv_edge_get: _Status = _declare("qv_edge_get")
qv_node_set: _Status = _declare("qv_node_set")
qv_node_get: _Status = _declare("qv_node_get")
qv_node_unset: _Status = _declare("qv_node_unset")
qv_edge_set: _Status = _declare("qv_edge_set")
qv_edge_get_prop: _Status = _declare("qv_edge_get_prop")
qv_edge_unset: _Status = _declare("qv_edge_unset")
qv_edges: _Status = _declare("qv_edges")
qv_cursor_next_edge: _Status = _declare("qv_cursor_next_edge")
qv_nodes: _Status = _declare("qv_nodes")
qv_cursor_next_node: _Status = _declare("qv_cursor_next_node")
qv_cursor_free: Callable[[int], None] = _declare("qv_cursor_free")
qv_degree: _Status = _declare("qv_degree")
qv_txn_begin: _Status = _declare("qv_txn_begin")
qv_txn_commit: _Status = _declare("qv_txn_commit")
qv_txn_rollback: Callable[[int], None] = _declare("qv_txn_rollback")
qv_savepoint: _Status = _declare("qv_savepoint")
qv_rollback_to: _Status = _declare("qv_rollback_to")
qv_release: _Status = _declare("qv_release")
qv_cursor_next_edges: _Status = _declare("qv_cursor_next_edges")
qv_cursor_next_nodes: _Status = _declare("qv_cursor_next_nodes")
qv_node_props: _Status = _declare("qv_node_props")
qv_edge_props: _Status = _declare("qv_edge_props")
qv_cursor_next_prop: _Status = _declare("qv_cursor_next_prop")
qv_node_insert_with: Optional[_Status] = _declare("qv_node_insert_with")
qv_edge_insert_with: Optional[_Status] = _declare("qv_edge_insert_with")
qv_backup: Optional[_Status] = _declare("qv_backup")
qv_digest: Optional[_Status] = _declare("qv_digest")
