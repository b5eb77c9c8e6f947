/* SPDX-License-Identifier: MIT */
/*
 * report.c: the results as a markdown report on stdout and as JSON.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef TETHER_BENCH_BUILD_TYPE
#define TETHER_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef TETHER_BENCH_LIB_KIND
#define TETHER_BENCH_LIB_KIND "unknown"
#endif
#ifndef TETHER_BENCH_BACKEND
#define TETHER_BENCH_BACKEND "unknown"
#endif

#if defined(__clang__) || !defined(__GNUC__)
#define BENCH_COMPILER __VERSION__
#else
#define BENCH_COMPILER "gcc " __VERSION__
#endif

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const g_place_key[P_COUNT] = {"round_trip_us", "round_trip_same_cpu_us"};

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_ratio(FILE *f, const bench_series *r, int v, int base) {
  if ((r[v].n > 0) && (r[base].n > 0) && r[base].st.median > 0)
    fprintf(f, "%.4f", r[v].st.median / r[base].st.median);
  else
    fputs("null", f);
}

/* ---- output of the children measurements ---- */

static void json_stats(FILE *f, const bench_series *s) {
  int i;
  if (s->n == 0) {
    fputs("{\"status\": \"no samples\"}", f);
    return;
  }
  fprintf(f, "{\"min\": %.4f, \"median\": %.4f, \"max\": %.4f, \"samples\": [", s->st.min,
          s->st.median, s->st.max);
  for (i = 0; i < s->n; i++)
    fprintf(f, "%s%.4f", i ? ", " : "", s->v[i]);
  fputs("]}", f);
}

static void json_series_ratio(FILE *f, const bench_series *s, const bench_series *base) {
  if (s->n > 0 && base->n > 0 && base->st.median > 0)
    fprintf(f, "%.4f", s->st.median / base->st.median);
  else
    fputs("null", f);
}

static void json_kmem(FILE *f, const bench_kmem *k) {
  fprintf(f,
          "{\"vmrss_kib\": %ld, \"rss_anon_kib\": %ld, \"pss_kib\": %ld, "
          "\"private_kib\": %ld}",
          k->vmrss, k->anon, k->pss, k->priv);
}

static void json_mem_point(FILE *f, const bench_mem_point *m, long threads) {
  fprintf(f,
          "{\"rss_kib\": %ld, \"rss_anon_kib\": %ld, \"heap_bytes\": %ld, "
          "\"fds\": %ld, \"threads\": %ld}",
          m->rss_kib, m->anon_kib, m->heap_bytes, m->fds, threads);
}

static const char *const g_phase_name[PH_COUNT] = {"start", "exit_seen", "release"};
static const char *const g_spawn_key[P_COUNT] = {"spawn_us", "spawn_same_cpu_us"};

