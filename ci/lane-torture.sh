# shellcheck shell=bash
# torture lane (sourced by ci/lane.sh): the ctest label "torture"
# (tests/torture/: orphans, signal storm, fault injection) with CI counts, on
# the native (dev preset: eventfd doorbell, Linux keeper extras) and portable
# (the macOS code path: pipe doorbell) builds. The ordinary lanes run the
# same executables with their small default counts (a smoke run, which also
# puts them under the sanitizers and Wine); this lane runs the counts of
# issue 7. Counts can be overridden from the environment:
#   TETHER_TORTURE_ITERATIONS  orphan iterations per build (2000; ~25 ms each)
#   TETHER_TORTURE_SIGNALS     storm signals per build (1000000; ~1.5 s)
# The totals each test prints are repeated at the end of the lane.
lane_torture() {
  local rc=0 preset log
  export TETHER_TORTURE_ITERATIONS=${TETHER_TORTURE_ITERATIONS:-2000}
  export TETHER_TORTURE_SIGNALS=${TETHER_TORTURE_SIGNALS:-1000000}
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
  return $rc
}
lane_torture
