/* SPDX-License-Identifier: MIT */
/*
 * The keeper as the TETHER_SPAWN_CATCH_ESCAPEES path (Linux; GitHub issue
 * 11, outcomes 5 and 6): it is never the weak link.
 *
 *  - it survives every signal it can ignore (SIGTERM from a service
 *    manager's stop, SIGUSR1, SIGALRM, SIGXCPU, SIGPWR, real-time signals,
 *    the terminal's), does not keep the program's resource limits after a
 *    spawn, and calls itself "tether-keeper";
 *  - a SIGKILLed keeper wakes every waiter at once (the socket's EOF) and
 *    the next spawn starts a new one;
 *  - it kills only its own: with thousands of setsid() escapees (a
 *    children list far beyond one 4 KiB read), unrelated processes with
 *    low pids (in a private pid namespace) survive, and every escapee dies.
 *
 * Every blocking step has a time limit (a watchdog thread that aborts, and
 * poll timeouts): a hang is a failure. Linux only; skipped elsewhere.
 *
 * Child scenarios re-run this executable: `test_spawn_escape --child NAME`.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEW* */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#endif

#include "support.h"

/* ThreadSanitizer makes every fork of an instrumented process slow: a
 * flood of thousands takes minutes (200 double forks: 3.7 s on an idle
 * 2-vCPU VM; 1000: 4 minutes once it was loaded). The floods test the
 * keeper's process handling, not threads: they are left to the other
 * configurations (native, ASan/UBSan, valgrind). */
#define TT_TSAN_SKIP                                                   \
  "ThreadSanitizer: a flood of thousands of forks of an instrumented " \
  "process takes minutes; run in the native, sanitize and valgrind builds"

/* Orphans of the flood (outcome 6): each a pid of 4 digits in the private
 * namespace, so that the keeper's children list is about 10 KB. */
#define FLOOD_ORPHANS 2000
/* Unrelated processes started first, with the lowest pids (2..31). */
#define FLOOD_VICTIMS 30
/* Orphans of the flood in this process's own pid namespace (no victims). */
#define HOST_ORPHANS 1000

#if defined(__linux__)

/* ---------------------------------------------------------------------- */
/* /proc helpers                                                            */
/* ---------------------------------------------------------------------- */

static long ms_since(uint64_t t0) { return (long)((tether_now_ns() - t0) / 1000000u); }

static long proc_ppid(pid_t p) {
  long pp = -1;
  (void)tt_proc_state(p, &pp, NULL);
  return pp;
}

/* The line of /proc/<p>/<file> that starts with `key`, without the key
 * (NUL-terminated, newline removed), or "" . */
static void proc_line(pid_t p, const char *file, const char *key, char *out, size_t cap) {
  char path[64], buf[8192], *s;
  int fd;
  ssize_t n;
  out[0] = '\0';
  snprintf(path, sizeof(path), "/proc/%ld/%s", (long)p, file);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  for (s = buf; s != NULL && *s != '\0'; s = strchr(s, '\n') != NULL ? strchr(s, '\n') + 1 : NULL) {
    if (strncmp(s, key, strlen(key)) == 0) {
      size_t len;
      s += strlen(key);
      len = strcspn(s, "\n");
      if (len >= cap)
        len = cap - 1;
      memcpy(out, s, len);
      out[len] = '\0';
      return;
    }
  }
}

static unsigned long long proc_sigmask(pid_t p, const char *key) {
  char v[64];
  proc_line(p, "status", key, v, sizeof(v));
  return strtoull(v, NULL, 16);
}

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

static int child_pause(int argc, char **argv) {
  (void)argc;
  (void)argv;
  tt_sleep_forever();
  return 0;
}

/* Print the signal state the child starts with: ignored and blocked
 * signals (every signal, real-time ones included). */
static int child_sigstate(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("ign %llx blk %llx\n", proc_sigmask(getpid(), "SigIgn:"),
         proc_sigmask(getpid(), "SigBlk:"));
  fflush(stdout);
  return 0;
}

/* The flood: N orphans, each a double fork whose grandchild leaves the
 * group and the session (setsid) and sleeps. Every middle process waits
 * until all grandchildren exist, then they are killed in a shuffled order
 * (fixed seed), so that the grandchildren are re-parented to the nearest
 * subreaper (the keeper) in that order: its children list mixes pids of
 * every length, as a real process table does (pids of one length would
 * tile a fixed-size read exactly). With "hold" the middles stay alive
 * (in the child's group, each the parent of its escaped grandchild).
 * Prints "o PID" for each grandchild, then "ready N", then sleeps. Output
 * with write() only (no stdio buffer is copied into the forks). */
