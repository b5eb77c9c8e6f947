/* SPDX-License-Identifier: MIT */
/*
 * children_spawn.c: spawn + wait of a trivial program (tether_spawn, posix_spawn, fork + exec,
 * libuv), and the first spawn of a fresh process (guard start).
 */
#include "bench.h"

#include <string.h>
#include <unistd.h>

#if defined(TETHER_BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

/* ---- 1. spawn + wait of a trivial program ---- */

const bench_spawn_mech bench_spawn_mechs[S_COUNT] = {
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

/* The phases (PH_*) of the spawns of this sample, accumulated in ns. */
static uint64_t g_ph[PH_COUNT];

/* Add the phases of one spawn: started at t0, the start call returned at
 * t1, the exit seen at t2, released at t3. */
static void add_phases(uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3) {
  g_ph[PH_START] += t1 - t0;
  g_ph[PH_EXIT] += t2 - t1;
  g_ph[PH_RELEASE] += t3 - t2;
}

static int spawn_tether(const char *prog) {
  const char *argv[2];
  tether_child *c = NULL;
  tether_status st;
  uint64_t t0, t1, t2;
  int r;
  argv[0] = prog;
  argv[1] = NULL;
  t0 = bench_now_ns();
  if (tether_spawn(&c, argv, NULL) < 0)
    return -1;
  t1 = bench_now_ns();
  r = tether_child_wait(c, -1, &st);
  t2 = bench_now_ns();
  tether_child_free(c);
  add_phases(t0, t1, t2, bench_now_ns());
  return r == 1 && st.kind == TETHER_STATUS_CODE && st.code == 0 ? 0 : -1;
}

/* Start argv[0] without tether, in a new process group: posix_spawn, or
 * fork + setpgid (in the child and the parent, as shells do) + execve. */
static pid_t start_untethered(char *const *argv, int use_fork) {
  pid_t pid;
  if (!use_fork)
    return bench_spawn_plain(&pid, argv, -1, 1) < 0 ? -1 : pid;
  pid = fork();
  if (pid == 0) {
    (void)setpgid(0, 0);
    execve(argv[0], argv, environ);
    _exit(127);
  }
  if (pid > 0)
    (void)setpgid(pid, pid);
  return pid;
}

/* spawn + wait of prog without tether (S_POSIX, or S_FORK when use_fork). */
static int spawn_untethered(const char *prog, int use_fork) {
  char *argv[2];
  pid_t pid;
  uint64_t t0, t1, t2;
  int r;
  argv[0] = (char *)prog;
  argv[1] = NULL;
  t0 = bench_now_ns();
  pid = start_untethered(argv, use_fork);
  if (pid < 0)
    return -1;
  t1 = bench_now_ns();
  r = bench_wait_ok(pid);
  t2 = bench_now_ns();
  add_phases(t0, t1, t2, t2);
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
  uint64_t t0, t1, t2;
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
  t0 = bench_now_ns();
  if (uv_spawn(&g_sp_loop, &proc, &po) != 0) {
    uv_close((uv_handle_t *)&proc, NULL);
    (void)uv_run(&g_sp_loop, UV_RUN_DEFAULT);
    return -1;
  }
  t1 = bench_now_ns();
  (void)uv_run(&g_sp_loop, UV_RUN_DEFAULT);
  t2 = bench_now_ns();
  add_phases(t0, t1, t2, t2);
  return g_sp_exited && g_sp_status == 0 && g_sp_signal == 0 ? 0 : -1;
}
#endif

static int spawn_once(int s) {
  switch (s) {
  case S_TETHER:
    return spawn_tether(bench_true);
  case S_TETHER_PATH:
    return spawn_tether("true");
  case S_POSIX:
    return spawn_untethered(bench_true, 0);
  case S_FORK:
    return spawn_untethered(bench_true, 1);
#if defined(TETHER_BENCH_HAVE_LIBUV)
  case S_LIBUV:
    return spawn_uv(bench_true);
#endif
  default:
    return -1;
  }
}

/* What a spawn sample reports: the timed loop and its phases, ns. */
typedef struct spawn_report {
  uint64_t total, ph[PH_COUNT];
} spawn_report;

/* One sample: which mechanism, `warm` untimed spawns (the first tethered
 * one starts the keeper), then `count` timed ones. */
typedef struct spawn_job {
  int s;
  long warm, count;
} spawn_job;

/* The worker of a sample, in a fresh process. */
static int spawn_worker(void *arg, int res_fd) {
  const spawn_job *job = (const spawn_job *)arg;
  spawn_report rep;
  uint64_t t0 = 0;
  long i;
#if defined(TETHER_BENCH_HAVE_LIBUV)
  if (job->s == S_LIBUV && uv_loop_init(&g_sp_loop) != 0)
    return 50;
#endif
  t0 = bench_now_ns();
  for (i = 0; i < job->warm + job->count; i++) {
    if (i == job->warm) {
      memset(g_ph, 0, sizeof(g_ph));
      t0 = bench_now_ns();
    }
    if (spawn_once(job->s) < 0)
      return 51;
  }
  rep.total = bench_now_ns() - t0;
  memcpy(rep.ph, g_ph, sizeof(rep.ph));
  return bench_write_all(res_fd, &rep, sizeof(rep)) < 0 ? 52 : 0;
}

/* Mean microseconds per spawn of one sample (and per phase in ph_us), or
 * < 0 on failure. */
static double spawn_sample(int s, long warm, long count, int pin_cpu, double *ph_us) {
  spawn_job job;
  spawn_report rep;
  pid_t pid;
  int fd, ok, k;
  job.s = s;
  job.warm = warm;
  job.count = count;
  fd = bench_fork_worker(spawn_worker, &job, pin_cpu, &pid);
  if (fd < 0)
    return -1;
  ok = bench_read_all(fd, &rep, sizeof(rep)) == 0;
  (void)close(fd);
  bench_report_child(bench_spawn_mechs[s].name, "sample", pid);
  (void)bench_reap_strays(5000); /* its keeper, winding down */
  if (!ok)
    return -1;
  for (k = 0; k < PH_COUNT; k++)
    ph_us[k] = (double)rep.ph[k] / 1000.0 / (double)count;
  return (double)rep.total / 1000.0 / (double)count;
}

typedef struct spawn_ctx {
  const bench_child_opts *co;
  bench_child_results *cr;
} spawn_ctx;

/* bench_interleave's take: one spawn sample of variant v. */
static int spawn_take(void *ctx, int s, int p, int v) {
  const spawn_ctx *c = (const spawn_ctx *)ctx;
  const bench_child_opts *co = c->co;
  double us, ph[PH_COUNT];
  int k;
  if (!(co->only & B_SPAWN(v)) || !bench_spawn_mechs[v].available)
    return 0;
  us = spawn_sample(v, co->spawn_warmup, co->spawns, p == P_SAME_CPU ? co->first_cpu : -1, ph);
  if (us < 0) {
    fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_spawn_mechs[v].name, s + 1);
    return -1;
  }
  bench_series_add(&c->cr->spawn[p][v], us);
  for (k = 0; k < PH_COUNT; k++)
    bench_series_add(&c->cr->spawn_ph[p][v][k], ph[k]);
  return 1;
}

