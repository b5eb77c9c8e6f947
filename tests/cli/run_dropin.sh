#!/bin/bash
# SPDX-License-Identifier: MIT
# `tether run` as a drop-in for coreutils timeout, tini and dumb-init
# (issue 13), POSIX lanes. Usage: run_dropin.sh TETHER
# Prints "N passed, N failed, N skipped" at the end; exits 1 on any failure.
#
# Differential where a peer exists: the same scenario runs under tether and
# under `timeout`, `tini`, `dumb-init` (Debian packages; a missing peer is
# skipped with the reason). Every wait has a deadline (shared machine).
# The Ctrl+C-stops-the-script cases need a terminal: tests/test_cli_run.c.
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. "$(dirname "$0")/lib.sh"
scratch

have() { command -v "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------ item 10: --timeout-status
"$T" run --timeout 300ms --timeout-status 124 -- sleep 30
rc=$?
timeout 0.3 sleep 30
prc=$?
[ $rc -eq 124 ] && [ $prc -eq 124 ] && ok "--timeout-status 124: 124, as timeout" ||
  bad "--timeout-status 124: tether $rc, timeout $prc"
# whatever the child did: it catches TERM and exits 0; or ignores it and is killed
"$T" run --timeout 300ms --timeout-status 124 -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.05; done'
rc=$?
[ $rc -eq 124 ] && ok "--timeout-status: child exits 0 on terminate -> 124" || bad "timeout-status, exit 0 on TERM: $rc"
"$T" run --timeout 300ms --kill-after 300ms --timeout-status 3 -- sh -c 'trap "" TERM; while :; do sleep 0.05; done'
rc=$?
[ $rc -eq 3 ] && ok "--timeout-status 3: child killed after kill-after -> 3" || bad "timeout-status, killed: $rc"
# timeout not reached: the child's status, as timeout
"$T" run --timeout 30s --timeout-status 124 -- sh -c 'exit 5'
rc=$?
timeout 30 sh -c 'exit 5'
prc=$?
[ $rc -eq 5 ] && [ $prc -eq 5 ] && ok "--timeout-status, not reached: child's 5, as timeout" ||
  bad "timeout-status not reached: tether $rc, timeout $prc"
"$T" run --timeout 300ms -- sleep 30
rc=$?
[ $rc -eq 143 ] && ok "without --timeout-status: unchanged (143)" || bad "no timeout-status: $rc"
for a in 256 -1 abc "" 1x; do
  "$T" run --timeout-status "$a" -- true 2>"$tmp/e"
  rc=$?
  [ $rc -eq 125 ] && grep -q -- "--timeout-status needs an exit status from 0 to 255" "$tmp/e" &&
    ok "--timeout-status '$a' -> 125" || bad "--timeout-status '$a' -> $rc: $(cat "$tmp/e")"
done
"$T" run --timeout-status 2>"$tmp/e"
[ $? -eq 125 ] && ok "--timeout-status without a value -> 125" || bad "--timeout-status alone"
# A stopped program still gets its terminate when the timeout runs out: it
# is continued first (as coreutils timeout does, and the library's stop
# engine), instead of sitting out --kill-after and being killed. Side by
# side with timeout: both end within a few seconds, not after 10.
stopped_case() { # WHO CMD...: ms taken and status into MS, RC
  local t0
  t0=$(now_ms)
  "$@" sh -c 'kill -STOP $$; sleep 30'
  RC=$?
  MS=$(($(now_ms) - t0))
}
stopped_case "$T" run --timeout 300ms --kill-after 10s --timeout-status 124 --
trc=$RC tms=$MS
stopped_case timeout -k 10 0.3
[ $trc -eq 124 ] && [ $RC -eq 124 ] && [ $tms -lt 5000 ] && [ $MS -lt 5000 ] &&
  ok "a stopped program: continued and terminated at the timeout (tether ${tms} ms, timeout ${MS} ms)" ||
  bad "a stopped program: tether $trc in ${tms} ms, timeout $RC in ${MS} ms"

# ------------------------------------------------------------ item 6: every catchable signal
# The child (bash) logs each signal it gets; it exits 0 on TERM. Each signal
# is sent to the wrapper once; the next one only after the child logged it.
SIGS="ALRM PWR XCPU XFSZ VTALRM PROF IO URG RTMIN RTMIN+1 RTMIN+5 RTMAX-1 RTMAX"
cat >"$tmp/sigs.sh" <<EOF
#!/bin/bash
log=\$1
for s in $SIGS; do trap "echo \$s >>\$log" \$s; done
trap "echo TERM >>\$log; exit 0" TERM
echo \$\$ >"\$2"
while :; do sleep 0.05; done
EOF
chmod +x "$tmp/sigs.sh"
# sig_case NAME WRAPPER...: run the child under WRAPPER, send each signal.
sig_case() {
  local name=$1 s n all=1 alive=1 pid
  shift
  : >"$tmp/$name.log"
  env --default-signal=INT,QUIT "$@" "$tmp/sigs.sh" "$tmp/$name.log" "$tmp/$name.ready" \
    2>"$tmp/$name.err" &
  pid=$!
  kid "$pid"
  if ! wait_for test -s "$tmp/$name.ready"; then
    bad "$name: the child did not start"
    kill -9 "$pid"
    return
  fi
  for s in $SIGS; do
    kill -s "$s" "$pid" 2>/dev/null || alive=0
    wait_for grep -qx "$s" "$tmp/$name.log" || all=0
  done
  kill -0 "$pid" 2>/dev/null || alive=0
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  for s in $SIGS; do
    n=$(grep -cx "$s" "$tmp/$name.log")
    [ "$n" = 1 ] || { all=0; echo "# $name: $s seen $n times"; }
  done
  [ $all -eq 1 ] && [ $alive -eq 1 ] && [ $rc -eq 0 ] &&
    ok "$name: each of $SIGS reached the child exactly once; wrapper survived, exit 0" ||
    bad "$name: all=$all alive=$alive rc=$rc log: $(tr '\n' ' ' <"$tmp/$name.log") $(cat "$tmp/$name.err")"
}
sig_case sigs_tether "$T" run --
if have tini; then sig_case sigs_tini tini -s --; else skipped "tini: not installed (Debian package tini)"; fi
if have dumb-init; then sig_case sigs_dumb_init dumb-init --; else skipped "dumb-init: not installed (Debian package dumb-init)"; fi
# -v names what it forwarded
"$T" run -v -- sh -c 'echo $$ >"$1"; sleep 1' sh "$tmp/v.ready" 2>"$tmp/v.err" &
pid=$!
kid "$pid"
wait_for test -s "$tmp/v.ready" && kill -s PWR "$pid"
wait "$pid"
grep -q 'SIGPWR (30, sender pid [0-9]*): forwarded' "$tmp/v.err" &&
  ok "-v: 'SIGPWR (30, sender pid N): forwarded to the program's tree'" || bad "-v SIGPWR: $(cat "$tmp/v.err")"

# ------------------------------------------------------------ item 8: SIGPIPE
# tether's -v log goes into a pipe whose readers are all gone before tether
# logs the child's end: tether must not die by SIGPIPE. The child waits for
# the readers to be gone ($tmp/gone), then records its SigIgn.
cat >"$tmp/pipe.sh" <<'EOF'
#!/bin/sh
i=0
while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep '^SigIgn' /proc/self/status >"$2"
exit 0
EOF
chmod +x "$tmp/pipe.sh"
"$T" run -v -- "$tmp/pipe.sh" "$tmp/gone" "$tmp/sigign" 2>&1 |
  (head -n 1 >"$tmp/head.out"; exec 0<&-; touch "$tmp/gone")
rc=${PIPESTATUS[0]}
ign=$(awk '{print $2}' "$tmp/sigign" 2>/dev/null)
[ $rc -eq 0 ] && grep -q '^tether run \[' "$tmp/head.out" &&
  ok "tether run -v ... 2>&1 | head -1: tether survives its broken log pipe (exit 0)" ||
  bad "SIGPIPE: tether rc $rc, head: $(cat "$tmp/head.out")"
if [ -n "$ign" ] && [ $((0x$ign & (1 << 12))) -eq 0 ]; then
  ok "the child's SIGPIPE is not ignored (SigIgn $ign)"
else
  bad "the child's SigIgn: '${ign:-none}' (bit of SIGPIPE set or unreadable)"
fi

# ------------------------------------------------------------ item 9: fds 0-2 closed
# The program must never get one of tether's own descriptors as 0, 1, 2.
# `env` leaves the slot closed; tether puts /dev/null there (documented).
cat >"$tmp/fds.sh" <<'EOF'
#!/bin/sh
# fds.sh OUT: what 0, 1, 2 are ("closed" when not open). First only test
# (opens nothing: a pipe of $(...) would take a closed slot), then read.
o0=closed o1=closed o2=closed
[ -e /proc/$$/fd/0 ] && o0=open
[ -e /proc/$$/fd/1 ] && o1=open
[ -e /proc/$$/fd/2 ] && o2=open
[ $o0 = open ] && o0=$(readlink /proc/$$/fd/0)
[ $o1 = open ] && o1=$(readlink /proc/$$/fd/1)
[ $o2 = open ] && o2=$(readlink /proc/$$/fd/2)
printf '0 %s\n1 %s\n2 %s\n' "$o0" "$o1" "$o2" >"$1"
EOF
chmod +x "$tmp/fds.sh"
for fd in 0 1 2; do
  case $fd in
  0) "$T" run -- "$tmp/fds.sh" "$tmp/t$fd" <&-; env "$tmp/fds.sh" "$tmp/e$fd" <&- ;;
  1) "$T" run -- "$tmp/fds.sh" "$tmp/t$fd" >&-; env "$tmp/fds.sh" "$tmp/e$fd" >&- ;;
  2) "$T" run -- "$tmp/fds.sh" "$tmp/t$fd" 2>&-; env "$tmp/fds.sh" "$tmp/e$fd" 2>&- ;;
  esac
  rc=$?
  tl=$(sed -n "$((fd + 1))p" "$tmp/t$fd" 2>/dev/null | cut -d' ' -f2-)
  el=$(sed -n "$((fd + 1))p" "$tmp/e$fd" 2>/dev/null | cut -d' ' -f2-)
  [ "$tl" = /dev/null ] && ok "fd $fd closed: the program gets /dev/null (env: $el)" ||
    bad "fd $fd closed: the program's fd $fd is '$tl' (env: '$el')"
