/* SPDX-License-Identifier: MIT */
/*
 * report.c: the results as a markdown report on stdout and as JSON. The
 * rows of each table and the keys of each JSON object come from the tables
 * below, shared by both forms where they list the same things.
 */
#include "bench.h"

#include <errno.h>
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
/* What the rows and keys are                                               */
/* ------------------------------------------------------------------------ */

/* A series of the report: its JSON key and its row label. */
typedef struct item {
  const char *key, *label;
} item;

static const item g_first_item[F_COUNT] = {
    {"tether_first", "tether: first spawn (guard start + spawn)"},
    {"tether_second", "tether: second spawn"},
    {"keeper_start_first_minus_second", "guard start (first - second, per process)"},
    {"posix_spawn_first", "posix_spawn: first spawn"},
    {"posix_spawn_second", "posix_spawn: second spawn"},
    {"posix_spawn_first_minus_second", "posix_spawn: first - second (cold start of any spawn)"},
};

static const item g_kill_item[K_COUNT] = {
    {"child", "child (leader of its group)"},
    {"grandchild", "grandchild"},
    {"last_descendant", "last descendant"},
    {"keeper_exited", "keeper exited"},
};

static const char *const g_place_key[P_COUNT] = {"round_trip_us", "round_trip_same_cpu_us"};
static const char *const g_spawn_key[P_COUNT] = {"spawn_us", "spawn_same_cpu_us"};
static const char *const g_phase_name[PH_COUNT] = {"start", "exit_seen", "release"};

/* The fields of a bench_mem_point (all long), JSON keys in order. */
static const struct {
  const char *key;
  size_t off;
} g_mem_field[] = {
    {"rss_kib", offsetof(bench_mem_point, rss_kib)},
    {"rss_anon_kib", offsetof(bench_mem_point, anon_kib)},
    {"heap_bytes", offsetof(bench_mem_point, heap_bytes)},
    {"fds", offsetof(bench_mem_point, fds)},
};
#define MEM_FIELDS ((int)(sizeof(g_mem_field) / sizeof(g_mem_field[0])))

static long mem_field(const bench_mem_point *m, int k) {
  return *(const long *)(const void *)((const char *)m + g_mem_field[k].off);
}

/* The ratio of the medians of s and base, when both have samples. */
static int ratio(const bench_series *s, const bench_series *base, double *out) {
  if (s->n == 0 || base->n == 0 || base->st.median <= 0)
    return 0;
  *out = s->st.median / base->st.median;
  return 1;
}

/* What a variant with no samples says: not asked for, or not built. */
static const char *status_word(int available) { return available ? "skipped" : "unavailable"; }

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

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

/* For each pair, ",\n<indent>\"key\": \"value\"". */
static void json_str_fields(FILE *f, const char *indent, const char *const (*kv)[2], int n) {
  int i;
  for (i = 0; i < n; i++) {
    fprintf(f, ",\n%s\"%s\": ", indent, kv[i][0]);
    json_str(f, kv[i][1]);
  }
}

static void json_ratio(FILE *f, const bench_series *s, const bench_series *base) {
  double x;
  if (ratio(s, base, &x))
    fprintf(f, "%.4f", x);
  else
    fputs("null", f);
}

static void json_samples(FILE *f, const bench_series *s) {
  int i;
  fputc('[', f);
  for (i = 0; i < s->n; i++)
    fprintf(f, "%s%.4f", i ? ", " : "", s->v[i]);
  fputc(']', f);
}

static void json_stats(FILE *f, const bench_series *s) {
  if (s->n == 0) {
    fputs("{\"status\": \"no samples\"}", f);
    return;
  }
  fprintf(f, "{\"min\": %.4f, \"median\": %.4f, \"max\": %.4f, \"samples\": ", s->st.min,
          s->st.median, s->st.max);
  json_samples(f, s);
  fputc('}', f);
}

