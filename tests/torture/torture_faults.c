/* SPDX-License-Identifier: MIT */
/*
 * Torture: fault injection with resource limits. RLIMIT_NOFILE and
 * RLIMIT_NPROC are squeezed, one value after the other, around
 * tether_channel_new() (plain and callback mode) and tether_spawn() (stdio
 * inherited, /dev/null, or three pipes; the first spawn of a program, which
 * starts the keeper process, and later spawns). At every limit:
 *   - the call succeeds, or fails with the documented error: TETHER_EMFILE
 *     for descriptors, TETHER_EAGAIN for processes and threads, with
 *     tether_last_os_error() EMFILE / EAGAIN and the out pointer NULL;
 *   - nothing leaks: once the limit is restored the process has exactly the
 *     descriptors it had before (the same numbers), and no process is left
 *     but the keeper (Linux: /proc);
 *   - a call that succeeded under the limit works (the channel delivers, the
 *     child runs and exits with the expected code, its pipes carry data);
 *   - with the limit restored, the same call works again.
 * Every case runs in a fresh process (`--child` scenarios) with only stdin,
 * stdout and stderr open, so that limits and keeper state are exact; the
 * first-spawn cases use one process per limit value. A scenario that hangs
 * (a request lost between the program and its keeper) is killed after 60 s
 * and reported. RLIMIT_NPROC does not bind root: as root, the scenarios
 * switch to a user id that no process uses.
 *
 *   torture_faults
 *   torture_faults --child nofile_channel MODE(plain|callback)
 *   torture_faults --child nofile_spawn first|first-hard|later STDIO [LIMIT]
 *   torture_faults --child keeper_killed
 *   torture_faults --child nproc_channel
 *   torture_faults --child nproc_spawn first|later STDIO [LIMIT]
 *   torture_faults --child exit7 | echo     (the spawned programs)
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

/* posix/guard.h (a seam of the internal build): the guard's pid or -1. */
int64_t tether__guard_pid(void);

#define MAXFDS 256

/* ---------------------------------------------------------------------- */
/* The spawned programs                                                    */
/* ---------------------------------------------------------------------- */

static int child_exit7(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 7;
}

/* stdin to stdout, "e" to stderr, exit 0. */
static int child_echo(int argc, char **argv) {
  int r = tt_copy_stdin();
  (void)argc;
  (void)argv;
  if (r == 1)
    return 3;
  if (write(2, "e", 1) != 1)
    return 4;
  return r == 0 ? 0 : 5;
}

/* ---------------------------------------------------------------------- */
/* Bookkeeping inside a scenario                                           */
/* ---------------------------------------------------------------------- */

static int cases, failures;

#define CHECK(cond, ...)                          \
  do {                                            \
    if (!(cond)) {                                \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                        \
      printf("\n");                               \
      failures++;                                 \
    }                                             \
  } while (0)

/* The open descriptor numbers, ascending; the count. */
static int fd_list(int *out) {
  int n = 0, fd;
  for (fd = 0; fd < 1024 && n < MAXFDS; fd++)
    if (fcntl(fd, F_GETFD) != -1)
      out[n++] = fd;
  return n;
}

static int same_fds(const int *a, int na, const int *b, int nb) {
  return na == nb && memcmp(a, b, (size_t)na * sizeof(int)) == 0;
}

static void fds_text(char *buf, size_t cap, const int *a, int n) {
  size_t used = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; i < n && used + 8 < cap; i++)
    used += (size_t)snprintf(buf + used, cap - used, "%s%d", i ? "," : "", a[i]);
}

/* Only stdin, stdout and stderr stay open; output unbuffered (the
 * scenario may be killed). */
static void close_others(void) {
  int fd;
  setvbuf(stdout, NULL, _IONBF, 0);
  for (fd = 3; fd < 1024; fd++)
    (void)close(fd);
}

static void set_limit(int resource, rlim_t cur) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) != 0) {
    printf("FAIL getrlimit: %s\n", strerror(errno));
    exit(90);
  }
  rl.rlim_cur = cur;
  if (setrlimit(resource, &rl) != 0) {
    printf("FAIL setrlimit(%d, %lu): %s\n", resource, (unsigned long)cur, strerror(errno));
    exit(91);
  }
}

static rlim_t saved_nofile, saved_nproc, saved_nofile_max;
static int squeeze_hard; /* "first-hard": the hard limit too (root) */

