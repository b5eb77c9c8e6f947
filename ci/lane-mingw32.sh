# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Lane mingw32 (sourced by ci/lane.sh): the 32-bit and MSVC compile checks
# of the Windows backend (issue 14).
#
#   1. i686 MinGW-w64 build of the library, the CLI, the tests and the
#      examples (cmocka built for i686 into a cache of its own), warnings as
#      errors; tether.exe must be a PE32 (i386) image.
#   2. Tests under a 32-bit Wine only if one is installed (Debian: wine32,
#      i386 multiarch); otherwise one counted skip, "skipped: no wine32".
#   3. The _MSC_VER branches of core/atomic.h (the only MSVC-specific code
#      outside #pragma/section tricks) in MSVC mode with clang for i686,
#      x86_64 and aarch64 (-fms-compatibility, __clang__ undefined so that
#      atomic.h takes the MSVC branch). Only a tiny translation unit: MSVC
#      mode cannot see Windows headers here (no Windows SDK; MinGW's headers
#      define __attribute__ away outside GNU mode and clash with clang's
#      MSVC intrin.h), so clang gets three stub C headers
#      (setjmp/stdlib/malloc, which its intrin.h includes).
#   4. core/*.c and win32/*.c with clang (GNU mode) for i686 and x86_64
#      against MinGW's headers, -Wall -Wextra -Werror: a second compiler's
#      warnings on the Windows code.
# Build only, no Wine: well under 3 minutes once cmocka is cached.
lane_mingw32() {
  local rc=0 build=$root/build/mingw32 cache tmp t stub f
  cache=${TETHER_CACHE:-$HOME/.cache/tether}
  export TETHER_CMOCKA_PREFIX_I686=$cache/cmocka-mingw32

  # 1. i686 build.
  if ! command -v i686-w64-mingw32-gcc >/dev/null; then
    printf 'FAIL i686-w64-mingw32-gcc not found (apt-get install mingw-w64)\n'
    count 0 1 0
    return 1
  fi
  step env HOST_ARCH=i686 TETHER_CMOCKA_PREFIX="$TETHER_CMOCKA_PREFIX_I686" \
    bash "$here/build-cmocka-mingw.sh" || { count 0 1 0; return 1; }
  check "i686 MinGW: configure" \
    cmake -S "$root" -B "$build" -G Ninja \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw-w64.cmake" \
      -DHOST_ARCH=i686 -DTETHER_CMOCKA_PREFIX="$TETHER_CMOCKA_PREFIX_I686" \
      -DCMAKE_BUILD_TYPE=Debug -DTETHER_BUILD_TESTS=ON \
      -DTETHER_WARNINGS_AS_ERRORS=ON || return 1
  check "i686 MinGW: build library, CLI, tests, examples (-Werror)" \
    cmake --build "$build" -j "$JOBS" || return 1
  check "i686 MinGW: tether.exe is a 32-bit (i386) PE image" \
    bash -c 'i686-w64-mingw32-objdump -f "$1" | grep -q "file format pei-i386"' \
      _ "$build/bin/tether.exe" || rc=1

  # 2. Tests: only with a 32-bit Wine.
  # (Untested here: this machine has no wine32. wine-run.sh's 64-bit prefix
  # runs 32-bit programs when wine32 is installed, WoW64.)
  if dpkg -s wine32 >/dev/null 2>&1; then
    local own_prefix saved_prefix=${TETHER_WINEPREFIX-}
    own_prefix=$(mktemp -d "${TMPDIR:-/tmp}/tether-wine32.XXXXXX")
    export TETHER_WINEPREFIX=$own_prefix/prefix
    if bash "$here/wine-run.sh" --init; then
      ctest_counted "$logdir/mingw32.ctest.log" --test-dir "$build" \
        --output-on-failure --no-tests=error || rc=1
    else
      count 0 1 0
      rc=1
    fi
    bash "$here/wine-run.sh" --shutdown
    rm -rf "$own_prefix"
    if [[ -n "$saved_prefix" ]]; then export TETHER_WINEPREFIX=$saved_prefix; else unset TETHER_WINEPREFIX; fi
  else
    printf 'skip tests under Wine: skipped: no wine32 (no 32-bit Wine installed)\n'
    count 0 0 1
  fi

  # 3. core/atomic.h in MSVC mode.
  if ! command -v clang >/dev/null; then
    printf 'FAIL clang not found (apt-get install clang)\n'
    count 0 1 0
    return 1
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-msvc.XXXXXX")
  stub=$tmp/stub
  mkdir -p "$stub"
  printf 'typedef struct { unsigned __int64 p[32]; } tether_stub_jb;\ntypedef tether_stub_jb jmp_buf[1];\n' >"$stub/setjmp.h"
  printf '#include <stddef.h>\nvoid *malloc(size_t);\nvoid free(void *);\n' >"$stub/stdlib.h"
  cp "$stub/stdlib.h" "$stub/malloc.h"
  cat >"$tmp/atomic_msvc.c" <<'EOF'
/* Every operation of core/atomic.h, compiled in MSVC mode. */
#include "atomic.h"
#if !defined(_MSC_VER) || defined(__clang__)
#error "not the MSVC branch of core/atomic.h"
#endif
uint64_t tether_msvc_check(volatile uint64_t *p, void *volatile *q, volatile int *n);
uint64_t tether_msvc_check(volatile uint64_t *p, void *volatile *q, volatile int *n) {
  tether__store64(p, 5);
  tether__or64(p, 8);
  tether__and64(p, ~(uint64_t)1);
  tether__store_ptr(q, (void *)p);
  return tether__add64(p, 1) + tether__load64(p) +
         (uint64_t)tether__ctz64((uint64_t)1 << 40) + (uint64_t)tether__load_int(n) +
         (uint64_t)tether__add_int(n, 2) + (tether__load_ptr(q) != 0);
}
EOF
  for t in i686 x86_64 aarch64; do
    check "core/atomic.h, MSVC branch: clang --target=$t-pc-windows-msvc -fms-compatibility" \
      clang --target="$t-pc-windows-msvc" -ffreestanding -fms-extensions -fms-compatibility \
        -U__clang__ -fsyntax-only -Wall -Wextra -Werror -idirafter "$stub" \
        -I"$root/core" "$tmp/atomic_msvc.c" || rc=1
  done

  # 4. The Windows code with clang (GNU mode) against MinGW's headers.
  for t in i686 x86_64; do
    check "core/*.c win32/*.c: clang --target=$t-w64-windows-gnu -Werror" bash -c '
      t=$1 root=$2 st=0
      for f in "$root"/core/*.c "$root"/win32/*.c; do
        clang --target="$t-w64-windows-gnu" -std=c99 -fsyntax-only -Wall -Wextra -Werror \
          -isystem "/usr/$t-w64-mingw32/include" -I"$root/include" -I"$root/core" \
          -I"$root/win32" -DTETHER_BUILDING -D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN \
          "$f" || st=1
      done
      exit $st' _ "$t" "$root" || rc=1
  done
  rm -rf "$tmp"
  return $rc
}
lane_mingw32
