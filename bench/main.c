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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv) {
  bench_options o;
  bench_machine m;
  bench_results r;
  long samples = -1, rounds = -1, warmup = -1, idle_ms = -1, tmp;
  long spawns = -1, tree_n = -1, kill_runs = -1, first_runs = -1;
  int i, v, s, p, failed = 0;
  i = bench_hidden_main(argc, argv);
  if (i >= 0)
    return i;
  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  o.only = B_ALL;
  o.source = "unknown";
  o.places = (1u << P_COUNT) - 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      o.quick = 1;
    } else if (strcmp(a, "--no-idle") == 0) {
      o.no_idle = 1;
    } else if (val != NULL && (strcmp(a, "--spawns") == 0 || strcmp(a, "--tree-size") == 0 ||
                               strcmp(a, "--kill-runs") == 0 || strcmp(a, "--first-runs") == 0)) {
      if (bench_parse_long(val, 1, &tmp) < 0 || (strcmp(a, "--tree-size") == 0 && tmp > TREE_MAX)) {
        fprintf(stderr, "tether_bench: bad value for %s: %s\n", a, val);
        return 2;
      }
      if (strcmp(a, "--spawns") == 0)
        spawns = tmp;
      else if (strcmp(a, "--tree-size") == 0)
        tree_n = tmp;
      else if (strcmp(a, "--kill-runs") == 0)
        kill_runs = tmp;
      else
        first_runs = tmp;
      i++;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (val != NULL && strcmp(a, "--json") == 0) {
      o.json = val;
      i++;
    } else if (val != NULL && strcmp(a, "--source") == 0) {
      o.source = val;
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
    } else if (val != NULL && (strcmp(a, "--samples") == 0 || strcmp(a, "--rounds") == 0 ||
                               strcmp(a, "--warmup") == 0 || strcmp(a, "--idle-ms") == 0)) {
      long lo = strcmp(a, "--warmup") == 0 ? 0 : 1;
      if (bench_parse_long(val, lo, &tmp) < 0) {
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
  if (o.no_idle)
    o.only &= ~B_IDLE;

  bench_describe_machine(&m);
  if (m.first_cpu < 0)
    o.places &= ~(1u << P_SAME_CPU);
  o.co.only = o.only;
  o.co.places = o.places;
  o.co.samples = o.samples;
  o.co.first_cpu = m.first_cpu;
  o.co.spawns = spawns > 0 ? spawns : o.quick ? 20 : 200;
  o.co.spawn_warmup = o.quick ? 2 : 5; /* >= 1: the first starts the keeper */
  o.co.tree_n = tree_n > 0 ? tree_n : TREE_DEFAULT;
  o.co.kill_runs = kill_runs > 0 ? kill_runs : o.quick ? 5 : 100;
  o.co.first_runs = first_runs > 0 ? first_runs : o.quick ? 3 : 11;
  o.co.cow_mib = o.quick ? 16 : 64;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++) {
      r.rt[p].us[v] = (double *)calloc((size_t)o.samples, sizeof(double));
      if (r.rt[p].us[v] == NULL)
        return 1;
    }

  /* Interleaved: one sample of every variant (and placement) per pass. */
  for (s = 0; (o.only & B_ROUNDTRIP) && s < o.samples; s++) {
    fprintf(stderr, "tether_bench: round trip pass %d/%d\n", s + 1, o.samples);
    for (p = 0; p < P_COUNT; p++) {
      if (!(o.places & (1u << p)))
        continue;
      for (v = 0; v < V_COUNT; v++) {
        double us;
        bench_rt_set *rs = &r.rt[p];
        if (!(o.only & (1u << v)) || !bench_rt_mechs[v].available)
          continue;
        us = bench_run_sample(v, o.warmup, o.rounds, p == P_SAME_CPU ? m.first_cpu : -1);
        if (us < 0) {
          fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_rt_mechs[v].name, s + 1);
          failed = 1;
          continue;
        }
        rs->us[v][rs->n[v]++] = us;
      }
    }
  }
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++) {
      bench_rt_set *rs = &r.rt[p];
      rs->have[v] = rs->n[v] > 0;
      if (rs->have[v])
        rs->st[v] = bench_compute_stats(rs->us[v], rs->n[v]);
    }

  if (o.only & B_IDLE) {
    fprintf(stderr, "tether_bench: idle window %d ms\n", o.idle_ms);
    r.idle = bench_run_idle(o.idle_ms);
    r.idle_done = 1;
    if (!r.idle.ok) {
      fprintf(stderr, "tether_bench: idle measurement failed\n");
      failed = 1;
    }
    r.mem = bench_run_mem();
    if (!r.mem.ok) {
      fprintf(stderr, "tether_bench: memory measurement failed\n");
      failed = 1;
    }
  }

  if (bench_run_children(&o.co, &r.ch) != 0)
    failed = 1;

  bench_read_load(m.load_end, sizeof(m.load_end));
  bench_print_report(&o, &m, &r);
  fflush(stdout);
  if (o.json != NULL && bench_write_json(o.json, &o, &m, &r) < 0)
    failed = 1;
  for (p = 0; p < P_COUNT; p++)
    for (v = 0; v < V_COUNT; v++)
      free(r.rt[p].us[v]);
  bench_free_children(&r.ch);
  return failed;
}
