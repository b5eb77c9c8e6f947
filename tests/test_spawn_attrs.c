/* SPDX-License-Identifier: MIT */
/*
 * Attribute matrix (issue 11, "Tests that must exist", outcome 1): a
 * tethered child is a posix_spawn() child of the calling thread at the
 * moment of the call, except that it has a process group of its own, an
 * empty signal mask and handled signals at their default (ignored ones stay
 * ignored unless TETHER_SPAWN_RESET_SIGNALS).
 *
 * Each test forks a fresh process (a "worker": the changes are process-wide
 * and often irreversible) that
 *   a. does one tethered spawn of the probe and frees it (this starts
 *      whatever helper the library uses: the point is what changes AFTER
 *      the first spawn),
 *   b. runs the probe with posix_spawn() (the baseline), changes one
 *      attribute, and runs it again with plain posix_spawn() (the change
 *      must be visible there: a check of the test itself),
 *   c. runs the probe with tether_spawn() (stdout a pipe) and with
 *      posix_spawn() given POSIX_SPAWN_SETPGROUP (0) and
 *      POSIX_SPAWN_SETSIGMASK (empty) (plus POSIX_SPAWN_SETSIGDEF for the
 *      signals TETHER_SPAWN_RESET_SIGNALS resets), the reference,
 *   d. compares the two outputs line by line (tests/probe_attrs.c prints
 *      one "name=value" line per attribute, sorted; lines it marks as
 *      per-process with a leading '~' are ignored: none today) and reports
 *      every differing line.
 * The worker reports through a pipe (valgrind changes exit statuses): lines
 * "cleanup rmdir|rmtree PATH" (what the parent removes afterwards, even
 * after a crash), then "PASS", "SKIP <reason>" or "FAIL" and the details,
 * then "END". The worker runs under alarm(); the parent polls the pipe with
 * a deadline and kills a worker that misses it: a hang is a failure.
 *
 * Cases whose privilege is missing (root, CAP_SETPCAP, a writable cgroup
 * hierarchy, namespaces) are skipped with the reason.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity, CPU_*, unshare, syscall, setresuid */
#endif
/* No feature macro on Apple: the full namespace (nftw, mkdtemp, NSIG). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "support.h"

#ifndef TETHER_PROBE_ATTRS
#error "TETHER_PROBE_ATTRS: the path of tether_probe_attrs (tests/CMakeLists.txt)"
#endif

extern char **environ;

/* A worker has this long (alarm), the parent waits this long for its
 * report (valgrind runs the worker, slowly). */
#ifndef WORKER_ALARM_S
#define WORKER_ALARM_S 90
#endif
#ifndef PARENT_DEADLINE_MS
#define PARENT_DEADLINE_MS 120000
#endif
/* One probe run: its output, and how long a tethered one may take. */
#define OUT_CAP 65536
#define PROBE_WAIT_MS 30000

#if defined(NSIG)
#define ATTR_NSIG NSIG
#else
#define ATTR_NSIG 65
#endif

/* ---------------------------------------------------------------------- */
/* Cases                                                                   */
/* ---------------------------------------------------------------------- */

enum { CH_OK = 0, CH_SKIP = 1, CH_FAIL = 2 };

typedef struct ctx ctx;
typedef int (*change_fn)(ctx *x);

typedef struct acase {
  const char *name;
  change_fn change;
  /* The change must alter a line whose name starts with this in a plain
   * posix_spawn child; NULL when the change cannot be seen there by nature
   * (a handled signal: exec resets it to default anyway). */
  const char *expect;
  unsigned tflags; /* tether_spawn_options.flags */
  int sigdef;      /* reference: POSIX_SPAWN_SETSIGDEF of the reset set */
  int in_thread;   /* change and spawn in a second thread */
  int arg;         /* case parameter (a resource, a policy) */
} acase;

struct ctx {
  const acase *c;
  int report;        /* the pipe to the parent */
  const char *probe; /* the probe to run (a chroot has its own copy) */
  uid_t nobody_uid;  /* looked up by the parent */
  gid_t nobody_gid;
  char why[1024];     /* skip reason or failure detail of the change */
  int result;         /* CH_* of the whole body */
  char detail[32768]; /* failure details for the parent */
};

static char out_base[OUT_CAP], out_plain[OUT_CAP], out_tether[OUT_CAP], out_ref[OUT_CAP];

/* ---------------------------------------------------------------------- */
/* Reporting (worker side: no cmocka here)                                  */
/* ---------------------------------------------------------------------- */

static void report_raw(int fd, const char *s) {
  size_t len = strlen(s);
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    s += n;
    len -= (size_t)n;
  }
}

static void TT_PRINTF(2, 3) detail_add(ctx *x, const char *fmt, ...) {
  size_t len = strlen(x->detail);
  va_list ap;
  if (len + 1 >= sizeof(x->detail))
    return;
  va_start(ap, fmt);
  (void)vsnprintf(x->detail + len, sizeof(x->detail) - len, fmt, ap);
  va_end(ap);
}

static void TT_PRINTF(2, 3) why(ctx *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(x->why, sizeof(x->why), fmt, ap);
  va_end(ap);
}

#if defined(__linux__)
/* Tell the parent to remove this when the worker is gone (the chroot and
 * cgroup cases, Linux only). */
static void report_cleanup(ctx *x, const char *kind, const char *path) {
  report_raw(x->report, "cleanup ");
  report_raw(x->report, kind);
  report_raw(x->report, " ");
  report_raw(x->report, path);
  report_raw(x->report, "\n");
}
#endif

/* ---------------------------------------------------------------------- */
/* Running the probe                                                         */
/* ---------------------------------------------------------------------- */

