"""Quiver, the embedded crash-safe property-graph storage engine, from Python.

    import quiver

    with quiver.open("/tmp/people.qv") as db:
        with db.write() as tx:                      # commits at the end of the block
            alice = tx.create_node("Person", {"name": "Alice", "age": 34})
            bob = tx.create_node("Person", {"name": "Bob"})
            tx.create_edge(alice, bob, "KNOWS", {"since": 2019})
        with db.read() as tx:                       # a snapshot
            for edge in tx.edges(alice):
                print(tx.get(edge.src, "name"), edge.type, tx.get(edge.dst, "name"))

The package contract is PYTHON.md; every call maps onto the C API of include/quiver.h,
through ctypes, over the libquiver shared library that ships inside this package.
"""

from __future__ import annotations

from . import _ffi
from ._db import CheckReport, Database, RecoveryStats, Stats, open
from ._errors import (
    BufferTooSmallError,
    BusyError,
    ConstraintError,
    CorruptError,
    DiskFullError,
    DiskIOError,
    Error,
    FormatError,
    InternalError,
    Interrupted,
    InvalidArgumentError,
    LockedError,
    MisuseError,
    NotFoundError,
    NotSupportedError,
    NullArgumentError,
    PoisonedError,
    ReadOnlyError,
)
from ._txn import Edge, Savepoint, Transaction
from ._values import Value
from ._version import __version__


def library_version() -> str:
    """The version of the loaded libquiver, as qv_version() gives it ("0.1.0")."""
    return _ffi.LIBRARY_VERSION


def library_path() -> str:
    """The file the library was loaded from (inside the package unless QUIVER_LIBRARY
    names another)."""
    return _ffi.LIBRARY_PATH


__all__ = [
    "BufferTooSmallError",
    "BusyError",
    "CheckReport",
    "ConstraintError",
    "CorruptError",
    "Database",
    "DiskFullError",
    "DiskIOError",
    "Edge",
    "Error",
    "FormatError",
    "InternalError",
    "Interrupted",
    "InvalidArgumentError",
    "LockedError",
    "MisuseError",
    "NotFoundError",
    "NotSupportedError",
    "NullArgumentError",
    "PoisonedError",
    "ReadOnlyError",
    "RecoveryStats",
    "Savepoint",
    "Stats",
    "Transaction",
    "Value",
    "__version__",
    "library_path",
    "library_version",
    "open",
]