done

# ------------------------------------------------------------ item 7: no core of tether's own
# A plain (relative) core_pattern writes "core..." into the dying process's
# cwd: the child aborts in $tmp/c, the wrapper runs in $tmp/w*. The child's
# core proves cores are written here; none may appear in the wrapper's cwd.
pat=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
core_case() {
  local name=$1 rc
  shift
  mkdir -p "$tmp/c" "$tmp/w$name"
  rm -f "$tmp"/c/core*
  # Sanitizer builds lower RLIMIT_CORE to 0 at start (disable_coredump),
  # which the child would inherit: ask them not to.
  rc=$(cd "$tmp/w$name" && ulimit -c unlimited 2>/dev/null &&
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0" \
    TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}disable_coredump=0" \
    "$@" sh -c 'cd "$1" && kill -ABRT $$' sh "$tmp/c" 2>"$tmp/$name.err"; echo $?)
  if ! ls "$tmp"/c/core* >/dev/null 2>&1; then
    skipped "$name: the aborting child wrote no core here (ulimit -c unlimited refused?); cannot check"
    return 1
  fi
  if [ "$rc" = 134 ] && ! ls "$tmp/w$name"/core* >/dev/null 2>&1; then
    ok "$name: child aborts (core in its cwd) -> 134, no core in the wrapper's cwd"
  else
    bad "$name: rc $rc, wrapper's cwd: $(ls "$tmp/w$name")"
  fi
}
case $pat in
'' | '|'* | */*) skipped "core: core_pattern '$pat' is not a plain file name; cannot see where a core goes" ;;
*)
  if core_case tether "$T" run -v --; then
    grep -q 'the program dumped core' "$tmp/tether.err" && ok "-v: 'the program dumped core'" ||
      bad "-v core message: $(cat "$tmp/tether.err")"
  fi
  core_case timeout timeout 30
  # no message when no core was written
  (ulimit -c 0; "$T" run -v -- sh -c 'kill -ABRT $$' 2>"$tmp/nocore.err")
  ! grep -q 'dumped core' "$tmp/nocore.err" && ok "-v: no core message without a core" ||
    bad "core message without a core"
  ;;
esac

# ------------------------------------------------------------ item 11: exec failures, as env
# The same program under tether and under env (coreutils: 127 for ENOENT,
# 126 for any other exec error, with the OS's reason): same status, and
# tether's reason is env's strerror text where env has the better one.
mkdir -p "$tmp/x"
# exec_case NAME PROGRAM ARGS...: runs both; sets trc tmsg erc emsg
exec_case() {
  local name=$1
  shift
  timeout 20 "$T" run -- "$@" >"$tmp/x/$name.tout" 2>"$tmp/x/$name.terr"
  trc=$?
  timeout 20 env "$@" >"$tmp/x/$name.eout" 2>"$tmp/x/$name.eerr"
  erc=$?
  tmsg=$(cat "$tmp/x/$name.terr")
  emsg=$(cat "$tmp/x/$name.eerr")
}
exec_case empty ''
[ $trc -eq 127 ] && [ $erc -eq 127 ] && [ "$tmsg" = "tether run: cannot run '': program not found" ] &&
  ok "'' as program: 127 with one line, as env" || bad "'': tether $trc '$tmsg', env $erc '$emsg'"
ln -s loop2 "$tmp/x/loop1"
ln -s loop1 "$tmp/x/loop2"
exec_case loop "$tmp/x/loop1"
[ $trc -eq 126 ] && [ $erc -eq 126 ] && [ "$tmsg" = "tether run: cannot run '$tmp/x/loop1': ${emsg##*: }" ] &&
  ok "symlink loop: 126 '${emsg##*: }', as env" || bad "loop: tether $trc '$tmsg', env $erc '$emsg'"
cp "$(type -P true)" "$tmp/x/busy"
exec 9>>"$tmp/x/busy" # open for writing: execve() gives ETXTBSY
exec_case busy "$tmp/x/busy"
exec 9>&-
[ $trc -eq 126 ] && [ $erc -eq 126 ] && [ "$tmsg" = "tether run: cannot run '$tmp/x/busy': ${emsg##*: }" ] &&
  ok "a program open for writing: 126 '${emsg##*: }', as env" || bad "ETXTBSY: tether $trc '$tmsg', env $erc '$emsg'"
printf '#!/no/such/interp -x\necho hi\n' >"$tmp/x/interp"
printf '#!/bin/sh\r\necho hi\r\n' >"$tmp/x/crlf"
chmod +x "$tmp/x/interp" "$tmp/x/crlf"
exec_case interp "$tmp/x/interp"
[ $trc -eq 127 ] && [ $erc -eq 127 ] &&
  [ "$tmsg" = "tether run: cannot run '$tmp/x/interp': its interpreter '/no/such/interp' (on its #! line) was not found" ] &&
  ok "#! interpreter missing: 127 as env, and the interpreter is named (env: '${emsg##*: }')" ||
  bad "interp: tether $trc '$tmsg', env $erc '$emsg'"
exec_case crlf "$tmp/x/crlf"
[ $trc -eq 127 ] && [ $erc -eq 127 ] && printf '%s' "$tmsg" | grep -qF "its interpreter '/bin/sh\r' (on" &&
  ok "#!/bin/sh with a CRLF line end: 127, the interpreter shown as '/bin/sh\\r'" ||
  bad "crlf: tether $trc '$tmsg', env $erc '$emsg'"
# An ELF program whose loader is missing (same-length rename of PT_INTERP).
ld=$(readelf -l "$(type -P true)" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
if [ -n "$ld" ] && LC_ALL=C sed "s|$ld|${ld%?}X|" "$(type -P true)" >"$tmp/x/noloader" &&
  ! cmp -s "$(type -P true)" "$tmp/x/noloader"; then
  chmod +x "$tmp/x/noloader"
  exec_case noloader "$tmp/x/noloader"
  [ $trc -eq 127 ] && [ $erc -eq 127 ] && printf '%s' "$tmsg" | grep -q "ELF interpreter (the dynamic loader" &&
    ok "ELF program without its loader: 127 as env, says the loader is missing" ||
    bad "noloader: tether $trc '$tmsg', env $erc '$emsg'"
else
  skipped "ELF without loader: cannot rename the PT_INTERP of $(command -v true) (readelf: '$ld')"
fi
# No #!: execvp() (env) runs it with /bin/sh, $0 = the path, args after it.
printf 'printf "[%%s]" "$0" "$@"; exit 3\n' >"$tmp/x/nosb"
chmod +x "$tmp/x/nosb"
exec_case nosb "$tmp/x/nosb" a 'b c' ''
[ $trc -eq 3 ] && [ $erc -eq 3 ] && cmp -s "$tmp/x/nosb.tout" "$tmp/x/nosb.eout" && [ -z "$tmsg" ] &&
  ok "script without #!: run by /bin/sh as env does ($(cat "$tmp/x/nosb.tout"), exit 3)" ||
  bad "nosb: tether $trc '$(cat "$tmp/x/nosb.tout")' '$tmsg', env $erc '$(cat "$tmp/x/nosb.eout")'"
PATH="$tmp/x:$PATH" exec_case nosb_path nosb z
[ $trc -eq 3 ] && [ $erc -eq 3 ] && cmp -s "$tmp/x/nosb_path.tout" "$tmp/x/nosb_path.eout" &&
  ok "script without #! found in PATH: same \$0 and args as env ($(cat "$tmp/x/nosb_path.tout"))" ||
  bad "nosb in PATH: tether $trc '$(cat "$tmp/x/nosb_path.tout")' '$tmsg', env $erc '$(cat "$tmp/x/nosb_path.eout")'"
# A binary that is not this machine's: not given to sh (env/dash say "ELF:
# not found", 127); 126 "not an executable format", as bash says.
printf '\177ELF garbage' >"$tmp/x/badexe"
chmod +x "$tmp/x/badexe"
exec_case badexe "$tmp/x/badexe"
timeout 20 bash -c "$tmp/x/badexe" 2>/dev/null
brc=$?
[ $trc -eq 126 ] && [ $brc -eq 126 ] && [ "$tmsg" = "tether run: cannot run '$tmp/x/badexe': not an executable format" ] &&
  ok "binary of no known format: 126 as bash (env: $erc, '${emsg##*: }')" ||
  bad "badexe: tether $trc '$tmsg', bash $brc"
# ~5 MB of arguments: the kernel takes up to 6 MiB with an unlimited stack.
if (ulimit -s unlimited) 2>/dev/null; then
  big=$(head -c 100000 /dev/zero | tr '\0' x)
  args=()
  for i in $(seq 50); do args+=("$big"); done
  trc=$(ulimit -s unlimited && timeout 20 "$T" run -- sh -c 'echo $#' sh "${args[@]}" 2>"$tmp/x/big.err")
  erc=$(ulimit -s unlimited && timeout 20 env sh -c 'echo $#' sh "${args[@]}" 2>&1)
  [ "$trc" = 50 ] && [ "$erc" = 50 ] && ok "5 MB of arguments, ulimit -s unlimited: run, as env" ||
    bad "5 MB of arguments: tether '$trc' $(cat "$tmp/x/big.err"), env '$erc'"
  unset args big
else
  skipped "5 MB of arguments: ulimit -s unlimited refused"
fi

# ------------------------------------------------------------ item 12: no /proc
# In a mount namespace of its own with /proc unmounted (or hidden under an
# empty tmpfs), the program starts a setsid() escapee; it must die with the
# run: (a) when the program ends, before tether returns; (b) within 1 s of
# `kill -9` of tether. The test itself still sees the host's /proc.
# noproc_case NAME: starts tether there; sets np_t (tether's pid), np_g
# (the escapee's), np_rc (the shell's status when it ended)
noproc_case() {
  local name=$1
  rm -f "$tmp/$name.g" "$tmp/$name.go"
  timeout 30 unshare -m sh -c '
    umount -l /proc 2>/dev/null || mount -t tmpfs none /proc || exit 98
    [ -e /proc/self/stat ] && exit 99
    exec "$0" run -- sh -c "setsid sleep 60 & echo \$! >\"\$1\"; \
      i=0; while [ ! -e \"\$2\" ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done" sh "$1" "$2"' \
    "$T" "$tmp/$name.g" "$tmp/$name.go" 2>"$tmp/$name.err" &
  np_t=$!
  kid "$np_t"
  np_g=
  if wait_for test -s "$tmp/$name.g"; then
    np_g=$(cat "$tmp/$name.g")
    kid "$np_g"
  fi
}
# gone PID: not running (no such process, or a zombie)
gone() {
  local a b st
  kill -0 "$1" 2>/dev/null || return 0
  read -r a b st _ <"/proc/$1/stat" 2>/dev/null || return 0
  [ "$st" = Z ]
}
# Control, with /proc: does this build catch setsid() escapees at all?
# (Linux keeper only; the portable backend and macOS have no subreaper.)
rm -f "$tmp/ctl.g"
timeout 20 "$T" run -- sh -c 'setsid sleep 60 & echo $! >"$1"; sleep 0.5' sh "$tmp/ctl.g"
ctl_g=$(cat "$tmp/ctl.g" 2>/dev/null)
if [ -z "$ctl_g" ]; then
  bad "no /proc control: the escapee did not start"
elif ! gone "$ctl_g"; then
  kill -9 "$ctl_g"
  skipped "no /proc: this build does not catch setsid() escapees even with /proc (no subreaper: portable backend, not Linux)"
elif ! unshare -m sh -c 'umount -l /proc 2>/dev/null || mount -t tmpfs none /proc' 2>"$tmp/unshare_m.err"; then
  skipped "no /proc: unshare -m with /proc unmounted refused: $(head -n 1 "$tmp/unshare_m.err")"
elif ! timeout 20 unshare -m sh -c '(umount -l /proc 2>/dev/null || mount -t tmpfs none /proc) &&
    exec "$0" --version' "$T" >/dev/null 2>"$tmp/noproc_version.err"; then
  # Sanitizer runtimes (LeakSanitizer lists threads in /proc) fail at exit.
  skipped "no /proc: this build of tether cannot even run 'tether --version' there: $(grep -m1 -i 'error\|fatal' "$tmp/noproc_version.err")"
else
  noproc_case np_end
  if [ -z "$np_g" ]; then
    bad "no /proc, program ends: the escapee did not start: $(cat "$tmp/np_end.err")"
  else
    sid_g=$(ps -o sid= -p "$np_g" | tr -d ' ')
    touch "$tmp/np_end.go"
    wait "$np_t"
    np_rc=$?
    if [ "$sid_g" = "$np_g" ] && [ $np_rc -eq 0 ] && gone "$np_g"; then
      ok "no /proc: the program ends, its setsid() escapee (session $sid_g) is dead when tether returns (rc 0)"
    else
      bad "no /proc, program ends: rc $np_rc, escapee $np_g (session $sid_g) $(gone "$np_g" && echo dead || echo ALIVE) $(cat "$tmp/np_end.err")"
    fi
    kill -9 "$np_g" 2>/dev/null
  fi
  noproc_case np_kill9
  if [ -z "$np_g" ]; then
    bad "no /proc, kill -9: the escapee did not start: $(cat "$tmp/np_kill9.err")"
  else
    tp=$(pgrep -P "$np_t") # timeout's child: unshare, then sh, exec'd tether
    [ "$(cat "/proc/$tp/comm" 2>/dev/null)" = tether ] || echo "# pid $tp is '$(cat "/proc/$tp/comm" 2>/dev/null)', not tether"
    t0=$(date +%s%N)
    kill -9 "$tp"
    i=0
    while ! gone "$np_g" && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done # watchdog: ~3 s
    ms=$((($(date +%s%N) - t0) / 1000000))
    wait "$np_t" 2>/dev/null
    if gone "$np_g" && [ $ms -le 1000 ]; then
      ok "no /proc: kill -9 of tether, its setsid() escapee dead after $ms ms"
    else
      bad "no /proc, kill -9: escapee $np_g $(gone "$np_g" && echo "dead after $ms ms" || echo "ALIVE after $ms ms")"
    fi
    kill -9 "$np_g" 2>/dev/null
    touch "$tmp/np_kill9.go"
  fi
fi

# ------------------------------------------------------------ item 5: PID 1 reaps orphans
# tether (or a peer) as PID 1 of a new PID namespace runs a program that
# waits for $tmp/NAME.go. Orphans enter the namespace from outside (nsenter,
# as `docker exec` does): their parent exits, so the namespace's init gets
# them. They must be re-parented to the wrapper, then reaped once they
# exit; the wrapper exits with the program's status (7).
# pid1_case NAME WRAPPER...
pid1_case() {
  local name=$1 u up wp i n z=1 rc reparented
  shift
  rm -f "$tmp/$name.ready" "$tmp/$name.go"
  timeout 60 unshare -fp --mount-proc "$@" sh -c '
    echo $$ >"$1"; sh -c "sleep 0.2 &"  # an orphan of the program itself
    i=0; while [ ! -e "$2" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; exit 7' \
    sh "$tmp/$name.ready" "$tmp/$name.go" 2>"$tmp/$name.err" &
  u=$!
  kid "$u"
  if ! wait_for test -s "$tmp/$name.ready"; then
    bad "$name: the program did not start: $(cat "$tmp/$name.err")"
    touch "$tmp/$name.go"
    wait "$u"
    return
  fi
  up=$(pgrep -P "$u")        # unshare
  wp=$(pgrep -P "$up" | head -n 1) # the wrapper, PID 1 inside
  nsenter -t "$wp" -p -- sh -c 'sleep 3 & sleep 3 & sleep 3 & exit 0'
  # The shell exits right after its third fork: a child may not have
  # exec'd sleep yet (it still shows as sh) when nsenter returns, so count
  # the wrapper's `sleep 3` children until all three are there (every
  # 50 ms, at most 2 s, well before they exit) and keep the most seen.
  reparented=0
  for i in $(seq 40); do
    n=$(pgrep -P "$wp" -fx 'sleep 3' | wc -l)
    [ "$n" -gt "$reparented" ] && reparented=$n
    [ "$reparented" -ge 3 ] && break
    sleep 0.05
  done
  # all three sleeps exit after 3 s: wait until no child of the wrapper is
  # a zombie or a sleep (deadline 10 s)
  wait_for no_zombie_or_sleep "$wp" && z=0
  touch "$tmp/$name.go"
  wait "$u"
  rc=$?
  [ "$reparented" = 3 ] && [ $z -eq 0 ] && [ $rc -eq 7 ] &&
    ok "$name as PID 1: 3 orphans re-parented to it and reaped, exit 7 (the program's)" ||
    bad "$name as PID 1: re-parented $reparented/3, zombies left: $z, rc $rc $(cat "$tmp/$name.err")"
}
if ! unshare -fp --mount-proc true 2>"$tmp/unshare.err"; then
  skipped "PID 1: unshare -fp --mount-proc refused: $(head -n 1 "$tmp/unshare.err")"
elif ! have nsenter; then
  skipped "PID 1: no nsenter"
else
  pid1_case pid1_tether "$T" run --
  if have tini; then pid1_case pid1_tini tini --; else skipped "PID 1 tini: not installed"; fi
  if have dumb-init; then pid1_case pid1_dumb_init dumb-init --; else skipped "PID 1 dumb-init: not installed"; fi
fi

# ------------------------------------------------------------ item 13: systemd's stop, a helper's death
# systemd stops a service by sending SIGTERM to every process of it at
# once (its cgroup; here: its session). The program's TERM trap must run
# and the wrapper must end, with the program's own status (3), as tini.
# stop_all NAME WRAPPER...
stop_all() {
  local name=$1 p sid rc
  shift
  setsid "$@" sh -c 'trap "echo trapped; exit 3" TERM; echo up; while :; do sleep 0.1; done' \
    >"$tmp/$name.out" 2>&1 &
  p=$!
  kid "$p"
  if ! wait_for grep -q up "$tmp/$name.out"; then
    bad "systemd stop, $name: the program did not start: $(cat "$tmp/$name.out")"
    return
  fi
  sid=$(ps -o sid= -p "$p" | tr -d ' ')
  pkill -TERM -s "$sid"
  if ! wait_for not_running "$p"; then
    bad "systemd stop, $name: still running 10 s after SIGTERM to every process"
    kill -9 "$p"
    return
  fi
  wait "$p"
  rc=$?
  [ $rc -eq 3 ] && grep -q trapped "$tmp/$name.out" &&
    ok "systemd stop (SIGTERM to every process), $name: the trap ran, exit 3" ||
    bad "systemd stop, $name: rc $rc, output: $(tr '\n' '|' <"$tmp/$name.out")"
}
if have setsid && have pkill; then
  stop_all tether "$T" run --
  if have tini; then stop_all tini tini -s --; else skipped "systemd stop, tini: not installed"; fi
else
  skipped "systemd stop: no setsid or pkill"
fi

# tether's keeper (Linux, `tether run`'s helper) SIGKILLed: tether ends
# within a second and nothing of the program's tree is left. The program's
# child sleeps for a time no other test uses (30.<this shell's pid> s), so
# that another test's `sleep 30` in the same session (ctest -j) is not taken
# for a survivor.
nap=30.$$
"$T" run -- sh -c 'echo up; exec sleep "$1" & wait' sh "$nap" >"$tmp/keeperkill.out" 2>&1 &
p=$!
kid "$p"
if ! wait_for grep -q up "$tmp/keeperkill.out"; then
  bad "keeper killed: the program did not start"
else
  k=$(pgrep -P "$p" -x tether-keeper)
  if [ -z "$k" ]; then
    skipped "keeper killed: no tether-keeper here (not Linux, or the portable backend)"
  else
    kill -9 "$k"
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.05; i=$((i + 1)); done
    sleep 0.2
    left=$(pgrep -x sleep -s "$(ps -o sid= -p $$ | tr -d ' ')" | while read -r q; do
      [ "$(tr '\0' ' ' </proc/"$q"/cmdline 2>/dev/null)" = "sleep $nap " ] && echo "$q"; done)
    if kill -0 "$p" 2>/dev/null; then
      bad "keeper killed: tether still running 1 s later"
      kill -9 "$p"
    elif [ -n "$left" ]; then
      bad "keeper killed: the program's child survived: $left"
      kill -9 $left
    else
      ok "keeper killed: tether ended within 1 s, nothing of the program left"
    fi
  fi
fi

finish
