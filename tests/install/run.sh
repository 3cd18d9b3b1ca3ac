#!/usr/bin/env bash
# Tests `make install` the way users meet it (.ci/run runs this after the release build):
#
#   1. make install PREFIX=<temporary prefix>: exactly the expected files, modes, links and
#      SONAME; the installed library exports exactly abi/quiver.symbols
#   2. pkg-config: app.c and app.cpp built shared and static, and run; the static programs
#      do not need libquiver.so (no NEEDED entry), the shared ones load the installed one
#   3. CMake: find_package(Quiver) builds app.c and app.cpp against Quiver::quiver and
#      Quiver::quiver_static, and run; the version file accepts the versions it should and
#      refuses newer or incompatible ones and another pointer size
#   4. the prefix moved elsewhere: CMake, and pkg-config --define-prefix, build and run again
#   5. make uninstall: only the standard directories lib/ and include/ stay, empty; the
#      static programs still run, the shared ones no longer find the library
#   6. make install DESTDIR=... PREFIX=/usr LIBDIR=/usr/lib64: everything lands under
#      DESTDIR, no DESTDIR path inside the files; make uninstall with the same variables
#
# Needs cc, c++, make, pkg-config, cmake, readelf, nm. Takes a few seconds once the release
# library is built (the first `make` builds it).
set -euo pipefail
umask 022 # the expected modes below

root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/tests/install
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/quiver-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { printf -- '--- %s\n' "$*"; }
fail() {
  printf 'install test FAILED: %s\n' "$*" >&2
  exit 1
}
# Runs a command quietly; on failure shows its output and stops.
quiet() {
  local log=$work/last.log
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "$*"
  fi
}

for tool in cc c++ make pkg-config cmake readelf nm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done

step "make build (cargo build --release, native static libraries)"
quiet make --no-print-directory build

# The version, from the generated header, and its ABI series (the rule of build.rs).
version=$(sed -n 's/^#define QV_VERSION_STRING "\(.*\)"/\1/p' include/quiver.h)
IFS=. read -r major minor patch <<<"${version%%[-+]*}"
if [ "$major" != 0 ]; then
  series=$major
elif [ "$minor" != 0 ]; then
  series=0.$minor
else
  series=0.0.$patch
fi
realname=libquiver.so.$version
soname=libquiver.so.$series

# needed BINARY: the libraries BINARY asks the loader for.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# check_static BINARY: no libquiver among its NEEDED entries.
check_static() {
  if needed "$1" | grep -q libquiver; then fail "$1 needs $(needed "$1" | grep libquiver)"; fi
}
# check_shared BINARY LIBDIR: asks for the SONAME and the loader finds it in LIBDIR.
check_shared() {
  needed "$1" | grep -qx "$soname" || fail "$1 does not ask for $soname: $(needed "$1" | xargs)"
  local found
  found=$(env -u LD_LIBRARY_PATH ldd "$1" | sed -n "s/^[[:space:]]*$soname => \([^ ]*\) .*/\1/p")
  [ "$found" = "$2/$soname" ] || fail "$1 loads ${found:-nothing} instead of $2/$soname"
}
# run_app BINARY: the program writes, commits and reads back a fresh database.
n=0
run_app() {
  n=$((n + 1))
  env -u LD_LIBRARY_PATH "$1" "$work/db$n" >"$work/app.out" 2>&1 \
    || { cat "$work/app.out" >&2; fail "$1 failed"; }
  printf '    %s: %s\n' "${1#"$work"/}" "$(cat "$work/app.out")"
}
# installed_tree DIR: one line per entry below DIR: type, mode, path, link target.
installed_tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P %l\n' | LC_ALL=C sort); }

