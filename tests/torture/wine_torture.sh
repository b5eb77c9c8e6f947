#!/bin/sh
# SPDX-License-Identifier: MIT
# MinGW lane: torture_spawn_win32 under Wine, then a Linux-side survivor
# scan. Every process of the run carries a marker (TETHER_TORTURE_TAG, part
# of each child's command line, which Wine shows in /proc/PID/cmdline).
#
# Wine can leave Unix processes behind that Windows reports dead: when the
# parent is killed while CreateProcessW's new process is still starting, the
# wineserver ends the process object (its job is closed), but the new Unix
# process, still in Wine's start-up, waits for ever for the server's reply.
# Such a stub never mapped the program or any Windows DLL (only ntdll.so and
# the C library), is single-threaded, survives `wineserver -k`, and Windows
# has no equivalent (a process is created in its job, atomically, by the
# kernel). So:
#   - a survivor that mapped the .exe (it ran Windows code) FAILS the test;
#   - a stub is reported with its count as a Wine artifact and killed;
#   - every marked process is killed at the end, whatever happened, and the
#     test's output goes through a file, so that nothing left can hold
#     ctest's pipes open (which made ctest hang).
# Usage: wine_torture.sh WINE-RUN-WRAPPER TORTURE_SPAWN_WIN32.EXE
set -u
RUN=$1
EXE=$2
TAG="ttwt$$x$(date +%s%N | cut -c8-16)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
export TETHER_TORTURE_TAG="$TAG"

t0=$(date +%s)
bash "$RUN" "$EXE" </dev/null >"$out" 2>&1
rc=$?
cat "$out"
echo "wine_torture: the test exited with $rc after $(($(date +%s) - t0)) s (marker $TAG)"

# marked: pids of the processes whose command line holds "$TAG-" (the
# NAME of an iteration), not this script's own tools.
marked() {
  grep -lz -- "$TAG-[0-9]" /proc/[0-9]*/cmdline 2>/dev/null | sed 's|^/proc/||; s|/cmdline$||'
}

# Survivors get 5 s to go (the Windows side already waited for each tree).
i=0
left=$(marked)
while [ -n "$left" ] && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
  left=$(marked)
done

real=0 stubs=0
for p in $left; do
  cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
  [ -n "$cmd" ] || continue # gone meanwhile
  threads=$(ls "/proc/$p/task" 2>/dev/null | wc -l)
  if grep -qiE '\.(exe|dll)$' "/proc/$p/maps" 2>/dev/null; then
    real=$((real + 1))
    printf "wine_torture: SURVIVOR pid %s (%s threads, ran Windows code): %s\n" "$p" "$threads" "$cmd"
  else
    stubs=$((stubs + 1))
    printf "wine_torture: Wine start-up stub pid %s (%s thread(s), no PE image mapped, blocked in %s): %s\n" "$p" "$threads" "$(cat "/proc/$p/wchan" 2>/dev/null)" "$cmd"
  fi
  kill -9 "$p" 2>/dev/null
done
# Make sure they are gone (they hold this test's output file).
i=0
while [ -n "$(marked)" ] && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
still=$(marked)

echo "wine_torture: Linux-side scan: $real survivors that ran Windows code, $stubs Wine start-up stubs (Unix processes of children whose Windows process was already ended: a Wine artifact, see docs/performance.md), killed"
if [ -n "$still" ]; then
  echo "wine_torture: FAIL: marked processes still there after kill -9: $still"
  exit 1
fi
[ "$rc" -ne 0 ] && exit "$rc"
[ "$real" -eq 0 ]
