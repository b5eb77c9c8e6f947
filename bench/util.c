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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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

void bench_sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

int bench_write_all(int fd, const void *buf, size_t n) {
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
int bench_read_all(int fd, void *buf, size_t n) {
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

void bench_report_child(const char *who, const char *what, pid_t pid) {
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
void bench_pin_self(int pin_cpu) {
  cpu_set_t set;
  if (pin_cpu < 0)
    return;
  CPU_ZERO(&set);
  CPU_SET(pin_cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) < 0)
    _exit(9);
}

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

int bench_series_alloc(bench_series *s, int cap) {
  memset(s, 0, sizeof(*s));
  s->v = (double *)calloc((size_t)(cap > 0 ? cap : 1), sizeof(double));
  s->cap = cap;
  return s->v != NULL ? 0 : -1;
}

void bench_series_add(bench_series *s, double x) {
  if (s->n < s->cap)
    s->v[s->n++] = x;
}

void bench_series_done(bench_series *s) {
  if (s->n > 0)
    s->st = bench_compute_stats(s->v, s->n);
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
