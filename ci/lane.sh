#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted bash -c scripts take their values as "$1"...
# SPDX-License-Identifier: MIT
# Run one CI lane and print a summary line with the cmocka totals.
#
#   ci/lane.sh <lane>
#
# Lanes:
#   dev sanitize tsan portable release-shared mingw
#                  cmake --preset X && cmake --build --preset X && ctest --preset X
#                  (mingw first builds cmocka for the target and runs the
#                  tests under Wine, each on its own pseudo-terminal)
#   install        install the release and release-shared builds to temporary
#                  prefixes; build tests/consumer with find_package(tether)
#                  and with pkg-config, run both
#   headers        compile include/tether.h alone as C99, C11, C++98, C++11
#                  (-Wall -Wextra -pedantic -Werror) and with MinGW-w64
#   release        the preset steps for the release preset
#   <name>         anything else: ci/lane-<name>.sh if it exists (for later
#                  lanes: valgrind, torture, bench smoke, macos...), else the preset
#                  steps if CMakePresets.json has a preset <name>.
#
# Writing a later lane: ci/lane-<name>.sh is *sourced* inside this script, so
# it can use the helpers below; the status of its last command is the lane's
# result (and any counted failure fails it). For example:
#     preset_lane dev                                  # configure+build+ctest
#     CTEST_WRAP=(env FOO=1)                           # or run ctest yourself:
#     ctest_counted "$logdir/x.log" --preset dev -L slow; r=$?; CTEST_WRAP=()
#     check "bench smoke" build/release/bench/b --quick # one counted check
#     (( r == 0 ))
# `count P F S` adds totals by hand. TETHER_LANE_LIB=1 makes `source
# ci/lane.sh` define the helpers without running a lane.
#
# Environment: JOBS (2), TETHER_CI_LOGS (build/ci-logs: full logs),
# TETHER_CI_RESULTS (a file to append "lane|result|ran|passed|failed|skipped|seconds").
#
# Counting: every cmocka summary line of every test executable is summed
# ("[  PASSED  ] N test(s).", "[  FAILED  ] N test(s)", "[  SKIPPED ] N
# test(s)"). A ctest test that fails without a cmocka FAILED line (crash,
# sanitizer abort, timeout) counts one failure; a test that prints no cmocka
# summary at all counts as one test. A lane that fails outside its tests
# (configure, build) counts one failure, so a broken lane never looks green.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
JOBS=${JOBS:-2}
logdir=${TETHER_CI_LOGS:-$root/build/ci-logs}
mkdir -p "$logdir"

RAN=0 PASSED=0 FAILED=0 SKIPPED=0
CTEST_WRAP=()

step() {
  printf '+ %s\n' "$*"
  "$@"
}

# count <passed> <failed> <skipped>
count() {
  PASSED=$((PASSED + $1)) FAILED=$((FAILED + $2)) SKIPPED=$((SKIPPED + $3))
  RAN=$((RAN + $1 + $2 + $3))
}

# check <description> <command...>: one non-cmocka check counted as a test.
check() {
  local what=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -eq 0 ]]; then
    printf 'ok   %s\n' "$what"; count 1 0 0
  else
    printf 'FAIL %s (exit %d)\n  $ %s\n' "$what" "$rc" "$*"
    [[ -n "$out" ]] && printf '%s\n' "$out" | sed 's/^/  | /'
    count 0 1 0
  fi
  return $rc
}

