/* SPDX-License-Identifier: MIT */
/*
 * proc.c: what tether_bench reads from /proc: a process's status, state and memory, the members of
 * a process group, the guard.
 */
#include "bench.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#define BENCH_HAVE_MALLINFO2 1
#endif
#endif

/* The number of a line "Name:   123 kB" of a /proc text file; -1 if absent. */
static long proc_number(const char *text, const char *name) {
  const char *p = text;
  size_t len = strlen(name);
  while ((p = strstr(p, name)) != NULL) {
    if ((p == text || p[-1] == '\n') && p[len] == ':')
      return strtol(p + len + 1, NULL, 10);
    p += len;
  }
  return -1;
}

int bench_read_status(pid_t pid, bench_proc_status *st) {
  char path[64], buf[4096], *p;
  (void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
  if (bench_read_text(path, buf, sizeof(buf)) < 0)
    return -1;
  st->vcsw = proc_number(buf, "voluntary_ctxt_switches");
  st->ivcsw = proc_number(buf, "nonvoluntary_ctxt_switches");
  st->threads = proc_number(buf, "Threads");
  st->state[0] = '\0';
  if ((p = strstr(buf, "\nState:")) != NULL)
    bench_copy_until(st->state, sizeof(st->state), p + 7 + strspn(p + 7, " \t"), "\n");
  return (st->vcsw < 0 || st->ivcsw < 0) ? -1 : 0;
}

bench_mem_point bench_mem_now(void) {
  bench_mem_point m;
  char buf[256];
  long size = 0, res = 0;
  DIR *d;
  m.rss_kib = -1;
  m.anon_kib = -1;
  m.heap_bytes = -1;
  m.fds = -1;
  if (bench_read_text("/proc/self/statm", buf, sizeof(buf)) == 0 &&
      sscanf(buf, "%ld %ld", &size, &res) == 2)
    m.rss_kib = res * (sysconf(_SC_PAGESIZE) / 1024);
  {
    char st[4096];
    if (bench_read_text("/proc/self/status", st, sizeof(st)) == 0)
      m.anon_kib = proc_number(st, "RssAnon");
  }
#if defined(BENCH_HAVE_MALLINFO2)
  {
    struct mallinfo2 mi = mallinfo2();
    m.heap_bytes = (long)mi.uordblks;
  }
#endif
  d = opendir("/proc/self/fd");
  if (d != NULL) {
    struct dirent *e;
    long n = 0;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.')
        n++;
    (void)closedir(d);
    m.fds = n - 1; /* the directory's own descriptor */
  }
  return m;
}

/* ---- /proc ---- */

/* Fields of /proc/<pid>/stat after the command name. 0, or -1 when the
 * process does not exist (any more). */
static int proc_stat(pid_t pid, char *state, long *ppid, long *pgrp, long *sid) {
  char path[64], buf[512], *p;
  long a = 0, b = 0, c = 0;
  char s = '?';
  (void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  if (bench_read_text(path, buf, sizeof(buf)) < 0 || buf[0] == '\0')
    return -1;
  p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
  if (p == NULL || sscanf(p + 1, " %c %ld %ld %ld", &s, &a, &b, &c) != 4)
    return -1;
  if (state != NULL)
    *state = s;
  if (ppid != NULL)
    *ppid = a;
  if (pgrp != NULL)
    *pgrp = b;
  if (sid != NULL)
    *sid = c;
  return 0;
}

/* Dead: gone from the table, or a zombie (it runs no more code). */
int bench_proc_dead(pid_t pid) {
  char st;
  return proc_stat(pid, &st, NULL, NULL, NULL) < 0 || st == 'Z' || st == 'X';
}

/* Call fn(pid, ctx) for every process in /proc. 0, or -1 when /proc cannot
 * be read. */
static int proc_each(void (*fn)(pid_t pid, const char *name, void *ctx), void *ctx) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      fn((pid_t)atol(e->d_name), e->d_name, ctx);
  (void)closedir(d);
  return 0;
}

typedef struct group_count {
  pid_t pgid;
  int n;
} group_count;

static void count_in_group(pid_t pid, const char *name, void *ctx) {
  group_count *g = (group_count *)ctx;
  char st;
  long pg;
  (void)name;
  if (proc_stat(pid, &st, NULL, &pg, NULL) == 0 && pg == (long)g->pgid && st != 'Z' && st != 'X')
    g->n++;
}

/* Living (non-zombie) processes of a group, from /proc (tether's own
 * tether_child_wait_tree() method). */
int bench_group_live_count(pid_t pgid) {
  group_count g;
  g.pgid = pgid;
  g.n = 0;
  return proc_each(count_in_group, &g) < 0 ? -1 : g.n;
}

typedef struct newest_guard {
  pid_t found;
  unsigned long long start;
} newest_guard;

static void newest_guard_of_session(pid_t p, const char *name, void *ctx) {
  newest_guard *g = (newest_guard *)ctx;
  char path[300], buf[1024], *q;
  FILE *f;
  snprintf(path, sizeof(path), "/proc/%s/stat", name);
  f = fopen(path, "r");
  if (f == NULL)
    return;
  if (fgets(buf, sizeof(buf), f) != NULL && strstr(buf, "(tether-guard)") != NULL &&
      (q = strrchr(buf, ')')) != NULL) {
    /* after ')': state ppid pgrp session ... field 22 is starttime */
    long sid = -1;
    unsigned long long start = 0;
    int i;
    char *tok = strtok(q + 1, " ");
    for (i = 3; tok != NULL; i++, tok = strtok(NULL, " ")) {
      if (i == 6)
        sid = atol(tok);
      if (i == 22) {
        start = strtoull(tok, NULL, 10);
        break;
      }
    }
    if (sid == (long)getsid(0) && start >= g->start) {
      g->start = start;
      g->found = p;
    }
  }
  (void)fclose(f);
}

/* The guard of this process (tether-guard, which holds the tethered
 * children's groups since the spawn redesign; it is not our child): the
 * newest process named tether-guard in our session. `parent` is kept for
 * the callers; the keeper of TETHER_SPAWN_CATCH_ESCAPEES is not measured. */
pid_t bench_find_keeper(pid_t parent) {
  newest_guard g;
  (void)parent;
  g.found = -1;
  g.start = 0;
  return proc_each(newest_guard_of_session, &g) < 0 ? -1 : g.found;
}

bench_kmem bench_proc_mem(pid_t pid) {
  bench_kmem k;
  char path[64], buf[4096];
  k.vmrss = k.anon = k.pss = k.priv = -1;
  (void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
  if (bench_read_text(path, buf, sizeof(buf)) == 0) {
    k.vmrss = proc_number(buf, "VmRSS");
    k.anon = proc_number(buf, "RssAnon");
  }
  (void)snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
  if (bench_read_text(path, buf, sizeof(buf)) == 0) {
    long c = proc_number(buf, "Private_Clean"), dd = proc_number(buf, "Private_Dirty");
    k.pss = proc_number(buf, "Pss");
    k.priv = c >= 0 && dd >= 0 ? c + dd : -1;
  }
  return k;
}

long bench_self_threads(void) {
  bench_proc_status st;
  return bench_read_status(getpid(), &st) == 0 ? st.threads : -1;
}