/* Squeeze (or restore, when cur is the saved value) RLIMIT_NOFILE's hard
 * limit as well. */
static void set_hard_nofile(rlim_t cur, rlim_t max) {
  struct rlimit rl;
  rl.rlim_cur = cur;
  rl.rlim_max = max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    printf("FAIL setrlimit(RLIMIT_NOFILE, %lu/%lu): %s\n", (unsigned long)cur, (unsigned long)max,
           strerror(errno));
    exit(91);
  }
}

static void save_limits(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    exit(92);
  saved_nofile = rl.rlim_cur;
  saved_nofile_max = rl.rlim_max;
  if (getrlimit(RLIMIT_NPROC, &rl) != 0)
    exit(92);
  saved_nproc = rl.rlim_cur;
}

/* Processes descended from this one, keeper excluded (Linux: /proc; 0
 * elsewhere: not checked). The keeper is this process's child that leads a
 * process group of its own in this process's session (a detached child
 * leads a session of its own). */
static int stray_processes(char *why, size_t cap) {
#if defined(__linux__)
  enum { MAXP = 4096 };
  static int pid[MAXP], ppid[MAXP], pgid[MAXP], sid[MAXP];
  static char in[MAXP];
  int n = 0, i, changed, count = 0;
  size_t used = 0;
  DIR *d = opendir("/proc");
  struct dirent *de;
  if (d == NULL)
    return 0;
  while ((de = readdir(d)) != NULL && n < MAXP) {
    char path[300], buf[512], *p;
    FILE *f;
    int pp, pg, ss;
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
    f = fopen(path, "r");
    if (f == NULL)
      continue;
    if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
        sscanf(p + 1, " %*c %d %d %d", &pp, &pg, &ss) == 3 && p[2] != 'Z') {
      pid[n] = atoi(de->d_name);
      ppid[n] = pp;
      pgid[n] = pg;
      sid[n] = ss;
      in[n] = 0;
      n++;
    }
    fclose(f);
  }
  closedir(d);
  /* The descendants of getpid(): a fixed point over the parent links. */
  do {
    changed = 0;
    for (i = 0; i < n; i++) {
      int j, parent_in = ppid[i] == (int)getpid();
      for (j = 0; !parent_in && j < n; j++)
        parent_in = in[j] && pid[j] == ppid[i];
      if (!in[i] && parent_in) {
        in[i] = 1;
        changed = 1;
      }
    }
  } while (changed);
  why[0] = '\0';
  for (i = 0; i < n; i++) {
    int keeper = ppid[i] == (int)getpid() && pgid[i] == pid[i] && sid[i] != pid[i];
    if (in[i] && !keeper) {
      count++;
      if (used + 16 < cap)
        used += (size_t)snprintf(why + used, cap - used, " %d", pid[i]);
    }
  }
  return count;
#else
  (void)cap;
  why[0] = '\0';
  return 0;
#endif
}

/* No stray process, allowing 2 s for the killed and reaped to vanish. */
static void check_no_strays(const char *what) {
  char why[256];
  int i, n = 0;
  for (i = 0; i < 200; i++) {
    if ((n = stray_processes(why, sizeof(why))) == 0)
      return;
    tt_sleep_ms(10);
  }
  CHECK(n == 0, "%s: %d processes left besides the keeper:%s", what, n, why);
}

/* ---------------------------------------------------------------------- */
/* Channels                                                                */
/* ---------------------------------------------------------------------- */

/* The callback tells the main thread through a pipe (no shared flag). */
static int callback_pipe[2] = {-1, -1};

static void on_event(tether_channel *ch, const tether_event *ev, void *userdata) {
  (void)ch;
  (void)userdata;
  if (ev->kind == TETHER_EVENT_USER1)
    (void)!write(callback_pipe[1], "c", 1);
}

/* A channel that was opened works: SIGUSR1 to this process is reported. */
static int channel_works(tether_channel *ch, int callback) {
  tether_event ev;
  int r;
  if (tether_channel_watch(ch, TETHER_EVENT_USER1, 0) != 0)
    return 0;
  if (raise(SIGUSR1) != 0)
    return 0;
  if (!callback) {
    r = tether_channel_wait(ch, &ev, 5000);
    return r == 1 && ev.kind == TETHER_EVENT_USER1;
  }
  {
    struct pollfd pf;
    char c;
    pf.fd = callback_pipe[0];
    pf.events = POLLIN;
    return poll(&pf, 1, 5000) == 1 && read(callback_pipe[0], &c, 1) == 1;
  }
}

