#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tether in under a minute: `tether run` with a process tree, a graceful
# interrupt, a second interrupt that kills, and kill -9 of tether that
# leaves no survivor.
#
#   bash ci/demo.sh            install missing build packages (apt-get),
#                              build tether into build/demo, run the demo
#   bash ci/demo.sh TETHER     run the demo with that tether binary (ctest)
#
# Exits non-zero if anything does not happen as shown.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bold=$'\e[1m' norm=$'\e[0m'
[[ -t 1 ]] || bold="" norm=""
heading() { printf '\n%s==== %s ====%s\n' "$bold" "$*" "$norm"; }
say() { printf '%s$ %s%s\n' "$bold" "$*" "$norm"; }
failures=0
check() { # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then
    printf '  [ok] %s\n' "$what"
  else
    printf '  [FAILED] %s\n' "$what"
    failures=$((failures + 1))
  fi
}

# ---------------------------------------------------------------- build
if [[ $# -ge 1 ]]; then
  TETHER=$1
else
  heading "Building tether"
  packages=(cmake ninja-build gcc pkg-config procps)
  missing=()
  for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing: ${missing[*]}"
    apt_get=(apt-get)
    [[ $(id -u) -eq 0 ]] || apt_get=(sudo apt-get)
    export DEBIAN_FRONTEND=noninteractive
    { "${apt_get[@]}" update -qq &&
      "${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } </dev/null ||
      { echo "package installation failed"; exit 1; }
  fi
  cmake -S "$root" -B "$root/build/demo" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_EXAMPLES=OFF -DTETHER_BUILD_BENCH=OFF >/dev/null &&
    cmake --build "$root/build/demo" --target tether_cli ||
    { echo "build failed"; exit 1; }
  TETHER=$root/build/demo/tools/tether
fi
"$TETHER" --version || exit 1
env --default-signal=INT true 2>/dev/null ||
  { echo "the demo needs env --default-signal (coreutils 8.31 or later)"; exit 1; }

tmp=$(mktemp -d)
MARK="tether-demo-$$-$(date +%s%N)"
# Processes of this demo carry TETHER_DEMO=<marker>-<step> in their
# environment; this lists them.
marked() {
  grep -lzx -- "TETHER_DEMO=$1" /proc/[0-9]*/environ 2>/dev/null |
    sed 's|^/proc/||; s|/environ$||' | sort -n
}
cleanup() {
  local left
  left=$(grep -lz -- "TETHER_DEMO=$MARK" /proc/[0-9]*/environ 2>/dev/null |
    sed 's|^/proc/||; s|/environ$||')
  # shellcheck disable=SC2086
  [[ -n "$left" ]] && kill -9 $left 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
wait_file() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.1
  done
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# start STEP ARGS...: tether run ARGS in the background (SIGINT at its
# default even though a script starts background jobs with it ignored; env
# execs tether, so $! is tether's pid); its output goes to $tmp/STEP.log.
start() {
  local step=$1
  shift
  TETHER_DEMO="$MARK-$step" env --default-signal=INT,QUIT "$TETHER" run "$@" >"$tmp/$step.log" 2>&1 &
  TPID=$!
}
# finish STEP: wait for tether, show its output; RC, MS (since T0).
finish() {
  { wait "$TPID"; } 2>/dev/null
  RC=$?
  MS=$(($(now_ms) - T0))
  sed 's/^/  | /' "$tmp/$1.log"
}
# A worker with a child and a grandchild; on SIGINT it cleans up and exits 0.
cat >"$tmp/worker.sh" <<'EOF'
#!/bin/sh
# worker.sh DIR: a small service with helpers; Ctrl+C cleans up.
dir=$1
echo "data" >"$dir/worker.tmp"
sleep 300 &                              # a helper
sh -c 'sleep 300 & wait' &               # a helper with its own child
trap 'echo "worker: SIGINT received, removing worker.tmp, exiting 0"; rm -f "$dir/worker.tmp"; kill $(jobs -p) 2>/dev/null; exit 0' INT
echo "worker $$: running with 3 helpers"
echo up >"$dir/ready"
while :; do sleep 0.1; done
EOF
# A stubborn worker that ignores SIGINT.
cat >"$tmp/stubborn.sh" <<'EOF'
#!/bin/sh
trap 'echo "stubborn: SIGINT received, ignoring it"' INT
sleep 300 &
echo up >"$1/ready"
while :; do sleep 0.1; done
EOF
chmod +x "$tmp/worker.sh" "$tmp/stubborn.sh"

# ---------------------------------------------------------------- 1
heading "1. A process tree under tether run"
say "tether run --verbose -- worker.sh &"
start tree --verbose -- "$tmp/worker.sh" "$tmp"
wait_file "$tmp/ready"
sleep 0.2
pids=$(marked "$MARK-tree" | tr '\n' ',')
ps -o pid,ppid,pgid,sid,args -p "${pids%,}" | sed 's/^/  /'
echo "  (the second tether is its keeper: a helper in a process group of its own"
echo "   that starts the tethered tree in another process group, PGID, of its own)"
n=$(marked "$MARK-tree" | wc -l)
check "tether and the worker's tree are running ($n processes: tether, worker, 3 helpers)" test "$n" -ge 5

# ---------------------------------------------------------------- 2
heading "2. A graceful interrupt: forwarded once, the worker cleans up"
say "kill -INT $TPID      # what Ctrl+C does"
T0=$(now_ms)
kill -INT "$TPID"
finish tree
echo "  tether exited with status $RC after $MS ms"
check "exit status 0 (the worker's own)" test "$RC" -eq 0
check "the worker removed its temporary file" test ! -e "$tmp/worker.tmp"
sleep 0.2
check "nothing of the tree is left" test -z "$(marked "$MARK-tree")"

# ---------------------------------------------------------------- 3
heading "3. A second interrupt kills the tree at once"
rm -f "$tmp/ready"
say "tether run --verbose --grace 30s -- stubborn.sh &"
start second --verbose --grace 30s -- "$tmp/stubborn.sh" "$tmp"
wait_file "$tmp/ready"
say "kill -INT $TPID; sleep 1; kill -INT $TPID"
T0=$(now_ms)
kill -INT "$TPID"
sleep 1
kill -INT "$TPID"
finish second
echo "  tether exited with status $RC after $MS ms (the tree was killed; tether dies by SIGINT, 128+2=130, so that a calling script stops)"
check "killed at the second interrupt, not after the 30 s grace" test "$RC" -eq 130 -a "$MS" -lt 10000
sleep 0.2
check "nothing of the tree is left" test -z "$(marked "$MARK-second")"

# ---------------------------------------------------------------- 4
heading "4. kill -9 of tether: the tree dies with it"
rm -f "$tmp/ready"
say "tether run -- worker.sh &"
start k9 -- "$tmp/worker.sh" "$tmp"
disown "$TPID" # no "Killed" notice from bash below
wait_file "$tmp/ready"
sleep 0.2
before=$(marked "$MARK-k9" | wc -l)
echo "  running: $before processes (tether, worker and helpers)"
say "kill -9 $TPID"
kill -9 "$TPID"
for ((i = 0; i < 50; i++)); do
  [[ -z "$(marked "$MARK-k9")" ]] && break
  sleep 0.1
done
survivors=$(marked "$MARK-k9" | wc -l)
echo "  survivors $((i * 100)) ms later: $survivors"
[[ $survivors -gt 0 ]] && ps -o pid,ppid,args -p "$(marked "$MARK-k9" | tr '\n' ',' | sed 's/,$//')" | sed 's/^/  /'
check "$before processes before, 0 survivors after kill -9" test "$before" -ge 5 -a "$survivors" -eq 0

heading "Result"
if [[ $failures -eq 0 ]]; then
  echo "  everything happened as shown"
  exit 0
fi
echo "  $failures check(s) failed"
exit 1
