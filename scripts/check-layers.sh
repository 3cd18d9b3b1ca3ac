#!/bin/sh
# Checks ARCHITECTURE.md's rule that each layer of src/ uses only the layers below it:
# every `crate::MODULE` a file names must be of a lower layer (or its own module). Modules
# of the same layer (wal and store) do not use each other either. Prints each violation
# and exits 1 if there is any.
set -eu
cd "$(dirname "$0")/../src"

layer() {
  case $1 in
    error) echo 0 ;;
    options|io) echo 1 ;;
    format) echo 2 ;;
    wal|store|validate) echo 3 ;;
    recovery) echo 4 ;;
    txn) echo 5 ;;
    graph) echo 6 ;;
    db) echo 7 ;;
    ffi|testing) echo 8 ;;
    *) echo "" ;;
  esac
}

bad=0
for f in $(find . -name '*.rs' ! -name lib.rs ! -name limits.rs | sort); do
  own=$(echo "$f" | sed -e 's|^\./||' -e 's|/.*||' -e 's|\.rs$||')
  own_layer=$(layer "$own")
  if [ -z "$own_layer" ]; then
    echo "check-layers: $f: module $own has no layer; add it to scripts/check-layers.sh" >&2
    bad=1
    continue
  fi
  for used in $(grep -o 'crate::[a-z_]*' "$f" | sed 's/crate:://' | sort -u); do
    [ "$used" = "$own" ] && continue
    used_layer=$(layer "$used")
    # Names re-exported at the crate root (crate::Error, crate::Database) have no layer
    # of their own here; `crate::` followed by a capital letter is not matched above.
    [ -z "$used_layer" ] && continue
    if [ "$used_layer" -ge "$own_layer" ]; then
      echo "check-layers: src/${f#./} (layer $own_layer, $own) uses crate::$used (layer $used_layer)" >&2
      bad=1
    fi
  done
done
exit $bad
