/*
 * tether_bench: how fast is a tether channel, and what does it cost idle?
 *
 *   tether_bench [--quick] [--json FILE] [--samples N] [--rounds N]
 *                [--warmup N] [--only LIST] [--placement P] [--idle-ms N]
 *                [--no-idle]
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
 * Nothing here asserts a speed: the program reports numbers. It exits
 * non-zero only when a measurement could not be taken.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
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

enum {
  V_TETHER_WAIT,
  V_TETHER_POLL,
  V_SIGWAIT,
  V_SELFPIPE,
  V_LIBUV,
  V_COUNT
};

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
    {"tether_wait", "tether wait", "tether_channel_wait(ch, &ev, -1)",
     tether_setup, tether_wait1, 1},
    {"tether_poll", "tether poll()",
     "poll() on tether_channel_handle(), then tether_channel_poll() until 0",
     tether_setup, tether_poll1, 1},
    {"sigwaitinfo", "sigwaitinfo", "signal blocked, sigwaitinfo()",
     sigwait_setup, sigwait_wait1, 1},
    {"selfpipe", "self-pipe",
     "sigaction handler writes 1 byte to a non-blocking pipe; poll() then read()",
     selfpipe_setup, selfpipe_wait1, 1},
#if defined(TETHER_BENCH_HAVE_LIBUV)
    {"libuv", "libuv", "uv_signal_t in a uv loop; the callback sends the reply",
     uv_setup, NULL, 1},
#else
    {"libuv", "libuv", "uv_signal_t in a uv loop (libuv not found at build time)",
     NULL, NULL, 0},
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
    fprintf(stderr, "tether_bench: %s %s: child exited with code %d\n", who,
            what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    fprintf(stderr, "tether_bench: %s %s: child killed by signal %d\n", who,
            what, WTERMSIG(st));
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
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0 ||
      pipe2(res, O_CLOEXEC) < 0) {
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
  long vcsw, ivcsw;  /* getrusage delta across the whole wait */
  int64_t cpu_ns;    /* CPU time across the whole wait */
  int kind;          /* event that ended the wait */
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
  rep.cpu_ns = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 +
               (c1.tv_nsec - c0.tv_nsec);
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
  long rss_kib;     /* /proc/self/statm resident (file-backed pages too) */
  long anon_kib;    /* /proc/self/status RssAnon: private memory */
  long heap_bytes;  /* mallinfo2 in-use bytes, -1 unknown */
  long fds;         /* open descriptors */
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
    (void)snprintf(m->kernel, sizeof(m->kernel), "%s %s %s %s", u.sysname,
                   u.release, u.version, u.machine);
  if (read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                m->clocksource, sizeof(m->clocksource)) < 0)
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

/* Placements of the two processes of a round-trip sample. */
enum { P_FREE, P_SAME_CPU, P_COUNT };
static const char *const g_place_key[P_COUNT] = {"round_trip_us",
                                                 "round_trip_same_cpu_us"};