# ctest_counted <log> <ctest args...>: run ctest verbosely into <log>, show
# the per-test result lines, the output of failed tests and add the cmocka
# totals to the counters. Returns ctest's exit status.
ctest_counted() {
  local log=$1; shift
  local counts="$log.counts" rc
  printf '+ %sctest %s -V -j %s  (log: %s)\n' "${CTEST_WRAP[*]:+${CTEST_WRAP[*]} }" "$*" "$JOBS" "$log"
  "${CTEST_WRAP[@]}" ctest "$@" -V -j "$JOBS" 2>&1 | tee "$log" | awk -v counts="$counts" '
    { sub(/\r+$/, "") }
    /^[0-9]+: / {
      n = $1; sub(/:$/, "", n)
      text = substr($0, length($1) + 2)
      gsub(/\r/, "", text)
      if (length(out[n]) < 200000) out[n] = out[n] "    " text "\n"
      if (text ~ /^\[  (PASSED  |FAILED  |SKIPPED )\] [0-9]+ test\(s\)/) {
        k = substr(text, 4, 6); v = substr(text, 14); sub(/ .*$/, "", v); cm[n] = 1
        if (k == "PASSED") p[n] += v; else if (k == "FAILED") f[n] += v; else s[n] += v
      }
      next
    }
    /Test +#[0-9]+: / {
      print; fflush()
      n = $0; sub(/^.*Test +#/, "", n); sub(/:.*$/, "", n)
      name[n] = $0; sub(/^.*Test +#[0-9]+: /, "", name[n]); sub(/ .*$/, "", name[n])
      if ($0 ~ / Passed /) st[n] = "pass"
      else if ($0 ~ /\*\*\*Skipped|Disabled/) st[n] = "skip"
      else st[n] = "fail"
      next
    }
    /tests passed|Total Test time|The following tests|No tests were found|^[ \t]+[0-9]+ - / { print; fflush() }
    END {
      P = F = S = 0
      for (n in st) {
        if (cm[n]) {
          P += p[n]; F += f[n]; S += s[n]
          if (st[n] == "fail" && f[n] == 0) F += 1
        } else if (st[n] == "pass") P += 1
        else if (st[n] == "skip") S += 1
        else F += 1
        if (st[n] == "fail") {
          printf "---- output of failed test %s (#%s):\n%s---- end of %s\n", name[n], n, out[n], name[n]
        }
      }
      print P, F, S > counts
    }'
  rc=${PIPESTATUS[0]}
  local p=0 f=0 s=0
  [[ -s "$counts" ]] && read -r p f s <"$counts"
  count "$p" "$f" "$s"
  return "$rc"
}

# preset_lane <preset> [command that ctest runs under, e.g. setarch -R...]
preset_lane() {
  local preset=$1; shift
  step cmake --preset "$preset" || return 1
  step cmake --build --preset "$preset" -j "$JOBS" || return 1
  CTEST_WRAP=("$@")
  ctest_counted "$logdir/$preset.ctest.log" --preset "$preset"
  local rc=$?
  CTEST_WRAP=()
  return $rc
}

# ---------------------------------------------------------------- lanes

lane_mingw() {
  step bash "$here/build-cmocka-mingw.sh" || return 1
  local own_prefix=""
  if [[ -z "${TETHER_WINEPREFIX:-}" ]]; then
    own_prefix=$(mktemp -d "${TMPDIR:-/tmp}/tether-wine.XXXXXX")
    export TETHER_WINEPREFIX=$own_prefix/prefix
  fi
  local t0=$SECONDS rc=0
  step bash "$here/wine-run.sh" --init || rc=1
  printf 'wine prefix %s ready in %ss\n' "$TETHER_WINEPREFIX" $((SECONDS - t0))
  if [[ $rc -eq 0 ]]; then
    preset_lane mingw || rc=1
  fi
  # Leave no Wine process behind.
  bash "$here/wine-run.sh" --shutdown
  [[ -n "$own_prefix" ]] && rm -rf "$own_prefix"
  return $rc
}

lane_tsan() {
  # ThreadSanitizer cannot map its shadow memory with the 32 bits of mmap
  # randomisation that recent kernels use; run the tests without ASLR.
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    preset_lane tsan setarch "$(uname -m)" -R
  else
    preset_lane tsan
  fi
}

lane_install() {
  local tmp rc=0 kind prefix pcdir build
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXX")
  for kind in release release-shared; do
    prefix=$tmp/$kind
    # The preset's settings in a build tree of its own (no tests needed).
    build=$root/build/install-$kind
    step cmake --preset "$kind" -B "$build" -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_EXAMPLES=OFF ||
      { rc=1; continue; }
    step cmake --build "$build" -j "$JOBS" || { rc=1; continue; }
    step cmake --install "$build" --prefix "$prefix" >"$logdir/install-$kind.log" 2>&1 ||
      { cat "$logdir/install-$kind.log"; rc=1; continue; }
    echo "installed $kind:"; (cd "$prefix" && find . -type f -o -type l | sort | sed 's/^/  /')

    # The installed CLI on its own: no library path (its install rpath
    # finds libtether in the shared build), and the installed libexec/
    # tether-guard (the build tree's is removed, so the lookup's last
    # fallback cannot answer; on Linux `tether run` uses the keeper).
    rm -f "$build/tether-guard"
    check "$kind: tether-guard installed in libexec" test -x "$prefix/libexec/tether-guard" || rc=1
    check "$kind: the installed CLI runs a child without a library path" \
      env -u LD_LIBRARY_PATH -u DYLD_LIBRARY_PATH "$prefix/bin/tether" run -- true || rc=1

    if [[ $kind == release-shared && $(uname -s) != Linux ]]; then
      echo "skip the export check: it reads an ELF libtether.so with nm -D"
      count 0 0 1
    elif [[ $kind == release-shared ]]; then
      check "$kind: libtether.so exports exactly the TETHER_API functions of tether.h" \
        bash "$root/ci/check-exports.sh" \
        "$(find "$prefix" -name "libtether.so*" -type f | head -n1)" "$root/include/tether.h" || rc=1
    fi

    # 1. CMake package.
    build=$tmp/consumer-cmake-$kind
    check "$kind: find_package(tether) consumer configures and builds" \
      bash -c 'cmake -S "$1" -B "$2" -G Ninja -DCMAKE_PREFIX_PATH="$3" -DCMAKE_BUILD_TYPE=Release &&
               cmake --build "$2"' _ "$root/tests/consumer" "$build" "$prefix" || rc=1
    # A static library cannot find tether-guard relative to itself: it was
    # configured for /usr/local and installed elsewhere, so the consumer
    # names the installed one (TETHER_GUARD, docs/children.md).
    local -a guard_env=(env)
    [[ $kind == release ]] && guard_env=(env "TETHER_GUARD=$prefix/libexec/tether-guard")
    if [[ -x "$build/tether_consumer" ]]; then
      "${guard_env[@]}" "$build/tether_consumer" | sed 's/^/  /'
      check "$kind: find_package(tether) consumer runs" "${guard_env[@]}" "$build/tether_consumer" || rc=1
    else
      count 0 1 0; rc=1
    fi

    # 2. pkg-config.
    pcdir=$(dirname "$(find "$prefix" -name tether.pc | head -n1)")
    check "$kind: pkg-config consumer builds" \
      bash -c 'export PKG_CONFIG_PATH="$1"
               cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$3" "$2" $(pkg-config --cflags --libs tether)' \
      _ "$pcdir" "$root/tests/consumer/main.c" "$tmp/consumer-pc-$kind" || rc=1
    if [[ -x "$tmp/consumer-pc-$kind" ]]; then
      check "$kind: pkg-config consumer runs" \
        "${guard_env[@]}" LD_LIBRARY_PATH="$(dirname "$pcdir")" DYLD_LIBRARY_PATH="$(dirname "$pcdir")" \
        "$tmp/consumer-pc-$kind" || rc=1
    else
      count 0 1 0; rc=1
    fi
  done
  rm -rf "$tmp"
  return $rc
}

lane_headers() {
  local tmp rc=0 std
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-headers.XXXXXX")
  # tests/header_check.c (also the ctest tests header_c99/c11/cxx98/cxx11):
  # tether.h included twice (its guard) and the options' _INIT macros
  # (designated initializers in C, a template in C++), here under more
  # compilers and -Wundef; header_check.cpp is the same file as C++.
  local hc=$root/tests/header_check.c hcpp=$root/tests/header_check.cpp
  local -a cw=(-Wall -Wextra -pedantic -Werror -Wundef -Wshadow -I"$root/include")
  for std in c99 c11; do
    check "gcc -std=$std" gcc -std="$std" "${cw[@]}" -Wstrict-prototypes -c "$hc" -o "$tmp/h.o" || rc=1
  done
  check "gcc -std=c99 -DTETHER_SHARED" gcc -std=c99 "${cw[@]}" -DTETHER_SHARED -c "$hc" -o "$tmp/h.o" || rc=1
  for std in c++98 c++11; do
    check "g++ -std=$std" g++ -std="$std" "${cw[@]}" -c "$hcpp" -o "$tmp/h.o" || rc=1
  done
  if command -v clang >/dev/null; then
    check "clang -std=c99" clang -std=c99 "${cw[@]}" -c "$hc" -o "$tmp/h.o" || rc=1
  fi
  local mgcc=x86_64-w64-mingw32-gcc mgxx=x86_64-w64-mingw32-g++
  if command -v "$mgcc" >/dev/null; then
    check "$mgcc -std=c99" "$mgcc" -std=c99 "${cw[@]}" -c "$hc" -o "$tmp/h.o" || rc=1
    check "$mgcc -std=c11 -DTETHER_SHARED (dllimport)" "$mgcc" -std=c11 "${cw[@]}" -DTETHER_SHARED -c "$hc" -o "$tmp/h.o" || rc=1
    check "$mgxx -std=c++11" "$mgxx" -std=c++11 "${cw[@]}" -c "$hcpp" -o "$tmp/h.o" || rc=1
  else
    printf 'FAIL %s not found\n' "$mgcc"; count 0 1 0; rc=1
  fi
  check "every source and script file has its SPDX licence line" bash "$root/ci/check-spdx.sh" || rc=1
  # The tree's C style (.clang-format), with the clang-format of Debian 12
  # (14): other versions format some constructs differently.
  if command -v clang-format >/dev/null && [[ $(clang-format --version) == *" 14."* ]]; then
    check "every C file is formatted as .clang-format says (clang-format 14)" bash -c '
      cd "$1" && git ls-files "*.c" "*.h" "*.cpp" | xargs clang-format --dry-run -Werror' _ "$root" || rc=1
  else
    printf "skip the format check: it needs clang-format 14 (%s)\n" \
      "$(clang-format --version 2>/dev/null || echo "not installed")"
    count 0 0 1
  fi
  # The public header itself includes nothing but <stddef.h> and <stdint.h>
  # (depth 2 of gcc -H: what tether.h includes directly).
  check "tether.h includes only <stddef.h> and <stdint.h>" bash -c '
    other=$(gcc -std=c99 -I"$1" -H -fsyntax-only "$2" 2>&1 >/dev/null |
            grep -E "^\.\. " | grep -vE "/(stddef|stdint)\.h$" || true)
    [[ -z "$other" ]] || { echo "$other"; exit 1; }' _ "$root/include" "$hc" || rc=1
  rm -rf "$tmp"
  return $rc
}

run_lane() {
  local lane=$1
  case "$lane" in
    dev|sanitize|portable|release|release-shared) preset_lane "$lane" ;;
    tsan) lane_tsan ;;
    mingw) lane_mingw ;;
    install) lane_install ;;
    headers) lane_headers ;;
    *)
      if [[ -f "$here/lane-$lane.sh" ]]; then
        # shellcheck source=/dev/null
        source "$here/lane-$lane.sh"
      elif grep -q "\"name\": \"$lane\"" "$root/CMakePresets.json" 2>/dev/null; then
        preset_lane "$lane"
      else
        echo "lane.sh: unknown lane '$lane'" >&2
        return 2
      fi ;;
  esac
}

