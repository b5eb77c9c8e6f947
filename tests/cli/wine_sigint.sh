#!/bin/sh
# SPDX-License-Identifier: MIT
# MinGW lane: a Unix SIGINT sent to the Wine process that runs tether.exe.
# Wine turns it into CTRL_C_EVENT on a new thread (platform-semantics.md,
# Part C), so this drives tether's real console handler from outside.
# Usage: wine_sigint.sh WINE-RUN-WRAPPER TETHER.EXE
RUN=$1
EXE=$2
. "$(dirname "$0")/lib.sh"
scratch

# started OUT ARGS: tether.exe wrote to OUT (its ready line) and runs with
# ARGS; UNIXPID is the Unix process that runs it.
started() {
  [ -s "$1" ] || return 1
  for p in $(pgrep -x tether.exe); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$2"; then
      UNIXPID=$p
    fi
  done
  [ -n "$UNIXPID" ]
}

# start NAME ARGS...: run tether.exe under Wine in the background, wait
# (30 s) for its ready line, and set UNIXPID to the Unix process that runs it.
start() {
  name=$1
  shift
  bash "$RUN" "$EXE" "$@" >"$tmp/$name" 2>&1 &
  WRAPPER=$!
  UNIXPID=""
  wait_within 300 started "$tmp/$name" "$*"
}

# 1. Watched: CTRL_C_EVENT arrives as interrupt.
if start watched events --json --count 1 interrupt; then
  kill -INT "$UNIXPID"
  wait "$WRAPPER"
  rc=$?
  wine_exited $rc 0 "$tmp/watched" && ok "watched: exits 0 after one event" || bad "watched: exit $rc"
  grep -q '^{"kind":"interrupt","native":"CTRL_C_EVENT","code":0,"count":1,"pid":null,"uid":null,' "$tmp/watched" \
    && ok "watched: CTRL_C_EVENT reported as interrupt" || bad "watched: $(cat "$tmp/watched")"
else
  bad "watched: tether.exe did not start: $(cat "$tmp/watched")"
fi

# 2. Unwatched: tether's handler returns FALSE, the default handler ends the
#    process (Windows: exit 0xC000013A; Wine 8: exit 0, see Part C).
if start unwatched events --json --count 1 terminate; then
  kill -INT "$UNIXPID"
  if ! wait_for not_running "$UNIXPID"; then
    bad "unwatched: still running 10 s after Ctrl+C"
    kill -9 "$UNIXPID"
  else
    ok "unwatched: the default handler ended the process"
  fi
  wait "$WRAPPER"
  ! grep -q '"kind"' "$tmp/unwatched" && ok "unwatched: no event printed" \
    || bad "unwatched: $(cat "$tmp/unwatched")"
else
  bad "unwatched: tether.exe did not start: $(cat "$tmp/unwatched")"
fi

# 3. The second interrupt stops `tether events`.
if start twice events --json interrupt; then
  kill -INT "$UNIXPID"
  sleep 0.5
  kill -INT "$UNIXPID" 2>/dev/null
  wait "$WRAPPER"
  rc=$?
  wine_exited $rc 0 "$tmp/twice" && [ "$(grep -c '"kind":"interrupt"' "$tmp/twice")" -ge 1 ] \
    && ok "second interrupt stops events" || bad "twice: exit $rc, $(cat "$tmp/twice")"
else
  bad "twice: tether.exe did not start: $(cat "$tmp/twice")"
fi

finish