static int child_flood(int argc, char **argv) {
  static char out[128 * 1024];
  static pid_t mid[8000];
  int n = argc > 0 ? atoi(argv[0]) : FLOOD_ORPHANS, i, rp[2];
  int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
  unsigned seed = 12345u;
  size_t len = 0;
  if (n <= 0 || n > 8000 || pipe(rp) != 0)
    return 2;
  for (i = 0; i < n; i++) {
    pid_t m = fork();
    if (m < 0) {
      char e[128];
      int k = snprintf(e, sizeof(e), "error fork %d: %s\n", i, strerror(errno));
      (void)tt_write_all(1, e, (size_t)k);
      return 3;
    }
    if (m == 0) {
      pid_t g = fork();
      if (g == 0) {
        pid_t me;
        (void)setsid();
        me = getpid();
        (void)close(rp[0]);
        if (write(rp[1], &me, sizeof(me)) != (ssize_t)sizeof(me))
          _exit(1);
        (void)close(rp[1]);
        (void)close(0);
        (void)close(1);
        tt_sleep_forever();
      }
      if (g < 0)
        _exit(1);
      (void)close(rp[0]);
      (void)close(rp[1]);
      (void)close(1);
      tt_sleep_forever(); /* until killed below */
    }
    mid[i] = m;
  }
  (void)close(rp[1]);
  for (i = 0; i < n; i++) {
    pid_t p;
    size_t got = 0;
    while (got < sizeof(p)) {
      struct pollfd pf;
      ssize_t r;
      pf.fd = rp[0];
      pf.events = POLLIN;
      if (poll(&pf, 1, 60000) <= 0)
        return 5;
      r = read(rp[0], (char *)&p + got, sizeof(p) - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return 6;
      got += (size_t)r;
    }
    len += (size_t)snprintf(out + len, sizeof(out) - len, "o %ld\n", (long)p);
  }
  /* The middles die in a shuffled order (Fisher-Yates, a fixed LCG). */
  for (i = n - 1; i > 0; i--) {
    int j;
    pid_t t;
    seed = seed * 1103515245u + 12345u;
    j = (int)((seed >> 8) % (unsigned)(i + 1));
    t = mid[i];
    mid[i] = mid[j];
    mid[j] = t;
  }
  for (i = 0; i < n && !hold; i++) {
    int st;
    (void)kill(mid[i], SIGKILL);
    while (waitpid(mid[i], &st, 0) < 0 && errno == EINTR) {
    }
  }
  len += (size_t)snprintf(out + len, sizeof(out) - len, "ready %d\n", n);
  if (tt_write_all(1, out, len) != 0)
    return 7;
  tt_sleep_forever();
  return 0;
}

/* How long tt_read_line_within waits for a line of the flood (a flood of
 * thousands of forks says nothing for a while, much longer on a loaded
 * machine or under a sanitizer). */
#define FLOOD_LINE_MS 120000

static tether_child *spawn_catch2(const char *scen, const char *arg, const char *arg2,
                                  int pipe_out) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_CATCH_ESCAPEES;
  if (pipe_out)
    o.stdio[1].mode = TETHER_STDIO_PIPE;
  tt_child_argv(v, scen, arg, arg2, NULL);
  if (tether_spawn(&c, v, &o) != 0)
    return NULL;
  return c;
}

static tether_child *spawn_catch(const char *scen, const char *arg, int pipe_out) {
  return spawn_catch2(scen, arg, NULL, pipe_out);
}

/* Read "o PID" lines into pids (at most cap) until "ready N"; returns the
 * number of pids, or -1 (with the line in *bad) when the stream ends or
 * says something else. Each line within FLOOD_LINE_MS. */
static int read_orphans(int fd, pid_t *pids, int cap, char *bad, size_t badcap) {
  char line[256];
  int n = 0;
  for (;;) {
    long v;
    if (tt_read_line_within(fd, line, sizeof(line), FLOOD_LINE_MS) <= 0) {
      snprintf(bad, badcap, "(end of stream or no line for %d s, after %d orphans)",
               FLOOD_LINE_MS / 1000, n);
      return -1;
    }
    if (sscanf(line, "o %ld", &v) == 1) {
      if (n < cap)
        pids[n++] = (pid_t)v;
      continue;
    }
    if (sscanf(line, "ready %ld", &v) == 1 && v == n)
      return n;
    snprintf(bad, badcap, "%s", line);
    return -1;
  }
}

/* Wait (at most ms) until none of pids is alive (gone or a zombie);
 * returns the number still alive at the end, *took the milliseconds. */
static int wait_all_dead(const pid_t *pids, int n, long ms, long *took) {
  uint64_t t0 = tether_now_ns();
  int left, i;
  static unsigned char dead[8192];
  memset(dead, 0, sizeof(dead));
  for (;;) {
    left = 0;
    for (i = 0; i < n; i++) {
      if (!dead[i] && !tt_alive(pids[i]))
        dead[i] = 1;
      if (!dead[i])
        left++;
    }
    *took = ms_since(t0);
    if (left == 0 || *took > ms)
      return left;
    tt_sleep_ms(5);
  }
}

/* How many of pids have `parent` as their parent. */
static int count_children_of(const pid_t *pids, int n, long parent) {
  int i, k = 0;
  for (i = 0; i < n; i++)
    if (proc_ppid(pids[i]) == parent)
      k++;
  return k;
}

/* ---- the orphan flood in a private pid namespace ---- */

