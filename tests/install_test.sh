#!/usr/bin/env bash
# troupe used from a user's own build: install it into a temporary prefix,
# then build tests/install/program.cpp there with CMake (find_package) and
# with meson (dependency('troupe'), through pkg-config), and run each on an
# embedded cluster. Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

meson install -C "$build" --destdir "$work/root" --no-rebuild --quiet
prefix=$(find "$work/root" -name troupeConfig.cmake -printf '%h\n' | head -n1)
prefix=${prefix%/cmake/troupe}           # <prefix>/<libdir>
pcdir=$prefix/pkgconfig
prefix=$(cd "$prefix/../.." && pwd)      # <prefix>: libdir is lib/<triplet>
[ -f "$prefix/include/troupe/troupe.hpp" ] || { echo "no headers under $prefix"; exit 1; }
[ -x "$prefix/bin/troupe" ] || { echo "no troupe CLI under $prefix"; exit 1; }
ls "$pcdir"/../libtroupe.a "$pcdir"/../libtroupe.so >/dev/null

expect='square(12) = 144; an actor greets you'
status=0
run() { # run NAME EXE: it must load the installed libtroupe, and work
  local out
  local libs
  libs=$(ldd "$2")
  if ! grep -q "$work/root/.*libtroupe\.so" <<<"$libs"; then
    echo "FAILED: $1 does not load the installed libtroupe"
    status=1
  fi
  out=$(timeout 120 "$2" 2>&1) || true
  echo "$1: $out"
  if grep -qF "$expect" <<<"$out"; then echo "PASS: $1"; else echo "FAILED: $1"; status=1; fi
}

for kind in cmake meson; do
  cp -r "$source/tests/install/$kind" "$work/$kind"
  cp "$source/tests/install/program.cpp" "$work/$kind/"
done

cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake/build" >/dev/null
run "CMake find_package(troupe)" "$work/cmake/build/troupe_user"

PKG_CONFIG_PATH=$pcdir meson setup "$work/meson/build" "$work/meson" >/dev/null
meson compile -C "$work/meson/build" >/dev/null
run "meson dependency('troupe')" "$work/meson/build/troupe_user"
exit $status
