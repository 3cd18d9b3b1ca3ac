#!/usr/bin/env bash
# Runs the Go package's benchmarks and the same operations from C (bench.c), against the
# installed library that pkg-config finds, and prints both (PERFORMANCE.md, "Go against C").
#
#   PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig LD_LIBRARY_PATH=$PREFIX/lib go/bench_c/run.sh
#
# Takes about a minute and a half.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(mktemp -d "${TMPDIR:-/tmp}/quiver-bench-c.XXXXXX")
trap 'rm -rf "$build"' EXIT

# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -Werror -o "$build/bench" "$here/bench.c" $(pkg-config --cflags --libs quiver)
echo "== C"
"$build/bench"
echo "== Go ($(go version | cut -d' ' -f3)), best of 3 (-count=3) for each figure"
cd "$here/.."
go test -run '^$' -bench . -count=3 . |
  awk '/^Benchmark/ {
         name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
         if (!(name in seen)) { seen[name] = 1; names[++n] = name }
         for (i = 3; i + 1 <= NF; i += 2) {   # value unit pairs: keep the smallest of each
           k = name SUBSEP $(i + 1)
           if (!(k in best) || $i + 0 < best[k]) best[k] = $i + 0
           if (!((name, "u", $(i + 1)) in have)) { have[name, "u", $(i + 1)] = 1; units[name] = units[name] " " $(i + 1) }
         }
       }
       END {
         for (j = 1; j <= n; j++) {
           line = sprintf("%-40s", names[j]); m = split(units[names[j]], u, " ")
           for (i = 1; i <= m; i++) line = line sprintf(" %12.1f %s", best[names[j], u[i]], u[i])
           print line
         }
       }'