/* "    \"key\": {stats}" for each series, one a line; then the object ends. */
static void json_items(FILE *f, const item *it, const bench_series *s, int n) {
  int i;
  for (i = 0; i < n; i++) {
    fprintf(f, "%s    \"%s\": ", i ? ",\n" : "", it[i].key);
    json_stats(f, &s[i]);
  }
  fputs("\n  },\n", f);
}

static void json_kmem(FILE *f, const bench_kmem *k) {
  fprintf(f,
          "{\"vmrss_kib\": %ld, \"rss_anon_kib\": %ld, \"pss_kib\": %ld, "
          "\"private_kib\": %ld}",
          k->vmrss, k->anon, k->pss, k->priv);
}

/* ",\n    \"key\": {kmem}" for each. */
static void json_kmems(FILE *f, const char *const *key, const bench_kmem *const *k, int n) {
  int i;
  for (i = 0; i < n; i++) {
    fprintf(f, ",\n    \"%s\": ", key[i]);
    json_kmem(f, k[i]);
  }
}

static void json_mem_point(FILE *f, const bench_mem_point *m, long threads) {
  int k;
  for (k = 0; k < MEM_FIELDS; k++)
    fprintf(f, "%s\"%s\": %ld", k ? ", " : "{", g_mem_field[k].key, mem_field(m, k));
  fprintf(f, ", \"threads\": %ld}", threads);
}

static void json_machine(FILE *f, const bench_options *o, const bench_machine *m) {
  const char *const top[][2] = {
      {"tether_version", tether_version_string()}, {"source", o->source}, {"date", m->date}};
  const char *const mach[][2] = {
      {"kernel", m->kernel},
      {"clocksource", m->clocksource},
      {"compiler", BENCH_COMPILER},
      {"libc", m->libc},
      {"libuv", m->libuv},
      {"loadavg_start", m->load_start},
      {"loadavg_end", m->load_end},
      {"build_type", TETHER_BENCH_BUILD_TYPE},
      {"tether_library", TETHER_BENCH_LIB_KIND},
      {"tether_backend", TETHER_BENCH_BACKEND},
  };
  fputs("{\n  \"tool\": \"tether_bench\"", f);
  json_str_fields(f, "  ", top, (int)(sizeof(top) / sizeof(top[0])));
  fputs(",\n  \"machine\": {\n    \"cpu\": ", f);
  json_str(f, m->cpu);
  fprintf(f, ",\n    \"cores\": %ld,\n    \"cpus_allowed\": %d", m->cores, m->allowed);
  json_str_fields(f, "    ", mach, (int)(sizeof(mach) / sizeof(mach[0])));
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
}

static void json_roundtrip(FILE *f, const bench_series *rs, int p) {
  int v;
  fputs("  ", f);
  json_str(f, g_place_key[p]);
  fprintf(f, ": {\n    \"placement\": \"%s\",\n",
          p == P_FREE ? "unpinned: the scheduler places both processes"
                      : "both processes pinned to one CPU");
  for (v = 0; v < V_COUNT; v++) {
    const bench_series *s = &rs[v];
    fputs("    ", f);
    json_str(f, bench_rt_mechs[v].name);
    fputs(": {\n      \"mechanism\": ", f);
    json_str(f, bench_rt_mechs[v].what);
    if (s->n == 0) {
      fprintf(f, ",\n      \"status\": \"%s\"\n    }", status_word(bench_rt_mechs[v].available));
    } else {
      fprintf(f,
              ",\n      \"status\": \"ok\",\n      \"min\": %.4f,\n      "
              "\"median\": %.4f,\n      \"max\": %.4f,\n      "
              "\"ratio_vs_selfpipe\": ",
              s->st.min, s->st.median, s->st.max);
      json_ratio(f, s, &rs[V_SELFPIPE]);
      fputs(",\n      \"ratio_vs_libuv\": ", f);
      json_ratio(f, s, &rs[V_LIBUV]);
      fputs(",\n      \"samples\": ", f);
      json_samples(f, s);
      fputs("\n    }", f);
    }
    fputs(v + 1 < V_COUNT ? ",\n" : "\n", f);
  }
  fputs("  },\n", f);
}

