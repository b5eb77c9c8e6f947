/* SPDX-License-Identifier: MIT */
/*
 * util.c: common utilities of tether_bench: time, whole reads and writes, statistics over samples,
 * and the processes the benchmarks run (fork, posix_spawn, reaping).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

uint64_t bench_now_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Move exactly n bytes (a write when writing, else a read), resuming after
 * EINTR and short transfers. 0, or -1 on error or EOF. */
static int transfer_all(int fd, char *p, size_t n, int writing) {
  while (n > 0) {
    ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
    if (k > 0) {
      p += k;
      n -= (size_t)k;
    } else if (k == 0 || errno != EINTR) {
      return -1;
    }
  }
  return 0;
}

int bench_write_all(int fd, const void *buf, size_t n) {
  return transfer_all(fd, (char *)buf, n, 1);
}

/* 0 on success, -1 on EOF or error. */
int bench_read_all(int fd, void *buf, size_t n) { return transfer_all(fd, (char *)buf, n, 0); }

/* Read a small file into buf (NUL-terminated, trailing newline removed).
 * Uses read(2) rather than stdio so that it allocates nothing. */
int bench_read_text(const char *path, char *buf, size_t cap) {
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

bench_stats bench_compute_stats(const double *v, int n) {
  bench_stats s;
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

/* Copy src into dst (cap bytes with the NUL), up to the first character
 * of `stop` or the end. */
void bench_copy_until(char *dst, size_t cap, const char *src, const char *stop) {
  size_t n = strcspn(src, stop);
  if (n > cap - 1)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Reap pid; say on stderr when it failed (who, what: the measurement and the
 * role of that process). */
void bench_report_child(const char *who, const char *what, pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) < 0)
    return;
  if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
    fprintf(stderr, "tether_bench: %s %s: child exited with code %d\n", who, what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    fprintf(stderr, "tether_bench: %s %s: child killed by signal %d\n", who, what, WTERMSIG(st));
}

/* Pin the calling process to one CPU (pin_cpu >= 0). */
void bench_pin_self(int pin_cpu) {
  cpu_set_t set;
  if (pin_cpu < 0)
    return;
  CPU_ZERO(&set);
  CPU_SET(pin_cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) < 0)
    _exit(9);
}

/* Sleep us microseconds (resumed after a signal). */
void bench_sleep_us(long us) {
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = (us % 1000000) * 1000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

void bench_pause_forever(void) {
  for (;;)
    (void)pause();
}

void bench_become_subreaper(void) {
#if defined(PR_SET_CHILD_SUBREAPER)
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
}

/* Reap every child, waiting up to max_ms for them to end: orphans handed to
 * this subreaper, e.g. a keeper winding down after its program exited. */
int bench_reap_strays(int max_ms) {
  uint64_t end = bench_now_ns() + (uint64_t)max_ms * 1000000u;
  for (;;) {
    pid_t p = waitpid(-1, NULL, WNOHANG);
    if (p > 0 || (p < 0 && errno == EINTR))
      continue;
    if (p < 0)
      return 0; /* ECHILD: none left */
    if (bench_now_ns() >= end) {
      fprintf(stderr, "tether_bench: a child is still running after %d ms\n", max_ms);
      return -1;
    }
    bench_sleep_us(200);
  }
}

/* Exit status 0? (-1 otherwise.) */
int bench_wait_ok(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* posix_spawn `argv` (argv[0] an absolute path) with stdout on `out_fd`
 * (-1: inherited), in a new process group when new_group. */
int bench_spawn_plain(pid_t *pid, char *const *argv, int out_fd, int new_group) {
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

/* n series of capacity cap each. 0, or -1 when out of memory. */
int bench_series_alloc(bench_series *s, int n, int cap) {
  int i;
  for (i = 0; i < n; i++) {
    memset(&s[i], 0, sizeof(s[i]));
    s[i].v = (double *)calloc((size_t)(cap > 0 ? cap : 1), sizeof(double));
    s[i].cap = cap;
    if (s[i].v == NULL)
      return -1;
  }
  return 0;
}

void bench_series_add(bench_series *s, double x) {
  if (s->n < s->cap)
    s->v[s->n++] = x;
}

/* The statistics of n series, once their samples are in. */
void bench_series_done(bench_series *s, int n) {
  int i;
  for (i = 0; i < n; i++)
    if (s[i].n > 0)
      s[i].st = bench_compute_stats(s[i].v, s[i].n);
}

void bench_series_free(bench_series *s, int n) {
  int i;
  for (i = 0; i < n; i++)
    free(s[i].v);
}

/* Fork a worker: the child (pinned to pin_cpu when it is >= 0; a stuck one
 * dies of SIGALRM) runs fn(arg, fd), fd the write end of a pipe, and exits
 * with what it returns. The read end for the parent, or -1; *pid is the
 * worker. */
int bench_fork_worker(int (*fn)(void *arg, int res_fd), void *arg, int pin_cpu, pid_t *pid) {
  int res[2];
  if (pipe2(res, O_CLOEXEC) < 0)
    return -1;
  fflush(NULL);
  *pid = fork();
  if (*pid < 0) {
    (void)close(res[0]);
    (void)close(res[1]);
    return -1;
  }
  if (*pid == 0) {
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    bench_pin_self(pin_cpu);
    _exit(fn(arg, res[1]));
  }
  (void)close(res[1]);
  return res[0];
}

/* posix_spawn argv (argv[0] an absolute path) with its stdout on a pipe.
 * The read end, or -1; *pid the process. */
int bench_spawn_reading(char *const *argv, pid_t *pid) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (bench_spawn_plain(pid, argv, p[1], 0) < 0) {
    (void)close(p[0]);
    (void)close(p[1]);
    return -1;
  }
  (void)close(p[1]);
  return p[0];
}

/* Run this executable as argv (argv[0] = bench_self: a hidden mode) in a
 * fresh process; read `size` bytes of result from its stdout, then reap it
 * and the orphans it leaves (its guard winding down). 0, or -1 unless all
 * went well and it exited with 0. */
int bench_run_self(char *const *argv, void *out, size_t size) {
  int fd, ok;
  pid_t pid;
  fd = bench_spawn_reading(argv, &pid);
  if (fd < 0)
    return -1;
  ok = bench_read_all(fd, out, size) == 0;
  (void)close(fd);
  ok = bench_wait_ok(pid) == 0 && ok;
  (void)bench_reap_strays(5000);
  return ok ? 0 : -1;
}

/* The interleaved passes of a benchmark ("round trip", "spawn"): each pass
 * takes one sample of every variant v < nvar in every placement of
 * `places`, so that drift on the machine hits all of them alike.
 * take(ctx, s, p, v) takes sample s: 1, 0 when v is not measured, -1 when
 * it failed. 0, or 1 when a sample failed. */
int bench_interleave(const char *what, int samples, unsigned places, int nvar,
                     int (*take)(void *ctx, int s, int p, int v), void *ctx) {
  int s, p, v, failed = 0;
  for (s = 0; s < samples; s++) {
    fprintf(stderr, "tether_bench: %s pass %d/%d\n", what, s + 1, samples);
    for (p = 0; p < P_COUNT; p++)
      if (places & (1u << p))
        for (v = 0; v < nvar; v++)
          if (take(ctx, s, p, v) < 0)
            failed = 1;
  }
  return failed;
}

int bench_parse_long(const char *s, long lo, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo)
    return -1;
  *out = v;
  return 0;
}
