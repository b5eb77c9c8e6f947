/* SPDX-License-Identifier: MIT */
/*
 * children.c: the tethered-children measurements run in order (spawn, first spawn, tree teardown,
 * parent SIGKILL, memory), and the hidden modes in which the bench re-runs itself for them.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Tethered children: spawn latency, keeper start, tree teardown, parent   */
/* death, memory                                                            */
/* ------------------------------------------------------------------------ */

/* The bench re-runs itself (bench_self) in hidden modes for the programs these
 * measurements need: a tree of sleeping processes, a "middle" process that
 * tether_spawns a child which forks a grandchild, a fresh process that does
 * its first spawns, one that holds 100 live tethered children.
 *
 * Every process that may be left an orphan is re-parented to a bench
 * process made a child subreaper (PR_SET_CHILD_SUBREAPER), which reaps it:
 * nothing is left to init (which may not reap at all, e.g. in containers),
 * and a keeper winding down after a sample has finished before the next
 * sample starts. */

char bench_self[PATH_MAX]; /* this executable */
char bench_true[PATH_MAX]; /* "true", resolved once on PATH */

static int resolve_self(void) {
  ssize_t n = readlink("/proc/self/exe", bench_self, sizeof(bench_self) - 1);
  if (n <= 0) {
    bench_self[0] = '\0';
    return -1;
  }
  bench_self[n] = '\0';
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

/* Find this executable and `true`, become the subreaper of the orphans
 * of the steps. 0, or -1 (said on stderr). */
static int children_setup(bench_child_results *cr) {
  cr->have_self = resolve_self() == 0;
  cr->have_true = resolve_on_path("true", bench_true, sizeof(bench_true)) == 0;
  if (!cr->have_self || !cr->have_true) {
    fprintf(stderr, "tether_bench: children: cannot find %s\n",
            cr->have_self ? "\"true\" on PATH" : "/proc/self/exe");
    return -1;
  }
  bench_become_subreaper();
  return 0;
}

/* The children measurements asked for (co->only), in order. 0, or 1 when
 * one could not be taken. */
int bench_run_children(const bench_child_opts *co, bench_child_results *cr) {
  static const struct {
    unsigned bits;
    int (*step)(const bench_child_opts *co, bench_child_results *cr);
  } steps[] = {
      {B_SPAWN_ALL, bench_spawn_step},   /* 1. spawn + wait */
      {B_FIRST, bench_first_spawn_step}, /* the guard start */
      {B_TREE, bench_tree_step},         /* 2. tree teardown */
      {B_KILL, bench_kill_step},         /* 3. parent SIGKILL */
      {B_CMEM, bench_children_mem_step}, /* memory */
  };
  size_t k;
  int failed = 0;
  if ((co->only & B_CHILDREN) == 0)
    return 0;
  if (children_setup(cr) < 0)
    return 1;
  for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
    if ((co->only & steps[k].bits) && steps[k].step(co, cr) != 0)
      failed = 1;
  return failed;
}

void bench_free_children(bench_child_results *cr) {
  int p, v;
  for (p = 0; p < P_COUNT; p++) {
    bench_series_free(cr->spawn[p], S_COUNT);
    for (v = 0; v < S_COUNT; v++)
      bench_series_free(cr->spawn_ph[p][v], PH_COUNT);
  }
  bench_series_free(cr->first, F_COUNT);
  bench_series_free(cr->tree, T_COUNT);
  bench_series_free(cr->tree_phase, T_COUNT);
  bench_series_free(cr->kill, K_COUNT);
}

/* The hidden modes; -1 when argv is not one of them. */
int bench_hidden_main(int argc, char **argv) {
  long n;
  if (argc < 2)
    return -1;
  if (strcmp(argv[1], "--tree") == 0 && argc == 3 && bench_parse_long(argv[2], 1, &n) == 0)
    return bench_hidden_tree(n);
  if (strcmp(argv[1], "--pause") == 0) {
    (void)alarm(CHILD_TIMEOUT_S);
    bench_pause_forever();
  }
  if (strcmp(argv[1], "--forker") == 0)
    return bench_hidden_forker();
  if (strcmp(argv[1], "--middle") == 0)
    return resolve_self() < 0 ? 2 : bench_hidden_middle();
  if (strcmp(argv[1], "--first-spawn") == 0 && argc == 4)
    return bench_hidden_first_spawn(argv[2], argv[3]);
  if (strcmp(argv[1], "--children-mem") == 0 && argc == 3 && bench_parse_long(argv[2], 2, &n) == 0)
    return resolve_self() < 0 ? 2 : bench_hidden_children_mem(n);
  if (strcmp(argv[1], "--keeper-cow") == 0 && argc == 3 && bench_parse_long(argv[2], 1, &n) == 0 &&
      n <= 4096)
    return resolve_self() < 0 ? 2 : bench_hidden_keeper_cow(n);
  return -1;
}
