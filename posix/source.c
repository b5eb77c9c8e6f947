/* SPDX-License-Identifier: MIT */
/*
 * POSIX signal sources.
 *
 * Source index == signal number. The handler records the delivery in the
 * core's lock-free state (tether__deliver), then chains to the action that
 * was installed before tether, honouring SA_SIGINFO. It saves and restores
 * errno, allocates nothing and takes no lock.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* SA_ONSTACK is XSI: glibc hides it without this */
#if !defined(TETHER_LINUX) && defined(__APPLE__)
#define _DARWIN_C_SOURCE /* NSIG, SA_ONSTACK */
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#if defined(NSIG)
#define TETHER__NSIG NSIG
#elif defined(_NSIG)
#define TETHER__NSIG _NSIG
#else
#define TETHER__NSIG 65
#endif
/* Signal numbers tether handles: 1 .. TETHER__MAXSIG (< TETHER__SRC_CHILD). */
#define TETHER__MAXSIG (TETHER__NSIG - 1 < 64 ? TETHER__NSIG - 1 : 64)

#ifndef SA_ONSTACK
#error "SA_ONSTACK is required (a Go/cgo host needs it on every handler)"
#endif

/* The action found when tether installed its handler (chained, restored). */
static struct sigaction tether__prev[TETHER__MAXSIG + 1];
/* Disposition at start: 0 not looked at yet, 1 ignored, 2 not ignored. */
static volatile int tether__ign_start[TETHER__MAXSIG + 1];

static void tether__snapshot(int signo) {
  struct sigaction cur;
  if (tether__ign_start[signo] != 0)
    return;
  if (sigaction(signo, NULL, &cur) == 0)
    tether__ign_start[signo] = (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) ? 1 : 2;
}

/* Record every signal's disposition at load time, before the program (or
 * tether) changes anything. Without constructor support the snapshot is
 * taken the first time tether looks at a signal. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor)) static void tether__snapshot_all(void) {
  int s;
  for (s = 1; s <= TETHER__MAXSIG; s++)
    tether__snapshot(s);
#if defined(TETHER__TSAN)
  /* ThreadSanitizer's runtime (gcc 12's libtsan) drops an asynchronous
   * signal that reaches a process before its first nanosleep() has
   * returned (tests/tsan_signal_window.c shows it without tether); a TSan
   * build of the library does that one nanosleep when it is loaded, so that
   * a program's first Ctrl+C is not lost (docs/concurrency.md). */
  {
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = 1;
    (void)nanosleep(&ts, NULL);
  }
#endif
}
#endif

static int tether__is_signal(int signo) { return signo >= 1 && signo <= TETHER__MAXSIG; }

/* The one {kind, signal} list of this backend; a signal that is not here
 * is reported as TETHER_EVENT_SIGNAL, a kind that is not here has no
 * source (LOGOFF, SHUTDOWN: Windows only). */
static const struct {
  int kind;
  int signo;
} tether__posix_kinds[] = {
    {TETHER_EVENT_INTERRUPT, SIGINT},  {TETHER_EVENT_QUIT, SIGQUIT},
    {TETHER_EVENT_TERMINATE, SIGTERM}, {TETHER_EVENT_HANGUP, SIGHUP},
    {TETHER_EVENT_USER1, SIGUSR1},     {TETHER_EVENT_USER2, SIGUSR2},
#ifdef SIGWINCH
    {TETHER_EVENT_RESIZE, SIGWINCH},
#endif
};
#define TETHER__POSIX_NKINDS (sizeof(tether__posix_kinds) / sizeof(tether__posix_kinds[0]))

static int tether__kind_of(int signo) {
  size_t i;
  for (i = 0; i < TETHER__POSIX_NKINDS; i++)
    if (tether__posix_kinds[i].signo == signo)
      return tether__posix_kinds[i].kind;
  return TETHER_EVENT_SIGNAL;
}

/* Names made at run time: SIGRTMIN+n, and "SIG32" for a number the OS has
 * but no name (glibc's reserved 32 and 33 among them). */
static char tether__numnames[TETHER__MAXSIG + 1][16];
static pthread_once_t tether__numnames_once = PTHREAD_ONCE_INIT;

static void tether__numnames_init(void) {
  int s;
  for (s = 1; s <= TETHER__MAXSIG; s++)
    (void)snprintf(tether__numnames[s], sizeof(tether__numnames[s]), "SIG%d", s);
#if defined(SIGRTMIN) && defined(SIGRTMAX)
  for (s = SIGRTMIN; s <= SIGRTMAX && s <= TETHER__MAXSIG; s++)
    (void)snprintf(tether__numnames[s], sizeof(tether__numnames[s]), "SIGRTMIN+%d", s - SIGRTMIN);
#endif
}