static int set_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFD);
  return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* posix_spawn the probe with stdout to a pipe, read it all, reap it.
 * how: 0 plain (SETPGROUP 0 only), 1 reference (SETPGROUP 0, SETSIGMASK
 * empty, SETSIGDEF of SIGHUP and SIGUSR1 when sigdef). Returns 0, or -1
 * with the reason in the detail. */
static int run_posix(ctx *x, const char *const *argv, int how, int sigdef, char *out,
                     const char *what) {
  posix_spawnattr_t at;
  posix_spawn_file_actions_t fa;
  int p[2], r, st;
  short fl = POSIX_SPAWN_SETPGROUP;
  pid_t pid;
  out[0] = '\0';
  if (pipe(p) != 0 || set_cloexec(p[0]) != 0 || set_cloexec(p[1]) != 0) {
    detail_add(x, "%s: pipe: errno %d\n", what, errno);
    return -1;
  }
  (void)posix_spawnattr_init(&at);
  (void)posix_spawn_file_actions_init(&fa);
  (void)posix_spawnattr_setpgroup(&at, 0);
  if (how == 1) {
    sigset_t none, def;
    sigemptyset(&none);
    (void)posix_spawnattr_setsigmask(&at, &none);
    fl |= POSIX_SPAWN_SETSIGMASK;
    if (sigdef) {
      sigemptyset(&def);
      sigaddset(&def, SIGHUP);
      sigaddset(&def, SIGUSR1);
      (void)posix_spawnattr_setsigdefault(&at, &def);
      fl |= POSIX_SPAWN_SETSIGDEF;
    }
  }
  (void)posix_spawnattr_setflags(&at, fl);
  (void)posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  r = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv, environ);
  (void)posix_spawn_file_actions_destroy(&fa);
  (void)posix_spawnattr_destroy(&at);
  (void)close(p[1]);
  if (r != 0) {
    (void)close(p[0]);
    detail_add(x, "%s: posix_spawn(%s) failed: errno %d (%s)\n", what, argv[0], r, strerror(r));
    return -1;
  }
  tt_read_all(p[0], out, OUT_CAP);
  (void)close(p[0]);
  while ((r = (int)waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    detail_add(x, "%s: the probe ended with status 0x%x\n", what, r == pid ? st : -1);
    return -1;
  }
  return 0;
}

/* tether_spawn the probe with stdout to a pipe, read it all, wait (bounded),
 * free it. */
static int run_tether(ctx *x, const char *const *argv, unsigned flags, char *out,
                      const char *what) {
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_status e;
  int r;
  out[0] = '\0';
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = flags;
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  r = tether_spawn(&c, argv, &o);
  if (r != 0) {
    detail_add(x, "%s: tether_spawn(%s) failed: %s (%s), OS error %ld\n", what, argv[0],
               tether_err_name(r), tether_strerror(r), tether_last_os_error());
    return -1;
  }
  tt_read_all(tether_child_stdio(c, 1), out, OUT_CAP);
  r = tether_child_wait(c, PROBE_WAIT_MS, &e);
  tether_child_free(c);
  if (r != 1) {
    detail_add(x, "%s: the tethered probe did not exit within %d ms\n", what, PROBE_WAIT_MS);
    return -1;
  }
  if (e.kind != TETHER_STATUS_CODE || e.code != 0) {
    detail_add(x, "%s: the tethered probe ended with kind %d code %d signal %d\n", what, e.kind,
               e.code, e.signo);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Comparing two outputs                                                    */
/* ---------------------------------------------------------------------- */

typedef struct kv {
  const char *name, *value;
} kv;

static int kv_cmp(const void *a, const void *b) {
  return strcmp(((const kv *)a)->name, ((const kv *)b)->name);
}

/* Split an output (modified in place) into sorted name/value pairs,
 * leaving out per-process lines ('~'). Returns the count. */
static size_t parse_out(char *s, kv *v, size_t cap) {
  size_t n = 0;
  char *line, *next;
  for (line = s; line != NULL && *line != '\0'; line = next) {
    char *eq;
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    if (line[0] == '~' || line[0] == '\0')
      continue;
    eq = strchr(line, '=');
    if (eq == NULL || n == cap)
      continue;
    *eq = '\0';
    v[n].name = line;
    v[n].value = eq + 1;
    n++;
  }
  qsort(v, n, sizeof(*v), kv_cmp);
  return n;
}

/* Compare a and b (copies are parsed); every differing line goes to the
 * detail as "  name: <la>=A <lb>=B". prefix: count only names starting with
 * it in *matching. Returns the number of differing names. */
static int compare(ctx *x, const char *a, const char *la, const char *b, const char *lb,
                   const char *prefix, int *matching) {
  static char ca[OUT_CAP], cb[OUT_CAP];
  static kv va[1024], vb[1024];
  size_t na, nb, i = 0, j = 0;
  int diffs = 0;
  memcpy(ca, a, strlen(a) + 1);
  memcpy(cb, b, strlen(b) + 1);
  na = parse_out(ca, va, 1024);
  nb = parse_out(cb, vb, 1024);
  if (matching != NULL)
    *matching = 0;
  while (i < na || j < nb) {
    int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i].name, vb[j].name);
    const char *name = c <= 0 ? va[i].name : vb[j].name;
    const char *v1 = c <= 0 ? va[i].value : "(missing)";
    const char *v2 = c >= 0 ? vb[j].value : "(missing)";
    if (c != 0 || strcmp(v1, v2) != 0) {
      diffs++;
      detail_add(x, "  %s: %s=%s %s=%s\n", name, la, v1, lb, v2);
      if (matching != NULL && prefix != NULL && strncmp(name, prefix, strlen(prefix)) == 0)
        (*matching)++;
    }
    if (c <= 0)
      i++;
    if (c >= 0)
      j++;
  }
  return diffs;
}