static int open_channel(tether_channel **ch, int callback) {
  tether_channel_options o;
  tether_channel_options_init(&o, TETHER_CHANNEL_OPTIONS_VERSION);
  o.callback = on_event;
  return tether_channel_new(ch, callback ? &o : NULL);
}

/* After a case: the limit back to its saved value, the descriptors now
 * into after (their number), both lists as text (a: after, b: before;
 * cap bytes each). */
static int restore_and_list(int resource, const int *before, int nb, int *after, char *a, char *b,
                            size_t cap) {
  int na;
  set_limit(resource, resource == RLIMIT_NOFILE ? saved_nofile : saved_nproc);
  na = fd_list(after);
  fds_text(a, cap, after, na);
  fds_text(b, cap, before, nb);
  return na;
}

/* One channel case: open under the limit, check, restore, open again. */
static void channel_case(int resource, rlim_t limit, int callback, int expected, int *failed_seen,
                         int *ok_seen) {
  const char *rname = resource == RLIMIT_NOFILE ? "RLIMIT_NOFILE" : "RLIMIT_NPROC";
  int before[MAXFDS], after[MAXFDS], nb, na, r;
  tether_channel *ch = (tether_channel *)&r; /* must become NULL on failure */
  char a[512], b[512];
  long os;
  cases++;
  nb = fd_list(before);
  set_limit(resource, limit);
  r = open_channel(&ch, callback);
  os = tether_last_os_error();
  if (r == 0) {
    (*ok_seen)++;
    CHECK(channel_works(ch, callback),
          "%s=%lu: the channel opened under the limit "
          "does not deliver",
          rname, (unsigned long)limit);
    tether_channel_free(ch);
  } else {
    (*failed_seen)++;
    CHECK(r == expected && ch == NULL,
          "%s=%lu: tether_channel_new(%s) = %s (out %p), expected %s or 0", rname,
          (unsigned long)limit, callback ? "callback" : "plain", tether_err_name(r), (void *)ch,
          tether_err_name(expected));
    CHECK(os == (expected == TETHER_EMFILE ? EMFILE : EAGAIN),
          "%s=%lu: tether_last_os_error() = %ld", rname, (unsigned long)limit, os);
  }
  na = restore_and_list(resource, before, nb, after, a, b, sizeof(a));
  CHECK(same_fds(before, nb, after, na), "%s=%lu: descriptors %s before, %s after", rname,
        (unsigned long)limit, b, a);
  printf("case %s=%lu tether_channel_new(%s): %s\n", rname, (unsigned long)limit,
         callback ? "callback" : "plain", tether_err_name(r));
  /* Restored: works again. */
  r = open_channel(&ch, callback);
  CHECK(r == 0, "after %s=%lu: tether_channel_new = %s with the limit restored", rname,
        (unsigned long)limit, tether_err_name(r));
  if (r == 0) {
    CHECK(channel_works(ch, callback), "after %s=%lu: the channel does not deliver", rname,
          (unsigned long)limit);
    tether_channel_free(ch);
  }
}

static int finish(const char *what, int failed_seen, int ok_seen, int must_fail) {
  CHECK(failed_seen > 0 || !must_fail, "%s: no limit made the call fail", what);
  CHECK(ok_seen > 0, "%s: no limit let the call succeed", what);
  printf("cases %d failures %d (%s: %d failed cleanly, %d succeeded under the "
         "limit)\n",
         cases, failures, what, failed_seen, ok_seen);
  return failures == 0 ? 0 : 1;
}

/* argv: plain|callback. Limits 3.. (0, 1, 2 are open). */
static int child_nofile_channel(int argc, char **argv) {
  int callback = argc > 0 && strcmp(argv[0], "callback") == 0, failed = 0, ok = 0;
  rlim_t l;
  close_others();
  save_limits();
  if (pipe(callback_pipe) != 0)
    return 93;
  for (l = callback ? 5 : 3; l < (callback ? 5 : 3) + 5; l++)
    channel_case(RLIMIT_NOFILE, l, callback, TETHER_EMFILE, &failed, &ok);
  return finish(callback ? "nofile_channel callback" : "nofile_channel plain", failed, ok, 1);
}