/* Step 1 of the children: spawn + wait, variants and placements
 * interleaved. 0, or 1 when a sample failed. */
int bench_spawn_step(const bench_child_opts *co, bench_child_results *cr) {
  spawn_ctx c;
  int p, v, failed;
  for (p = 0; p < P_COUNT; p++) {
    if (bench_series_alloc(cr->spawn[p], S_COUNT, co->samples) < 0)
      return 1;
    for (v = 0; v < S_COUNT; v++)
      if (bench_series_alloc(cr->spawn_ph[p][v], PH_COUNT, co->samples) < 0)
        return 1;
  }
  c.co = co;
  c.cr = cr;
  failed = bench_interleave("spawn", co->samples, co->places, S_COUNT, spawn_take, &c);
  for (p = 0; p < P_COUNT; p++) {
    bench_series_done(cr->spawn[p], S_COUNT);
    for (v = 0; v < S_COUNT; v++)
      bench_series_done(cr->spawn_ph[p][v], PH_COUNT);
  }
  cr->spawn_done = 1;
  return failed;
}

/* ---- keeper start: the first spawn in a fresh process ---- */

/* Hidden mode: two spawn + wait of prog, timed; writes both durations. */
int bench_hidden_first_spawn(const char *kind, const char *prog) {
  uint64_t t[3], out[2];
  int tether = strcmp(kind, "tether") == 0;
  (void)alarm(CHILD_TIMEOUT_S);
  t[0] = bench_now_ns();
  if ((tether ? spawn_tether(prog) : spawn_untethered(prog, 0)) < 0)
    return 60;
  t[1] = bench_now_ns();
  if ((tether ? spawn_tether(prog) : spawn_untethered(prog, 0)) < 0)
    return 61;
  t[2] = bench_now_ns();
  out[0] = t[1] - t[0];
  out[1] = t[2] - t[1];
  return bench_write_all(1, out, sizeof(out)) < 0 ? 62 : 0;
}

/* The keeper start: first spawns in fresh processes (the hidden mode above,
 * an exec of this binary), tether and plain posix_spawn interleaved. Each
 * kind fills three series from `first`: first spawn, second spawn, first -
 * second. 0, or 1 when a run failed. */
int bench_first_spawn_step(const bench_child_opts *co, bench_child_results *cr) {
  static const struct {
    const char *kind;
    int first;
  } kinds[] = {{"tether", F_TETHER_FIRST}, {"posix", F_POSIX_FIRST}};
  int i, failed = 0;
  size_t k;
  if (bench_series_alloc(cr->first, F_COUNT, (int)co->first_runs) < 0)
    return 1;
  fprintf(stderr, "tether_bench: first spawn, %ld fresh processes each\n", co->first_runs);
  for (i = 0; i < co->first_runs; i++)
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
      char *argv[5];
      uint64_t out[2] = {0, 0};
      double a, b;
      bench_series *s = &cr->first[kinds[k].first];
      argv[0] = bench_self;
      argv[1] = (char *)"--first-spawn";
      argv[2] = (char *)kinds[k].kind;
      argv[3] = bench_true;
      argv[4] = NULL;
      if (bench_run_self(argv, out, sizeof(out)) < 0) {
        failed = 1;
        continue;
      }
      a = (double)out[0] / 1000.0;
      b = (double)out[1] / 1000.0;
      bench_series_add(&s[0], a);
      bench_series_add(&s[1], b);
      bench_series_add(&s[2], a - b);
    }
  bench_series_done(cr->first, F_COUNT);
  cr->first_done = 1;
  return failed;
}
