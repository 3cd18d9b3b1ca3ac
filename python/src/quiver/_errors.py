"""Exceptions: one class per qv_status, each carrying the message of the call that failed."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, NoReturn, Optional, Type

from . import _ffi

# qv_status numbers and names, as in the header (numbers are never reused).
STATUS_NAMES: Dict[int, str] = {
    0: "QV_OK",
    1: "QV_DONE",
    2: "QV_NOT_FOUND",
    10: "QV_NULL_ARGUMENT",
    11: "QV_INVALID_ARGUMENT",
    12: "QV_MISUSE",
    13: "QV_BUFFER_TOO_SMALL",
    20: "QV_BUSY",
    21: "QV_LOCKED",
    22: "QV_READ_ONLY",
    23: "QV_CONSTRAINT",
    24: "QV_INTERRUPTED",
    30: "QV_IO",
    31: "QV_FULL",
    32: "QV_CORRUPT",
    33: "QV_FORMAT",
    40: "QV_POISONED",
    41: "QV_INTERNAL",
}


def status_name(status: int) -> str:
    """The QV_* name of a status number ("QV_UNKNOWN" for a number that is none)."""
    return STATUS_NAMES.get(status, "QV_UNKNOWN")


# The exception class of each status, filled in as the classes below are defined.
ERROR_CLASSES: Dict[int, Type[Error]] = {}


class Error(Exception):
    """Base of every error the package raises.

    .status is the qv_status number, .status_name its name ("QV_NOT_FOUND"), and
    .message the library's message for the very call that failed (or the package's own,
    for errors found before calling the library).
    """

    STATUS: int = -1  # set by status=N on each subclass; -1 means "no particular status"

    status: int
    status_name: str
    message: str

    def __init__(self, message: str = "", status: Optional[int] = None) -> None:
        self.status = type(self).STATUS if status is None else status
        self.status_name = status_name(self.status)
        self.message = message
        super().__init__(message)

    def __init_subclass__(cls, status: Optional[int] = None, **kwargs: Any) -> None:
        """`class XError(Error, status=N)` makes XError the exception of status N."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.STATUS = status
            ERROR_CLASSES[status] = cls

    def __str__(self) -> str:
        return f"{self.status_name}: {self.message}" if self.message else self.status_name


class NotFoundError(Error, KeyError, status=2):
    """No such node, edge, property, savepoint or database (QV_NOT_FOUND)."""


class NullArgumentError(Error, status=10):
    """A NULL pointer reached the library (QV_NULL_ARGUMENT): a bug in this package."""


class InvalidArgumentError(Error, ValueError, status=11):
    """A malformed argument: bad identifier, value of an unsupported type, a limit exceeded
    (QV_INVALID_ARGUMENT)."""


class MisuseError(Error, status=12):
    """A call not allowed now: on a closed database, an ended transaction or a cursor of
    one (QV_MISUSE)."""


class BufferTooSmallError(Error, status=13):
    """A result did not fit its buffer (QV_BUFFER_TOO_SMALL): a bug in this package."""


class BusyError(Error, status=20):
    """The writer lock was not had within busy_timeout, or close() found transactions
    still open (QV_BUSY)."""


class LockedError(Error, status=21):
    """The database is open elsewhere, in this process or another (QV_LOCKED)."""


class ReadOnlyError(Error, status=22):
    """A write in a read transaction or a read-only database (QV_READ_ONLY)."""


class ConstraintError(Error, status=23):
    """A constraint would be violated: deleting a node that has edges (QV_CONSTRAINT)."""


class Interrupted(Error, status=24):
    """A progress callback asked to stop (QV_INTERRUPTED)."""


class DiskIOError(Error, status=30):
    """An I/O error; after a failed write or fsync the database is poisoned (QV_IO)."""


class DiskFullError(Error, status=31):
    """The disk is full; the database is poisoned (QV_FULL)."""


class CorruptError(Error, status=32):
    """On-disk data fails a check (QV_CORRUPT)."""


class FormatError(Error, status=33):
    """The database has an unknown format version (QV_FORMAT)."""


class PoisonedError(Error, status=40):
    """An earlier failure poisoned this database handle: close it and open it again, which
    runs recovery (QV_POISONED)."""


class InternalError(Error, status=41):
    """A bug in Quiver (a caught panic); the database is poisoned (QV_INTERNAL)."""


class NotSupportedError(Error, NotImplementedError):
    """The loaded library lacks the function this call needs (no qv_status; .status is -1)."""

    STATUS = -1

    def __init__(self, message: str = "", status: Optional[int] = None) -> None:
        super().__init__(message, status)
        self.status_name = "NOT_SUPPORTED"


def error_for(status: int, message: str) -> Error:
    """The exception for a failed call's status and message."""
    return ERROR_CLASSES.get(status, Error)(message, status)


def last_error_message() -> str:
    """This OS thread's message of its last failed call (qv_last_error)."""
    size = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(512)
    st = _ffi.qv_last_error(buf, len(buf), ctypes.byref(size))
    if st == 13:  # QV_BUFFER_TOO_SMALL: size holds the full length; ask again.
        buf = ctypes.create_string_buffer(size.value + 1)
        _ffi.qv_last_error(buf, len(buf), ctypes.byref(size))
    return buf.value.decode("utf-8", "replace")


def raise_status(status: int) -> NoReturn:
    """Raises the exception for `status`, with the message of the call that returned it.

    Call this on the OS thread that made the failed call, straight after it, before any
    other library call on this thread. That makes the message that very call's:
    qv_last_error is thread-local in the library (each OS thread keeps its own last
    message), a Python thread is one OS thread for its whole life, and ctypes makes its
    call on the calling thread; so calls that other threads make meanwhile (while this
    one waits for the GIL, which ctypes released during the call) write their own
    threads' messages, never this one.
    """
    raise error_for(status, last_error_message())
