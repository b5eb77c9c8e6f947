/* SPDX-License-Identifier: MIT */
/*
 * tether_bench: how fast is a tether channel, what does it cost idle, and
 * what do tethered children cost?
 *
 *   tether_bench [--quick] [--json FILE] [--samples N] [--rounds N]
 *                [--warmup N] [--only LIST] [--placement P] [--idle-ms N]
 *                [--no-idle] [--spawns N] [--tree-size N] [--kill-runs N]
 *                [--first-runs N] [--source TEXT]
 *
 * 1. Round trip. Two processes play ping-pong with SIGUSR1: A sends to B,
 *    B's receiver observes it and sends back, A observes the reply. Both
 *    sides use the same mechanism:
 *      tether_wait  tether_channel_wait(ch, &ev, -1)
 *      tether_poll  poll() on tether_channel_handle(), then
 *                   tether_channel_poll() until it returns 0 (the documented
 *                   event-loop idiom)
 *      sigwaitinfo  the signal blocked, sigwaitinfo() (the floor: no handler)
 *      selfpipe     a sigaction handler writes one byte to a non-blocking
 *                   pipe; the loop poll()s, then read()s
 *      libuv        uv_signal_t in a uv loop (callback sends the reply)
 *    Every sample is a fresh pair of processes running `rounds` round trips
 *    after `warmup` untimed ones; A reports the mean per round trip. Variants
 *    are interleaved (A B C D E A B C D E ...) so that drift on the machine
 *    hits all of them alike; the report gives min/median/max over samples
 *    and ratios of medians. Two placements, also interleaved: unpinned (the
 *    main measurement) and both processes pinned to one CPU (on a small VM,
 *    unpinned round trips are dominated by cross-vCPU wake-ups; see
 *    docs/performance.md).
 * 2. Idle. A child opens a channel watching interrupt and terminate and
 *    blocks in tether_channel_wait(); the parent reads the child's context
 *    switches and CPU time across an idle window, then wakes it with SIGTERM.
 *    Memory: RSS and heap added by opening 1 and 100 channels.
 *
 * 3. Tethered children (docs/children.md), each sample in fresh processes:
 *    - spawn + wait of `true` (resolved once on PATH): tether_spawn +
 *      tether_child_wait + tether_child_free (keeper already running),
 *      the same with a PATH search, posix_spawn with a new process group +
 *      waitpid, fork + setpgid + execve + waitpid, libuv uv_spawn + uv_run;
 *      interleaved, unpinned and on one CPU, with the time split into the
 *      start call, the exit seen and the release;
 *    - the first spawn of a fresh process (keeper start) vs its second;
 *    - teardown of a 200-process tree: tether_child_free, or
 *      tether_child_kill + tether_child_wait_tree + free, vs killpg of a
 *      posix_spawn'ed group; until every member is dead (pidfds);
 *    - a middle process SIGKILLed: time until its tethered child and
 *      grandchild are dead (/proc polled every 100 us);
 *    - memory: the keeper (status, smaps_rollup), the program per tethered
 *      child, and the keeper's copy-on-write share of a program's heap.
 *    The bench re-runs itself for the processes these need (hidden modes:
 *    --tree N, --pause, --forker, --middle, --first-spawn K P,
 *    --children-mem N, --keeper-cow MIB).
 *
 * Nothing here asserts a speed: the program reports numbers. It exits
 * non-zero only when a measurement could not be taken.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#include <malloc.h>
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#define BENCH_HAVE_MALLINFO2 1
#endif
#endif

#include "tether.h"

#if defined(TETHER_BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

#ifndef TETHER_BENCH_BUILD_TYPE
#define TETHER_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef TETHER_BENCH_LIB_KIND
#define TETHER_BENCH_LIB_KIND "unknown"
#endif
#ifndef TETHER_BENCH_BACKEND
#define TETHER_BENCH_BACKEND "unknown"
#endif

#if defined(__clang__) || !defined(__GNUC__)
#define BENCH_COMPILER __VERSION__
#else
#define BENCH_COMPILER "gcc " __VERSION__
#endif

#define PING_SIG SIGUSR1
#define CHILD_TIMEOUT_S 300 /* a stuck child dies of SIGALRM */

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static uint64_t now_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = (const char *)buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0 on success, -1 on EOF or error. */
static int read_all(int fd, void *buf, size_t n) {
  char *p = (char *)buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Read a small file into buf (NUL-terminated, trailing newline removed).
 * Uses read(2) rather than stdio so that it allocates nothing. */
static int read_text(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  size_t len = 0;
  if (fd < 0)
    return -1;
  while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
    len += (size_t)n;
  (void)close(fd);
  buf[len] = '\0';
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    buf[--len] = '\0';
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

typedef struct stats {
  double min, median, max;
} stats;

static stats compute_stats(const double *v, int n) {
  stats s;
  double *t = (double *)malloc((size_t)n * sizeof(*t));
  if (t == NULL || n <= 0) {
    free(t);
    s.min = s.median = s.max = 0;
    return s;
  }
  memcpy(t, v, (size_t)n * sizeof(*t));
  qsort(t, (size_t)n, sizeof(*t), cmp_double);
  s.min = t[0];
  s.max = t[n - 1];
  s.median = (n % 2) ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2.0;
  free(t);
  return s;
}

/* ------------------------------------------------------------------------ */
/* Receiving mechanisms (each runs in a fresh child process)                */
/* ------------------------------------------------------------------------ */

enum { V_TETHER_WAIT, V_TETHER_POLL, V_SIGWAIT, V_SELFPIPE, V_LIBUV, V_COUNT };

/* Placements of the processes of a sample (round trip, spawn). */
enum { P_FREE, P_SAME_CPU, P_COUNT };

static pid_t g_peer;         /* the other process of the pair */
static tether_channel *g_ch; /* tether variants */
static int g_pipe[2];        /* self-pipe */
static sigset_t g_set;       /* sigwaitinfo */

/* tether, blocking wait */
static int tether_setup(void) {
  if (tether_channel_new(&g_ch, NULL) < 0)
    return -1;
  return tether_channel_watch(g_ch, TETHER_EVENT_USER1, 0) < 0 ? -1 : 0;
}

static int tether_wait1(void) {
  tether_event ev;
  int r = tether_channel_wait(g_ch, &ev, -1);
  if (r != 1 || ev.kind != TETHER_EVENT_USER1 || ev.count != 1)
    return -1;
  return 0;
}

/* tether, poll() on the handle then tether_channel_poll() until 0 */
static int tether_poll1(void) {
  struct pollfd p;
  tether_event ev;
  uint64_t got = 0;
  int r;
  p.fd = tether_channel_handle(g_ch);
  p.events = POLLIN;
  for (;;) {
    p.revents = 0;
    r = poll(&p, 1, -1);
    if (r < 0 && errno != EINTR)
      return -1;
    while ((r = tether_channel_poll(g_ch, &ev)) == 1)
      got += ev.count;
    if (r < 0)
      return -1;
    if (got != 0)
      return got == 1 ? 0 : -1;
  }
}

/* sigwaitinfo */
static int sigwait_setup(void) {
  sigemptyset(&g_set);
  sigaddset(&g_set, PING_SIG);
  return sigprocmask(SIG_BLOCK, &g_set, NULL);
}

static int sigwait_wait1(void) {
  siginfo_t info;
  int r;
  do
    r = sigwaitinfo(&g_set, &info);
  while (r < 0 && errno == EINTR);
  return r == PING_SIG ? 0 : -1;
}

/* plain self-pipe */
static void selfpipe_handler(int signo) {
  int saved = errno;
  char c = (char)signo;
  ssize_t n = write(g_pipe[1], &c, 1);
  (void)n;
  errno = saved;
}

static int selfpipe_setup(void) {
  struct sigaction sa;
  if (pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = selfpipe_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(PING_SIG, &sa, NULL);
}

static int selfpipe_wait1(void) {
  struct pollfd p;
  char buf[64];
  ssize_t n;
  p.fd = g_pipe[0];
  p.events = POLLIN;
  for (;;) {
    p.revents = 0;
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      return -1;
    n = read(g_pipe[0], buf, sizeof(buf));
    if (n == 1)
      return 0;
    if (n > 1)
      return -1; /* two signals in flight: the protocol broke */
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
  }
}

/* libuv: callback-driven, the idiomatic shape of a uv program */
#if defined(TETHER_BENCH_HAVE_LIBUV)
static uv_loop_t g_loop;
static uv_signal_t g_uvsig;
static long g_uv_seen, g_uv_warm, g_uv_total;
static int g_uv_is_a, g_uv_err;
static uint64_t g_uv_t0, g_uv_t1;

static void uv_on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  g_uv_seen++;
  if (g_uv_is_a) {
    if (g_uv_seen == g_uv_warm)
      g_uv_t0 = now_ns();
    if (g_uv_seen == g_uv_total) {
      g_uv_t1 = now_ns();
      (void)uv_signal_stop(h);
      return;
    }
    if (kill(g_peer, PING_SIG) < 0)
      g_uv_err = 1;
  } else {
    if (kill(g_peer, PING_SIG) < 0)
      g_uv_err = 1;
    if (g_uv_seen == g_uv_total)
      (void)uv_signal_stop(h);
  }
  if (g_uv_err)
    (void)uv_signal_stop(h);
}

static int uv_setup(void) {
  if (uv_loop_init(&g_loop) != 0 || uv_signal_init(&g_loop, &g_uvsig) != 0)
    return -1;
  return uv_signal_start(&g_uvsig, uv_on_signal, PING_SIG) == 0 ? 0 : -1;
}

/* Run the whole exchange; A stores the timed nanoseconds in *ns. */
static int uv_exchange(int is_a, long warm, long rounds, uint64_t *ns) {
  g_uv_is_a = is_a;
  g_uv_warm = warm;
  g_uv_total = warm + rounds;
  g_uv_seen = 0;
  g_uv_err = 0;
  if (is_a) {
    g_uv_t0 = now_ns();
    if (kill(g_peer, PING_SIG) < 0)
      return -1;
  }
  (void)uv_run(&g_loop, UV_RUN_DEFAULT);
  if (g_uv_err || g_uv_seen != g_uv_total)
    return -1;
  if (is_a)
    *ns = g_uv_t1 - g_uv_t0;
  return 0;
}
#endif

typedef struct mech {
  const char *name;  /* JSON key, --only */
  const char *label; /* table */
  const char *what;  /* one line for the JSON */
  int (*setup)(void);
  int (*wait1)(void);
  int available;
} mech;

static const mech g_mech[V_COUNT] = {
    {"tether_wait", "tether wait", "tether_channel_wait(ch, &ev, -1)", tether_setup, tether_wait1,
     1},
    {"tether_poll", "tether poll()",
     "poll() on tether_channel_handle(), then tether_channel_poll() until 0", tether_setup,
     tether_poll1, 1},
    {"sigwaitinfo", "sigwaitinfo", "signal blocked, sigwaitinfo()", sigwait_setup, sigwait_wait1,
     1},
    {"selfpipe", "self-pipe",
     "sigaction handler writes 1 byte to a non-blocking pipe; poll() then read()", selfpipe_setup,
     selfpipe_wait1, 1},
#if defined(TETHER_BENCH_HAVE_LIBUV)
    {"libuv", "libuv", "uv_signal_t in a uv loop; the callback sends the reply", uv_setup, NULL, 1},
#else
    {"libuv", "libuv", "uv_signal_t in a uv loop (libuv not found at build time)", NULL, NULL, 0},
#endif
};

/* ------------------------------------------------------------------------ */
/* One sample: a fresh pair of processes                                    */
/* ------------------------------------------------------------------------ */

/* B: set up, say ready, learn A's pid, answer every ping. */
static int role_b(int v, int ready_fd, int ctl_fd, long total) {
  long i;
  char c = 'r';
  if (g_mech[v].setup() < 0)
    return 10;
  if (write_all(ready_fd, &c, 1) < 0)
    return 11;
  if (read_all(ctl_fd, &g_peer, sizeof(g_peer)) < 0)
    return 12;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (v == V_LIBUV)
    return uv_exchange(0, 0, total, NULL) < 0 ? 13 : 0;
#endif
  for (i = 0; i < total; i++) {
    if (g_mech[v].wait1() < 0)
      return 14;
    if (kill(g_peer, PING_SIG) < 0)
      return 15;
  }
  return 0;
}

/* A: set up, then ping/await `warm + rounds` times, timing the last rounds. */
static int role_a(int v, int res_fd, long warm, long rounds) {
  uint64_t t0 = 0, ns = 0;
  long i;
  if (g_mech[v].setup() < 0)
    return 20;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (v == V_LIBUV) {
    if (uv_exchange(1, warm, rounds, &ns) < 0)
      return 21;
    return write_all(res_fd, &ns, sizeof(ns)) < 0 ? 22 : 0;
  }
#endif
  t0 = now_ns();
  for (i = 0; i < warm + rounds; i++) {
    if (i == warm)
      t0 = now_ns();
    if (kill(g_peer, PING_SIG) < 0)
      return 23;
    if (g_mech[v].wait1() < 0)
      return 24;
  }
  ns = now_ns() - t0;
  return write_all(res_fd, &ns, sizeof(ns)) < 0 ? 22 : 0;
}

static void report_child(const char *who, const char *what, pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) < 0)
    return;
  if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
    fprintf(stderr, "tether_bench: %s %s: child exited with code %d\n", who, what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    fprintf(stderr, "tether_bench: %s %s: child killed by signal %d\n", who, what, WTERMSIG(st));
}

/* Mean microseconds per round trip, or < 0 on failure. */
/* Pin the calling process to one CPU (pin_cpu >= 0). */
static void pin_self(int pin_cpu) {
  cpu_set_t set;
  if (pin_cpu < 0)
    return;
  CPU_ZERO(&set);
  CPU_SET(pin_cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) < 0)
    _exit(9);
}

/* pin_cpu < 0: the scheduler places both processes (the main measurement);
 * otherwise both run on that CPU. */
