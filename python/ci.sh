#!/usr/bin/env bash
# CI for the Python package, run by .ci/run after `cargo build --release`:
#   1. builds the wheel from python/ (pip wheel: the same PEP 517 build `pip install ./python`
#      runs) and checks what is in it: the library with its SONAME, py.typed, the platform tag;
#   2. installs it into a fresh virtual environment with pinned pytest, mypy and ruff;
#   3. mypy --strict on the package and tests, ruff;
#   4. the whole pytest suite from outside the source tree, importing the installed
#      package (QUIVER_EXPECT_INSTALLED=1 makes conftest refuse anything else); pytest's
#      exit code 5, "no tests ran", fails. Arguments go to pytest (python/ci.sh -k crash).
# Needs python3 with venv and pip, and PyPI (hatchling, pytest, mypy, ruff).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}

work=$(mktemp -d /tmp/quiver-python-ci.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "--- wheel"
"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" wheel --no-deps -w "$work/dist" ./python
wheel=$(ls "$work"/dist/quiver-*.whl)
echo "$(basename "$wheel")"
"$work/venv/bin/python" - "$wheel" "$work/unpacked" <<'EOF'
import sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
for need in ("quiver/_lib/libquiver.so", "quiver/py.typed", "quiver/__init__.py", "quiver/_ffi.py"):
    assert need in names, f"{need} is missing from the wheel: {names}"
assert "-py3-none-linux_" in sys.argv[1], f"not a platform wheel: {sys.argv[1]}"
wheel.extract("quiver/_lib/libquiver.so", sys.argv[2])
EOF
readelf -d "$work/unpacked/quiver/_lib/libquiver.so" | grep -q 'SONAME.*\[libquiver\.so\.0\.1\]' ||
  { echo "the wheel's library lacks SONAME libquiver.so.0.1" >&2; exit 1; }

echo "--- install into a fresh virtual environment"
"${pip[@]}" install "$wheel" pytest==9.2.0 mypy==2.4.1 ruff==0.17.6

echo "--- mypy --strict, ruff"
(cd python && "$work/venv/bin/mypy" --cache-dir "$work/mypy-cache" &&
  "$work/venv/bin/ruff" check --no-cache . && "$work/venv/bin/ruff" format --check --no-cache .)

echo "--- pytest, from $work, against the installed package"
set +e
(cd "$work" && QUIVER_EXPECT_INSTALLED=1 "$work/venv/bin/python" -m pytest -p no:cacheprovider \
   --rootdir "$repo/python" -c "$repo/python/pyproject.toml" "$repo/python/tests" "$@")
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest ran no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