static void json_children(FILE *f, const bench_child_opts *co, const bench_child_results *cr) {
  int p, v, k;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++) {
      if (!(co->places & (1u << p)))
        continue;
      fprintf(f, "  \"%s\": {\n    \"placement\": \"%s\",\n    \"program\": ", g_spawn_key[p],
              p == P_FREE ? "unpinned" : "bench, guard and child pinned to one CPU");
      json_str(f, bench_true);
      fprintf(f,
              ",\n    \"spawns_per_sample\": %ld,\n    "
              "\"warmup_spawns_per_sample\": %ld,\n",
              co->spawns, co->spawn_warmup);
      for (v = 0; v < S_COUNT; v++) {
        const bench_series *s = &cr->spawn[p][v];
        fprintf(f, "    \"%s\": {\"mechanism\": ", bench_spawn_mechs[v].name);
        json_str(f, bench_spawn_mechs[v].what);
        if (s->n == 0) {
          fprintf(f, ", \"status\": \"%s\"}",
                  bench_spawn_mechs[v].available ? "skipped" : "unavailable");
        } else {
          fputs(", \"status\": \"ok\", \"ratio_vs_posix_spawn\": ", f);
          json_series_ratio(f, s, &cr->spawn[p][S_POSIX]);
          fputs(", \"us\": ", f);
          json_stats(f, s);
          fputs(", \"phase_median_us\": {", f);
          for (k = 0; k < PH_COUNT; k++)
            fprintf(f, "%s\"%s\": %.4f", k ? ", " : "", g_phase_name[k],
                    cr->spawn_ph[p][v][k].st.median);
          fputs("}}", f);
        }
        fputs(v + 1 < S_COUNT ? ",\n" : "\n", f);
      }
      fputs("  },\n", f);
    }
  if (cr->first_done) {
    fputs("  \"first_spawn_us\": {\n    \"what\": \"two spawn + wait of the "
          "program in a fresh process (exec of tether_bench), tether and "
          "posix_spawn processes interleaved\",\n    \"tether_first\": ",
          f);
    json_stats(f, &cr->first[F_TETHER_FIRST]);
    fputs(",\n    \"tether_second\": ", f);
    json_stats(f, &cr->first[F_TETHER_SECOND]);
    fputs(",\n    \"keeper_start_first_minus_second\": ", f);
    json_stats(f, &cr->first[F_GUARD]);
    fputs(",\n    \"posix_spawn_first\": ", f);
    json_stats(f, &cr->first[F_POSIX_FIRST]);
    fputs(",\n    \"posix_spawn_second\": ", f);
    json_stats(f, &cr->first[F_POSIX_SECOND]);
    fputs(",\n    \"posix_spawn_first_minus_second\": ", f);
    json_stats(f, &cr->first[F_POSIX_COLD]);
    fputs("\n  },\n", f);
  }
  if (cr->tree_done) {
    fprintf(f,
            "  \"tree_teardown_ms\": {\n    \"tree_size\": %ld,\n    "
            "\"shape\": \"leader + children of %d processes each (a child "
            "and its children)\",\n    \"detection\": \"%s\",\n",
            co->tree_n, TREE_FANOUT,
            cr->tree_pidfd ? "a pidfd per member, poll() until all readable "
                             "(exited: zombie or reaped)"
                           : "/proc/<pid>/stat of each member polled every "
                             "100 us (zombie = dead)");
    for (v = 0; v < T_COUNT; v++) {
      fprintf(f, "    \"%s\": {\"what\": ", bench_tree_mechs[v].name);
      json_str(f, bench_tree_mechs[v].what);
      fputs(", \"ratio_vs_raw\": ", f);
      json_series_ratio(f, &cr->tree[v], &cr->tree[T_RAW]);
      fputs(", \"ms\": ", f);
      json_stats(f, &cr->tree[v]);
      fputs(", \"first_call_returned_ms\": ", f);
      json_stats(f, &cr->tree_phase[v]);
      fputs(v + 1 < T_COUNT ? "},\n" : "}\n", f);
    }
    fputs("  },\n", f);
  }
  if (cr->kill_done) {
    fprintf(f,
            "  \"parent_kill_ms\": {\n    \"runs\": %ld,\n    \"failed_runs\": "
            "%d,\n    \"poll_interval_us\": %d,\n    \"child\": ",
            co->kill_runs, cr->kill_failed, KILL_POLL_US);
    json_stats(f, &cr->kill[K_CHILD]);
    fputs(",\n    \"grandchild\": ", f);
    json_stats(f, &cr->kill[K_GRANDCHILD]);
    fputs(",\n    \"last_descendant\": ", f);
    json_stats(f, &cr->kill[K_LAST]);
    fputs(",\n    \"keeper_exited\": ", f);
    json_stats(f, &cr->kill[K_GUARD]);
    fputs("\n  },\n", f);
  }
  if (cr->cmem_done && cr->cmem.ok) {
    const bench_cmem_result *m = &cr->cmem;
    fprintf(f,
            "  \"children_memory\": {\n    \"children\": %ld,\n    "
            "\"parent\": {\"before\": ",
            m->n);
    json_mem_point(f, &m->base, m->thr_base);
    fputs(", \"one\": ", f);
    json_mem_point(f, &m->one, m->thr_one);
    fputs(", \"all\": ", f);
    json_mem_point(f, &m->all, m->thr_all);
    fputs("},\n    \"parent_status_with_one\": ", f);
    json_kmem(f, &m->self_one);
    fputs(",\n    \"keeper_with_one\": ", f);
    json_kmem(f, &m->keeper_one);
    fputs(",\n    \"keeper_with_all\": ", f);
    json_kmem(f, &m->keeper_all);
    fputs("\n  },\n", f);
  }
  if (cr->cmem_done && cr->cow.ok) {
    const bench_cow_result *w = &cr->cow;
    fprintf(f,
            "  \"keeper_copy_on_write\": {\n    \"what\": \"a program "
            "with %ld MiB of written heap spawns one tethered child, then "
            "rewrites that heap\",\n    \"program_before_spawn\": ",
            w->mib);
    json_kmem(f, &w->self_before);
    fputs(",\n    \"keeper_after_spawn\": ", f);
    json_kmem(f, &w->keeper_spawned);
    fputs(",\n    \"keeper_after_rewrite\": ", f);
    json_kmem(f, &w->keeper_rewritten);
    fprintf(f,
            ",\n    \"program_rewrite_ms\": {\"before_first_spawn\": %.3f, "
            "\"after_first_spawn\": %.3f},\n    \"first_spawn_call_ms\": "
            "%.3f\n  },\n",
            w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
  }
}

