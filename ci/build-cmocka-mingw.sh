#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build cmocka for the MinGW-w64 target from Debian's source package and
# install it, as a static library, into a cache prefix:
#
#   $PREFIX/include/cmocka.h, cmocka_pbc.h
#   $PREFIX/lib/libcmocka.a
#   $PREFIX/lib/cmake/cmocka/cmocka-config.cmake   (cmocka::cmocka + CMOCKA_*)
#   $PREFIX/lib/pkgconfig/cmocka.pc
#
# PREFIX = $TETHER_CMOCKA_PREFIX, else $TETHER_CACHE/cmocka-mingw, else
# ~/.cache/tether/cmocka-mingw (cmake/toolchain-mingw-w64.cmake uses the same
# rule). Idempotent: does nothing when the prefix is complete.
#
# Environment: HOST_ARCH (x86_64), TETHER_CMOCKA_SRC (an unpacked cmocka
# source tree to use instead of `apt-get source cmocka`), JOBS (2). The
# source comes from ci/cmocka-source.sh (root only to add a deb-src entry
# when none is configured).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
HOST_ARCH=${HOST_ARCH:-x86_64}
JOBS=${JOBS:-2}
if [[ -n "${TETHER_CMOCKA_PREFIX:-}" ]]; then
  prefix=$TETHER_CMOCKA_PREFIX
elif [[ -n "${TETHER_CACHE:-}" ]]; then
  prefix=$TETHER_CACHE/cmocka-mingw
else
  prefix=$HOME/.cache/tether/cmocka-mingw
fi
# Bump when the recipe below changes: an older cache is then rebuilt.
recipe=2
stamp=$prefix/.tether-cmocka-$HOST_ARCH-r$recipe

log() { printf 'build-cmocka-mingw: %s\n' "$*"; }

if [[ -f "$stamp" && -f "$prefix/include/cmocka.h" && -f "$prefix/lib/libcmocka.a" &&
      -f "$prefix/lib/cmake/cmocka/cmocka-config.cmake" && -f "$prefix/lib/pkgconfig/cmocka.pc" ]]; then
  log "cached: $prefix ($(cat "$stamp"))"
  exit 0
fi

command -v "$HOST_ARCH-w64-mingw32-gcc" >/dev/null ||
  { log "error: $HOST_ARCH-w64-mingw32-gcc not found (apt-get install mingw-w64)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tether-cmocka.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- source
src=$("$here/cmocka-source.sh" "$work")
version=$(sed -nE 's/^project\(cmocka VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt" | head -n1)
log "source: $src (cmocka ${version:-?})"

# ---------------------------------------------------------------- build
cmake -S "$src" -B "$work/build" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw-w64.cmake" \
  -DHOST_ARCH="$HOST_ARCH" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$work/stage" \
  -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
  -DCMAKE_POLICY_DEFAULT_CMP0063=NEW >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j "$JOBS" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
cmake --install "$work/build" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }

# ---------------------------------------------------------------- install
# Only the static library goes into the prefix: with libcmocka.dll.a beside
# it, -lcmocka would pick the DLL and every test would need cmocka.dll.
rm -rf "$prefix"
mkdir -p "$prefix/include" "$prefix/lib/cmake/cmocka" "$prefix/lib/pkgconfig"
cp "$work/stage/include/"*.h "$prefix/include/"
static=$(find "$work/stage" "$work/build" -name 'libcmocka-static.a' | head -n1)
[[ -n "$static" ]] || { log "error: libcmocka-static.a was not built"; exit 1; }
cp "$static" "$prefix/lib/libcmocka.a"
if [[ -f "$work/stage/lib/cmake/cmocka/cmocka-config-version.cmake" ]]; then
  cp "$work/stage/lib/cmake/cmocka/cmocka-config-version.cmake" "$prefix/lib/cmake/cmocka/"
fi

cp "$here/cmocka-config.cmake" "$prefix/lib/cmake/cmocka/cmocka-config.cmake"

cat >"$prefix/lib/pkgconfig/cmocka.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: cmocka
Description: The cmocka unit testing library (static, $HOST_ARCH-w64-mingw32)
Version: ${version:-1.1.5}
Libs: -L\${libdir} -lcmocka
Cflags: -I\${includedir}
EOF

echo "cmocka ${version:-?} static $HOST_ARCH-w64-mingw32 from ${TETHER_CMOCKA_SRC:-apt-get source cmocka}" >"$stamp"
log "installed into $prefix"
