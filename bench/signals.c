/* SPDX-License-Identifier: MIT */
/*
 * signals.c: the signal round trip (SIGUSR1 ping-pong between two fresh processes):
 * tether_channel_wait, tether poll(), sigwaitinfo, a self-pipe and libuv.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(TETHER_BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

#define PING_SIG SIGUSR1

/* ------------------------------------------------------------------------ */
/* Receiving mechanisms (each runs in a fresh child process)                */
/* ------------------------------------------------------------------------ */

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
      g_uv_t0 = bench_now_ns();
    if (g_uv_seen == g_uv_total) {
      g_uv_t1 = bench_now_ns();
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
    g_uv_t0 = bench_now_ns();
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

const bench_rt_mech bench_rt_mechs[V_COUNT] = {
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

/* One sample: a fresh pair of processes                                    */
/* ------------------------------------------------------------------------ */

/* B: set up, say ready, learn A's pid, answer every ping. */
static int role_b(int v, int ready_fd, int ctl_fd, long total) {
  long i;
  char c = 'r';
  if (bench_rt_mechs[v].setup() < 0)
    return 10;
  if (bench_write_all(ready_fd, &c, 1) < 0)
    return 11;
  if (bench_read_all(ctl_fd, &g_peer, sizeof(g_peer)) < 0)
    return 12;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (v == V_LIBUV)
    return uv_exchange(0, 0, total, NULL) < 0 ? 13 : 0;
#endif
  for (i = 0; i < total; i++) {
    if (bench_rt_mechs[v].wait1() < 0)
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
  if (bench_rt_mechs[v].setup() < 0)
    return 20;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (v == V_LIBUV) {
    if (uv_exchange(1, warm, rounds, &ns) < 0)
      return 21;
    return bench_write_all(res_fd, &ns, sizeof(ns)) < 0 ? 22 : 0;
  }
#endif
  t0 = bench_now_ns();
  for (i = 0; i < warm + rounds; i++) {
    if (i == warm)
      t0 = bench_now_ns();
    if (kill(g_peer, PING_SIG) < 0)
      return 23;
    if (bench_rt_mechs[v].wait1() < 0)
      return 24;
  }
  ns = bench_now_ns() - t0;
  return bench_write_all(res_fd, &ns, sizeof(ns)) < 0 ? 22 : 0;
}

/* Mean microseconds per round trip, or < 0 on failure.
 * pin_cpu < 0: the scheduler places both processes (the main measurement);
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
    bench_pin_self(pin_cpu);
    _exit(role_b(v, ready[1], ctl[0], warm + rounds));
  }
  (void)close(ready[1]);
  (void)close(ctl[0]);
  if (bench_read_all(ready[0], &c, 1) < 0) {
    (void)close(ready[0]);
    (void)close(ctl[1]);
    (void)close(res[0]);
    (void)close(res[1]);
    bench_report_child(bench_rt_mechs[v].name, "receiver setup", pb);
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
    bench_pin_self(pin_cpu);
    _exit(role_a(v, res[1], warm, rounds));
  }
  (void)close(res[1]);
  ok = bench_write_all(ctl[1], &pa, sizeof(pa)) == 0;
  ok = ok && bench_read_all(res[0], &ns, sizeof(ns)) == 0;
  (void)close(ready[0]);
  (void)close(ctl[1]);
  (void)close(res[0]);
  if (!ok) {
    (void)kill(pb, SIGKILL);
    bench_report_child(bench_rt_mechs[v].name, "sender", pa);
    (void)waitpid(pb, NULL, 0);
    return -1;
  }
  bench_report_child(bench_rt_mechs[v].name, "sender", pa);
  bench_report_child(bench_rt_mechs[v].name, "receiver", pb);
  return (double)ns / 1000.0 / (double)rounds;
}

typedef struct rt_ctx {
  const bench_options *o;
  int first_cpu;
  bench_results *r;
} rt_ctx;

/* bench_interleave's take: one round-trip sample of variant v. */
static int rt_take(void *ctx, int s, int p, int v) {
  const rt_ctx *c = (const rt_ctx *)ctx;
  double us;
  if (!(c->o->only & (1u << v)) || !bench_rt_mechs[v].available)
    return 0;
  us = run_sample(v, c->o->warmup, c->o->rounds, p == P_SAME_CPU ? c->first_cpu : -1);
  if (us < 0) {
    fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_rt_mechs[v].name, s + 1);
    return -1;
  }
  bench_series_add(&c->r->rt[p][v], us);
  return 1;
}

/* Step 1: the round trips, variants and placements interleaved. 0, or 1
 * when a sample failed. */
int bench_roundtrip_step(const bench_options *o, int first_cpu, bench_results *r) {
  rt_ctx c;
  int p, failed;
  for (p = 0; p < P_COUNT; p++)
    if (bench_series_alloc(r->rt[p], V_COUNT, o->samples) < 0)
      return 1;
  c.o = o;
  c.first_cpu = first_cpu;
  c.r = r;
  failed = bench_interleave("round trip", o->samples, o->places, V_COUNT, rt_take, &c);
  for (p = 0; p < P_COUNT; p++)
    bench_series_done(r->rt[p], V_COUNT);
  return failed;
}
