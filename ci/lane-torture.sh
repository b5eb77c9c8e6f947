# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# torture lane (sourced by ci/lane.sh): the ctest label "torture"
# (tests/torture/: orphans, signal storm, fault injection) with CI counts, on
# the native (dev preset: eventfd doorbell, Linux keeper extras) and portable
# (the macOS code path: pipe doorbell) builds, then the Windows orphan
# torture of the mingw build under Wine (in a Wine prefix of its own). The
# ordinary lanes run the same executables with their small default counts
# (a smoke run, which also puts them under the sanitizers and Wine); this
# lane runs the counts of issue 7. Counts can be overridden:
#   TETHER_TORTURE_ITERATIONS      orphan iterations per POSIX build (2000;
#                                  about 25 ms each)
#   TETHER_TORTURE_WIN_ITERATIONS  orphan iterations under Wine (1000; about
#                                  65 ms each; 0 skips the Wine part)
#   TETHER_TORTURE_SIGNALS         storm signals per build (1000000; ~1.5 s)
#   TETHER_TORTURE_OPS             concurrency torture operations (6000)
# The totals each test prints are repeated at the end of the lane.
lane_torture() {
  local rc=0 preset log
  export TETHER_TORTURE_ITERATIONS=${TETHER_TORTURE_ITERATIONS:-2000}
  export TETHER_TORTURE_SIGNALS=${TETHER_TORTURE_SIGNALS:-1000000}
  export TETHER_TORTURE_OPS=${TETHER_TORTURE_OPS:-6000}
  for preset in dev portable; do
    log=$logdir/torture-$preset.ctest.log
    if ! step cmake --preset "$preset" >/dev/null ||
       ! step cmake --build --preset "$preset" -j "$JOBS"; then
      count 0 1 0
      rc=1
      continue
    fi
    ctest_counted "$log" --preset "$preset" -L torture || rc=1
    printf -- '---- %s totals:\n' "$preset"
    sed -n 's/^[0-9]*: \(torture: [0-9]* iterations in\|storm: [0-9]* signals sent\|faults: \)/\1/p' "$log" |
      sed 's/^/  /'
  done
  lane_torture_wine || rc=1
  return $rc
}

lane_torture_wine() {
  local n=${TETHER_TORTURE_WIN_ITERATIONS:-1000} rc=0 log=$logdir/torture-mingw.ctest.log
  local own_prefix=""
  [[ $n -gt 0 ]] || return 0
  step bash "$here/build-cmocka-mingw.sh" >/dev/null || { count 0 1 0; return 1; }
  if ! step cmake --preset mingw >/dev/null ||
     ! step cmake --build --preset mingw -j "$JOBS" --target torture_spawn_win32; then
    count 0 1 0
    return 1
  fi
  if [[ -z "${TETHER_WINEPREFIX:-}" ]]; then
    own_prefix=$(mktemp -d "${TMPDIR:-/tmp}/tether-wine.XXXXXX")
    export TETHER_WINEPREFIX=$own_prefix/prefix
  fi
  if step bash "$here/wine-run.sh" --init; then
    TETHER_TORTURE_ITERATIONS=$n ctest_counted "$log" --preset mingw -L torture || rc=1
  else
    count 0 1 0
    rc=1
  fi
  bash "$here/wine-run.sh" --shutdown
  [[ -n "$own_prefix" ]] && rm -rf "$own_prefix"
  printf -- '---- mingw (Wine) totals:\n'
  sed -n 's/^[0-9]*: \(torture: [0-9]* iterations in\|wine_torture: Linux-side\)/\1/p' "$log" |
    sed 's/^/  /'
  return $rc
}
lane_torture