static double run_sample(int v, long warm, long rounds, int pin_cpu) {
  int ready[2], ctl[2], res[2];
  pid_t pb, pa;
  char c;
  uint64_t ns = 0;
  int ok;
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
    perror("tether_bench: pipe2");
    return -1;
  }
  fflush(NULL);
  pb = fork();
  if (pb < 0) {
    perror("tether_bench: fork");
    return -1;
  }
  if (pb == 0) {
    (void)close(ready[0]);
    (void)close(ctl[1]);
    (void)close(res[0]);
    (void)close(res[1]);
    (void)alarm(CHILD_TIMEOUT_S);
    pin_self(pin_cpu);
    _exit(role_b(v, ready[1], ctl[0], warm + rounds));
  }
  (void)close(ready[1]);
  (void)close(ctl[0]);
  if (read_all(ready[0], &c, 1) < 0) {
    (void)close(ready[0]);
    (void)close(ctl[1]);
    (void)close(res[0]);
    (void)close(res[1]);
    report_child(g_mech[v].name, "receiver setup", pb);
    return -1;
  }
  g_peer = pb;
  pa = fork();
  if (pa < 0) {
    perror("tether_bench: fork");
    (void)kill(pb, SIGKILL);
    (void)waitpid(pb, NULL, 0);
    return -1;
  }
  if (pa == 0) {
    (void)close(ready[0]);
    (void)close(ctl[1]);
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    pin_self(pin_cpu);
    _exit(role_a(v, res[1], warm, rounds));
  }
  (void)close(res[1]);
  ok = write_all(ctl[1], &pa, sizeof(pa)) == 0;
  ok = ok && read_all(res[0], &ns, sizeof(ns)) == 0;
  (void)close(ready[0]);
  (void)close(ctl[1]);
  (void)close(res[0]);
  if (!ok) {
    (void)kill(pb, SIGKILL);
    report_child(g_mech[v].name, "sender", pa);
    (void)waitpid(pb, NULL, 0);
    return -1;
  }
  report_child(g_mech[v].name, "sender", pa);
  report_child(g_mech[v].name, "receiver", pb);
  return (double)ns / 1000.0 / (double)rounds;
}

/* ------------------------------------------------------------------------ */
/* Idle cost                                                                */
/* ------------------------------------------------------------------------ */

typedef struct proc_status {
  long vcsw, ivcsw, threads;
  char state[32];
} proc_status;

static int read_status(pid_t pid, proc_status *st) {
  char path[64], buf[4096], *p;
  (void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
  if (read_text(path, buf, sizeof(buf)) < 0)
    return -1;
  st->vcsw = st->ivcsw = st->threads = -1;
  st->state[0] = '\0';
  if ((p = strstr(buf, "\nvoluntary_ctxt_switches:")) != NULL)
    st->vcsw = strtol(p + 25, NULL, 10);
  if ((p = strstr(buf, "\nnonvoluntary_ctxt_switches:")) != NULL)
    st->ivcsw = strtol(p + 28, NULL, 10);
  if ((p = strstr(buf, "\nThreads:")) != NULL)
    st->threads = strtol(p + 9, NULL, 10);
  if ((p = strstr(buf, "\nState:")) != NULL) {
    size_t i = 0;
    p += 7;
    while (*p == ' ' || *p == '\t')
      p++;
    while (p[i] != '\0' && p[i] != '\n' && i + 1 < sizeof(st->state)) {
      st->state[i] = p[i];
      i++;
    }
    st->state[i] = '\0';
  }
  return (st->vcsw < 0 || st->ivcsw < 0) ? -1 : 0;
}

static int64_t proc_cpu_ns(pid_t pid) {
  clockid_t cid;
  struct timespec ts;
  if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) != 0)
    return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct idle_child_report {
  long vcsw, ivcsw; /* getrusage delta across the whole wait */
  int64_t cpu_ns;   /* CPU time across the whole wait */
  int kind;         /* event that ended the wait */
  int rc;
} idle_child_report;

typedef struct idle_result {
  int ok;
  double window_s;
  long win_vcsw, win_ivcsw, threads;
  int64_t win_cpu_ns;
  char state[32], wchan[64], syscall_nr[16];
  idle_child_report child;
} idle_result;

static void idle_child(int ready_fd, int res_fd) {
  idle_child_report rep;
  struct rusage r0, r1;
  struct timespec c0, c1;
  tether_channel *ch = NULL;
  tether_event ev;
  char c = 'r';
  memset(&rep, 0, sizeof(rep));
  if (tether_channel_new(&ch, NULL) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0) < 0)
    _exit(30);
  if (write_all(ready_fd, &c, 1) < 0)
    _exit(31);
  (void)getrusage(RUSAGE_SELF, &r0);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  rep.rc = tether_channel_wait(ch, &ev, -1);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  (void)getrusage(RUSAGE_SELF, &r1);
  rep.vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
  rep.ivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
  rep.cpu_ns = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec);
  rep.kind = rep.rc == 1 ? ev.kind : 0;
  _exit(write_all(res_fd, &rep, sizeof(rep)) < 0 ? 32 : 0);
}

static idle_result run_idle(int idle_ms) {
  idle_result out;
  int ready[2], res[2];
  pid_t pid;
  char c, path[64];
  proc_status s0, s1;
  int64_t cpu0, cpu1;
  memset(&out, 0, sizeof(out));
  out.window_s = idle_ms / 1000.0;
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
    return out;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return out;
  if (pid == 0) {
    (void)close(ready[0]);
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    idle_child(ready[1], res[1]);
  }
  (void)close(ready[1]);
  (void)close(res[1]);
  if (read_all(ready[0], &c, 1) < 0)
    goto fail;
  sleep_ms(100); /* let it enter the wait */
  if (read_status(pid, &s0) < 0 || (cpu0 = proc_cpu_ns(pid)) < 0)
    goto fail;
  sleep_ms(idle_ms);
  if (read_status(pid, &s1) < 0 || (cpu1 = proc_cpu_ns(pid)) < 0)
    goto fail;
  (void)snprintf(path, sizeof(path), "/proc/%ld/wchan", (long)pid);
  if (read_text(path, out.wchan, sizeof(out.wchan)) < 0)
    out.wchan[0] = '\0';
  (void)snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
  {
    char sc[128];
    if (read_text(path, sc, sizeof(sc)) == 0) {
      size_t i = 0;
      while (sc[i] != '\0' && sc[i] != ' ' && i + 1 < sizeof(out.syscall_nr)) {
        out.syscall_nr[i] = sc[i];
        i++;
      }
      out.syscall_nr[i] = '\0';
    }
  }
  out.win_vcsw = s1.vcsw - s0.vcsw;
  out.win_ivcsw = s1.ivcsw - s0.ivcsw;
  out.win_cpu_ns = cpu1 - cpu0;
  out.threads = s1.threads;
  memcpy(out.state, s1.state, sizeof(out.state));
  if (kill(pid, SIGTERM) < 0 || read_all(res[0], &out.child, sizeof(out.child)) < 0)
    goto fail;
  out.ok = out.child.rc == 1 && out.child.kind == TETHER_EVENT_TERMINATE;
  (void)close(ready[0]);
  (void)close(res[0]);
  report_child("idle", "child", pid);
  return out;
fail:
  (void)kill(pid, SIGKILL);
  (void)close(ready[0]);
  (void)close(res[0]);
  (void)waitpid(pid, NULL, 0);
  out.ok = 0;
  return out;
}

/* ------------------------------------------------------------------------ */
/* Memory per channel                                                       */
/* ------------------------------------------------------------------------ */

typedef struct mem_point {
  long rss_kib;    /* /proc/self/statm resident (file-backed pages too) */
  long anon_kib;   /* /proc/self/status RssAnon: private memory */
  long heap_bytes; /* mallinfo2 in-use bytes, -1 unknown */
  long fds;        /* open descriptors */
} mem_point;

typedef struct mem_result {
  int ok;
  mem_point base, one, hundred;
} mem_result;

static mem_point mem_now(void) {
  mem_point m;
  char buf[256];
  long size = 0, res = 0;
  DIR *d;
  m.rss_kib = -1;
  m.anon_kib = -1;
  m.heap_bytes = -1;
  m.fds = -1;
  if (read_text("/proc/self/statm", buf, sizeof(buf)) == 0 &&
      sscanf(buf, "%ld %ld", &size, &res) == 2)
    m.rss_kib = res * (sysconf(_SC_PAGESIZE) / 1024);
  {
    char st[4096], *p;
    if (read_text("/proc/self/status", st, sizeof(st)) == 0 &&
        (p = strstr(st, "\nRssAnon:")) != NULL)
      m.anon_kib = strtol(p + 9, NULL, 10);
  }
#if defined(BENCH_HAVE_MALLINFO2)
  {
    struct mallinfo2 mi = mallinfo2();
    m.heap_bytes = (long)mi.uordblks;
  }
#endif
  d = opendir("/proc/self/fd");
  if (d != NULL) {
    struct dirent *e;
    long n = 0;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.')
        n++;
    (void)closedir(d);
    m.fds = n - 1; /* the directory's own descriptor */
  }
  return m;
}

static void mem_child(int res_fd) {
  mem_result r;
  tether_channel *ch[100];
  int i;
  memset(&r, 0, sizeof(r));
  (void)mem_now(); /* warm up opendir/readdir's own allocations */
  r.base = mem_now();
  if (tether_channel_new(&ch[0], NULL) < 0)
    _exit(40);
  r.one = mem_now();
  for (i = 1; i < 100; i++)
    if (tether_channel_new(&ch[i], NULL) < 0)
      _exit(41);
  r.hundred = mem_now();
  r.ok = 1;
  for (i = 0; i < 100; i++)
    tether_channel_free(ch[i]);
  _exit(write_all(res_fd, &r, sizeof(r)) < 0 ? 42 : 0);
}

static mem_result run_mem(void) {
  mem_result r;
  int res[2];
  pid_t pid;
  memset(&r, 0, sizeof(r));
  if (pipe2(res, O_CLOEXEC) < 0)
    return r;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return r;
  if (pid == 0) {
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    mem_child(res[1]);
  }
  (void)close(res[1]);
  if (read_all(res[0], &r, sizeof(r)) < 0)
    r.ok = 0;
  (void)close(res[0]);
  report_child("memory", "child", pid);
  return r;
}

/* ------------------------------------------------------------------------ */
/* Tethered children: spawn latency, keeper start, tree teardown, parent   */
/* death, memory                                                            */
/* ------------------------------------------------------------------------ */

/* The bench re-runs itself (g_self) in hidden modes for the programs these
 * measurements need: a tree of sleeping processes, a "middle" process that
 * tether_spawns a child which forks a grandchild, a fresh process that does
 * its first spawns, one that holds 100 live tethered children.
 *
 * Every process that may be left an orphan is re-parented to a bench
 * process made a child subreaper (PR_SET_CHILD_SUBREAPER), which reaps it:
 * nothing is left to init (which may not reap at all, e.g. in containers),
 * and a keeper winding down after a sample has finished before the next
 * sample starts. */

static int parse_long(const char *s, long lo, long *out);

#define TREE_DEFAULT 200
#define TREE_MAX 4096
#define TREE_FANOUT 20    /* the leader's children have 19 children each */
#define KILL_POLL_US 100  /* /proc polling period of the parent-kill test */
#define CMEM_CHILDREN 100 /* live tethered children of the memory test */

static char g_self[PATH_MAX]; /* this executable */
static char g_true[PATH_MAX]; /* "true", resolved once on PATH */

static void sleep_us(long us) {
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = (us % 1000000) * 1000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static void pause_forever(void) {
  for (;;)
    (void)pause();
}

static int resolve_self(void) {
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
  if (n <= 0) {
    g_self[0] = '\0';
    return -1;
  }
  g_self[n] = '\0';
  return 0;
}

/* The first executable `name` on PATH, made canonical (no symlinks). */
static int resolve_on_path(const char *name, char *out, size_t cap) {
  const char *p = getenv("PATH");
  char cand[PATH_MAX];
  if (p == NULL)
    p = "/usr/local/bin:/bin:/usr/bin";
  for (;;) {
    const char *end = strchr(p, ':');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len > 0 && p[0] == '/' && len + strlen(name) + 2 <= sizeof(cand)) {
      memcpy(cand, p, len);
      cand[len] = '/';
      memcpy(cand + len + 1, name, strlen(name) + 1);
      if (access(cand, X_OK) == 0 && realpath(cand, out) != NULL && strlen(out) < cap)
        return 0;
    }
    if (end == NULL)
      break;
    p = end + 1;
  }
  out[0] = '\0';
  return -1;
}

static void become_subreaper(void) {
#if defined(PR_SET_CHILD_SUBREAPER)
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
}

/* Sleep periods as asked (the default timer slack adds 50 us). */
static void fine_timer_slack(void) {
#if defined(PR_SET_TIMERSLACK)
  (void)prctl(PR_SET_TIMERSLACK, 1UL);
#endif
}

/* Reap zombie children without blocking. */
static void reap_zombies(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/* Reap every child, waiting up to max_ms for them to end: orphans handed to
 * this subreaper, e.g. a keeper winding down after its program exited. */
static int reap_strays(int max_ms) {
  uint64_t end = now_ns() + (uint64_t)max_ms * 1000000u;
  for (;;) {
    pid_t p = waitpid(-1, NULL, WNOHANG);
    if (p > 0 || (p < 0 && errno == EINTR))
      continue;
    if (p < 0)
      return 0; /* ECHILD: none left */
    if (now_ns() >= end) {
      fprintf(stderr, "tether_bench: a child is still running after %d ms\n", max_ms);
      return -1;
    }
    sleep_us(200);
  }
}

/* Exit status 0? (-1 otherwise.) */
static int wait_ok(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* posix_spawn `argv` (argv[0] an absolute path) with stdout on `out_fd`
 * (-1: inherited), in a new process group when new_group. */
static int spawn_plain(pid_t *pid, char *const *argv, int out_fd, int new_group) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  int r;
  if (posix_spawnattr_init(&attr) != 0)
    return -1;
  if (posix_spawn_file_actions_init(&fa) != 0) {
    posix_spawnattr_destroy(&attr);
    return -1;
  }
  r = new_group ? posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) : 0;
  if (r == 0 && new_group)
    r = posix_spawnattr_setpgroup(&attr, 0);
  if (r == 0 && out_fd >= 0)
    r = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  if (r == 0)
    r = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return r == 0 ? 0 : -1;
}

/* Growable-free sample series (capacity fixed at allocation). */
typedef struct series {
  double *v;
  int n, cap;
  stats st;
} series;

static int series_alloc(series *s, int cap) {
  memset(s, 0, sizeof(*s));
  s->v = (double *)calloc((size_t)(cap > 0 ? cap : 1), sizeof(double));
  s->cap = cap;
  return s->v != NULL ? 0 : -1;
}

static void series_add(series *s, double x) {
  if (s->n < s->cap)
    s->v[s->n++] = x;
}

static void series_done(series *s) {
  if (s->n > 0)
    s->st = compute_stats(s->v, s->n);
}

/* ---- /proc ---- */

/* Fields of /proc/<pid>/stat after the command name. 0, or -1 when the
 * process does not exist (any more). */