/* "program N [hold]" (started by ns_init with fork + exec): a program that
 * spawns the flood with CATCH_ESCAPEES, relays its lines (after "keeper
 * PID"), and ends without freeing it: its keeper's end-of-program path
 * must kill the escapees. */
static int child_program(int argc, char **argv) {
  tether_child *c =
      spawn_catch2("flood", argc > 0 ? argv[0] : "2000", argc > 1 ? argv[1] : NULL, 1);
  char line[256];
  if (c == NULL) {
    printf("error spawn\n");
    fflush(stdout);
    return 20;
  }
  printf("keeper %ld\n", proc_ppid((pid_t)tether_child_pid(c)));
  for (;;) {
    if (tt_read_line_within(tether_child_stdio(c, 1), line, sizeof(line), FLOOD_LINE_MS) <= 0) {
      printf("error flood ended\n");
      fflush(stdout);
      return 21;
    }
    printf("%s\n", line);
    if (strncmp(line, "ready", 5) == 0 || strncmp(line, "error", 5) == 0)
      break;
  }
  fflush(stdout);
  {
    char go;
    if (read(0, &go, 1) != 1) /* the test says when */
      _exit(22);
  }
  _exit(0); /* no free, no exit handlers: only the keeper's EOF path */
}

static pid_t ns_victims[FLOOD_VICTIMS];
static int ns_victim_killed[FLOOD_VICTIMS];
static pid_t ns_orphans[8192];

/* Reap what ended among this process's children (victims included: a
 * killed victim is remembered with its signal). */
static void ns_reap(void) {
  int st, i;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0)
    for (i = 0; i < FLOOD_VICTIMS; i++)
      if (ns_victims[i] == p)
        ns_victim_killed[i] = WIFSIGNALED(st) ? WTERMSIG(st) : 256 + WEXITSTATUS(st);
}

static int ns_victims_killed(void) {
  int i, k = 0;
  ns_reap();
  for (i = 0; i < FLOOD_VICTIMS; i++) {
    if (ns_victim_killed[i] == 0 && !tt_alive(ns_victims[i]))
      ns_victim_killed[i] = -1;
    if (ns_victim_killed[i] != 0) {
      printf("info victim %ld killed (%d)\n", (long)ns_victims[i], ns_victim_killed[i]);
      k++;
    }
  }
  return k;
}

/* How many of pids sit where the flood put them: re-parented to the keeper,
 * or (held) escaped, each in a session of its own, and still the child of
 * its middle, not of the keeper. */
static int count_placed(const pid_t *pids, int n, long keeper, int held) {
  int i, k = 0;
  if (!held)
    return count_children_of(pids, n, keeper);
  for (i = 0; i < n; i++) {
    long pp = proc_ppid(pids[i]);
    if (getsid(pids[i]) == pids[i] && pp > 1 && pp != keeper)
      k++;
  }
  return k;
}

/* Phase "exit": a program floods and ends; its keeper kills the escapees.
 * "exit-held": the middles are alive when the program ends, so the
 * escapees reach the keeper only while it kills the child's group. */
static void ns_phase_exit(int n, int held) {
  const char *name = held ? "exit-held" : "exit";
  char nb[16], line[256], bad[256];
  const char *args[] = {"program", nb, held ? "hold" : NULL, NULL};
  int p[2], go[2], nor, left, reparented;
  long keeper = -1, took = -1, flood_ms;
  pid_t prog;
  uint64_t t_flood = tether_now_ns();
  if (pipe(p) != 0 || pipe(go) != 0)
    return;
  snprintf(nb, sizeof(nb), "%d", n);
  prog = tt_fork_child(p, go, args);
  if (tt_read_line_within(p[0], line, sizeof(line), FLOOD_LINE_MS) <= 0 ||
      sscanf(line, "keeper %ld", &keeper) != 1) {
    printf("result %s error \"%s\"\n", name, line);
    close(p[0]);
    close(go[1]);
    return;
  }
  nor = read_orphans(p[0], ns_orphans, (int)(sizeof(ns_orphans) / sizeof(ns_orphans[0])), bad,
                     sizeof(bad));
  flood_ms = ms_since(t_flood);
  close(p[0]);
  if (nor < 0) {
    printf("result %s error \"%s\"\n", name, bad);
    close(go[1]);
    return;
  }
  reparented = count_placed(ns_orphans, nor, keeper, held);
  /* The program ends; its keeper sees EOF. */
  if (write(go[1], "g", 1) != 1)
    printf("info cannot tell the program to end\n");
  close(go[1]);
  {
    uint64_t t0 = tether_now_ns();
    int st;
    while (waitpid(prog, &st, WNOHANG) == 0 && ms_since(t0) < 20000)
      tt_sleep_ms(2);
  }
  left = wait_all_dead(ns_orphans, nor, 10000, &took);
  tt_sleep_ms(200); /* let a stray kill land, if there is one */
  printf("result %s orphans=%d placed=%d alive=%d victims_killed=%d dead_ms=%ld "
         "flood_ms=%ld\n",
         name, nor, reparented, left, ns_victims_killed(), took, flood_ms);
}

