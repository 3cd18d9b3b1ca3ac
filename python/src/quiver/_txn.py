"""Transactions, their iterators and savepoints."""

from __future__ import annotations

import ctypes
import struct
import threading
from ctypes import byref
from itertools import repeat
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from . import _ffi
from ._errors import (
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    last_error_message,
    raise_status,
)
from ._scope import Scoped
from ._values import Value, decode, encode, ident, object_id, opt_ident

if TYPE_CHECKING:
    from ._db import Database

T = TypeVar("T")

# Items read per batch by the iterators (one library call each).
BATCH = 512

_DIRECTIONS = {"out": _ffi.QV_OUT, "in": _ffi.QV_IN, "both": _ffi.QV_BOTH}
_EDGE_SIZE = ctypes.sizeof(_ffi.Edge)
_unpack_edges = struct.Struct(_ffi.EDGE_FORMAT).iter_unpack
_tuple_new = tuple.__new__
assert struct.calcsize(_ffi.EDGE_FORMAT) == _EDGE_SIZE


class Edge(NamedTuple):
    """An edge: its id, source node, destination node and type."""

    id: int
    src: int
    dst: int
    type: str


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def _direction(direction: object) -> int:
    d = _DIRECTIONS.get(direction) if isinstance(direction, str) else None
    if d is None:
        raise InvalidArgumentError(f"direction must be 'out', 'in' or 'both', not {direction!r}")
    return d


_C = TypeVar("_C", bound="ctypes._CData")


def _out(obj: _C) -> Tuple[_C, Any]:
    """A ctypes object and its byref(), for an out-parameter used again and again."""
    return obj, byref(obj)


class _Cursor:
    """Owns one qv_cursor: frees it once, on exhaustion, close or garbage collection.

    The free goes through the transaction's lock, as every use of a transaction's cursor
    must (the lock is reentrant, so a collection that happens to run on a thread already
    holding it cannot deadlock).
    """

    __slots__ = ("handle", "txn")

    def __init__(self, txn: Transaction, handle: int) -> None:
        self.txn = txn
        self.handle: Optional[int] = handle

    def free(self) -> None:
        h = self.handle
        if h is not None:
            with self.txn._lock:
                if self.handle is not None:
                    self.handle = None
                    _ffi.qv_cursor_free(h)

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass


class Savepoint(Scoped):
    """A savepoint of a write transaction, made by Transaction.savepoint(name).

    As a context manager: on an exception the block's changes are rolled back to the
    savepoint, and the savepoint is then released; otherwise it is released (its changes
    stay in the transaction). Either way the exception goes on.
    """

    __slots__ = ("_txn", "name")

    def __init__(self, txn: Transaction, name: str) -> None:
        self._txn = txn
        self.name = name

    def rollback(self) -> None:
        """Undoes what the transaction did since this savepoint; the savepoint stays."""
        self._txn.rollback_to(self.name)

    def release(self) -> None:
        """Removes this savepoint and every later one; their changes stay."""
        self._txn.release(self.name)

    def _exit(self, failed: bool) -> None:
        if self._txn.ended:
            return  # the block ended the transaction itself: nothing left to undo
        if failed:
            self._txn.rollback_to(self.name)
        self._txn.release(self.name)


# qv_prop arrays of up to this many properties are kept by a transaction for reuse.
_PROP_ARRAYS_MAX = 16


def _prop_items(props: Mapping[str, Value]) -> List[Tuple[bytes, Value]]:
    """The (encoded key, value) pairs of create_*'s props, keys checked as ident() does."""
    try:
        pairs = props.items()
    except AttributeError:
        raise InvalidArgumentError(
            f"props must be a mapping of str keys to values, not {type(props).__name__}"
        ) from None
    return [(ident(k, "key"), v) for k, v in pairs]