static int proc_stat(pid_t pid, char *state, long *ppid, long *pgrp, long *sid) {
  char path[64], buf[512], *p;
  long a = 0, b = 0, c = 0;
  char s = '?';
  (void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  if (read_text(path, buf, sizeof(buf)) < 0 || buf[0] == '\0')
    return -1;
  p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
  if (p == NULL || sscanf(p + 1, " %c %ld %ld %ld", &s, &a, &b, &c) != 4)
    return -1;
  if (state != NULL)
    *state = s;
  if (ppid != NULL)
    *ppid = a;
  if (pgrp != NULL)
    *pgrp = b;
  if (sid != NULL)
    *sid = c;
  return 0;
}

/* Dead: gone from the table, or a zombie (it runs no more code). */
static int proc_dead(pid_t pid) {
  char st;
  return proc_stat(pid, &st, NULL, NULL, NULL) < 0 || st == 'Z' || st == 'X';
}

/* Living (non-zombie) processes of a group, from /proc (tether's own
 * tether_child_wait_tree() method). */
static int group_live_count(pid_t pgid) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    char st;
    long pg;
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    if (proc_stat((pid_t)atol(e->d_name), &st, NULL, &pg, NULL) == 0 && pg == (long)pgid &&
        st != 'Z' && st != 'X')
      n++;
  }
  (void)closedir(d);
  return n;
}

/* The guard of this process (tether-guard, which holds the tethered
 * children's groups since the spawn redesign; it is not our child): the
 * newest process named tether-guard in our session. `parent` is kept for
 * the callers; the keeper of TETHER_SPAWN_CATCH_ESCAPEES is not measured. */
static pid_t find_keeper(pid_t parent) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  pid_t found = -1;
  unsigned long long newest = 0;
  (void)parent;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    char path[300], buf[1024], *q;
    FILE *f;
    pid_t p;
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    p = (pid_t)atol(e->d_name);
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    f = fopen(path, "r");
    if (f == NULL)
      continue;
    if (fgets(buf, sizeof(buf), f) != NULL && strstr(buf, "(tether-guard)") != NULL &&
        (q = strrchr(buf, ')')) != NULL) {
      /* after ')': state ppid pgrp session ... field 22 is starttime */
      long sid = -1;
      unsigned long long start = 0;
      int i;
      char *tok = strtok(q + 1, " ");
      for (i = 3; tok != NULL; i++, tok = strtok(NULL, " ")) {
        if (i == 6)
          sid = atol(tok);
        if (i == 22) {
          start = strtoull(tok, NULL, 10);
          break;
        }
      }
      if (sid == (long)getsid(0) && start >= newest) {
        newest = start;
        found = p;
      }
    }
    (void)fclose(f);
  }
  (void)closedir(d);
  return found;
}

/* "Name:   123 kB" in a /proc text file; -1 if absent. */
static long proc_kb(const char *text, const char *name) {
  const char *p = text;
  size_t len = strlen(name);
  while ((p = strstr(p, name)) != NULL) {
    if ((p == text || p[-1] == '\n') && p[len] == ':')
      return strtol(p + len + 1, NULL, 10);
    p += len;
  }
  return -1;
}

typedef struct kmem {
  long vmrss, anon, pss, priv; /* KiB; priv = Private_Clean + Private_Dirty */
} kmem;

static kmem proc_mem(pid_t pid) {
  kmem k;
  char path[64], buf[4096];
  k.vmrss = k.anon = k.pss = k.priv = -1;
  (void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
  if (read_text(path, buf, sizeof(buf)) == 0) {
    k.vmrss = proc_kb(buf, "VmRSS");
    k.anon = proc_kb(buf, "RssAnon");
  }
  (void)snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
  if (read_text(path, buf, sizeof(buf)) == 0) {
    long c = proc_kb(buf, "Private_Clean"), dd = proc_kb(buf, "Private_Dirty");
    k.pss = proc_kb(buf, "Pss");
    k.priv = c >= 0 && dd >= 0 ? c + dd : -1;
  }
  return k;
}

static long self_threads(void) {
  proc_status st;
  return read_status(getpid(), &st) == 0 ? st.threads : -1;
}

/* ---- 1. spawn + wait of a trivial program ---- */

enum { S_TETHER, S_TETHER_PATH, S_POSIX, S_FORK, S_LIBUV, S_COUNT };

typedef struct spawn_mech {
  const char *name, *label, *what;
  int available;
} spawn_mech;

static const spawn_mech g_spawn[S_COUNT] = {
    {"spawn_tether", "tether_spawn",
     "tether_spawn(absolute path) + tether_child_wait + tether_child_free; "
     "guard already running (one untimed warm-up spawn per sample)",
     1},
    {"spawn_tether_path", "tether_spawn, PATH search",
     "as spawn_tether with argv[0] = \"true\" (searched on PATH each time)", 1},
    {"spawn_posix", "posix_spawn, new group",
     "posix_spawn(POSIX_SPAWN_SETPGROUP, pgroup 0) + waitpid", 1},
    {"spawn_fork", "fork + setpgid + execve",
     "fork(); setpgid in child and parent; execve; waitpid", 1},
#if defined(TETHER_BENCH_HAVE_LIBUV)
    {"spawn_libuv", "libuv uv_spawn",
     "uv_spawn (no UV_PROCESS_DETACHED, stdio inherited) + uv_run until the "
     "exit callback",
     1},
#else
    {"spawn_libuv", "libuv uv_spawn", "libuv not found at build time", 0},
#endif
};

/* Phases of one spawn, accumulated in nanoseconds: [0] the start call
 * returned, [1] the exit was seen, [2] the child was released (tether:
 * tether_child_free; others: nothing left to do, 0). */
enum { PH_START, PH_EXIT, PH_RELEASE, PH_COUNT };
static const char *const g_phase_name[PH_COUNT] = {"start", "exit_seen", "release"};
static uint64_t g_ph[PH_COUNT];

static int spawn_tether(const char *prog) {
  const char *argv[2];
  tether_child *c = NULL;
  tether_exit st;
  uint64_t t0, t1, t2;
  int r;
  argv[0] = prog;
  argv[1] = NULL;
  t0 = now_ns();
  if (tether_spawn(&c, argv, NULL) < 0)
    return -1;
  t1 = now_ns();
  r = tether_child_wait(c, -1, &st);
  t2 = now_ns();
  tether_child_free(c);
  g_ph[PH_START] += t1 - t0;
  g_ph[PH_EXIT] += t2 - t1;
  g_ph[PH_RELEASE] += now_ns() - t2;
  return r == 1 && st.kind == TETHER_EXIT_CODE && st.code == 0 ? 0 : -1;
}

static int spawn_posix(const char *prog) {
  char *argv[2];
  pid_t pid;
  uint64_t t0, t1;
  int r;
  argv[0] = (char *)prog;
  argv[1] = NULL;
  t0 = now_ns();
  if (spawn_plain(&pid, argv, -1, 1) < 0)
    return -1;
  t1 = now_ns();
  r = wait_ok(pid);
  g_ph[PH_START] += t1 - t0;
  g_ph[PH_EXIT] += now_ns() - t1;
  return r;
}

static int spawn_fork(const char *prog) {
  char *argv[2];
  pid_t pid;
  uint64_t t0, t1;
  int r;
  argv[0] = (char *)prog;
  argv[1] = NULL;
  t0 = now_ns();
  pid = fork();
  if (pid == 0) {
    (void)setpgid(0, 0);
    execve(prog, argv, environ);
    _exit(127);
  }
  if (pid < 0)
    return -1;
  (void)setpgid(pid, pid); /* both sides, as shells do */
  t1 = now_ns();
  r = wait_ok(pid);
  g_ph[PH_START] += t1 - t0;
  g_ph[PH_EXIT] += now_ns() - t1;
  return r;
}

#if defined(TETHER_BENCH_HAVE_LIBUV)
static uv_loop_t g_sp_loop;
static int64_t g_sp_status;
static int g_sp_signal, g_sp_exited;

static void sp_on_exit(uv_process_t *p, int64_t status, int term_signal) {
  g_sp_status = status;
  g_sp_signal = term_signal;
  g_sp_exited = 1;
  uv_close((uv_handle_t *)p, NULL);
}

static int spawn_uv(const char *prog) {
  uv_process_t proc;
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  char *argv[2];
  uint64_t t0, t1;
  int i;
  memset(&po, 0, sizeof(po));
  for (i = 0; i < 3; i++) {
    io[i].flags = UV_INHERIT_FD;
    io[i].data.fd = i;
  }
  argv[0] = (char *)prog;
  argv[1] = NULL;
  po.file = prog;
  po.args = argv;
  po.exit_cb = sp_on_exit;
  po.stdio = io;
  po.stdio_count = 3;
  g_sp_exited = 0;
  t0 = now_ns();
  if (uv_spawn(&g_sp_loop, &proc, &po) != 0) {
    uv_close((uv_handle_t *)&proc, NULL);
    (void)uv_run(&g_sp_loop, UV_RUN_DEFAULT);
    return -1;
  }
  t1 = now_ns();
  (void)uv_run(&g_sp_loop, UV_RUN_DEFAULT);
  g_ph[PH_START] += t1 - t0;
  g_ph[PH_EXIT] += now_ns() - t1;
  return g_sp_exited && g_sp_status == 0 && g_sp_signal == 0 ? 0 : -1;
}
#endif

static int spawn_once(int s) {
  switch (s) {
  case S_TETHER:
    return spawn_tether(g_true);
  case S_TETHER_PATH:
    return spawn_tether("true");
  case S_POSIX:
    return spawn_posix(g_true);
  case S_FORK:
    return spawn_fork(g_true);
#if defined(TETHER_BENCH_HAVE_LIBUV)
  case S_LIBUV:
    return spawn_uv(g_true);
#endif
  default:
    return -1;
  }
}

/* What a spawn sample reports: the timed loop and its phases, ns. */
typedef struct spawn_report {
  uint64_t total, ph[PH_COUNT];
} spawn_report;

/* One sample in a fresh process: `warm` untimed spawns (the first tethered
 * one starts the keeper), then `count` timed ones. */
static int spawn_worker(int s, long warm, long count, int res_fd) {
  spawn_report rep;
  uint64_t t0 = 0;
  long i;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (s == S_LIBUV && uv_loop_init(&g_sp_loop) != 0)
    return 50;
#endif
  t0 = now_ns();
  for (i = 0; i < warm + count; i++) {
    if (i == warm) {
      memset(g_ph, 0, sizeof(g_ph));
      t0 = now_ns();
    }
    if (spawn_once(s) < 0)
      return 51;
  }
  rep.total = now_ns() - t0;
  memcpy(rep.ph, g_ph, sizeof(rep.ph));
  return write_all(res_fd, &rep, sizeof(rep)) < 0 ? 52 : 0;
}

/* Mean microseconds per spawn of one sample (and per phase in ph_us), or
 * < 0 on failure. */
static double spawn_sample(int s, long warm, long count, int pin_cpu, double *ph_us) {
  int res[2], ok, k;
  spawn_report rep;
  pid_t pid;
  if (pipe2(res, O_CLOEXEC) < 0)
    return -1;
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    (void)close(res[0]);
    (void)close(res[1]);
    return -1;
  }
  if (pid == 0) {
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    pin_self(pin_cpu);
    _exit(spawn_worker(s, warm, count, res[1]));
  }
  (void)close(res[1]);
  ok = read_all(res[0], &rep, sizeof(rep)) == 0;
  (void)close(res[0]);
  report_child(g_spawn[s].name, "sample", pid);
  (void)reap_strays(5000); /* its keeper, winding down */
  if (!ok)
    return -1;
  for (k = 0; k < PH_COUNT; k++)
    ph_us[k] = (double)rep.ph[k] / 1000.0 / (double)count;
  return (double)rep.total / 1000.0 / (double)count;
}

/* ---- keeper start: the first spawn in a fresh process ---- */

/* Hidden mode: two spawn + wait of prog, timed; writes both durations. */
static int hidden_first_spawn(const char *kind, const char *prog) {
  uint64_t t[3], out[2];
  int tether = strcmp(kind, "tether") == 0;
  (void)alarm(CHILD_TIMEOUT_S);
  t[0] = now_ns();
  if ((tether ? spawn_tether(prog) : spawn_posix(prog)) < 0)
    return 60;
  t[1] = now_ns();
  if ((tether ? spawn_tether(prog) : spawn_posix(prog)) < 0)
    return 61;
  t[2] = now_ns();
  out[0] = t[1] - t[0];
  out[1] = t[2] - t[1];
  return write_all(1, out, sizeof(out)) < 0 ? 62 : 0;
}

/* Run the hidden mode in a fresh process (exec of this binary); first and
 * second spawn in microseconds. */
static int first_spawn_run(const char *kind, double *first, double *second) {
  char *argv[5];
  int p[2], ok;
  uint64_t out[2];
  pid_t pid;
  argv[0] = g_self;
  argv[1] = (char *)"--first-spawn";
  argv[2] = (char *)kind;
  argv[3] = g_true;
  argv[4] = NULL;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (spawn_plain(&pid, argv, p[1], 0) < 0) {
    (void)close(p[0]);
    (void)close(p[1]);
    return -1;
  }
  (void)close(p[1]);
  ok = read_all(p[0], out, sizeof(out)) == 0;
  (void)close(p[0]);
  ok = wait_ok(pid) == 0 && ok;
  (void)reap_strays(5000);
  *first = (double)out[0] / 1000.0;
  *second = (double)out[1] / 1000.0;
  return ok ? 0 : -1;
}

/* ---- 2. teardown of a process tree ---- */

enum { T_FREE, T_WAIT_TREE, T_RAW, T_COUNT };

typedef struct tree_mech {
  const char *name, *label, *what, *phase;
} tree_mech;

static const tree_mech g_tree[T_COUNT] = {
    {"tether_free", "tether_child_free",
     "tether_spawn'ed tree; tether_child_free(), then every member seen dead "
     "(zombie or gone)",
     "tether_child_free returned"},
    {"tether_kill_wait_tree", "kill + wait_tree + free",
     "tether_spawn'ed tree; tether_child_kill + tether_child_wait_tree(-1) + "
     "tether_child_free (the library says it is gone)",
     "tether_child_wait_tree returned"},
    {"raw_killpg", "raw: killpg + waitpid",
     "posix_spawn(SETPGROUP) tree; killpg(SIGKILL) + waitpid(leader), then "
     "every member seen dead",
     "leader reaped"},
};

static pid_t g_tree_pids[TREE_MAX];
static struct pollfd g_tree_pfd[TREE_MAX];

/* Hidden mode --tree N: this process (already leading a group of its own)
 * forks N-1 sleeping processes: children of it, each with up to
 * TREE_FANOUT-1 children of its own. Then it writes N and the N pids
 * (itself first) to stdout as int32, and sleeps. */