prefix=$work/prefix
step "make install PREFIX=$prefix"
quiet make --no-print-directory install PREFIX="$prefix"
cat >"$work/expected" <<EOF
d 755 include 
d 755 lib 
d 755 lib/cmake 
d 755 lib/cmake/Quiver 
d 755 lib/pkgconfig 
f 644 include/quiver.h 
f 644 lib/cmake/Quiver/QuiverConfig.cmake 
f 644 lib/cmake/Quiver/QuiverConfigVersion.cmake 
f 644 lib/libquiver.a 
f 644 lib/pkgconfig/quiver.pc 
f 755 lib/$realname 
l 777 lib/$soname $realname
l 777 lib/libquiver.so $soname
EOF
LC_ALL=C sort -o "$work/expected" "$work/expected"
installed_tree "$prefix" >"$work/actual"
diff -u "$work/expected" "$work/actual" || fail "installed files differ from the expected list"
cmp -s include/quiver.h "$prefix/include/quiver.h" || fail "installed quiver.h differs"
got=$(readelf -d "$prefix/lib/$realname" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME is '$got', expected $soname"
echo "    files, modes and links as expected; SONAME $soname"
quiet scripts/check-symbols.sh "$prefix/lib/$realname"
echo "    exports match abi/quiver.symbols"
if grep -rlI "$root" "$prefix" >/dev/null; then
  fail "installed text files mention the source tree: $(grep -rlI "$root" "$prefix" | xargs)"
fi

step "the header alone compiles as C99 and C++11, pedantic"
printf '#include <quiver.h>\nint main(void) { return qv_version() == 0; }\n' >"$work/h.c"
quiet cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$prefix/include" "$work/h.c"
quiet c++ -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ -I"$prefix/include" \
  "$work/h.c"

step "pkg-config: C and C++, shared and static"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --variable=prefix quiver)" = "$prefix" ] || fail "pkg-config finds another quiver.pc"
[ "$(pkg-config --modversion quiver)" = "$version" ] || fail "pkg-config --modversion is not $version"
native=$(pkg-config --variable=native_static_libs quiver)
[ -n "$native" ] || fail "quiver.pc has no native_static_libs"
static_libs=$(pkg-config --static --libs quiver | xargs)
[ "$static_libs" = "-L$prefix/lib -lquiver $native" ] || fail "pkg-config --static --libs: $static_libs"
mkdir -p "$work/pc"
cflags=$(pkg-config --cflags quiver)
libdir=$(pkg-config --variable=libdir quiver)
# The README's commands: shared (with an rpath, as the prefix is not a system directory),
# and static (the archive and the system libraries it needs).
shared_libs="$(pkg-config --libs quiver) -Wl,-rpath,$libdir"
static_libs="$libdir/libquiver.a $native"
# shellcheck disable=SC2086 # flags are lists of words
{
  quiet cc -std=c11 -Wall -Wextra -Werror $cflags -o "$work/pc/c_shared" "$src/app.c" $shared_libs
  quiet cc -std=c11 -Wall -Wextra -Werror $cflags -o "$work/pc/c_static" "$src/app.c" $static_libs
  quiet c++ -std=c++17 -Wall -Wextra -Werror $cflags -o "$work/pc/cpp_shared" "$src/app.cpp" \
    $shared_libs
  quiet c++ -std=c++17 -Wall -Wextra -Werror $cflags -o "$work/pc/cpp_static" "$src/app.cpp" \
    $static_libs
}
for kind in c cpp; do
  check_shared "$work/pc/${kind}_shared" "$prefix/lib"
  check_static "$work/pc/${kind}_static"
  run_app "$work/pc/${kind}_shared"
  run_app "$work/pc/${kind}_static"
done
unset PKG_CONFIG_PATH

# cmake_build DIR PREFIX: configures and builds the consumer project in DIR, and runs it.
cmake_build() {
  quiet cmake -S "$src" -B "$1" -DCMAKE_PREFIX_PATH="$2" -DQUIVER_VERSION="$series"
  quiet cmake --build "$1" -j 2
  for kind in c cpp; do
    check_shared "$1/app_${kind}_shared" "$2/lib"
    check_static "$1/app_${kind}_static"
    run_app "$1/app_${kind}_shared"
    run_app "$1/app_${kind}_static"
  done
}
step "CMake: find_package(Quiver $series), Quiver::quiver and Quiver::quiver_static"
cmake_build "$work/cmake" "$prefix"

# find_version EXPECT VERSION [CMAKE ARGS]: runs find_package(Quiver VERSION) alone.
v=0
find_version() {
  local expect=$1 want=$2
  shift 2
  v=$((v + 1))
  local what="find_package(Quiver $want)${*:+ $*}"
  if cmake -S "$src" -B "$work/find$v" -DFIND_ONLY=ON -DCMAKE_PREFIX_PATH="$prefix" \
    -DQUIVER_VERSION="$want" "$@" >"$work/find.log" 2>&1; then
    [ "$expect" = accept ] || { cat "$work/find.log" >&2; fail "$what was accepted"; }
  else
    [ "$expect" = refuse ] || { cat "$work/find.log" >&2; fail "$what was refused"; }
    tr -s ' \n' '  ' <"$work/find.log" | grep -q 'compatible with requested version' \
      || { cat "$work/find.log" >&2; fail "find_package(Quiver $want) failed for another reason"; }
  fi
  printf '    %-6s find_package(Quiver %s)%s\n' "$expect" "${want:-(no version)}" "${*:+ $*}"
}
step "CMake: which versions the package accepts"
find_version accept ""
find_version accept "$series"
find_version accept "$version"
find_version accept "$series...$((major + 1)).0"
if [ "$major" = 0 ]; then
  find_version refuse "0.$((minor + 1))"
  find_version refuse "0.$((minor + 1))...0.$((minor + 3))"
  [ "$minor" = 0 ] || find_version refuse "0.$((minor - 1))"
