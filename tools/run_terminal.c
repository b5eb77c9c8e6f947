/* SPDX-License-Identifier: MIT */
/*
 * tether run: the terminal and job control (run_terminal.h). POSIX: the
 * hand-over of the terminal to the program's group (--foreground, or by
 * default with the sentinel), the terminal's modes, Ctrl+Z (tether stops
 * itself with the program) and SIGCONT (fg, bg). Windows: the program
 * shares tether's console, and these calls do nothing.
 */
#ifndef _WIN32
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE /* sysctl, struct kinfo_proc */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__APPLE__)
#include <sys/proc.h>
#include <sys/sysctl.h>
#endif
#endif

#include <stdio.h>
#include <string.h>

#include "run_terminal.h"

#ifndef _WIN32
/*
 * The program is a process group of tether's session (its keeper has a
 * group of its own in this session, see docs/children.md), so it has
 * tether's controlling terminal, and it is a *background* group of it,
 * like a job the shell started with '&': the terminal sends Ctrl+C,
 * Ctrl+\, Ctrl+Z and window-size changes to tether (its foreground job),
 * which relays them; the program is stopped by SIGTTIN if it reads the
 * terminal (SIGTTOU if it changes its modes), as under timeout(1).
 *
 * --foreground, when tether's group is the terminal's foreground job:
 * tether saves the terminal's modes, gives the terminal to the program's
 * group (tcsetpgrp) after the spawn, and takes it back, with the modes,
 * when the program ends. The terminal then delivers Ctrl+C, Ctrl+\, Ctrl+Z
 * and SIGWINCH to the program's group itself; tether no longer receives
 * them (what it still receives comes from outside and is forwarded once).
 * Job control: tether is not the program's parent (the keeper is), so it
 * cannot see a stop through waitpid; it polls the program's state every
 * 50 ms (program_stopped()). When the program stops (Ctrl+Z, or SIGTTIN
 * while tether was in the background), tether takes the terminal back and
 * stops itself, so that the shell sees a stopped job; on SIGCONT (fg),
 * it gives the terminal back to the program and continues it.
 */
static int g_tty = -1;              /* /dev/tty with --foreground, else -1 */
static struct termios g_termios;    /* the modes when tether started */
static struct termios g_prog_modes; /* the program's, when it stopped */
static int g_have_prog_modes;
static int g_handed;       /* the program's group holds the terminal */
static int g_self_stopped; /* tether stopped itself; SIGCONT not seen yet */
static int g_cont_watched; /* SIGCONT arrives as a channel event */
static int g_poll;         /* --foreground and the state can be read */

#if defined(__linux__)
/* /proc/<pid>/stat after "pid (comm) ": comm may hold ')' and spaces, so
 * the fields start after the last ')'. NULL when it cannot be read. */
const char *run_proc_stat_fields(long pid, char *buf, size_t size) {
  char path[64];
  const char *p;
  ssize_t n;
  int fd;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' ? p + 2 : NULL;
}
#endif

/* 1: the process is stopped by a job-control signal (state T), 0: not
 * (running, sleeping, a zombie, gone), -1: this system cannot tell.
 * A tracing stop (Linux 't', a debugger holds it) is not a job stop. */
static int program_stopped(long pid) {
#if defined(__linux__)
  char buf[512];
  const char *f = run_proc_stat_fields(pid, buf, sizeof buf);
  return f != NULL && f[0] == 'T';
#elif defined(__APPLE__)
  struct kinfo_proc kp;
  size_t len = sizeof kp;
  int mib[4];
  mib[0] = CTL_KERN;
  mib[1] = KERN_PROC;
  mib[2] = KERN_PROC_PID;
  mib[3] = (int)pid;
  memset(&kp, 0, sizeof kp);
  if (sysctl(mib, 4, &kp, &len, NULL, 0) != 0 || len == 0)
    return 0;
  return kp.kp_proc.p_stat == SSTOP;
#else
  (void)pid;
  return -1;
#endif
}

