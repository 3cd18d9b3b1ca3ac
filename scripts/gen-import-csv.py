#!/usr/bin/env python3
"""Writes a generated graph as Neo4j admin-import CSV files for `quiver import`.

    scripts/gen-import-csv.py DIR [NODES [EDGES]]      (default 100000 nodes, 1000000 edges)

The graph is GW1's (../shared/WORKLOAD.md): node i has label Person, age = i % 100 and
name = "p<i>"; edge j goes from rand() % N to rand() % N with type KNOWS and since =
2000 + j % 25, rand() being SplitMix64 seeded with 42. DIR/people.csv holds the nodes
(`:ID,name,age:long`: an unnamed id column is not stored, so each node carries GW1's two
properties) and DIR/knows.csv the edges (`:START_ID,:END_ID,since:long`). Nothing is committed:
the files are made on demand for measurements (PERFORMANCE.md, "quiver import").
"""
import os
import sys

MASK = (1 << 64) - 1


def splitmix64(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "people.csv"), "w") as f:
        f.write(":ID,name,age:long\n")
        f.writelines(f"{i},p{i},{i % 100}\n" for i in range(n))
    rand = splitmix64(42)
    with open(os.path.join(out, "knows.csv"), "w") as f:
        f.write(":START_ID,:END_ID,since:long\n")
        f.writelines(
            f"{next(rand) % n},{next(rand) % n},{2000 + j % 25}\n" for j in range(m)
        )


if __name__ == "__main__":
    main()