static void json_spawn(FILE *f, const bench_child_opts *co, const bench_child_results *cr, int p) {
  int v, k;
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
      fprintf(f, ", \"status\": \"%s\"}", status_word(bench_spawn_mechs[v].available));
    } else {
      fputs(", \"status\": \"ok\", \"ratio_vs_posix_spawn\": ", f);
      json_ratio(f, s, &cr->spawn[p][S_POSIX]);
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

static void json_tree(FILE *f, const bench_child_opts *co, const bench_child_results *cr) {
  int v;
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
    json_ratio(f, &cr->tree[v], &cr->tree[T_RAW]);
    fputs(", \"ms\": ", f);
    json_stats(f, &cr->tree[v]);
    fputs(", \"first_call_returned_ms\": ", f);
    json_stats(f, &cr->tree_phase[v]);
    fputs(v + 1 < T_COUNT ? "},\n" : "}\n", f);
  }
  fputs("  },\n", f);
}

static void json_children_mem(FILE *f, const bench_cmem_result *m) {
  const char *const key[] = {"parent_status_with_one", "keeper_with_one", "keeper_with_all"};
  const bench_kmem *const k[] = {&m->self_one, &m->keeper_one, &m->keeper_all};
  fprintf(f,
          "  \"children_memory\": {\n    \"children\": %ld,\n    "
          "\"parent\": {\"before\": ",
          m->n);
  json_mem_point(f, &m->base, m->thr_base);
  fputs(", \"one\": ", f);
  json_mem_point(f, &m->one, m->thr_one);
  fputs(", \"all\": ", f);
  json_mem_point(f, &m->all, m->thr_all);
  fputc('}', f);
  json_kmems(f, key, k, 3);
  fputs("\n  },\n", f);
}

/* The processes of the copy-on-write test: JSON key, row label. */
static const item g_cow_item[] = {
    {"program_before_spawn", "program, before its first spawn"},
    {"keeper_after_spawn", "guard, after the spawn"},
    {"keeper_after_rewrite", "guard, after the program rewrote its heap"},
};
#define COW_ITEMS ((int)(sizeof(g_cow_item) / sizeof(g_cow_item[0])))

static void cow_kmems(const bench_cow_result *w, const bench_kmem *k[COW_ITEMS]) {
  k[0] = &w->self_before;
  k[1] = &w->keeper_spawned;
  k[2] = &w->keeper_rewritten;
}

static void json_cow(FILE *f, const bench_cow_result *w) {
  const char *key[COW_ITEMS];
  const bench_kmem *k[COW_ITEMS];
  int i;
  for (i = 0; i < COW_ITEMS; i++)
    key[i] = g_cow_item[i].key;
  cow_kmems(w, k);
  fprintf(f,
          "  \"keeper_copy_on_write\": {\n    \"what\": \"a program "
          "with %ld MiB of written heap spawns one tethered child, then "
          "rewrites that heap\"",
          w->mib);
  json_kmems(f, key, k, COW_ITEMS);
  fprintf(f,
          ",\n    \"program_rewrite_ms\": {\"before_first_spawn\": %.3f, "
          "\"after_first_spawn\": %.3f},\n    \"first_spawn_call_ms\": "
          "%.3f\n  },\n",
          w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
}

static void json_children(FILE *f, const bench_child_opts *co, const bench_child_results *cr) {
  int p;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++)
      if (co->places & (1u << p))
        json_spawn(f, co, cr, p);
  if (cr->first_done) {
    fputs("  \"first_spawn_us\": {\n    \"what\": \"two spawn + wait of the "
          "program in a fresh process (exec of tether_bench), tether and "
          "posix_spawn processes interleaved\",\n",
          f);
    json_items(f, g_first_item, cr->first, F_COUNT);
  }
  if (cr->tree_done)
    json_tree(f, co, cr);
  if (cr->kill_done) {
    fprintf(f,
            "  \"parent_kill_ms\": {\n    \"runs\": %ld,\n    \"failed_runs\": "
            "%d,\n    \"poll_interval_us\": %d,\n",
            co->kill_runs, cr->kill_failed, KILL_POLL_US);
    json_items(f, g_kill_item, cr->kill, K_COUNT);
  }
  if (cr->cmem_done && cr->cmem.ok)
    json_children_mem(f, &cr->cmem);
  if (cr->cmem_done && cr->cow.ok)
    json_cow(f, &cr->cow);
}

