"""kill -9 during commits: every acknowledged commit survives, the one in flight is all
or nothing. Rounds: QUIVER_PY_CRASH_ROUNDS (default 6)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from crash_child import blob, nodes_of

import quiver

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = int(os.environ.get("QUIVER_PY_CRASH_ROUNDS", "6"))


def run_and_kill(
    path: Path, first: int, sync: str, rng: random.Random
) -> Tuple[Set[int], Set[int]]:
    """Runs the child from transaction `first`, kills it with SIGKILL after a random time;
    returns (acknowledged, begun) transaction numbers."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(first), sync],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    # Wait for the first acknowledgement (the child is up and committing), then a random
    # while more.
    seen = ""
    while not seen.endswith(f"ack {first}\n"):
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child died: {proc.stderr.read() if proc.stderr else ''}")
        seen += line
    time.sleep(rng.uniform(0.0, 0.3))
    proc.kill()  # SIGKILL
    # Read the rest through the same buffered reader (communicate() would bypass what
    # readline() already buffered); the child is dead, so both reads end.
    out = proc.stdout.read()
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=30)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    assert proc.returncode == -9, err
    acked: Set[int] = set()
    begun: Set[int] = set()
    for entry in (seen + out).splitlines():
        kind, num = entry.split()
        (acked if kind == "ack" else begun).add(int(num))
    return acked, begun


def check_database(path: Path, acked: Set[int], in_flight: Set[int], last: int) -> None:
    with quiver.open(path, create=False) as db:
        report = db.check()
        assert report.ok, report
        with db.read() as tx:
            labels: Dict[str, List[int]] = {}
            for n in tx.nodes():
                labels.setdefault(tx.label(n), []).append(n)
            for r in range(last + 1):
                nodes = labels.pop(f"R{r}", [])
                if r in acked:
                    assert len(nodes) == nodes_of(r), f"acknowledged commit {r} lost"
                elif r in in_flight:
                    assert len(nodes) in (0, nodes_of(r)), f"commit {r} half there"
                else:
                    assert not nodes, f"commit {r} was never begun but is there"
                for i, n in enumerate(nodes):
                    assert tx.props(n) == {"r": r, "i": i, "blob": blob(r, i)}
                    out = list(tx.edges(n))
                    if i + 1 < len(nodes):
                        assert [(e.dst, e.type) for e in out] == [(nodes[i + 1], "NEXT")]
                        assert tx.edge_props(out[0].id) == {"r": r}
                    else:
                        assert out == []
            assert not labels, f"unexpected nodes: {sorted(labels)}"


@pytest.mark.slow
def test_kill_9_during_commits(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("QUIVER_PY_CRASH_SEED", "0")) or None)
    path = tmp_path / "crash.qv"
    acked_all: Set[int] = set()
    first = 0
    for round_ in range(ROUNDS):
        sync = ("full", "normal", "off")[round_ % 3]
        acked, begun = run_and_kill(path, first, sync, rng)
        assert acked, "the child acknowledged nothing"
        acked_all |= acked
        last = max(begun | acked)
        # In flight: printed "pre" (or not even that: killed before printing) but no "ack".
        in_flight = (begun - acked) | {last + 1}
        check_database(path, acked_all, in_flight, last + 1)
        # What recovered of the in-flight commit counts as acknowledged from now on.
        with quiver.open(path, create=False) as db, db.read() as tx:
            for r in in_flight:
                if list(tx.nodes(f"R{r}")):
                    acked_all.add(r)
        first = last + 2
