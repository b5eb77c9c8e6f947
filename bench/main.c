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
 *
 * This file: the options and main (parse the command line, run what was
 * asked for, report). bench.h says which file does what.
 */
#include "bench.h"

#include <string.h>

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
      if (strcmp(tok, bench_rt_mechs[v].name) == 0)
        bits = 1u << v;
    for (v = 0; v < S_COUNT && bits == 0; v++)
      if (strcmp(tok, bench_spawn_mechs[v].name) == 0)
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

/* The numeric options: name, least value, greatest, default with --quick
 * and without. */
enum { N_SAMPLES, N_ROUNDS, N_WARMUP, N_IDLE_MS, N_SPAWNS, N_TREE, N_KILL, N_FIRST, N_COUNT };
static const struct {
  const char *name;
  long lo, hi, quick, full;
} g_num[N_COUNT] = {
    {"--samples", 1, LONG_MAX, 3, 21},    {"--rounds", 1, LONG_MAX, 300, 20000},
    {"--warmup", 0, LONG_MAX, 30, 2000},  {"--idle-ms", 1, LONG_MAX, 300, 2000},
    {"--spawns", 1, LONG_MAX, 20, 200},   {"--tree-size", 1, TREE_MAX, TREE_DEFAULT, TREE_DEFAULT},
    {"--kill-runs", 1, LONG_MAX, 5, 100}, {"--first-runs", 1, LONG_MAX, 3, 11},
};

/* The index in g_num of option a, or N_COUNT. */
static int num_option(const char *a) {
  int k;
  for (k = 0; k < N_COUNT; k++)
    if (strcmp(a, g_num[k].name) == 0)
      break;
  return k;
}

/* Parse the command line into o (every count set, its default when not
 * given). -1 to go on, else the exit code of the program. */
static int parse_args(int argc, char **argv, bench_options *o) {
  long num[N_COUNT];
  int i, k;
  for (k = 0; k < N_COUNT; k++)
    num[k] = -1;
  o->only = B_ALL;
  o->source = "unknown";
  o->places = (1u << P_COUNT) - 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    k = num_option(a);
    if (strcmp(a, "--quick") == 0) {
      o->quick = 1;
    } else if (strcmp(a, "--no-idle") == 0) {
      o->no_idle = 1;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (val == NULL) {
      usage(stderr);
      return 2;
    } else if (k < N_COUNT) {
      if (bench_parse_long(val, g_num[k].lo, &num[k]) < 0 || num[k] > g_num[k].hi) {
        fprintf(stderr, "tether_bench: bad value for %s: %s\n", a, val);
        return 2;
      }
      i++;
    } else if (strcmp(a, "--json") == 0) {
      o->json = val;
      i++;
    } else if (strcmp(a, "--source") == 0) {
      o->source = val;
      i++;
    } else if (strcmp(a, "--placement") == 0) {
      if (strcmp(val, "unpinned") == 0)
        o->places = 1u << P_FREE;
      else if (strcmp(val, "same-cpu") == 0)
        o->places = 1u << P_SAME_CPU;
      else if (strcmp(val, "both") == 0)
        o->places = (1u << P_COUNT) - 1;
      else {
        fprintf(stderr, "tether_bench: bad --placement: %s\n", val);
        return 2;
      }
      i++;
    } else if (strcmp(a, "--only") == 0) {
      if (parse_only(val, &o->only) < 0) {
        fprintf(stderr, "tether_bench: bad --only list: %s\n", val);
        return 2;
      }
      i++;
    } else {
      usage(stderr);
      return 2;
    }
  }
  for (k = 0; k < N_COUNT; k++)
    if (num[k] < 0)
      num[k] = o->quick ? g_num[k].quick : g_num[k].full;
  o->samples = (int)num[N_SAMPLES];
  o->rounds = num[N_ROUNDS];
  o->warmup = num[N_WARMUP];
  o->idle_ms = (int)num[N_IDLE_MS];
  if (o->no_idle)
    o->only &= ~B_IDLE;
  o->co.only = o->only;
  o->co.samples = o->samples;
  o->co.spawns = num[N_SPAWNS];
  o->co.spawn_warmup = o->quick ? 2 : 5; /* >= 1: the first starts the keeper */
  o->co.tree_n = num[N_TREE];
  o->co.kill_runs = num[N_KILL];
  o->co.first_runs = num[N_FIRST];
  o->co.cow_mib = o->quick ? 16 : 64;
  return -1;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_machine m;
  bench_results r;
  int p, rc, failed = 0;
  rc = bench_hidden_main(argc, argv);
  if (rc >= 0)
    return rc;
  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  rc = parse_args(argc, argv, &o);
  if (rc >= 0)
    return rc;
  bench_describe_machine(&m);
  if (m.first_cpu < 0)
    o.places &= ~(1u << P_SAME_CPU);
  o.co.places = o.places;
  o.co.first_cpu = m.first_cpu;

  /* 1. round trip, 2. idle, 3. children. */
  if ((o.only & B_ROUNDTRIP) && bench_roundtrip_step(&o, m.first_cpu, &r) != 0)
    failed = 1;
  if ((o.only & B_IDLE) && bench_idle_step(&o, &r) != 0)
    failed = 1;
  if (bench_run_children(&o.co, &r.ch) != 0)
    failed = 1;

  bench_read_load(m.load_end, sizeof(m.load_end));
  bench_print_report(&o, &m, &r);
  fflush(stdout);
  if (o.json != NULL && bench_write_json(o.json, &o, &m, &r) < 0)
    failed = 1;
  for (p = 0; p < P_COUNT; p++)
    bench_series_free(r.rt[p], V_COUNT);
  bench_free_children(&r.ch);
  return failed;
}
