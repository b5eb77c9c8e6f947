# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# valgrind lane (sourced by ci/lane.sh): the cmocka executables of the dev
# build under memcheck. Any error or definite/possible leak fails the test.
lane_valgrind() {
  step cmake --preset dev || return 1
  step cmake --build --preset dev -j "$JOBS" || return 1
  local rc=0 t exe log r p f s
  for exe in "$root"/build/dev/tests/test_*; do
    [[ -x "$exe" && ! -d "$exe" ]] || continue
    t=$(basename "$exe")
    log=$logdir/valgrind-$t.log
    printf '+ valgrind %s  (log: %s)\n' "$t" "$log"
    valgrind -q --error-exitcode=99 --leak-check=full --suppressions="$root/ci/valgrind.supp" \
      --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible \
      --child-silent-after-fork=yes "$exe" >"$log" 2>&1
    r=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [[ $r -ne 0 && $f -eq 0 ]]; then
      f=1 # a valgrind error or leak: the executable fails as a whole
    fi
    count "$p" "$f" "$s"
    printf '  %s: exit %d, %d passed, %d failed, %d skipped\n' "$t" "$r" "$p" "$f" "$s"
    if [[ $r -ne 0 ]]; then
      rc=1
      grep -E '==[0-9]+==|FAILED|ERROR' "$log" | head -n 40 | sed 's/^/  | /'
    fi
  done
  return $rc
}
lane_valgrind