static int tty_setpgrp(pid_t pg) {
  sigset_t s, old;
  int r;
  /* tcsetpgrp() from a background group raises SIGTTOU unless it is
   * blocked (for this thread). */
  sigemptyset(&s);
  sigaddset(&s, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &s, &old);
  r = tcsetpgrp(g_tty, pg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

static void tty_setattr(const struct termios *t) {
  sigset_t s, old;
  sigemptyset(&s);
  sigaddset(&s, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &s, &old);
  (void)tcsetattr(g_tty, TCSADRAIN, t);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void foreground_setup(void) {
  g_tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (g_tty < 0) {
    run_log("terminal: no terminal (%s)", strerror(errno));
    return;
  }
  if (tcgetattr(g_tty, &g_termios) != 0) {
    run_log("terminal: cannot read the terminal's modes (%s)", strerror(errno));
    close(g_tty);
    g_tty = -1;
    return;
  }
  run_log("terminal: terminal modes saved");
  g_poll = program_stopped((long)getpid()) >= 0;
  if (!g_poll)
    run_log("terminal: this system cannot tell when the program stops; "
            "Ctrl+Z stops the program but not tether");
}

/* --foreground: give the terminal to the program's group, if tether's
 * group holds it (never take it from the job the shell has given it to).
 * Then SIGCONT the group, as a shell's fg does: a program that touched
 * the terminal before the hand-over was stopped by SIGTTIN/SIGTTOU (or
 * has the stop pending; SIGCONT discards it). */
static int g_auto; /* the terminal is handed over by default (sentinel) */
static pid_t g_sentinel = -1;
static int sentinel_start(pid_t pgid);

void run_term_give(tether_child *c) {
  long pid = (long)tether_child_pid(c);
  if (g_tty < 0 || g_handed)
    return;
  if (tcgetpgrp(g_tty) != getpgrp()) {
    run_log("terminal (%s): tether is not the terminal's foreground job; the "
            "program runs in the background",
            g_auto ? "default" : "--foreground");
    return;
  }
  /* By default, only with the sentinel in the program's group: without
   * it a Ctrl+C would never reach tether (no second-Ctrl+C kill). */
  if (g_auto && g_sentinel <= 0 && sentinel_start((pid_t)pid) != 0)
    return;
  if (g_have_prog_modes)
    tty_setattr(&g_prog_modes);
  if (tty_setpgrp((pid_t)pid) != 0) {
    run_log("terminal: cannot give the terminal to the program (%s)", strerror(errno));
    return;
  }
  g_handed = 1;
  (void)tether_child_signal_native(c, SIGCONT);
  run_log("terminal: the terminal's foreground group is now the program's (%ld)", pid);
}

/* --foreground: take the terminal back from the program's group (it
 * stopped or ended) and restore the modes tether started with; the
 * program's modes are kept for its return. */
void run_term_take_back(void) {
  if (!g_handed)
    return;
  g_handed = 0;
  g_have_prog_modes = tcgetattr(g_tty, &g_prog_modes) == 0;
  if (tty_setpgrp(getpgrp()) != 0) {
    run_log("terminal: cannot take the terminal back (%s)", strerror(errno));
    return;
  }
  tty_setattr(&g_termios);
  run_log("terminal: the terminal is tether's again");
}

/* Restore the modes saved at start, if tether is in the terminal's
 * foreground (never touch the terminal of the job the shell has now). */
void run_term_restore(void) {
  if (g_tty < 0)
    return;
  run_term_take_back();
  if (tcgetpgrp(g_tty) == getpgrp()) {
    tty_setattr(&g_termios);
    run_log("terminal: terminal modes restored");
  }
  close(g_tty);
  g_tty = -1;
}

/*
 * In a terminal, by default (issue 13, item 2): when tether is the
 * terminal's foreground job and its stdin and stdout are that terminal,
 * the program's group is given the terminal as with --foreground, so that
 * it can read it (python3, less, vi, bash -i) as at a bare prompt, and the
 * terminal's Ctrl+C, Ctrl+\, Ctrl+Z and window-size changes reach it
 * directly, once. tether no longer receives those; to still see the
 * user's Ctrl+C (a second one kills the tree), a *sentinel* joins the
 * program's group: a fork of tether that ignores every signal but SIGINT
 * and SIGQUIT, and passes those to tether with kill() only when the
 * kernel sent them (si_code SI_KERNEL: the terminal), never when they come
 * from a kill() (tether's own forward, a `kill -INT` of the group). tether
 * knows the relay by its sender pid and does not forward it. The sentinel
 * dies with the group (every kill of the tree) and with tether (Linux:
 * PR_SET_PDEATHSIG; elsewhere it checks its parent every second).
 */
/* Did the kernel send it (the terminal), not a kill()? */
static int sentinel_from_terminal(const siginfo_t *si) {
#if defined(SI_KERNEL)
  return si->si_code == SI_KERNEL;
#else
  return si->si_pid == 0 && si->si_code != SI_USER;
#endif
}

#if defined(__APPLE__)
/* macOS has no sigtimedwait(): a handler relays, in the sentinel. */
static volatile pid_t g_sentinel_parent;

static void sentinel_relay(int sig, siginfo_t *si, void *u) {
  int saved = errno;
  (void)u;
  if (si != NULL && sentinel_from_terminal(si))
    (void)kill(g_sentinel_parent, sig);
  errno = saved;
}
#endif

/* Only async-signal-safe calls: tether has threads. No handler (but on
 * macOS): SIGINT and SIGQUIT stay blocked and are taken with
 * sigtimedwait(), so that no runtime's signal machinery (a sanitizer's
 * deferred handlers in a forked child) stands between the terminal and
 * the relay. */
static void sentinel_main(pid_t pgid, int ready_fd, long maxfd) {
  struct sigaction sa;
  sigset_t relay;
  int sig, fd;
  pid_t parent = getppid();
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;
  for (sig = 1; sig < 65; sig++)
    if (sig != SIGINT && sig != SIGQUIT)
      (void)sigaction(sig, &sa, NULL); /* KILL, STOP: refused */
  sigemptyset(&relay);
  sigaddset(&relay, SIGINT);
  sigaddset(&relay, SIGQUIT);
  /* Every signal is blocked here (sentinel_start forked with all of them
   * blocked). Until setpgid() this process is in tether's group, the
   * terminal's foreground one: a Ctrl+C typed now reaches tether itself
   * (which forwards it) and would also wait here, pending, to be relayed
   * as a second one (the tree killed for one Ctrl+C: seen under load in
   * test_pty_ctrl_c_once). Ignoring a pending signal discards it; after
   * setpgid() and until tether hands the terminal over (after "ready"),
   * no terminal signal can reach the program's group. */
  (void)setpgid(0, pgid);
  sa.sa_handler = SIG_IGN;
  (void)sigaction(SIGINT, &sa, NULL);
  (void)sigaction(SIGQUIT, &sa, NULL);
#if defined(__APPLE__)
  g_sentinel_parent = parent;
  sa.sa_sigaction = sentinel_relay;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  (void)sigaction(SIGINT, &sa, NULL);
  (void)sigaction(SIGQUIT, &sa, NULL);
#else
  /* Blocked, at their default: kept pending for sigtimedwait() (an
   * ignored signal would be discarded). */
  (void)sigprocmask(SIG_SETMASK, &relay, NULL);
  sa.sa_handler = SIG_DFL;
  (void)sigaction(SIGINT, &sa, NULL);
  (void)sigaction(SIGQUIT, &sa, NULL);
#endif
#if defined(__linux__)
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
#endif
  fd = open("/dev/null", O_RDWR);
  for (sig = 0; sig < 3 && fd >= 0; sig++)
    if (fd != sig)
      (void)dup2(fd, sig);
  (void)write(ready_fd, "r", 1); /* in the group, relaying */
  /* Nothing of tether's or the program's beyond 0-2 (a pipe's write end
   * held here would keep its reader waiting). */
  for (fd = 3; fd < maxfd; fd++)
    (void)close(fd);
#if defined(__APPLE__)
  sigemptyset(&relay);
  (void)sigprocmask(SIG_SETMASK, &relay, NULL);
  while (getppid() == parent)
    (void)sleep(1);
#else
  while (getppid() == parent) {
    siginfo_t si;
    struct timespec one = {1, 0};
    memset(&si, 0, sizeof si);
    sig = sigtimedwait(&relay, &si, &one);
    if (sig > 0 && sentinel_from_terminal(&si))
      (void)kill(parent, sig);
  }
#endif
  _exit(0);
}

/* Start the sentinel in the program's group (pgid); 0 or -1. Waits up
 * to 2 s for it to be in place, so that no Ctrl+C after the hand-over
 * goes unseen. */
static int sentinel_start(pid_t pgid) {
  sigset_t all, old;
  int p[2], n = 0;
  char c;
  struct pollfd pf;
  struct rlimit rl;
  long maxfd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)maxfd)
    maxfd = (long)rl.rlim_cur;
  if (pipe(p) != 0)
    return -1;
  sigfillset(&all);
  (void)pthread_sigmask(SIG_SETMASK, &all, &old);
  g_sentinel = fork();
  if (g_sentinel == 0)
    sentinel_main(pgid, p[1], maxfd);
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(p[1]);
  if (g_sentinel > 0) {
    (void)setpgid(g_sentinel, pgid);
    pf.fd = p[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, 2000) == 1)
      n = (int)read(p[0], &c, 1);
  }
  close(p[0]);
  if (g_sentinel > 0 && n == 1 && getpgid(g_sentinel) == pgid) {
    run_log("sentinel %ld in the program's group: it tells tether of the terminal's "
            "Ctrl+C",
            (long)g_sentinel);
    return 0;
  }
  run_log("cannot start the sentinel (%s): the program stays a background job",
          g_sentinel < 0 ? strerror(errno) : "it did not join the program's group");
  if (g_sentinel > 0) {
    (void)kill(g_sentinel, SIGKILL);
    (void)waitpid(g_sentinel, NULL, 0);
  }
  g_sentinel = -1;
  return -1;
}