typedef struct options {
  int quick, samples, idle_ms, no_idle;
  unsigned places; /* bit per P_* */
  long rounds, warmup;
  unsigned only;
  const char *json;
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

static int write_json(const char *path, const options *o, const machine *m,
                      const results *r) {
  FILE *f = fopen(path, "w");
  int v, i, p;
  if (f == NULL) {
    fprintf(stderr, "tether_bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("{\n  \"tool\": \"tether_bench\",\n  \"tether_version\": ", f);
  json_str(f, tether_version_string());
  fputs(",\n  \"date\": ", f);
  json_str(f, m->date);
  fputs(",\n  \"machine\": {\n    \"cpu\": ", f);
  json_str(f, m->cpu);
  fprintf(f, ",\n    \"cores\": %ld,\n    \"cpus_allowed\": %d,\n    \"kernel\": ",
          m->cores, m->allowed);
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
          "\"idle_window_ms\": %d\n  },\n",
          o->quick ? "true" : "false", o->rounds, o->warmup, o->samples,
          m->first_cpu, o->idle_ms);
  for (p = 0; p < P_COUNT; p++) {
  const rt_set *rs = &r->rt[p];
  if (!(o->places & (1u << p)))
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
  if (r->idle_done) {
    const idle_result *id = &r->idle;
    fprintf(f,
            "  \"idle\": {\n    \"ok\": %s,\n    \"window_s\": %.3f,\n    "
            "\"window_voluntary_ctxt_switches\": %ld,\n    "
            "\"window_involuntary_ctxt_switches\": %ld,\n    "
            "\"window_cpu_ns\": %lld,\n    \"threads\": %ld,\n    \"state\": ",
            id->ok ? "true" : "false", id->window_s, id->win_vcsw,
            id->win_ivcsw, (long long)id->win_cpu_ns, id->threads);
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
            mm->base.rss_kib, mm->one.rss_kib, mm->hundred.rss_kib,
            mm->base.anon_kib, mm->one.anon_kib, mm->hundred.anon_kib,
            mm->base.heap_bytes, mm->one.heap_bytes, mm->hundred.heap_bytes,
            mm->base.fds, mm->one.fds, mm->hundred.fds);
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

static void print_report(const options *o, const machine *m,
                         const results *res) {
  int v, p;
  printf("# tether_bench %s%s\n\n", tether_version_string(),
         o->quick ? " (--quick: smoke counts, numbers are noisy)" : "");
  printf("%s, %s; %ld cores (%s); %s; clocksource %s; %s; libuv %s; "
         "%s build, %s library; load average %s at start, %s at end\n\n",
         m->date, m->cpu, m->cores, m->kernel, BENCH_COMPILER, m->clocksource,
         m->libc, m->libuv, TETHER_BENCH_BUILD_TYPE, TETHER_BENCH_LIB_KIND,
         m->load_start, m->load_end);
  for (p = 0; p < P_COUNT; p++) {
  const rt_set *r = &res->rt[p];
  if (!(o->places & (1u << p)))
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
    printf("| context switches in window (voluntary / involuntary) | %ld / %ld |\n",
           id->win_vcsw, id->win_ivcsw);
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
    printf("| 1 | %ld / %ld KiB | %ld B | %ld |\n",
           mm->one.anon_kib - mm->base.anon_kib, mm->one.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L : mm->one.heap_bytes - mm->base.heap_bytes,
           mm->one.fds - mm->base.fds);
    printf("| 100 | %ld / %ld KiB | %ld B | %ld |\n",
           mm->hundred.anon_kib - mm->base.anon_kib,
           mm->hundred.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L
                                   : mm->hundred.heap_bytes - mm->base.heap_bytes,
           mm->hundred.fds - mm->base.fds);
    printf("\nanon = private memory (RssAnon); total also counts code pages of "
           "the library and libc that the first calls fault in (shared page "
           "cache, fault-around).\n");
    printf("\n");
  }
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f) {
  fputs("usage: tether_bench [--quick] [--json FILE] [--samples N] [--rounds N]\n"
        "                    [--warmup N] [--only LIST] [--placement P]\n"
        "                    [--idle-ms N] [--no-idle]\n"
        "  --quick       tiny counts for a CI smoke run (< 10 s)\n"
        "  --json FILE   also write the results as JSON\n"
        "  --samples N   samples per variant (default 21, quick 3)\n"
        "  --rounds N    timed round trips per sample (default 20000, quick 300)\n"
        "  --warmup N    untimed round trips per sample (default 2000, quick 30)\n"
        "  --only LIST   comma-separated variants: tether_wait,tether_poll,\n"
        "                sigwaitinfo,selfpipe,libuv (for strace/perf runs)\n"
        "  --placement P unpinned, same-cpu or both (default both): where the\n"
        "                two processes of a round trip run; unpinned is the main\n"
        "                measurement, same-cpu pins both to one CPU\n"
        "  --idle-ms N   idle window (default 2000, quick 300)\n"
        "  --no-idle     skip the idle and memory measurements\n",
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
  char buf[256], *tok, *save = NULL;
  int v;
  if (strlen(list) >= sizeof(buf))
    return -1;
  memcpy(buf, list, strlen(list) + 1);
  *mask = 0;
  for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    for (v = 0; v < V_COUNT; v++)
      if (strcmp(tok, g_mech[v].name) == 0)
        break;
    if (v == V_COUNT)
      return -1;
    *mask |= 1u << v;
  }
  return *mask ? 0 : -1;
}

int main(int argc, char **argv) {
  options o;
  machine m;
  results r;
  long samples = -1, rounds = -1, warmup = -1, idle_ms = -1, tmp;
  int i, v, s, p, failed = 0;
  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  o.only = (1u << V_COUNT) - 1;
  o.places = (1u << P_COUNT) - 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      o.quick = 1;
    } else if (strcmp(a, "--no-idle") == 0) {
      o.no_idle = 1;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (val != NULL && strcmp(a, "--json") == 0) {
      o.json = val;
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
    } else if (val != NULL && (strcmp(a, "--samples") == 0 ||
                               strcmp(a, "--rounds") == 0 ||
                               strcmp(a, "--warmup") == 0 ||
                               strcmp(a, "--idle-ms") == 0)) {
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

  describe_machine(&m);
  if (m.first_cpu < 0)
    o.places &= ~(1u << P_SAME_CPU);
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++) {
      r.rt[p].us[v] = (double *)calloc((size_t)o.samples, sizeof(double));
      if (r.rt[p].us[v] == NULL)
        return 1;
    }

  /* Interleaved: one sample of every variant (and placement) per pass. */
  for (s = 0; s < o.samples; s++) {
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
          fprintf(stderr, "tether_bench: %s: sample %d failed\n", g_mech[v].name,
                  s + 1);
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

  if (!o.no_idle) {
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

  read_load(m.load_end, sizeof(m.load_end));
  print_report(&o, &m, &r);
  fflush(stdout);
  if (o.json != NULL && write_json(o.json, &o, &m, &r) < 0)
    failed = 1;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++)
      free(r.rt[p].us[v]);
  return failed;
}