/* Phase "free": this process floods with CATCH_ESCAPEES and frees the
 * child; the keeper kills the escapees on release. */
static void ns_phase_free(int n) {
  char nb[16], bad[256];
  tether_child *c;
  int nor, left, reparented;
  long keeper, took = -1, free_ms, flood_ms;
  uint64_t t0 = tether_now_ns();
  snprintf(nb, sizeof(nb), "%d", n);
  c = spawn_catch("flood", nb, 1);
  if (c == NULL) {
    printf("result free error spawn\n");
    return;
  }
  keeper = proc_ppid((pid_t)tether_child_pid(c));
  nor = read_orphans(tether_child_stdio(c, 1), ns_orphans,
                     (int)(sizeof(ns_orphans) / sizeof(ns_orphans[0])), bad, sizeof(bad));
  flood_ms = ms_since(t0);
  if (nor < 0) {
    printf("result free error \"%s\"\n", bad);
    tether_child_free(c);
    return;
  }
  reparented = count_children_of(ns_orphans, nor, keeper);
  t0 = tether_now_ns();
  tether_child_free(c);
  free_ms = ms_since(t0);
  left = wait_all_dead(ns_orphans, nor, 10000, &took);
  tt_sleep_ms(200);
  printf("result free orphans=%d placed=%d alive=%d victims_killed=%d free_ms=%ld "
         "dead_ms=%ld keeper_alive=%d flood_ms=%ld\n",
         nor, reparented, left, ns_victims_killed(), free_ms, took, tt_alive((pid_t)keeper),
         flood_ms);
}

/* pid 1 of the private namespace (forked by child_ns). */
static int ns_init(int n, int round) {
  int i;
  if (getpid() != 1) {
    printf("skip not pid 1 of the new namespace (%ld)\n", (long)getpid());
    return 0;
  }
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* the namespace dies with the test */
  /* A /proc of this namespace (the keeper reads /proc/self/task/...), in a
   * mount namespace whose mounts do not propagate back. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    printf("skip cannot make / private in the new mount namespace: %s\n", strerror(errno));
    return 0;
  }
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    printf("skip cannot mount a /proc for the new pid namespace: %s\n", strerror(errno));
    return 0;
  }
  /* The victims first: the lowest pids, children of pid 1, not tether's. */
  for (i = 0; i < FLOOD_VICTIMS; i++) {
    pid_t v = fork();
    if (v < 0) {
      printf("skip fork of a victim: %s\n", strerror(errno));
      return 0;
    }
    if (v == 0) {
      const char *a[4];
      int nul = open("/dev/null", O_RDWR);
      dup2(nul, 0);
      dup2(nul, 1);
      dup2(nul, 2);
      a[0] = tt_self();
      a[1] = "--child";
      a[2] = "pause";
      a[3] = NULL;
      execv(tt_self(), (char *const *)a);
      _exit(127);
    }
    ns_victims[i] = v;
  }
  printf("info victims %ld..%ld\n", (long)ns_victims[0], (long)ns_victims[FLOOD_VICTIMS - 1]);
  fflush(stdout);
  ns_phase_exit(n, round == 2);
  fflush(stdout);
  ns_phase_free(n);
  printf("done\n");
  fflush(stdout);
  return 0; /* pid 1 ends: the kernel kills the rest of the namespace */
}

/* After unshare(CLONE_NEWPID) this process's next children go into the new
 * namespace, which is dead once its pid 1 has ended: no exit-time checks
 * (LeakSanitizer could not start its tracer there). */
static void ns_exit(int code) {
  fflush(stdout);
  _exit(code);
}

/* "ns N ROUND": a private pid namespace (as root; else with a user
 * namespace), whose pid 1 (our fork) runs ns_init. Says "skip REASON" when
 * refused. */
static int child_ns(int argc, char **argv) {
  int n = argc > 0 ? atoi(argv[0]) : FLOOD_ORPHANS, st;
  int round = argc > 1 ? atoi(argv[1]) : 1;
  pid_t g;
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (unshare(CLONE_NEWPID | CLONE_NEWNS) == 0) {
    printf("info namespace: unshare(CLONE_NEWPID|CLONE_NEWNS)\n");
  } else {
    int e1 = errno;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) != 0) {
      printf("skip unshare(CLONE_NEWPID|CLONE_NEWNS): %s; "
             "unshare(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS): %s\n",
             strerror(e1), strerror(errno));
      return 0;
    }
    {
      char map[64];
      int fd, ok = 1;
      fd = open("/proc/self/setgroups", O_WRONLY);
      if (fd >= 0) {
        ok &= write(fd, "deny", 4) == 4;
        close(fd);
      }
      snprintf(map, sizeof(map), "0 %ld 1", (long)uid);
      fd = open("/proc/self/uid_map", O_WRONLY);
      ok &= fd >= 0 && write(fd, map, strlen(map)) == (ssize_t)strlen(map);
      if (fd >= 0)
        close(fd);
      snprintf(map, sizeof(map), "0 %ld 1", (long)gid);
      fd = open("/proc/self/gid_map", O_WRONLY);
      ok &= fd >= 0 && write(fd, map, strlen(map)) == (ssize_t)strlen(map);
      if (fd >= 0)
        close(fd);
      if (!ok) {
        printf("skip cannot write uid_map/gid_map of the user namespace: %s\n", strerror(errno));
        ns_exit(0);
      }
    }
    printf("info namespace: unshare(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS) "
           "(unshare(CLONE_NEWPID|CLONE_NEWNS): %s)\n",
           strerror(e1));
  }
  fflush(stdout);
  g = fork();
  if (g < 0) {
    printf("skip fork into the new pid namespace: %s\n", strerror(errno));
    ns_exit(0);
  }
  if (g == 0)
    exit(ns_init(n, round));
  while (waitpid(g, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st)) {
    printf("error pid 1 of the namespace ended by signal %d\n",
           WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    ns_exit(30);
  }
  ns_exit(WEXITSTATUS(st));
  return 0;
}

