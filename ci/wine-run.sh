#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run a Windows executable under Wine, headless, for ctest
# (CMAKE_CROSSCOMPILING_EMULATOR in cmake/toolchain-mingw-w64.cmake).
#
#   ci/wine-run.sh <program.exe> [args...]   run it; exit with its exit code
#   ci/wine-run.sh --init                    create the Wine prefix (once) and
#                                            start a persistent wineserver with
#                                            Wine's desktop process
#   ci/wine-run.sh --shutdown                kill the prefix's wineserver and
#                                            every Wine process still in it
#
# Environment:
#   TETHER_WINEPREFIX  the throwaway prefix (default /tmp/tether-wine-<uid>);
#                      created on first use with `wineboot -i`, under a lock so
#                      parallel tests do it once.
#   TETHER_WINE_PTY    1 (default): give the program a console. Wine creates
#                      one only when stdin/stdout/stderr is a tty, so the
#                      program runs under util-linux `script` with its stdin
#                      on a fresh pseudo-terminal (console present:
#                      GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0) works) while
#                      its stdout and stderr stay the caller's own pipes (so
#                      the output carries none of Wine's tty escape codes).
#                      0: run it directly (no console).
#
# The caller's stdin is never passed on (CI has none). The prefix uses Wine's
# null graphics driver, so hidden windows (WM_CLOSE) work without X.
set -uo pipefail

