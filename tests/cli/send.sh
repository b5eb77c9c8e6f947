#!/bin/sh
# SPDX-License-Identifier: MIT
# Shell-level tests of `tether send` (POSIX lanes). Usage: send.sh TETHER
# Prints "N passed, N failed" at the end; exits 1 on any failure.
TETHER=$1
tmp=$(mktemp -d)
leader=""
# Only this shell's unfinished jobs (and the test group, if it was made):
# never a pid that may have been reused since.
cleanup() {
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
  [ -n "$leader" ] && kill -9 -- "-$leader" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"


# gone PID: the process no longer runs (or is a zombie), within 10 s.
gone() {
  i=0
  while [ $i -lt 200 ]; do
    kill -0 "$1" 2>/dev/null || return 0
    if [ -r "/proc/$1/stat" ]; then
      # Linux: a zombie (state Z) that nobody reaped yet counts as gone.
      st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
      [ "$st" = Z ] && return 0
    fi
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

# 1. terminate to a shell script that traps TERM.
sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done' \
  >"$tmp/trap" 2>&1 &
target=$!
if wait_file "$tmp/trap"; then
  "$TETHER" send terminate $target
  rc=$?
  [ $rc -eq 0 ] && ok "send terminate exits 0" || bad "send terminate exited $rc"
  wait $target
  rc=$?
  [ $rc -eq 7 ] && grep -q got-term "$tmp/trap" && ok "the trap ran (exit 7)" \
    || bad "trap script: exit $rc, output $(cat "$tmp/trap")"
else
  bad "trap script did not start"
fi

# 2. Each kind, and signal names in any case, reach `tether events` (which
#    watches even signals a background job starts with ignored: SIGINT,
#    SIGQUIT). The event names this shell's child (tether send) as sender.
for spec in interrupt:interrupt:SIGINT INT:interrupt:SIGINT quit:quit:SIGQUIT \
            SIGQUIT:quit:SIGQUIT Terminate:terminate:SIGTERM sigterm:terminate:SIGTERM \
            HANGUP:hangup:SIGHUP hup:hangup:SIGHUP user1:user1:SIGUSR1 \
            USR1:user1:SIGUSR1 user2:user2:SIGUSR2 SigUsr2:user2:SIGUSR2; do
  word=${spec%%:*}; rest=${spec#*:}; kind=${rest%%:*}; native=${rest#*:}
  out="$tmp/ev-$word"
  "$TETHER" events --json --count 1 "$kind" >"$out" 2>&1 &
  target=$!
  if wait_file "$out"; then
    "$TETHER" send "$word" $target
    rc=$?
    wait $target
    erc=$?
    if [ $rc -eq 0 ] && [ $erc -eq 0 ] &&
       grep -q "^{\"kind\":\"$kind\",\"native\":\"$native\",.*\"pid\":[0-9][0-9]*," "$out"; then
      ok "send $word arrives as $kind ($native) with a sender pid"
    else
      bad "send $word: send exit $rc, events exit $erc, output $(cat "$out")"
    fi
  else
    bad "send $word: tether events did not start: $(cat "$out")"
  fi
done

# 3. kill: SIGKILL, status 137 for the shell.
sleep 100 &
target=$!
"$TETHER" send KILL $target
rc=$?
wait $target
wrc=$?
[ $rc -eq 0 ] && [ $wrc -eq 137 ] && ok "send kill: SIGKILL (137)" \
  || bad "send kill: send exit $rc, sleep status $wrc"

# 4. A process group (-g): the leader and both of its children get it; a
#    process outside the group does not. setsid makes the background shell
#    the leader of a group whose id is its pid.
if command -v setsid >/dev/null 2>&1; then
  setsid sh -c 'sleep 100 & echo $! >"$1/g1"; sleep 100 & echo $! >"$1/g2"; wait' \
    sh "$tmp" &
  leader=$!
  sleep 100 &
  outsider=$!
  wait_file "$tmp/g1" && wait_file "$tmp/g2"
  g1=$(cat "$tmp/g1"); g2=$(cat "$tmp/g2")
  "$TETHER" send --group terminate $leader
  rc=$?
  wait $leader
  lrc=$?
  if [ $rc -eq 0 ] && [ $lrc -eq 143 ] && gone "$g1" && gone "$g2"; then
    ok "send -g terminate: leader (143) and both members gone"
  else
    bad "send -g: send exit $rc, leader status $lrc, members $g1 $g2"
  fi
  kill -0 $outsider 2>/dev/null && ok "the process outside the group still runs" \
    || bad "the outsider was hit"
  kill $outsider
  wait $outsider 2>/dev/null
else
  skipped "setsid not available: no group test"
fi

# 5. A dead pid: exit 1 with a one-line message naming the error.
sleep 0 &
dead=$!
wait $dead
"$TETHER" send terminate $dead 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
  grep -q "^tether send: cannot send terminate to process $dead: no such process\$" "$tmp/err" \
  && ok "dead pid: exit 1, one line naming the error" \
  || bad "dead pid: exit $rc, stderr $(cat "$tmp/err")"
"$TETHER" send -g kill $dead 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "process group $dead: no such process" "$tmp/err" \
  && ok "dead group: exit 1" || bad "dead group: exit $rc, stderr $(cat "$tmp/err")"

# 6. Usage errors: exit 125 and a message; nothing is sent.
usage() { # usage "description" "expected stderr fragment" ARGS...
  d=$1; want=$2; shift 2
  "$TETHER" send "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -eq 125 ] && grep -q -- "$want" "$tmp/err" && [ ! -s "$tmp/out" ] \
    && ok "usage: $d -> 125" || bad "usage: $d: exit $rc, stderr $(cat "$tmp/err")"
}
usage "no arguments" "missing KIND and TARGET"
usage "no target" "missing TARGET" terminate
usage "unknown kind" "unknown kind 'bogus'" bogus $$
usage "kind as a number" "unknown kind '15'" 15 $$
usage "pid abc" "'abc' is not a process id" terminate abc
usage "pid 0" "'0' is not a process id" terminate 0
usage "pid -5" "'-5' is not a process id" terminate -5
usage "pid 12x" "'12x' is not a process id" terminate 12x
usage "pid too large" "'2147483648' is not a process id" terminate 2147483648
usage "unknown option" "unknown option '--bogus'" --bogus terminate $$
usage "extra argument" "unexpected argument" terminate $$ 7

# 7. --help: usage on stdout, exit 0; the main help lists send.
"$TETHER" send --help >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^usage: tether send" "$tmp/out" && ok "send --help" \
  || bad "send --help: exit $rc"
"$TETHER" --help | grep -q "send \[-g\] KIND TARGET" && ok "tether --help lists send" \
  || bad "tether --help does not list send"

finish
