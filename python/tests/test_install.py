"""The package as installed: where it and its library come from, and the ABI guard."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import HEADER, REPO

import quiver

PACKAGE_DIR = Path(quiver.__file__).resolve().parent


def assert_installed() -> None:
    """quiver comes from this interpreter's site-packages, not the source tree, and its
    library from inside the package."""
    site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("platlib", "purelib")}
    assert PACKAGE_DIR.parent in site, f"quiver imported from {PACKAGE_DIR}, not from {site}"
    assert REPO not in PACKAGE_DIR.parents, f"quiver imported from the source tree {PACKAGE_DIR}"
    assert "QUIVER_LIBRARY" not in os.environ, "QUIVER_LIBRARY overrides the bundled library"
    lib = Path(quiver.library_path()).resolve()
    assert lib == PACKAGE_DIR / "_lib" / "libquiver.so", f"library loaded from {lib}"
    assert (PACKAGE_DIR / "py.typed").is_file(), "py.typed is missing from the package"


@pytest.mark.skipif(
    os.environ.get("QUIVER_EXPECT_INSTALLED") != "1",
    reason="QUIVER_EXPECT_INSTALLED=1 is set when the suite runs against the installed wheel",
)
def test_imported_from_site_packages_with_bundled_library() -> None:
    assert_installed()


def test_versions_agree() -> None:
    lib = quiver.library_version()
    assert lib.split(".")[:2] == quiver.__version__.split(".")[:2]
    if HEADER.is_file():
        assert f'#define QV_VERSION_STRING "{lib}"' in HEADER.read_text()


def _import_with(library: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QUIVER_LIBRARY=library)
    return subprocess.run(
        [sys.executable, "-c", "import quiver"], env=env, capture_output=True, text=True, timeout=60
    )


def _stub(tmp_path: Path, body: str) -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in library")
    src = tmp_path / "stub.c"
    src.write_text(body)
    out = tmp_path / "libstub.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return str(out)


def test_refuses_library_of_another_series(tmp_path: Path) -> None:
    lib = _stub(tmp_path, 'const char *qv_version(void) { return "0.2.0"; }\n')
    r = _import_with(lib)
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "is libquiver 0.2.0, but this package needs libquiver 0.1.x" in r.stderr


def test_refuses_library_lacking_functions(tmp_path: Path) -> None:
    lib = _stub(tmp_path, 'const char *qv_version(void) { return "0.1.0"; }\n')
    r = _import_with(lib)
    assert r.returncode != 0
    assert "lacks qv_options_init" in r.stderr


def test_refuses_library_that_is_not_quiver(tmp_path: Path) -> None:
    lib = _stub(tmp_path, "int not_quiver(void) { return 0; }\n")
    r = _import_with(lib)
    assert r.returncode != 0
    assert "is not libquiver (it has no qv_version)" in r.stderr


def test_missing_library_file(tmp_path: Path) -> None:
    r = _import_with(str(tmp_path / "nothing.so"))
    assert r.returncode != 0
    assert "quiver: cannot load" in r.stderr


def test_environment_variable_selects_the_library() -> None:
    r = _import_with(quiver.library_path())
    assert r.returncode == 0, r.stderr


def test_public_names() -> None:
    for name in quiver.__all__:
        assert hasattr(quiver, name), name


STRUCTS = {
    "qv_options": "Options",
    "qv_check_report": "CheckReport",
    "qv_recovery_stats": "RecoveryStats",
    "qv_db_stats": "DbStats",
    "qv_edge": "Edge",
    "qv_bytes": "Bytes",
    "qv_value": "Value",
    "qv_prop": "Prop",
}


def test_struct_layouts_match_the_header(tmp_path: Path) -> None:
    """Every ctypes Structure has the size and field offsets the C compiler gives."""
    import ctypes

    from quiver import _ffi

    if not HEADER.is_file():
        pytest.skip("include/quiver.h is not beside the tests")
    lines = []
    expected = {}
    for c_name, py_name in STRUCTS.items():
        cls = getattr(_ffi, py_name)
        lines.append(f'printf("{c_name} %zu\\n", sizeof({c_name}));')
        expected[c_name] = ctypes.sizeof(cls)
        for field, *_ in cls._fields_:
            c_field = {"as_": "as"}.get(field, field)
            key = f"{c_name}.{c_field}"
            lines.append(f'printf("{key} %zu\\n", offsetof({c_name}, {c_field}));')
            expected[key] = getattr(cls, field).offset
    body = "\n  ".join(lines)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "layout.c"
    src.write_text(
        f'#include <stddef.h>\n#include <stdio.h>\n#include "quiver.h"\n'
        f"int main(void) {{\n  {body}\n  return 0;\n}}\n"
    )
    exe = str(tmp_path / "layout")
    subprocess.run([cc, "-I", str(HEADER.parent), str(src), "-o", exe], check=True)
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    got = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert got == expected
