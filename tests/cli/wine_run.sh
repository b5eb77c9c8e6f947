#!/bin/sh
# SPDX-License-Identifier: MIT
# MinGW lane: `tether.exe run` under Wine. Exit codes (the child's, 125,
# 126, 127), --timeout and --grace with a console child (WM_CLOSE cannot
# reach it, so the stop sequence kills: 137), a Unix SIGINT to tether.exe
# (Wine's CTRL_C_EVENT reaches tether only; tether does not forward it on
# Windows, the grace timer still runs; a second one kills at once), and
# kill-on-close: a Unix SIGKILL of tether.exe's Wine process kills the
# child and grandchild (the Job Object).
#
# The programs are test_spawn_win32's scenarios (exit N, crash, sleep,
# wine_tree MARKER).
# Usage: wine_run.sh WINE-RUN-WRAPPER TETHER.EXE TEST_SPAWN_WIN32.EXE
RUN=$1
EXE=$2
HELPER=$3
TAG="ttwinerun$$x$(date +%s%N)"
tmp=$(mktemp -d)
. "$(dirname "$0")/lib.sh"
winpath() { printf 'Z:%s' "$1" | sed 's|/|\\|g'; }
W_HELPER=$(winpath "$HELPER")

cleanup() {
  left=$(grep -lz -- "$TAG" /proc/[0-9]*/cmdline 2>/dev/null | sed 's|^/proc/||; s|/cmdline$||')
  # shellcheck disable=SC2086
  [ -n "$left" ] && kill -9 $left 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# run NAME ARGS...: tether.exe ARGS in the foreground; RC, MS.
run() {
  name=$1
  shift
  t0=$(now_ms)
  bash "$RUN" "$EXE" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  RC=$?
  MS=$(($(now_ms) - t0))
}

# ---------------------------------------------------------------- exit codes
for code in 0 1 42; do
  run exit$code run -- "$W_HELPER" --child exit $code
  wine_exited $RC $code "$tmp/exit$code.err" && ok "exit code $code passed through" || bad "exit $code -> $RC: $(cat "$tmp/exit$code.err")"
done
# ExitProcess(0xC0000005): tether exits with the same code; Wine's Unix
# exit status keeps its low byte (5).
run crash run -- "$W_HELPER" --child crash
wine_exited $RC 5 "$tmp/crash.err" && ok "crashed child 0xC0000005 -> tether's code too (Unix status 5)" || bad "crash -> $RC"
run notfound run -- tether-no-such-program-4711
[ $RC -eq 127 ] && grep -q "program not found" "$tmp/notfound.err" && ok "not found -> 127" ||
  bad "not found -> $RC: $(cat "$tmp/notfound.err")"
mkdir -p "$tmp/dir.exe"
run dir run -- "$(winpath "$tmp/dir.exe")"
[ $RC -eq 126 ] && ok "a directory -> 126" || bad "directory -> $RC: $(cat "$tmp/dir.err")"
run baddur run --timeout -1 -- "$W_HELPER" --child exit 0
[ $RC -eq 125 ] && grep -q "is not a duration" "$tmp/baddur.err" && ok "bad duration -> 125" || bad "bad duration -> $RC"
run nodash run "$W_HELPER"
[ $RC -eq 125 ] && grep -q "'--' missing" "$tmp/nodash.err" && ok "'--' missing -> 125" || bad "no -- -> $RC"

# ---------------------------------------------------------------- non-ASCII arguments
# tether.exe reads its arguments as UTF-16 (wmain), not in the ANSI code
# page: é, 日本 and an emoji (a surrogate pair) reach the child byte-exact.
# The child prints each argument it got (CommandLineToArgvW of its command
# line, as UTF-8 hex); the same child started without tether is the
# reference. Wine turns the Unix arguments into UTF-16 by the Unix locale:
# a UTF-8 one.
expect_hex='[c3a9]
[e697a5e69cac]
[f09f9880]
[61c3a920e697a5]'
# run() runs tether.exe; the reference runs the child itself.
LC_ALL=C.UTF-8 bash "$RUN" "$HELPER" --child argv é 日本 😀 "aé 日" >"$tmp/utf8ref.out" 2>&1
REFRC=$?
LC_ALL=C.UTF-8 run utf8 run -- "$W_HELPER" --child argv é 日本 😀 "aé 日"
got=$(tr -d '\r' <"$tmp/utf8.out")
ref=$(tr -d '\r' <"$tmp/utf8ref.out")
[ $REFRC -eq 0 ] && [ "$ref" = "$expect_hex" ] && ok "reference: the child alone gets é, 日本, 😀 byte-exact" ||
  bad "reference child -> $REFRC: $ref"
[ $RC -eq 0 ] && [ "$got" = "$ref" ] && ok "non-ASCII arguments through tether.exe run: byte-exact, same as without tether" ||
  bad "non-ASCII through tether -> $RC: $got (expected $ref) $(cat "$tmp/utf8.err")"

# ---------------------------------------------------------------- timers
# A console child has no window: terminate (WM_CLOSE) cannot reach it, so
# the stop sequence goes straight to the kill (137).
run timeout run -v --timeout 1s -- "$W_HELPER" --child sleep
[ $RC -eq 137 ] && [ $MS -ge 900 ] && [ $MS -lt 20000 ] &&
  grep -q "terminate cannot reach the program" "$tmp/timeout.err" &&
  ok "--timeout 1s: console child killed (137, ${MS} ms)" || bad "timeout -> $RC, ${MS} ms: $(cat "$tmp/timeout.err")"

# start NAME ARGS...: tether.exe ARGS in the background with marker $TAG-NAME
# as its last argument's sibling; UNIXPID: its Wine process.
start() {
  name=$1
  shift
  M="$TAG-$name"
  T0=$(now_ms)
  bash "$RUN" "$EXE" "$@" "$M" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  WRAPPER=$!
  UNIXPID=""
  i=0
  while [ $i -lt 300 ]; do
    for p in $(wine_pids "$M"); do
      head -z -n 1 "/proc/$p/cmdline" 2>/dev/null | grep -qzi 'tether\.exe$' && UNIXPID=$p
    done
    [ -n "$UNIXPID" ] && [ "$(wine_pids "$M" | wc -l)" -ge "${WANT:-2}" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Unix SIGINT = CTRL_C_EVENT to tether.exe alone (Wine). tether does not
# forward interrupts on Windows (the console delivers a typed Ctrl+C to the
# child, which shares it); the grace timer runs: kill after 1 s.
if WANT=2 start sigint run -v --grace 1s -- "$W_HELPER" --child wine_tree; then
  sleep 0.5
  kill -INT "$UNIXPID"
  wait "$WRAPPER"
  RC=$?
  [ $RC -eq 137 ] && grep -q "not forwarded" "$tmp/sigint.err" && grep -q "grace period over" "$tmp/sigint.err" &&
    ok "CTRL_C_EVENT: not forwarded, grace 1 s, then killed (137)" || bad "sigint -> $RC: $(cat "$tmp/sigint.err")"
else
  bad "sigint: tether.exe did not start: $(cat "$tmp/sigint.err")"
fi
if WANT=2 start second run -v --grace 60s -- "$W_HELPER" --child wine_tree; then
  sleep 0.5
  kill -INT "$UNIXPID"
  sleep 0.5
  kill -INT "$UNIXPID"
  wait "$WRAPPER"
  RC=$?
  MS=$(($(now_ms) - T0))
  [ $RC -eq 137 ] && [ $MS -lt 30000 ] && grep -q "second interrupt" "$tmp/second.err" &&
    ok "second CTRL_C_EVENT kills the tree at once (137, ${MS} ms)" || bad "second -> $RC, ${MS} ms: $(cat "$tmp/second.err")"
else
  bad "second: tether.exe did not start: $(cat "$tmp/second.err")"
fi

# ---------------------------------------------------------------- kill-on-close
# tether.exe, its child (wine_tree MARKER) and grandchild (sleep MARKER).
if WANT=3 start sigkill run -- "$W_HELPER" --child wine_tree; then
  n=$(wine_pids "$M" | wc -l)
  ok "kill -9: tether.exe, child and grandchild run ($n Wine processes carry the marker)"
  kill -9 "$UNIXPID"
  t0=$(now_ms)
  while [ -n "$(wine_pids "$M")" ] && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.05; done
  left=$(wine_pids "$M")
  [ -z "$left" ] && ok "kill -9 of tether.exe's Wine process: child and grandchild gone in $(($(now_ms) - t0)) ms" ||
    bad "kill -9: survivors $left"
  wait "$WRAPPER"
else
  bad "sigkill: the tree did not start: $(cat "$tmp/sigkill.err")"
fi

# ---------------------------------------------------------------- no window (issue 13)
# An optional event source cannot be created: with user32 disabled for this
# run (as a session without a display driver) the hidden WM_CLOSE window
# fails. tether.exe runs the program anyway; -v names what failed. The
# program is tether.exe --version (kernel32 and msvcrt only).
W_EXE=$(winpath "$EXE")
TETHER_WINE_DLLOVERRIDES="user32=" run nowin run -v -- "$W_EXE" --version
[ $RC -eq 0 ] && grep -q '^tether ' "$tmp/nowin.out" &&
  grep -q 'warning: cannot watch terminate (a hidden window that receives WM_CLOSE: .*); running the program without it' "$tmp/nowin.err" &&
  ok "no hidden window: the program runs (exit 0), -v names what failed" ||
  bad "no hidden window -> $RC: $(cat "$tmp/nowin.out" "$tmp/nowin.err")"
# (test_spawn_win32.exe needs user32 itself: tether.exe is the program.)
TETHER_WINE_DLLOVERRIDES="user32=" run nowinq run -- "$W_EXE" --version
[ $RC -eq 0 ] && grep -q '^tether ' "$tmp/nowinq.out" && [ ! -s "$tmp/nowinq.err" ] &&
  ok "no hidden window, no -v: the program runs, nothing on stderr" ||
  bad "no hidden window, quiet -> $RC: $(cat "$tmp/nowinq.err")"

# ---------------------------------------------------------------- console close (issue 14, item 13)
# CTRL_CLOSE_EVENT delivered as Windows delivers it (a thread started at
# kernelbase!CtrlRoutine in each process of the console: test_spawn_win32
# --child ctrl_inject), to tether.exe and to its program, which cleans up for
# 300 ms and exits with 7: tether.exe ends with 7. (Wine does not end a
# process whose close handler returned, as Windows does, so the race with
# that end is shown only by tests/windows/console_close.ps1.)
( bash "$RUN" "$EXE" run -v -- "$W_HELPER" --child console_close 7 >"$tmp/close.out" 2>"$tmp/close.err"
  echo $? >"$tmp/close.rc" ) &
CLOSER=$!
t0=$(now_ms)
while ! grep -q '^ready ' "$tmp/close.out" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.05; done
if read -r _ cpid tpid <"$tmp/close.out" 2>/dev/null && [ -n "${tpid:-}" ] && [ "$tpid" != 0 ]; then
  bash "$RUN" "$HELPER" --child ctrl_inject "$tpid" 2
  r1=$?
  bash "$RUN" "$HELPER" --child ctrl_inject "$cpid" 2
  r2=$?
  t0=$(now_ms)
  while [ ! -s "$tmp/close.rc" ] && [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.05; done
  if [ $r1 -eq 77 ] || [ $r2 -eq 77 ]; then
    skipped "console close: no CtrlRoutine in kernelbase/kernel32"
  elif [ ! -s "$tmp/close.rc" ]; then
    bad "console close: tether.exe still running 20 s after CTRL_CLOSE_EVENT (inject $r1 $r2)"
  else
    rc=$(cat "$tmp/close.rc")
    [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && wine_exited "$rc" 7 "$tmp/close.err" &&
      grep -q 'hangup (CTRL_CLOSE_EVENT)' "$tmp/close.err" &&
      ok "console close: the program cleaned up and exited 7; tether.exe ended with 7 in $(($(now_ms) - t0)) ms" ||
      bad "console close -> $rc (inject $r1 $r2): $(cat "$tmp/close.err")"
  fi
else
  bad "console close: the program did not start: $(cat "$tmp/close.out" "$tmp/close.err")"
fi
kill "$CLOSER" 2>/dev/null
wait "$CLOSER" 2>/dev/null

finish
