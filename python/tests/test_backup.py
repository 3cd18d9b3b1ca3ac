"""Database.backup: a real copy where the library has qv_backup, a plain refusal where not."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

import quiver

needs_backup = pytest.mark.skipif(not quiver.has_backup(), reason="this libquiver has no qv_backup")


@pytest.mark.skipif(quiver.has_backup(), reason="this libquiver has qv_backup")
def test_backup_without_qv_backup_says_so(db: quiver.Database, tmp_path: Path) -> None:
    with pytest.raises(quiver.NotSupportedError) as ei:
        db.backup(tmp_path / "copy")
    assert isinstance(ei.value, NotImplementedError) and isinstance(ei.value, quiver.Error)
    assert "has no backup" in str(ei.value) and quiver.library_version() in str(ei.value)
    assert not (tmp_path / "copy").exists()


@needs_backup
@pytest.mark.parametrize("compact", [False, True])
def test_backup_copies_the_latest_commit(
    db: quiver.Database, tmp_path: Path, compact: bool
) -> None:
    with db.write() as tx:
        a = tx.create_node("N", {"k": "v"})
        tx.create_edge(a, a, "E")
    calls: List[Tuple[int, int]] = []

    def progress(done: int, total: int) -> bool:
        calls.append((done, total))
        return False

    db.backup(tmp_path / "copy", compact=compact, progress=progress)
    with quiver.open(tmp_path / "copy", create=False) as copy, copy.read() as tx:
        assert tx.props(a) == {"k": "v"} and tx.degree(a) == 1


@needs_backup
def test_backup_cancelled_by_progress(db: quiver.Database, tmp_path: Path) -> None:
    with db.write() as tx:
        tx.create_node("N", {"blob": b"x" * 1_000_000})
    with pytest.raises(quiver.Interrupted) as ei:
        db.backup(tmp_path / "copy", progress=lambda d, t: True)
    assert ei.value.status == 24
    assert not (tmp_path / "copy").exists()


@needs_backup
def test_backup_progress_exception_is_raised(db: quiver.Database, tmp_path: Path) -> None:
    def progress(done: int, total: int) -> bool:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        db.backup(tmp_path / "copy", progress=progress)
    assert not (tmp_path / "copy").exists()
