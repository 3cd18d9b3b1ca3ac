"""Child of test_crash.py: commits transactions until it is killed.

    python crash_child.py DB_PATH FIRST SYNC

Transaction number r (from FIRST on) creates 1 + r % 5 nodes labelled R<r>, each with
properties {"r": r, "i": i, "blob": ...}, chained by edges. Before committing it prints
"pre r", after the commit returned "ack r" (flushed, so the parent knows at once).
"""

from __future__ import annotations

import sys

import quiver


def nodes_of(r: int) -> int:
    return 1 + r % 5


def blob(r: int, i: int) -> bytes:
    return bytes([r % 251, i % 251]) * (50 * (1 + (r + i) % 40))


def main() -> None:
    path, first, sync = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    db = quiver.open(path, sync=sync, checkpoint_bytes=256 * 1024)
    r = first
    while True:
        with db.write() as tx:
            prev = None
            for i in range(nodes_of(r)):
                n = tx.create_node(f"R{r}", {"r": r, "i": i, "blob": blob(r, i)})
                if prev is not None:
                    tx.create_edge(prev, n, "NEXT", {"r": r})
                prev = n
            print(f"pre {r}", flush=True)
        print(f"ack {r}", flush=True)
        r += 1


if __name__ == "__main__":
    main()
