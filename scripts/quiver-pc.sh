#!/bin/sh
# Writes quiver.pc (pkg-config) from quiver.pc.in.
#
#   scripts/quiver-pc.sh            for the source tree: libdir = <repo>/target/release,
#                                   includedir = <repo>/include; writes <repo>/quiver.pc
#   scripts/quiver-pc.sh PREFIX     for an installation under PREFIX: libdir = PREFIX/lib,
#                                   includedir = PREFIX/include; writes <repo>/quiver.pc
#                                   (copy it to PREFIX/lib/pkgconfig/)
#
# OUT=path overrides where the file is written.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

if [ $# -ge 1 ]; then
  prefix=$1
  libdir='${prefix}/lib'
  includedir='${prefix}/include'
else
  prefix=$root
  libdir='${prefix}/target/release'
  includedir='${prefix}/include'
fi
out=${OUT:-$root/quiver.pc}

sed -e "s|@PREFIX@|$prefix|g" \
    -e "s|@LIBDIR@|$libdir|g" \
    -e "s|@INCLUDEDIR@|$includedir|g" \
    -e "s|@VERSION@|$version|g" \
    "$root/quiver.pc.in" > "$out"
echo "wrote $out (prefix $prefix, version $version)"
