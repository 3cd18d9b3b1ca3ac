#!/usr/bin/env bash
# The quiver command end to end on a generated graph (release build): import CSV files,
# check, dump, load the dump, export to Neo4j CSV and import that, back up and verify;
# the databases and the backup's manifest must have the same digest (the dump footer's).
# Sizes: NODES and EDGES (default 10,000 and 100,000); prints the import rates and the
# backup throughput.
#   scripts/tool-smoke.sh [NODES [EDGES]]
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-10000}
edges=${2:-100000}
cargo build --release --quiet -p quiver-cli
q=$PWD/target/release/quiver
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen-import-csv.py "$work/csv" "$nodes" "$edges"
cd "$work"
footer_digest() { tail -n 1 "$1" | sed -n 's/.*"digest":"\([0-9a-f]*\)".*/\1/p'; }

"$q" import g.qv --nodes=Person csv/people.csv --relationships=KNOWS csv/knows.csv
"$q" check g.qv
"$q" info g.qv --labels
"$q" dump g.qv -o g.jsonl
"$q" load copy.qv g.jsonl
"$q" dump copy.qv -o copy.jsonl
cmp g.jsonl copy.jsonl
"$q" export g.qv --format neo4j-csv --out out | tee export.txt
cmd=$(sed -n 's/^read back with: quiver //p' export.txt)
# shellcheck disable=SC2086  # the printed command is split into its arguments on purpose
"$q" ${cmd/NEW_DB/again.qv}
"$q" dump again.qv -o again.jsonl
a=$(footer_digest g.jsonl)
b=$(footer_digest again.jsonl)
if [ -z "$a" ] || [ "$a" != "$b" ]; then
  echo "digest after export and import differs: $a vs $b" >&2
  exit 1
fi
"$q" backup g.qv backup.qv --json > backup.out
"$q" verify backup.qv
python3 - "$a" backup.out <<'PY'
import json, sys
want, path = sys.argv[1], sys.argv[2]
b = json.load(open(path))
if b["digest"] != want:
    sys.exit(f"backup digest {b['digest']} differs from the dump's {want}")
secs = max(b["copy_seconds"], 1e-9)
print(f"backup: {b['bytes'] / 1e6:.1f} MB, {b['nodes'] + b['edges']} elements in {secs:.3f} s: "
      f"{b['bytes'] / 1e6 / secs:.1f} MB/s, {(b['nodes'] + b['edges']) / secs:,.0f} elements/s "
      f"(digest of the copy {b['digest_seconds']:.3f} s)")
PY
echo "tool smoke test passed: digest $a kept through dump/load, export/import and backup/verify"