: "${TETHER_WINEPREFIX:=/tmp/tether-wine-$(id -u)}"
export WINEPREFIX=$TETHER_WINEPREFIX
export WINEARCH=win64
export WINEDEBUG=${TETHER_WINEDEBUG:--all}
# TETHER_WINE_DLLOVERRIDES: more overrides for one run (tests: "user32=" makes
# window creation fail, as in a session without a display driver).
export WINEDLLOVERRIDES="mscoree,mshtml=${TETHER_WINE_DLLOVERRIDES:+;$TETHER_WINE_DLLOVERRIDES}"
# Headless: never talk to a desktop's X server or Wayland compositor.
unset DISPLAY WAYLAND_DISPLAY
# MinGW runtime DLLs (libwinpthread-1.dll, libgcc_s_seh-1.dll), in case a
# program links them dynamically; the toolchain links statically anyway.
winepath=""
for d in /usr/x86_64-w64-mingw32/lib /usr/lib/gcc/x86_64-w64-mingw32/*-win32 \
         /usr/lib/gcc/x86_64-w64-mingw32/*-posix; do
  [[ -d "$d" ]] && winepath+="${winepath:+;}Z:${d//\//\\}"
done
export WINEPATH="${winepath}${WINEPATH:+;$WINEPATH}"

die() { printf 'wine-run: %s\n' "$*" >&2; exit 125; }

wine_bin=$(command -v wine || command -v wine64) || die "wine not found (apt-get install wine wine64)"

# Every Wine process runs without address-space randomization (setarch -R:
# the ADDR_NO_RANDOMIZE personality, which each process Wine starts inherits
# through fork and exec). Debian's wine64 has no preloader: its loader is a
# non-PIE program at 0x7d000000, and the kernel puts the randomized start of
# its brk heap anywhere in the next gigabyte or so. When that heap covers
# 0x7ffe0000, where Wine must map the shared user data page, the new process
# dies before its first instruction ("failed to map the shared user data:
# c0000018"), and CreateProcess reports ERROR_INTERNAL_ERROR, or the
# program's console (conhost.exe) is missing. About one start in a few
# thousand; without randomization the heap starts at 0x7d005000, 47 MiB
# below that page, every time (docs/platforms.md).
# Where setarch is missing or the personality is refused (a seccomp
# filter), programs run as before and --init says so once.
norand=(setarch "$(uname -m)" -R)
"${norand[@]}" true 2>/dev/null || norand=()

init_prefix() {
  [[ -f "$WINEPREFIX/.tether-ready" ]] && return 0
  mkdir -p "$(dirname "$WINEPREFIX")"
  # Serialise first use: ctest -j runs several tests at once.
  exec 9>"$WINEPREFIX.lock" || die "cannot open $WINEPREFIX.lock"
  flock 9
  if [[ ! -f "$WINEPREFIX/.tether-ready" ]]; then
    mkdir -p "$WINEPREFIX"
    {
      "${norand[@]}" wineboot -i &&
      # Headless window station: Wine's null display driver instead of X11,
      # so CreateWindow (tether's hidden WM_CLOSE window) works without X.
      "${norand[@]}" "$wine_bin" reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f &&
      wineserver -w
    } </dev/null >"$WINEPREFIX.init.log" 2>&1 9>&- ||
      { cat "$WINEPREFIX.init.log" >&2; die "creating the Wine prefix failed"; }
    touch "$WINEPREFIX/.tether-ready"
  fi
  flock -u 9
  exec 9>&-
}

case "${1:-}" in
  "") die "usage: wine-run.sh <program.exe> [args...] | --init | --shutdown" ;;
  --init)
    [[ ${#norand[@]} -gt 0 ]] ||
      printf 'wine-run: NOTE: setarch -R does not work here: Wine processes keep a randomized address space, and about one start in a few thousand fails\n' >&2
    init_prefix
    exec 9>&- # the prefix lock: not for the server to inherit
    # One wineserver for the whole lane, with Wine's system processes
    # (explorer.exe: the desktop that owns every window; winedevice) already
    # running before the first test: otherwise the first tests, started in
    # parallel, each start them on demand, and a test once hung at exit
    # while that happened. --shutdown ends it.
    wineserver -p 2>/dev/null || true
    "${norand[@]}" "$wine_bin" wineboot </dev/null >/dev/null 2>&1 || true
    exit 0 ;;
  --shutdown)
    if [[ -d "$WINEPREFIX" ]]; then
      wineserver -k 2>/dev/null || true
      wineserver -w 2>/dev/null || true
    fi
    exit 0 ;;
esac

init_prefix

# The program runs as a child of a small perl waiter (perl-base is Essential
# in Debian), which exits with the program's status and, when the Wine
# process died of a Unix signal, says so on stderr: `script -e` and the
# shell report exit code 137 and death by SIGKILL alike, and Wine's server
# SIGKILLs a process whose Unix side is still there about 0.5 s after its
# last Windows thread ended (process_sigkill in server/process.c), which
# loses the exit code on a busy machine. A test that checks an exit code can
# then tell the two apart (tests/cli/wine_send.sh).
# shellcheck disable=SC2016
waiter=(perl -e '
  my $pid = fork;
  defined $pid or die "wine-run: fork: $!\n";
  if (!$pid) { exec { $ARGV[0] } @ARGV; die "wine-run: exec $ARGV[0]: $!\n"; }
  waitpid($pid, 0) == $pid or die "wine-run: waitpid: $!\n";
  my $sig = $? & 127;
  if ($sig) {
    print STDERR "wine-run: the Wine process (Unix pid $pid) was killed by Unix signal $sig\n";
    exit 128 + $sig;
  }
  exit $? >> 8;' --)

if [[ "${TETHER_WINE_PTY:-1}" != 0 ]]; then
  command -v script >/dev/null ||
    die "script(1) not found (apt-get install util-linux; or TETHER_WINE_PTY=0 for no console)"
  # script(1) runs "$SHELL -c <string>" with stdin/stdout/stderr on a fresh
  # pty and, with -e, exits with the program's status. The program keeps the
  # pty only as stdin (enough for Wine to make a console); its stdout and
  # stderr go to our own, passed down as fds 7 and 8. Every argument is
  # quoted for bash. script's own stdin is /dev/null: it sends EOF to the pty
  # and carries on until the program exits.
  printf -v cmd '%q ' "${waiter[@]}" "${norand[@]}" "$wine_bin" "$@"
  exec 7>&1 8>&2
  SHELL=/bin/bash exec script -qfec "exec $cmd >&7 2>&8 7>&- 8>&-" /dev/null </dev/null
fi
exec "${waiter[@]}" "${norand[@]}" "$wine_bin" "$@" </dev/null
