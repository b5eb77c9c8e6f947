#!/bin/sh
# SPDX-License-Identifier: MIT
# Shell-level tests of `tether events` (POSIX lanes). Usage: events.sh TETHER
# Prints "N passed, N failed" at the end; exits 1 on any failure.
TETHER=$1
. "$(dirname "$0")/lib.sh"
scratch


# 1. JSON lines for several kinds, sent by another process.
"$TETHER" events --json --count 4 user1 user2 hangup SIGALRM >"$tmp/out" 2>"$tmp/err" &
pid=$!
if wait_file "$tmp/out"; then
  kill -USR1 $pid; sleep 0.1; kill -USR2 $pid; sleep 0.1
  kill -HUP $pid; sleep 0.1; kill -ALRM $pid
fi
wait $pid
rc=$?
[ $rc -eq 0 ] && ok "events --count 4 exits 0" || bad "events --count 4 exited $rc"
head -n 1 "$tmp/out" | grep -q "^{\"ready\":true,\"pid\":$pid}\$" \
  && ok "ready line names the pid" || bad "ready line: $(head -n 1 "$tmp/out")"
[ "$(wc -l <"$tmp/out")" -eq 5 ] && ok "one line per event" || bad "line count $(wc -l <"$tmp/out")"
for k in user1:SIGUSR1 user2:SIGUSR2 hangup:SIGHUP signal:SIGALRM; do
  kind=${k%%:*}; native=${k#*:}
  grep -q "^{\"kind\":\"$kind\",\"native\":\"$native\",\"code\":[0-9]*,\"count\":1,\"pid\":$$,\"uid\":$(id -u),\"time_ns\":[0-9]*,\"time_left_ms\":null}\$" "$tmp/out" \
    && ok "json line for $kind" || bad "json line for $kind missing: $(cat "$tmp/out")"
done

# 2. The second interrupt stops it.
"$TETHER" events --json interrupt >"$tmp/out2" 2>&1 &
pid=$!
if wait_file "$tmp/out2"; then
  kill -INT $pid; sleep 0.2; kill -INT $pid
fi
wait $pid
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '"kind":"interrupt"' "$tmp/out2")" -ge 1 ] \
  && ok "second interrupt stops events" || bad "second interrupt: rc $rc, $(cat "$tmp/out2")"

# 3. Usage errors exit 125 with a message.
for args in "--bogus" "--count" "--count abc" "--count 0" "nosuchkind" "SIGKILL" "9"; do
  # shellcheck disable=SC2086
  "$TETHER" events $args >"$tmp/o" 2>"$tmp/e"
  rc=$?
  [ $rc -eq 125 ] && [ -s "$tmp/e" ] && ok "events $args -> 125" || bad "events $args -> $rc ($(cat "$tmp/e"))"
done
"$TETHER" events SIGKILL 2>&1 | grep -q "cannot be watched" \
  && ok "SIGKILL refusal explains itself" || bad "SIGKILL message"
"$TETHER" bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 125 ] && ok "unknown command -> 125" || bad "unknown command -> $rc"
"$TETHER" --version | grep -q '^tether [0-9]*\.[0-9]*\.[0-9]*$' && ok "--version" || bad "--version"
"$TETHER" events --help | grep -q 'usage: tether events' && ok "events --help" || bad "events --help"

# 4. Inherited SIG_IGN: skipped in the default set, with a note.
(trap '' INT; exec "$TETHER" events --json --count 1) >"$tmp/out3" 2>"$tmp/err3" &
pid=$!
if wait_file "$tmp/out3"; then
  kill -INT $pid; sleep 0.2; kill -TERM $pid
fi
wait $pid
rc=$?
grep -q "not watching interrupt" "$tmp/err3" && ok "ignored SIGINT noted" || bad "no note: $(cat "$tmp/err3")"
[ $rc -eq 0 ] && grep -q '"kind":"terminate"' "$tmp/out3" && ! grep -q '"kind":"interrupt"' "$tmp/out3" \
  && ok "ignored SIGINT stays ignored, terminate still seen" || bad "ignored: rc $rc $(cat "$tmp/out3")"

finish
