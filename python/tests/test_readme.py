"""The README's first Python program runs as printed (when the README is beside the tests)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from conftest import REPO

README = REPO / "README.md"


def test_readme_first_program(tmp_path: Path) -> None:
    if not README.is_file():
        pytest.skip("README.md is not beside the tests")
    section = README.read_text().split("\n## Python\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"/tmp/people.qv"', repr(str(tmp_path / "people.qv")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == [
        "Alice KNOWS Bob {'since': 2019}",
        "{'name': 'Bob'} None",
        "2 QV_NOT_FOUND node 12345 does not exist",
    ]