static int hidden_tree(long n) {
  int p[2];
  long made = 1, got = 0;
  int32_t cnt = (int32_t)n, pid32;
  (void)alarm(CHILD_TIMEOUT_S);
  if (n < 1 || n > TREE_MAX || pipe(p) < 0)
    return 70;
  g_tree_pids[0] = getpid();
  while (made < n) {
    long gc = n - made - 1, j;
    pid_t c;
    if (gc > TREE_FANOUT - 1)
      gc = TREE_FANOUT - 1;
    c = fork();
    if (c < 0)
      return 71;
    if (c == 0) {
      (void)close(p[0]);
      (void)alarm(CHILD_TIMEOUT_S);
      for (j = 0; j < gc; j++) {
        pid_t g = fork();
        if (g == 0) {
          (void)alarm(CHILD_TIMEOUT_S);
          pid32 = (int32_t)getpid();
          (void)write_all(p[1], &pid32, sizeof(pid32));
          pause_forever();
        }
        if (g < 0) {
          pid32 = -1;
          (void)write_all(p[1], &pid32, sizeof(pid32));
          _exit(1);
        }
      }
      pid32 = (int32_t)getpid();
      (void)write_all(p[1], &pid32, sizeof(pid32));
      pause_forever();
    }
    made += 1 + gc;
  }
  (void)close(p[1]);
  while (got < n - 1) {
    if (read_all(p[0], &pid32, sizeof(pid32)) < 0 || pid32 <= 0)
      return 72;
    g_tree_pids[1 + got++] = (pid_t)pid32;
  }
  if (write_all(1, &cnt, sizeof(cnt)) < 0)
    return 73;
  for (got = 0; got < n; got++) {
    pid32 = (int32_t)g_tree_pids[got];
    if (write_all(1, &pid32, sizeof(pid32)) < 0)
      return 73;
  }
  pause_forever();
  return 0;
}

/* Start a tree of n processes the way variant v does; fills g_tree_pids. */
static int tree_start(int v, long n, tether_child **c, pid_t *leader) {
  char nbuf[32];
  const char *argv[4];
  int p[2], ok;
  int32_t cnt = 0, pid32;
  long i;
  (void)snprintf(nbuf, sizeof(nbuf), "%ld", n);
  argv[0] = g_self;
  argv[1] = "--tree";
  argv[2] = nbuf;
  argv[3] = NULL;
  *c = NULL;
  *leader = -1;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (v == T_RAW) {
    if (spawn_plain(leader, (char *const *)argv, p[1], 1) < 0)
      *leader = -1;
  } else {
    tether_spawn_options so;
    tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
    so.flags = TETHER_SPAWN_NO_SEARCH;
    so.stdio[1].mode = TETHER_STDIO_HANDLE;
    so.stdio[1].handle = p[1];
    if (tether_spawn(c, argv, &so) == 0)
      *leader = (pid_t)tether_child_pid(*c);
  }
  (void)close(p[1]);
  ok = *leader > 0 && read_all(p[0], &cnt, sizeof(cnt)) == 0 && cnt == (int32_t)n;
  for (i = 0; ok && i < n; i++) {
    ok = read_all(p[0], &pid32, sizeof(pid32)) == 0;
    g_tree_pids[i] = (pid_t)pid32;
  }
  (void)close(p[0]);
  if (ok && g_tree_pids[0] == *leader)
    return 0;
  fprintf(stderr, "tether_bench: %s: the tree did not start\n", g_tree[v].name);
  if (*c != NULL)
    tether_child_free(*c);
  else if (*leader > 0) {
    (void)kill(-*leader, SIGKILL);
    (void)waitpid(*leader, NULL, 0);
  }
  *c = NULL;
  return -1;
}

/* Open a pidfd per member (untimed). 1 if pidfds are used, 0 for the /proc
 * fallback (kernel before 5.3). */
static int tree_open(long n) {
#if defined(SYS_pidfd_open)
  long i;
  for (i = 0; i < n; i++) {
    long fd = syscall(SYS_pidfd_open, (long)g_tree_pids[i], 0L);
    if (fd < 0) {
      while (i-- > 0)
        (void)close(g_tree_pfd[i].fd);
      return 0;
    }
    g_tree_pfd[i].fd = (int)fd;
    g_tree_pfd[i].events = POLLIN;
    g_tree_pfd[i].revents = 0;
  }
  return 1;
#else
  (void)n;
  return 0;
#endif
}

/* Wait until every member is dead (a zombie or gone): a pidfd turns
 * readable when its process exits; without pidfds, /proc is polled every
 * 100 us. Closes the pidfds. 0, or -1 after 10 s. */
static int tree_wait_dead(long n, int pidfds) {
  uint64_t end = now_ns() + 10000000000u;
  long live = n, i;
  if (!pidfds) {
    for (i = 0; i < n; i++)
      while (!proc_dead(g_tree_pids[i])) {
        if (now_ns() >= end)
          return -1;
        sleep_us(100);
      }
    return 0;
  }
  while (live > 0) {
    int r = poll(g_tree_pfd, (nfds_t)live, 1000);
    if (r < 0 && errno != EINTR)
      break;
    for (i = 0; i < live;) {
      if (g_tree_pfd[i].revents != 0) {
        (void)close(g_tree_pfd[i].fd);
        g_tree_pfd[i] = g_tree_pfd[--live];
      } else {
        i++;
      }
    }
    if (now_ns() >= end)
      break;
  }
  for (i = 0; i < live; i++)
    (void)close(g_tree_pfd[i].fd);
  return live == 0 ? 0 : -1;
}

/* One teardown; *ms = from the first call until the tree is known dead,
 * *phase_ms = until the first call returned. */
static int tree_sample(int v, long n, double *ms, double *phase_ms) {
  tether_child *c;
  pid_t leader;
  uint64_t t0, t1 = 0, t2;
  int pidfds, ok = 1;
  if (tree_start(v, n, &c, &leader) < 0)
    return -1;
  pidfds = tree_open(n);
  t0 = now_ns();
  switch (v) {
  case T_FREE:
    tether_child_free(c);
    t1 = now_ns();
    ok = tree_wait_dead(n, pidfds) == 0;
    break;
  case T_WAIT_TREE:
    ok = tether_child_kill(c) == 0;
    ok = tether_child_wait_tree(c, 10000) == 1 && ok;
    t1 = now_ns();
    tether_child_free(c);
    break;
  default:
    ok = kill(-leader, SIGKILL) == 0;
    ok = waitpid(leader, NULL, 0) == leader && ok;
    t1 = now_ns();
    ok = tree_wait_dead(n, pidfds) == 0 && ok;
    break;
  }
  t2 = now_ns();
  /* Checks, untimed: every member dead, nothing left in the group. */
  if (v == T_WAIT_TREE)
    ok = tree_wait_dead(n, pidfds) == 0 && ok;
  if (group_live_count(leader) != 0) {
    fprintf(stderr, "tether_bench: %s: the group is not empty\n", g_tree[v].name);
    ok = 0;
  }
  reap_zombies();
  *ms = (double)(t2 - t0) / 1e6;
  *phase_ms = (double)(t1 - t0) / 1e6;
  return ok ? 0 : -1;
}

/* The whole teardown measurement in one process (a subreaper, so that it
 * reaps the raw trees' orphans), variants interleaved. Writes, per sample
 * and variant, the two durations (-1 for a failed sample). */
static int tree_worker(int samples, long n, int res_fd) {
  int s, v;
  double ms, ph, out[2];
  become_subreaper();
  /* Warm-up, untimed: starts the keeper, faults in the tree code. */
  if (tree_sample(T_FREE, n, &ms, &ph) < 0 || tree_sample(T_RAW, n, &ms, &ph) < 0)
    return 80;
  for (s = 0; s < samples; s++)
    for (v = 0; v < T_COUNT; v++) {
      if (tree_sample(v, n, &out[0], &out[1]) < 0)
        out[0] = out[1] = -1;
      if (write_all(res_fd, out, sizeof(out)) < 0)
        return 81;
    }
  return 0;
}

/* ---- 3. parent SIGKILL -> descendants dead ---- */

/* Hidden mode --forker: fork a grandchild, report (self, grandchild,
 * parent = the keeper) on stdout, sleep. */
static int hidden_forker(void) {
  int32_t v[3];
  pid_t g;
  (void)alarm(CHILD_TIMEOUT_S);
  g = fork();
  if (g == 0) {
    (void)alarm(CHILD_TIMEOUT_S);
    pause_forever();
  }
  v[0] = (int32_t)getpid();
  v[1] = (int32_t)g;
  v[2] = (int32_t)getppid();
  if (g < 0 || write_all(1, v, sizeof(v)) < 0)
    return 90;
  pause_forever();
  return 0;
}

/* Hidden mode --middle: tether_spawn this binary as --forker (stdout
 * inherited), then sleep until killed. */
static int hidden_middle(void) {
  const char *argv[3];
  tether_child *c = NULL;
  tether_spawn_options so;
  (void)alarm(CHILD_TIMEOUT_S);
  argv[0] = g_self;
  argv[1] = "--forker";
  argv[2] = NULL;
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.flags = TETHER_SPAWN_NO_SEARCH;
  if (tether_spawn(&c, argv, &so) < 0) {
    int32_t bad[3] = {-1, -1, -1};
    (void)write_all(1, bad, sizeof(bad));
    return 91;
  }
  pause_forever();
  return 0;
}

typedef struct kill_run {
  double child_ms, grandchild_ms, keeper_ms; /* keeper: -1 if not seen gone */
} kill_run;

/* One run: start a middle, SIGKILL it once its grandchild reported, poll
 * /proc every KILL_POLL_US until the child and grandchild are dead (and
 * the keeper, for at most 2 s more). */
static int kill_once(kill_run *out) {
  char *argv[3];
  int p[2], ok, done[3] = {0, 0, 0}, i;
  int32_t pids[3];
  double at[3] = {-1, -1, -1};
  pid_t mid;
  uint64_t t0, t;
  argv[0] = g_self;
  argv[1] = (char *)"--middle";
  argv[2] = NULL;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (spawn_plain(&mid, argv, p[1], 0) < 0) {
    (void)close(p[0]);
    (void)close(p[1]);
    return -1;
  }
  (void)close(p[1]);
  ok = read_all(p[0], pids, sizeof(pids)) == 0 && pids[0] > 0 && pids[1] > 0 && pids[2] > 0;
  (void)close(p[0]);
  t0 = now_ns();
  (void)kill(mid, SIGKILL);
  for (;;) {
    t = now_ns();
    for (i = 0; ok && i < 3; i++)
      if (!done[i] && proc_dead((pid_t)pids[i])) {
        done[i] = 1;
        at[i] = (double)(t - t0) / 1e6;
      }
    if (!ok || (done[0] && done[1] && (done[2] || t - t0 > 2000000000u)))
      break;
    if (t - t0 > 10000000000u) {
      fprintf(stderr, "tether_bench: parent kill: descendants alive after 10 s\n");
      ok = 0;
      for (i = 0; i < 2; i++)
        if (pids[i] > 0)
          (void)kill((pid_t)pids[i], SIGKILL);
      break;
    }
    sleep_us(KILL_POLL_US);
  }
  (void)waitpid(mid, NULL, 0);
  (void)reap_strays(5000); /* the keeper, re-parented to this subreaper */
  out->child_ms = at[0];
  out->grandchild_ms = at[1];
  out->keeper_ms = at[2];
  return ok ? 0 : -1;
}

static int kill_worker(int runs, int res_fd) {
  int r;
  kill_run k;
  become_subreaper();
  fine_timer_slack();
  for (r = 0; r < runs; r++) {
    if (kill_once(&k) < 0)
      k.child_ms = k.grandchild_ms = k.keeper_ms = -2;
    if (write_all(res_fd, &k, sizeof(k)) < 0)
      return 95;
  }
  return 0;
}

/* ---- memory: the keeper, and per tethered child in the parent ---- */

typedef struct cmem_result {
  int ok;
  long n;
  mem_point base, one, all; /* this process: before, 1 child, n children */
  long thr_base, thr_one, thr_all;
  kmem keeper_one, keeper_all, self_one;
} cmem_result;

/* Hidden mode --children-mem N: hold N live tethered children (this binary
 * in --pause mode, stdio on /dev/null); write a cmem_result to stdout. */
static int hidden_children_mem(long n) {
  static tether_child *kids[1000];
  const char *argv[3];
  tether_spawn_options so;
  cmem_result r;
  pid_t keeper;
  long i;
  (void)alarm(CHILD_TIMEOUT_S);
  if (n < 2 || n > 1000)
    return 100;
  memset(&r, 0, sizeof(r));
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.flags = TETHER_SPAWN_NO_SEARCH;
  for (i = 0; i < 3; i++)
    so.stdio[i].mode = TETHER_STDIO_NULL;
  argv[0] = g_self;
  argv[1] = "--pause";
  argv[2] = NULL;
  r.n = n;
  (void)mem_now(); /* warm up opendir/readdir's own allocations */
  r.base = mem_now();
  r.thr_base = self_threads();
  if (tether_spawn(&kids[0], argv, &so) < 0)
    return 101;
  r.one = mem_now();
  r.thr_one = self_threads();
  keeper = find_keeper(getpid());
  if (keeper < 0)
    return 102;
  r.keeper_one = proc_mem(keeper);
  r.self_one = proc_mem(getpid());
  for (i = 1; i < n; i++)
    if (tether_spawn(&kids[i], argv, &so) < 0)
      return 103;
  r.all = mem_now();
  r.thr_all = self_threads();
  r.keeper_all = proc_mem(keeper);
  r.ok = 1;
  for (i = 0; i < n; i++)
    tether_child_free(kids[i]);
  return write_all(1, &r, sizeof(r)) < 0 ? 104 : 0;
}

/* The keeper is a fork that never execs: it maps the program's memory of
 * the moment of the first spawn, copy-on-write. Every page the program
 * writes afterwards is copied for the program, and the old one stays with
 * the keeper alone. This measures that with a program holding `mib` MiB of
 * written heap at its first spawn, which it then rewrites. */
typedef struct cow_result {
  int ok;
  long mib;
  kmem self_before, keeper_spawned, keeper_rewritten;
  double write_before_ms, write_after_ms; /* rewriting the heap, program */
  double first_spawn_ms;                  /* tether_spawn, keeper start */
} cow_result;

/* Write every byte of p (volatile: not a dead store before free). */
static void scribble(unsigned char *p, size_t len, unsigned char v) {
  volatile unsigned char *q = p;
  size_t i;
  for (i = 0; i < len; i++)
    q[i] = v;
}

