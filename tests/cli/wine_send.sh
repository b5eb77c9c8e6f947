#!/bin/sh
# SPDX-License-Identifier: MIT
# MinGW lane: `tether.exe send` under Wine to a `tether.exe events` that
# runs on a pseudo-terminal console (ci/wine-run.sh gives each Wine program
# one). Windows process ids come from the events command's ready line.
# Usage: wine_send.sh WINE-RUN-WRAPPER TETHER.EXE
RUN=$1
EXE=$2
. "$(dirname "$0")/lib.sh"
scratch

# ready_pid OUT: WINPID, the pid of the ready line in OUT (false without one).
ready_pid() {
  WINPID=$(sed -n 's/^{"ready":true,"pid":\([0-9]*\)}.*/\1/p' "$1" | head -n 1)
  [ -n "$WINPID" ]
}

# start NAME ARGS...: run `tether.exe events ARGS` under Wine in the
# background; set WRAPPER (its Unix job) and WINPID (its Windows pid) once
# the ready line came (at most 30 s).
start() {
  name=$1
  shift
  bash "$RUN" "$EXE" events --json "$@" >"$tmp/$name" 2>&1 &
  WRAPPER=$!
  WINPID=""
  wait_within 300 ready_pid "$tmp/$name"
}

# send ARGS...: run `tether.exe send ARGS`; SRC is its exit status, its
# stderr is in $tmp/err.
send() {
  bash "$RUN" "$EXE" send "$@" >"$tmp/sout" 2>"$tmp/err"
  SRC=$?
}

# 1. interrupt: CTRL_C_EVENT on the target's console, through the helper.
if start int --count 1 interrupt; then
  send interrupt "$WINPID"
  wait "$WRAPPER"
  rc=$?
  [ $SRC -eq 0 ] && ok "send interrupt exits 0" || bad "send interrupt: exit $SRC, $(cat "$tmp/err")"
  wine_exited $rc 0 "$tmp/int" && grep -q '^{"kind":"interrupt","native":"CTRL_C_EVENT",' "$tmp/int" \
    && ok "the target saw CTRL_C_EVENT as interrupt" || bad "target: exit $rc, $(cat "$tmp/int")"
else
  bad "interrupt: tether.exe events did not start: $(cat "$tmp/int")"
fi

# 2. terminate: WM_CLOSE to tether's hidden window in the target.
if start term --count 1 terminate; then
  send TERM "$WINPID"
  wait "$WRAPPER"
  rc=$?
  [ $SRC -eq 0 ] && wine_exited $rc 0 "$tmp/term" && grep -q '^{"kind":"terminate","native":"WM_CLOSE",' "$tmp/term" \
    && ok "send TERM arrives as WM_CLOSE" || bad "terminate: send $SRC, target $rc, $(cat "$tmp/term") $(cat "$tmp/err")"
else
  bad "terminate: tether.exe events did not start: $(cat "$tmp/term")"
fi

# 3. quit, user1, kill against one target.
if start rest interrupt terminate; then
  send quit "$WINPID"
  # Wine 8 does not implement CTRL_BREAK_EVENT: a clear failure (exit 1).
  [ $SRC -eq 1 ] && grep -q "cannot send quit to process $WINPID: not supported" "$tmp/err" \
    && ok "quit under Wine: exit 1, not supported (Wine 8 has no CTRL_BREAK_EVENT)" \
    || bad "quit: exit $SRC, $(cat "$tmp/err")"
  send user1 "$WINPID"
  [ $SRC -eq 1 ] && grep -q "cannot send user1 to process $WINPID: not supported on this platform" "$tmp/err" \
    && ok "user1 on Windows: exit 1, not supported" || bad "user1: exit $SRC, $(cat "$tmp/err")"
  send -g terminate "$WINPID"
  [ $SRC -eq 1 ] && grep -q "process group $WINPID: not supported" "$tmp/err" \
    && ok "-g terminate on Windows: exit 1, not supported" || bad "-g terminate: exit $SRC, $(cat "$tmp/err")"
  send kill "$WINPID"
  wait "$WRAPPER"
  rc=$?
  [ $SRC -eq 0 ] && [ $rc -eq 137 ] && ok "send kill: the target exits 137" \
    || bad "kill: send $SRC, target $rc, $(cat "$tmp/err")"
  # 4. The same pid again, now dead: exit 1 naming the error.
  send terminate "$WINPID"
  [ $SRC -eq 1 ] && grep -q "cannot send terminate to process $WINPID: no such process" "$tmp/err" \
    && ok "dead pid: exit 1, no such process" || bad "dead pid: exit $SRC, $(cat "$tmp/err")"
else
  bad "rest: tether.exe events did not start: $(cat "$tmp/rest")"
fi

# 5. Usage errors: 125.
send interrupt abc
[ $SRC -eq 125 ] && grep -q "'abc' is not a process id" "$tmp/err" && ok "bad pid: 125" \
  || bad "bad pid: exit $SRC, $(cat "$tmp/err")"
send bogus 4
[ $SRC -eq 125 ] && grep -q "unknown kind 'bogus'" "$tmp/err" && ok "bad kind: 125" \
  || bad "bad kind: exit $SRC, $(cat "$tmp/err")"

finish