/* ---------------------------------------------------------------------- */
/* The worker                                                              */
/* ---------------------------------------------------------------------- */

/* Steps b-d, in the thread the case says. */
static void body(ctx *x) {
  const acase *c = x->c;
  const char *argv[2];
  int r, matching = 0, diffs;
  argv[1] = NULL;
  argv[0] = x->probe;
  if (run_posix(x, argv, 0, 0, out_base, "baseline (posix_spawn, before the change)")) {
    x->result = CH_FAIL;
    return;
  }
  r = c->change(x);
  if (r != CH_OK) {
    x->result = r;
    if (r == CH_FAIL)
      detail_add(x, "the change failed: %s\n", x->why);
    return;
  }
  argv[0] = x->probe;
  if (run_posix(x, argv, 0, 0, out_plain, "posix_spawn after the change") != 0) {
    x->result = CH_FAIL;
    return;
  }
  if (c->expect != NULL) {
    size_t mark = strlen(x->detail);
    (void)compare(x, out_base, "before", out_plain, "after", c->expect, &matching);
    if (matching == 0) {
      detail_add(x,
                 "test bug: the change is not visible to a posix_spawn child "
                 "(no '%s' line changed; %s)\n",
                 c->expect, mark == strlen(x->detail) ? "nothing changed" : "see above");
      x->result = CH_FAIL;
      return;
    }
    x->detail[mark] = '\0';
  }
  r = run_tether(x, argv, c->tflags, out_tether, "tether_spawn after the change");
  if (run_posix(x, argv, 1, c->sigdef, out_ref, "posix_spawn reference") != 0 || r != 0) {
    x->result = CH_FAIL;
    return;
  }
  if (strstr(out_tether, "cwd=") == NULL || strstr(out_ref, "cwd=") == NULL) {
    detail_add(x, "a probe printed no attributes:\ntether:\n%s\nposix_spawn:\n%s\n", out_tether,
               out_ref);
    x->result = CH_FAIL;
    return;
  }
  diffs = compare(x, out_tether, "tether", out_ref, "posix_spawn", NULL, NULL);
  if (diffs != 0) {
    char head[128];
    size_t hl;
    (void)snprintf(head, sizeof(head), "%d attribute line(s) differ:\n", diffs);
    hl = strlen(head);
    memmove(x->detail + hl, x->detail, sizeof(x->detail) - hl - 1);
    memcpy(x->detail, head, hl);
    x->detail[sizeof(x->detail) - 1] = '\0';
    x->result = CH_FAIL;
    return;
  }
  x->result = CH_OK;
}

static void *body_thread(void *arg) {
  body((ctx *)arg);
  return NULL;
}

/* Start from a clean slate: no ignored signal, an empty mask (the parent's
 * environment may ignore some; the cases then change exactly one thing). */
