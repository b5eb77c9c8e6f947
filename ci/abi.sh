#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ABI check (docs/abi.md): build the shared library with debug info,
# describe its public ABI with abidw (types from include/ only) and compare
# it with the stored one, abi/libtether.abi, with abidiff.
#
#   ci/abi.sh check BUILD_DIR     exit 0 when nothing of the stored ABI
#                                 changed (new functions are allowed);
#                                 otherwise abidiff's report and exit 1
#   ci/abi.sh selftest BUILD_DIR  proves the check can fail: builds a copy
#                                 of the tree with a field added to
#                                 tether_event and expects the check to
#                                 report it (exit 0 when it does)
#   ci/abi.sh update BUILD_DIR    rewrite abi/libtether.abi from this tree
#                                 (only in a commit that means to change the
#                                 ABI: a release that bumps the SONAME, or a
#                                 reviewed use of reserved room)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:?usage: ci/abi.sh check|selftest|update BUILD_DIR}
out=${2:?usage: ci/abi.sh check|selftest|update BUILD_DIR}
baseline=$root/abi/libtether.abi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# describe SRC_DIR BUILD_DIR XML: build libtether.so from SRC_DIR and write
# the ABI of what tether.h declares.
# The stored ABI has no source locations (--no-show-locs), so that editing
# tether.h's comments does not make it stale; the described builds keep
# short ones (file:line in abidiff's report).
describe() {
  local src=$1 build=$2 xml=$3 locs=${4:---short-locs}
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_SHARED_LIBS=ON -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_TOOLS=OFF \
    -DTETHER_BUILD_EXAMPLES=OFF -DTETHER_WARNINGS_AS_ERRORS=ON >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; return 1; }
  cmake --build "$build" --target tether -j "${JOBS:-2}" >"$build.build.log" 2>&1 ||
    { cat "$build.build.log"; return 1; }
  abidw --headers-dir "$src/include" --drop-private-types --no-corpus-path \
    "$locs" --no-comp-dir-path \
    --out-file "$xml" "$build/libtether.so"
}

# compare XML: abidiff of the stored ABI against XML; added functions are
# not changes (--no-added-syms). Prints the report; abidiff's status.
compare() {
  abidiff --no-added-syms "$baseline" "$1"
}

case $mode in
  update)
    describe "$root" "$out/lib" "$baseline" --no-show-locs
    echo "wrote $baseline"
    ;;
  check)
    describe "$root" "$out/lib" "$out/current.abi"
    if compare "$out/current.abi"; then
      echo "ABI unchanged against abi/libtether.abi"
    else
      echo "ABI changed against abi/libtether.abi (above; docs/abi.md says what is allowed)"
      exit 1
    fi
    ;;
  selftest)
    scratch=$out/scratch-src
    rm -rf "$scratch"
    mkdir -p "$scratch"
    (cd "$root" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$scratch"
    # One field added to tether_event, before its reserved room: the struct
    # grows, as it would if someone forgot docs/abi.md.
    sed -i 's/^  tether_status exit;$/  tether_status exit;\n  int abi_selftest_field;/' "$scratch/include/tether.h"
    grep -q abi_selftest_field "$scratch/include/tether.h" ||
      { echo "selftest: could not add the field"; exit 1; }
    describe "$scratch" "$out/scratch-lib" "$out/scratch.abi"
    set +e
    report=$(compare "$out/scratch.abi")
    status=$?
    set -e
    printf '%s\n' "$report" | sed 's/^/  /'
    if ((status != 0)) && grep -q "abi_selftest_field" <<<"$report" &&
       grep -q "type size changed" <<<"$report"; then
      echo "selftest: the check fails (abidiff status $status) on a field added to tether_event"
    else
      echo "selftest: the check did NOT report a field added to tether_event (abidiff status $status)"
      exit 1
    fi
    ;;
  *)
    echo "usage: ci/abi.sh check|selftest|update BUILD_DIR" >&2
    exit 2
    ;;
esac
