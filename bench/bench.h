/* SPDX-License-Identifier: MIT */
/*
 * bench.h: what the files of tether_bench share: the variants measured,
 * the result types, and the functions one file calls in another. Every
 * file of the bench includes it first (it sets the feature-test macro
 * before any system header). Linux/POSIX only. See main.c for what the
 * bench measures, and docs/performance.md.
 *
 *   main.c            options and main
 *   util.c            time, whole reads/writes, statistics, processes
 *   proc.c            what is read from /proc
 *   signals.c         1. the signal round trip
 *   idle.c            2. the idle cost of a channel, memory per channel
 *   children.c        3. tethered children: the steps in order, hidden modes
 *   children_spawn.c     spawn + wait; the first spawn (guard start)
 *   children_tree.c      tree teardown; parent SIGKILL
 *   children_mem.c       the guard's memory, memory per child
 *   machine.c         the machine and build description
 *   report.c          the markdown report and the JSON
 */
#ifndef TETHER_BENCH_H
#define TETHER_BENCH_H

#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tether.h"

#define CHILD_TIMEOUT_S 300 /* a stuck child dies of SIGALRM */

#define TREE_DEFAULT 200
#define TREE_MAX 4096
#define TREE_FANOUT 20    /* the leader's children have 19 children each */
#define KILL_POLL_US 100  /* /proc polling period of the parent-kill test */
#define CMEM_CHILDREN 100 /* live tethered children of the memory test */

/* ---- variants ---- */

/* Round-trip mechanisms (signals.c). */
enum { V_TETHER_WAIT, V_TETHER_POLL, V_SIGWAIT, V_SELFPIPE, V_LIBUV, V_COUNT };

/* Placements of the processes of a sample (round trip, spawn). */
enum { P_FREE, P_SAME_CPU, P_COUNT };

/* Spawn mechanisms (children_spawn.c). */
enum { S_TETHER, S_TETHER_PATH, S_POSIX, S_FORK, S_LIBUV, S_COUNT };

/* Phases of one spawn, accumulated in nanoseconds: [0] the start call
 * returned, [1] the exit was seen, [2] the child was released (tether:
 * tether_child_free; others: nothing left to do, 0). */
enum { PH_START, PH_EXIT, PH_RELEASE, PH_COUNT };

/* Tree teardown variants (children_tree.c). */
enum { T_FREE, T_WAIT_TREE, T_RAW, T_COUNT };

/* Series of the first spawn in a fresh process, microseconds: tether's
 * first and second spawn and their difference (the guard start), the same
 * for posix_spawn (the cold start of any first spawn). */
enum {
  F_TETHER_FIRST,
  F_TETHER_SECOND,
  F_GUARD,
  F_POSIX_FIRST,
  F_POSIX_SECOND,
  F_POSIX_COLD,
  F_COUNT
};

/* Series of the parent SIGKILL, ms after the kill: the child dead, the
 * grandchild, the later of the two, the guard exited. */
enum { K_CHILD, K_GRANDCHILD, K_LAST, K_GUARD, K_COUNT };

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

typedef struct bench_rt_mech {
  const char *name;  /* JSON key, --only */
  const char *label; /* table */
  const char *what;  /* one line for the JSON */
  int (*setup)(void);
  int (*wait1)(void);
  int available;
} bench_rt_mech;

typedef struct bench_spawn_mech {
  const char *name, *label, *what;
  int available;
} bench_spawn_mech;

typedef struct bench_tree_mech {
  const char *name, *label, *what, *phase;
} bench_tree_mech;

/* ---- samples ---- */

typedef struct bench_stats {
  double min, median, max;
} bench_stats;

/* Growable-free sample series (capacity fixed at allocation). */
typedef struct bench_series {
  double *v;
  int n, cap;
  bench_stats st;
} bench_series;

/* ---- results ---- */

typedef struct bench_proc_status {
  long vcsw, ivcsw, threads;
  char state[32];
} bench_proc_status;

typedef struct bench_idle_child_report {
  long vcsw, ivcsw; /* getrusage delta across the whole wait */
  int64_t cpu_ns;   /* CPU time across the whole wait */
  int kind;         /* event that ended the wait */
  int rc;
} bench_idle_child_report;

typedef struct bench_idle_result {
  int ok;
  double window_s;
  long win_vcsw, win_ivcsw, threads;
  int64_t win_cpu_ns;
  char state[32], wchan[64], syscall_nr[16];
  bench_idle_child_report child;
} bench_idle_result;

typedef struct bench_mem_point {
  long rss_kib;    /* /proc/self/statm resident (file-backed pages too) */
  long anon_kib;   /* /proc/self/status RssAnon: private memory */
  long heap_bytes; /* mallinfo2 in-use bytes, -1 unknown */
  long fds;        /* open descriptors */
} bench_mem_point;

typedef struct bench_mem_result {
  int ok;
  bench_mem_point base, one, hundred;
} bench_mem_result;

typedef struct bench_kmem {
  long vmrss, anon, pss, priv; /* KiB; priv = Private_Clean + Private_Dirty */
} bench_kmem;

typedef struct bench_cmem_result {
  int ok;
  long n;
  bench_mem_point base, one, all; /* this process: before, 1 child, n children */
  long thr_base, thr_one, thr_all;
  bench_kmem keeper_one, keeper_all, self_one;
} bench_cmem_result;

/* The keeper is a fork that never execs: it maps the program's memory of
 * the moment of the first spawn, copy-on-write. Every page the program
 * writes afterwards is copied for the program, and the old one stays with
 * the keeper alone. This measures that with a program holding `mib` MiB of
 * written heap at its first spawn, which it then rewrites. */