/* ---------------------------------------------------------------------- */
/* Spawns                                                                  */
/* ---------------------------------------------------------------------- */

/* argv: inherit|null|pipe: the options. */
static void spawn_options(tether_spawn_options *o, const char *stdio) {
  int i;
  tether_spawn_options_init(o, TETHER_SPAWN_OPTIONS_VERSION);
  for (i = 0; i < 3; i++)
    o->stdio[i].mode = strcmp(stdio, "pipe") == 0   ? TETHER_STDIO_PIPE
                       : strcmp(stdio, "null") == 0 ? TETHER_STDIO_NULL
                                                    : TETHER_STDIO_INHERIT;
}

/* The spawned child does its job: exit 7; with pipes, echo. */
/* A sanitizer runtime in the child: its exit-time leak check needs a task
 * of its own, which a squeezed RLIMIT_NPROC may refuse (exit code 1). */
#if defined(__SANITIZE_ADDRESS__)
#define TT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_SANITIZED 1
#endif
#endif
#ifndef TT_SANITIZED
#define TT_SANITIZED 0
#endif

static int spawned_works(tether_child *c, const char *stdio, char *why, size_t cap) {
  tether_status st;
  int pipes = strcmp(stdio, "pipe") == 0, r;
  char out[16], err[16];
  ssize_t no = 0, ne = 0;
  if (pipes) {
    int in = tether_child_stdio(c, 0);
    (void)signal(SIGPIPE, SIG_IGN); /* a child that died at once */
    (void)!write(in, "ping", 4);
    (void)tether_child_close_stdio(c, 0);
    no = read(tether_child_stdio(c, 1), out, sizeof(out));
    ne = read(tether_child_stdio(c, 2), err, sizeof(err));
  }
  r = tether_child_wait(c, 10000, &st);
  if (r != 1) {
    snprintf(why, cap, "tether_child_wait = %s", tether_err_name(r));
    return 0;
  }
  if ((st.kind == TETHER_STATUS_CODE && st.code == 127) || st.kind == TETHER_STATUS_SIGNAL ||
      (TT_SANITIZED && st.kind == TETHER_STATUS_CODE && st.code == 1)) {
    /* It started, then inherited the squeezed limit: the dynamic loader
     * found no descriptor to open its libraries with (127), or a sanitizer
     * runtime could not start its thread (SIGABRT). */
    snprintf(why, cap,
             "it started, then ended with %s %d under the inherited "
             "limit (1: LeakSanitizer could not start its tracer)",
             st.kind == TETHER_STATUS_CODE ? "exit" : "signal",
             st.kind == TETHER_STATUS_CODE ? st.code : st.signo);
    return 2;
  }
  if (st.kind != TETHER_STATUS_CODE || st.code != (pipes ? 0 : 7)) {
    snprintf(why, cap, "exit kind %d code %d signo %d", st.kind, st.code, st.signo);
    return 0;
  }
  if (pipes && (no != 4 || memcmp(out, "ping", 4) != 0 || ne != 1 || err[0] != 'e')) {
    snprintf(why, cap, "pipes carried %d bytes out, %d err", (int)no, (int)ne);
    return 0;
  }
  return 1;
}

static int do_spawn(tether_child **c, const char *stdio) {
  const char *v[7];
  tether_spawn_options o;
  tt_child_argv(v, strcmp(stdio, "pipe") == 0 ? "echo" : "exit7", NULL, NULL, NULL);
  spawn_options(&o, stdio);
  return tether_spawn(c, v, &o);
}

