#!/bin/sh
# SPDX-License-Identifier: MIT
# Shell-level tests of `tether run` (POSIX lanes). Usage: run.sh TETHER
# Prints "N passed, N failed" at the end; exits 1 on any failure.
#
# Children are small sh scripts that write what they see to files. tether
# is started in the background through `env --default-signal=INT,QUIT`
# because a non-interactive shell starts background jobs with SIGINT and
# SIGQUIT ignored (tether then leaves them ignored, as documented).
# Timed checks use generous bounds (the machine is shared).
T=$1
tmp=$(mktemp -d)
MARK="ttrun$$x$(date +%s%N)"
. "$(dirname "$0")/lib.sh"

# Pids of processes whose environment holds TT_RUN_MARK=$1.
marked() {
  grep -lzx -- "TT_RUN_MARK=$1" /proc/[0-9]*/environ 2>/dev/null |
    sed 's|^/proc/||; s|/environ$||'
}
cleanup() {
  # shellcheck disable=SC2046
  kill -9 $(grep -lz -- "TT_RUN_MARK=$MARK" /proc/[0-9]*/environ 2>/dev/null |
    sed 's|^/proc/||; s|/environ$||') 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT


# bg NAME ARGS...: start `tether run ARGS...` in the background with SIGINT
# and SIGQUIT at their defaults; PID, T0 (ms) set; output in $tmp/NAME.*.
bg() {
  name=$1
  shift
  T0=$(now_ms)
  env --default-signal=INT,QUIT TT_RUN_MARK="$MARK" "$T" run "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  PID=$!
}
# finish: wait for the background tether; RC and MS (elapsed since T0).
finish() {
  wait "$PID"
  RC=$?
  MS=$(($(now_ms) - T0))
}

# ---------------------------------------------------------------- exit status
for code in 0 1 42; do
  "$T" run -- sh -c "exit $code"
  rc=$?
  [ $rc -eq "$code" ] && ok "exit code $code passed through" || bad "exit $code -> $rc"
done
for sig in TERM:143 INT:130 KILL:137 HUP:129; do
  s=${sig%%:*} want=${sig#*:}
  "$T" run -- sh -c "kill -$s \$\$" 2>/dev/null
  rc=$?
  [ $rc -eq "$want" ] && ok "child killed by SIG$s -> \$? $want" || bad "SIG$s -> $rc"
  "$T" run --exit-code -- sh -c "kill -$s \$\$"
  rc=$?
  [ $rc -eq "$want" ] && ok "--exit-code with SIG$s -> $want" || bad "--exit-code SIG$s -> $rc"
done
# (WIFSIGNALED, not only $?, is checked in C by test_cli_run.)
out=$("$T" run -- sh -c 'echo out; echo err >&2; exit 3' 2>&1)
rc=$?
[ $rc -eq 3 ] && [ "$out" = "out
err" ] && ok "stdout and stderr are inherited" || bad "stdio: $rc '$out'"
echo hello | "$T" run -- sh -c 'read l; [ "$l" = hello ]'
rc=$?
[ $rc -eq 0 ] && ok "stdin is inherited" || bad "stdin: $rc"

# ---------------------------------------------------------------- 125/126/127
# cannot_run WANT WHAT PROGRAM [TEXT]: `tether run -- PROGRAM` exits WANT
# and (with TEXT) says TEXT on stderr ($tmp/e).
cannot_run() {
  "$T" run -- "$3" 2>"$tmp/e"
  rc=$?
  if [ $rc -eq "$1" ] && { [ $# -lt 4 ] || grep -q -- "$4" "$tmp/e"; }; then
    ok "$2 -> $1"
  else
    bad "$2 -> $rc: $(cat "$tmp/e")"
  fi
}
cannot_run 127 "not found" tt-no-such-program-$$ "cannot run 'tt-no-such-program-$$': program not found"
[ "$(wc -l <"$tmp/e")" -eq 1 ] && ok "not found: one line" || bad "not found: $(cat "$tmp/e")"
cannot_run 127 "missing path" "$tmp/nope/prog"
printf '#!/bin/sh\nexit 0\n' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
cannot_run 126 "not executable" "$tmp/noexec" "permission denied"
cannot_run 126 "a directory" "$tmp"
printf '\177ELF garbage' >"$tmp/badexe"
chmod 755 "$tmp/badexe"
cannot_run 126 "not an executable format" "$tmp/badexe"

# ---------------------------------------------------------------- bad input
while IFS='|' read -r args msg; do
  # shellcheck disable=SC2086
  "$T" run $args >"$tmp/o" 2>"$tmp/e"
  rc=$?
  if [ $rc -eq 125 ] && grep -q -- "$msg" "$tmp/e" && [ "$(wc -l <"$tmp/e")" -eq 1 ] && [ ! -s "$tmp/o" ]; then
    ok "run $args -> 125 ($msg)"
  else
    bad "run $args -> $rc: $(cat "$tmp/e")"
  fi
done <<'EOF'
|no program given
--|no program after '--'
--verbose --|no program after '--'
true|'--' missing before the program
sh -c true|'--' missing before the program
--bogus -- true|unknown option '--bogus'
-x -- true|unknown option '-x'
--grace -- true|'--' is not a duration
--grace|--grace needs a duration
--grace -1s -- true|'-1s' is not a duration
--grace=-5 -- true|'-5' is not a duration
--kill-after abc -- true|'abc' is not a duration
--timeout 5x -- true|'5x' is not a duration
--timeout 1.2.3 -- true|'1.2.3' is not a duration
--timeout s -- true|'s' is not a duration
--timeout 9999999d -- true|'9999999d' is not a duration
--timeout= -- true|'' is not a duration
EOF
"$T" run --help | grep -q '^usage: tether run \[OPTIONS\] -- PROGRAM' && ok "run --help" || bad "run --help"
"$T" run --timeout=1.5 --grace 500ms --kill-after 2m -- true && ok "durations 1.5, 500ms, 2m accepted" || bad "durations"
"$T" run --timeout inf --grace inf --kill-after 0 -- true && ok "durations inf and 0 accepted" || bad "inf"

# ---------------------------------------------------------------- forwarding
# Each signal sent to tether reaches the child's tree exactly once.
cat >"$tmp/counter.sh" <<'EOF'
#!/bin/sh
# counter.sh LOG READY: log each signal's name; exit 0 on TERM.
log=$1
for s in INT QUIT HUP USR1 USR2 WINCH; do
  trap "echo $s >>$log" $s
done
trap "echo TERM >>$log; exit 0" TERM
echo $$ >"$2"
while :; do sleep 0.05; done
EOF
chmod +x "$tmp/counter.sh"
bg fwd --grace 30s -- "$tmp/counter.sh" "$tmp/fwd.log" "$tmp/fwd.ready"
if wait_file "$tmp/fwd.ready"; then
  for s in USR1 USR2 WINCH HUP QUIT INT TERM; do
    kill -"$s" "$PID"
    sleep 0.3
  done
fi
finish
[ $RC -eq 0 ] && ok "forwarding: child exited 0 on TERM, tether too" || bad "forwarding: rc $RC $(cat "$tmp/fwd.err")"
for s in USR1 USR2 WINCH HUP QUIT INT TERM; do
  n=$(grep -c "^$s\$" "$tmp/fwd.log" 2>/dev/null)
  [ "$n" = 1 ] && ok "SIG$s reached the child exactly once" || bad "SIG$s seen ${n:-0} times: $(tr '\n' ' ' <"$tmp/fwd.log")"
done
# The child runs in a process group of its own (not tether's).
bg pg -- sh -c 'echo $$ >"$1"; ps -o pgid= -p $$ >>"$1"; sleep 30' sh "$tmp/pg.ready"
if wait_file "$tmp/pg.ready"; then
  # Its second line comes from ps, which may take a while on a busy machine.
  for _ in $(seq 200); do
    [ "$(wc -l <"$tmp/pg.ready")" -ge 2 ] && break
    sleep 0.05
  done
  cpid=$(head -n 1 "$tmp/pg.ready")
  cpg=$(sed -n 2p "$tmp/pg.ready" | tr -d ' ')
  tpg=$(ps -o pgid= -p "$PID" | tr -d ' ')
  [ "$cpg" = "$cpid" ] && [ "$cpg" != "$tpg" ] && ok "the child leads its own process group ($cpg, tether's $tpg)" ||
    bad "process groups: child $cpid in $cpg, tether in $tpg"
fi
kill -TERM "$PID"
finish
[ $RC -eq 143 ] && ok "kill -TERM tether: sleeping child ends by SIGTERM, tether too (143)" || bad "pg: rc $RC"

# -v logs each event and decision with a timestamp.
bg verbose -v -- "$tmp/counter.sh" "$tmp/v.log" "$tmp/v.ready"
wait_file "$tmp/v.ready" && kill -USR1 "$PID" && sleep 0.3 && kill -TERM "$PID"
finish
grep -q '^tether run \[ *[0-9]*\.[0-9][0-9][0-9]\] started' "$tmp/verbose.err" &&
  grep -q 'user1 (SIGUSR1, sender pid [0-9]*): forwarded' "$tmp/verbose.err" &&
  grep -q 'terminate (SIGTERM.*forwarded' "$tmp/verbose.err" &&
  grep -q 'exited with code 0' "$tmp/verbose.err" && ok "--verbose logs events and decisions" ||
  bad "--verbose: $(cat "$tmp/verbose.err")"

# ---------------------------------------------------------------- grace, kill-after, timeout
# T0 is taken before the signal is sent: a lower bound measured from a T0
# taken after it (one fork of date later) failed under load (792 ms for a
# 1 s grace).
# ignore-int: interrupt forwarded, ignored; grace 1s; terminate ends it.
bg igint --grace 1s -- sh -c 'trap "" INT; echo x >"$1"; while :; do sleep 0.05; done' sh "$tmp/igint.ready"
wait_file "$tmp/igint.ready" && T0=$(now_ms) && kill -INT "$PID"
finish
# tether dies by SIGINT, the cause (130), not by the child's SIGTERM.
[ $RC -eq 130 ] && [ $MS -ge 800 ] && [ $MS -lt 6000 ] &&
  ok "ignores interrupt: terminate after --grace 1s ends it (tether 130, ${MS} ms)" || bad "igint: rc $RC, ${MS} ms"

# ignore-term: terminate forwarded, ignored; grace 1s, terminate ignored,
# kill-after 1s, kill.
bg igterm --grace 1s --kill-after 1s -- sh -c 'trap "" TERM; echo x >"$1"; while :; do sleep 0.05; done' sh "$tmp/igterm.ready"
wait_file "$tmp/igterm.ready" && T0=$(now_ms) && kill -TERM "$PID"
finish
# tether dies by SIGTERM, the cause (143), not by the child's SIGKILL.
[ $RC -eq 143 ] && [ $MS -ge 1800 ] && [ $MS -lt 8000 ] &&
  ok "ignores terminate: killed after --grace 1s + --kill-after 1s (tether 143, ${MS} ms)" || bad "igterm: rc $RC, ${MS} ms"

# ignore-both: interrupt ignored, terminate ignored, kill.
bg igboth -v --grace 500ms --kill-after 1s -- sh -c 'trap "" INT TERM; echo x >"$1"; while :; do sleep 0.05; done' sh "$tmp/igboth.ready"
wait_file "$tmp/igboth.ready" && T0=$(now_ms) && kill -INT "$PID"
finish
[ $RC -eq 130 ] && [ $MS -ge 1300 ] && [ $MS -lt 8000 ] &&
  grep -q 'grace period over' "$tmp/igboth.err" && grep -q 'kill-after over' "$tmp/igboth.err" &&
  ok "ignores both: terminate after 500 ms, kill 1 s later (tether 130, ${MS} ms)" || bad "igboth: rc $RC, ${MS} ms $(cat "$tmp/igboth.err")"

# A graceful child: interrupt forwarded, it cleans up and exits 0 well
# within the grace period; no terminate is sent.
bg graceful -v --grace 5s -- sh -c 'trap "echo cleaned >>\"\$1\"; exit 0" INT; echo x >"$2"; while :; do sleep 0.05; done' sh "$tmp/graceful.log" "$tmp/graceful.ready"
wait_file "$tmp/graceful.ready" && T0=$(now_ms) && kill -INT "$PID"
finish
[ $RC -eq 0 ] && [ $MS -lt 3000 ] && grep -q cleaned "$tmp/graceful.log" && ! grep -q 'sent terminate' "$tmp/graceful.err" &&
  ok "graceful interrupt: child cleans up and exits 0 (${MS} ms)" || bad "graceful: rc $RC, ${MS} ms $(cat "$tmp/graceful.err")"

# Second interrupt: killed at once, long before the 30 s grace.
bg second --grace 30s -- sh -c 'trap "" INT; echo x >"$1"; while :; do sleep 0.05; done' sh "$tmp/second.ready"
wait_file "$tmp/second.ready" && kill -INT "$PID" && sleep 0.3 && T0=$(now_ms) && kill -INT "$PID"
finish
[ $RC -eq 130 ] && [ $MS -lt 5000 ] && ok "second interrupt kills the tree at once (tether 130, ${MS} ms)" || bad "second: rc $RC, ${MS} ms"

# --timeout: terminate at 1 s.
T0=$(now_ms)
"$T" run --timeout 1s -- sleep 30
rc=$? ms=$(($(now_ms) - T0))
[ $rc -eq 143 ] && [ $ms -ge 900 ] && [ $ms -lt 6000 ] && ok "--timeout 1s: terminated (143, ${ms} ms)" || bad "timeout: rc $rc, ${ms} ms"
T0=$(now_ms)
"$T" run --timeout 500ms --kill-after 1s -- sh -c 'trap "" TERM; while :; do sleep 0.05; done'
rc=$? ms=$(($(now_ms) - T0))
[ $rc -eq 137 ] && [ $ms -ge 1400 ] && [ $ms -lt 7000 ] && ok "--timeout 500ms --kill-after 1s, terminate ignored: killed (137, ${ms} ms)" || bad "timeout+kill: rc $rc, ${ms} ms"
T0=$(now_ms)
"$T" run --timeout 500ms --exit-code -- sleep 30
rc=$? ms=$(($(now_ms) - T0))
[ $rc -eq 143 ] && [ $ms -lt 5000 ] && ok "--timeout with --exit-code exits 143 (${ms} ms)" || bad "timeout exit-code: $rc"
"$T" run --timeout 5s -- true
rc=$?
[ $rc -eq 0 ] && ok "--timeout not reached: child's status" || bad "timeout not reached: $rc"

# ---------------------------------------------------------------- kill -9 leaves no survivor
cat >"$tmp/tree.sh" <<'EOF'
#!/bin/sh
# tree.sh READY: two children, one with a grandchild; all carry the marker
# in their environment.
sleep 300 &
sh -c 'sleep 300 & sleep 300 & wait' &
sleep 0.3
echo up >"$1"
wait
EOF
chmod +x "$tmp/tree.sh"
M9="$MARK-k9"
env --default-signal=INT,QUIT TT_RUN_MARK="$M9" "$T" run -- "$tmp/tree.sh" "$tmp/k9.ready" &
PID=$!
if wait_file "$tmp/k9.ready"; then
  n=$(marked "$M9" | wc -l)
  # tether, tree.sh, sleep, sh, sleep, sleep (the keeper does not carry it).
  [ "$n" -ge 6 ] && ok "kill -9: $n marked processes before (tether + 5 in the tree)" || bad "kill -9: only $n marked"
  kill -9 "$PID"
  wait "$PID" 2>/dev/null
  i=0
  while [ -n "$(marked "$M9")" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  left=$(marked "$M9")
  [ -z "$left" ] && ok "kill -9 of tether: 0 survivors after $((i * 100)) ms" ||
    bad "kill -9 of tether: survivors $left"
else
  bad "kill -9: the tree did not start"
fi

# The child exits while a grandchild lives on: the run ends with the child
# and the grandchild is killed (documented).
M2="$MARK-orphan"
T0=$(now_ms)
env TT_RUN_MARK="$M2" "$T" run -- sh -c 'sleep 300 & exit 5'
rc=$? ms=$(($(now_ms) - T0))
sleep 0.2
left=$(marked "$M2")
[ $rc -eq 5 ] && [ $ms -lt 5000 ] && [ -z "$left" ] && ok "child exits, grandchild killed, exit 5 (${ms} ms)" ||
  bad "leftover grandchild: rc $rc, ${ms} ms, left '$left'"

# ------------------------------------------- inherited descriptors above 2
# Like env: every descriptor tether inherited above 2 reaches the program
# at the same number, and nothing of tether's own does. Each check is run
# through env too, side by side.

# `cmd 3>file`: the write reaches the file.
for w in env tether; do
  if [ $w = env ]; then
    env sh -c 'echo "via fd 3" >&3' 3>"$tmp/fd3.$w"
  else
    "$T" run -- sh -c 'echo "via fd 3" >&3' 3>"$tmp/fd3.$w"
  fi
  rc=$?
  [ $rc -eq 0 ] && [ "$(cat "$tmp/fd3.$w")" = "via fd 3" ] &&
    ok "$w: 'cmd 3>file' writes the file" || bad "$w: 3>file: rc $rc, '$(cat "$tmp/fd3.$w")'"
done

# The program's open descriptors (number -> what), sh's own table:
# identical under env and under tether (3, 7 and 9 given; tether's
# channel, keeper socket and lifeline never appear).
# (One simple command in the program's sh: a pipeline there would show
# the shell's own pipe for a moment.)
fdlist() {
  sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)/\1 \2/p' "$1" | awk '$1 >= 3' |
    grep -v " /proc/" | sort -n >"$2"
}
env sh -c 'ls -l /proc/$$/fd/ >"$1"' sh "$tmp/fdraw.env" 3>"$tmp/fdl.a" 7<"$tmp/fd3.env" 9>>"$tmp/fdl.b"
"$T" run -- sh -c 'ls -l /proc/$$/fd/ >"$1"' sh "$tmp/fdraw.tether" 3>"$tmp/fdl.a" 7<"$tmp/fd3.env" 9>>"$tmp/fdl.b"
rc=$?
fdlist "$tmp/fdraw.env" "$tmp/fdlist.env"
fdlist "$tmp/fdraw.tether" "$tmp/fdlist.tether"
if [ $rc -eq 0 ] && grep -q "^3 $tmp/fdl.a\$" "$tmp/fdlist.tether" &&
  grep -q "^7 $tmp/fd3.env\$" "$tmp/fdlist.tether" &&
  grep -q "^9 $tmp/fdl.b\$" "$tmp/fdlist.tether" &&
  cmp -s "$tmp/fdlist.env" "$tmp/fdlist.tether"; then
  ok "the program's descriptors are env's: $(grep -c . "$tmp/fdlist.tether") entries, none of tether's"
else
  bad "descriptors differ from env's (rc $rc): env: $(tr '\n' ';' <"$tmp/fdlist.env") tether: $(tr '\n' ';' <"$tmp/fdlist.tether")"
fi
# A closed descriptor stays closed; a descriptor that is not inherited
# (close-on-exec in tether) is not passed: the channel's and the keeper's
# are opened after the inherited ones are taken, so they are covered above.
"$T" run -- sh -c 'echo x >&3' 3>&- 2>/dev/null
rc=$?
[ $rc -ne 0 ] && ok "a closed fd 3 stays closed in the program" || bad "fd 3 was open in the program"

# systemd socket activation: LISTEN_FDS=1 and a listening socket at fd 3,
# accepted by the program (which, like a forking wrapper's child, does not
# check LISTEN_PID: see docs/decisions.md).
if command -v python3 >/dev/null 2>&1; then
  cat >"$tmp/activate.py" <<'PY'
import os, socket, subprocess, sys
wrapper = sys.argv[1:]
path = os.environ["SOCK"]
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(path)
ls.listen(1)
fd = ls.detach()
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
server = ("import os, socket; assert os.environ['LISTEN_FDS'] == '1'; "
          "s = socket.socket(fileno=3); s.settimeout(30); c, _ = s.accept(); "
          "c.sendall(b'activated ' + str(os.getpid()).encode()); c.close()")
env = dict(os.environ, LISTEN_FDS="1")
p = subprocess.Popen(wrapper + [sys.executable, "-c", server], pass_fds=(3,), env=env)
os.close(3)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(20)
c.connect(path)
data = c.recv(100)
print(data.decode())
sys.exit(p.wait(timeout=20))
PY
  for w in env tether; do
    if [ $w = env ]; then wrap=env; else wrap="$T run --"; fi
    # shellcheck disable=SC2086
    out=$(SOCK="$tmp/act.$w.sock" timeout 60 python3 "$tmp/activate.py" $wrap 2>&1)
    rc=$?
    case "$out" in
    "activated "*) [ $rc -eq 0 ] && ok "$w: LISTEN_FDS socket at fd 3 accepted a connection" ||
      bad "$w: socket activation: rc $rc, '$out'" ;;
    *) bad "$w: socket activation: rc $rc, '$out'" ;;
    esac
  done
else
  skipped "socket activation: python3 not found"
fi

# The make jobserver: `+tether run -- $(MAKE)` in a -j4 build; the sub-make
# runs two jobs that each wait for the other (so they must run in
# parallel) and make never says "jobserver unavailable".
if command -v make >/dev/null 2>&1; then
  case $T in /*) TA=$T ;; *) TA=$(pwd)/$T ;; esac
  mkdir -p "$tmp/mk"
  cat >"$tmp/mk/sub.mk" <<'MK'
all: a b
a b:
	@touch $@.start; i=0; \
	while [ ! -e $(if $(filter a,$@),b,a).start ] && [ $$i -lt 150 ]; do sleep 0.1; i=$$((i+1)); done; \
	if [ -e $(if $(filter a,$@),b,a).start ]; then touch $@.ok; fi
MK
  for w in env tether; do
    rm -f "$tmp"/mk/*.start "$tmp"/mk/*.ok
    if [ $w = env ]; then wrap=env; else wrap="$TA run --"; fi
    printf 'all:
	+%s $(MAKE) --no-print-directory -f sub.mk
' "$wrap" >"$tmp/mk/top.mk"
    (cd "$tmp/mk" && timeout 120 make -j4 -f top.mk >"$tmp/mk/$w.out" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -e "$tmp/mk/a.ok" ] && [ -e "$tmp/mk/b.ok" ] &&
      ! grep -qi "jobserver" "$tmp/mk/$w.out"; then
      ok "$w: +\$(MAKE) -j4 sub-make runs jobs in parallel, no jobserver warning"
    else
      bad "$w: jobserver: rc $rc, a.ok $([ -e "$tmp/mk/a.ok" ] && echo y || echo n), b.ok $([ -e "$tmp/mk/b.ok" ] && echo y || echo n), '$(cat "$tmp/mk/$w.out")'"
    fi
  done
else
  skipped "jobserver: make not found"
fi

finish
