#!/usr/bin/env bash
# Tests the Go package as its users meet it (.ci/run runs this after the release build):
#
#   1. make install PREFIX=<temporary prefix>; everything below sees only that install,
#      through PKG_CONFIG_PATH and LD_LIBRARY_PATH
#   2. gofmt and go vet
#   3. go test -race: the unit tests, the concurrency tests and the kill -9 crash test
#      with QUIVER_GO_CRASH_ROUNDS rounds (default here 30)
#   4. a program outside the repository, written only from GO.md
#      (testdata/consumer/main.go), with require + replace in its go.mod: builds and runs
#   5. the C side of the Go-against-C benchmark (bench_c/bench.c) still builds (run it
#      with bench_c/run.sh; not here)
#
# Needs Go 1.24 or newer, make, cc and pkg-config. Takes one to two minutes once the
# release library is built (the first `make install` builds it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || { echo "go test: Go 1.24 or newer is needed" >&2; exit 1; }
goversion=$(go env GOVERSION)
case $goversion in
  go1.2[4-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  *) echo "go test: Go 1.24 or newer is needed, found $goversion" >&2; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/quiver-go-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Go's build cache keys a cgo package on its own files, its directory and the CGO_*
# variables, not on what pkg-config prints nor on the headers it includes. So the prefix
# has a fixed path in this checkout (a cached package links with the -L it was built
# with), and CGO_CFLAGS carries the header's hash (a changed header rebuilds the package).
prefix=$root/target/go-test-prefix
rm -rf "$prefix"

echo "--- make install PREFIX=$prefix"
make -C "$root" --no-print-directory install PREFIX="$prefix" LDCONFIG= >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; exit 1; }
header_sha=$(sha256sum "$prefix/include/quiver.h" | cut -c1-16)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DQVGO_HEADER_SHA=$header_sha"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "pkg-config: $(pkg-config --modversion quiver) $(pkg-config --libs quiver)"

cd "$here"
echo "--- gofmt -l"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt'ed: $unformatted" >&2
  exit 1
fi

echo "--- go vet ./..."
go vet ./...

rounds=${QUIVER_GO_CRASH_ROUNDS:-30}
echo "--- go test -race ./... (QUIVER_GO_CRASH_ROUNDS=$rounds)"
QUIVER_GO_CRASH_ROUNDS=$rounds go test -race -count=1 ./...

echo "--- a program outside the repository, from GO.md, with require + replace"
app=$work/app
mkdir -p "$app"
cp testdata/consumer/main.go "$app/"
module=$(sed -n 's/^module //p' go.mod)
cat >"$app/go.mod" <<MOD
module example.com/quiver-consumer

go 1.24

require $module v0.0.0

replace $module => $here
MOD
(cd "$app" && go vet . && go build -o consumer . && ./consumer)
echo "--- bench_c/bench.c builds"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -Werror -o "$work/bench_c" bench_c/bench.c $(pkg-config --cflags --libs quiver)
echo "go test.sh: all passed"
