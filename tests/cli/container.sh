#!/bin/bash
# SPDX-License-Identifier: MIT
# examples/container/Dockerfile, run as a container runtime would run it:
# its ENTRYPOINT + CMD as PID 1 of a new pid namespace with its own /proc
# (`unshare -fp --mount-proc`; Linux, root or user namespaces). Checked as
# `docker stop` and `docker exec` would see it, side by side with tini in
# the same place (issue 13). Usage: container.sh TETHER SOURCE_DIR
# Prints "N passed, N failed, N skipped"; exits 1 on any failure.
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$2
. "$(dirname "$0")/lib.sh"
scratch

# The Dockerfile's exec-form arrays, with the image's paths mapped to the
# build's: ENTRYPOINT ["/usr/local/bin/tether", ...] and CMD [...].
df=$src/examples/container/Dockerfile
json_words() { # KEYWORD: its JSON array as lines
  sed -n "s/^$1 \[\(.*\)\]\$/\1/p" "$df" | tr ',' '\n' | sed 's/^ *"//; s/" *$//'
}
mapfile -t entry < <(json_words ENTRYPOINT)
mapfile -t cmd < <(json_words CMD)
if [ "${#entry[@]}" -lt 2 ] || [ "${#cmd[@]}" -lt 1 ]; then
  bad "Dockerfile: no exec-form ENTRYPOINT/CMD found in $df"
  finish
fi
[ "${entry[0]}" = /usr/local/bin/tether ] && entry[0]=$T
[ "${cmd[0]}" = /usr/local/bin/service.sh ] && cmd[0]=$src/examples/container/service.sh

# container NAME INIT...: the service under INIT as PID 1; docker exec
# leaves an orphan in the namespace; docker stop sends SIGTERM to PID 1.
container() {
  local name=$1 u up wp nspid rc zombies
  shift
  rm -f "$tmp/$name.ready"
  SERVICE_READY=$tmp/$name.ready timeout 60 unshare -fp --mount-proc "$@" "${cmd[@]}" \
    >"$tmp/$name.out" 2>&1 &
  u=$!
  kid "$u"
  if ! wait_for test -e "$tmp/$name.ready"; then
    bad "$name: the service did not start: $(cat "$tmp/$name.out")"
    return
  fi
  up=$(pgrep -P "$u")               # unshare
  wp=$(pgrep -P "$up" | head -n 1)  # its child: PID 1 inside
  nspid=$(awk '/^NSpid:/{print $NF}' "/proc/$wp/status")
  [ "$nspid" = 1 ] && ok "$name: the init is PID 1 in the container" ||
    bad "$name: the init's pid inside is '$nspid', not 1"
  # docker exec: a process entering the namespace, whose parent exits.
  nsenter -t "$wp" -p -- sh -c 'sleep 0.3 & exit 0'
  sleep 0.5
  wait_for no_zombie_or_sleep "$wp" && ok "$name: docker exec's orphan was reaped by PID 1" ||
    bad "$name: a zombie or orphan left under PID 1: $(pgrep -P "$wp" -a)"
  # docker stop
  kill -TERM "$wp"
  if ! wait_for not_running "$u"; then
    bad "$name: still running 10 s after docker stop's SIGTERM"
    kill -9 "$wp"
    wait "$u"
    return
  fi
  wait "$u"
  rc=$?
  [ $rc -eq 0 ] && grep -q "service: SIGTERM, stopping" "$tmp/$name.out" &&
    ok "$name: docker stop: the service got SIGTERM, stopped cleanly, exit 0" ||
    bad "$name: docker stop: rc $rc, output: $(tr '\n' '|' <"$tmp/$name.out")"
  echo "$rc" >"$tmp/$name.rc"
}

if [ "$(uname -s)" != Linux ]; then
  skipped "containers: Linux pid namespaces only"
elif ! unshare -fp --mount-proc true 2>"$tmp/unshare.err"; then
  skipped "containers: unshare -fp --mount-proc refused: $(head -n 1 "$tmp/unshare.err")"
elif ! command -v nsenter >/dev/null; then
  skipped "containers: no nsenter"
else
  container tether "${entry[@]}"
  if command -v tini >/dev/null; then
    container tini tini --
    [ "$(cat "$tmp/tether.rc" 2>/dev/null)" = "$(cat "$tmp/tini.rc" 2>/dev/null)" ] &&
      ok "same exit status as tini after docker stop" ||
      bad "exit status after docker stop: tether $(cat "$tmp/tether.rc" 2>/dev/null), tini $(cat "$tmp/tini.rc" 2>/dev/null)"
  else
    skipped "tini: not installed (the peer)"
  fi
fi
finish
