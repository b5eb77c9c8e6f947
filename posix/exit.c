/* SPDX-License-Identifier: MIT */
/* Exit statuses: decode a wait status; end this process like a signal. No feature-test macro here:
 * with strict POSIX, glibc and macOS hide WCOREDUMP (an XSI/BSD extension). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"

int tether_status_decode(uint32_t raw, tether_status *out) {
  int st = (int)raw;
  if (out == NULL)
    return TETHER_EINVAL;
  memset(out, 0, sizeof(*out));
  out->raw = raw;
  if (raw == 0xFFFFFFFFu) {
    /* Not a wait status: tether's mark for a status someone else took
     * (posix/direct.c). */
    out->kind = TETHER_STATUS_UNKNOWN;
    out->shell_code = 255;
    return 0;
  }
  if (WIFEXITED(st)) {
    out->kind = TETHER_STATUS_CODE;
    out->code = WEXITSTATUS(st);
    out->shell_code = out->code;
    return 0;
  }
  if (WIFSIGNALED(st)) {
    out->kind = TETHER_STATUS_SIGNAL;
    out->signo = WTERMSIG(st);
#ifdef WCOREDUMP
    out->core_dumped = WCOREDUMP(st) ? 1 : 0;
#else
    out->core_dumped = (st & 0x80) ? 1 : 0; /* the traditional encoding */
#endif
    out->shell_code = 128 + out->signo;
    return 0;
  }
  /* WIFSTOPPED / WIFCONTINUED: not an exit. */
  out->kind = TETHER_STATUS_NONE;
  return TETHER_EINVAL;
}

int tether__os_is_kill_status(uint32_t raw) {
  int st = (int)raw;
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

/* ---- exiting like a signal ---------------------------------------------- */

/* Signals whose default action stops the process instead of ending it. */
static int tether__is_stop_signal(int signo) {
  return signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU;
}

/* Signals whose default action is to be ignored: raising them ends nothing. */
static int tether__default_ignores(int signo) {
  switch (signo) {
  case SIGCHLD:
  case SIGCONT:
  case SIGURG:
#ifdef SIGWINCH
  case SIGWINCH:
#endif
    return 1;
  default:
    return 0;
  }
}

/* Die by signo now: SIG_DFL, unblock in this thread, raise; _exit(128 + N)
 * if the process survives. Takes no lock and flushes nothing, so any thread
 * may call it while others hold stdio or malloc locks. */
static void tether__die_by(int signo) {
  struct sigaction sa;
  sigset_t set;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  if (!tether__default_ignores(signo)) {
    (void)sigaction(signo, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, signo);
    (void)pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    /* raise() delivers to this thread before returning when unblocked. */
    (void)raise(signo);
  }
  _exit(128 + signo);
}

static int tether__kind_signal(int kind, int *signo) {
  int src, r;
  if (!tether__kind_has(kind, TETHER__K_EXIT_LIKE))
    return TETHER_EINVAL; /* CHILD, SIGNAL, not a kind */
  r = tether__os_kind_sources(kind, &src, 1);
  if (r < 0)
    return r;   /* LOGOFF, SHUTDOWN: TETHER_ENOTSUP */
  *signo = src; /* POSIX sources are signal numbers */
  return 0;
}

static int tether__valid_exit_signal(int signo) {
  return signo > 0 && tether__os_signal_name(signo) != NULL && !tether__is_stop_signal(signo);
}

int tether_exit_like_signal(int signo) {
  if (!tether__valid_exit_signal(signo))
    return TETHER_EINVAL;
  tether__flush_all(TETHER__EXIT_FLUSH_MS);
  tether__die_by(signo);
  return TETHER_EUNKNOWN; /* not reached */
}

int tether_exit_like_kind(int kind) {
  int signo = 0, r = tether__kind_signal(kind, &signo);
  if (r < 0)
    return r;
  return tether_exit_like_signal(signo);
}

int tether_exit_with(const tether_status *st) {
  if (st == NULL)
    return TETHER_EINVAL;
  switch (st->kind) {
  case TETHER_STATUS_CODE:
    if (st->code < 0 || st->code > 255)
      return TETHER_EINVAL;
    exit(st->code);
  case TETHER_STATUS_SIGNAL:
  case TETHER_STATUS_KILLED:
    /* KILLED keeps signo SIGKILL on POSIX. */
    return tether_exit_like_signal(st->kind == TETHER_STATUS_KILLED && st->signo == 0 ? SIGKILL
                                                                                      : st->signo);
  default:
    return TETHER_EINVAL; /* NONE, and the Windows kinds */
  }
}

void tether__os_exit_now(int kind, int code) {
  int signo = 0;
  if (tether__valid_exit_signal(code))
    signo = code; /* the event's native signal */
  else if (tether__kind_signal(kind, &signo) < 0)
    signo = SIGKILL;
  tether__die_by(signo);
}
