#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build tether_bench in Release and run it; prints the markdown report.
#
#   ci/bench.sh [BUILD_DIR] [--quick] [other tether_bench options...]
#
# BUILD_DIR defaults to build/bench (relative to the repository root). A full
# run (the default, about 5 minutes) writes bench/results/latest.json;
# --quick (a CI smoke run: every benchmark with tiny counts, a few seconds
# plus the build) writes BUILD_DIR/quick.json instead, so that a smoke run
# never replaces the recorded full results. The report records what was
# built (git describe --always --dirty). See docs/performance.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build/bench"
if [[ $# -gt 0 && $1 != -* ]]; then
  build=$1
  shift
fi
[[ $build = /* ]] || build="$PWD/$build"

quick=0
for a in "$@"; do
  [[ $a == --quick ]] && quick=1
done
if [[ $quick -eq 1 ]]; then
  json="$build/quick.json"
else
  json="$root/bench/results/latest.json"
  mkdir -p "$root/bench/results"
fi

gen=()
if command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi
# Only pass a generator when the build tree does not exist yet.
[[ -f "$build/CMakeCache.txt" ]] && gen=()

# quiet <command...>: run it, show its output only when it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "ci/bench.sh: failed: $*" >&2
    exit 1
  fi
}

quiet cmake -S "$root" -B "$build" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DTETHER_BUILD_BENCH=ON \
  -DTETHER_BUILD_TESTS=OFF \
  -DTETHER_BUILD_EXAMPLES=OFF \
  -DTETHER_BUILD_TOOLS=OFF \
  -DTETHER_INSTALL=OFF
quiet cmake --build "$build" --target tether_bench -j "${JOBS:-2}"

source_desc=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
"$build/bench/tether_bench" --source "$source_desc" --json "$json" "$@"
echo "JSON: $json" >&2