const char *tether__os_signal_name(int signo) {
  switch (signo) {
#define TETHER__SIGNAME(s) \
  case s:                  \
    return #s;
    TETHER__SIGNAME(SIGHUP)
    TETHER__SIGNAME(SIGINT)
    TETHER__SIGNAME(SIGQUIT)
    TETHER__SIGNAME(SIGILL)
    TETHER__SIGNAME(SIGTRAP)
    TETHER__SIGNAME(SIGABRT)
    TETHER__SIGNAME(SIGBUS)
    TETHER__SIGNAME(SIGFPE)
    TETHER__SIGNAME(SIGKILL)
    TETHER__SIGNAME(SIGUSR1)
    TETHER__SIGNAME(SIGSEGV)
    TETHER__SIGNAME(SIGUSR2)
    TETHER__SIGNAME(SIGPIPE)
    TETHER__SIGNAME(SIGALRM)
    TETHER__SIGNAME(SIGTERM)
    TETHER__SIGNAME(SIGCHLD)
    TETHER__SIGNAME(SIGCONT)
    TETHER__SIGNAME(SIGSTOP)
    TETHER__SIGNAME(SIGTSTP)
    TETHER__SIGNAME(SIGTTIN)
    TETHER__SIGNAME(SIGTTOU)
    TETHER__SIGNAME(SIGURG)
    TETHER__SIGNAME(SIGXCPU)
    TETHER__SIGNAME(SIGXFSZ)
    TETHER__SIGNAME(SIGVTALRM)
    TETHER__SIGNAME(SIGPROF)
    TETHER__SIGNAME(SIGSYS)
#ifdef SIGWINCH
    TETHER__SIGNAME(SIGWINCH)
#endif
#ifdef SIGIO
    TETHER__SIGNAME(SIGIO)
#endif
#if defined(SIGPWR)
    TETHER__SIGNAME(SIGPWR)
#endif
#if defined(SIGSTKFLT)
    TETHER__SIGNAME(SIGSTKFLT)
#endif
#if defined(SIGINFO) && (!defined(SIGPWR) || SIGINFO != SIGPWR)
    TETHER__SIGNAME(SIGINFO)
#endif
#if defined(SIGEMT)
    TETHER__SIGNAME(SIGEMT)
#endif
#undef TETHER__SIGNAME
  default:
    break;
  }
  if (tether__is_signal(signo)) {
    (void)pthread_once(&tether__numnames_once, tether__numnames_init);
    return tether__numnames[signo];
  }
  return NULL;
}

int tether__os_src_info(int src, tether__src_info *out) {
  if (!tether__is_signal(src))
    return TETHER_EINVAL;
  out->kind = tether__kind_of(src);
  out->code = src;
  out->name = tether__os_signal_name(src);
  out->flags = 0;
  return 0;
}

int tether__os_kind_sources(int kind, int *srcs, int max) {
  size_t i;
  if (max < 1)
    return TETHER_EINVAL;
  for (i = 0; i < TETHER__POSIX_NKINDS; i++)
    if (tether__posix_kinds[i].kind == kind) {
      srcs[0] = tether__posix_kinds[i].signo;
      return 1;
    }
  return TETHER_ENOTSUP; /* LOGOFF, SHUTDOWN: Windows only */
}

int tether__os_signal_source(int signo, int *src) {
  if (!tether__is_signal(signo))
    return TETHER_EINVAL;
  switch (signo) {
  case SIGKILL:
  case SIGSTOP:
  case SIGSEGV:
  case SIGBUS:
  case SIGFPE:
  case SIGILL:
    return TETHER_EFORBIDDEN;
  default:
    break;
  }
#if defined(SIGRTMIN)
  /* glibc keeps the first real-time signals (32, 33) for itself. */
  if (signo > 31 && signo < SIGRTMIN)
    return TETHER_EFORBIDDEN;
#endif
  *src = signo;
  return 0;
}

int tether__os_ignored_at_start(int signo) {
  if (!tether__is_signal(signo))
    return TETHER_EINVAL;
  tether__snapshot(signo);
  return tether__ign_start[signo] == 1;
}

int tether__os_src_check(int src, unsigned flags) {
  if (!tether__is_signal(src))
    return TETHER_EINVAL;
  tether__snapshot(src);
  /* Respect an inherited SIG_IGN for the terminal signals (nohup, background
   * jobs of non-interactive shells) unless the caller insists. */
  if ((src == SIGHUP || src == SIGINT || src == SIGQUIT) && tether__ign_start[src] == 1 &&
      !(flags & TETHER_WATCH_IGNORED))
    return TETHER_EIGNORED;
  return 0;
}

