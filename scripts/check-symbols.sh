#!/bin/sh
# Compares the symbols libquiver.so exports with the checked-in list abi/quiver.symbols, so
# that an export cannot appear or vanish by accident, and checks that include/quiver.h
# declares exactly the exported functions.
#
#   scripts/check-symbols.sh [LIB]            check (LIB: target/release/libquiver.so)
#   scripts/check-symbols.sh --update [LIB]   rewrite abi/quiver.symbols from LIB
#
# Every defined dynamic symbol counts, not only the qv_ functions: a stray #[no_mangle]
# item is an export too. Needs nm (binutils).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
list=$root/abi/quiver.symbols

update=false
if [ "${1-}" = --update ]; then
  update=true
  shift
fi
lib=${1:-$root/target/release/libquiver.so}
[ -f "$lib" ] || { echo "check-symbols: $lib not found; run cargo build --release" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# nm -D --defined-only prints "ADDRESS TYPE NAME[@VERSION]"; keep the name.
nm -D --defined-only "$lib" | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | LC_ALL=C sort -u \
  > "$tmp/built"
grep -v -e '^#' -e '^$' "$list" | LC_ALL=C sort -u > "$tmp/listed"

if $update; then
  {
    sed -n '/^#/p' "$list"
    cat "$tmp/built"
  } > "$tmp/new"
  mv "$tmp/new" "$list"
  echo "check-symbols: wrote $(wc -l < "$tmp/built") symbols to abi/quiver.symbols"
  exit 0
fi

# The functions the header declares (cbindgen writes one declaration per line).
grep -E '^[a-z].*\bqv_[a-z0-9_]+\(' "$root/include/quiver.h" \
  | sed -E 's/.*\b(qv_[a-z0-9_]+)\(.*/\1/' | LC_ALL=C sort -u > "$tmp/declared"
if ! cmp -s "$tmp/declared" "$tmp/built"; then
  echo "check-symbols: include/quiver.h and $lib disagree (< declared only, > exported only):" >&2
  LC_ALL=C diff "$tmp/declared" "$tmp/built" | grep '^[<>]' >&2
  echo "Rebuild (cargo build regenerates the header) and commit include/quiver.h." >&2
  exit 1
fi

added=$(LC_ALL=C comm -13 "$tmp/listed" "$tmp/built")
removed=$(LC_ALL=C comm -23 "$tmp/listed" "$tmp/built")
if [ -z "$added" ] && [ -z "$removed" ]; then
  echo "check-symbols: $(wc -l < "$tmp/built") exported symbols match abi/quiver.symbols"
  exit 0
fi

{
  echo "check-symbols: the symbols $lib exports differ from abi/quiver.symbols"
  for s in $added; do echo "  + $s   (exported, not in the list)"; done
  for s in $removed; do echo "  - $s   (in the list, not exported)"; done
  cat <<'MSG'
If the change is intended:
  - a new export: run scripts/check-symbols.sh --update and commit abi/quiver.symbols
    with the change that adds it (and a CHANGELOG.md entry);
  - a removed or renamed export breaks the ABI: it needs a new SONAME, that is the next
    minor version while Quiver is 0.x (README.md, "ABI policy"), before the list is updated.
If it is not intended: make the item non-public or drop its #[unsafe(no_mangle)].
MSG
} >&2
exit 1