/* Hidden mode --keeper-cow MIB. */
static int hidden_keeper_cow(long mib) {
  const char *argv[3];
  tether_spawn_options so;
  tether_child *c = NULL;
  cow_result r;
  size_t len = (size_t)mib << 20;
  unsigned char *ballast;
  pid_t keeper;
  int i;
  (void)alarm(CHILD_TIMEOUT_S);
  memset(&r, 0, sizeof(r));
  r.mib = mib;
  ballast = (unsigned char *)malloc(len);
  if (ballast == NULL)
    return 110;
  uint64_t t0;
  scribble(ballast, len, 1);
  t0 = now_ns();
  scribble(ballast, len, 3);
  r.write_before_ms = (double)(now_ns() - t0) / 1e6;
  r.self_before = proc_mem(getpid());
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.flags = TETHER_SPAWN_NO_SEARCH;
  for (i = 0; i < 3; i++)
    so.stdio[i].mode = TETHER_STDIO_NULL;
  argv[0] = g_self;
  argv[1] = "--pause";
  argv[2] = NULL;
  t0 = now_ns();
  if (tether_spawn(&c, argv, &so) < 0)
    return 111;
  r.first_spawn_ms = (double)(now_ns() - t0) / 1e6;
  keeper = find_keeper(getpid());
  if (keeper < 0)
    return 112;
  r.keeper_spawned = proc_mem(keeper);
  t0 = now_ns();
  scribble(ballast, len, 2); /* the program goes on writing its memory */
  r.write_after_ms = (double)(now_ns() - t0) / 1e6;
  r.keeper_rewritten = proc_mem(keeper);
  r.ok = 1;
  tether_child_free(c);
  free(ballast);
  return write_all(1, &r, sizeof(r)) < 0 ? 113 : 0;
}

/* Run a hidden mode `mode arg` in a fresh process; read `size` bytes of
 * result from its stdout. 0 or -1. */
static int run_hidden(const char *mode, long arg, void *out, size_t size) {
  char nbuf[32], *argv[4];
  int p[2], ok;
  pid_t pid;
  (void)snprintf(nbuf, sizeof(nbuf), "%ld", arg);
  argv[0] = g_self;
  argv[1] = (char *)mode;
  argv[2] = nbuf;
  argv[3] = NULL;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (spawn_plain(&pid, argv, p[1], 0) < 0) {
    (void)close(p[0]);
    (void)close(p[1]);
    return -1;
  }
  (void)close(p[1]);
  ok = read_all(p[0], out, size) == 0;
  (void)close(p[0]);
  ok = wait_ok(pid) == 0 && ok;
  (void)reap_strays(5000);
  return ok ? 0 : -1;
}

/* ---- running it all ---- */

/* Items of --only besides the round-trip variants (bits V_COUNT...). */
#define B_SPAWN(s) (1u << (V_COUNT + (s)))
#define B_FIRST (1u << (V_COUNT + S_COUNT))
#define B_TREE (1u << (V_COUNT + S_COUNT + 1))
#define B_KILL (1u << (V_COUNT + S_COUNT + 2))
#define B_CMEM (1u << (V_COUNT + S_COUNT + 3))
#define B_IDLE (1u << (V_COUNT + S_COUNT + 4))
#define B_ALL ((B_IDLE << 1) - 1u)
#define B_ROUNDTRIP ((1u << V_COUNT) - 1u)
#define B_SPAWN_ALL (B_FIRST - B_SPAWN(0))
#define B_CHILDREN (B_IDLE - B_SPAWN(0))

typedef struct child_opts {
  unsigned only;
  unsigned places;
  int samples, first_cpu;
  long spawns, spawn_warmup, tree_n, kill_runs, first_runs, cow_mib;
} child_opts;

typedef struct child_results {
  int have_self, have_true;
  int spawn_done, first_done, tree_done, kill_done, cmem_done;
  series spawn[P_COUNT][S_COUNT];
  series spawn_ph[P_COUNT][S_COUNT][PH_COUNT];
  series t_first, t_second, keeper_start, p_first, p_second, p_cold;
  series tree[T_COUNT], tree_phase[T_COUNT];
  int tree_pidfd;
  series k_child, k_grandchild, k_last, k_keeper;
  int kill_failed;
  cmem_result cmem;
  cow_result cow;
} child_results;

static int run_children(const child_opts *co, child_results *cr) {
  int s, v, p, i, k, failed = 0;
  unsigned want = co->only & B_CHILDREN;
  if (want == 0)
    return 0;
  cr->have_self = resolve_self() == 0;
  cr->have_true = resolve_on_path("true", g_true, sizeof(g_true)) == 0;
  if (!cr->have_self || !cr->have_true) {
    fprintf(stderr, "tether_bench: children: cannot find %s\n",
            cr->have_self ? "\"true\" on PATH" : "/proc/self/exe");
    return 1;
  }
  become_subreaper();
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < S_COUNT; v++) {
      if (series_alloc(&cr->spawn[p][v], co->samples) < 0)
        return 1;
      for (k = 0; k < PH_COUNT; k++)
        if (series_alloc(&cr->spawn_ph[p][v][k], co->samples) < 0)
          return 1;
    }
  for (v = 0; v < T_COUNT; v++)
    if (series_alloc(&cr->tree[v], co->samples) < 0 ||
        series_alloc(&cr->tree_phase[v], co->samples) < 0)
      return 1;
  if (series_alloc(&cr->t_first, (int)co->first_runs) < 0 ||
      series_alloc(&cr->t_second, (int)co->first_runs) < 0 ||
      series_alloc(&cr->keeper_start, (int)co->first_runs) < 0 ||
      series_alloc(&cr->p_first, (int)co->first_runs) < 0 ||
      series_alloc(&cr->p_second, (int)co->first_runs) < 0 ||
      series_alloc(&cr->p_cold, (int)co->first_runs) < 0 ||
      series_alloc(&cr->k_child, (int)co->kill_runs) < 0 ||
      series_alloc(&cr->k_grandchild, (int)co->kill_runs) < 0 ||
      series_alloc(&cr->k_last, (int)co->kill_runs) < 0 ||
      series_alloc(&cr->k_keeper, (int)co->kill_runs) < 0)
    return 1;

  /* 1. Spawn + wait, interleaved over variants and placements. */
  if (want & B_SPAWN_ALL) {
    for (s = 0; s < co->samples; s++) {
      fprintf(stderr, "tether_bench: spawn pass %d/%d\n", s + 1, co->samples);
      for (p = 0; p < P_COUNT; p++) {
        if (!(co->places & (1u << p)))
          continue;
        for (v = 0; v < S_COUNT; v++) {
          double us, ph[PH_COUNT];
          if (!(want & B_SPAWN(v)) || !g_spawn[v].available)
            continue;
          us = spawn_sample(v, co->spawn_warmup, co->spawns, p == P_SAME_CPU ? co->first_cpu : -1,
                            ph);
          if (us < 0) {
            fprintf(stderr, "tether_bench: %s: sample %d failed\n", g_spawn[v].name, s + 1);
            failed = 1;
            continue;
          }
          series_add(&cr->spawn[p][v], us);
          for (k = 0; k < PH_COUNT; k++)
            series_add(&cr->spawn_ph[p][v][k], ph[k]);
        }
      }
    }
    for (p = 0; p < P_COUNT; p++)
      for (v = 0; v < S_COUNT; v++) {
        series_done(&cr->spawn[p][v]);
        for (k = 0; k < PH_COUNT; k++)
          series_done(&cr->spawn_ph[p][v][k]);
      }
    cr->spawn_done = 1;
  }

  /* Keeper start: first spawns in fresh processes, tether and plain
   * posix_spawn interleaved. */
  if (want & B_FIRST) {
    fprintf(stderr, "tether_bench: first spawn, %ld fresh processes each\n", co->first_runs);
    for (i = 0; i < co->first_runs; i++) {
      double a, b;
      if (first_spawn_run("tether", &a, &b) < 0) {
        failed = 1;
      } else {
        series_add(&cr->t_first, a);
        series_add(&cr->t_second, b);
        series_add(&cr->keeper_start, a - b);
      }
      if (first_spawn_run("posix", &a, &b) < 0) {
        failed = 1;
      } else {
        series_add(&cr->p_first, a);
        series_add(&cr->p_second, b);
        series_add(&cr->p_cold, a - b);
      }
    }
    series_done(&cr->t_first);
    series_done(&cr->t_second);
    series_done(&cr->keeper_start);
    series_done(&cr->p_first);
    series_done(&cr->p_second);
    series_done(&cr->p_cold);
    cr->first_done = 1;
  }

  /* 2. Tree teardown, in one worker. */
  if (want & B_TREE) {
    int res[2];
    pid_t pid;
    fprintf(stderr, "tether_bench: teardown of a %ld-process tree, %d samples\n", co->tree_n,
            co->samples);
    cr->tree_pidfd = 0;
#if defined(SYS_pidfd_open)
    {
      long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);
      if (fd >= 0) {
        cr->tree_pidfd = 1;
        (void)close((int)fd);
      }
    }
#endif
    if (pipe2(res, O_CLOEXEC) == 0) {
      fflush(NULL);
      pid = fork();
      if (pid == 0) {
        (void)close(res[0]);
        (void)alarm(CHILD_TIMEOUT_S);
        _exit(tree_worker(co->samples, co->tree_n, res[1]));
      }
      (void)close(res[1]);
      for (s = 0; pid > 0 && s < co->samples; s++)
        for (v = 0; v < T_COUNT; v++) {
          double out[2];
          if (read_all(res[0], out, sizeof(out)) < 0) {
            failed = 1;
            s = co->samples;
            break;
          }
          if (out[0] < 0) {
            fprintf(stderr, "tether_bench: %s: sample %d failed\n", g_tree[v].name, s + 1);
            failed = 1;
            continue;
          }
          series_add(&cr->tree[v], out[0]);
          series_add(&cr->tree_phase[v], out[1]);
        }
      (void)close(res[0]);
      if (pid > 0)
        report_child("teardown", "worker", pid);
      else
        failed = 1;
      (void)reap_strays(5000);
    } else {
      failed = 1;
    }
    for (v = 0; v < T_COUNT; v++) {
      series_done(&cr->tree[v]);
      series_done(&cr->tree_phase[v]);
    }
    cr->tree_done = 1;
  }

  /* 3. Parent SIGKILL. */
  if (want & B_KILL) {
    int res[2];
    pid_t pid;
    fprintf(stderr, "tether_bench: parent SIGKILL, %ld runs\n", co->kill_runs);
    if (pipe2(res, O_CLOEXEC) == 0) {
      fflush(NULL);
      pid = fork();
      if (pid == 0) {
        (void)close(res[0]);
        (void)alarm(CHILD_TIMEOUT_S);
        _exit(kill_worker((int)co->kill_runs, res[1]));
      }
      (void)close(res[1]);
      for (i = 0; pid > 0 && i < co->kill_runs; i++) {
        kill_run kr;
        if (read_all(res[0], &kr, sizeof(kr)) < 0) {
          failed = 1;
          break;
        }
        if (kr.child_ms < 0 || kr.grandchild_ms < 0) {
          cr->kill_failed++;
          failed = 1;
          continue;
        }
        series_add(&cr->k_child, kr.child_ms);
        series_add(&cr->k_grandchild, kr.grandchild_ms);
        series_add(&cr->k_last, kr.child_ms > kr.grandchild_ms ? kr.child_ms : kr.grandchild_ms);
        if (kr.keeper_ms >= 0)
          series_add(&cr->k_keeper, kr.keeper_ms);
      }
      (void)close(res[0]);
      if (pid > 0)
        report_child("parent kill", "worker", pid);
      else
        failed = 1;
      (void)reap_strays(5000);
    } else {
      failed = 1;
    }
    series_done(&cr->k_child);
    series_done(&cr->k_grandchild);
    series_done(&cr->k_last);
    series_done(&cr->k_keeper);
    cr->kill_done = 1;
  }

  if (want & B_CMEM) {
    fprintf(stderr, "tether_bench: keeper and per-child memory\n");
    if (run_hidden("--children-mem", CMEM_CHILDREN, &cr->cmem, sizeof(cr->cmem)) < 0)
      cr->cmem.ok = 0;
    if (run_hidden("--keeper-cow", co->cow_mib, &cr->cow, sizeof(cr->cow)) < 0)
      cr->cow.ok = 0;
    cr->cmem_done = 1;
    if (!cr->cmem.ok || !cr->cow.ok) {
      fprintf(stderr, "tether_bench: children memory measurement failed\n");
      failed = 1;
    }
  }
  return failed;
}

static void free_children(child_results *cr) {
  int p, v, k;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < S_COUNT; v++) {
      free(cr->spawn[p][v].v);
      for (k = 0; k < PH_COUNT; k++)
        free(cr->spawn_ph[p][v][k].v);
    }
  for (v = 0; v < T_COUNT; v++) {
    free(cr->tree[v].v);
    free(cr->tree_phase[v].v);
  }
  free(cr->t_first.v);
  free(cr->t_second.v);
  free(cr->keeper_start.v);
  free(cr->p_first.v);
  free(cr->p_second.v);
  free(cr->p_cold.v);
  free(cr->k_child.v);
  free(cr->k_grandchild.v);
  free(cr->k_last.v);
  free(cr->k_keeper.v);
}

/* The hidden modes; -1 when argv is not one of them. */
static int hidden_main(int argc, char **argv) {
  long n;
  if (argc < 2)
    return -1;
  if (strcmp(argv[1], "--tree") == 0 && argc == 3 && parse_long(argv[2], 1, &n) == 0)
    return hidden_tree(n);
  if (strcmp(argv[1], "--pause") == 0) {
    (void)alarm(CHILD_TIMEOUT_S);
    pause_forever();
  }
  if (strcmp(argv[1], "--forker") == 0)
    return hidden_forker();
  if (strcmp(argv[1], "--middle") == 0)
    return resolve_self() < 0 ? 2 : hidden_middle();
  if (strcmp(argv[1], "--first-spawn") == 0 && argc == 4)
    return hidden_first_spawn(argv[2], argv[3]);
  if (strcmp(argv[1], "--children-mem") == 0 && argc == 3 && parse_long(argv[2], 2, &n) == 0)
    return resolve_self() < 0 ? 2 : hidden_children_mem(n);
  if (strcmp(argv[1], "--keeper-cow") == 0 && argc == 3 && parse_long(argv[2], 1, &n) == 0 &&
      n <= 4096)
    return resolve_self() < 0 ? 2 : hidden_keeper_cow(n);
  return -1;
}

/* ------------------------------------------------------------------------ */
/* Machine description                                                      */
/* ------------------------------------------------------------------------ */

