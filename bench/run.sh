#!/usr/bin/env bash
# Runs the GW1 benchmark (../shared/WORKLOAD.md; bench/gw1.h) on Quiver, SQLite, LMDB and
# RocksDB, one after the other on this machine, and prints one table.
#
#   bench/run.sh [S|L]        default S; results also go to bench/results-<size>.txt
#
# Installs the peers' development packages with apt-get when their headers are missing,
# builds Quiver's release static library and the four benchmark binaries, checks the
# in-memory checksums, runs each system in a fresh directory under $GW1_DIR (default
# $TMPDIR or /tmp), and prints the table (bench/table.py). Each system runs W1-W8, then LS
# (label scan) and UR (update rounds) on a labelled graph of its own (bench/gw1.c says how).
# A system whose checksums disagree with the in-memory computation is marked INVALID in the
# table, and the run exits non-zero.
set -euo pipefail
size="${1:-S}"
case "$size" in S|L) ;; *) echo "usage: $0 [S|L]" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

need=()
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
[ -f /usr/include/lmdb.h ] || need+=(liblmdb-dev)
[ -f /usr/include/rocksdb/c.h ] || need+=(librocksdb-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

(cd "$root" && cargo build --release --quiet)
make -C "$here" --quiet all

dir="${GW1_DIR:-${TMPDIR:-/tmp}}"
out="$here/results-$size.txt"
{
  echo "# GW1 size $size, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "# disk: $(df -hT "$dir" | awk 'NR==2 {print $2, $3 " total,", $5 " free"}')"
  "$here/build/gw1_quiver" --reference "$size"
} > "$out"
status=0
for sys in quiver sqlite lmdb rocksdb; do
  echo "running $sys (size $size)..." >&2
  "$here/build/gw1_$sys" "$size" "$dir/gw1-$sys" >> "$out" || status=1
done
python3 "$here/table.py" "$out"
echo "raw results: $out" >&2
exit $status
