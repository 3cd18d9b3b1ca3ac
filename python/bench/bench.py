"""What a call into libquiver costs from Python, beside the same from C.

    python python/bench/bench.py            # from the repository root, quiver installed

Builds bench_c.c against the very library the quiver package loaded (and the repository's
include/quiver.h), runs it, runs the same operations through the package, and prints a
Markdown table (PERFORMANCE.md, "Python"). Every figure is the best of 5 runs, in CPU time of
the measuring thread (CLOCK_THREAD_CPUTIME_ID on both sides), so that other load on the
machine does not inflate it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import quiver
from quiver import _ffi

HERE = Path(__file__).resolve().parent
INCLUDE = HERE.parent.parent / "include"
REPEATS = 5
CALLS = 1_000_000
INSERTS = 100_000
GETS = 200_000
SCAN_EDGES = 10_000
SCANS = 50


def best_of(run: Callable[[], float]) -> float:
    return min(run() for _ in range(REPEATS))


def per_op(count: int, body: Callable[[], None]) -> float:
    t0 = time.thread_time_ns()
    body()
    return (time.thread_time_ns() - t0) / count


def build_c(workdir: Path) -> Path:
    """bench_c linked to the library quiver loaded, found at run time through its SONAME."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("bench: needs a C compiler (cc)")
    lib = Path(quiver.library_path()).resolve()
    libdir = workdir / "lib"
    libdir.mkdir()
    soname = "libquiver.so.0.1"
    (libdir / soname).symlink_to(lib)
    (libdir / "libquiver.so").symlink_to(lib)
    exe = workdir / "bench_c"
    subprocess.run(
        [
            cc,
            "-O2",
            "-I",
            str(INCLUDE),
            str(HERE / "bench_c.c"),
            "-L",
            str(libdir),
            "-lquiver",
            f"-Wl,-rpath,{libdir}",
            "-o",
            str(exe),
        ],
        check=True,
    )
    return exe


def run_c(workdir: Path) -> Dict[str, float]:
    exe = build_c(workdir)
    dbdir = workdir / "c-dbs"
    dbdir.mkdir()
    out = subprocess.run([str(exe), str(dbdir)], check=True, capture_output=True, text=True).stdout
    return {name: float(ns) for name, ns in (line.split() for line in out.splitlines())}


def run_python(workdir: Path) -> Dict[str, float]:
    res: Dict[str, float] = {}
    version = _ffi.qv_version

    def calls() -> None:
        for _ in range(CALLS):
            version()

    res["call_qv_version"] = best_of(lambda: per_op(CALLS, calls))

    plain: List[float] = []
    with_props: List[float] = []
    for r in range(REPEATS):
        with quiver.open(workdir / f"insert-{r}", sync="off") as db, db.write() as tx:

            def inserts(create: Callable[..., int] = tx.create_node) -> None:
                for _ in range(INSERTS):
                    create("Node")

            def inserts_props(create: Callable[..., int] = tx.create_node) -> None:
                for i in range(INSERTS):
                    create("Node", {"num": i, "name": "value"})

            plain.append(per_op(INSERTS, inserts))
            with_props.append(per_op(INSERTS, inserts_props))
    res["node_insert"] = min(plain)
    res["node_insert_2_props"] = min(with_props)

    with quiver.open(workdir / "read", sync="off") as db:
        with db.write() as tx:
            hub = tx.create_node("Hub", {"num": 42, "name": "a short string"})
            for _ in range(SCAN_EDGES):
                tx.create_edge(hub, tx.create_node("Leaf"), "LINKS")
        with db.read() as tx:
            get, label, edges = tx.get, tx.label, tx.edges

            def gets(key: str) -> Callable[[], None]:
                def body() -> None:
                    for _ in range(GETS):
                        get(hub, key)

                return body

            def labels() -> None:
                for _ in range(GETS):
                    label(hub)

            def scans() -> None:
                for _ in range(SCANS):
                    n = 0
                    for _ in edges(hub):
                        n += 1
                    assert n == SCAN_EDGES

            def scans_one_by_one() -> None:
                # Straight ctypes, one qv_cursor_next_edge per edge: what batching saves.
                h = tx._live()
                cur = ctypes.c_void_p()
                edge = _ffi.Edge()
                ref = byref_edge = ctypes.byref(edge)
                for _ in range(SCANS):
                    assert _ffi.qv_edges(h, hub, _ffi.QV_OUT, None, ctypes.byref(cur)) == 0
                    n = 0
                    nxt = _ffi.qv_cursor_next_edge
                    c = cur.value
                    assert c is not None
                    while nxt(c, ref) == 0:
                        n += 1
                    _ffi.qv_cursor_free(c)
                    assert n == SCAN_EDGES
                del byref_edge

            res["get_int"] = best_of(lambda: per_op(GETS, gets("num")))
            res["get_str"] = best_of(lambda: per_op(GETS, gets("name")))
            res["label"] = best_of(lambda: per_op(GETS, labels))
            res["scan_10k_edges"] = best_of(lambda: per_op(SCANS, scans))
            res["scan_10k_edges_one_by_one"] = best_of(lambda: per_op(SCANS, scans_one_by_one))
    return res


ROWS: List[Tuple[str, str]] = [
    ("call_qv_version", "one call into the library (`qv_version`, raw ctypes)"),
    ("label", "`tx.label(n)` / `qv_node_label`"),
    ("node_insert", "node insert, no properties"),
    ("node_insert_2_props", "node insert with 2 properties (int, str)"),
    ("get_int", "property get, int"),
    ("get_str", "property get, 14-byte str"),
    ("scan_10k_edges", "scan of 10k out-edges (batches of 512)"),
    ("scan_10k_edges_one_by_one", "scan of 10k out-edges, one call per edge"),
]


def fmt(ns: float) -> str:
    return f"{ns / 1000:.0f} µs" if ns >= 100_000 else f"{ns:.0f} ns"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="quiver-bench-") as tmp:
        work = Path(tmp)
        (work / "py").mkdir()
        c = run_c(work)
        py = run_python(work / "py")
    print(
        f"# quiver {quiver.__version__}, libquiver {quiver.library_version()}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; "
        f"best of {REPEATS}; thread CPU time; sync off\n"
    )
    print("| operation | C | Python | Python / C |")
    print("|---|---:|---:|---:|")
    for key, label in ROWS:
        ratio = py[key] / c[key] if c[key] > 0 else float("inf")
        print(f"| {label} | {fmt(c[key])} | {fmt(py[key])} | {ratio:.1f}x |")
    print(
        f"\nper edge in the 10k scan: C {c['scan_10k_edges'] / SCAN_EDGES:.1f} ns, "
        f"Python {py['scan_10k_edges'] / SCAN_EDGES:.1f} ns"
    )


if __name__ == "__main__":
    main()
