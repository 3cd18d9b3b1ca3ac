"""The `with` protocol that Database, Transaction and Savepoint share."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, Type, TypeVar

S = TypeVar("S", bound="Scoped")


class Scoped:
    """`with x as y:` binds x itself; leaving the block calls x._exit(failed), failed
    being True when the block raised. An exception from the block goes on."""

    __slots__ = ()

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._exit(exc_type is not None)

    def _exit(self, failed: bool) -> None:
        raise NotImplementedError