/* xnu's si_code values (<sys/signal.h>), for the Darwin rule below. */
#define TETHER__XNU_SI_USER 0x10001
#define TETHER__XNU_SI_QUEUE 0x10002
#if defined(__APPLE__)
#define TETHER__ON_XNU 1
#else
#define TETHER__ON_XNU 0
#endif

/* Private test seam (reached through tether_internal, never exported):
 * nonzero makes the handler rewrite every siginfo as xnu delivers it
 * before reading it, and judge it by the Darwin rule, so that rule runs on
 * Linux: a kill()/sigqueue()/tgkill() keeps si_pid/si_uid but gets si_code
 * 0; a signal the kernel raised gets si_code 0 and no sender. */
int tether__siginfo_as_xnu = 0;

/* Who sent a signal: si_pid/si_uid are meaningful only for signals sent by
 * a process. POSIX marks those SI_USER (kill), SI_QUEUE (sigqueue), and
 * Linux SI_TKILL (tgkill). xnu never sets SI_USER for kill(): it leaves
 * si_code 0 with a valid si_pid/si_uid (kernel-raised signals also get 0,
 * with si_pid 0), so on Darwin "si_code 0 and si_pid > 0" is a process's
 * kill (docs/decisions.md, macOS). */
static void tether__sender(const siginfo_t *info, int64_t *pid, int64_t *uid) {
  int code, xnu = TETHER__ON_XNU, from_process;
  pid_t spid;
  uid_t suid;
  if (info == NULL)
    return;
  code = info->si_code;
  spid = info->si_pid;
  suid = info->si_uid;
  if (tether__siginfo_as_xnu) {
    xnu = 1;
    if (code != SI_USER && code != SI_QUEUE
#if defined(SI_TKILL)
        && code != SI_TKILL
#endif
    ) {
      spid = 0;
      suid = 0;
    }
    code = 0;
  }
  if (xnu)
    from_process =
        (code == 0 && spid > 0) || code == TETHER__XNU_SI_USER || code == TETHER__XNU_SI_QUEUE;
  else
    from_process = code == SI_USER || code == SI_QUEUE
#if defined(SI_TKILL)
                   || code == SI_TKILL
#endif
        ;
  if (from_process) {
    *pid = (int64_t)spid;
    *uid = (int64_t)suid;
  }
}

static void tether__handler(int signo, siginfo_t *info, void *uctx) {
  int saved = errno;
  int64_t pid = TETHER__UNKNOWN_ID, uid = TETHER__UNKNOWN_ID;
  const struct sigaction *prev;
  tether__sender(info, &pid, &uid);
  if (tether__is_signal(signo)) {
    tether__deliver(signo, pid, uid);
    prev = &tether__prev[signo];
    if (prev->sa_flags & SA_SIGINFO) {
      if (prev->sa_sigaction != NULL)
        prev->sa_sigaction(signo, info, uctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN &&
               prev->sa_handler != NULL) {
      prev->sa_handler(signo);
    }
  }
  errno = saved;
}

static int tether__is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == tether__handler;
}

int tether__os_src_install(int src) {
  struct sigaction sa, old;
  sigset_t all, mask;
  int r = 0;
  if (!tether__is_signal(src))
    return TETHER_EINVAL;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = tether__handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  /* Block everything in this thread while the previous action is published
   * and ours installed, so this thread cannot run a half-set-up handler. */
  sigfillset(&all);
  (void)pthread_sigmask(SIG_BLOCK, &all, &mask);
  if (sigaction(src, NULL, &old) < 0) {
    r = tether__translate_os_error(errno);
    goto finish;
  }
  if (!tether__is_ours(&old))
    tether__prev[src] = old; /* publish before installing */
  if (sigaction(src, &sa, &old) < 0) {
    r = tether__translate_os_error(errno);
    goto finish;
  }
  /* Somebody changed the action between our two calls: chain to theirs. */
  if (!tether__is_ours(&old))
    tether__prev[src] = old;
finish:
  (void)pthread_sigmask(SIG_SETMASK, &mask, NULL);
  return r;
}

void tether__os_src_uninstall(int src) {
  struct sigaction cur;
  sigset_t all, mask;
  if (!tether__is_signal(src))
    return;
  sigfillset(&all);
  (void)pthread_sigmask(SIG_BLOCK, &all, &mask);
  /* Restore only if our handler is still the installed one; if somebody
   * replaced it, leave theirs (our handler, if they chain to it, only
   * passes through to the previous action). */
  if (sigaction(src, NULL, &cur) == 0 && tether__is_ours(&cur))
    (void)sigaction(src, &tether__prev[src], NULL);
  (void)pthread_sigmask(SIG_SETMASK, &mask, NULL);
}