static void json_idle(FILE *f, const bench_idle_result *id) {
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
}

static void json_mem(FILE *f, const bench_mem_result *mm) {
  int k;
  fputs("  \"memory\": {\n", f);
  for (k = 0; k < MEM_FIELDS; k++)
    fprintf(f, "    \"%s\": {\"before\": %ld, \"one\": %ld, \"hundred\": %ld}%s\n",
            g_mem_field[k].key, mem_field(&mm->base, k), mem_field(&mm->one, k),
            mem_field(&mm->hundred, k), k + 1 < MEM_FIELDS ? "," : "");
  fputs("  }\n", f);
}

int bench_write_json(const char *path, const bench_options *o, const bench_machine *m,
                     const bench_results *r) {
  FILE *f = fopen(path, "w");
  int p;
  if (f == NULL) {
    fprintf(stderr, "tether_bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  json_machine(f, o, m);
  for (p = 0; p < P_COUNT; p++)
    if ((o->places & (1u << p)) && (o->only & B_ROUNDTRIP))
      json_roundtrip(f, r->rt[p], p);
  json_children(f, &o->co, &r->ch);
  if (r->idle_done)
    json_idle(f, &r->idle);
  else
    fputs("  \"idle\": null,\n", f);
  if (r->mem.ok)
    json_mem(f, &r->mem);
  else
    fputs("  \"memory\": null\n", f);
  fputs("}\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "tether_bench: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Markdown                                                                 */
/* ------------------------------------------------------------------------ */

/* The head of a table of series: "| what | min unit | median unit | max
 * unit |", then the columns of extra (" a | b |"), and the alignment row. */
static void print_stats_head(const char *what, const char *unit, const char *extra) {
  const char *c;
  printf("| %s | min %s | median %s | max %s |%s\n|---|--:|--:|--:|", what, unit, unit, unit,
         extra);
  for (c = extra; *c != '\0'; c++)
    if (*c == '|')
      printf("--:|");
  printf("\n");
}

/* " min | median | max |" */
static void print_stats_cells(const bench_series *s) {
  printf(" %.2f | %.2f | %.2f |", s->st.min, s->st.median, s->st.max);
}

/* " 1.23x |" or " n/a |" */
static void print_ratio_cell(const bench_series *s, const bench_series *base) {
  double x;
  if (ratio(s, base, &x))
    printf(" %.2fx |", x);
  else
    printf(" n/a |");
}

static void print_series_row(const char *label, const bench_series *s, const bench_series *base) {
  printf("| %s |", label);
  if (s->n == 0) {
    printf(" no samples | | | |\n");
    return;
  }
  print_stats_cells(s);
  if (base != NULL)
    print_ratio_cell(s, base);
  printf("\n");
}

static void print_items(const item *it, const bench_series *s, int n) {
  int i;
  for (i = 0; i < n; i++)
    print_series_row(it[i].label, &s[i], NULL);
}

static void print_goal(const char *what, const bench_series *s, const bench_series *base,
                       double goal) {
  double x;
  printf("%s", what);
  if (ratio(s, base, &x))
    printf(" -> %.2fx (%s)", x, x <= goal ? "met" : "MISSED");
  else
    printf(" -> n/a");
  printf(".\n\n");
}

static void print_kmem_row(const char *label, const bench_kmem *k) {
  printf("| %s | %ld | %ld | %ld | %ld |\n", label, k->vmrss, k->anon, k->pss, k->priv);
}

/* "| label | anon / total KiB | heap B | fds |": what m adds to base. */
static void print_mem_added(const char *label, const bench_mem_point *base,
                            const bench_mem_point *m) {
  printf("| %s | %ld / %ld KiB | %ld B | %ld |", label, m->anon_kib - base->anon_kib,
         m->rss_kib - base->rss_kib, base->heap_bytes < 0 ? -1L : m->heap_bytes - base->heap_bytes,
         m->fds - base->fds);
}

/* The heading of a section of placement p: "## title, unpinned<free_tail>",
 * or "## title, <who> on CPU n". */
static void print_place_heading(int p, const char *title, const char *free_tail, const char *who,
                                int cpu) {
  if (p == P_FREE)
    printf("## %s, unpinned%s\n\n", title, free_tail);
  else
    printf("## %s, %s on CPU %d\n\n", title, who, cpu);
}

static void print_roundtrip(const bench_options *o, const bench_series *r, int p, int first_cpu) {
  int v;
  double x;
  print_place_heading(p, "Signal round trip", " (SIGUSR1 ping-pong between two processes)",
                      "both processes", first_cpu);
  printf("%ld round trips per sample (+%ld warm-up), %d samples per variant, "
         "variants interleaved; per-round-trip mean of each sample, in "
         "microseconds.\n\n",
         o->rounds, o->warmup, o->samples);
  print_stats_head("variant", "us", " vs self-pipe | vs libuv |");
  for (v = 0; v < V_COUNT; v++) {
    printf("| %s |", bench_rt_mechs[v].label);
    if (r[v].n == 0) {
      printf(" %s | | | | |\n", status_word(bench_rt_mechs[v].available));
      continue;
    }
    print_stats_cells(&r[v]);
    print_ratio_cell(&r[v], &r[V_SELFPIPE]);
    print_ratio_cell(&r[v], &r[V_LIBUV]);
    printf("\n");
  }
  printf("\nStated goal (measured, not asserted): tether wait <= 1.10x self-pipe");
  if (ratio(&r[V_TETHER_WAIT], &r[V_SELFPIPE], &x))
    printf(" -> %.2fx", x);
  printf("; <= 1.00x libuv");
  if (ratio(&r[V_TETHER_WAIT], &r[V_LIBUV], &x))
    printf(" -> %.2fx", x);
  else
    printf(" -> n/a");
  printf(".\n\n");
}

static void print_idle(const bench_idle_result *id) {
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
  printf("| state / wchan / blocked syscall nr | %s / %s / %s |\n", id->state[0] ? id->state : "?",
         id->wchan[0] ? id->wchan : "?", id->syscall_nr[0] ? id->syscall_nr : "?");
  printf("| woke with terminate event | %s |\n\n", id->ok ? "yes" : "NO");
}

static void print_mem(const bench_mem_result *mm) {
  printf("## Memory per open channel (fresh process)\n\n");
  printf("| channels opened | RSS added (anon / total) | heap in use added | "
         "descriptors added |\n");
  printf("|--:|--:|--:|--:|\n");
  print_mem_added("1", &mm->base, &mm->one);
  printf("\n");
  print_mem_added("100", &mm->base, &mm->hundred);
  printf("\n");
  printf("\nanon = private memory (RssAnon); total also counts code pages of "
         "the library and libc that the first calls fault in (shared page "
         "cache, fault-around).\n");
  printf("\n");
}

static void print_spawn(const bench_child_opts *co, const bench_child_results *cr, int p,
                        int first_cpu) {
  char title[PATH_MAX + 32];
  int v, k;
  (void)snprintf(title, sizeof(title), "Spawn + wait of `%s`", bench_true);
  print_place_heading(p, title, "", "everything", first_cpu);
  printf("Each sample is a fresh bench process: %ld untimed spawns (the "
         "first tethered one starts the guard), then %ld timed spawn + "
         "wait (+ free); %d samples per variant, interleaved; mean "
         "microseconds per spawn.\n\n",
         co->spawn_warmup, co->spawns, co->samples);
  print_stats_head("variant", "us", " vs posix_spawn |");
  for (v = 0; v < S_COUNT; v++) {
    if (cr->spawn[p][v].n == 0) {
      printf("| %s | %s | | | |\n", bench_spawn_mechs[v].label,
             status_word(bench_spawn_mechs[v].available));
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
  for (v = 0; v < S_COUNT; v++) {
    if (cr->spawn[p][v].n == 0)
      continue;
    printf("| %s |", bench_spawn_mechs[v].label);
    for (k = 0; k < PH_COUNT; k++)
      printf(" %.1f |", cr->spawn_ph[p][v][k].st.median);
    printf("\n");
  }
  printf("\n");
}

static void print_first(const bench_child_results *cr) {
  const bench_series *guard = &cr->first[F_GUARD], *cold = &cr->first[F_POSIX_COLD];
  printf("## First spawn in a fresh process (guard start)\n\n");
  printf("%d fresh processes (exec of tether_bench) per kind, interleaved; "
         "each times two spawn + wait of `%s`; microseconds.\n\n",
         cr->first[F_TETHER_FIRST].cap, bench_true);
  print_stats_head("measure", "us", "");
  print_items(g_first_item, cr->first, F_COUNT);
  if (guard->n > 0 && cold->n > 0)
    printf("\nKeeper start net of the cold start every first spawn pays: "
           "about %.0f us (difference of the medians).\n",
           guard->st.median - cold->st.median);
  printf("\n");
}

static void print_tree(const bench_child_opts *co, const bench_child_results *cr) {
  int v;
  printf("## Teardown of a %ld-process tree\n\n", co->tree_n);
  printf("Leader + children of %d processes each, all sleeping in the "
         "leader's group; %d samples per variant, interleaved, after one "
         "untimed warm-up of each kind (it starts the guard). From the first "
         "call until every member is dead (zombie or gone; detection: %s), in "
         "milliseconds.\n\n",
         TREE_FANOUT, co->samples,
         cr->tree_pidfd ? "a pidfd per member" : "/proc polled every 100 us");
  print_stats_head("variant", "ms", " vs raw | first call returned (median ms) |");
  for (v = 0; v < T_COUNT; v++) {
    const bench_series *s = &cr->tree[v];
    printf("| %s |", bench_tree_mechs[v].label);
    if (s->n == 0) {
      printf(" no samples | | | | |\n");
      continue;
    }
    print_stats_cells(s);
    print_ratio_cell(s, &cr->tree[T_RAW]);
    printf(" %.2f (%s) |\n", cr->tree_phase[v].st.median, bench_tree_mechs[v].phase);
  }
  printf("\n");
  print_goal("Stated goal (measured, not asserted): tether_child_free <= 2x raw", &cr->tree[T_FREE],
             &cr->tree[T_RAW], 2.0);
}

static void print_kill(const bench_child_opts *co, const bench_child_results *cr) {
  const bench_series *last = &cr->kill[K_LAST];
  printf("## Parent SIGKILL -> tethered descendants dead\n\n");
  printf("%ld runs: a middle process (tether_bench) tether_spawns a child "
         "that forks a grandchild; the bench SIGKILLs the middle and polls "
         "/proc/<pid>/stat every %d us (zombie = dead). Milliseconds after "
         "the kill.%s\n\n",
         co->kill_runs, KILL_POLL_US, cr->kill_failed ? " SOME RUNS FAILED (see stderr)." : "");
  print_stats_head("process", "ms", "");
  print_items(g_kill_item, cr->kill, K_COUNT);
  printf("\nStated goal (measured, not asserted): last descendant dead "
         "within 100 ms");
  if (last->n > 0)
    printf(" -> median %.2f ms, worst %.2f ms (%s)", last->st.median, last->st.max,
           last->st.max <= 100.0 ? "met" : "MISSED");
  printf(".\n\n");
}

static void print_children_mem(const bench_cmem_result *m) {
  long per = m->n - 1;
  char label[64];
  printf("## Keeper and per-child memory (fresh process, %ld live tethered "
         "children)\n\n",
         m->n);
  printf("tether-guard (started from its own image), from "
         "/proc/<keeper>/status and smaps_rollup, KiB:\n\n");
  printf("| guard with | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
  print_kmem_row("1 child", &m->keeper_one);
  (void)snprintf(label, sizeof(label), "%ld children", m->n);
  print_kmem_row(label, &m->keeper_all);
  print_kmem_row("(the program itself, 1 child)", &m->self_one);
  printf("\n");
  printf("The program (parent side):\n\n");
  printf("| live tethered children | RSS added (anon / total) | heap in use "
         "added | descriptors added | threads added |\n|--:|--:|--:|--:|--:|\n");
  print_mem_added("1 (starts the guard)", &m->base, &m->one);
  printf(" %ld |\n", m->thr_one - m->thr_base);
  (void)snprintf(label, sizeof(label), "%ld", m->n);
  print_mem_added(label, &m->base, &m->all);
  printf(" %ld |\n", m->thr_all - m->thr_base);
  printf("| per child after the first | %.2f KiB anon | %.0f B | %.2f | %.2f |\n\n",
         (double)(m->all.anon_kib - m->one.anon_kib) / (double)per,
         m->base.heap_bytes < 0 ? -1.0
                                : (double)(m->all.heap_bytes - m->one.heap_bytes) / (double)per,
         (double)(m->all.fds - m->one.fds) / (double)per,
         (double)(m->thr_all - m->thr_one) / (double)per);
}

static void print_cow(const bench_cow_result *w) {
  const bench_kmem *k[COW_ITEMS];
  int i;
  cow_kmems(w, k);
  printf("tether-guard is started from its own image (the 0.1 keeper was a "
         "fork that kept, copy-on-write, the program's memory of its first "
         "spawn). A program with %ld MiB of written heap spawns one tethered "
         "child, then rewrites that heap (KiB):\n\n",
         w->mib);
  printf("| process | VmRSS | RssAnon | Pss | Private |\n|---|--:|--:|--:|--:|\n");
  for (i = 0; i < COW_ITEMS; i++)
    print_kmem_row(g_cow_item[i].label, k[i]);
  printf("\n");
  printf("The program's rewrite of that heap took %.1f ms before its first "
         "spawn and %.1f ms after it (copy-on-write faults). Its first "
         "tether_spawn() call (guard start included) took %.2f ms.\n\n",
         w->write_before_ms, w->write_after_ms, w->first_spawn_ms);
}

static void print_children(const bench_child_opts *co, const bench_child_results *cr,
                           int first_cpu) {
  int p;
  if (cr->spawn_done)
    for (p = 0; p < P_COUNT; p++)
      if (co->places & (1u << p))
        print_spawn(co, cr, p, first_cpu);
  if (cr->first_done)
    print_first(cr);
  if (cr->tree_done)
    print_tree(co, cr);
  if (cr->kill_done)
    print_kill(co, cr);
  if (cr->cmem_done && cr->cmem.ok)
    print_children_mem(&cr->cmem);
  if (cr->cmem_done && cr->cow.ok)
    print_cow(&cr->cow);
}

void bench_print_report(const bench_options *o, const bench_machine *m, const bench_results *res) {
  int p;
  printf("# tether_bench %s%s\n\n", tether_version_string(),
         o->quick ? " (--quick: smoke counts, numbers are noisy)" : "");
  printf("%s, %s; %ld cores (%s); %s; clocksource %s; %s; libuv %s; "
         "%s build, %s library; source %s; load average %s at start, %s at "
         "end\n\n",
         m->date, m->cpu, m->cores, m->kernel, BENCH_COMPILER, m->clocksource, m->libc, m->libuv,
         TETHER_BENCH_BUILD_TYPE, TETHER_BENCH_LIB_KIND, o->source, m->load_start, m->load_end);
  for (p = 0; p < P_COUNT; p++)
    if ((o->places & (1u << p)) && (o->only & B_ROUNDTRIP))
      print_roundtrip(o, res->rt[p], p, m->first_cpu);
  if (res->idle_done)
    print_idle(&res->idle);
  if (res->mem.ok)
    print_mem(&res->mem);
  print_children(&o->co, &res->ch, m->first_cpu);
}