/* One spawn case: spawn under the limit, check, restore, spawn again. */
static void spawn_case(int resource, rlim_t limit, const char *when, const char *stdio,
                       int expected, int *failed_seen, int *ok_seen) {
  const char *rname = resource == RLIMIT_NOFILE ? "RLIMIT_NOFILE" : "RLIMIT_NPROC";
  int before[MAXFDS], after[MAXFDS], nb, na, r;
  tether_child *c = (tether_child *)&r; /* must become NULL on failure */
  char a[512], b[512], why[256];
  long os;
  cases++;
  nb = fd_list(before);
  if (squeeze_hard)
    set_hard_nofile(limit, limit);
  else
    set_limit(resource, limit);
  r = do_spawn(&c, stdio);
  os = tether_last_os_error();
  if (squeeze_hard) {
    /* Without CAP_SYS_RESOURCE the hard limit cannot be raised again: the
     * same call once more under it (a keeper that died is noticed again, or
     * restarted), then stop. */
    int r2;
    tether_child *c2 = NULL;
    if (r == 0) {
      tether_child_free(c);
      (*ok_seen)++;
    } else {
      (*failed_seen)++;
      CHECK(r == expected && c == NULL, "hard %s=%lu: first tether_spawn = %s", rname,
            (unsigned long)limit, tether_err_name(r));
    }
    cases++;
    r2 = do_spawn(&c2, stdio);
    CHECK(r2 == 0 || r2 == expected, "hard %s=%lu: second tether_spawn = %s", rname,
          (unsigned long)limit, tether_err_name(r2));
    if (r2 == 0)
      tether_child_free(c2);
    check_no_strays(rname);
    printf("case hard %s=%lu first tether_spawn(stdio %s): %s, then %s\n", rname,
           (unsigned long)limit, stdio, tether_err_name(r), tether_err_name(r2));
    return;
  }
  if (r == 0) {
    int w = spawned_works(c, stdio, why, sizeof(why));
    (*ok_seen)++;
    /* Too few descriptors for the child's loader is the child's business
     * (it inherits the limit), not a failure of the spawn. */
    CHECK(w == 1 || (w == 2 && limit < 8),
          "%s=%lu: %s spawn (stdio %s) under the limit: the child does not work: %s", rname,
          (unsigned long)limit, when, stdio, why);
    if (w == 2)
      printf("note %s=%lu: the child started but %s\n", rname, (unsigned long)limit, why);
    tether_child_free(c);
  } else {
    (*failed_seen)++;
    CHECK(r == expected && c == NULL,
          "%s=%lu: %s tether_spawn (stdio %s) = %s (out %p), expected %s or 0", rname,
          (unsigned long)limit, when, stdio, tether_err_name(r), (void *)c,
          tether_err_name(expected));
    CHECK(os == (expected == TETHER_EMFILE ? EMFILE : EAGAIN),
          "%s=%lu: tether_last_os_error() = %ld", rname, (unsigned long)limit, os);
  }
  na = restore_and_list(resource, before, nb, after, a, b, sizeof(a));
  /* A first spawn keeps what tether keeps for the whole process: the
   * guard's socket (one guard per program, by design, even when the spawn
   * itself failed) and, on Linux, the epoll set of the thread that watches
   * the children's pidfds. */
  if (!(strcmp(when, "first") == 0 && (na == nb + 1 || na == nb + 2)))
    CHECK(same_fds(before, nb, after, na),
          "%s=%lu: %s spawn (stdio %s): "
          "descriptors %s before, %s after",
          rname, (unsigned long)limit, when, stdio, b, a);
  check_no_strays(rname);
  printf("case %s=%lu %s tether_spawn(stdio %s): %s\n", rname, (unsigned long)limit, when, stdio,
         tether_err_name(r));
  /* Restored: works again. */
  r = do_spawn(&c, stdio);
  CHECK(r == 0, "after %s=%lu: tether_spawn (stdio %s) = %s with the limit restored", rname,
        (unsigned long)limit, stdio, tether_err_name(r));
  if (r == 0) {
    CHECK(spawned_works(c, stdio, why, sizeof(why)) == 1,
          "after %s=%lu: the child does not work: %s", rname, (unsigned long)limit, why);
    tether_child_free(c);
  }
  check_no_strays(rname);
}

/* argv: first|later STDIO [LIMIT]: first: one case at LIMIT in this fresh
 * process; later: after one spawn, every limit from 3 until the spawn has
 * succeeded under the limit 3 times. Prints "squeezed-ok" when a first
 * spawn succeeded under its limit. */