void run_term_stop_sentinel(void) {
  if (g_sentinel <= 0)
    return;
  (void)kill(g_sentinel, SIGKILL);
  (void)waitpid(g_sentinel, NULL, 0);
  g_sentinel = -1;
}

/* The program may go on: give it the terminal back (--foreground, when
 * tether's group has it now: fg) and continue its group. */
static void resume_program(tether_child *c) {
  g_self_stopped = 0;
  if (g_tty >= 0)
    run_term_give(c); /* SIGCONTs the group when it hands over */
  if (!g_handed)
    (void)tether_child_signal_native(c, SIGCONT);
}

/* Stop tether itself (SIGSTOP cannot be caught; tether's SIGTSTP is). The
 * SIGCONT that continues it arrives as a channel event, which calls
 * resume_program(); until then the program's state is not polled. When
 * SIGCONT is not watched (ignored when tether started), resume here. */
static void stop_self(tether_child *c) {
  g_self_stopped = g_cont_watched;
  (void)kill(getpid(), SIGSTOP);
  if (!g_cont_watched)
    resume_program(c);
}

/* Has the terminal hung up? Its descriptor then fails every ioctl with
 * EIO (the kernel swaps its operations before it signals anybody). */
int run_term_hung_up(void) { return g_tty >= 0 && tcgetpgrp(g_tty) < 0 && errno == EIO; }

