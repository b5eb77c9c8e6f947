#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build cmocka for macOS targets with zig (cmake/toolchain-zig-macos.cmake)
# from Debian's source package, as ci/build-cmocka-mingw.sh does for MinGW,
# and install it, as a static library, into one cache prefix per target:
#
#   $ROOT/<target>/include/cmocka.h, cmocka_pbc.h
#   $ROOT/<target>/lib/libcmocka.a
#   $ROOT/<target>/lib/cmake/cmocka/cmocka-config.cmake  (cmocka::cmocka + CMOCKA_*)
#
#   ci/build-cmocka-macos.sh aarch64-macos.13.0 x86_64-macos.11.0
#
# ROOT = $TETHER_CACHE/cmocka-macos, TETHER_CACHE defaulting to
# ~/.cache/tether (the toolchain file's default TETHER_CMOCKA_PREFIX is
# $ROOT/<target>). Idempotent: a complete prefix is left alone; the source
# is fetched once for all targets. Needs TETHER_ZIG (or zig where the
# toolchain file looks for it).
#
# Environment: TETHER_CMOCKA_SRC (an unpacked cmocka source tree to use
# instead of `apt-get source cmocka`), JOBS (2). The source comes from
# ci/cmocka-source.sh, which adds a deb-src entry when none is configured
# (a fresh Debian 12; root only): this lane runs before the mingw lane.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
JOBS=${JOBS:-2}
cache=${TETHER_CACHE:-$HOME/.cache/tether}
croot=$cache/cmocka-macos
# Bump when the recipe below changes: an older cache is then rebuilt.
recipe=1

log() { printf 'build-cmocka-macos: %s\n' "$*"; }

[[ $# -gt 0 ]] || { echo "usage: $0 <zig target>..." >&2; exit 2; }

complete() {
  local p=$croot/$1
  [[ -f "$p/.tether-cmocka-r$recipe" && -f "$p/include/cmocka.h" && -f "$p/lib/libcmocka.a" &&
     -f "$p/lib/cmake/cmocka/cmocka-config.cmake" ]]
}

todo=()
for t in "$@"; do
  if complete "$t"; then
    log "cached: $croot/$t ($(cat "$croot/$t/.tether-cmocka-r$recipe"))"
  else
    todo+=("$t")
  fi
done
[[ ${#todo[@]} -gt 0 ]] || exit 0

mkdir -p "$croot"
# Several worktrees may share the cache: one builder at a time.
exec 9>"$croot/.lock"
flock 9
work=$(mktemp -d "${TMPDIR:-/tmp}/tether-cmocka-macos.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- source
src=$("$here/cmocka-source.sh" "$work")
version=$(sed -nE 's/^project\(cmocka VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt" | head -n1)
log "source: $src (cmocka ${version:-?})"

# ---------------------------------------------------------------- build
for t in "${todo[@]}"; do
  complete "$t" && continue # built meanwhile by another worktree
  b=$work/build-$t
  # Only the static library is built (nothing links cmocka's dylib).
  cmake -S "$src" -B "$b" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-zig-macos.cmake" \
    -DTETHER_ZIG_TARGET="$t" \
    -DCMAKE_BUILD_TYPE=Release \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
    -DCMAKE_POLICY_DEFAULT_CMP0063=NEW >"$work/configure-$t.log" 2>&1 ||
    { cat "$work/configure-$t.log"; exit 1; }
  cmake --build "$b" -j "$JOBS" --target cmocka-static >"$work/build-$t.log" 2>&1 ||
    { cat "$work/build-$t.log"; exit 1; }
  static=$(find "$b" -name 'libcmocka-static.a' | head -n1)
  [[ -n "$static" ]] || { log "error: libcmocka-static.a was not built for $t"; exit 1; }

  p=$croot/$t
  rm -rf "$p"
  mkdir -p "$p/include" "$p/lib/cmake/cmocka"
  cp "$src/include/cmocka.h" "$src/include/cmocka_pbc.h" "$p/include/"
  cp "$static" "$p/lib/libcmocka.a"
  cp "$here/cmocka-config.cmake" "$p/lib/cmake/cmocka/cmocka-config.cmake"
  echo "cmocka ${version:-?} static $t from ${TETHER_CMOCKA_SRC:-apt-get source cmocka}" >"$p/.tether-cmocka-r$recipe"
  log "installed into $p"
done