static int spawn_scenario(int resource, int argc, char **argv) {
  const char *when = argc > 0 ? argv[0] : "later";
  const char *stdio = argc > 1 ? argv[1] : "inherit";
  int expected = resource == RLIMIT_NOFILE ? TETHER_EMFILE : TETHER_EAGAIN;
  int failed = 0, ok = 0;
  char what[64];
  snprintf(what, sizeof(what), "%s_spawn %s %s", resource == RLIMIT_NOFILE ? "nofile" : "nproc",
           when, stdio);
  if (strcmp(when, "first-hard") == 0) {
    /* The keeper starts under the squeezed hard limit too: it cannot raise
     * its own, and dies setting up (the program must notice). */
    squeeze_hard = 1;
    when = "first";
  }
  if (strcmp(when, "first") == 0) {
    rlim_t l = argc > 2 ? (rlim_t)strtoul(argv[2], NULL, 10) : 3;
    spawn_case(resource, l, when, stdio, expected, &failed, &ok);
    printf("cases %d failures %d (%s at %lu: %s)\n", cases, failures, what, (unsigned long)l,
           ok ? "squeezed-ok" : "failed cleanly");
    if (squeeze_hard) /* LeakSanitizer cannot run its exit check under it */
      _exit(failures == 0 ? 0 : 1);
    return failures == 0 ? 0 : 1;
  } else {
    tether_child *c;
    rlim_t l;
    char why[256];
    int r = do_spawn(&c, stdio); /* the keeper starts */
    CHECK(r == 0, "the first spawn = %s", tether_err_name(r));
    if (r != 0)
      return 1;
    CHECK(spawned_works(c, stdio, why, sizeof(why)) == 1, "the first child: %s", why);
    tether_child_free(c);
    for (l = resource == RLIMIT_NOFILE ? 3 : 1; ok < 3 && l < 64; l++)
      spawn_case(resource, l, when, stdio, expected, &failed, &ok);
  }
  /* A later spawn with inherited stdio needs no new descriptor in the
   * program (and the keeper keeps its own limit): nothing to fail. */
  return finish(what, failed, ok, !(resource == RLIMIT_NOFILE && strcmp(stdio, "inherit") == 0));
}

static int child_nofile_spawn(int argc, char **argv) {
  close_others();
  save_limits();
  return spawn_scenario(RLIMIT_NOFILE, argc, argv);
}

/* The keeper killed between spawns: the next spawn fails cleanly or works
 * (a new keeper), and the one after works; nothing hangs. */
static int child_keeper_killed(int argc, char **argv) {
  tether_child *c;
  char why[256];
  int round, r;
  (void)argc;
  (void)argv;
  close_others();
  save_limits();
  for (round = 0; round < 3; round++) {
    pid_t keeper = -1;
    DIR *d;
    struct dirent *de;
    cases++;
    r = do_spawn(&c, "pipe");
    CHECK(r == 0, "round %d: spawn = %s", round, tether_err_name(r));
    if (r != 0)
      break;
    CHECK(spawned_works(c, "pipe", why, sizeof(why)) == 1, "round %d: %s", round, why);
    tether_child_free(c);
    /* The guard (tether-guard): not our child, a group of its own. */
    keeper = (pid_t)tether__guard_pid();
    (void)d;
    (void)de;
    CHECK(keeper > 0, "round %d: no keeper found", round);
    if (keeper <= 0)
      break;
    (void)kill(keeper, SIGKILL);
    tt_sleep_ms(50);
    r = do_spawn(&c, "pipe");
    CHECK(r == 0, "round %d: spawn after the guard was killed = %s", round, tether_err_name(r));
    {
      /* The library learns of the death from its reader thread (EOF),
       * which may run a little later than this spawn on a busy machine:
       * a new guard within 5 s. */
      int waited = 0;
      while (tether__guard_pid() == (int64_t)keeper && waited < 5000) {
        tt_sleep_ms(10);
        waited += 10;
      }
      printf("case guard killed (round %d): the next tether_spawn: %s (guard %ld, then "
             "%ld after %d ms)\n",
             round, tether_err_name(r), (long)keeper, (long)tether__guard_pid(), waited);
    }
    CHECK(tether__guard_pid() != (int64_t)keeper, "round %d: the dead guard is still used", round);
    if (r == 0) {
      CHECK(spawned_works(c, "pipe", why, sizeof(why)) == 1, "round %d: %s", round, why);
      tether_child_free(c);
    }
  }
  printf("cases %d failures %d (keeper killed between spawns)\n", cases, failures);
  return failures == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */
/* RLIMIT_NPROC: as a user id of our own                                   */
/* ---------------------------------------------------------------------- */

/* Become an unused user id when root (RLIMIT_NPROC counts the processes
 * and threads of a real user id and does not bind root). */
static int become_fresh_user(void) {
  uid_t uid;
  if (geteuid() != 0)
    return 0;
  uid = (uid_t)(61000 + getpid() % 3000);
  if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 || setuid(uid) != 0) {
    printf("FAIL cannot become uid %ld: %s\n", (long)uid, strerror(errno));
    return -1;
  }
  return 0;
}