#endif /* __linux__ */

/* ---------------------------------------------------------------------- */
/* Tests                                                                    */
/* ---------------------------------------------------------------------- */

#if defined(TETHER_TEST_LINUX)

/* Spawn "sleep" with CATCH_ESCAPEES, read its "ready", return the keeper's
 * pid (the child's parent). */
static tether_child *spawn_sleeper(long *keeper) {
  tether_child *c = spawn_catch("sleep", NULL, 1);
  char line[64];
  assert_non_null(c);
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_true(strncmp(line, "ready", 5) == 0);
  *keeper = proc_ppid((pid_t)tether_child_pid(c));
  assert_true(*keeper > 1);
  assert_true(*keeper != (long)getpid());
  return c;
}

static void kill_wait_free(tether_child *c) {
  tether_status e;
  assert_tether_ok(tether_child_kill(c));
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_KILLED);
  tether_child_free(c);
}

#endif

/* (a) Signals the keeper must survive; the child lives on and is still
 * tether's to wait for and free. Also: its name, its ignored signals, and
 * a child's clean signal state. */
static void test_keeper_survives_signals(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  {
    const int sigs[] = {SIGTERM, SIGUSR1, SIGALRM, SIGXCPU, SIGHUP, SIGINT, SIGPWR, SIGRTMIN + 3};
    const char *names[] = {"SIGTERM", "SIGUSR1", "SIGALRM", "SIGXCPU",
                           "SIGHUP",  "SIGINT",  "SIGPWR",  "SIGRTMIN+3"};
    char comm[64], out[256];
    long keeper, again;
    unsigned long long ign, cgt, ign2 = 0, blk2 = 0;
    tether_child *c, *c2;
    size_t i;
    int s;
    tt_watchdog_arm("keeper survives signals", 60);
    c = spawn_sleeper(&keeper);
    proc_line((pid_t)keeper, "status", "Name:\t", comm, sizeof(comm));
    ign = proc_sigmask((pid_t)keeper, "SigIgn:");
    cgt = proc_sigmask((pid_t)keeper, "SigCgt:");
    print_message("keeper %ld: name \"%s\", SigIgn %016llx, SigCgt %016llx\n", keeper, comm, ign,
                  cgt);
    assert_string_equal(comm, "tether-keeper");
    /* Every catchable signal is ignored, but SIGCHLD (its handler) and the
     * C library's internal ones (32, 33). When something under the keeper
     * catches signals itself (valgrind handles every signal at the
     * kernel's level and keeps one, a sanitizer's runtime the fault
     * signals), /proc shows that instead: then no signal may be at its
     * default, and the signals below must still leave it alive. */
    assert_true(cgt & (1ull << (SIGCHLD - 1)));
    {
      const unsigned long long own = (1ull << (SIGCHLD - 1)) | (1ull << 31) | (1ull << 32);
      int strict = (cgt & ~own) == 0; /* nothing caught but SIGCHLD (and 32, 33) */
      if (!strict)
        print_message("a runtime under the keeper catches signals itself: checking that none "
                      "is at its default\n");
      for (s = 1; s <= 64; s++) {
        unsigned long long bit = 1ull << (s - 1);
        if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD || s == 32 || s == 33)
          continue;
        if (strict && !(ign & bit))
          fail_msg("the keeper does not ignore signal %d", s);
        if (!((ign | cgt) & bit))
          fail_msg("the keeper leaves signal %d at its default", s);
      }
    }
    for (i = 0; i < TT_COUNT(sigs); i++) {
      assert_int_equal(kill((pid_t)keeper, sigs[i]), 0);
      tt_sleep_ms(30);
      if (!tt_alive((pid_t)keeper))
        fail_msg("the keeper died of %s", names[i]);
      if (!tt_alive((pid_t)tether_child_pid(c)))
        fail_msg("the child died after the keeper got %s", names[i]);
    }
    print_message("keeper %ld survived %u signals\n", keeper, (unsigned)TT_COUNT(sigs));
    assert_int_equal(tether_child_wait(c, 0, NULL), 0);
    /* Still the same keeper, still spawning; its children start with every
     * disposition at its default (the ignored ones too) and nothing
     * blocked. */
    c2 = spawn_catch("sigstate", NULL, 1);
    assert_non_null(c2);
    tt_read_line(tether_child_stdio(c2, 1), out, sizeof(out));
    assert_int_equal(sscanf(out, "ign %llx blk %llx", &ign2, &blk2), 2);
    print_message("child of the keeper: %s\n", out);
    assert_true(ign2 == 0 && blk2 == 0);
    assert_int_equal(tether_child_wait(c2, 10000, NULL), 1);
    tether_child_free(c2);
    kill_wait_free(c);
    c = spawn_sleeper(&again);
    assert_int_equal(again, keeper);
    kill_wait_free(c);
    tt_watchdog_disarm();
  }