int run_term_watch(tether_channel *ch) {
  int r;
  /* Job control: Ctrl+Z stops the program and tether; fg/bg continue
   * both. (SIGTSTP ignored at start, e.g. by a non-job-control shell: left
   * ignored.) */
  r = tether_channel_watch_signal(ch, SIGTSTP, 0);
  if (r < 0 && r != TETHER_EIGNORED) {
    fprintf(stderr, "tether run: cannot watch SIGTSTP: %s\n", tether_strerror(r));
    return -1;
  }
  r = tether_channel_watch_signal(ch, SIGCONT, 0);
  if (r < 0 && r != TETHER_EIGNORED) {
    fprintf(stderr, "tether run: cannot watch SIGCONT: %s\n", tether_strerror(r));
    return -1;
  }
  g_cont_watched = r == 0;
  return 0;
}

void run_term_open(int foreground) {
  if (foreground) {
    foreground_setup();
  } else if (isatty(0) && isatty(1)) {
    /* A terminal on stdin and stdout: hand it to the program by default
     * (when tether is its foreground job), with the sentinel. Not in a
     * pipeline such as `tether run -- make | less`: the pager, in
     * tether's group, needs the terminal then. */
    foreground_setup();
    g_auto = g_tty >= 0;
  }
}

int run_term_wait_ms(int wait_ms) {
  /* --foreground: look at the program's state every 50 ms. */
  if (g_tty >= 0 && g_poll && !g_self_stopped && (wait_ms < 0 || wait_ms > 50))
    wait_ms = 50;
  return wait_ms;
}

