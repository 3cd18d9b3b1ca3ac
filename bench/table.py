#!/usr/bin/env python3
"""Prints a GW1 results file (lines "system phase metric value") as a table: one row per
phase and metric, one column per system, then Quiver's ratio to the best peer. Checksum rows
compare every system with the in-memory reference; a disagreement marks the system INVALID.
"""
import sys

# Metrics where a smaller number is better; every other numeric metric is a rate.
LOWER_IS_BETTER = {("W1", "total_s"), ("W1", "size_bytes"), ("W6", "open_s"),
                   ("W8", "close_s"), ("W8", "open_read_ms"), ("W8", "rss_kib"),
                   ("W2x8", "fsyncs"),
                   ("UR", "size_load_bytes"), ("UR", "size_round1_bytes"),
                   ("UR", "size_round5_bytes"), ("UR", "size_ratio")}
# Metrics that are facts, not scores: no ratio.
NO_RATIO = {("W2", "raw_fsync_per_s"), ("W6", "verified"), ("ALL", "checksums")}
SYSTEMS = ["quiver", "sqlite", "lmdb", "rocksdb"]
# Issue 5's targets: (what Quiver's figure is compared with, bound, how to print it).
#   "peer": Quiver / best peer >= bound (for times: best peer / Quiver >= bound)
#   "lmdb": Quiver / LMDB >= bound;  "sqlite": Quiver / SQLite >= bound
#   "self": Quiver's own figure >= bound;  "self_max": Quiver's own figure <= bound
#   "sqlite_max": Quiver <= bound x SQLite;  "max": Quiver < bound
# LS and UR are the storage-format issue's targets (recorded before storage format 2).
TARGETS = {
    ("W1", "nodes_per_s"): ("peer", 1.5, ">= 1.5x best peer"),
    ("W1", "edges_per_s"): ("peer", 5.0, ">= 5x best peer"),
    ("W1", "size_bytes"): ("sqlite_max", 2.0, "<= 2x SQLite"),
    ("W2", "fraction_of_raw"): ("self", 0.9, ">= 0.9 of raw"),
    ("W2x8", "times_raw"): ("self", 3.0, ">= 3x raw"),
    ("W3", "reads_per_s"): ("lmdb", 2.0, ">= 2x LMDB"),
    ("W4", "edges_per_s"): ("lmdb", 2.0, ">= 2x LMDB"),
    ("W5", "starts_per_s"): ("lmdb", 1.0, ">= LMDB"),
    ("W6", "open_s"): ("sqlite_max", 2.0, "<= 2x SQLite"),
    ("W7", "deletes_per_s"): ("peer", 2.0, ">= 2x best peer"),
    ("W8", "close_s"): ("sqlite_max", 1.0, "<= SQLite"),
    ("W8", "open_read_ms"): ("max", 1.0, "< 1 ms"),
    ("W8", "rss_kib"): ("max", 8192, "< 8 MiB"),
    ("LS", "nodes_per_s"): ("sqlite", 2.0, "label scan >= 2x SQLite"),
    ("UR", "size_ratio"): ("self_max", 1.3, "size after 5 rounds <= 1.3x after 1"),
}
# Phases whose checksum must equal the in-memory reference's.
CHECKED = ("W3", "W4", "W5", "W7", "LS", "UR")


def target(values, phase, metric, ratio):
    """The target's text and whether it holds ("" when there is no target)."""
    t = TARGETS.get((phase, metric))
    if t is None:
        return ""
    kind, bound, text = t
    try:
        q = float(values[("quiver", phase, metric)])
        if kind == "peer":
            ok = ratio is not None and ratio >= bound
        elif kind == "lmdb":
            ok = q / float(values[("lmdb", phase, metric)]) >= bound
        elif kind == "sqlite":
            ok = q / float(values[("sqlite", phase, metric)]) >= bound
        elif kind == "self":
            ok = q >= bound
        elif kind == "self_max":
            ok = q <= bound
        elif kind == "sqlite_max":
            ok = q <= bound * float(values[("sqlite", phase, metric)])
        else:
            ok = q < bound
    except (KeyError, ValueError, ZeroDivisionError):
        return f"{text}: ?"
    return f"{text}: {'met' if ok else 'NOT met'}"


def main(path):
    rows, values = [], {}
    header = []
    for line in open(path):
        if line.startswith("#"):
            header.append(line.rstrip())
            continue
        parts = line.split()
        if len(parts) != 4:
            continue
        system, phase, metric, value = parts
        key = (phase, metric)
        if key not in rows and system != "reference":
            rows.append(key)
        values[(system, phase, metric)] = value
    systems = [s for s in SYSTEMS if any(k[0] == s for k in values)]
    invalid = set()
    for s in systems:
        for phase in CHECKED:
            ref = values.get(("reference", phase, "checksum"))
            got = values.get((s, phase, "checksum"))
            if ref is None or got != ref:
                invalid.add(s)
        if values.get((s, "ALL", "checksums")) != "ok" or values.get((s, "W6", "verified")) != "10000":
            invalid.add(s)
    for h in header:
        print(h)
    width = 13
    print(f"{'phase':5} {'metric':16} " + " ".join(f"{s:>{width}}" for s in systems)
          + f" {'quiver/best':>12}  target")
    for phase, metric in rows:
        cells = [values.get((s, phase, metric), "-") for s in systems]
        ratio, r = "", None
        if metric != "checksum" and (phase, metric) not in NO_RATIO and "quiver" in systems:
            try:
                q = float(values[("quiver", phase, metric)])
                peers = [float(values[(s, phase, metric)]) for s in systems
                         if s != "quiver" and (s, phase, metric) in values]
                if peers:
                    if (phase, metric) in LOWER_IS_BETTER:
                        r = min(peers) / q if q > 0 else None
                    else:
                        r = q / max(peers) if max(peers) > 0 else None
                    ratio = f"{r:.2f}x" if r is not None else ""
            except (KeyError, ValueError):
                ratio = ""
        print(f"{phase:5} {metric:16} " + " ".join(f"{c:>{width}}" for c in cells)
              + f" {ratio:>12}  {target(values, phase, metric, r)}")
    print(f"{'valid':22} " + " ".join(f"{('INVALID' if s in invalid else 'yes'):>{width}}"
                                       for s in systems))
    print("quiver/best: Quiver's figure over the best peer's for rates; the best peer's over "
          "Quiver's for times, sizes, RSS and fsyncs. Above 1 means Quiver leads.")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