typedef struct machine {
  char cpu[128], kernel[320], clocksource[64], date[32], libc[32], libuv[32];
  char load_start[128], load_end[128]; /* /proc/loadavg: 1, 5, 15 min */
  long cores;
  int allowed;   /* CPUs this process may run on */
  int first_cpu; /* the lowest of them: the CPU of the same-CPU placement */
} machine;

/* The three load averages of /proc/loadavg, or "unknown". */
static void read_load(char *out, size_t cap) {
  char buf[128];
  int fields = 0;
  size_t i;
  (void)snprintf(out, cap, "unknown");
  if (read_text("/proc/loadavg", buf, sizeof(buf)) < 0)
    return;
  for (i = 0; buf[i] != '\0'; i++)
    if (buf[i] == ' ' && ++fields == 3) {
      buf[i] = '\0';
      break;
    }
  (void)snprintf(out, cap, "%s", buf);
}

static void describe_machine(machine *m) {
  char buf[1 << 16], *p;
  struct utsname u;
  time_t t = time(NULL);
  struct tm tmv;
  memset(m, 0, sizeof(*m));
  (void)snprintf(m->cpu, sizeof(m->cpu), "unknown");
  if (read_text("/proc/cpuinfo", buf, sizeof(buf)) == 0) {
    p = strstr(buf, "model name");
    if (p == NULL)
      p = strstr(buf, "Model");
    if (p != NULL && (p = strchr(p, ':')) != NULL) {
      size_t i = 0;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      while (p[i] != '\0' && p[i] != '\n' && i + 1 < sizeof(m->cpu)) {
        m->cpu[i] = p[i];
        i++;
      }
      m->cpu[i] = '\0';
    }
  }
  m->cores = sysconf(_SC_NPROCESSORS_ONLN);
  read_load(m->load_start, sizeof(m->load_start));
  {
    cpu_set_t set;
    int c;
    m->allowed = 0;
    m->first_cpu = -1;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
      for (c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
          if (m->first_cpu < 0)
            m->first_cpu = c;
          m->allowed++;
        }
  }
  if (uname(&u) == 0)
    (void)snprintf(m->kernel, sizeof(m->kernel), "%s %s %s %s", u.sysname, u.release, u.version,
                   u.machine);
  if (read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource", m->clocksource,
                sizeof(m->clocksource)) < 0)
    (void)snprintf(m->clocksource, sizeof(m->clocksource), "unknown");
  if (gmtime_r(&t, &tmv) != NULL)
    (void)strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tmv);
#if defined(__GLIBC__)
  (void)snprintf(m->libc, sizeof(m->libc), "glibc %s", gnu_get_libc_version());
#else
  (void)snprintf(m->libc, sizeof(m->libc), "unknown");
#endif
#if defined(TETHER_BENCH_HAVE_LIBUV)
  (void)snprintf(m->libuv, sizeof(m->libuv), "%s", uv_version_string());
#else
  (void)snprintf(m->libuv, sizeof(m->libuv), "unavailable");
#endif
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const g_place_key[P_COUNT] = {"round_trip_us", "round_trip_same_cpu_us"};

typedef struct options {
  int quick, samples, idle_ms, no_idle;
  unsigned places; /* bit per P_* */
  long rounds, warmup;
  unsigned only; /* bit per V_* and B_* item */
  const char *json;
  const char *source; /* --source: what was built (free text) */
  child_opts co;
} options;

typedef struct rt_set {
  double *us[V_COUNT]; /* per sample */
  int n[V_COUNT];
  stats st[V_COUNT];
  int have[V_COUNT];
} rt_set;

typedef struct results {
  rt_set rt[P_COUNT];
  idle_result idle;
  mem_result mem;
  int idle_done;
  child_results ch;
} results;

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_ratio(FILE *f, const rt_set *r, int v, int base) {
  if (r->have[v] && r->have[base] && r->st[base].median > 0)
    fprintf(f, "%.4f", r->st[v].median / r->st[base].median);
  else
    fputs("null", f);
}

/* ---- output of the children measurements ---- */

static void json_stats(FILE *f, const series *s) {
  int i;
  if (s->n == 0) {
    fputs("{\"status\": \"no samples\"}", f);
    return;
  }
  fprintf(f, "{\"min\": %.4f, \"median\": %.4f, \"max\": %.4f, \"samples\": [", s->st.min,
          s->st.median, s->st.max);
  for (i = 0; i < s->n; i++)
    fprintf(f, "%s%.4f", i ? ", " : "", s->v[i]);
  fputs("]}", f);
}

static void json_series_ratio(FILE *f, const series *s, const series *base) {
  if (s->n > 0 && base->n > 0 && base->st.median > 0)
    fprintf(f, "%.4f", s->st.median / base->st.median);
  else
    fputs("null", f);
}

static void json_kmem(FILE *f, const kmem *k) {
  fprintf(f,
          "{\"vmrss_kib\": %ld, \"rss_anon_kib\": %ld, \"pss_kib\": %ld, "
          "\"private_kib\": %ld}",
          k->vmrss, k->anon, k->pss, k->priv);
}

static void json_mem_point(FILE *f, const mem_point *m, long threads) {
  fprintf(f,
          "{\"rss_kib\": %ld, \"rss_anon_kib\": %ld, \"heap_bytes\": %ld, "
          "\"fds\": %ld, \"threads\": %ld}",
          m->rss_kib, m->anon_kib, m->heap_bytes, m->fds, threads);
}

static const char *const g_spawn_key[P_COUNT] = {"spawn_us", "spawn_same_cpu_us"};

static void json_children(FILE *f, const child_opts *co, const child_results *cr) {
  int p, v, k;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++) {
      if (!(co->places & (1u << p)))
        continue;
      fprintf(f, "  \"%s\": {\n    \"placement\": \"%s\",\n    \"program\": ", g_spawn_key[p],
              p == P_FREE ? "unpinned" : "bench, guard and child pinned to one CPU");
      json_str(f, g_true);
      fprintf(f,
              ",\n    \"spawns_per_sample\": %ld,\n    "
              "\"warmup_spawns_per_sample\": %ld,\n",
              co->spawns, co->spawn_warmup);
      for (v = 0; v < S_COUNT; v++) {
        const series *s = &cr->spawn[p][v];
        fprintf(f, "    \"%s\": {\"mechanism\": ", g_spawn[v].name);
        json_str(f, g_spawn[v].what);
        if (s->n == 0) {
          fprintf(f, ", \"status\": \"%s\"}", g_spawn[v].available ? "skipped" : "unavailable");
        } else {
          fputs(", \"status\": \"ok\", \"ratio_vs_posix_spawn\": ", f);
          json_series_ratio(f, s, &cr->spawn[p][S_POSIX]);
          fputs(", \"us\": ", f);
          json_stats(f, s);
          fputs(", \"phase_median_us\": {", f);
          for (k = 0; k < PH_COUNT; k++)
            fprintf(f, "%s\"%s\": %.4f", k ? ", " : "", g_phase_name[k],
                    cr->spawn_ph[p][v][k].st.median);
          fputs("}}", f);
        }
        fputs(v + 1 < S_COUNT ? ",\n" : "\n", f);
      }
      fputs("  },\n", f);
    }
  if (cr->first_done) {
    fputs("  \"first_spawn_us\": {\n    \"what\": \"two spawn + wait of the "
          "program in a fresh process (exec of tether_bench), tether and "
          "posix_spawn processes interleaved\",\n    \"tether_first\": ",
          f);
    json_stats(f, &cr->t_first);
    fputs(",\n    \"tether_second\": ", f);
    json_stats(f, &cr->t_second);
    fputs(",\n    \"keeper_start_first_minus_second\": ", f);
    json_stats(f, &cr->keeper_start);
    fputs(",\n    \"posix_spawn_first\": ", f);
    json_stats(f, &cr->p_first);
    fputs(",\n    \"posix_spawn_second\": ", f);
    json_stats(f, &cr->p_second);
    fputs(",\n    \"posix_spawn_first_minus_second\": ", f);
    json_stats(f, &cr->p_cold);
    fputs("\n  },\n", f);
  }
  if (cr->tree_done) {
    fprintf(f,
            "  \"tree_teardown_ms\": {\n    \"tree_size\": %ld,\n    "
            "\"shape\": \"leader + children of %d processes each (a child "
            "and its children)\",\n    \"detection\": \"%s\",\n",
            co->tree_n, TREE_FANOUT,
            cr->tree_pidfd ? "a pidfd per member, poll() until all readable "
                             "(exited: zombie or reaped)"
                           : "/proc/<pid>/stat of each member polled every "
                             "100 us (zombie = dead)");
    for (v = 0; v < T_COUNT; v++) {
      fprintf(f, "    \"%s\": {\"what\": ", g_tree[v].name);
      json_str(f, g_tree[v].what);
      fputs(", \"ratio_vs_raw\": ", f);
      json_series_ratio(f, &cr->tree[v], &cr->tree[T_RAW]);
      fputs(", \"ms\": ", f);
      json_stats(f, &cr->tree[v]);
      fputs(", \"first_call_returned_ms\": ", f);
      json_stats(f, &cr->tree_phase[v]);
      fputs(v + 1 < T_COUNT ? "},\n" : "}\n", f);
    }
    fputs("  },\n", f);
  }
  if (cr->kill_done) {
    fprintf(f,
            "  \"parent_kill_ms\": {\n    \"runs\": %ld,\n    \"failed_runs\": "
            "%d,\n    \"poll_interval_us\": %d,\n    \"child\": ",
            co->kill_runs, cr->kill_failed, KILL_POLL_US);
    json_stats(f, &cr->k_child);
    fputs(",\n    \"grandchild\": ", f);
    json_stats(f, &cr->k_grandchild);
    fputs(",\n    \"last_descendant\": ", f);
    json_stats(f, &cr->k_last);
    fputs(",\n    \"keeper_exited\": ", f);
    json_stats(f, &cr->k_keeper);
    fputs("\n  },\n", f);
  }
  if (cr->cmem_done && cr->cmem.ok) {
    const cmem_result *m = &cr->cmem;
    fprintf(f,
            "  \"children_memory\": {\n    \"children\": %ld,\n    "
            "\"parent\": {\"before\": ",
            m->n);
    json_mem_point(f, &m->base, m->thr_base);
    fputs(", \"one\": ", f);
    json_mem_point(f, &m->one, m->thr_one);
    fputs(", \"all\": ", f);
    json_mem_point(f, &m->all, m->thr_all);
    fputs("},\n    \"parent_status_with_one\": ", f);
    json_kmem(f, &m->self_one);
    fputs(",\n    \"keeper_with_one\": ", f);
    json_kmem(f, &m->keeper_one);
    fputs(",\n    \"keeper_with_all\": ", f);
    json_kmem(f, &m->keeper_all);
    fputs("\n  },\n", f);
  }
  if (cr->cmem_done && cr->cow.ok) {
    const cow_result *w = &cr->cow;
    fprintf(f,
            "  \"keeper_copy_on_write\": {\n    \"what\": \"a program "
            "with %ld MiB of written heap spawns one tethered child, then "
            "rewrites that heap\",\n    \"program_before_spawn\": ",
            w->mib);
    json_kmem(f, &w->self_before);
    fputs(",\n    \"keeper_after_spawn\": ", f);
    json_kmem(f, &w->keeper_spawned);
    fputs(",\n    \"keeper_after_rewrite\": ", f);
    json_kmem(f, &w->keeper_rewritten);
    fprintf(f,
            ",\n    \"program_rewrite_ms\": {\"before_first_spawn\": %.3f, "
            "\"after_first_spawn\": %.3f},\n    \"first_spawn_call_ms\": "
            "%.3f\n  },\n",
            w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
  }
}

static void print_series_row(const char *label, const series *s, const series *base) {
  printf("| %s |", label);
  if (s->n == 0) {
    printf(" no samples | | | |\n");
    return;
  }
  printf(" %.2f | %.2f | %.2f |", s->st.min, s->st.median, s->st.max);
  if (base != NULL) {
    if (base->n > 0 && base->st.median > 0)
      printf(" %.2fx |", s->st.median / base->st.median);
    else
      printf(" n/a |");
  }
  printf("\n");
}

static void print_goal(const char *what, const series *s, const series *base, double goal) {
  printf("%s", what);
  if (s->n > 0 && base->n > 0 && base->st.median > 0)
    printf(" -> %.2fx (%s)", s->st.median / base->st.median,
           s->st.median / base->st.median <= goal ? "met" : "MISSED");
  else
    printf(" -> n/a");
  printf(".\n\n");
}

