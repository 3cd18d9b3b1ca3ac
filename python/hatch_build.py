"""Hatchling build hook: put the Cargo-built libquiver into the wheel.

The package is pure Python over ctypes, but it ships the shared library, so the wheel is
tagged for this platform (py3-none-<platform>: one wheel serves every CPython >= 3.9).

Where the library comes from, first found wins:
  1. QUIVER_BUILD_LIBRARY, a path to a libquiver shared library;
  2. $CARGO_TARGET_DIR/release/libquiver.so, when CARGO_TARGET_DIR is set;
  3. ../target/release/libquiver.so beside this directory (after `cargo build --release`
     in the repository root: the usual `pip install ./python`);
  4. the path recorded in an sdist (HINT_FILE): an sdist holds no library, but it notes
     where the library of the tree it was made from is, so that `python -m build` (an
     sdist, then a wheel built from it) works on the machine that made it.

The copy in the wheel has its debug info stripped (the release profile keeps it, which
makes the file seven times larger); its SONAME stays as the build gave it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LIBRARY_NAME = "libquiver.dylib" if sys.platform == "darwin" else "libquiver.so"
HINT_FILE = "quiver-build-library.txt"


def _candidates(root: Path) -> list[tuple[str, Path]]:
    found = []
    explicit = os.environ.get("QUIVER_BUILD_LIBRARY")
    if explicit:
        found.append(("QUIVER_BUILD_LIBRARY", Path(explicit)))
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        found.append(("CARGO_TARGET_DIR", Path(target) / "release" / LIBRARY_NAME))
    found.append(("the repository", root.parent / "target" / "release" / LIBRARY_NAME))
    hint = root / HINT_FILE
    if hint.is_file():
        found.append((f"{HINT_FILE} (from the sdist)", Path(hint.read_text().strip())))
    return found


def _platform_tag() -> str:
    # "linux-x86_64" -> "linux_x86_64". Not a manylinux tag: that needs auditwheel's check.
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


class QuiverLibraryHook(BuildHookInterface):  # type: ignore[misc]
    """Adds quiver/_lib/<library> to wheels and makes them platform wheels."""

    _staging: Optional[str] = None

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        candidates = _candidates(Path(self.root))
        source = next((path for _, path in candidates if path.is_file()), None)
        if self.target_name == "sdist":
            if source is not None:
                self._staging = tempfile.mkdtemp(prefix="quiver-sdist-")
                hint = Path(self._staging) / HINT_FILE
                hint.write_text(f"{source.resolve()}\n")
                build_data["force_include"][str(hint)] = HINT_FILE
            return
        if self.target_name != "wheel":
            return
        if source is None:
            tried = "\n".join(f"  {why}: {path}" for why, path in candidates)
            raise RuntimeError(
                f"quiver: {LIBRARY_NAME} was not found; looked at\n{tried}\n"
                "Run `cargo build --release` in the repository root first, then "
                "`pip install ./python` (or `python -m build --wheel python`). Building "
                "elsewhere than where the sdist was made needs QUIVER_BUILD_LIBRARY=/path/to/"
                + LIBRARY_NAME
                + "."
            )
        self._staging = tempfile.mkdtemp(prefix="quiver-wheel-")
        staged = Path(self._staging) / LIBRARY_NAME
        strip = shutil.which("strip")
        if strip is not None and sys.platform.startswith("linux"):
            subprocess.run([strip, "--strip-debug", "-o", str(staged), str(source)], check=True)
        else:
            shutil.copy2(source, staged)
        build_data["force_include"][str(staged)] = f"quiver/_lib/{LIBRARY_NAME}"
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{_platform_tag()}"

    def finalize(self, version: str, build_data: Dict[str, Any], artifact_path: str) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