static int child_nproc_channel(int argc, char **argv) {
  int failed = 0, ok = 0;
  rlim_t l;
  (void)argc;
  (void)argv;
  close_others();
  if (become_fresh_user() != 0)
    return 94;
  save_limits();
  if (pipe(callback_pipe) != 0)
    return 93;
  for (l = 1; l <= 3; l++)
    channel_case(RLIMIT_NPROC, l, 1, TETHER_EAGAIN, &failed, &ok);
  return finish("nproc_channel callback", failed, ok, 1);
}

static int child_nproc_spawn(int argc, char **argv) {
  close_others();
  if (become_fresh_user() != 0)
    return 94;
  save_limits();
  return spawn_scenario(RLIMIT_NPROC, argc, argv);
}

/* ---------------------------------------------------------------------- */
/* The tests: run scenarios, collect their reports                         */
/* ---------------------------------------------------------------------- */

static int total_cases;

/* Run `self --child ARGS...` with stdout+stderr to a pipe, at most 60 s;
 * print its output; add its case count; return its exit code (-1: killed or
 * hung). *squeezed_ok: it said "squeezed-ok". */
static int run_scenario(const char *const *args, int *squeezed_ok) {
  int p[2], st, n = 0, i, hung = 0;
  char buf[8192], *line;
  size_t len = 0;
  pid_t pid;
  uint64_t deadline = tether_now_ns() + 60000000000ull;
  const char *v[12];
  v[0] = tt_self();
  v[1] = "--child";
  for (i = 0; args[i] != NULL && i < 9; i++)
    v[i + 2] = args[i];
  v[i + 2] = NULL;
  assert_int_equal(pipe(p), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    execv(tt_self(), (char *const *)v);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    struct pollfd pf;
    ssize_t got;
    int64_t left = (int64_t)(deadline - tether_now_ns()) / 1000000;
    if (left <= 0) {
      hung = 1;
      break;
    }
    pf.fd = p[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, (int)left) <= 0)
      continue;
    got = read(p[0], buf + len, sizeof(buf) - 1 - len);
    if (got <= 0)
      break;
    len += (size_t)got;
    if (len == sizeof(buf) - 1)
      len = 0; /* keep the tail only */
  }
  if (hung)
    kill(pid, SIGKILL); /* its keeper then kills whatever it started */
  close(p[0]);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  buf[len] = '\0';
  *squeezed_ok = strstr(buf, "squeezed-ok") != NULL;
  for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (sscanf(line, "cases %d", &n) == 1)
      total_cases += n;
    if (strncmp(line, "FAIL", 4) == 0 || strncmp(line, "cases", 5) == 0 ||
        ((hung || !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) && strncmp(line, "case ", 5) != 0))
      print_message("  %s\n", line);
  }
  if (!hung && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    /* Show what it said besides the cases (a sanitizer report...). */
    print_error("scenario %s %s %s ended with status 0x%x\n", args[0], args[1] ? args[1] : "",
                args[1] && args[2] ? args[2] : "", (unsigned)st);
  }
  if (hung) {
    print_error("scenario %s %s %s hung for 60 s (killed)\n", args[0], args[1] ? args[1] : "",
                args[1] && args[2] ? args[2] : "");
    return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_scenario(const char *a0, const char *a1, const char *a2, const char *a3) {
  const char *args[5];
  int ok;
  args[0] = a0;
  args[1] = a1;
  args[2] = a1 != NULL ? a2 : NULL;
  args[3] = a1 != NULL && a2 != NULL ? a3 : NULL;
  args[4] = NULL;
  assert_int_equal(run_scenario(args, &ok), 0);
}

/* First spawns: one fresh process per limit value, from `from` up, until
 * the spawn succeeded under the limit twice. */
static void first_spawns(const char *scenario, const char *when, const char *stdio, int from) {
  int l, successes = 0, failures_seen = 0, bad = 0;
  for (l = from; successes < 2 && l < 64; l++) {
    const char *args[5];
    char num[16];
    int ok, rc;
    snprintf(num, sizeof(num), "%d", l);
    args[0] = scenario;
    args[1] = when;
    args[2] = stdio;
    args[3] = num;
    args[4] = NULL;
    rc = run_scenario(args, &ok);
    if (rc != 0)
      bad++;
    if (ok)
      successes++;
    else
      failures_seen++;
  }
  print_message("%s %s %s: %d limits failed cleanly, %d succeeded, %d bad\n", scenario, when, stdio,
                failures_seen, successes, bad);
  assert_int_equal(bad, 0);
  assert_true(failures_seen > 0 && successes > 0);
}

static void test_nofile_channel(void **state) {
  (void)state;
  expect_scenario("nofile_channel", "plain", NULL, NULL);
  expect_scenario("nofile_channel", "callback", NULL, NULL);
}

static void test_nofile_first_spawn(void **state) {
  (void)state;
  first_spawns("nofile_spawn", "first", "inherit", 3);
  first_spawns("nofile_spawn", "first", "null", 3);
  first_spawns("nofile_spawn", "first", "pipe", 3);
}

static void test_nofile_first_spawn_hard(void **state) {
  (void)state;
  if (geteuid() != 0) {
    print_message("[   SKIP   ] the hard limit can be raised again by root only\n");
    skip();
    return;
  }
  first_spawns("nofile_spawn", "first-hard", "inherit", 3);
}

static void test_keeper_killed(void **state) {
  (void)state;
  expect_scenario("keeper_killed", NULL, NULL, NULL);
}

static void test_nofile_later_spawns(void **state) {
  (void)state;
  expect_scenario("nofile_spawn", "later", "inherit", NULL);
  expect_scenario("nofile_spawn", "later", "null", NULL);
  expect_scenario("nofile_spawn", "later", "pipe", NULL);
}

static int nproc_possible(int spawns) {
  const char *why;
  if (geteuid() != 0) {
    print_message("[   SKIP   ] RLIMIT_NPROC cases need root (to switch to a user "
                  "id of their own: the limit counts every process of a user)\n");
    return 0;
  }
  /* The spawn scenarios become a user of their own (become_fresh_user)
   * and spawn this executable again. */
  why = spawns ? tt_cannot_run_as((uid_t)61000, (gid_t)61000) : NULL;
  if (why != NULL) {
    print_message("[   SKIP   ] %s\n", why);
    return 0;
  }
  return 1;
}

static void test_nproc_channel(void **state) {
  (void)state;
  if (!nproc_possible(0)) {
    skip();
    return;
  }
  expect_scenario("nproc_channel", NULL, NULL, NULL);
}

static void test_nproc_first_spawn(void **state) {
  (void)state;
  if (!nproc_possible(1)) {
    skip();
    return;
  }
  first_spawns("nproc_spawn", "first", "inherit", 1);
  first_spawns("nproc_spawn", "first", "pipe", 1);
}

static void test_nproc_later_spawns(void **state) {
  (void)state;
  if (!nproc_possible(1)) {
    skip();
    return;
  }
  expect_scenario("nproc_spawn", "later", "inherit", NULL);
  expect_scenario("nproc_spawn", "later", "pipe", NULL);
}

static void test_totals(void **state) {
  (void)state;
  print_message("faults: %d cases in all\n", total_cases);
  assert_true(total_cases > 0);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {{"exit7", child_exit7},
                                          {"echo", child_echo},
                                          {"nofile_channel", child_nofile_channel},
                                          {"nofile_spawn", child_nofile_spawn},
                                          {"nproc_channel", child_nproc_channel},
                                          {"keeper_killed", child_keeper_killed},
                                          {"nproc_spawn", child_nproc_spawn},
                                          {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nofile_channel),
      cmocka_unit_test(test_nofile_first_spawn),
      cmocka_unit_test(test_nofile_first_spawn_hard),
      cmocka_unit_test(test_nofile_later_spawns),
      cmocka_unit_test(test_keeper_killed),
      cmocka_unit_test(test_nproc_channel),
      cmocka_unit_test(test_nproc_first_spawn),
      cmocka_unit_test(test_nproc_later_spawns),
      cmocka_unit_test(test_totals),
  };
  return tt_main(argc, argv, scenarios, "torture-faults", tests, TT_COUNT(tests));
}
