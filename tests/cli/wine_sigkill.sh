#!/bin/sh
# SPDX-License-Identifier: MIT
# MinGW lane: a tethered tree dies with its Windows parent when the parent's
# Unix process gets SIGKILL (wineserver sees the client hang up and closes
# its handles, so the KILL_ON_JOB_CLOSE job kills its members: Part C of
# platform-semantics.md) and when the parent calls ExitProcess without
# freeing the child. A detached child is the control: it survives, which
# proves the scan below does see survivors.
#
# The parent is `test_spawn_win32 --child wine_middle MODE MARKER`; its child
# (`wine_tree MARKER`) and grandchild (`sleep MARKER`, plain CreateProcess)
# carry the same MARKER, unique per case and run, as one argument of their
# command line, which Wine also shows in /proc/PID/cmdline.
# Usage: wine_sigkill.sh WINE-RUN-WRAPPER TEST_SPAWN_WIN32.EXE
RUN=$1
EXE=$2
BOUND_MS=10000   # the tree must be gone within this
SURVIVE_MS=3000  # the control's survivors are looked for this long
TAG="ttsigkill$$x$(date +%s%N)"
tmp=$(mktemp -d)
WRAPPERS=""
. "$(dirname "$0")/lib.sh"


# role_pid MARKER ROLE: the Unix pid of `--child ROLE` with MARKER.
role_pid() {
  for p in $(wine_pids "$1"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " --child $2 "; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# Leave nothing behind, whatever happened: every process of this run (the
# Wine processes, and the wrappers, script(1) and a wine still starting up,
# which carry the marker too; the regex does not match grep's own command
# line), then the wrappers by pid.
cleanup() {
  left=$(grep -lz -- "$TAG-[a-z]" /proc/[0-9]*/cmdline 2>/dev/null |
         sed 's|^/proc/||; s|/cmdline$||')
  # shellcheck disable=SC2086  # a list of pids
  [ -n "$left" ] && kill -9 $left 2>/dev/null
  for w in $WRAPPERS; do kill -9 "$w" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT HUP
trap 'exit 143' TERM

# wait_gone MARKER MS: 0 once no Wine process with MARKER is left, 1 if some
# still are after MS; GONE_MS: the time it took (or MS), LEFT: the survivors.
wait_gone() {
  t0=$(now_ms)
  while :; do
    LEFT=$(wine_pids "$1")
    GONE_MS=$(($(now_ms) - t0))
    [ -z "$LEFT" ] && return 0
    [ "$GONE_MS" -ge "$2" ] && return 1
    sleep 0.02
  done
}

# describe PIDS: "pid: command line" for each.
describe() {
  for p in $1; do
    printf ' [%s: %s]' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
}

# start NAME MODE [GO-FILE]: run the middle under Wine in the background
# (MARKER $TAG-NAME), wait for its "<pid> <child> <grandchild>" line and
# the three Wine processes; set M, WRAPPER, MID, CHILD, GRAND.
start() {
  name=$1
  M="$TAG-$name"
  shift
  mode=$1
  shift
  bash "$RUN" "$EXE" --child wine_middle "$mode" "$M" "$@" >"$tmp/$name" 2>&1 &
  WRAPPER=$!
  WRAPPERS="$WRAPPERS $WRAPPER"
  MID="" CHILD="" GRAND=""
  i=0
  while [ $i -lt 600 ]; do
    if grep -q '^[0-9]* [0-9]* [0-9]*' "$tmp/$name" 2>/dev/null; then
      MID=$(role_pid "$M" wine_middle)
      CHILD=$(role_pid "$M" wine_tree)
      GRAND=$(role_pid "$M" sleep)
      # Exactly these three carry the marker: the scan sees the whole tree.
      [ -n "$MID" ] && [ -n "$CHILD" ] && [ -n "$GRAND" ] &&
        [ "$(wine_pids "$M" | wc -l)" -eq 3 ] && return 0
    elif ! kill -0 "$WRAPPER" 2>/dev/null; then
      break
    fi
    sleep 0.1
    i=$((i + 1))
  done
  bad "$name: the tree did not start (middle said: $(cat "$tmp/$name"); seen:$(describe "$(wine_pids "$M")"))"
  return 1
}

# 1, 2. SIGKILL of the middle's Unix process: the tree dies. With a console
#    (wine-run.sh's pseudo-terminal: the child shares it) and without (the
#    child gets a console of its own, a conhost.exe).
for pty in 1 0; do
  name=sigkill_pty$pty
  if TETHER_WINE_PTY=$pty start "$name" stay; then
    ok "$name: middle, child, grandchild run (Unix pids $MID $CHILD $GRAND; Windows $(head -n 1 "$tmp/$name"))"
    kill -9 "$MID"
    if wait_gone "$M" $BOUND_MS; then
      ok "$name: child and grandchild gone ${GONE_MS} ms after kill -9 of the middle"
    else
      bad "$name: still there ${BOUND_MS} ms after kill -9 of the middle:$(describe "$LEFT")"
    fi
    wait "$WRAPPER"
  fi
done

# 3. The middle ends with ExitProcess(0) without freeing the child.
go="$tmp/go-exit"
wgo="Z:$(printf '%s' "$go" | sed 's|/|\\|g')"
if start exit exit "$wgo"; then
  ok "exit: middle, child, grandchild run (Unix pids $MID $CHILD $GRAND)"
  : >"$go"
  if wait_gone "$M" $BOUND_MS; then
    ok "exit: middle, child and grandchild gone ${GONE_MS} ms after the middle was told to ExitProcess"
  else
    bad "exit: still there ${BOUND_MS} ms after the go file:$(describe "$LEFT")"
  fi
  wait "$WRAPPER"
  rc=$?
  if wine_exited $rc 0 "$tmp/exit"; then
    ok "exit: the middle exited with 0"
  else
    bad "exit: the middle exited with $rc: $(cat "$tmp/exit")"
  fi
fi

# 4. Control: a detached child and its grandchild survive the middle's
#    SIGKILL, and the scan reports them; then the test kills them.
# shellcheck disable=SC2086  # $LEFT: a list of pids
if start detached detached; then
  ok "detached: middle, child, grandchild run (Unix pids $MID $CHILD $GRAND)"
  kill -9 "$MID"
  i=0
  while [ -s "/proc/$MID/cmdline" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if wait_gone "$M" $SURVIVE_MS; then
    bad "detached: the detached tree died with the middle (it must survive)"
  else
    left=" $(printf '%s ' $LEFT)"
    if [ "$(printf '%s\n' $LEFT | wc -l)" -eq 2 ] &&
       [ "${left#* "$CHILD" }" != "$left" ] && [ "${left#* "$GRAND" }" != "$left" ]; then
      ok "detached: the scan still sees the child and grandchild ${GONE_MS} ms after kill -9 of the middle"
    else
      bad "detached: expected survivors $CHILD $GRAND, the scan sees:$(describe "$LEFT")"
    fi
  fi
  [ -n "$LEFT" ] && kill -9 $LEFT 2>/dev/null
  if wait_gone "$M" $BOUND_MS; then
    ok "detached: the survivors are gone after the test's own kill -9 (${GONE_MS} ms)"
  else
    bad "detached: survivors even after kill -9:$(describe "$LEFT")"
  fi
  wait "$WRAPPER"
fi

finish
