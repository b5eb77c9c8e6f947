# SPDX-License-Identifier: MIT
# Shared by the shell tests of tests/cli/ (sourced, not run): one line per
# check, "ok   - ", "FAIL - ", "skip - " or "NOTE - ", and a summary.
#   . "$(dirname "$0")/lib.sh"
#   ok "what held"; bad "what did not, and what was seen"; skipped "why"
#   note "something worth reading that is neither"
#   finish    prints "N passed, N failed, N skipped"; exits 1 on any failure
# Every wait in these scripts has a deadline (a shared, busy machine).
set -u
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); printf 'ok   - %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL - %s\n' "$1"; }
skipped() { skip=$((skip + 1)); printf 'skip - %s\n' "$1"; }
note() { printf 'NOTE - %s\n' "$1"; }
finish() {
  printf '%s passed, %s failed, %s skipped\n' "$pass" "$fail" "$skip"
  [ "$fail" -eq 0 ] && exit 0
  exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_within TENTHS CMD...: until CMD succeeds, at most TENTHS x 0.1 s.
# CMD runs in this shell: a function may set variables for the caller.
wait_within() {
  _n=$1
  shift
  _w=0
  while [ $_w -lt "$_n" ]; do
    "$@" && return 0
    sleep 0.1
    _w=$((_w + 1))
  done
  return 1
}

# wait_for CMD...: until CMD succeeds, at most 10 s.
wait_for() { wait_within 100 "$@"; }

# no_zombie_or_sleep PID: no child of PID is a zombie or a `sleep` (Linux:
# /proc), as under an init that reaped its orphans.
no_zombie_or_sleep() {
  for _c in $(pgrep -P "$1"); do
    case $(awk '/^State:/{print $2}' "/proc/$_c/status" 2>/dev/null) in Z) return 1 ;; esac
    [ "$(cat "/proc/$_c/comm" 2>/dev/null)" = sleep ] && return 1
  done
  return 0
}

# not_running PID: kill -0 fails (the process ended and was reaped).
not_running() { ! kill -0 "$1" 2>/dev/null; }

# scratch: tmp, a new directory; at exit (an EXIT trap) this shell's
# unfinished jobs and every process named by `kid PID` are sent SIGKILL,
# then tmp is removed.
scratch() {
  tmp=$(mktemp -d)
  kids=""
  trap scratch_cleanup EXIT
}
kid() { kids="$kids $1"; }
scratch_cleanup() {
  # Through a file: dash's `jobs -p` inside $(...) lists the subshell's
  # jobs (none), not this shell's.
  jobs -p >"$tmp/.jobs" 2>/dev/null
  for _p in $(cat "$tmp/.jobs" 2>/dev/null) $kids; do kill -9 "$_p" 2>/dev/null; done
  rm -rf "$tmp"
}

# wait_file FILE: until FILE is not empty, at most 10 s.
wait_file() { wait_for test -s "$1"; }

# wine_pids REGEX (Wine tests): Unix pids of the Wine processes (argv[0] is
# a .exe) with one argument that matches REGEX as a whole.
wine_pids() {
  grep -lzx -- "$1" /proc/[0-9]*/cmdline 2>/dev/null | while read -r f; do
    head -z -n 1 "$f" 2>/dev/null | grep -qzi '\.exe$' || continue
    f=${f#/proc/}
    echo "${f%/cmdline}"
  done
}

# wine_exited RC WANT FILE (Wine tests): did a program run through
# ci/wine-run.sh, with its stderr in FILE, exit with WANT? Also yes, with a
# NOTE, when its exit code was lost: wine-run says "killed by Unix signal 9"
# when Wine's server SIGKILLed a Wine process whose Windows side had already
# ended but whose Unix side was still there about 0.5 s later (a busy
# machine; docs/platforms.md). Every other status fails.
wine_exited() {
  [ "$1" -eq "$2" ] && return 0
  if [ "$1" -eq 137 ] &&
    grep -q '^wine-run: the Wine process (Unix pid [0-9]*) was killed by Unix signal 9$' "$3"; then
    note "exit code $2 expected, lost: Wine's server SIGKILLed the Unix process after its Windows side had ended"
    return 0
  fi
  return 1
}