#else
  tt_skip("Linux only: TETHER_SPAWN_CATCH_ESCAPEES needs a child subreaper");
#endif
}

/* (a') The program's resource limits reach the child, and the keeper keeps
 * its own: its CPU time limit raised to the hard one at start, never the
 * program's afterwards (CPU time and, for any other limit, the POSIX
 * message queue bytes: a limit no sanitizer runtime changes, unlike the
 * core size, which ASan sets to 0 in every process it starts). */
static void test_keeper_keeps_its_limits(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  {
    struct rlimit cpu0, mq0, cpu, mq;
    char kcpu0[128], kmq0[128], kcpu[128], kmq[128], ccpu[128], cmq[128];
    long keeper;
    tether_child *c;
    tt_watchdog_arm("keeper keeps its limits", 60);
    c = spawn_sleeper(&keeper);
    kill_wait_free(c);
    proc_line((pid_t)keeper, "limits", "Max cpu time", kcpu0, sizeof(kcpu0));
    proc_line((pid_t)keeper, "limits", "Max msgqueue size", kmq0, sizeof(kmq0));
    assert_int_equal(getrlimit(RLIMIT_CPU, &cpu0), 0);
    assert_int_equal(getrlimit(RLIMIT_MSGQUEUE, &mq0), 0);
    /* Its CPU soft limit is its hard limit. */
    {
      char soft[64], hard[64];
      assert_int_equal(sscanf(kcpu0, "%63s %63s", soft, hard), 2);
      assert_string_equal(soft, hard);
    }
    /* The program takes lower limits (far above what it has used). */
    cpu = cpu0;
    cpu.rlim_cur = 7777;
    if (cpu.rlim_max != RLIM_INFINITY && cpu.rlim_max < cpu.rlim_cur)
      cpu.rlim_cur = cpu.rlim_max;
    /* A message queue limit other than the keeper's own (half of it). */
    mq = mq0;
    {
      unsigned long long km = 0;
      if (sscanf(kmq0, "%llu", &km) != 1 || km < 2)
        km = 819200; /* "unlimited": any finite value differs */
      mq.rlim_cur = (rlim_t)(km / 2);
      if (mq.rlim_max != RLIM_INFINITY && mq.rlim_cur > mq.rlim_max)
        mq.rlim_cur = mq.rlim_max;
    }
    assert_int_equal(setrlimit(RLIMIT_CPU, &cpu), 0);
    assert_int_equal(setrlimit(RLIMIT_MSGQUEUE, &mq), 0);
    c = spawn_catch("sleep", NULL, 1);
    assert_int_equal(setrlimit(RLIMIT_CPU, &cpu0), 0);
    assert_int_equal(setrlimit(RLIMIT_MSGQUEUE, &mq0), 0);
    assert_non_null(c);
    {
      char line[64];
      tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
    }
    assert_int_equal(proc_ppid((pid_t)tether_child_pid(c)), keeper);
    proc_line((pid_t)tether_child_pid(c), "limits", "Max cpu time", ccpu, sizeof(ccpu));
    proc_line((pid_t)tether_child_pid(c), "limits", "Max msgqueue size", cmq, sizeof(cmq));
    proc_line((pid_t)keeper, "limits", "Max cpu time", kcpu, sizeof(kcpu));
    proc_line((pid_t)keeper, "limits", "Max msgqueue size", kmq, sizeof(kmq));
    print_message("child: cpu [%s] msgqueue [%s]\nkeeper after the spawn: cpu [%s] msgqueue [%s]\n",
                  ccpu, cmq, kcpu, kmq);
    {
      unsigned long long soft = 0;
      assert_int_equal(sscanf(ccpu, "%llu", &soft), 1);
      assert_true(soft == (unsigned long long)cpu.rlim_cur);
      assert_int_equal(sscanf(cmq, "%llu", &soft), 1);
      assert_true(soft == (unsigned long long)mq.rlim_cur);
    }
    assert_string_equal(kcpu, kcpu0);
    assert_string_equal(kmq, kmq0);
    kill_wait_free(c);
    tt_watchdog_disarm();
  }
#else
  tt_skip("Linux only: TETHER_SPAWN_CATCH_ESCAPEES needs a child subreaper");
#endif
}