class Transaction(Scoped):
    """A read snapshot (Database.read) or the write transaction (Database.write).

    End it with commit() or rollback(), or use it in a `with` block: a write transaction
    commits when the block ends normally and rolls back when it raises; a read
    transaction just ends. After it ended, every method raises MisuseError.

    One thread at a time should use a transaction; if two do, their calls are serialized
    by a lock, so nothing undefined happens.
    """

    def __init__(self, db: Database, handle: int, write: bool) -> None:
        self._db = db
        self._handle: Optional[int] = handle
        self._write = write
        self._lock = threading.RLock()
        # Out-parameters and their byref()s, reused by every call (calls are serialized
        # by _lock).
        self._u64, self._u64_ref = _out(ctypes.c_uint64())
        self._str, self._str_ref = _out(ctypes.c_char_p())
        self._val, self._val_ref = _out(_ffi.Value())
        self._in, self._in_ref = _out(_ffi.Value())
        self._edge, self._edge_ref = _out(_ffi.Edge())
        self._cur, self._cur_ref = _out(ctypes.c_void_p())
        self._n, self._n_ref = _out(ctypes.c_size_t())
        # qv_prop arrays for create_* by length (see _prop_array).
        self._prop_arrays: Dict[int, ctypes.Array[_ffi.Prop]] = {}
        # Batch buffers by item type (qv_edge, uint64), made on the first batch read.
        self._batches: Dict[Any, ctypes.Array[Any]] = {}
        # Edge-type strings by address: the library keeps them until the transaction ends,
        # so within it one address is always one type.
        self._types: Dict[int, str] = {}

    # ---- state --------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True for a read transaction (a snapshot)."""
        return not self._write

    @property
    def ended(self) -> bool:
        """True once the transaction was committed or rolled back."""
        return self._handle is None

    def _ended_error(self) -> MisuseError:
        return MisuseError("the transaction has ended (committed or rolled back)")

    def _live(self) -> int:
        h = self._handle
        if h is None:
            raise self._ended_error()
        return h

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        """fn(handle, *args), raising its failure. Out-parameters it fills must be read
        with the lock still held (the lock is reentrant: hold it around this call)."""
        with self._lock:
            st = fn(self._live(), *args)
            if st:
                raise_status(st)

    def __repr__(self) -> str:
        kind = "write" if self._write else "read"
        state = "ended" if self._handle is None else "open"
        return f"<quiver.Transaction {kind} {state}>"

    # ---- ending -------------------------------------------------------------------

    def commit(self) -> None:
        """Commits (a write transaction: durable when this returns, with sync "full") and
        ends the transaction, also when the commit fails."""
        with self._lock:
            h = self._live()
            self._handle = None
            st = _ffi.qv_txn_commit(h)
            if st:
                raise_status(st)

    def rollback(self) -> None:
        """Abandons the transaction: nothing it wrote remains. Ends it."""
        with self._lock:
            h = self._live()
            self._handle = None
            _ffi.qv_txn_rollback(h)

    def _exit(self, failed: bool) -> None:
        if self._handle is None:
            return
        if not failed and self._write:
            self.commit()
        else:
            self.rollback()

    def __del__(self) -> None:
        # A transaction dropped while open is rolled back, so the database can close.
        h = getattr(self, "_handle", None)
        if h is not None:
            self._handle = None
            try:
                _ffi.qv_txn_rollback(h)
            except Exception:
                pass

    # ---- nodes and edges ----------------------------------------------------------

    def create_node(self, label: str, props: Optional[Mapping[str, Value]] = None) -> int:
        """Creates a node with `label` (and properties) and returns its id (>= 1). If a
        property is refused, nothing is created."""
        lbl = ident(label, "label")
        with self._lock:
            h = self._live()
            if not props:
                st = _ffi.qv_node_insert(h, lbl, self._u64_ref)
            else:
                arr, n, keep = self._prop_array(props)
                st = _ffi.qv_node_insert_with(h, lbl, arr, n, self._u64_ref)
                del keep
            if st:
                raise_status(st)
            return self._u64.value

    def create_edge(
        self, src: int, dst: int, type: str, props: Optional[Mapping[str, Value]] = None
    ) -> int:
        """Creates an edge src -> dst of `type` (and properties) and returns its id. If a
        property is refused, nothing is created."""
        s = object_id(src, "src")
        d = object_id(dst, "dst")
        t = ident(type, "edge type")
        with self._lock:
            h = self._live()
            if not props:
                st = _ffi.qv_edge_insert(h, s, d, t, self._u64_ref)
            else:
                arr, n, keep = self._prop_array(props)
                st = _ffi.qv_edge_insert_with(h, s, d, t, arr, n, self._u64_ref)
                del keep
            if st:
                raise_status(st)
            return self._u64.value

    def _prop_array(self, props: Mapping[str, Value]) -> Tuple[Any, int, List[Any]]:
        """The qv_prop array of `props` for qv_*_insert_with (keys in the mapping's order),
        as (byref of the array, its length, what must stay alive until the call returns).
        Raises InvalidArgumentError for what the library cannot be given. Arrays of up to
        _PROP_ARRAYS_MAX are kept for the next call (the lock is held)."""
        items = _prop_items(props)
        n = len(items)
        arr = self._prop_arrays.get(n)
        if arr is None:
            arr = (_ffi.Prop * n)()
            if n <= _PROP_ARRAYS_MAX:
                self._prop_arrays[n] = arr
        keep = []
        for i, (key, value) in enumerate(items):
            p = arr[i]
            p.key = key
            keep.append(encode(value, p.value))
        return byref(arr), n, keep

    def delete_node(self, node: int, *, detach: bool = False) -> None:
        """Deletes a node; a node with edges needs detach=True (which deletes its edges),
        else ConstraintError."""
        n = object_id(node, "node")
        self._call(_ffi.qv_node_delete, n, _ffi.QV_DETACH if detach else 0)

    def delete_edge(self, edge: int) -> None:
        """Deletes an edge."""
        self._call(_ffi.qv_edge_delete, object_id(edge, "edge"))

    def label(self, node: int) -> str:
        """The label of a node."""
        n = object_id(node, "node")
        with self._lock:
            st = _ffi.qv_node_label(self._live(), n, self._str_ref)
            if st:
                raise_status(st)
            raw = self._str.value
        return raw.decode("utf-8") if raw is not None else ""

    def edge(self, edge: int) -> Edge:
        """The edge with this id, as Edge(id, src, dst, type)."""
        e = object_id(edge, "edge")
        with self._lock:
            self._call(_ffi.qv_edge_get, e, self._edge_ref)
            c = self._edge
            return Edge(c.id, c.src, c.dst, self._type_name(c.type))

    def _type_name(self, addr: Optional[int]) -> str:
        if not addr:
            return ""
        name = self._types.get(addr)
        if name is None:
            name = ctypes.string_at(addr).decode("utf-8")
            self._types[addr] = name
        return name

    # ---- properties ---------------------------------------------------------------

    @overload
    def get(self, node: int, key: str) -> Value: ...
    @overload
    def get(self, node: int, key: str, default: T) -> Union[Value, T]: ...

    def get(self, node: int, key: str, default: Any = MISSING) -> Any:
        """Property `key` of a node. An unset key gives `default`, or NotFoundError when no
        default is given; a missing node is NotFoundError either way. A stored None is
        returned as None."""
        return self._get(_ffi.qv_node_get, _ffi.qv_node_label, node, key, default, "node")

    @overload
    def get_edge(self, edge: int, key: str) -> Value: ...
    @overload
    def get_edge(self, edge: int, key: str, default: T) -> Union[Value, T]: ...

    def get_edge(self, edge: int, key: str, default: Any = MISSING) -> Any:
        """Property `key` of an edge (as get())."""
        return self._get(_ffi.qv_edge_get_prop, _ffi.qv_edge_get, edge, key, default, "edge")

    def _get(
        self,
        getter: Callable[..., int],
        exists: Callable[..., int],
        target: int,
        key: str,
        default: Any,
        what: str,
    ) -> Any:
        t = object_id(target, what)
        k = ident(key, "key")
        with self._lock:
            h = self._live()
            st = getter(h, t, k, self._val_ref)
            if st == 0:
                return decode(self._val)
            if st != NotFoundError.STATUS or default is MISSING:
                raise_status(st)
            # QV_NOT_FOUND means "no such node/edge" or "key not set": with a default, ask
            # whether the node or edge exists to tell them apart.
            message = last_error_message()
            out = self._str_ref if exists is _ffi.qv_node_label else self._edge_ref
            if exists(h, t, out) != 0:
                raise NotFoundError(message)
            return default

    def set(self, node: int, key: str, value: Value) -> None:
        """Sets property `key` of a node (None is stored as a null, unlike unset())."""
        self._set(_ffi.qv_node_set, node, key, value, "node")

    def set_edge(self, edge: int, key: str, value: Value) -> None:
        """Sets property `key` of an edge."""
        self._set(_ffi.qv_edge_set, edge, key, value, "edge")

    def _set(
        self, setter: Callable[..., int], target: int, key: str, value: Value, what: str
    ) -> None:
        t = object_id(target, what)
        k = ident(key, "key")
        with self._lock:
            h = self._live()
            keep = encode(value, self._in)
            st = setter(h, t, k, self._in_ref)
            del keep
            if st:
                raise_status(st)

    def unset(self, node: int, key: str) -> None:
        """Removes property `key` of a node (no error if it was not set)."""
        self._unset(_ffi.qv_node_unset, node, key, "node")

    def unset_edge(self, edge: int, key: str) -> None:
        """Removes property `key` of an edge (no error if it was not set)."""
        self._unset(_ffi.qv_edge_unset, edge, key, "edge")

    def _unset(self, fn: Callable[..., int], target: int, key: str, what: str) -> None:
        t = object_id(target, what)
        k = ident(key, "key")
        self._call(fn, t, k)

    def props(self, node: int) -> Dict[str, Value]:
        """Every property of a node, as a new dict (copied out of the library), in the
        order the keys were last set."""
        return self._props(_ffi.qv_node_props, node, "node")

    def edge_props(self, edge: int) -> Dict[str, Value]:
        """Every property of an edge, as a new dict."""
        return self._props(_ffi.qv_edge_props, edge, "edge")

    def _props(self, opener: Callable[..., int], target: int, what: str) -> Dict[str, Value]:
        t = object_id(target, what)
        with self._lock:
            cursor = self._open(opener, t)
            try:
                prop = _ffi.Prop()
                ref = byref(prop)
                next_prop = _ffi.qv_cursor_next_prop
                out: Dict[str, Value] = {}
                while True:
                    st = next_prop(cursor.handle, ref)
                    if st == _ffi.QV_DONE:
                        return out
                    if st:
                        raise_status(st)
                    key = prop.key
                    out[key.decode("utf-8") if key is not None else ""] = decode(prop.value)
            finally:
                cursor.free()

    # ---- iteration ----------------------------------------------------------------

    def edges(
        self, node: int, direction: str = "out", type: Optional[str] = None
    ) -> Generator[Edge, None, None]:
        """The edges of `node` in `direction` ("out", "in" or "both"; a self-loop comes
        once), of `type` (None: any), as the transaction sees them now: later writes do
        not change what this iterator yields. Read in batches; close() frees it early."""
        n = object_id(node, "node")
        d = _direction(direction)
        t = opt_ident(type, "edge type")
        return self._iterate(self._open(_ffi.qv_edges, n, d, t), self._next_edges)

    def nodes(self, label: Optional[str] = None) -> Generator[int, None, None]:
        """The ids of the live nodes with `label` (None: all), in id order, as the
        transaction sees them now. Read in batches; close() frees it early."""
        lbl = opt_ident(label, "label")
        return self._iterate(self._open(_ffi.qv_nodes, lbl), self._next_nodes)

    def _open(self, opener: Callable[..., int], *args: Any) -> _Cursor:
        """The cursor opener(handle, *args, &cursor) opens."""
        with self._lock:
            self._call(opener, *args, self._cur_ref)
            return _Cursor(self, self._cur.value or 0)

    def _iterate(
        self, cursor: _Cursor, next_batch: Callable[[_Cursor], List[T]]
    ) -> Generator[T, None, None]:
        """The items of cursor, read a batch at a time; frees the cursor when done."""
        try:
            while True:
                batch = next_batch(cursor)
                if not batch:
                    return
                yield from batch
        finally:
            cursor.free()

    def _read_batch(
        self, cursor: _Cursor, read: Callable[..., int], item: Any
    ) -> Tuple[ctypes.Array[Any], int]:
        """Reads the next batch of cursor with read (qv_cursor_next_edges or _nodes) into
        this transaction's buffer of `item`s: the buffer and how many it holds, 0 at the
        end. Call with the lock held."""
        self._live()
        buf = self._batches.get(item)
        if buf is None:
            buf = self._batches[item] = (item * BATCH)()
        st = read(cursor.handle, buf, BATCH, self._n_ref)
        if st == _ffi.QV_DONE:
            return buf, 0
        if st:
            raise_status(st)
        return buf, self._n.value

    def _next_edges(self, cursor: _Cursor) -> List[Edge]:
        """The next batch of edges (empty at the end), decoded in one go."""
        with self._lock:
            buf, n = self._read_batch(cursor, _ffi.qv_cursor_next_edges, _ffi.Edge)
            # One copy of the n structs, unpacked as (id, src, dst, type address) tuples;
            # the type strings are decoded once per address (see _types).
            raw = ctypes.string_at(ctypes.addressof(buf), n * _EDGE_SIZE)
            types = self._types
            name = self._type_name
            rows = [(i, s, d, types.get(t) or name(t)) for i, s, d, t in _unpack_edges(raw)]
            # tuple.__new__ makes the Edge without NamedTuple's Python-level __new__.
            return list(map(_tuple_new, repeat(Edge), rows))

    def _next_nodes(self, cursor: _Cursor) -> List[int]:
        """The next batch of node ids (empty at the end)."""
        with self._lock:
            buf, n = self._read_batch(cursor, _ffi.qv_cursor_next_nodes, ctypes.c_uint64)
            return buf[:n]

    def degree(self, node: int, direction: str = "out", type: Optional[str] = None) -> int:
        """The number of edges of `node` in `direction` of `type` (None: any)."""
        n = object_id(node, "node")
        d = _direction(direction)
        t = opt_ident(type, "edge type")
        with self._lock:
            self._call(_ffi.qv_degree, n, d, t, self._u64_ref)
            return self._u64.value

    # ---- savepoints ---------------------------------------------------------------

    def savepoint(self, name: str) -> Savepoint:
        """Starts a savepoint called `name` (names may repeat: the latest is meant) and
        returns it; `with tx.savepoint(name):` rolls back to it if the block raises and
        releases it in any case."""
        self._call(_ffi.qv_savepoint, ident(name, "savepoint name"))
        return Savepoint(self, name)

    def rollback_to(self, name: str) -> None:
        """Undoes everything since the latest savepoint called `name`; it stays."""
        self._call(_ffi.qv_rollback_to, ident(name, "savepoint name"))

    def release(self, name: str) -> None:
        """Removes the latest savepoint called `name` and every later one; their changes
        stay in the transaction."""
        self._call(_ffi.qv_release, ident(name, "savepoint name"))