typedef struct bench_cow_result {
  int ok;
  long mib;
  bench_kmem self_before, keeper_spawned, keeper_rewritten;
  double write_before_ms, write_after_ms; /* rewriting the heap, program */
  double first_spawn_ms;                  /* tether_spawn, keeper start */
} bench_cow_result;

typedef struct bench_child_opts {
  unsigned only;
  unsigned places;
  int samples, first_cpu;
  long spawns, spawn_warmup, tree_n, kill_runs, first_runs, cow_mib;
} bench_child_opts;

typedef struct bench_child_results {
  int have_self, have_true;
  int spawn_done, first_done, tree_done, kill_done, cmem_done;
  bench_series spawn[P_COUNT][S_COUNT];
  bench_series spawn_ph[P_COUNT][S_COUNT][PH_COUNT];
  bench_series first[F_COUNT];
  bench_series tree[T_COUNT], tree_phase[T_COUNT];
  int tree_pidfd;
  bench_series kill[K_COUNT];
  int kill_failed;
  bench_cmem_result cmem;
  bench_cow_result cow;
} bench_child_results;

typedef struct bench_machine {
  char cpu[128], kernel[320], clocksource[64], date[32], libc[32], libuv[32];
  char load_start[128], load_end[128]; /* /proc/loadavg: 1, 5, 15 min */
  long cores;
  int allowed;   /* CPUs this process may run on */
  int first_cpu; /* the lowest of them: the CPU of the same-CPU placement */
} bench_machine;

typedef struct bench_options {
  int quick, samples, idle_ms, no_idle;
  unsigned places; /* bit per P_* */
  long rounds, warmup;
  unsigned only; /* bit per V_* and B_* item */
  const char *json;
  const char *source; /* --source: what was built (free text) */
  bench_child_opts co;
} bench_options;

typedef struct bench_results {
  bench_series rt[P_COUNT][V_COUNT]; /* round trip, us */
  bench_idle_result idle;
  bench_mem_result mem;
  int idle_done;
  bench_child_results ch;
} bench_results;

/* ---- functions and tables, by file ---- */

/* children.c */
int bench_run_children(const bench_child_opts *co, bench_child_results *cr);
void bench_free_children(bench_child_results *cr);
int bench_hidden_main(int argc, char **argv);
extern char bench_self[PATH_MAX];
extern char bench_true[PATH_MAX];

/* children_mem.c */
int bench_hidden_children_mem(long n);
int bench_hidden_keeper_cow(long mib);
int bench_children_mem_step(const bench_child_opts *co, bench_child_results *cr);

/* children_spawn.c */
int bench_spawn_step(const bench_child_opts *co, bench_child_results *cr);
int bench_first_spawn_step(const bench_child_opts *co, bench_child_results *cr);
int bench_hidden_first_spawn(const char *kind, const char *prog);
extern const bench_spawn_mech bench_spawn_mechs[S_COUNT];

/* children_tree.c */
int bench_hidden_tree(long n);
int bench_tree_step(const bench_child_opts *co, bench_child_results *cr);
int bench_kill_step(const bench_child_opts *co, bench_child_results *cr);
int bench_hidden_forker(void);
int bench_hidden_middle(void);
extern const bench_tree_mech bench_tree_mechs[T_COUNT];

/* idle.c */
int bench_idle_step(const bench_options *o, bench_results *r);

/* machine.c */
void bench_read_load(char *out, size_t cap);
void bench_describe_machine(bench_machine *m);

/* proc.c */
int bench_read_status(pid_t pid, bench_proc_status *st);
bench_mem_point bench_mem_now(void);
int bench_proc_dead(pid_t pid);
int bench_group_live_count(pid_t pgid);
pid_t bench_find_keeper(pid_t parent);
bench_kmem bench_proc_mem(pid_t pid);
long bench_self_threads(void);

/* report.c */
int bench_write_json(const char *path, const bench_options *o, const bench_machine *m,
                     const bench_results *r);
void bench_print_report(const bench_options *o, const bench_machine *m, const bench_results *res);

/* signals.c */
int bench_roundtrip_step(const bench_options *o, int first_cpu, bench_results *r);
extern const bench_rt_mech bench_rt_mechs[V_COUNT];

/* util.c */
uint64_t bench_now_ns(void);
int bench_write_all(int fd, const void *buf, size_t n);
int bench_read_all(int fd, void *buf, size_t n);
int bench_read_text(const char *path, char *buf, size_t cap);
void bench_copy_until(char *dst, size_t cap, const char *src, const char *stop);
bench_stats bench_compute_stats(const double *v, int n);
void bench_report_child(const char *who, const char *what, pid_t pid);
void bench_pin_self(int pin_cpu);
void bench_sleep_us(long us);
void bench_pause_forever(void);
void bench_become_subreaper(void);
int bench_reap_strays(int max_ms);
int bench_wait_ok(pid_t pid);
int bench_spawn_plain(pid_t *pid, char *const *argv, int out_fd, int new_group);
int bench_series_alloc(bench_series *s, int n, int cap);
void bench_series_add(bench_series *s, double x);
void bench_series_done(bench_series *s, int n);
void bench_series_free(bench_series *s, int n);
int bench_fork_worker(int (*fn)(void *arg, int res_fd), void *arg, int pin_cpu, pid_t *pid);
int bench_spawn_reading(char *const *argv, pid_t *pid);
int bench_run_self(char *const *argv, void *out, size_t size);
int bench_interleave(const char *what, int samples, unsigned places, int nvar,
                     int (*take)(void *ctx, int s, int p, int v), void *ctx);
int bench_parse_long(const char *s, long lo, long *out);

#endif