static void print_series_row(const char *label, const bench_series *s, const bench_series *base) {
  printf("| %s |", label);
  if (s->n == 0) {
    printf(" no samples | | | |\n");
    return;
  }
  printf(" %.2f | %.2f | %.2f |", s->st.min, s->st.median, s->st.max);
  if (base != NULL) {
    if (base->n > 0 && base->st.median > 0)
      printf(" %.2fx |", s->st.median / base->st.median);
    else
      printf(" n/a |");
  }
  printf("\n");
}

static void print_goal(const char *what, const bench_series *s, const bench_series *base,
                       double goal) {
  printf("%s", what);
  if (s->n > 0 && base->n > 0 && base->st.median > 0)
    printf(" -> %.2fx (%s)", s->st.median / base->st.median,
           s->st.median / base->st.median <= goal ? "met" : "MISSED");
  else
    printf(" -> n/a");
  printf(".\n\n");
}

static void print_children(const bench_child_opts *co, const bench_child_results *cr,
                           int first_cpu) {
  int p, v;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++) {
      if (!(co->places & (1u << p)))
        continue;
      if (p == P_FREE)
        printf("## Spawn + wait of `%s`, unpinned\n\n", bench_true);
      else
        printf("## Spawn + wait of `%s`, everything on CPU %d\n\n", bench_true, first_cpu);
      printf("Each sample is a fresh bench process: %ld untimed spawns (the "
             "first tethered one starts the guard), then %ld timed spawn + "
             "wait (+ free); %d samples per variant, interleaved; mean "
             "microseconds per spawn.\n\n",
             co->spawn_warmup, co->spawns, co->samples);
      printf("| variant | min us | median us | max us | vs posix_spawn |\n");
      printf("|---|--:|--:|--:|--:|\n");
      for (v = 0; v < S_COUNT; v++) {
        if (cr->spawn[p][v].n == 0) {
          printf("| %s | %s | | | |\n", bench_spawn_mechs[v].label,
                 bench_spawn_mechs[v].available ? "skipped" : "unavailable");
          continue;
        }
        print_series_row(bench_spawn_mechs[v].label, &cr->spawn[p][v], &cr->spawn[p][S_POSIX]);
      }
      printf("\n");
      print_goal("Stated goal (measured, not asserted): tether_spawn <= 1.15x "
                 "posix_spawn",
                 &cr->spawn[p][S_TETHER], &cr->spawn[p][S_POSIX], 1.15);
      printf("Where the time goes (median over samples of the per-spawn mean, "
             "us): the start call returned; then the exit seen "
             "(tether_child_wait / waitpid / exit callback); then the release "
             "(tether_child_free).\n\n");
      printf("| variant | start | exit seen | release |\n|---|--:|--:|--:|\n");
      for (v = 0; v < S_COUNT; v++)
        if (cr->spawn[p][v].n > 0)
          printf("| %s | %.1f | %.1f | %.1f |\n", bench_spawn_mechs[v].label,
                 cr->spawn_ph[p][v][PH_START].st.median, cr->spawn_ph[p][v][PH_EXIT].st.median,
                 cr->spawn_ph[p][v][PH_RELEASE].st.median);
      printf("\n");
    }
  if (cr->first_done) {
    printf("## First spawn in a fresh process (guard start)\n\n");
    printf("%d fresh processes (exec of tether_bench) per kind, interleaved; "
           "each times two spawn + wait of `%s`; microseconds.\n\n",
           cr->first[F_TETHER_FIRST].cap, bench_true);
    printf("| measure | min us | median us | max us |\n|---|--:|--:|--:|\n");
    print_series_row("tether: first spawn (guard start + spawn)", &cr->first[F_TETHER_FIRST], NULL);
    print_series_row("tether: second spawn", &cr->first[F_TETHER_SECOND], NULL);
    print_series_row("guard start (first - second, per process)", &cr->first[F_GUARD], NULL);
    print_series_row("posix_spawn: first spawn", &cr->first[F_POSIX_FIRST], NULL);
    print_series_row("posix_spawn: second spawn", &cr->first[F_POSIX_SECOND], NULL);
    print_series_row("posix_spawn: first - second (cold start of any spawn)",
                     &cr->first[F_POSIX_COLD], NULL);
    if (cr->first[F_GUARD].n > 0 && cr->first[F_POSIX_COLD].n > 0)
      printf("\nKeeper start net of the cold start every first spawn pays: "
             "about %.0f us (difference of the medians).\n",
             cr->first[F_GUARD].st.median - cr->first[F_POSIX_COLD].st.median);
    printf("\n");
  }
  if (cr->tree_done) {
    printf("## Teardown of a %ld-process tree\n\n", co->tree_n);
    printf("Leader + children of %d processes each, all sleeping in the "
           "leader's group; %d samples per variant, interleaved, after one "
           "untimed warm-up of each kind (it starts the guard). From the first "
           "call until every member is dead (zombie or gone; detection: %s), in "
           "milliseconds.\n\n",
           TREE_FANOUT, co->samples,
           cr->tree_pidfd ? "a pidfd per member" : "/proc polled every 100 us");
    printf("| variant | min ms | median ms | max ms | vs raw | first call "
           "returned (median ms) |\n|---|--:|--:|--:|--:|--:|\n");
    for (v = 0; v < T_COUNT; v++) {
      const bench_series *s = &cr->tree[v];
      if (s->n == 0) {
        printf("| %s | no samples | | | | |\n", bench_tree_mechs[v].label);
        continue;
      }
      printf("| %s | %.2f | %.2f | %.2f |", bench_tree_mechs[v].label, s->st.min, s->st.median,
             s->st.max);
      if (cr->tree[T_RAW].n > 0 && cr->tree[T_RAW].st.median > 0)
        printf(" %.2fx |", s->st.median / cr->tree[T_RAW].st.median);
      else
        printf(" n/a |");
      printf(" %.2f (%s) |\n", cr->tree_phase[v].st.median, bench_tree_mechs[v].phase);
    }
    printf("\n");
    print_goal("Stated goal (measured, not asserted): tether_child_free <= 2x raw",
               &cr->tree[T_FREE], &cr->tree[T_RAW], 2.0);
  }
  if (cr->kill_done) {
    printf("## Parent SIGKILL -> tethered descendants dead\n\n");
    printf("%ld runs: a middle process (tether_bench) tether_spawns a child "
           "that forks a grandchild; the bench SIGKILLs the middle and polls "
           "/proc/<pid>/stat every %d us (zombie = dead). Milliseconds after "
           "the kill.%s\n\n",
           co->kill_runs, KILL_POLL_US, cr->kill_failed ? " SOME RUNS FAILED (see stderr)." : "");
    printf("| process | min ms | median ms | max ms |\n|---|--:|--:|--:|\n");
    print_series_row("child (leader of its group)", &cr->kill[K_CHILD], NULL);
    print_series_row("grandchild", &cr->kill[K_GRANDCHILD], NULL);
    print_series_row("last descendant", &cr->kill[K_LAST], NULL);
    print_series_row("keeper exited", &cr->kill[K_GUARD], NULL);
    printf("\nStated goal (measured, not asserted): last descendant dead "
           "within 100 ms");
    if (cr->kill[K_LAST].n > 0)
      printf(" -> median %.2f ms, worst %.2f ms (%s)", cr->kill[K_LAST].st.median,
             cr->kill[K_LAST].st.max, cr->kill[K_LAST].st.max <= 100.0 ? "met" : "MISSED");
    printf(".\n\n");
  }
  if (cr->cmem_done && cr->cmem.ok) {
    const bench_cmem_result *m = &cr->cmem;
    long per = m->n - 1;
    printf("## Keeper and per-child memory (fresh process, %ld live tethered "
           "children)\n\n",
           m->n);
    printf("tether-guard (started from its own image), from "
           "/proc/<keeper>/status and smaps_rollup, KiB:\n\n");
    printf("| guard with | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
    printf("| 1 child | %ld | %ld | %ld | %ld |\n", m->keeper_one.vmrss, m->keeper_one.anon,
           m->keeper_one.pss, m->keeper_one.priv);
    printf("| %ld children | %ld | %ld | %ld | %ld |\n", m->n, m->keeper_all.vmrss,
           m->keeper_all.anon, m->keeper_all.pss, m->keeper_all.priv);
    printf("| (the program itself, 1 child) | %ld | %ld | %ld | %ld |\n\n", m->self_one.vmrss,
           m->self_one.anon, m->self_one.pss, m->self_one.priv);
    printf("The program (parent side):\n\n");
    printf("| live tethered children | RSS added (anon / total) | heap in use "
           "added | descriptors added | threads added |\n|--:|--:|--:|--:|--:|\n");
    printf("| 1 (starts the guard) | %ld / %ld KiB | %ld B | %ld | %ld |\n",
           m->one.anon_kib - m->base.anon_kib, m->one.rss_kib - m->base.rss_kib,
           m->base.heap_bytes < 0 ? -1L : m->one.heap_bytes - m->base.heap_bytes,
           m->one.fds - m->base.fds, m->thr_one - m->thr_base);
    printf("| %ld | %ld / %ld KiB | %ld B | %ld | %ld |\n", m->n,
           m->all.anon_kib - m->base.anon_kib, m->all.rss_kib - m->base.rss_kib,
           m->base.heap_bytes < 0 ? -1L : m->all.heap_bytes - m->base.heap_bytes,
           m->all.fds - m->base.fds, m->thr_all - m->thr_base);
    printf("| per child after the first | %.2f KiB anon | %.0f B | %.2f | %.2f |\n\n",
           (double)(m->all.anon_kib - m->one.anon_kib) / (double)per,
           m->base.heap_bytes < 0 ? -1.0
                                  : (double)(m->all.heap_bytes - m->one.heap_bytes) / (double)per,
           (double)(m->all.fds - m->one.fds) / (double)per,
           (double)(m->thr_all - m->thr_one) / (double)per);
  }
  if (cr->cmem_done && cr->cow.ok) {
    const bench_cow_result *w = &cr->cow;
    printf("tether-guard is started from its own image (the 0.1 keeper was a "
           "fork that kept, copy-on-write, the program's memory of its first "
           "spawn). A program with %ld MiB of written heap spawns one tethered "
           "child, then rewrites that heap (KiB):\n\n",
           w->mib);
    printf("| process | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
    printf("| program, before its first spawn | %ld | %ld | %ld | %ld |\n", w->self_before.vmrss,
           w->self_before.anon, w->self_before.pss, w->self_before.priv);
    printf("| guard, after the spawn | %ld | %ld | %ld | %ld |\n", w->keeper_spawned.vmrss,
           w->keeper_spawned.anon, w->keeper_spawned.pss, w->keeper_spawned.priv);
    printf("| guard, after the program rewrote its heap | %ld | %ld | %ld | %ld "
           "|\n\n",
           w->keeper_rewritten.vmrss, w->keeper_rewritten.anon, w->keeper_rewritten.pss,
           w->keeper_rewritten.priv);
    printf("The program's rewrite of that heap took %.1f ms before its first "
           "spawn and %.1f ms after it (copy-on-write faults). Its first "
           "tether_spawn() call (guard start included) took %.2f ms.\n\n",
           w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
  }
}

int bench_write_json(const char *path, const bench_options *o, const bench_machine *m,
                     const bench_results *r) {
  FILE *f = fopen(path, "w");
  int v, i, p;
  if (f == NULL) {
    fprintf(stderr, "tether_bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("{\n  \"tool\": \"tether_bench\",\n  \"tether_version\": ", f);
  json_str(f, tether_version_string());
  fputs(",\n  \"source\": ", f);
  json_str(f, o->source);
  fputs(",\n  \"date\": ", f);
  json_str(f, m->date);
  fputs(",\n  \"machine\": {\n    \"cpu\": ", f);
  json_str(f, m->cpu);
  fprintf(f, ",\n    \"cores\": %ld,\n    \"cpus_allowed\": %d,\n    \"kernel\": ", m->cores,
          m->allowed);
  json_str(f, m->kernel);
  fputs(",\n    \"clocksource\": ", f);
  json_str(f, m->clocksource);
  fputs(",\n    \"compiler\": ", f);
  json_str(f, BENCH_COMPILER);
  fputs(",\n    \"libc\": ", f);
  json_str(f, m->libc);
  fputs(",\n    \"libuv\": ", f);
  json_str(f, m->libuv);
  fputs(",\n    \"loadavg_start\": ", f);
  json_str(f, m->load_start);
  fputs(",\n    \"loadavg_end\": ", f);
  json_str(f, m->load_end);
  fputs(",\n    \"build_type\": ", f);
  json_str(f, TETHER_BENCH_BUILD_TYPE);
  fputs(",\n    \"tether_library\": ", f);
  json_str(f, TETHER_BENCH_LIB_KIND);
  fputs(",\n    \"tether_backend\": ", f);
  json_str(f, TETHER_BENCH_BACKEND);
  fprintf(f,
          "\n  },\n  \"parameters\": {\n    \"quick\": %s,\n    \"signal\": "
          "\"SIGUSR1\",\n    \"rounds_per_sample\": %ld,\n    "
          "\"warmup_rounds_per_sample\": %ld,\n    \"samples_per_variant\": "
          "%d,\n    \"order\": \"interleaved\",\n    \"same_cpu\": %d,\n    "
          "\"idle_window_ms\": %d,\n    \"spawns_per_sample\": %ld,\n    "
          "\"tree_size\": %ld,\n    \"parent_kill_runs\": %ld,\n    "
          "\"first_spawn_runs\": %ld\n  },\n",
          o->quick ? "true" : "false", o->rounds, o->warmup, o->samples, m->first_cpu, o->idle_ms,
          o->co.spawns, o->co.tree_n, o->co.kill_runs, o->co.first_runs);
  for (p = 0; p < P_COUNT; p++) {
    const bench_series *rs = r->rt[p];
    if (!(o->places & (1u << p)) || !(o->only & B_ROUNDTRIP))
      continue;
    fputs("  ", f);
    json_str(f, g_place_key[p]);
    fprintf(f, ": {\n    \"placement\": \"%s\",\n",
            p == P_FREE ? "unpinned: the scheduler places both processes"
                        : "both processes pinned to one CPU");
    for (v = 0; v < V_COUNT; v++) {
      fputs("    ", f);
      json_str(f, bench_rt_mechs[v].name);
      fputs(": {\n      \"mechanism\": ", f);
      json_str(f, bench_rt_mechs[v].what);
      if (!(rs[v].n > 0)) {
        fprintf(f, ",\n      \"status\": \"%s\"\n    }",
                bench_rt_mechs[v].available ? "skipped" : "unavailable");
      } else {
        fprintf(f,
                ",\n      \"status\": \"ok\",\n      \"min\": %.4f,\n      "
                "\"median\": %.4f,\n      \"max\": %.4f,\n      "
                "\"ratio_vs_selfpipe\": ",
                rs[v].st.min, rs[v].st.median, rs[v].st.max);
        json_ratio(f, rs, v, V_SELFPIPE);
        fputs(",\n      \"ratio_vs_libuv\": ", f);
        json_ratio(f, rs, v, V_LIBUV);
        fputs(",\n      \"samples\": [", f);
        for (i = 0; i < rs[v].n; i++)
          fprintf(f, "%s%.4f", i ? ", " : "", rs[v].v[i]);
        fputs("]\n    }", f);
      }
      fputs(v + 1 < V_COUNT ? ",\n" : "\n", f);
    }
    fputs("  },\n", f);
  }
  json_children(f, &o->co, &r->ch);
  if (r->idle_done) {
    const bench_idle_result *id = &r->idle;
    fprintf(f,
            "  \"idle\": {\n    \"ok\": %s,\n    \"window_s\": %.3f,\n    "
            "\"window_voluntary_ctxt_switches\": %ld,\n    "
            "\"window_involuntary_ctxt_switches\": %ld,\n    "
            "\"window_cpu_ns\": %lld,\n    \"threads\": %ld,\n    \"state\": ",
            id->ok ? "true" : "false", id->window_s, id->win_vcsw, id->win_ivcsw,
            (long long)id->win_cpu_ns, id->threads);
    json_str(f, id->state);
    fputs(",\n    \"wchan\": ", f);
    json_str(f, id->wchan);
    fputs(",\n    \"blocked_syscall_nr\": ", f);
    json_str(f, id->syscall_nr);
    fprintf(f,
            ",\n    \"whole_wait_voluntary_ctxt_switches\": %ld,\n    "
            "\"whole_wait_involuntary_ctxt_switches\": %ld,\n    "
            "\"whole_wait_cpu_ns\": %lld\n  },\n",
            id->child.vcsw, id->child.ivcsw, (long long)id->child.cpu_ns);
  } else {
    fputs("  \"idle\": null,\n", f);
  }
  if (r->mem.ok) {
    const bench_mem_result *mm = &r->mem;
    fprintf(f,
            "  \"memory\": {\n    \"rss_kib\": {\"before\": %ld, \"one\": %ld, "
            "\"hundred\": %ld},\n    \"rss_anon_kib\": {\"before\": %ld, "
            "\"one\": %ld, \"hundred\": %ld},\n    \"heap_bytes\": {\"before\": %ld, \"one\": "
            "%ld, \"hundred\": %ld},\n    \"fds\": {\"before\": %ld, \"one\": "
            "%ld, \"hundred\": %ld}\n  }\n",
            mm->base.rss_kib, mm->one.rss_kib, mm->hundred.rss_kib, mm->base.anon_kib,
            mm->one.anon_kib, mm->hundred.anon_kib, mm->base.heap_bytes, mm->one.heap_bytes,
            mm->hundred.heap_bytes, mm->base.fds, mm->one.fds, mm->hundred.fds);
  } else {
    fputs("  \"memory\": null\n", f);
  }
  fputs("}\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "tether_bench: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

static void print_ratio(const bench_series *r, int v, int base) {
  if ((r[v].n > 0) && (r[base].n > 0) && r[base].st.median > 0)
    printf(" %.2fx |", r[v].st.median / r[base].st.median);
  else
    printf(" n/a |");
}

void bench_print_report(const bench_options *o, const bench_machine *m, const bench_results *res) {
  int v, p;
  printf("# tether_bench %s%s\n\n", tether_version_string(),
         o->quick ? " (--quick: smoke counts, numbers are noisy)" : "");
  printf("%s, %s; %ld cores (%s); %s; clocksource %s; %s; libuv %s; "
         "%s build, %s library; source %s; load average %s at start, %s at "
         "end\n\n",
         m->date, m->cpu, m->cores, m->kernel, BENCH_COMPILER, m->clocksource, m->libc, m->libuv,
         TETHER_BENCH_BUILD_TYPE, TETHER_BENCH_LIB_KIND, o->source, m->load_start, m->load_end);
  for (p = 0; p < P_COUNT; p++) {
    const bench_series *r = res->rt[p];
    if (!(o->places & (1u << p)) || !(o->only & B_ROUNDTRIP))
      continue;
    if (p == P_FREE)
      printf("## Signal round trip, unpinned (SIGUSR1 ping-pong between two "
             "processes)\n\n");
    else
      printf("## Signal round trip, both processes on CPU %d\n\n", m->first_cpu);
    printf("%ld round trips per sample (+%ld warm-up), %d samples per variant, "
           "variants interleaved; per-round-trip mean of each sample, in "
           "microseconds.\n\n",
           o->rounds, o->warmup, o->samples);
    printf("| variant | min us | median us | max us | vs self-pipe | vs libuv |\n");
    printf("|---|--:|--:|--:|--:|--:|\n");
    for (v = 0; v < V_COUNT; v++) {
      printf("| %s |", bench_rt_mechs[v].label);
      if (!(r[v].n > 0)) {
        printf(" %s | | | | |\n", bench_rt_mechs[v].available ? "skipped" : "unavailable");
        continue;
      }
      printf(" %.2f | %.2f | %.2f |", r[v].st.min, r[v].st.median, r[v].st.max);
      print_ratio(r, v, V_SELFPIPE);
      print_ratio(r, v, V_LIBUV);
      printf("\n");
    }
    printf("\nStated goal (measured, not asserted): tether wait <= 1.10x self-pipe");
    if ((r[V_TETHER_WAIT].n > 0) && (r[V_SELFPIPE].n > 0))
      printf(" -> %.2fx", r[V_TETHER_WAIT].st.median / r[V_SELFPIPE].st.median);
    printf("; <= 1.00x libuv");
    if ((r[V_TETHER_WAIT].n > 0) && (r[V_LIBUV].n > 0))
      printf(" -> %.2fx", r[V_TETHER_WAIT].st.median / r[V_LIBUV].st.median);
    else
      printf(" -> n/a");
    printf(".\n\n");
  }

  if (res->idle_done) {
    const bench_idle_result *id = &res->idle;
    printf("## Idle channel (child blocked in tether_channel_wait, watching "
           "interrupt + terminate)\n\n");
    printf("| measure | value |\n|---|--:|\n");
    printf("| idle window | %.2f s |\n", id->window_s);
    printf("| context switches in window (voluntary / involuntary) | %ld / %ld |\n", id->win_vcsw,
           id->win_ivcsw);
    printf("| CPU time in window | %.1f us |\n", (double)id->win_cpu_ns / 1000.0);
    printf("| whole wait incl. the SIGTERM wake-up: switches (vol / invol) | "
           "%ld / %ld |\n",
           id->child.vcsw, id->child.ivcsw);
    printf("| whole wait incl. the wake-up: CPU time | %.1f us |\n",
           (double)id->child.cpu_ns / 1000.0);
    printf("| threads in the process | %ld |\n", id->threads);
    printf("| state / wchan / blocked syscall nr | %s / %s / %s |\n",
           id->state[0] ? id->state : "?", id->wchan[0] ? id->wchan : "?",
           id->syscall_nr[0] ? id->syscall_nr : "?");
    printf("| woke with terminate event | %s |\n\n", id->ok ? "yes" : "NO");
  }
  if (res->mem.ok) {
    const bench_mem_result *mm = &res->mem;
    printf("## Memory per open channel (fresh process)\n\n");
    printf("| channels opened | RSS added (anon / total) | heap in use added | "
           "descriptors added |\n");
    printf("|--:|--:|--:|--:|\n");
    printf("| 1 | %ld / %ld KiB | %ld B | %ld |\n", mm->one.anon_kib - mm->base.anon_kib,
           mm->one.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L : mm->one.heap_bytes - mm->base.heap_bytes,
           mm->one.fds - mm->base.fds);
    printf("| 100 | %ld / %ld KiB | %ld B | %ld |\n", mm->hundred.anon_kib - mm->base.anon_kib,
           mm->hundred.rss_kib - mm->base.rss_kib,
           mm->base.heap_bytes < 0 ? -1L : mm->hundred.heap_bytes - mm->base.heap_bytes,
           mm->hundred.fds - mm->base.fds);
    printf("\nanon = private memory (RssAnon); total also counts code pages of "
           "the library and libc that the first calls fault in (shared page "
           "cache, fault-around).\n");
    printf("\n");
  }
  print_children(&o->co, &res->ch, m->first_cpu);
}