else
  find_version refuse "$((major - 1))"
fi
find_version refuse "$((major + 1)).0"
find_version refuse "$major.$minor.$((patch + 1))"
find_version refuse "$series" -DCMAKE_SIZEOF_VOID_P=4
grep -q '(64-bit)' "$work/find.log" || fail "the pointer-size refusal does not say why"

moved=$work/moved
step "the prefix moved to $moved"
mv "$prefix" "$moved"
cmake_build "$work/cmake-moved" "$moved"
export PKG_CONFIG_PATH=$moved/lib/pkgconfig
flags=$(pkg-config --define-prefix --cflags --libs quiver)
libdir=$(pkg-config --define-prefix --variable=libdir quiver)
[ "$libdir" = "$moved/lib" ] || fail "pkg-config --define-prefix gives libdir $libdir"
# shellcheck disable=SC2086
quiet cc -std=c11 -o "$work/pc/c_moved" "$src/app.c" $flags -Wl,-rpath,"$libdir"
unset PKG_CONFIG_PATH
check_shared "$work/pc/c_moved" "$moved/lib"
run_app "$work/pc/c_moved"

step "make uninstall PREFIX=$moved"
quiet make --no-print-directory uninstall PREFIX="$moved"
installed_tree "$moved" >"$work/actual"
printf 'd 755 include \nd 755 lib \n' | diff -u - "$work/actual" \
  || fail "make uninstall left more than the empty lib/ and include/"
echo "    left: the empty directories include/ and lib/"
for kind in c cpp; do
  run_app "$work/pc/${kind}_static"
  run_app "$work/cmake-moved/app_${kind}_static"
done
echo "    the static programs still run"
# (Unless the system has its own copy of the library, which the loader would take.)
if ! /sbin/ldconfig -p 2>/dev/null | grep -q "$soname"; then
  for kind in c cpp; do
    if env -u LD_LIBRARY_PATH "$work/cmake-moved/app_${kind}_shared" "$work/db-gone" \
      >"$work/app.out" 2>&1; then
      fail "app_${kind}_shared still runs without the installed library"
    fi
    grep -q "$soname" "$work/app.out" || { cat "$work/app.out" >&2; fail "unexpected failure"; }
  done
  echo "    the shared programs no longer find $soname"
fi

stage=$work/stage
vars=(DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib64)
step "make install ${vars[*]}"
before=$(ls -d /usr/include/quiver.h /usr/lib64/libquiver* 2>/dev/null || true)
quiet make --no-print-directory install "${vars[@]}"
if grep -q ldconfig "$work/last.log"; then fail "make install ran ldconfig with DESTDIR set"; fi
sed -e 's| include| usr/include|' -e 's| lib| usr/lib64|' \
  "$work/expected" >"$work/expected-stage"
printf 'd 755 usr \n' >>"$work/expected-stage"
LC_ALL=C sort -o "$work/expected-stage" "$work/expected-stage"
installed_tree "$stage" >"$work/actual"
diff -u "$work/expected-stage" "$work/actual" || fail "staged files differ from the expected list"
if grep -rlI "$stage" "$stage" >/dev/null; then
  fail "installed files mention DESTDIR: $(grep -rlI "$stage" "$stage" | xargs)"
fi
grep -qx 'prefix=/usr' "$stage/usr/lib64/pkgconfig/quiver.pc" || fail "quiver.pc: prefix is not /usr"
grep -qx 'libdir=${prefix}/lib64' "$stage/usr/lib64/pkgconfig/quiver.pc" \
  || fail "quiver.pc: libdir is not \${prefix}/lib64"
after=$(ls -d /usr/include/quiver.h /usr/lib64/libquiver* 2>/dev/null || true)
[ "$before" = "$after" ] || fail "make install with DESTDIR wrote outside it: $after"
# The staged tree is a moved /usr: its CMake package must find its own files. (Named by
# Quiver_DIR: Debian's CMake does not search lib64.)
find_version accept "$series" -DQuiver_DIR="$stage/usr/lib64/cmake/Quiver"
grep -q "from $stage/usr/lib64/cmake/Quiver" "$work/find.log" || fail "CMake did not use the staged package"
echo "    everything under DESTDIR, as expected; its CMake package finds its files"
quiet make --no-print-directory uninstall "${vars[@]}"
installed_tree "$stage" >"$work/actual"
printf 'd 755 usr \nd 755 usr/include \nd 755 usr/lib64 \n' | diff -u - "$work/actual" \
  || fail "make uninstall ${vars[*]} left more than the empty directories"
echo "    make uninstall: left the empty usr/, usr/include/, usr/lib64/"

step "install test passed"