# Sourced by a ci/lane-<name>.sh for its helpers: stop here.
[[ -n "${TETHER_LANE_LIB:-}" ]] && return 0

lane=${1:?usage: ci/lane.sh <lane>}
cd "$root" || exit 1
printf '==== lane %s (jobs %s) ====\n' "$lane" "$JOBS"
start=$SECONDS
run_lane "$lane"
rc=$?
secs=$((SECONDS - start))
result=PASS
# A counted failure fails the lane even if its last command succeeded.
[[ $rc -eq 0 && $FAILED -gt 0 ]] && rc=1
if [[ $rc -ne 0 ]]; then
  result=FAIL
  # A lane that failed outside its tests still counts as a failure.
  [[ $FAILED -eq 0 ]] && count 0 1 0
fi
printf '==== lane %s: %s - ran %d, passed %d, failed %d, skipped %d (%ss)\n' \
  "$lane" "$result" "$RAN" "$PASSED" "$FAILED" "$SKIPPED" "$secs"
if [[ -n "${TETHER_CI_RESULTS:-}" ]]; then
  printf '%s|%s|%d|%d|%d|%d|%d\n' "$lane" "$result" "$RAN" "$PASSED" "$FAILED" "$SKIPPED" "$secs" \
    >>"$TETHER_CI_RESULTS"
fi
[[ $rc -eq 0 ]]
