# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# bench lane (sourced by ci/lane.sh): a quick smoke run of the benchmarks so
# they never rot. It fails only when the build or the run fails, never on
# the numbers (speed is measured, not asserted).
lane_bench() {
  check "ci/bench.sh --quick builds and runs every benchmark" \
    bash "$root/ci/bench.sh" "$root/build/bench-smoke" --quick
}
lane_bench
