/* SPDX-License-Identifier: MIT */
/*
 * children_tree.c: teardown of a tethered process tree (vs killpg of a plain group), and a parent
 * SIGKILLed: how soon its tethered descendants die.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

/* ---- 2. teardown of a process tree ---- */

const bench_tree_mech bench_tree_mechs[T_COUNT] = {
    {"tether_free", "tether_child_free",
     "tether_spawn'ed tree; tether_child_free(), then every member seen dead "
     "(zombie or gone)",
     "tether_child_free returned"},
    {"tether_kill_wait_tree", "kill + wait_tree + free",
     "tether_spawn'ed tree; tether_child_kill + tether_child_wait_tree(-1) + "
     "tether_child_free (the library says it is gone)",
     "tether_child_wait_tree returned"},
    {"raw_killpg", "raw: killpg + waitpid",
     "posix_spawn(SETPGROUP) tree; killpg(SIGKILL) + waitpid(leader), then "
     "every member seen dead",
     "leader reaped"},
};

static pid_t g_tree_pids[TREE_MAX];
static struct pollfd g_tree_pfd[TREE_MAX];

/* Sleep periods as asked (the default timer slack adds 50 us). */
static void fine_timer_slack(void) {
#if defined(PR_SET_TIMERSLACK)
  (void)prctl(PR_SET_TIMERSLACK, 1UL);
#endif
}

