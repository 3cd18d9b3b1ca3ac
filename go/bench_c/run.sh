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
echo "== Go ($(go version | cut -d' ' -f3)), best of 3 (-count=3)"
cd "$here/.."
go test -run '^$' -bench . -benchmem -count=3 . |
  awk '/^Benchmark/ {
         name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
         if (!(name in best) || $3 < best[name]) { best[name] = $3; line[name] = $0 }
         if (!(name in order)) { order[name] = ++n; names[n] = name }
       }
       END { for (i = 1; i <= n; i++) print line[names[i]] }'
