/* SPDX-License-Identifier: MIT */
/*
 * children.c: the tethered-children measurements run in order (spawn, first spawn, tree teardown,
 * parent SIGKILL, memory), and the hidden modes in which the bench re-runs itself for them.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Run a hidden mode `mode arg` in a fresh process; read `size` bytes of
 * result from its stdout. 0 or -1. */
static int run_hidden(const char *mode, long arg, void *out, size_t size) {
  char nbuf[32], *argv[4];
  int p[2], ok;
  pid_t pid;
  (void)snprintf(nbuf, sizeof(nbuf), "%ld", arg);
  argv[0] = bench_self;
  argv[1] = (char *)mode;
  argv[2] = nbuf;
  argv[3] = NULL;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (bench_spawn_plain(&pid, argv, p[1], 0) < 0) {
    (void)close(p[0]);
    (void)close(p[1]);
    return -1;
  }
  (void)close(p[1]);
  ok = bench_read_all(p[0], out, size) == 0;
  (void)close(p[0]);
  ok = bench_wait_ok(pid) == 0 && ok;
  (void)bench_reap_strays(5000);
  return ok ? 0 : -1;
}

int bench_run_children(const bench_child_opts *co, bench_child_results *cr) {
  int s, v, p, i, k, failed = 0;
  unsigned want = co->only & B_CHILDREN;
  if (want == 0)
    return 0;
  cr->have_self = resolve_self() == 0;
  cr->have_true = resolve_on_path("true", bench_true, sizeof(bench_true)) == 0;
  if (!cr->have_self || !cr->have_true) {
    fprintf(stderr, "tether_bench: children: cannot find %s\n",
            cr->have_self ? "\"true\" on PATH" : "/proc/self/exe");
    return 1;
  }
  bench_become_subreaper();
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < S_COUNT; v++) {
      if (bench_series_alloc(&cr->spawn[p][v], co->samples) < 0)
        return 1;
      for (k = 0; k < PH_COUNT; k++)
        if (bench_series_alloc(&cr->spawn_ph[p][v][k], co->samples) < 0)
          return 1;
    }
  for (v = 0; v < T_COUNT; v++)
    if (bench_series_alloc(&cr->tree[v], co->samples) < 0 ||
        bench_series_alloc(&cr->tree_phase[v], co->samples) < 0)
      return 1;
  if (bench_series_alloc(&cr->t_first, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->t_second, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->keeper_start, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->p_first, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->p_second, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->p_cold, (int)co->first_runs) < 0 ||
      bench_series_alloc(&cr->k_child, (int)co->kill_runs) < 0 ||
      bench_series_alloc(&cr->k_grandchild, (int)co->kill_runs) < 0 ||
      bench_series_alloc(&cr->k_last, (int)co->kill_runs) < 0 ||
      bench_series_alloc(&cr->k_keeper, (int)co->kill_runs) < 0)
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
          if (!(want & B_SPAWN(v)) || !bench_spawn_mechs[v].available)
            continue;
          us = bench_spawn_sample(v, co->spawn_warmup, co->spawns,
                                  p == P_SAME_CPU ? co->first_cpu : -1, ph);
          if (us < 0) {
            fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_spawn_mechs[v].name,
                    s + 1);
            failed = 1;
            continue;
          }
          bench_series_add(&cr->spawn[p][v], us);
          for (k = 0; k < PH_COUNT; k++)
            bench_series_add(&cr->spawn_ph[p][v][k], ph[k]);
        }
      }
    }
    for (p = 0; p < P_COUNT; p++)
      for (v = 0; v < S_COUNT; v++) {
        bench_series_done(&cr->spawn[p][v]);
        for (k = 0; k < PH_COUNT; k++)
          bench_series_done(&cr->spawn_ph[p][v][k]);
      }
    cr->spawn_done = 1;
  }

  /* Keeper start: first spawns in fresh processes, tether and plain
   * posix_spawn interleaved. */
  if (want & B_FIRST) {
    fprintf(stderr, "tether_bench: first spawn, %ld fresh processes each\n", co->first_runs);
    for (i = 0; i < co->first_runs; i++) {
      double a, b;
      if (bench_first_spawn_run("tether", &a, &b) < 0) {
        failed = 1;
      } else {
        bench_series_add(&cr->t_first, a);
        bench_series_add(&cr->t_second, b);
        bench_series_add(&cr->keeper_start, a - b);
      }
      if (bench_first_spawn_run("posix", &a, &b) < 0) {
        failed = 1;
      } else {
        bench_series_add(&cr->p_first, a);
        bench_series_add(&cr->p_second, b);
        bench_series_add(&cr->p_cold, a - b);
      }
    }
    bench_series_done(&cr->t_first);
    bench_series_done(&cr->t_second);
    bench_series_done(&cr->keeper_start);
    bench_series_done(&cr->p_first);
    bench_series_done(&cr->p_second);
    bench_series_done(&cr->p_cold);
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
        _exit(bench_tree_worker(co->samples, co->tree_n, res[1]));
      }
      (void)close(res[1]);
      for (s = 0; pid > 0 && s < co->samples; s++)
        for (v = 0; v < T_COUNT; v++) {
          double out[2];
          if (bench_read_all(res[0], out, sizeof(out)) < 0) {
            failed = 1;
            s = co->samples;
            break;
          }
          if (out[0] < 0) {
            fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_tree_mechs[v].name,
                    s + 1);
            failed = 1;
            continue;
          }
          bench_series_add(&cr->tree[v], out[0]);
          bench_series_add(&cr->tree_phase[v], out[1]);
        }
      (void)close(res[0]);
      if (pid > 0)
        bench_report_child("teardown", "worker", pid);
      else
        failed = 1;
      (void)bench_reap_strays(5000);
    } else {
      failed = 1;
    }
    for (v = 0; v < T_COUNT; v++) {
      bench_series_done(&cr->tree[v]);
      bench_series_done(&cr->tree_phase[v]);
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
        _exit(bench_kill_worker((int)co->kill_runs, res[1]));
      }
      (void)close(res[1]);
      for (i = 0; pid > 0 && i < co->kill_runs; i++) {
        bench_kill_run kr;
        if (bench_read_all(res[0], &kr, sizeof(kr)) < 0) {
          failed = 1;
          break;
        }
        if (kr.child_ms < 0 || kr.grandchild_ms < 0) {
          cr->kill_failed++;
          failed = 1;
          continue;
        }
        bench_series_add(&cr->k_child, kr.child_ms);
        bench_series_add(&cr->k_grandchild, kr.grandchild_ms);
        bench_series_add(&cr->k_last,
                         kr.child_ms > kr.grandchild_ms ? kr.child_ms : kr.grandchild_ms);
        if (kr.keeper_ms >= 0)
          bench_series_add(&cr->k_keeper, kr.keeper_ms);
      }
      (void)close(res[0]);
      if (pid > 0)
        bench_report_child("parent kill", "worker", pid);
      else
        failed = 1;
      (void)bench_reap_strays(5000);
    } else {
      failed = 1;
    }
    bench_series_done(&cr->k_child);
    bench_series_done(&cr->k_grandchild);
    bench_series_done(&cr->k_last);
    bench_series_done(&cr->k_keeper);
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

void bench_free_children(bench_child_results *cr) {
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