/* Reap zombie children without blocking. */
static void reap_zombies(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

/* Hidden mode --tree N: this process (already leading a group of its own)
 * forks N-1 sleeping processes: children of it, each with up to
 * TREE_FANOUT-1 children of its own. Then it writes N and the N pids
 * (itself first) to stdout as int32, and sleeps. */
int bench_hidden_tree(long n) {
  int p[2];
  long made = 1, got = 0;
  int32_t cnt = (int32_t)n, pid32;
  (void)alarm(CHILD_TIMEOUT_S);
  if (n < 1 || n > TREE_MAX || pipe(p) < 0)
    return 70;
  g_tree_pids[0] = getpid();
  while (made < n) {
    long gc = n - made - 1, j;
    pid_t c;
    if (gc > TREE_FANOUT - 1)
      gc = TREE_FANOUT - 1;
    c = fork();
    if (c < 0)
      return 71;
    if (c == 0) {
      (void)close(p[0]);
      (void)alarm(CHILD_TIMEOUT_S);
      for (j = 0; j < gc; j++) {
        pid_t g = fork();
        if (g == 0) {
          (void)alarm(CHILD_TIMEOUT_S);
          pid32 = (int32_t)getpid();
          (void)bench_write_all(p[1], &pid32, sizeof(pid32));
          bench_pause_forever();
        }
        if (g < 0) {
          pid32 = -1;
          (void)bench_write_all(p[1], &pid32, sizeof(pid32));
          _exit(1);
        }
      }
      pid32 = (int32_t)getpid();
      (void)bench_write_all(p[1], &pid32, sizeof(pid32));
      bench_pause_forever();
    }
    made += 1 + gc;
  }
  (void)close(p[1]);
  while (got < n - 1) {
    if (bench_read_all(p[0], &pid32, sizeof(pid32)) < 0 || pid32 <= 0)
      return 72;
    g_tree_pids[1 + got++] = (pid_t)pid32;
  }
  if (bench_write_all(1, &cnt, sizeof(cnt)) < 0)
    return 73;
  for (got = 0; got < n; got++) {
    pid32 = (int32_t)g_tree_pids[got];
    if (bench_write_all(1, &pid32, sizeof(pid32)) < 0)
      return 73;
  }
  bench_pause_forever();
  return 0;
}

/* Start a tree of n processes the way variant v does; fills g_tree_pids. */
static int tree_start(int v, long n, tether_child **c, pid_t *leader) {
  char nbuf[32];
  const char *argv[4];
  int p[2], ok;
  int32_t cnt = 0, pid32;
  long i;
  (void)snprintf(nbuf, sizeof(nbuf), "%ld", n);
  argv[0] = bench_self;
  argv[1] = "--tree";
  argv[2] = nbuf;
  argv[3] = NULL;
  *c = NULL;
  *leader = -1;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  if (v == T_RAW) {
    if (bench_spawn_plain(leader, (char *const *)argv, p[1], 1) < 0)
      *leader = -1;
  } else {
    tether_spawn_options so;
    tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
    so.flags = TETHER_SPAWN_NO_SEARCH;
    so.stdio[1].mode = TETHER_STDIO_HANDLE;
    so.stdio[1].handle = p[1];
    if (tether_spawn(c, argv, &so) == 0)
      *leader = (pid_t)tether_child_pid(*c);
  }
  (void)close(p[1]);
  ok = *leader > 0 && bench_read_all(p[0], &cnt, sizeof(cnt)) == 0 && cnt == (int32_t)n;
  for (i = 0; ok && i < n; i++) {
    ok = bench_read_all(p[0], &pid32, sizeof(pid32)) == 0;
    g_tree_pids[i] = (pid_t)pid32;
  }
  (void)close(p[0]);
  if (ok && g_tree_pids[0] == *leader)
    return 0;
  fprintf(stderr, "tether_bench: %s: the tree did not start\n", bench_tree_mechs[v].name);
  if (*c != NULL)
    tether_child_free(*c);
  else if (*leader > 0) {
    (void)kill(-*leader, SIGKILL);
    (void)waitpid(*leader, NULL, 0);
  }
  *c = NULL;
  return -1;
}

/* A pidfd of pid, or -1 (none before Linux 5.3). */
static int pidfd_open(pid_t pid) {
#if defined(SYS_pidfd_open)
  return (int)syscall(SYS_pidfd_open, (long)pid, 0L);
#else
  (void)pid;
  return -1;
#endif
}

/* Open a pidfd per member (untimed). 1 if pidfds are used, 0 for the /proc
 * fallback (kernel before 5.3). */
static int tree_open(long n) {
  long i;
  for (i = 0; i < n; i++) {
    int fd = pidfd_open(g_tree_pids[i]);
    if (fd < 0) {
      while (i-- > 0)
        (void)close(g_tree_pfd[i].fd);
      return 0;
    }
    g_tree_pfd[i].fd = fd;
    g_tree_pfd[i].events = POLLIN;
    g_tree_pfd[i].revents = 0;
  }
  return 1;
}

/* Wait until every member is dead (a zombie or gone): a pidfd turns
 * readable when its process exits; without pidfds, /proc is polled every
 * 100 us. Closes the pidfds. 0, or -1 after 10 s. */
static int tree_wait_dead(long n, int pidfds) {
  uint64_t end = bench_now_ns() + 10000000000u;
  long live = n, i;
  if (!pidfds) {
    for (i = 0; i < n; i++)
      while (!bench_proc_dead(g_tree_pids[i])) {
        if (bench_now_ns() >= end)
          return -1;
        bench_sleep_us(100);
      }
    return 0;
  }
  while (live > 0) {
    int r = poll(g_tree_pfd, (nfds_t)live, 1000);
    if (r < 0 && errno != EINTR)
      break;
    for (i = 0; i < live;) {
      if (g_tree_pfd[i].revents != 0) {
        (void)close(g_tree_pfd[i].fd);
        g_tree_pfd[i] = g_tree_pfd[--live];
      } else {
        i++;
      }
    }
    if (bench_now_ns() >= end)
      break;
  }
  for (i = 0; i < live; i++)
    (void)close(g_tree_pfd[i].fd);
  return live == 0 ? 0 : -1;
}

/* One teardown; *ms = from the first call until the tree is known dead,
 * *phase_ms = until the first call returned. */
static int tree_sample(int v, long n, double *ms, double *phase_ms) {
  tether_child *c;
  pid_t leader;
  uint64_t t0, t1 = 0, t2;
  int pidfds, ok = 1;
  if (tree_start(v, n, &c, &leader) < 0)
    return -1;
  pidfds = tree_open(n);
  t0 = bench_now_ns();
  switch (v) {
  case T_FREE:
    tether_child_free(c);
    t1 = bench_now_ns();
    ok = tree_wait_dead(n, pidfds) == 0;
    break;
  case T_WAIT_TREE:
    ok = tether_child_kill(c) == 0;
    ok = tether_child_wait_tree(c, 10000) == 1 && ok;
    t1 = bench_now_ns();
    tether_child_free(c);
    break;
  default:
    ok = kill(-leader, SIGKILL) == 0;
    ok = waitpid(leader, NULL, 0) == leader && ok;
    t1 = bench_now_ns();
    ok = tree_wait_dead(n, pidfds) == 0 && ok;
    break;
  }
  t2 = bench_now_ns();
  /* Checks, untimed: every member dead, nothing left in the group. */
  if (v == T_WAIT_TREE)
    ok = tree_wait_dead(n, pidfds) == 0 && ok;
  if (bench_group_live_count(leader) != 0) {
    fprintf(stderr, "tether_bench: %s: the group is not empty\n", bench_tree_mechs[v].name);
    ok = 0;
  }
  reap_zombies();
  *ms = (double)(t2 - t0) / 1e6;
  *phase_ms = (double)(t1 - t0) / 1e6;
  return ok ? 0 : -1;
}

/* The whole teardown measurement in one process (a subreaper, so that it
 * reaps the raw trees' orphans), variants interleaved: arg is the
 * bench_child_opts. Writes, per sample and variant, the two durations (-1
 * for a failed sample). */
static int tree_worker(void *arg, int res_fd) {
  const bench_child_opts *co = (const bench_child_opts *)arg;
  int s, v;
  double ms, ph, out[2];
  bench_become_subreaper();
  /* Warm-up, untimed: starts the keeper, faults in the tree code. */
  if (tree_sample(T_FREE, co->tree_n, &ms, &ph) < 0 || tree_sample(T_RAW, co->tree_n, &ms, &ph) < 0)
    return 80;
  for (s = 0; s < co->samples; s++)
    for (v = 0; v < T_COUNT; v++) {
      if (tree_sample(v, co->tree_n, &out[0], &out[1]) < 0)
        out[0] = out[1] = -1;
      if (bench_write_all(res_fd, out, sizeof(out)) < 0)
        return 81;
    }
  return 0;
}

/* Step 2 of the children: tree teardown, in one worker. 0, or 1 when a
 * sample failed. */
int bench_tree_step(const bench_child_opts *co, bench_child_results *cr) {
  int s, v, fd, pidfd, failed = 0;
  pid_t pid;
  if (bench_series_alloc(cr->tree, T_COUNT, co->samples) < 0 ||
      bench_series_alloc(cr->tree_phase, T_COUNT, co->samples) < 0)
    return 1;
  fprintf(stderr, "tether_bench: teardown of a %ld-process tree, %d samples\n", co->tree_n,
          co->samples);
  pidfd = pidfd_open(getpid());
  cr->tree_pidfd = pidfd >= 0;
  if (pidfd >= 0)
    (void)close(pidfd);
  fd = bench_fork_worker(tree_worker, (void *)co, -1, &pid);
  if (fd < 0) {
    failed = 1;
  } else {
    for (s = 0; s < co->samples; s++)
      for (v = 0; v < T_COUNT; v++) {
        double out[2];
        if (bench_read_all(fd, out, sizeof(out)) < 0) {
          failed = 1;
          s = co->samples;
          break;
        }
        if (out[0] < 0) {
          fprintf(stderr, "tether_bench: %s: sample %d failed\n", bench_tree_mechs[v].name, s + 1);
          failed = 1;
          continue;
        }
        bench_series_add(&cr->tree[v], out[0]);
        bench_series_add(&cr->tree_phase[v], out[1]);
      }
    (void)close(fd);
    bench_report_child("teardown", "worker", pid);
    (void)bench_reap_strays(5000);
  }
  bench_series_done(cr->tree, T_COUNT);
  bench_series_done(cr->tree_phase, T_COUNT);
  cr->tree_done = 1;
  return failed;
}

/* ---- 3. parent SIGKILL -> descendants dead ---- */

/* Hidden mode --forker: fork a grandchild, report (self, grandchild,
 * parent = the keeper) on stdout, sleep. */
int bench_hidden_forker(void) {
  int32_t v[3];
  pid_t g;
  (void)alarm(CHILD_TIMEOUT_S);
  g = fork();
  if (g == 0) {
    (void)alarm(CHILD_TIMEOUT_S);
    bench_pause_forever();
  }
  v[0] = (int32_t)getpid();
  v[1] = (int32_t)g;
  v[2] = (int32_t)getppid();
  if (g < 0 || bench_write_all(1, v, sizeof(v)) < 0)
    return 90;
  bench_pause_forever();
  return 0;
}

/* Hidden mode --middle: tether_spawn this binary as --forker (stdout
 * inherited), then sleep until killed. */
int bench_hidden_middle(void) {
  const char *argv[3];
  tether_child *c = NULL;
  tether_spawn_options so;
  (void)alarm(CHILD_TIMEOUT_S);
  argv[0] = bench_self;
  argv[1] = "--forker";
  argv[2] = NULL;
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.flags = TETHER_SPAWN_NO_SEARCH;
  if (tether_spawn(&c, argv, &so) < 0) {
    int32_t bad[3] = {-1, -1, -1};
    (void)bench_write_all(1, bad, sizeof(bad));
    return 91;
  }
  bench_pause_forever();
  return 0;
}

typedef struct kill_run {
  double child_ms, grandchild_ms, keeper_ms; /* keeper: -1 if not seen gone */
} kill_run;

/* One run: start a middle, SIGKILL it once its grandchild reported, poll
 * /proc every KILL_POLL_US until the child and grandchild are dead (and
 * the keeper, for at most 2 s more). */
static int kill_once(kill_run *out) {
  char *argv[3];
  int fd, ok, done[3] = {0, 0, 0}, i;
  int32_t pids[3];
  double at[3] = {-1, -1, -1};
  pid_t mid;
  uint64_t t0, t;
  argv[0] = bench_self;
  argv[1] = (char *)"--middle";
  argv[2] = NULL;
  fd = bench_spawn_reading(argv, &mid);
  if (fd < 0)
    return -1;
  ok = bench_read_all(fd, pids, sizeof(pids)) == 0 && pids[0] > 0 && pids[1] > 0 && pids[2] > 0;
  (void)close(fd);
  t0 = bench_now_ns();
  (void)kill(mid, SIGKILL);
  for (;;) {
    t = bench_now_ns();
    for (i = 0; ok && i < 3; i++)
      if (!done[i] && bench_proc_dead((pid_t)pids[i])) {
        done[i] = 1;
        at[i] = (double)(t - t0) / 1e6;
      }
    if (!ok || (done[0] && done[1] && (done[2] || t - t0 > 2000000000u)))
      break;
    if (t - t0 > 10000000000u) {
      fprintf(stderr, "tether_bench: parent kill: descendants alive after 10 s\n");
      ok = 0;
      for (i = 0; i < 2; i++)
        if (pids[i] > 0)
          (void)kill((pid_t)pids[i], SIGKILL);
      break;
    }
    bench_sleep_us(KILL_POLL_US);
  }
  (void)waitpid(mid, NULL, 0);
  (void)bench_reap_strays(5000); /* the keeper, re-parented to this subreaper */
  out->child_ms = at[0];
  out->grandchild_ms = at[1];
  out->keeper_ms = at[2];
  return ok ? 0 : -1;
}

/* The parent-kill runs in one worker (a subreaper: it reaps the guards);
 * arg is the bench_child_opts. Writes a kill_run per run (-2 when it
 * failed). */
static int kill_worker(void *arg, int res_fd) {
  const bench_child_opts *co = (const bench_child_opts *)arg;
  int r;
  kill_run k;
  bench_become_subreaper();
  fine_timer_slack();
  for (r = 0; r < (int)co->kill_runs; r++) {
    if (kill_once(&k) < 0)
      k.child_ms = k.grandchild_ms = k.keeper_ms = -2;
    if (bench_write_all(res_fd, &k, sizeof(k)) < 0)
      return 95;
  }
  return 0;
}

/* Step 3 of the children: parent SIGKILL. 0, or 1 when a run failed. */
int bench_kill_step(const bench_child_opts *co, bench_child_results *cr) {
  int fd, i, failed = 0;
  pid_t pid;
  if (bench_series_alloc(cr->kill, K_COUNT, (int)co->kill_runs) < 0)
    return 1;
  fprintf(stderr, "tether_bench: parent SIGKILL, %ld runs\n", co->kill_runs);
  fd = bench_fork_worker(kill_worker, (void *)co, -1, &pid);
  if (fd < 0) {
    failed = 1;
  } else {
    for (i = 0; i < co->kill_runs; i++) {
      kill_run kr;
      if (bench_read_all(fd, &kr, sizeof(kr)) < 0) {
        failed = 1;
        break;
      }
      if (kr.child_ms < 0 || kr.grandchild_ms < 0) {
        cr->kill_failed++;
        failed = 1;
        continue;
      }
      bench_series_add(&cr->kill[K_CHILD], kr.child_ms);
      bench_series_add(&cr->kill[K_GRANDCHILD], kr.grandchild_ms);
      bench_series_add(&cr->kill[K_LAST],
                       kr.child_ms > kr.grandchild_ms ? kr.child_ms : kr.grandchild_ms);
      if (kr.keeper_ms >= 0)
        bench_series_add(&cr->kill[K_GUARD], kr.keeper_ms);
    }
    (void)close(fd);
    bench_report_child("parent kill", "worker", pid);
    (void)bench_reap_strays(5000);
  }
  bench_series_done(cr->kill, K_COUNT);
  cr->kill_done = 1;
  return failed;
}
