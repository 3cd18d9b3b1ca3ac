"""Python values <-> qv_value, identifiers and ids: the checks made before calling C."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Union

from . import _ffi
from ._errors import InvalidArgumentError

#: A property value: what can be stored and what comes back, type for type.
Value = Union[None, bool, int, float, str, bytes]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1

# Identifiers repeat (a handful of labels, types and keys), so their encoded, checked form
# is kept; the cache is emptied when it grows past a bound. Reads and writes of a dict are
# atomic under the GIL, so threads may share it.
_IDENTS: Dict[str, bytes] = {}
_IDENTS_MAX = 4096


def ident(name: object, what: str = "identifier") -> bytes:
    """A label, edge type, key or savepoint name as the C string the library takes.

    The library checks emptiness, length and UTF-8 itself (its messages are the ones users
    see); an embedded NUL must be refused here, since C would silently cut the name there.
    """
    if type(name) is str:
        b = _IDENTS.get(name)
        if b is not None:
            return b
    if not isinstance(name, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(name).__name__}")
    try:
        b = name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(f"{what} {name!r} is not valid UTF-8: {e.reason}") from None
    if b"\0" in b:
        raise InvalidArgumentError(f"{what} {name!r} contains a NUL character")
    if type(name) is str:
        if len(_IDENTS) >= _IDENTS_MAX:
            _IDENTS.clear()
        _IDENTS[name] = b
    return b


def opt_ident(name: object, what: str) -> Any:
    """As ident(), with None passed through (as NULL: "any")."""
    return None if name is None else ident(name, what)


def object_id(value: object, what: str = "id") -> int:
    """A node or edge id: an int (not a bool) in 0..2**64-1 (0 is never an id; the
    library says so)."""
    if type(value) is int and 0 <= value <= U64_MAX:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= U64_MAX:
        raise InvalidArgumentError(f"{what} {value} is outside 0..2**64-1")
    return int(value)


def encode(value: object, out: _ffi.Value) -> Any:
    """Fills `out` with `value`. Returns what must stay alive until the C call returns
    (the bytes a string or bytes value points at), or None.

    bool is checked before int (bool is a subclass of int in Python).
    """
    t = type(value)
    if t is bool:
        out.type = _ffi.QV_TYPE_BOOL
        out.as_.b = value
        return None
    if t is int or (isinstance(value, int) and not isinstance(value, bool)):
        v = int(value)  # type: ignore[call-overload]
        if not INT64_MIN <= v <= INT64_MAX:
            raise InvalidArgumentError(f"int {v} is outside int64 ({INT64_MIN}..{INT64_MAX})")
        out.type = _ffi.QV_TYPE_INT
        out.as_.i = v
        return None
    if value is None:
        out.type = _ffi.QV_TYPE_NULL
        return None
    if isinstance(value, float):
        out.type = _ffi.QV_TYPE_FLOAT
        out.as_.f = value
        return None
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidArgumentError(f"str value is not valid UTF-8: {e.reason}") from None
        out.type = _ffi.QV_TYPE_STRING
    elif isinstance(value, bytes):
        data = bytes(value)
        out.type = _ffi.QV_TYPE_BYTES
    else:
        raise InvalidArgumentError(
            f"cannot store a value of type {t.__name__}: "
            "values are None, bool, int, float, str or bytes"
        )
    # The library copies the value during the call; `data` (returned to the caller, who
    # keeps it until the call returns) owns the bytes the pointer points at.
    b = out.as_.bytes_in
    b.ptr = data if data else None
    b.len = len(data)
    return data


def decode(v: _ffi.Value) -> Value:
    """A Python copy of the value the library filled in (its memory is not kept)."""
    t = v.type
    if t == _ffi.QV_TYPE_INT:
        return int(v.as_.i)
    if t == _ffi.QV_TYPE_STRING or t == _ffi.QV_TYPE_BYTES:
        b = v.as_.bytes
        n = b.len
        data = ctypes.string_at(b.ptr, n) if n else b""
        return data.decode("utf-8") if t == _ffi.QV_TYPE_STRING else data
    if t == _ffi.QV_TYPE_FLOAT:
        return float(v.as_.f)
    if t == _ffi.QV_TYPE_BOOL:
        return bool(v.as_.b)
    if t == _ffi.QV_TYPE_NULL:
        return None
    raise InvalidArgumentError(f"the library returned a value of unknown type {t}")