static void print_children(const child_opts *co, const child_results *cr, int first_cpu) {
  int p, v;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++) {
      if (!(co->places & (1u << p)))
        continue;
      if (p == P_FREE)
        printf("## Spawn + wait of `%s`, unpinned\n\n", g_true);
      else
        printf("## Spawn + wait of `%s`, everything on CPU %d\n\n", g_true, first_cpu);
      printf("Each sample is a fresh bench process: %ld untimed spawns (the "
             "first tethered one starts the guard), then %ld timed spawn + "
             "wait (+ free); %d samples per variant, interleaved; mean "
             "microseconds per spawn.\n\n",
             co->spawn_warmup, co->spawns, co->samples);
      printf("| variant | min us | median us | max us | vs posix_spawn |\n");
      printf("|---|--:|--:|--:|--:|\n");
      for (v = 0; v < S_COUNT; v++) {
        if (cr->spawn[p][v].n == 0) {
          printf("| %s | %s | | | |\n", g_spawn[v].label,
                 g_spawn[v].available ? "skipped" : "unavailable");
          continue;
        }
        print_series_row(g_spawn[v].label, &cr->spawn[p][v], &cr->spawn[p][S_POSIX]);
      }
      printf("\n");
      print_goal("Stated goal (measured, not asserted): tether_spawn <= 1.15x "
                 "posix_spawn",
                 &cr->spawn[p][S_TETHER], &cr->spawn[p][S_POSIX], 1.15);
      printf("Where the time goes (median over samples of the per-spawn mean, "
             "us): the start call returned; then the exit seen "
             "(tether_child_wait / waitpid / exit callback); then the release "
             "(tether_child_free).\n\n");
      printf("| variant | start | exit seen | release |\n|---|--:|--:|--:|\n");
      for (v = 0; v < S_COUNT; v++)
        if (cr->spawn[p][v].n > 0)
          printf("| %s | %.1f | %.1f | %.1f |\n", g_spawn[v].label,
                 cr->spawn_ph[p][v][PH_START].st.median, cr->spawn_ph[p][v][PH_EXIT].st.median,
                 cr->spawn_ph[p][v][PH_RELEASE].st.median);
      printf("\n");
    }
  if (cr->first_done) {
    printf("## First spawn in a fresh process (guard start)\n\n");
    printf("%d fresh processes (exec of tether_bench) per kind, interleaved; "
           "each times two spawn + wait of `%s`; microseconds.\n\n",
           cr->t_first.cap, g_true);
    printf("| measure | min us | median us | max us |\n|---|--:|--:|--:|\n");
    print_series_row("tether: first spawn (guard start + spawn)", &cr->t_first, NULL);
    print_series_row("tether: second spawn", &cr->t_second, NULL);
    print_series_row("guard start (first - second, per process)", &cr->keeper_start, NULL);
    print_series_row("posix_spawn: first spawn", &cr->p_first, NULL);
    print_series_row("posix_spawn: second spawn", &cr->p_second, NULL);
    print_series_row("posix_spawn: first - second (cold start of any spawn)", &cr->p_cold, NULL);
    if (cr->keeper_start.n > 0 && cr->p_cold.n > 0)
      printf("\nKeeper start net of the cold start every first spawn pays: "
             "about %.0f us (difference of the medians).\n",
             cr->keeper_start.st.median - cr->p_cold.st.median);
    printf("\n");
  }
  if (cr->tree_done) {
    printf("## Teardown of a %ld-process tree\n\n", co->tree_n);
    printf("Leader + children of %d processes each, all sleeping in the "
           "leader's group; %d samples per variant, interleaved, after one "
           "untimed warm-up of each kind (it starts the guard). From the first "
           "call until every member is dead (zombie or gone; detection: %s), in "
           "milliseconds.\n\n",
           TREE_FANOUT, co->samples,
           cr->tree_pidfd ? "a pidfd per member" : "/proc polled every 100 us");
    printf("| variant | min ms | median ms | max ms | vs raw | first call "
           "returned (median ms) |\n|---|--:|--:|--:|--:|--:|\n");
    for (v = 0; v < T_COUNT; v++) {
      const series *s = &cr->tree[v];
      if (s->n == 0) {
        printf("| %s | no samples | | | | |\n", g_tree[v].label);
        continue;
      }
      printf("| %s | %.2f | %.2f | %.2f |", g_tree[v].label, s->st.min, s->st.median, s->st.max);
      if (cr->tree[T_RAW].n > 0 && cr->tree[T_RAW].st.median > 0)
        printf(" %.2fx |", s->st.median / cr->tree[T_RAW].st.median);
      else
        printf(" n/a |");
      printf(" %.2f (%s) |\n", cr->tree_phase[v].st.median, g_tree[v].phase);
    }
    printf("\n");
    print_goal("Stated goal (measured, not asserted): tether_child_free <= 2x raw",
               &cr->tree[T_FREE], &cr->tree[T_RAW], 2.0);
  }
  if (cr->kill_done) {
    printf("## Parent SIGKILL -> tethered descendants dead\n\n");
    printf("%ld runs: a middle process (tether_bench) tether_spawns a child "
           "that forks a grandchild; the bench SIGKILLs the middle and polls "
           "/proc/<pid>/stat every %d us (zombie = dead). Milliseconds after "
           "the kill.%s\n\n",
           co->kill_runs, KILL_POLL_US, cr->kill_failed ? " SOME RUNS FAILED (see stderr)." : "");
    printf("| process | min ms | median ms | max ms |\n|---|--:|--:|--:|\n");
    print_series_row("child (leader of its group)", &cr->k_child, NULL);
    print_series_row("grandchild", &cr->k_grandchild, NULL);
    print_series_row("last descendant", &cr->k_last, NULL);
    print_series_row("keeper exited", &cr->k_keeper, NULL);
    printf("\nStated goal (measured, not asserted): last descendant dead "
           "within 100 ms");
    if (cr->k_last.n > 0)
      printf(" -> median %.2f ms, worst %.2f ms (%s)", cr->k_last.st.median, cr->k_last.st.max,
             cr->k_last.st.max <= 100.0 ? "met" : "MISSED");
    printf(".\n\n");
  }
  if (cr->cmem_done && cr->cmem.ok) {
    const cmem_result *m = &cr->cmem;
    long per = m->n - 1;
    printf("## Keeper and per-child memory (fresh process, %ld live tethered "
           "children)\n\n",
           m->n);
    printf("tether-guard (started from its own image), from "
           "/proc/<keeper>/status and smaps_rollup, KiB:\n\n");
    printf("| guard with | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
    printf("| 1 child | %ld | %ld | %ld | %ld |\n", m->keeper_one.vmrss, m->keeper_one.anon,
           m->keeper_one.pss, m->keeper_one.priv);
    printf("| %ld children | %ld | %ld | %ld | %ld |\n", m->n, m->keeper_all.vmrss,
           m->keeper_all.anon, m->keeper_all.pss, m->keeper_all.priv);
    printf("| (the program itself, 1 child) | %ld | %ld | %ld | %ld |\n\n", m->self_one.vmrss,
           m->self_one.anon, m->self_one.pss, m->self_one.priv);
    printf("The program (parent side):\n\n");
    printf("| live tethered children | RSS added (anon / total) | heap in use "
           "added | descriptors added | threads added |\n|--:|--:|--:|--:|--:|\n");
    printf("| 1 (starts the guard) | %ld / %ld KiB | %ld B | %ld | %ld |\n",
           m->one.anon_kib - m->base.anon_kib, m->one.rss_kib - m->base.rss_kib,
           m->base.heap_bytes < 0 ? -1L : m->one.heap_bytes - m->base.heap_bytes,
           m->one.fds - m->base.fds, m->thr_one - m->thr_base);
    printf("| %ld | %ld / %ld KiB | %ld B | %ld | %ld |\n", m->n,
           m->all.anon_kib - m->base.anon_kib, m->all.rss_kib - m->base.rss_kib,
           m->base.heap_bytes < 0 ? -1L : m->all.heap_bytes - m->base.heap_bytes,
           m->all.fds - m->base.fds, m->thr_all - m->thr_base);
    printf("| per child after the first | %.2f KiB anon | %.0f B | %.2f | %.2f |\n\n",
           (double)(m->all.anon_kib - m->one.anon_kib) / (double)per,
           m->base.heap_bytes < 0 ? -1.0
                                  : (double)(m->all.heap_bytes - m->one.heap_bytes) / (double)per,
           (double)(m->all.fds - m->one.fds) / (double)per,
           (double)(m->thr_all - m->thr_one) / (double)per);
  }
  if (cr->cmem_done && cr->cow.ok) {
    const cow_result *w = &cr->cow;
    printf("tether-guard is started from its own image (the 0.1 keeper was a "
           "fork that kept, copy-on-write, the program's memory of its first "
           "spawn). A program with %ld MiB of written heap spawns one tethered "
           "child, then rewrites that heap (KiB):\n\n",
           w->mib);
    printf("| process | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
    printf("| program, before its first spawn | %ld | %ld | %ld | %ld |\n", w->self_before.vmrss,
           w->self_before.anon, w->self_before.pss, w->self_before.priv);
    printf("| guard, after the spawn | %ld | %ld | %ld | %ld |\n", w->keeper_spawned.vmrss,
           w->keeper_spawned.anon, w->keeper_spawned.pss, w->keeper_spawned.priv);
    printf("| guard, after the program rewrote its heap | %ld | %ld | %ld | %ld "
           "|\n\n",
           w->keeper_rewritten.vmrss, w->keeper_rewritten.anon, w->keeper_rewritten.pss,
           w->keeper_rewritten.priv);
    printf("The program's rewrite of that heap took %.1f ms before its first "
           "spawn and %.1f ms after it (copy-on-write faults). Its first "
           "tether_spawn() call (guard start included) took %.2f ms.\n\n",
           w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
  }
}

static int write_json(const char *path, const options *o, const machine *m, const results *r) {
  FILE *f = fopen(path, "w");
  int v, i, p;
  if (f == NULL) {
    fprintf(stderr, "tether_bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("{\n  \"tool\": \"tether_bench\",\n  \"tether_version\": ", f);
  json_str(f, tether_version_string());
  fputs(",\n  \"source\": ", f);
  json_str(f, o->source);
  fputs(",\n  \"date\": ", f);
  json_str(f, m->date);
  fputs(",\n  \"machine\": {\n    \"cpu\": ", f);
  json_str(f, m->cpu);
  fprintf(f, ",\n    \"cores\": %ld,\n    \"cpus_allowed\": %d,\n    \"kernel\": ", m->cores,
          m->allowed);
  json_str(f, m->kernel);
  fputs(",\n    \"clocksource\": ", f);
  json_str(f, m->clocksource);
  fputs(",\n    \"compiler\": ", f);
  json_str(f, BENCH_COMPILER);
  fputs(",\n    \"libc\": ", f);
  json_str(f, m->libc);
  fputs(",\n    \"libuv\": ", f);
  json_str(f, m->libuv);
  fputs(",\n    \"loadavg_start\": ", f);
  json_str(f, m->load_start);
  fputs(",\n    \"loadavg_end\": ", f);
  json_str(f, m->load_end);
  fputs(",\n    \"build_type\": ", f);
  json_str(f, TETHER_BENCH_BUILD_TYPE);
  fputs(",\n    \"tether_library\": ", f);
  json_str(f, TETHER_BENCH_LIB_KIND);
  fputs(",\n    \"tether_backend\": ", f);
  json_str(f, TETHER_BENCH_BACKEND);
  fprintf(f,
          "\n  },\n  \"parameters\": {\n    \"quick\": %s,\n    \"signal\": "
          "\"SIGUSR1\",\n    \"rounds_per_sample\": %ld,\n    "
          "\"warmup_rounds_per_sample\": %ld,\n    \"samples_per_variant\": "
          "%d,\n    \"order\": \"interleaved\",\n    \"same_cpu\": %d,\n    "
          "\"idle_window_ms\": %d,\n    \"spawns_per_sample\": %ld,\n    "
          "\"tree_size\": %ld,\n    \"parent_kill_runs\": %ld,\n    "
          "\"first_spawn_runs\": %ld\n  },\n",
          o->quick ? "true" : "false", o->rounds, o->warmup, o->samples, m->first_cpu, o->idle_ms,
          o->co.spawns, o->co.tree_n, o->co.kill_runs, o->co.first_runs);
  for (p = 0; p < P_COUNT; p++) {
    const rt_set *rs = &r->rt[p];
    if (!(o->places & (1u << p)) || !(o->only & B_ROUNDTRIP))
      continue;
    fputs("  ", f);
    json_str(f, g_place_key[p]);
    fprintf(f, ": {\n    \"placement\": \"%s\",\n",
            p == P_FREE ? "unpinned: the scheduler places both processes"
                        : "both processes pinned to one CPU");
    for (v = 0; v < V_COUNT; v++) {
      fputs("    ", f);
      json_str(f, g_mech[v].name);
      fputs(": {\n      \"mechanism\": ", f);
      json_str(f, g_mech[v].what);
      if (!rs->have[v]) {
        fprintf(f, ",\n      \"status\": \"%s\"\n    }",
                g_mech[v].available ? "skipped" : "unavailable");
      } else {
        fprintf(f,
                ",\n      \"status\": \"ok\",\n      \"min\": %.4f,\n      "
                "\"median\": %.4f,\n      \"max\": %.4f,\n      "
                "\"ratio_vs_selfpipe\": ",
                rs->st[v].min, rs->st[v].median, rs->st[v].max);
        json_ratio(f, rs, v, V_SELFPIPE);
        fputs(",\n      \"ratio_vs_libuv\": ", f);
        json_ratio(f, rs, v, V_LIBUV);
        fputs(",\n      \"samples\": [", f);
        for (i = 0; i < rs->n[v]; i++)
          fprintf(f, "%s%.4f", i ? ", " : "", rs->us[v][i]);
        fputs("]\n    }", f);
      }
      fputs(v + 1 < V_COUNT ? ",\n" : "\n", f);
    }
    fputs("  },\n", f);
  }
  json_children(f, &o->co, &r->ch);
  if (r->idle_done) {
    const idle_result *id = &r->idle;
    fprintf(f,
            "  \"idle\": {\n    \"ok\": %s,\n    \"window_s\": %.3f,\n    "
            "\"window_voluntary_ctxt_switches\": %ld,\n    "
            "\"window_involuntary_ctxt_switches\": %ld,\n    "
            "\"window_cpu_ns\": %lld,\n    \"threads\": %ld,\n    \"state\": ",
            id->ok ? "true" : "false", id->window_s, id->win_vcsw, id->win_ivcsw,
            (long long)id->win_cpu_ns, id->threads);
    json_str(f, id->state);
    fputs(",\n    \"wchan\": ", f);
    json_str(f, id->wchan);
    fputs(",\n    \"blocked_syscall_nr\": ", f);
    json_str(f, id->syscall_nr);
    fprintf(f,
            ",\n    \"whole_wait_voluntary_ctxt_switches\": %ld,\n    "
            "\"whole_wait_involuntary_ctxt_switches\": %ld,\n    "
            "\"whole_wait_cpu_ns\": %lld\n  },\n",
            id->child.vcsw, id->child.ivcsw, (long long)id->child.cpu_ns);
  } else {
    fputs("  \"idle\": null,\n", f);
  }
  if (r->mem.ok) {
    const mem_result *mm = &r->mem;
    fprintf(f,
            "  \"memory\": {\n    \"rss_kib\": {\"before\": %ld, \"one\": %ld, "
            "\"hundred\": %ld},\n    \"rss_anon_kib\": {\"before\": %ld, "
            "\"one\": %ld, \"hundred\": %ld},\n    \"heap_bytes\": {\"before\": %ld, \"one\": "
            "%ld, \"hundred\": %ld},\n    \"fds\": {\"before\": %ld, \"one\": "
            "%ld, \"hundred\": %ld}\n  }\n",
            mm->base.rss_kib, mm->one.rss_kib, mm->hundred.rss_kib, mm->base.anon_kib,
            mm->one.anon_kib, mm->hundred.anon_kib, mm->base.heap_bytes, mm->one.heap_bytes,
            mm->hundred.heap_bytes, mm->base.fds, mm->one.fds, mm->hundred.fds);
  } else {
    fputs("  \"memory\": null\n", f);
  }
  fputs("}\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "tether_bench: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

static void print_ratio(const rt_set *r, int v, int base) {
  if (r->have[v] && r->have[base] && r->st[base].median > 0)
    printf(" %.2fx |", r->st[v].median / r->st[base].median);
  else
    printf(" n/a |");
}

static void print_report(const options *o, const machine *m, const results *res) {
  int v, p;
  printf("# tether_bench %s%s\n\n", tether_version_string(),
         o->quick ? " (--quick: smoke counts, numbers are noisy)" : "");
  printf("%s, %s; %ld cores (%s); %s; clocksource %s; %s; libuv %s; "
         "%s build, %s library; source %s; load average %s at start, %s at "
         "end\n\n",
         m->date, m->cpu, m->cores, m->kernel, BENCH_COMPILER, m->clocksource, m->libc, m->libuv,
         TETHER_BENCH_BUILD_TYPE, TETHER_BENCH_LIB_KIND, o->source, m->load_start, m->load_end);
  for (p = 0; p < P_COUNT; p++) {
    const rt_set *r = &res->rt[p];
    if (!(o->places & (1u << p)) || !(o->only & B_ROUNDTRIP))
      continue;
    if (p == P_FREE)
      printf("## Signal round trip, unpinned (SIGUSR1 ping-pong between two "
             "processes)\n\n");
    else
      printf("## Signal round trip, both processes on CPU %d\n\n", m->first_cpu);
    printf("%ld round trips per sample (+%ld warm-up), %d samples per variant, "
           "variants interleaved; per-round-trip mean of each sample, in "
           "microseconds.\n\n",
           o->rounds, o->warmup, o->samples);
    printf("| variant | min us | median us | max us | vs self-pipe | vs libuv |\n");
    printf("|---|--:|--:|--:|--:|--:|\n");
    for (v = 0; v < V_COUNT; v++) {
      printf("| %s |", g_mech[v].label);
      if (!r->have[v]) {
        printf(" %s | | | | |\n", g_mech[v].available ? "skipped" : "unavailable");
        continue;
      }
      printf(" %.2f | %.2f | %.2f |", r->st[v].min, r->st[v].median, r->st[v].max);
      print_ratio(r, v, V_SELFPIPE);
      print_ratio(r, v, V_LIBUV);
      printf("\n");
    }
    printf("\nStated goal (measured, not asserted): tether wait <= 1.10x self-pipe");
    if (r->have[V_TETHER_WAIT] && r->have[V_SELFPIPE])
      printf(" -> %.2fx", r->st[V_TETHER_WAIT].median / r->st[V_SELFPIPE].median);
    printf("; <= 1.00x libuv");
    if (r->have[V_TETHER_WAIT] && r->have[V_LIBUV])
      printf(" -> %.2fx", r->st[V_TETHER_WAIT].median / r->st[V_LIBUV].median);
    else
      printf(" -> n/a");
    printf(".\n\n");
  }

  if (res->idle_done) {
    const idle_result *id = &res->idle;
    printf("## Idle channel (child blocked in tether_channel_wait, watching "
           "interrupt + terminate)\n\n");
    printf("| measure | value |\n|---|--:|\n");
    printf("| idle window | %.2f s |\n", id->window_s);
    printf("| context switches in window (voluntary / involuntary) | %ld / %ld |\n", id->win_vcsw,
           id->win_ivcsw);
    printf("| CPU time in window | %.1f us |\n", (double)id->win_cpu_ns / 1000.0);
    printf("| whole wait incl. the SIGTERM wake-up: switches (vol / invol) | "
           "%ld / %ld |\n",
           id->child.vcsw, id->child.ivcsw);
    printf("| whole wait incl. the wake-up: CPU time | %.1f us |\n",
           (double)id->child.cpu_ns / 1000.0);
    printf("| threads in the process | %ld |\n", id->threads);
    printf("| state / wchan / blocked syscall nr | %s / %s / %s |\n",
           id->state[0] ? id->state : "?", id->wchan[0] ? id->wchan : "?",
           id->syscall_nr[0] ? id->syscall_nr : "?");
    printf("| woke with terminate event | %s |\n\n", id->ok ? "yes" : "NO");
  }
  if (res->mem.ok) {
    const mem_result *mm = &res->mem;
    printf("## Memory per open channel (fresh process)\n\n");
    printf("| channels opened | RSS added (anon / total) | heap in use added | "
           "descriptors added |\n");
    printf("|--:|--:|--:|--:|\n");
    printf("| 1 | %ld / %ld KiB | %ld B | %ld |\n", mm->one.anon_kib - mm->base.anon_kib,
           mm->one.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L : mm->one.heap_bytes - mm->base.heap_bytes,
           mm->one.fds - mm->base.fds);
    printf("| 100 | %ld / %ld KiB | %ld B | %ld |\n", mm->hundred.anon_kib - mm->base.anon_kib,
           mm->hundred.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L : mm->hundred.heap_bytes - mm->base.heap_bytes,
           mm->hundred.fds - mm->base.fds);
    printf("\nanon = private memory (RssAnon); total also counts code pages of "
           "the library and libc that the first calls fault in (shared page "
           "cache, fault-around).\n");
    printf("\n");
  }
  print_children(&o->co, &res->ch, m->first_cpu);
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f) {
  fputs("usage: tether_bench [--quick] [--json FILE] [--samples N] [--rounds N]\n"
        "                    [--warmup N] [--only LIST] [--placement P]\n"
        "                    [--idle-ms N] [--no-idle] [--spawns N]\n"
        "                    [--tree-size N] [--kill-runs N] [--first-runs N]\n"
        "                    [--source TEXT]\n"
        "  --quick        tiny counts for a CI smoke run (a few seconds)\n"
        "  --json FILE    also write the results as JSON\n"
        "  --source TEXT  what was built, recorded in the report (ci/bench.sh\n"
        "                 passes git describe --always --dirty)\n"
        "  --samples N    samples per variant: round trip, spawn, teardown\n"
        "                 (default 21, quick 3)\n"
        "  --rounds N     timed round trips per sample (default 20000, quick 300)\n"
        "  --warmup N     untimed round trips per sample (default 2000, quick 30)\n"
        "  --only LIST    comma-separated items (for strace/perf runs):\n"
        "                 round trip: tether_wait,tether_poll,sigwaitinfo,\n"
        "                   selfpipe,libuv (all: roundtrip)\n"
        "                 spawn: spawn_tether,spawn_tether_path,spawn_posix,\n"
        "                   spawn_fork,spawn_libuv (all: spawn)\n"
        "                 first_spawn, teardown, parent_kill, children_mem\n"
        "                   (all children items: children)\n"
        "                 idle (idle channel + memory per channel)\n"
        "  --placement P  unpinned, same-cpu or both (default both): where the\n"
        "                 processes of a round trip / spawn sample run; unpinned\n"
        "                 is the main measurement, same-cpu pins them to one CPU\n"
        "  --idle-ms N    idle window (default 2000, quick 300)\n"
        "  --no-idle      skip the idle and memory-per-channel measurements\n"
        "  --spawns N     timed spawns per spawn sample (default 200, quick 20)\n"
        "  --tree-size N  processes in the teardown tree (default 200)\n"
        "  --kill-runs N  parent-SIGKILL runs (default 100, quick 5)\n"
        "  --first-runs N fresh processes per kind for the first spawn\n"
        "                 (default 11, quick 3)\n",
        f);
}

static int parse_long(const char *s, long lo, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo)
    return -1;
  *out = v;
  return 0;
}

static int parse_only(const char *list, unsigned *mask) {
  static const struct {
    const char *name;
    unsigned bits;
  } items[] = {{"roundtrip", B_ROUNDTRIP}, {"spawn", B_SPAWN_ALL},  {"first_spawn", B_FIRST},
               {"teardown", B_TREE},       {"parent_kill", B_KILL}, {"children_mem", B_CMEM},
               {"children", B_CHILDREN},   {"idle", B_IDLE}};
  char buf[512], *tok, *save = NULL;
  int v;
  size_t k;
  if (strlen(list) >= sizeof(buf))
    return -1;
  memcpy(buf, list, strlen(list) + 1);
  *mask = 0;
  for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    unsigned bits = 0;
    for (v = 0; v < V_COUNT && bits == 0; v++)
      if (strcmp(tok, g_mech[v].name) == 0)
        bits = 1u << v;
    for (v = 0; v < S_COUNT && bits == 0; v++)
      if (strcmp(tok, g_spawn[v].name) == 0)
        bits = B_SPAWN(v);
    for (k = 0; k < sizeof(items) / sizeof(items[0]) && bits == 0; k++)
      if (strcmp(tok, items[k].name) == 0)
        bits = items[k].bits;
    if (bits == 0)
      return -1;
    *mask |= bits;
  }
  return *mask ? 0 : -1;
}

int main(int argc, char **argv) {
  options o;
  machine m;
  results r;
  long samples = -1, rounds = -1, warmup = -1, idle_ms = -1, tmp;
  long spawns = -1, tree_n = -1, kill_runs = -1, first_runs = -1;
  int i, v, s, p, failed = 0;
  i = hidden_main(argc, argv);
  if (i >= 0)
    return i;
  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  o.only = B_ALL;
  o.source = "unknown";
  o.places = (1u << P_COUNT) - 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      o.quick = 1;
    } else if (strcmp(a, "--no-idle") == 0) {
      o.no_idle = 1;
    } else if (val != NULL && (strcmp(a, "--spawns") == 0 || strcmp(a, "--tree-size") == 0 ||
                               strcmp(a, "--kill-runs") == 0 || strcmp(a, "--first-runs") == 0)) {
      if (parse_long(val, 1, &tmp) < 0 || (strcmp(a, "--tree-size") == 0 && tmp > TREE_MAX)) {
        fprintf(stderr, "tether_bench: bad value for %s: %s\n", a, val);
        return 2;
      }
      if (strcmp(a, "--spawns") == 0)
        spawns = tmp;
      else if (strcmp(a, "--tree-size") == 0)
        tree_n = tmp;
      else if (strcmp(a, "--kill-runs") == 0)
        kill_runs = tmp;
      else
        first_runs = tmp;
      i++;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (val != NULL && strcmp(a, "--json") == 0) {
      o.json = val;
      i++;
    } else if (val != NULL && strcmp(a, "--source") == 0) {
      o.source = val;
      i++;
    } else if (val != NULL && strcmp(a, "--placement") == 0) {
      if (strcmp(val, "unpinned") == 0)
        o.places = 1u << P_FREE;
      else if (strcmp(val, "same-cpu") == 0)
        o.places = 1u << P_SAME_CPU;
      else if (strcmp(val, "both") == 0)
        o.places = (1u << P_COUNT) - 1;
      else {
        fprintf(stderr, "tether_bench: bad --placement: %s\n", val);
        return 2;
      }
      i++;
    } else if (val != NULL && strcmp(a, "--only") == 0) {
      if (parse_only(val, &o.only) < 0) {
        fprintf(stderr, "tether_bench: bad --only list: %s\n", val);
        return 2;
      }
      i++;
    } else if (val != NULL && (strcmp(a, "--samples") == 0 || strcmp(a, "--rounds") == 0 ||
                               strcmp(a, "--warmup") == 0 || strcmp(a, "--idle-ms") == 0)) {
      long lo = strcmp(a, "--warmup") == 0 ? 0 : 1;
      if (parse_long(val, lo, &tmp) < 0) {
        fprintf(stderr, "tether_bench: bad value for %s: %s\n", a, val);
        return 2;
      }
      if (strcmp(a, "--samples") == 0)
        samples = tmp;
      else if (strcmp(a, "--rounds") == 0)
        rounds = tmp;
      else if (strcmp(a, "--warmup") == 0)
        warmup = tmp;
      else
        idle_ms = tmp;
      i++;
    } else {
      usage(stderr);
      return 2;
    }
  }
  o.samples = (int)(samples > 0 ? samples : o.quick ? 3 : 21);
  o.rounds = rounds > 0 ? rounds : o.quick ? 300 : 20000;
  o.warmup = warmup >= 0 ? warmup : o.quick ? 30 : 2000;
  o.idle_ms = (int)(idle_ms > 0 ? idle_ms : o.quick ? 300 : 2000);
  if (o.no_idle)
    o.only &= ~B_IDLE;

  describe_machine(&m);
  if (m.first_cpu < 0)
    o.places &= ~(1u << P_SAME_CPU);
  o.co.only = o.only;
  o.co.places = o.places;
  o.co.samples = o.samples;
  o.co.first_cpu = m.first_cpu;
  o.co.spawns = spawns > 0 ? spawns : o.quick ? 20 : 200;
  o.co.spawn_warmup = o.quick ? 2 : 5; /* >= 1: the first starts the keeper */
  o.co.tree_n = tree_n > 0 ? tree_n : TREE_DEFAULT;
  o.co.kill_runs = kill_runs > 0 ? kill_runs : o.quick ? 5 : 100;
  o.co.first_runs = first_runs > 0 ? first_runs : o.quick ? 3 : 11;
  o.co.cow_mib = o.quick ? 16 : 64;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++) {
      r.rt[p].us[v] = (double *)calloc((size_t)o.samples, sizeof(double));
      if (r.rt[p].us[v] == NULL)
        return 1;
    }

  /* Interleaved: one sample of every variant (and placement) per pass. */
  for (s = 0; (o.only & B_ROUNDTRIP) && s < o.samples; s++) {
    fprintf(stderr, "tether_bench: round trip pass %d/%d\n", s + 1, o.samples);
    for (p = 0; p < P_COUNT; p++) {
      if (!(o.places & (1u << p)))
        continue;
      for (v = 0; v < V_COUNT; v++) {
        double us;
        rt_set *rs = &r.rt[p];
        if (!(o.only & (1u << v)) || !g_mech[v].available)
          continue;
        us = run_sample(v, o.warmup, o.rounds, p == P_SAME_CPU ? m.first_cpu : -1);
        if (us < 0) {
          fprintf(stderr, "tether_bench: %s: sample %d failed\n", g_mech[v].name, s + 1);
          failed = 1;
          continue;
        }
        rs->us[v][rs->n[v]++] = us;
      }
    }
  }
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++) {
      rt_set *rs = &r.rt[p];
      rs->have[v] = rs->n[v] > 0;
      if (rs->have[v])
        rs->st[v] = compute_stats(rs->us[v], rs->n[v]);
    }

  if (o.only & B_IDLE) {
    fprintf(stderr, "tether_bench: idle window %d ms\n", o.idle_ms);
    r.idle = run_idle(o.idle_ms);
    r.idle_done = 1;
    if (!r.idle.ok) {
      fprintf(stderr, "tether_bench: idle measurement failed\n");
      failed = 1;
    }
    r.mem = run_mem();
    if (!r.mem.ok) {
      fprintf(stderr, "tether_bench: memory measurement failed\n");
      failed = 1;
    }
  }

  if (run_children(&o.co, &r.ch) != 0)
    failed = 1;

  read_load(m.load_end, sizeof(m.load_end));
  print_report(&o, &m, &r);
  fflush(stdout);
  if (o.json != NULL && write_json(o.json, &o, &m, &r) < 0)
    failed = 1;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++)
      free(r.rt[p].us[v]);
  free_children(&r.ch);
  return failed;
}
