"""Fixtures: a fresh database per test, and the check that the installed package is tested."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

import quiver

# The repository this test file lives in (for include/quiver.h); may be absent.
REPO = Path(__file__).resolve().parents[2]
HEADER = REPO / "include" / "quiver.h"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.qv"


@pytest.fixture
def db(db_path: Path) -> Iterator[quiver.Database]:
    d = quiver.open(db_path)
    try:
        yield d
    finally:
        if not d.closed:
            d.close()


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"quiver {quiver.__version__} from {Path(quiver.__file__).parent}; "
        f"libquiver {quiver.library_version()} from {quiver.library_path()}"
    )


def pytest_configure(config: pytest.Config) -> None:
    # CI sets QUIVER_EXPECT_INSTALLED=1: then a run that imports quiver from the source tree
    # (or loads a library from outside the package) is refused before any test runs.
    if os.environ.get("QUIVER_EXPECT_INSTALLED") == "1":
        from test_install import assert_installed

        assert_installed()