#if defined(TETHER_TEST_LINUX)
typedef struct waiter {
  tether_child *c;
  int r;
  tether_status e;
  uint64_t done_ns;
} waiter;

static void *wait_thread(void *arg) {
  waiter *w = (waiter *)arg;
  w->r = tether_child_wait(w->c, -1, &w->e);
  w->done_ns = tether_now_ns();
  return NULL;
}
#endif

/* (b) A SIGKILLed keeper: a thread blocked in tether_child_wait(c, -1)
 * returns at once (the socket's EOF), with the child reported as killed by
 * SIGKILL (its parent-death signal killed it); free returns; the next spawn
 * starts a new keeper. */
static void test_keeper_sigkilled(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  {
    waiter w;
    pthread_t t;
    long keeper, keeper2, lat_us;
    pid_t child;
    uint64_t t0;
    tether_child *c;
    memset(&w, 0, sizeof(w));
    tt_watchdog_arm("keeper SIGKILLed", 60);
    c = spawn_sleeper(&keeper);
    child = (pid_t)tether_child_pid(c);
    w.c = c;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    tt_sleep_ms(100); /* the thread is in its wait */
    t0 = tether_now_ns();
    assert_int_equal(kill((pid_t)keeper, SIGKILL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    lat_us = (long)((w.done_ns - t0) / 1000u);
    print_message("keeper SIGKILLed: tether_child_wait(-1) returned after %ld us: r %d, kind %d, "
                  "signo %d, shell code %d\n",
                  lat_us, w.r, (int)w.e.kind, w.e.signo, w.e.shell_code);
    assert_int_equal(w.r, 1);
    assert_true(lat_us <= 100000);
    /* Documented (docs/children.md, "Backup"): reported as killed by SIGKILL. */
    assert_int_equal(w.e.kind, TETHER_STATUS_SIGNAL);
    assert_int_equal(w.e.signo, SIGKILL);
    assert_int_equal(w.e.shell_code, 128 + SIGKILL);
    t0 = tether_now_ns();
    tether_child_free(c);
    print_message("tether_child_free after the keeper's death: %ld ms\n", ms_since(t0));
    /* The child died by its parent-death signal. */
    {
      int i;
      for (i = 0; i < 500 && tt_alive(child); i++)
        tt_sleep_ms(2);
      assert_false(tt_alive(child));
    }
    /* A new keeper. */
    c = spawn_sleeper(&keeper2);
    assert_true(keeper2 != keeper);
    kill_wait_free(c);
    tt_watchdog_disarm();
  }
#else
  tt_skip("Linux only: TETHER_SPAWN_CATCH_ESCAPEES needs a child subreaper");
#endif
}

/* (c') Escapees die when their child is freed, in this process's own pid
 * namespace (so, no victims of our own: the namespaced test below has
 * them): 1000 setsid() orphans, a children list of several reads. */
static void test_escapees_die_on_free(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX) && defined(TT_TSAN)
  tt_skip(TT_TSAN_SKIP);
#elif defined(TETHER_TEST_LINUX)
  {
    static pid_t pids[HOST_ORPHANS];
    char nb[16], bad[256];
    tether_child *c;
    long keeper, took = -1, free_ms;
    int n, left, rep;
    uint64_t t0 = tether_now_ns();
    long flood_ms;
    tt_watchdog_arm("escapees die on free", 300);
    snprintf(nb, sizeof(nb), "%d", HOST_ORPHANS);
    c = spawn_catch("flood", nb, 1);
    assert_non_null(c);
    keeper = proc_ppid((pid_t)tether_child_pid(c));
    n = read_orphans(tether_child_stdio(c, 1), pids, HOST_ORPHANS, bad, sizeof(bad));
    flood_ms = ms_since(t0);
    if (n < 0) {
      tether_child_free(c); /* kills what the flood made so far */
      fail_msg("the flood said \"%s\"", bad);
    }
    assert_int_equal(n, HOST_ORPHANS);
    rep = count_children_of(pids, n, keeper);
    t0 = tether_now_ns();
    tether_child_free(c);
    free_ms = ms_since(t0);
    left = wait_all_dead(pids, n, 10000, &took);
    print_message("%d escapees (%d re-parented to the keeper; flood took %ld ms): free took "
                  "%ld ms, all dead after %ld ms, %d alive\n",
                  n, rep, flood_ms, free_ms, took, left);
    assert_int_equal(rep, n);
    assert_int_equal(left, 0);
    assert_true(tt_alive((pid_t)keeper));
    tt_watchdog_disarm();
  }
#else
  tt_skip("Linux only: TETHER_SPAWN_CATCH_ESCAPEES needs a child subreaper");
#endif
}

/* (c) Outcome 6: the keeper kills only its own. In a private pid namespace
 * (pids start at 1 there), 30 unrelated processes take pids 2..31; then
 * 2000 setsid() escapees (pids of 4 digits, a children list of about
 * 10 KB, far beyond one 4 KiB read whose cut-off number would be the
 * prefix of a pid: "1234" cut to "12") are killed twice: by the keeper of
 * a program that ends ("exit") and on tether_child_free ("free"). Every
 * escapee must die, every victim live (victims_killed counts every victim
 * dead so far). In two namespaces, one after the other: only fresh pids
 * mix 2, 3 and 4 digits (pids of one length tile a fixed-size read
 * exactly, and hide a cut-off number), so each is a new chance for a
 * keeper that misreads its list. In the second, the program ends while
 * the middles of the double forks still live ("exit-held"): the escapees
 * reach the keeper only as it kills the child's group, and must die too. */
static void test_orphan_flood_spares_strangers(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX) && defined(TT_TSAN)
  tt_skip(TT_TSAN_SKIP);
#elif defined(TETHER_TEST_LINUX)
  int round;
  char failed[4096];
  size_t flen = 0;
  failed[0] = '\0';
  for (round = 1; round <= 2; round++) {
    int p[2], st = 0, phases = 0, skipped = 0;
    char line[512], reason[600], nb[16], rb[16];
    const char *args[] = {"ns", nb, rb, NULL};
    pid_t f;
    uint64_t t0;
    reason[0] = '\0';
    print_message("namespace %d of 2\n", round);
    tt_watchdog_arm("orphan flood in a pid namespace", 300);
    assert_int_equal(pipe(p), 0);
    snprintf(nb, sizeof(nb), "%d", FLOOD_ORPHANS);
    snprintf(rb, sizeof(rb), "%d", round);
    f = tt_fork_child(p, NULL, args);
    assert_true(f >= 0);
    for (;;) {
      int r = tt_read_line_within(p[0], line, sizeof(line), 2 * FLOOD_LINE_MS);
      char phase[16];
      int orphans = -1, rep = -1, left = -1, victims = -1;
      if (r <= 0)
        break;
      print_message("  ns: %s\n", line);
      if (strncmp(line, "skip ", 5) == 0) {
        snprintf(reason, sizeof(reason), "private pid namespace refused: %s", line + 5);
        skipped = 1;
        continue;
      }
      /* Every failure is collected: both phases are reported. */
      if ((strncmp(line, "error", 5) == 0 || strstr(line, " error") != NULL) &&
          flen < sizeof(failed))
        flen += (size_t)snprintf(failed + flen, sizeof(failed) - flen, "%s; ", line);
      if (sscanf(line, "result %15s orphans=%d placed=%d alive=%d victims_killed=%d", phase,
                 &orphans, &rep, &left, &victims) == 5) {
        phases++;
        if ((orphans != FLOOD_ORPHANS || rep != orphans || left != 0 || victims != 0) &&
            flen < sizeof(failed))
          flen += (size_t)snprintf(failed + flen, sizeof(failed) - flen,
                                   "namespace %d, phase %s: %d orphans (want %d), %d in "
                                   "place (re-parented, or held), %d left alive (want 0), "
                                   "%d victims killed (want 0); ",
                                   round, phase, orphans, FLOOD_ORPHANS, rep, left, victims);
      }
      if (strcmp(line, "done") == 0)
        break;
    }
    close(p[0]);
    t0 = tether_now_ns();
    while (waitpid(f, &st, WNOHANG) == 0) {
      if (ms_since(t0) > 30000) {
        (void)kill(f, SIGKILL);
        fail_msg("the namespace's parent does not end");
      }
      tt_sleep_ms(10);
    }
    tt_watchdog_disarm();
    if (skipped && failed[0] == '\0')
      tt_skip(reason);
    if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0 || phases != 2) && flen < sizeof(failed))
      flen += (size_t)snprintf(failed + flen, sizeof(failed) - flen,
                               "namespace %d: status 0x%x, %d phases reported (want 2); ", round,
                               (unsigned)st, phases);
  }
  if (failed[0] != '\0') /* every phase of both namespaces is reported */
    fail_msg("%s", failed);
#else
  tt_skip("Linux only: TETHER_SPAWN_CATCH_ESCAPEES needs a child subreaper");
#endif
}

#if defined(TETHER_TEST_LINUX)
#define TT_WD_TEARDOWN tt_watchdog_teardown
#else
#define TT_WD_TEARDOWN NULL
#endif

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
#if defined(__linux__)
    {"sleep", tt_child_ready},
    {"pause", child_pause},
    {"sigstate", child_sigstate},
    {"flood", child_flood},
    {"program", child_program},
    {"ns", child_ns},
#endif
    {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_keeper_survives_signals, TT_WD_TEARDOWN),
      cmocka_unit_test_teardown(test_keeper_keeps_its_limits, TT_WD_TEARDOWN),
      cmocka_unit_test_teardown(test_keeper_sigkilled, TT_WD_TEARDOWN),
      cmocka_unit_test_teardown(test_escapees_die_on_free, TT_WD_TEARDOWN),
      cmocka_unit_test_teardown(test_orphan_flood_spares_strangers, TT_WD_TEARDOWN),
  };
  return tt_main(argc, argv, scenarios, "spawn_escape", tests, TT_COUNT(tests));
}