static void normalize_signals(void) {
  /* cmocka's handlers for these would carry on with the parent's test run
   * inside the worker: a crash here must end the worker. */
  static const int crash[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
  int s;
  size_t i;
  sigset_t none;
  for (i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
    (void)signal(crash[i], SIG_DFL);
  for (s = 1; s < ATTR_NSIG; s++) {
    struct sigaction sa;
    if (s == SIGKILL || s == SIGSTOP)
      continue;
    if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
      sa.sa_handler = SIG_DFL;
      (void)sigaction(s, &sa, NULL);
    }
  }
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static void worker(ctx *x) {
  const char *argv[2];
  normalize_signals();
  (void)alarm(WORKER_ALARM_S); /* a hang ends as SIGALRM */
  argv[0] = x->probe;
  argv[1] = NULL;
  /* a. The first tethered spawn: whatever helper the library has starts. */
  if (run_tether(x, argv, 0, out_tether, "first tether_spawn") != 0) {
    x->result = CH_FAIL;
  } else if (x->c->in_thread) {
    pthread_t t;
    int r = pthread_create(&t, NULL, body_thread, x);
    if (r != 0) {
      detail_add(x, "pthread_create: %d\n", r);
      x->result = CH_FAIL;
    } else {
      (void)pthread_join(t, NULL);
    }
  } else {
    body(x);
  }
  switch (x->result) {
  case CH_OK:
    report_raw(x->report, "PASS\n");
    break;
  case CH_SKIP:
    report_raw(x->report, "SKIP ");
    report_raw(x->report, x->why);
    report_raw(x->report, "\n");
    break;
  default:
    report_raw(x->report, "FAIL\n");
    report_raw(x->report, x->detail);
    break;
  }
  report_raw(x->report, "END\n");
}

/* ---------------------------------------------------------------------- */
/* The parent                                                              */
/* ---------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP || flag == FTW_D)
    (void)rmdir(path);
  else
    (void)unlink(path);
  return 0;
}

static void do_cleanup(const char *kind, const char *path) {
  int i;
  if (strcmp(kind, "rmtree") == 0) {
    /* Only what the chroot case makes. */
    if (strstr(path, "/tether-attrs-root.") != NULL)
      (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  } else if (strcmp(kind, "rmdir") == 0) {
    /* A cgroup: empty once the worker and its children are gone; a few
     * tries while the kernel lets go of them. */
    for (i = 0; i < 100 && rmdir(path) != 0 && errno == EBUSY; i++)
      tt_sleep_ms(50);
  }
}

static uint64_t now_ms(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run_case(void **state) {
  const acase *c = (const acase *)*state;
  static char rep[65536];
  static ctx x;
  size_t len = 0;
  int p[2], st = 0, ended = 0, timed_out = 0;
  pid_t pid, w;
  uint64_t deadline;
  char *line, *next, *verdict = NULL;

  memset(&x, 0, sizeof(x));
  x.c = c;
  x.probe = TETHER_PROBE_ATTRS;
  {
    /* Looked up here, not in the worker (no NSS after fork). */
    struct passwd *pw = getpwnam("nobody");
    x.nobody_uid = pw != NULL ? pw->pw_uid : (uid_t)65534;
    x.nobody_gid = pw != NULL ? pw->pw_gid : (gid_t)65534;
  }
  assert_int_equal(pipe(p), 0);
  assert_int_equal(set_cloexec(p[0]), 0);
  assert_int_equal(set_cloexec(p[1]), 0);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    (void)close(p[0]);
    x.report = p[1];
    worker(&x);
    _exit(0);
  }
  (void)close(p[1]);
  deadline = now_ms() + PARENT_DEADLINE_MS;
  rep[0] = '\0';
  for (;;) {
    struct pollfd pf;
    uint64_t now = now_ms();
    ssize_t n;
    int r;
    if (now >= deadline) {
      timed_out = 1;
      break;
    }
    pf.fd = p[0];
    pf.events = POLLIN;
    pf.revents = 0;
    r = poll(&pf, 1, (int)(deadline - now));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    n = read(p[0], rep + len, sizeof(rep) - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    rep[len] = '\0';
    /* The keeper of today's code holds a copy of the pipe until the worker
     * is gone: "END" ends the report. */
    if (len >= 4 && strcmp(rep + len - 4, "END\n") == 0) {
      ended = 1;
      break;
    }
    if (len + 1 >= sizeof(rep))
      break;
  }
  (void)close(p[0]);
  if (timed_out)
    (void)kill(pid, SIGKILL);
  {
    /* Reap it, bounded (a worker past its report only exits). */
    int i;
    for (i = 0; i < 2000; i++) {
      w = waitpid(pid, &st, WNOHANG);
      if (w == pid || (w < 0 && errno != EINTR))
        break;
      if (i == 1000)
        (void)kill(pid, SIGKILL);
      tt_sleep_ms(10);
    }
  }
  /* Cleanups first, whatever the verdict. */
  for (line = rep; line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (strncmp(line, "cleanup ", 8) == 0) {
      /* "cleanup KIND PATH" */
      char kind[16], path[8192];
      const char *k = line + 8, *sp = strchr(k, ' ');
      size_t pl;
      if (sp != NULL && next != NULL && sp > next)
        sp = NULL;
      pl = sp == NULL ? 0 : (size_t)((next != NULL ? next : sp + strlen(sp)) - sp - 1);
      if (sp != NULL && (size_t)(sp - k) < sizeof(kind) && pl > 0 && pl < sizeof(path)) {
        memcpy(kind, k, (size_t)(sp - k));
        kind[sp - k] = '\0';
        memcpy(path, sp + 1, pl);
        path[pl] = '\0';
        do_cleanup(kind, path);
      }
    } else if (verdict == NULL) {
      verdict = line;
    }
    if (next != NULL)
      next++;
  }
  if (timed_out)
    fail_msg("%s: the worker did not report within %d s (killed); it said:\n%s", c->name,
             PARENT_DEADLINE_MS / 1000, rep);
  if (!ended || verdict == NULL)
    fail_msg("%s: the worker ended without a verdict (%s %d%s); it said:\n%s", c->name,
             WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
             WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? ": SIGALRM, a step hung" : "", rep);
  if (strncmp(verdict, "PASS\n", 5) == 0)
    return;
  if (strncmp(verdict, "SKIP ", 5) == 0) {
    char reason[1200];
    char *nl = strchr(verdict, '\n');
    size_t n = nl != NULL ? (size_t)(nl - verdict) - 5 : strlen(verdict + 5);
    if (n >= sizeof(reason))
      n = sizeof(reason) - 1;
    memcpy(reason, verdict + 5, n);
    reason[n] = '\0';
    print_message("[   SKIP   ] %s: %s\n", c->name, reason);
    skip();
  }
  {
    /* FAIL and the details, without the closing END. */
    if (len >= 4)
      rep[len - 4] = '\0';
    fail_msg("%s: tethered child against posix_spawn child:\n%s", c->name, verdict + 5);
  }
}

/* ---------------------------------------------------------------------- */
/* The changes                                                              */
/* ---------------------------------------------------------------------- */

#if !defined(__linux__)
static int linux_only(ctx *x) {
  why(x, "a Linux attribute (this OS has no such attribute)");
  return CH_SKIP;
}
#endif

static int ch_chdir(ctx *x) {
  char cwd[PATH_MAX + 1];
  const char *to = "/";
  if (getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0)
    to = "/tmp";
  if (chdir(to) != 0) {
    why(x, "chdir(%s): errno %d", to, errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_umask(ctx *x) {
  mode_t old = umask(077);
  (void)x;
  if (old == 077)
    (void)umask(027);
  return CH_OK;
}

/* Running under valgrind (its preload library is in the environment). */
static int under_valgrind(void) {
  const char *p = getenv("LD_PRELOAD");
  return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* Lower a limit, keeping what this worker, the library and the probe need
 * (a sanitizer's shadow memory counts in RLIMIT_AS and RLIMIT_DATA). */
static rlim_t lower(rlim_t v, rlim_t big) {
  if (v == RLIM_INFINITY)
    return big;
  if (v == 0)
    return 0;
  if (v < 4)
    return v - 1;
  return v - v / 8;
}

static int ch_rlimit(ctx *x) {
  int res = x->c->arg;
  struct rlimit rl, nl;
  rlim_t big;
  if (getrlimit(res, &rl) != 0) {
    why(x, "getrlimit: errno %d", errno);
    return CH_FAIL;
  }
  if (under_valgrind() && (res == RLIMIT_DATA || res == RLIMIT_STACK || res == RLIMIT_NOFILE)) {
    why(x, "valgrind keeps RLIMIT_DATA, RLIMIT_STACK and RLIMIT_NOFILE for itself: a "
           "client's setrlimit never reaches the kernel (NOFILE: EPERM), so no child "
           "can see it; the native lanes run this");
    return CH_SKIP;
  }
  if (rl.rlim_cur == 0 && rl.rlim_max == 0) {
    why(x, "soft and hard limit are 0 here: nothing to lower");
    return CH_SKIP;
  }
  switch (res) {
#ifdef RLIMIT_AS
  case RLIMIT_AS:
#endif
  case RLIMIT_DATA:
    /* Finite, and beyond any address space: ThreadSanitizer alone maps
     * more than 64 TiB. */
    big = RLIM_INFINITY / 4;
    break;
  case RLIMIT_CPU:
    big = (rlim_t)1 << 20; /* seconds */
    break;
  default:
    big = (rlim_t)1 << 30;
    break;
  }
  nl.rlim_cur = lower(rl.rlim_cur, big);
  nl.rlim_max = lower(rl.rlim_max, big);
  if (nl.rlim_max != RLIM_INFINITY && nl.rlim_cur > nl.rlim_max)
    nl.rlim_max = nl.rlim_cur;
  if (setrlimit(res, &nl) != 0) {
    why(x, "setrlimit(%llu/%llu): errno %d", (unsigned long long)nl.rlim_cur,
        (unsigned long long)nl.rlim_max, errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_nice(ctx *x) {
  int n;
  errno = 0;
  n = getpriority(PRIO_PROCESS, 0);
  if (n == -1 && errno != 0) {
    why(x, "getpriority: errno %d", errno);
    return CH_FAIL;
  }
  if (n >= 19) {
    why(x, "the nice value is already 19: it cannot be raised");
    return CH_SKIP;
  }
  /* Linux: the calling thread only (that is the point of the thread case). */
  if (setpriority(PRIO_PROCESS, 0, n + 5 > 19 ? 19 : n + 5) != 0) {
    why(x, "setpriority: errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

/* Become nobody: Linux sets the three ids with setresgid/setresuid; there
 * is no setresuid elsewhere, where setgid/setuid as root set all three. */
static int ch_nobody(ctx *x) {
  gid_t g = x->nobody_gid;
  uid_t u = x->nobody_uid;
#if defined(__linux__)
  const char *calls = "setgroups/setresgid/setresuid";
#else
  const char *calls = "setgroups/setgid/setuid";
#endif
  int failed;
  if (geteuid() != 0) {
    why(x, "%s to nobody need root (not root: uid %lu)", calls, (unsigned long)geteuid());
    return CH_SKIP;
  }
#if defined(__linux__)
  failed = setgroups(1, &g) != 0 || setresgid(g, g, g) != 0 || setresuid(u, u, u) != 0;
#else
  failed = setgroups(1, &g) != 0 || setgid(g) != 0 || setuid(u) != 0;
#endif
  if (failed) {
    why(x, "%s(nobody): errno %d (%s)", calls, errno, strerror(errno));
    return errno == EPERM ? CH_SKIP : CH_FAIL;
  }
  if (access(x->probe, X_OK) != 0) {
    why(x, "nobody cannot run %s (errno %d): a directory on its path is closed", x->probe, errno);
    return CH_SKIP;
  }
  return CH_OK;
}

#if defined(__linux__)
static int set_policy(ctx *x, int policy) {
  struct sched_param sp;
  memset(&sp, 0, sizeof(sp));
  if (sched_getscheduler(0) == policy) {
    why(x, "already running under that policy");
    return CH_SKIP;
  }
  /* Linux: the calling thread's policy. */
  if (sched_setscheduler(0, policy, &sp) != 0) {
    why(x, "sched_setscheduler: errno %d (%s)", errno, strerror(errno));
    return errno == EPERM ? CH_SKIP : CH_FAIL;
  }
  return CH_OK;
}

static int ch_sched(ctx *x) { return set_policy(x, x->c->arg); }

static int ch_affinity(ctx *x) {
  cpu_set_t set;
  int c, first = -1, count = 0;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    why(x, "sched_getaffinity: errno %d", errno);
    return CH_FAIL;
  }
  for (c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) {
      count++;
      if (first < 0)
        first = c;
    }
  if (count < 2) {
    why(x, "this thread may run on %d CPU only: nothing to narrow", count);
    return CH_SKIP;
  }
  CPU_ZERO(&set);
  CPU_SET(first, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    why(x, "sched_setaffinity: errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC), e;
  ssize_t n;
  if (fd < 0)
    return -1;
  n = write(fd, text, strlen(text));
  e = errno;
  (void)close(fd);
  errno = e;
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  if (fd < 0)
    return -1;
  n = read(fd, buf, cap - 1);
  (void)close(fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return 0;
}

static int ch_oom(ctx *x) {
  char buf[32];
  int v;
  if (read_file("/proc/self/oom_score_adj", buf, sizeof(buf)) != 0) {
    why(x, "read oom_score_adj: errno %d", errno);
    return CH_FAIL;
  }
  v = atoi(buf);
  if (v >= 1000) {
    why(x, "oom_score_adj is already 1000");
    return CH_SKIP;
  }
  (void)snprintf(buf, sizeof(buf), "%d", v + 100 > 1000 ? 1000 : v + 100);
  if (write_file("/proc/self/oom_score_adj", buf) != 0) {
    why(x, "write oom_score_adj: errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_timerslack(ctx *x) {
  int cur = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  unsigned long to = cur == 1000000 ? 2000000ul : 1000000ul;
  /* The calling thread's. */
  if (cur < 0 || prctl(PR_SET_TIMERSLACK, to, 0, 0, 0) != 0) {
    why(x, "prctl(PR_SET_TIMERSLACK): errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_personality(ctx *x) {
  int cur = personality(0xffffffff);
  /* Toggled: the tsan lane already runs under setarch -R. */
  if (cur < 0 || personality((unsigned long)cur ^ ADDR_NO_RANDOMIZE) < 0) {
    why(x, "personality: errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_ioprio(ctx *x) {
#if defined(SYS_ioprio_set)
  /* IOPRIO_WHO_PROCESS 1, IOPRIO_CLASS_IDLE 3 (<< 13). */
  if (syscall(SYS_ioprio_set, 1, 0, 3 << 13) != 0) {
    why(x, "ioprio_set(IDLE): errno %d (%s)", errno, strerror(errno));
    return errno == EPERM ? CH_SKIP : CH_FAIL;
  }
  return CH_OK;
#else
  why(x, "no ioprio_set on this architecture");
  return CH_SKIP;
#endif
}

static int ch_thp(ctx *x) {
#if defined(PR_SET_THP_DISABLE)
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) {
    why(x, "prctl(PR_SET_THP_DISABLE): errno %d", errno);
    return errno == EINVAL ? CH_SKIP : CH_FAIL;
  }
  return CH_OK;
#else
  why(x, "PR_SET_THP_DISABLE unknown to these headers");
  return CH_SKIP;
#endif
}

static int ch_nnp(ctx *x) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    why(x, "prctl(PR_SET_NO_NEW_PRIVS): errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

#if defined(__x86_64__)
#define ATTR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ATTR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define ATTR_AUDIT_ARCH AUDIT_ARCH_I386
#endif

static int ch_seccomp(ctx *x) {
#if defined(ATTR_AUDIT_ARCH) && defined(__NR_vhangup)
  /* Everything allowed but vhangup(2) (nobody here calls it): EPERM. */
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ATTR_AUDIT_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_vhangup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog;
  prog.len = (unsigned short)(sizeof(f) / sizeof(f[0]));
  prog.filter = f;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    why(x, "prctl(PR_SET_NO_NEW_PRIVS): errno %d", errno);
    return CH_FAIL;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    why(x, "prctl(PR_SET_SECCOMP): errno %d (%s)", errno, strerror(errno));
    return errno == EINVAL || errno == EACCES ? CH_SKIP : CH_FAIL;
  }
  return CH_OK;
#else
  why(x, "no seccomp filter written for this architecture");
  return CH_SKIP;
#endif
}

static int ch_capbset(ctx *x) {
  /* A capability nobody here needs, still in the bounding set. */
  static const int caps[] = {35 /* CAP_WAKE_ALARM */, 27 /* CAP_MKNOD */, 22 /* CAP_SYS_BOOT */,
                             28 /* CAP_LEASE */};
  size_t i;
  for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
    if (prctl(PR_CAPBSET_READ, (unsigned long)caps[i], 0, 0, 0) != 1)
      continue;
    if (prctl(PR_CAPBSET_DROP, (unsigned long)caps[i], 0, 0, 0) != 0) {
      why(x, "prctl(PR_CAPBSET_DROP, %d): errno %d (%s): needs CAP_SETPCAP (root)", caps[i], errno,
          strerror(errno));
      return errno == EPERM ? CH_SKIP : CH_FAIL;
    }
    return CH_OK;
  }
  why(x, "none of the candidate capabilities is in the bounding set");
  return CH_SKIP;
}

/* mkdir -p of the directories of path (not the last component). */
static int mkdirs_for(char *path) {
  char *s;
  for (s = strchr(path + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
    *s = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
      *s = '/';
      return -1;
    }
    *s = '/';
  }
  return 0;
}

static int copy_file(const char *from, const char *to) {
  char buf[65536];
  int in = open(from, O_RDONLY | O_CLOEXEC), out, ok = 1;
  ssize_t n;
  if (in < 0)
    return -1;
  out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (out < 0) {
    (void)close(in);
    return -1;
  }
  while (ok && (n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0) {
      ok = errno == EINTR;
      continue;
    }
    ok = write(out, buf, (size_t)n) == n;
  }
  (void)close(in);
  if (close(out) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

/* A chroot with the probe and the shared objects it is loaded with (the
 * probe lists them: dl_iterate_phdr), at the same paths; no mounts, so no
 * /proc inside (the probe then prints its portable readings). */
static int ch_chroot(ctx *x) {
  static char root[PATH_MAX], libs[OUT_CAP], path[PATH_MAX * 2];
  const char *argv[3], *tmp = getenv("TMPDIR");
  char *line, *next;
  if (geteuid() != 0) {
    why(x, "chroot needs root (CAP_SYS_CHROOT; not root: uid %lu)", (unsigned long)geteuid());
    return CH_SKIP;
  }
  argv[0] = x->probe;
  argv[1] = "--libs";
  argv[2] = NULL;
  if (run_posix(x, argv, 0, 0, libs, "probe --libs") != 0) {
    why(x, "cannot list the probe's shared objects");
    return CH_FAIL;
  }
  (void)snprintf(root, sizeof(root), "%s/tether-attrs-root.XXXXXX",
                 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
  if (mkdtemp(root) == NULL) {
    why(x, "mkdtemp(%s): errno %d", root, errno);
    return CH_FAIL;
  }
  report_cleanup(x, "rmtree", root);
  if (chmod(root, 0755) != 0) {
    why(x, "chmod(%s): errno %d", root, errno);
    return CH_FAIL;
  }
  (void)snprintf(path, sizeof(path), "%s/tether_probe_attrs", root);
  if (copy_file(x->probe, path) != 0) {
    why(x, "copy %s to %s: errno %d", x->probe, path, errno);
    return CH_FAIL;
  }
  for (line = libs; line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    if (line[0] != '/')
      continue;
    (void)snprintf(path, sizeof(path), "%s%.4000s", root, line);
    if (mkdirs_for(path) != 0 || copy_file(line, path) != 0) {
      why(x, "copy %s to %s: errno %d", line, path, errno);
      return CH_FAIL;
    }
  }
  if (chroot(root) != 0 || chdir("/") != 0) {
    why(x, "chroot(%s): errno %d (%s)", root, errno, strerror(errno));
    return errno == EPERM ? CH_SKIP : CH_FAIL;
  }
  x->probe = "/tether_probe_attrs";
  return CH_OK;
}

static int ch_namespace(ctx *x) {
  int e;
  if (geteuid() == 0) {
    if (unshare(CLONE_NEWUTS) == 0)
      return CH_OK;
    e = errno;
    why(x, "unshare(CLONE_NEWUTS) as root refused: errno %d (%s)", e, strerror(e));
    return CH_SKIP;
  }
  if (unshare(CLONE_NEWUSER | CLONE_NEWUTS) == 0)
    return CH_OK;
  e = errno;
  why(x, "unshare(CLONE_NEWUSER|CLONE_NEWUTS) refused: errno %d (%s)%s", e, strerror(e),
      e == EINVAL ? ": a user namespace needs a single-threaded process, and the "
                    "library's first spawn left threads here"
                  : "");
  return CH_SKIP;
}

/* The cgroup2 hierarchy's mount point and mount root (mountinfo). */
static int cgroup2_mount(char *mnt, size_t mcap, char *mroot, size_t rcap) {
  static char buf[1 << 17];
  char *line, *next;
  if (read_file("/proc/self/mountinfo", buf, sizeof(buf)) != 0)
    return -1;
  for (line = buf; line != NULL && *line != '\0'; line = next) {
    char r[PATH_MAX], m[PATH_MAX], *sep;
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    sep = strstr(line, " - ");
    if (sep == NULL || strncmp(sep, " - cgroup2 ", 11) != 0)
      continue;
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
      continue;
    (void)snprintf(mnt, mcap, "%s", m);
    (void)snprintf(mroot, rcap, "%s", r);
    return 0;
  }
  return -1;
}

static int ch_cgroup(ctx *x) {
  static char buf[16384];
  char mnt[PATH_MAX], mroot[PATH_MAX], dir[PATH_MAX * 3], procs[PATH_MAX * 3 + 16], pid[32];
  const char *cg = NULL, *rel;
  char *line, *next;
  if (cgroup2_mount(mnt, sizeof(mnt), mroot, sizeof(mroot)) != 0) {
    why(x, "no cgroup2 hierarchy mounted (mountinfo)");
    return CH_SKIP;
  }
  if (read_file("/proc/self/cgroup", buf, sizeof(buf)) != 0) {
    why(x, "read /proc/self/cgroup: errno %d", errno);
    return CH_FAIL;
  }
  for (line = buf; line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    if (strncmp(line, "0::", 3) == 0)
      cg = line + 3;
  }
  if (cg == NULL) {
    why(x, "this process has no cgroup2 path in /proc/self/cgroup");
    return CH_SKIP;
  }
  /* The path relative to the mount's root. */
  rel = cg;
  if (strcmp(mroot, "/") != 0) {
    size_t n = strlen(mroot);
    if (strncmp(cg, mroot, n) != 0) {
      why(x, "this process's cgroup %s is outside the mounted part %s", cg, mroot);
      return CH_SKIP;
    }
    rel = cg + n;
  }
  (void)snprintf(dir, sizeof(dir), "%s%s%stether-attrs-%ld", mnt, rel,
                 rel[0] != '\0' && rel[strlen(rel) - 1] == '/' ? "" : "/", (long)getpid());
  if (mkdir(dir, 0755) != 0) {
    why(x, "the cgroup hierarchy is not writable here: mkdir %s: errno %d (%s)", dir, errno,
        strerror(errno));
    return CH_SKIP;
  }
  report_cleanup(x, "rmdir", dir);
  (void)snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
  (void)snprintf(pid, sizeof(pid), "%ld", (long)getpid());
  if (write_file(procs, pid) != 0) {
    why(x, "cannot move into %s: errno %d (%s)", dir, errno, strerror(errno));
    return CH_SKIP;
  }
  return CH_OK;
}
#else
#define ch_sched linux_only
#define ch_affinity linux_only
#define ch_oom linux_only
#define ch_timerslack linux_only
#define ch_personality linux_only
#define ch_ioprio linux_only
#define ch_thp linux_only
#define ch_nnp linux_only
#define ch_seccomp linux_only
#define ch_capbset linux_only
#define ch_namespace linux_only
#define ch_cgroup linux_only

static int ch_chroot(ctx *x) {
  why(x, "the chroot case copies the probe's shared objects, found with "
         "dl_iterate_phdr on Linux; macOS keeps its system libraries in the dyld "
         "shared cache, not as files to copy");
  return CH_SKIP;
}
#endif

static void ign_handler(int s) { (void)s; }

static int set_handler(ctx *x, void (*h)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGHUP, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0) {
    why(x, "sigaction: errno %d", errno);
    return CH_FAIL;
  }
  return CH_OK;
}

static int ch_sig_ignore(ctx *x) { return set_handler(x, SIG_IGN); }

static int ch_sig_handle(ctx *x) { return set_handler(x, ign_handler); }

static int ch_sig_block(ctx *x) {
  sigset_t s;
  int r;
  sigemptyset(&s);
  sigaddset(&s, SIGHUP);
  sigaddset(&s, SIGUSR1);
  r = pthread_sigmask(SIG_BLOCK, &s, NULL);
  if (r != 0) {
    why(x, "pthread_sigmask: %d", r);
    return CH_FAIL;
  }
  return CH_OK;
}

/* A thread-case change: only on Linux are these per-thread. */
static int ch_thread(ctx *x) {
#if defined(__linux__)
  switch (x->c->arg) {
  case 0:
    return ch_nice(x);
  case 1:
    return ch_affinity(x);
  case 2:
    return ch_timerslack(x);
  default:
    return set_policy(x, SCHED_BATCH);
  }
#else
  why(x, "per-thread nice/affinity/timer slack/policy are Linux behaviour");
  return CH_SKIP;
#endif
}

/* ---------------------------------------------------------------------- */
/* The matrix                                                               */
/* ---------------------------------------------------------------------- */

#define RL(res, name) \
  { "rlimit_" name, ch_rlimit, "rlimit." name, 0, 0, 0, res }

#if defined(__linux__)
#define ATTR_SCHED_BATCH SCHED_BATCH
#define ATTR_SCHED_IDLE SCHED_IDLE
#else
#define ATTR_SCHED_BATCH 0
#define ATTR_SCHED_IDLE 0
#endif

static const acase cases[] = {
    {"chdir", ch_chdir, "cwd", 0, 0, 0, 0},
    {"umask", ch_umask, "umask", 0, 0, 0, 0},
#ifdef RLIMIT_AS
    RL(RLIMIT_AS, "as"),
#endif
    RL(RLIMIT_CORE, "core"),
    RL(RLIMIT_CPU, "cpu"),
    RL(RLIMIT_DATA, "data"),
    RL(RLIMIT_FSIZE, "fsize"),
#ifdef RLIMIT_LOCKS
    RL(RLIMIT_LOCKS, "locks"),
#endif
#ifdef RLIMIT_MEMLOCK
    RL(RLIMIT_MEMLOCK, "memlock"),
#endif
#ifdef RLIMIT_MSGQUEUE
    RL(RLIMIT_MSGQUEUE, "msgqueue"),
#endif
#ifdef RLIMIT_NICE
    RL(RLIMIT_NICE, "nice"),
#endif
    RL(RLIMIT_NOFILE, "nofile"),
#ifdef RLIMIT_NPROC
    RL(RLIMIT_NPROC, "nproc"),
#endif
#ifdef RLIMIT_RSS
    RL(RLIMIT_RSS, "rss"),
#endif
#ifdef RLIMIT_RTPRIO
    RL(RLIMIT_RTPRIO, "rtprio"),
#endif
#ifdef RLIMIT_RTTIME
    RL(RLIMIT_RTTIME, "rttime"),
#endif
#ifdef RLIMIT_SIGPENDING
    RL(RLIMIT_SIGPENDING, "sigpending"),
#endif
    RL(RLIMIT_STACK, "stack"),
    {"nice", ch_nice, "nice", 0, 0, 0, 0},
    {"sched_batch", ch_sched, "sched.policy", 0, 0, 0, ATTR_SCHED_BATCH},
    {"sched_idle", ch_sched, "sched.policy", 0, 0, 0, ATTR_SCHED_IDLE},
    {"affinity", ch_affinity, "affinity", 0, 0, 0, 0},
    {"oom_score_adj", ch_oom, "oom_score_adj", 0, 0, 0, 0},
    {"timerslack", ch_timerslack, "timerslack", 0, 0, 0, 0},
    {"personality", ch_personality, "personality", 0, 0, 0, 0},
    {"ioprio_idle", ch_ioprio, "ioprio", 0, 0, 0, 0},
    {"thp_disable", ch_thp, "thp_disable", 0, 0, 0, 0},
    {"no_new_privs", ch_nnp, "nonewprivs", 0, 0, 0, 0},
    {"seccomp_filter", ch_seccomp, "seccomp_filters", 0, 0, 0, 0},
    {"capability_bounding_set", ch_capbset, "cap.bnd", 0, 0, 0, 0},
    {"setuid_nobody", ch_nobody, "cred.", 0, 0, 0, 0},
    {"chroot", ch_chroot, "root", 0, 0, 0, 0},
    {"namespace_uts", ch_namespace, "ns.uts", 0, 0, 0, 0},
    {"cgroup", ch_cgroup, "cgroup.", 0, 0, 0, 0},
    {"signal_ignored", ch_sig_ignore, "sig.ign", 0, 0, 0, 0},
    {"signal_ignored_reset", ch_sig_ignore, "sig.ign", TETHER_SPAWN_RESET_SIGNALS, 1, 0, 0},
    {"signal_handled", ch_sig_handle, NULL, 0, 0, 0, 0},
    {"signal_blocked", ch_sig_block, "sig.blk", 0, 0, 0, 0},
    {"thread_nice", ch_thread, "nice", 0, 0, 1, 0},
    {"thread_affinity", ch_thread, "affinity", 0, 0, 1, 1},
    {"thread_timerslack", ch_thread, "timerslack", 0, 0, 1, 2},
    {"thread_sched_batch", ch_thread, "sched.policy", 0, 0, 1, 3},
};

int main(int argc, char **argv) {
  struct CMUnitTest tests[TT_COUNT(cases)];
  size_t i;
  for (i = 0; i < TT_COUNT(cases); i++) {
    tests[i].name = cases[i].name;
    tests[i].test_func = run_case;
    tests[i].setup_func = NULL;
    tests[i].teardown_func = NULL;
    tests[i].initial_state = (void *)(uintptr_t)&cases[i];
  }
  return tt_main(argc, argv, NULL, "spawn_attrs", tests, TT_COUNT(tests));
}
