/* SPDX-License-Identifier: MIT */
/*
 * children_mem.c: memory of tethered children: the guard's, the program's per live child, and the
 * copy-on-write share of the program's heap.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- memory: the keeper, and per tethered child in the parent ---- */

/* What tether_spawn needs to start this binary in --pause mode, stdio on
 * /dev/null. Prepared before a timed spawn. */
static void paused_spawn_args(tether_spawn_options *so, const char *argv[3]) {
  int i;
  tether_spawn_options_init(so, TETHER_SPAWN_OPTIONS_VERSION);
  so->flags = TETHER_SPAWN_NO_SEARCH;
  for (i = 0; i < 3; i++)
    so->stdio[i].mode = TETHER_STDIO_NULL;
  argv[0] = bench_self;
  argv[1] = "--pause";
  argv[2] = NULL;
}

/* Hidden mode --children-mem N: hold N live tethered children (this binary
 * in --pause mode, stdio on /dev/null); write a cmem_result to stdout. */
int bench_hidden_children_mem(long n) {
  static tether_child *kids[1000];
  const char *argv[3];
  tether_spawn_options so;
  bench_cmem_result r;
  pid_t keeper;
  long i;
  (void)alarm(CHILD_TIMEOUT_S);
  if (n < 2 || n > 1000)
    return 100;
  memset(&r, 0, sizeof(r));
  paused_spawn_args(&so, argv);
  r.n = n;
  (void)bench_mem_now(); /* warm up opendir/readdir's own allocations */
  r.base = bench_mem_now();
  r.thr_base = bench_self_threads();
  if (tether_spawn(&kids[0], argv, &so) < 0)
    return 101;
  r.one = bench_mem_now();
  r.thr_one = bench_self_threads();
  keeper = bench_find_keeper(getpid());
  if (keeper < 0)
    return 102;
  r.keeper_one = bench_proc_mem(keeper);
  r.self_one = bench_proc_mem(getpid());
  for (i = 1; i < n; i++)
    if (tether_spawn(&kids[i], argv, &so) < 0)
      return 103;
  r.all = bench_mem_now();
  r.thr_all = bench_self_threads();
  r.keeper_all = bench_proc_mem(keeper);
  r.ok = 1;
  for (i = 0; i < n; i++)
    tether_child_free(kids[i]);
  return bench_write_all(1, &r, sizeof(r)) < 0 ? 104 : 0;
}

/* Write every byte of p (volatile: not a dead store before free). */
static void scribble(unsigned char *p, size_t len, unsigned char v) {
  volatile unsigned char *q = p;
  size_t i;
  for (i = 0; i < len; i++)
    q[i] = v;
}

/* Hidden mode --keeper-cow MIB. */
int bench_hidden_keeper_cow(long mib) {
  const char *argv[3];
  tether_spawn_options so;
  tether_child *c = NULL;
  bench_cow_result r;
  size_t len = (size_t)mib << 20;
  unsigned char *ballast;
  pid_t keeper;
  (void)alarm(CHILD_TIMEOUT_S);
  memset(&r, 0, sizeof(r));
  r.mib = mib;
  ballast = (unsigned char *)malloc(len);
  if (ballast == NULL)
    return 110;
  uint64_t t0;
  scribble(ballast, len, 1);
  t0 = bench_now_ns();
  scribble(ballast, len, 3);
  r.write_before_ms = (double)(bench_now_ns() - t0) / 1e6;
  r.self_before = bench_proc_mem(getpid());
  paused_spawn_args(&so, argv);
  t0 = bench_now_ns();
  if (tether_spawn(&c, argv, &so) < 0)
    return 111;
  r.first_spawn_ms = (double)(bench_now_ns() - t0) / 1e6;
  keeper = bench_find_keeper(getpid());
  if (keeper < 0)
    return 112;
  r.keeper_spawned = bench_proc_mem(keeper);
  t0 = bench_now_ns();
  scribble(ballast, len, 2); /* the program goes on writing its memory */
  r.write_after_ms = (double)(bench_now_ns() - t0) / 1e6;
  r.keeper_rewritten = bench_proc_mem(keeper);
  r.ok = 1;
  tether_child_free(c);
  free(ballast);
  return bench_write_all(1, &r, sizeof(r)) < 0 ? 113 : 0;
}

/* Run a hidden mode `mode arg` of this binary; its result, `size` bytes,
 * into out. 0 or -1. */
static int run_hidden(const char *mode, long arg, void *out, size_t size) {
  char nbuf[32], *argv[4];
  (void)snprintf(nbuf, sizeof(nbuf), "%ld", arg);
  argv[0] = bench_self;
  argv[1] = (char *)mode;
  argv[2] = nbuf;
  argv[3] = NULL;
  return bench_run_self(argv, out, size);
}

/* The last step of the children: the guard's memory and the program's per
 * child, then the copy-on-write test. 0, or 1 when either failed. */
int bench_children_mem_step(const bench_child_opts *co, bench_child_results *cr) {
  fprintf(stderr, "tether_bench: keeper and per-child memory\n");
  if (run_hidden("--children-mem", CMEM_CHILDREN, &cr->cmem, sizeof(cr->cmem)) < 0)
    cr->cmem.ok = 0;
  if (run_hidden("--keeper-cow", co->cow_mib, &cr->cow, sizeof(cr->cow)) < 0)
    cr->cow.ok = 0;
  cr->cmem_done = 1;
  if (!cr->cmem.ok || !cr->cow.ok) {
    fprintf(stderr, "tether_bench: children memory measurement failed\n");
    return 1;
  }
  return 0;
}