void run_term_check_stopped(tether_child *c) {
  if (g_tty >= 0 && g_poll && !g_self_stopped && program_stopped((long)tether_child_pid(c)) == 1) {
    /* Ctrl+Z reached the program's group (it holds the terminal), or it
     * read the terminal while tether was in the background (SIGTTIN). */
    run_log("the program stopped: taking the terminal back, stopping tether");
    run_term_take_back();
    stop_self(c);
  }
}

void run_term_on_stop(tether_child *c) {
  /* Ctrl+Z while tether is the terminal's foreground job (or a SIGTSTP
   * from outside): stop the program's group, then tether, so that the
   * shell sees a stopped job; SIGCONT (fg, bg) continues both. SIGSTOP:
   * the program stops even if it catches or ignores SIGTSTP. */
  run_log("SIGTSTP: stopping the program's group (SIGSTOP), then tether");
  run_term_take_back();
  (void)tether_child_signal_native(c, SIGSTOP);
  stop_self(c);
}

void run_term_on_continue(tether_child *c) {
  run_log("SIGCONT: continuing the program's group");
  resume_program(c);
}

void run_term_continue(tether_child *c) { (void)tether_child_signal_native(c, SIGCONT); }

int run_term_is_sentinel(int64_t pid) { return g_sentinel > 0 && pid == (int64_t)g_sentinel; }

int run_term_handed(void) { return g_handed; }
#else
/* Windows: no terminal to hand over, no job control; the console delivers
 * its events to the program itself (TETHER_SPAWN_CONSOLE_GROUP). */
int run_term_watch(tether_channel *ch) {
  (void)ch;
  return 0;
}
void run_term_open(int foreground) { (void)foreground; }
void run_term_give(tether_child *c) { (void)c; }
void run_term_take_back(void) {}
int run_term_wait_ms(int wait_ms) { return wait_ms; }
void run_term_check_stopped(tether_child *c) { (void)c; }
void run_term_on_stop(tether_child *c) { (void)c; }
void run_term_on_continue(tether_child *c) { (void)c; }
void run_term_continue(tether_child *c) { (void)c; }
int run_term_is_sentinel(int64_t pid) {
  (void)pid;
  return 0;
}
int run_term_handed(void) { return 0; }
int run_term_hung_up(void) { return 0; }
void run_term_stop_sentinel(void) {}
void run_term_restore(void) {}
#endif
