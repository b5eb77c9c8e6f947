/* SPDX-License-Identifier: MIT */
/*
 * Tethered children on POSIX (native and portable lanes): spawning, stdio,
 * environment, errors, the tether guarantee (close, parent exit, crash,
 * SIGKILL; grandchildren; Linux setsid escapees), the thread trap, what the
 * child inherits, stop sequences and child events.
 *
 * Child scenarios re-run this executable: `test_spawn --child NAME ...`.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "support.h"

extern char **environ;

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

static int child_args(int argc, char **argv) {
  int i;
  for (i = 0; i < argc; i++)
    printf("[%s]\n", argv[i]);
  return 0;
}

static int child_env(int argc, char **argv) {
  int i;
  for (i = 0; i < argc; i++) {
    const char *v = getenv(argv[i]);
    printf("%s=%s\n", argv[i], v != NULL ? v : "(unset)");
  }
  return 0;
}

static int child_cwd(int argc, char **argv) {
  char buf[4096];
  (void)argc;
  (void)argv;
  if (getcwd(buf, sizeof(buf)) == NULL)
    return 1;
  printf("%s\n", buf);
  return 0;
}

/* Fork a grandchild that sleeps (optionally in a session of its own), print
 * both pids, then sleep. */
static int tree(int escape) {
  pid_t g = fork();
  if (g < 0)
    return 2;
  if (g == 0) {
    if (escape)
      (void)setsid();
    tt_sleep_forever();
  }
  printf("tree %ld %ld\n", (long)getpid(), (long)g);
  fflush(stdout);
  tt_sleep_forever();
  return 0;
}

static int child_tree(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tree(0);
}

static int child_escape(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tree(1);
}

/* A grandchild that outlives the child: print the grandchild pid, exit. */
static int child_orphan(int argc, char **argv) {
  pid_t g = fork();
  (void)argc;
  (void)argv;
  if (g == 0)
    tt_sleep_forever();
  printf("tree %ld %ld\n", (long)getpid(), (long)g);
  fflush(stdout);
  return 0;
}

static volatile sig_atomic_t got_sig;
static void note_sig(int s) { got_sig = s; }

/* Exits 0 on SIGINT / SIGTERM unless told to ignore them. */
static int child_stoppable(int argc, char **argv) {
  struct sigaction sa;
  int i;
  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = note_sig;
  (void)sigaction(SIGINT, &sa, NULL);
  (void)sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "ignore-int") == 0)
      (void)sigaction(SIGINT, &sa, NULL);
    if (strcmp(argv[i], "ignore-term") == 0)
      (void)sigaction(SIGTERM, &sa, NULL);
  }
  printf("ready\n");
  fflush(stdout);
  while (!got_sig)
    pause();
  return 0;
}

/* Print every open descriptor above 2, and whether the signal state is
 * clean: empty mask, no ignored signal. */
static int child_inherit(int argc, char **argv) {
  int fd, s, clean = 1;
  sigset_t mask;
  (void)argc;
  (void)argv;
  for (fd = 3; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) != -1)
      printf("fd %d\n", fd);
  (void)sigprocmask(SIG_SETMASK, NULL, &mask);
  for (s = 1; s < 32; s++) {
    struct sigaction sa;
    if (sigismember(&mask, s) == 1) {
      printf("blocked %d\n", s);
      clean = 0;
    }
    if (sigaction(s, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) {
      printf("ignored %d\n", s);
      clean = 0;
    }
  }
  printf("%s\n", clean ? "clean" : "dirty");
  return 0;
}

/* Print "sid S pgrp G ppid P ppgrp Q psid R": where the child and its
 * parent (the keeper) are. Then, on Linux, the keeper's ignored signals
 * ("ign" and a hex mask from /proc/<keeper>/status SigIgn). */
static int child_where(int argc, char **argv) {
  pid_t pp = getppid();
  (void)argc;
  (void)argv;
  printf("sid %ld pgrp %ld ppid %ld ppgrp %ld psid %ld\n", (long)getsid(0), (long)getpgrp(),
         (long)pp, (long)getpgid(pp), (long)getsid(pp));
#if defined(__linux__)
  {
    char path[64], buf[4096];
    const char *p;
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pp);
    f = fopen(path, "r");
    n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f != NULL)
      fclose(f);
    buf[n] = '\0';
    p = strstr(buf, "SigIgn:");
    if (p != NULL)
      printf("ign %llx\n", strtoull(p + 7, NULL, 16));
  }
#endif
  fflush(stdout);
  return 0;
}

/* The middle of a tether: spawn a tethered tree (child + grandchild, or
 * with an escapee), tell the test the pids on fd 1, then end as told:
 * "wait" (killed by the test), "exit", "abort". */
static int child_middle(int argc, char **argv) {
  const char *how = argc > 0 ? argv[0] : "wait";
  const char *scen = argc > 1 ? argv[1] : "tree";
  const char *cargv[7];
  tether_spawn_options o;
  tether_child *c;
  char line[128];
  FILE *f;
  int r;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (strcmp(scen, "escape") == 0)
    o.flags |= TETHER_SPAWN_CATCH_ESCAPEES;
  tt_child_argv(cargv, scen, NULL, NULL, NULL);
  r = tether_spawn(&c, cargv, &o);
  if (r < 0)
    return 10;
  f = fdopen(dup(tether_child_stdio(c, 1)), "r");
  if (f == NULL || fgets(line, sizeof(line), f) == NULL)
    return 11;
  printf("%s", line); /* "tree CHILD GRANDCHILD" */
  fflush(stdout);
  {
    char go;
    if (read(0, &go, 1) != 1) /* the test says when */
      return 12;
  }
  if (strcmp(how, "exit") == 0)
    exit(0); /* without freeing: the tether must hold anyway */
  if (strcmp(how, "abort") == 0)
    abort();
  tt_sleep_forever();
  return 0;
}

/* Process exhaustion, in a process of its own (so that its keeper starts
 * under the squeezed limit). RLIMIT_NPROC counts the processes of a user and
 * does not bind root, so as root this first becomes "nobody". Exit codes
 * name the step that went wrong. */
static int child_nproc(int argc, char **argv) {
  static const int want[3] = {TETHER_EAGAIN, TETHER_EAGAIN, 0};
  const char *v[7];
  struct rlimit rl;
  tether_child *c = NULL;
  int r, step;
  (void)argc;
  (void)argv;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
      return 50;
  }
  tt_child_argv(v, "exit", NULL, NULL, NULL);
  if (getrlimit(RLIMIT_NPROC, &rl) != 0)
    return 51;
  /* Step 1, limit 1: not even the keeper can be forked. 2, limit 2: the
   * keeper starts, the child cannot: the error comes back. 3, room again:
   * works (the keeper takes the program's limits each time). Exit codes
   * 52 + 2 x (step - 1): setrlimit failed; one more: the spawn's answer. */
  for (step = 0; step < 3; step++) {
    rl.rlim_cur = step < 2 ? (rlim_t)(step + 1) : rl.rlim_max;
    if (setrlimit(RLIMIT_NPROC, &rl) != 0)
      return 52 + 2 * step;
    r = tether_spawn(&c, v, NULL);
    if (r != want[step] || (r != 0 && c != NULL)) {
      printf("step %d: %s\n", step + 1, tether_err_name(r));
      return 53 + 2 * step;
    }
  }
  if (tether_child_wait(c, 10000, NULL) != 1)
    return 58;
  tether_child_free(c);
  return 0;
}

static int child_ids(int argc, char **argv) {
  (void)argc;
  (void)argv;
  errno = 0;
  printf("%ld %ld %ld %ld %d\n", (long)getuid(), (long)geteuid(), (long)getgid(), (long)getegid(),
         getpriority(PRIO_PROCESS, 0));
  return 0;
}

/* A program that changes its priority and (as root) drops privileges after
 * its first spawn: later children must get the new identity and priority,
 * not the keeper's. */
static int child_identity(int argc, char **argv) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c;
  char got[128], want[128];
  FILE *f;
  (void)argc;
  (void)argv;
  tt_child_argv(v, "ids", NULL, NULL, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (tether_spawn(&c, v, &o) != 0) /* the keeper starts here */
    return 60;
  tether_child_free(c);
  if (setpriority(PRIO_PROCESS, 0, 5) != 0)
    return 61;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
      return 62;
  }
  snprintf(want, sizeof(want), "%ld %ld %ld %ld %d", (long)getuid(), (long)geteuid(),
           (long)getgid(), (long)getegid(), 5);
  if (tether_spawn(&c, v, &o) != 0)
    return 63;
  f = fdopen(dup(tether_child_stdio(c, 1)), "r");
  if (f == NULL || fgets(got, sizeof(got), f) == NULL)
    return 64;
  fclose(f);
  got[strcspn(got, "\n")] = '\0';
  tether_child_free(c);
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "child has \"%s\", program has \"%s\"\n", got, want);
    return 65;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                  */
/* ---------------------------------------------------------------------- */

static tether_child *spawn_self(const char *scen, const char *a1, int pipe_out) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  if (pipe_out)
    o.stdio[1].mode = TETHER_STDIO_PIPE;
  tt_child_argv(v, scen, a1, NULL, NULL);
  assert_tether_ok(tether_spawn(&c, v, &o));
  assert_non_null(c);
  return c;
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                    */
/* ---------------------------------------------------------------------- */

static void test_exit_codes_and_signals(void **state) {
  tether_status e;
  tether_child *c;
  (void)state;
  c = spawn_self("exit", "42", 0);
  assert_true(tether_child_pid(c) > 0);
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_CODE);
  assert_int_equal(e.code, 42);
  assert_int_equal(e.shell_code, 42);
  tether_child_free(c);

  c = spawn_self("sleep", NULL, 1);
  {
    char line[64];
    tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  }
  assert_int_equal(tether_child_wait(c, 0, &e), 0);
  assert_tether_ok(tether_child_signal(c, TETHER_EVENT_TERMINATE));
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGTERM);
  assert_int_equal(e.shell_code, 128 + SIGTERM);
  tether_child_free(c);
}

static void test_argv_and_stdio_pipes(void **state) {
  const char *v[] = {NULL,       "--child",     "args",    "",  "two words",
                     "quote\"d", "back\\slash", "ünïcødé", NULL};
  char out[1024];
  tether_spawn_options o;
  tether_child *c;
  tether_status e;
  (void)state;
  v[0] = tt_self();
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.stdio[2].mode = TETHER_STDIO_NULL;
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
  assert_string_equal(out, "[]\n[two words]\n[quote\"d]\n[back\\slash]\n[ünïcødé]\n");
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.code, 0);
  /* stdin and stdout were not pipes */
  assert_int_equal(tether_child_stdio(c, 0), -1);
  assert_tether_err(tether_child_close_stdio(c, 0), TETHER_EINVAL);
  assert_tether_err(tether_child_close_stdio(c, 3), TETHER_EINVAL);
  tether_child_free(c);

  /* stdin pipe: what we write comes back; EOF by closing our end. */
  {
    const char *cv[7];
    tt_child_argv(cv, "cat", NULL, NULL, NULL);
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.stdio[0].mode = TETHER_STDIO_PIPE;
    o.stdio[1].mode = TETHER_STDIO_PIPE;
    assert_tether_ok(tether_spawn(&c, cv, &o));
    assert_int_equal(write(tether_child_stdio(c, 0), "hello\n", 6), 6);
    assert_tether_ok(tether_child_close_stdio(c, 0));
    assert_tether_err(tether_child_close_stdio(c, 0), TETHER_EINVAL);
    tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
    assert_string_equal(out, "hello\n");
    assert_int_equal(tether_child_wait(c, 10000, &e), 1);
    tether_child_free(c);
  }

  /* A given descriptor: a file. */
  {
    const char *cv[7];
    char path[] = "/tmp/tether-spawn-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    tt_child_argv(cv, "args", "to-file", NULL, NULL);
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.stdio[1].mode = TETHER_STDIO_HANDLE;
    o.stdio[1].handle = fd;
    assert_tether_ok(tether_spawn(&c, cv, &o));
    assert_int_equal(tether_child_wait(c, 10000, &e), 1);
    tether_child_free(c);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    tt_read_all(fd, out, sizeof(out));
    assert_string_equal(out, "[to-file]\n");
    /* the caller's descriptor is still its own and open */
    assert_true(fcntl(fd, F_GETFD) != -1);
    close(fd);
    unlink(path);
  }
}

static void test_environment_and_cwd(void **state) {
  const char *set[] = {"TETHER_A=1", "TETHER_B=two", "TETHER_A=again", NULL};
  const char *unset[] = {"TETHER_GONE", NULL};
  const char *v[7];
  char out[1024];
  tether_spawn_options o;
  tether_child *c;
  (void)state;
  assert_int_equal(setenv("TETHER_GONE", "x", 1), 0);
  assert_int_equal(setenv("TETHER_KEPT", "k", 1), 0);
  tt_child_argv(v, "env", "TETHER_A", "TETHER_B", "TETHER_GONE");
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.env_set = set;
  o.env_unset = unset;
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
  assert_string_equal(out, "TETHER_A=again\nTETHER_B=two\nTETHER_GONE=(unset)\n");
  tether_child_free(c);

  tt_child_argv(v, "env", "TETHER_KEPT", "TETHER_B", NULL);
  o.flags = TETHER_SPAWN_CLEAR_ENV;
  o.env_unset = NULL;
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
  assert_string_equal(out, "TETHER_KEPT=(unset)\nTETHER_B=two\n");
  tether_child_free(c);

  tt_child_argv(v, "cwd", NULL, NULL, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.cwd = "/";
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
  assert_string_equal(out, "/\n");
  tether_child_free(c);
  unsetenv("TETHER_GONE");
  unsetenv("TETHER_KEPT");
}

static void test_spawn_errors_are_synchronous(void **state) {
  const char *missing[] = {"tether-no-such-program-xyz", NULL};
  const char *abs_missing[] = {"/nonexistent/prog", NULL};
  const char *dir[] = {"/", NULL};
  const char *v[7];
  char path[] = "/tmp/tether-noexec-XXXXXX";
  tether_spawn_options o;
  tether_child *c = (tether_child *)&o;
  long fds = tt_open_fd_count();
  int fd;
  (void)state;
  assert_tether_err(tether_spawn(&c, missing, NULL), TETHER_ENOENT);
  assert_null(c);
  assert_tether_err(tether_spawn(&c, abs_missing, NULL), TETHER_ENOENT);
  assert_tether_err(tether_spawn(&c, dir, NULL), TETHER_EACCES);
  /* A file that is not executable, and one that is but has no format. */
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "echo hi\n", 8), 8);
  close(fd);
  {
    const char *f[] = {path, NULL};
    assert_tether_err(tether_spawn(&c, f, NULL), TETHER_EACCES);
    assert_int_equal(chmod(path, 0755), 0);
    /* no "#!": never run through a shell */
    assert_tether_err(tether_spawn(&c, f, NULL), TETHER_ENOEXEC);
  }
  unlink(path);
  /* Bad working directory. */
  tt_child_argv(v, "exit", "0", NULL, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.cwd = "/nonexistent-dir";
  assert_tether_err(tether_spawn(&c, v, &o), TETHER_ENOENT);
  o.cwd = "/etc/passwd";
  assert_tether_err(tether_spawn(&c, v, &o), TETHER_ENOTDIR);
  /* Nothing leaked. */
  assert_int_equal(tt_open_fd_count(), fds);
}

static void test_bad_input(void **state) {
  const char *ok[] = {"true", NULL};
  tether_spawn_options o;
  tether_child *c;
  (void)state;
  tt_spawn_refuses_bad_input(ok);
  /* POSIX: a handle that is not an open descriptor. */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_HANDLE;
  o.stdio[1].handle = 987;
  assert_tether_err(tether_spawn(&c, ok, &o), TETHER_EINVAL);
  /* Bad kinds and steps. */
  c = spawn_self("sleep", NULL, 1);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_CHILD), TETHER_EINVAL);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_LOGOFF), TETHER_EINVAL);
  assert_tether_err(tether_child_signal(c, 77), TETHER_EINVAL);
  assert_tether_err(tether_child_signal_native(NULL, SIGCONT), TETHER_EINVAL);
  assert_tether_err(tether_child_signal_native(c, 0), TETHER_EINVAL);
  assert_tether_err(tether_child_signal_native(c, -1), TETHER_EINVAL);
  assert_tether_err(tether_child_signal_native(c, 100000), TETHER_EINVAL);
  {
    tether_stop_step bad = {TETHER_EVENT_CHILD, 10};
    tether_stop_step negative = {TETHER_EVENT_TERMINATE, -1};
    tether_stop_step many[TETHER_STOP_MAX_STEPS + 1];
    tt_fill_steps(many, TT_COUNT(many), TETHER_EVENT_TERMINATE, 1000);
    assert_tether_err(tether_child_stop(c, &bad, 1, NULL), TETHER_EINVAL);
    assert_tether_err(tether_child_stop(c, NULL, 2, NULL), TETHER_EINVAL);
    /* One limit and one check for tether_child_stop() and tokens
     * (test_shutdown: test_token_owns_children): 16 steps, timeouts >= 0. */
    assert_int_equal(TETHER_STOP_MAX_STEPS, 16);
    assert_tether_err(tether_child_stop(c, &negative, 1, NULL), TETHER_EINVAL);
    assert_tether_err(tether_child_stop(c, many, TT_COUNT(many), NULL), TETHER_EINVAL);
    /* The child is untouched by all of that: 16 steps are taken, and the
     * first (TERMINATE, which the child obeys) ends it. */
    assert_int_equal(tether_child_wait(c, 0, NULL), 0);
    assert_int_equal(tether_child_stop(c, many, TETHER_STOP_MAX_STEPS, NULL), 0);
    assert_int_equal(tether_child_wait(c, 0, NULL), 1);
  }
  tether_child_free(c);
}

/* Closing a child kills its whole tree. */
static void test_kill_on_close(void **state) {
  char line[128];
  long cp, gp, ms1, ms2;
  tether_child *c;
  (void)state;
  c = spawn_self("tree", NULL, 1);
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_int_equal(sscanf(line, "tree %ld %ld", &cp, &gp), 2);
  assert_int_equal(cp, tether_child_pid(c));
  assert_true(tt_alive((pid_t)cp) && tt_alive((pid_t)gp));
  tether_child_free(c);
  ms1 = tt_gone_within((pid_t)cp, 2000);
  ms2 = tt_gone_within((pid_t)gp, 2000);
  print_message("close: child gone in %ld ms, grandchild in %ld ms\n", ms1, ms2);
  assert_true(ms1 >= 0 && ms1 <= 100);
  assert_true(ms2 >= 0 && ms2 <= 100);
}

/* Start `self --child middle HOW SCEN` with a plain fork+exec, read the
 * tree's pids it reports; *go is its stdin: one byte lets it go on. */
static pid_t start_middle(const char *how, const char *scen, long *cp, long *gp, int *go) {
  const char *args[] = {"middle", how, scen, NULL};
  int p[2], g[2];
  pid_t m;
  char line[128];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(pipe(g), 0);
  m = tt_fork_child(p, g, args);
  assert_true(m >= 0);
  *go = g[1];
  tt_read_line(p[0], line, sizeof(line));
  close(p[0]);
  assert_int_equal(sscanf(line, "tree %ld %ld", cp, gp), 2);
  return m;
}

static void check_parent_death(const char *how, const char *scen, int signo) {
  long cp, gp, ms1, ms2;
  int st, go;
  pid_t m = start_middle(how, scen, &cp, &gp, &go);
  assert_true(tt_alive((pid_t)cp) && tt_alive((pid_t)gp));
  if (signo != 0)
    assert_int_equal(kill(m, signo), 0);
  else
    assert_int_equal(write(go, "g", 1), 1);
  close(go);
  assert_int_equal(waitpid(m, &st, 0), m);
  ms1 = tt_gone_within((pid_t)cp, 3000);
  ms2 = tt_gone_within((pid_t)gp, 3000);
  print_message("parent %s%s (%s): child gone in %ld ms, grandchild in %ld ms\n", how,
                signo == SIGKILL ? "+SIGKILL" : "", scen, ms1, ms2);
  if (ms2 < 0)
    (void)kill((pid_t)gp, SIGKILL);
  assert_true(ms1 >= 0 && ms1 <= 500);
  assert_true(ms2 >= 0 && ms2 <= 500);
}

static void test_parent_sigkill(void **state) {
  (void)state;
  check_parent_death("wait", "tree", SIGKILL);
}

static void test_parent_exit_and_abort(void **state) {
  (void)state;
  check_parent_death("exit", "tree", 0);
  check_parent_death("abort", "tree", 0);
}

static void test_setsid_escapee(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  check_parent_death("wait", "escape", SIGKILL);
#else
  tt_skip("setsid() escapees are caught on Linux only (subreaper); "
          "the portable path (macOS) documents them as escaping");
#endif
}

static void *spawn_in_thread(void *arg) {
  tether_child **c = (tether_child **)arg;
  *c = spawn_self("sleep", NULL, 1);
  return NULL;
}

/* PR_SET_PDEATHSIG's trap: a child spawned from a thread that exits must
 * live on. */
static void test_thread_trap(void **state) {
  tether_child *c = NULL;
  pthread_t t;
  char line[64];
  (void)state;
  assert_int_equal(pthread_create(&t, NULL, spawn_in_thread, &c), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_non_null(c);
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  tt_sleep_ms(300);
  assert_true(tt_alive((pid_t)tether_child_pid(c)));
  assert_int_equal(tether_child_wait(c, 0, NULL), 0);
  tether_child_free(c);
}

/* Spawn `<self> --child scen` with flags, its stdout on a pipe, and read
 * that to its end into out. */
static tether_child *spawn_read(const char *scen, unsigned flags, char *out, size_t cap) {
  tether_child *c = NULL;
  tether_spawn_options o;
  const char *v[7];
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.flags = flags;
  tt_child_argv(v, scen, NULL, NULL, NULL);
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, cap);
  return c;
}

/* The child gets stdio only and an empty mask; a signal this process
 * ignores stays ignored (as with posix_spawn, exec, nohup) unless
 * TETHER_SPAWN_RESET_SIGNALS; a handled one starts at its default. */
static void check_inherit(unsigned flags, const char *want) {
  tether_channel *ch;
  char out[2048];
  sigset_t block, old;
  struct sigaction ign, oldign;
  int extra[2];
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED));
  assert_int_equal(pipe(extra), 0); /* not close-on-exec: must not leak either */
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  assert_int_equal(sigaction(SIGUSR2, &ign, &oldign), 0);
  tether_child_free(spawn_read("inherit", flags, out, sizeof(out)));
  assert_int_equal(sigaction(SIGUSR2, &oldign, NULL), 0);
  assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
  close(extra[0]);
  close(extra[1]);
  tether_channel_free(ch);
  assert_string_equal(out, want);
}

static void test_child_inherits_nothing(void **state) {
  char want[64];
  (void)state;
  snprintf(want, sizeof(want), "ignored %d\ndirty\n", SIGUSR2);
  check_inherit(0, want);
  check_inherit(TETHER_SPAWN_RESET_SIGNALS, "clean\n");
#if defined(TETHER_TEST_LINUX)
  /* The keeper's children: every disposition reset, always. */
  check_inherit(TETHER_SPAWN_CATCH_ESCAPEES, "clean\n");
#endif
}

/* A tethered child is this process's own child, a process group of its own
 * in this process's session (so it has the controlling terminal). With
 * TETHER_SPAWN_CATCH_ESCAPEES (Linux) its parent is the keeper instead: a
 * process group of its own in this session, ignoring the terminal's
 * signals (docs/children.md). */
static void check_where(unsigned flags) {
  tether_child *c;
  char out[512];
  long sid = -1, pg = -1, pp = -1, ppg = -1, psid = -1;
  c = spawn_read("where", flags, out, sizeof(out));
  assert_int_equal(tether_child_wait(c, 10000, NULL), 1);
  assert_int_equal(
      sscanf(out, "sid %ld pgrp %ld ppid %ld ppgrp %ld psid %ld", &sid, &pg, &pp, &ppg, &psid), 5);
  if (sid != (long)getsid(0) || pg != (long)tether_child_pid(c) || psid != sid)
    fail_msg("want the child in this session (%ld), a group of its own (%ld): %s", (long)getsid(0),
             (long)tether_child_pid(c), out);
  if (!(flags & TETHER_SPAWN_CATCH_ESCAPEES)) {
    if (pp != (long)getpid() || ppg != (long)getpgrp())
      fail_msg("want this process (%ld) as the child's parent: %s", (long)getpid(), out);
  } else {
    if (ppg != pp || ppg == (long)getpgrp() || pp == (long)getpid())
      fail_msg("want the keeper as the parent, a group of its own (not ours, %ld): %s",
               (long)getpgrp(), out);
#if defined(__linux__)
    {
      const char *p = strstr(out, "ign ");
      const int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP};
      unsigned long long ign;
      size_t i;
      assert_non_null(p);
      ign = strtoull(p + 4, NULL, 16);
      for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (!(ign & (1ull << (sigs[i] - 1))))
          fail_msg("the keeper does not ignore signal %d: %s", sigs[i], out);
    }
#endif
  }
  tether_child_free(c);
}

static void test_child_in_program_session(void **state) {
  (void)state;
  check_where(0);
#if defined(TETHER_TEST_LINUX)
  check_where(TETHER_SPAWN_CATCH_ESCAPEES);
#endif
}

static void check_stop(const char *ign1, const char *ign2, int expect_step, int expect_kind) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c;
  tether_status e;
  char line[64];
  tether_stop_step steps[2] = {{TETHER_EVENT_INTERRUPT, 0}, {TETHER_EVENT_TERMINATE, 0}};
  /* A step the child ignores must run out (short); a step it obeys must
   * not, even on a loaded machine with a sanitizer's exit-time checks
   * (long: it ends early anyway). */
  steps[0].timeout_ms = ign1 != NULL ? 500 : 15000;
  steps[1].timeout_ms = ign2 != NULL ? 500 : 15000;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  tt_child_argv(v, "stoppable", ign1, ign2, NULL);
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_string_equal(line, "ready");
  assert_int_equal(tether_child_stop(c, steps, 2, &e), expect_step);
  assert_int_equal(e.kind, expect_kind);
  tether_child_free(c);
}

static void test_stop_sequence(void **state) {
  (void)state;
  check_stop(NULL, NULL, 0, TETHER_STATUS_CODE);
  check_stop("ignore-int", NULL, 1, TETHER_STATUS_CODE);
  check_stop("ignore-int", "ignore-term", 2, TETHER_STATUS_KILLED);
}

/* A tree stopped by job control (Ctrl+Z) still gets its graceful step:
 * the stop sequence resumes it (SIGCONT), as systemd does, instead of
 * waiting out the step and killing it. */
static void test_stop_resumes_stopped_tree(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_TERMINATE, 20000}};
  tether_child *c = spawn_self("sleep", NULL, 1);
  tether_status e;
  char line[64];
  uint64_t t0;
  int i;
  (void)state;
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_int_equal(kill(-(pid_t)tether_child_pid(c), SIGSTOP), 0);
  for (i = 0; i < 1000 && tt_proc_state((pid_t)tether_child_pid(c), NULL, NULL) != 'T'; i++)
    tt_sleep_ms(5);
  if (tt_proc_state((pid_t)tether_child_pid(c), NULL, NULL) != 'T') {
    tether_child_free(c);
    tt_skip("cannot see the stopped state in /proc here");
  }
  t0 = tether_now_ns();
  assert_int_equal(tether_child_stop(c, steps, 1, &e), 0);
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGTERM);
  assert_true((tether_now_ns() - t0) / 1000000u < 10000u); /* not the 20 s */
  tether_child_free(c);
}

/* tether_child_signal_native() against killpg() of a posix_spawn'ed peer
 * in a group of its own, side by side: SIGSTOP stops both, SIGCONT
 * continues both; RESIZE (SIGWINCH, ignored by default) leaves both
 * running; a signal that kills ends the child with it; a tree that is gone
 * gives TETHER_ESRCH. */
static void wait_state(pid_t a, pid_t b, int stopped) {
  int i;
  for (i = 0; i < 2000; i++) {
    if ((tt_proc_state(a, NULL, NULL) == 'T') == stopped &&
        (tt_proc_state(b, NULL, NULL) == 'T') == stopped)
      return;
    tt_sleep_ms(5);
  }
  fail_msg("states after 10 s: child '%c', peer '%c', want %s", tt_proc_state(a, NULL, NULL),
           tt_proc_state(b, NULL, NULL), stopped ? "stopped" : "running");
}

static void test_signal_native(void **state) {
  tether_child *c = spawn_self("sleep", NULL, 1);
  char *const peer_argv[] = {(char *)"sleep", (char *)"30", NULL};
  posix_spawnattr_t attr;
  pid_t peer, cp = (pid_t)tether_child_pid(c);
  tether_status e;
  char line[64];
  int st;
  (void)state;
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_int_equal(posix_spawnattr_init(&attr), 0);
  assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
  assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
  assert_int_equal(posix_spawnp(&peer, "sleep", NULL, &attr, peer_argv, environ), 0);
  posix_spawnattr_destroy(&attr);
  if (tt_proc_state(cp, NULL, NULL) == 0 || tt_proc_state(cp, NULL, NULL) == '?') {
    (void)kill(-peer, SIGKILL);
    (void)waitpid(peer, NULL, 0);
    tether_child_free(c);
    tt_skip("no /proc/<pid>/stat to read a process state here");
  }
  assert_tether_ok(tether_child_signal_native(c, SIGSTOP));
  assert_int_equal(killpg(peer, SIGSTOP), 0);
  wait_state(cp, peer, 1);
  assert_tether_ok(tether_child_signal_native(c, SIGCONT));
  assert_int_equal(killpg(peer, SIGCONT), 0);
  wait_state(cp, peer, 0);
  assert_tether_ok(tether_child_signal(c, TETHER_EVENT_RESIZE));
  assert_int_equal(killpg(peer, SIGWINCH), 0);
  tt_sleep_ms(50);
  assert_int_equal(tether_child_wait(c, 0, NULL), 0);
  assert_int_equal(waitpid(peer, &st, WNOHANG), 0);
  assert_tether_ok(tether_child_signal_native(c, SIGUSR2));
  assert_int_equal(killpg(peer, SIGUSR2), 0);
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(waitpid(peer, &st, 0), peer);
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGUSR2);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2);
  assert_int_equal(tether_child_wait_tree(c, 5000), 1);
  assert_tether_err(tether_child_signal_native(c, SIGCONT), TETHER_ESRCH);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_RESIZE), TETHER_ESRCH);
  tether_child_free(c);
}

static void test_kill_reports_killed(void **state) {
  tether_child *c = spawn_self("sleep", NULL, 1);
  tether_status e;
  char line[64];
  (void)state;
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_tether_ok(tether_child_kill(c));
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_KILLED);
  assert_int_equal(e.signo, SIGKILL);
  assert_int_equal(tether_child_wait_tree(c, 5000), 1);
  assert_tether_err(tether_child_kill(c), TETHER_ESRCH);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_TERMINATE), TETHER_ESRCH);
  tether_child_free(c);
}

/* ---- a stopped child is not an exited one (issue 16, item 8) ---- */

/* posix/direct.c's seam: its waitid(WEXITED) also returns stopped
 * children, as xnu's does (Go #19314); on macOS the waiter asks kqueue
 * (NOTE_EXIT) first and only falls back to this when kqueue fails. */
extern int tether__direct_waitid_stops;

static int waitid_stops_off(void **state) {
  (void)state;
  tether__direct_waitid_stops = 0;
  return 0;
}

static long cpu_ms(void) {
  struct rusage ru;
  assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}

/* Wait (watchdog: 5 s) until this process's child p is stopped; asked with
 * waitid(WSTOPPED | WNOWAIT), no /proc. */
static void wait_stopped(pid_t p) {
  siginfo_t si;
  int i;
  for (i = 0; i < 1000; i++) {
    memset(&si, 0, sizeof(si));
    assert_int_equal(waitid(P_PID, (id_t)p, &si, WSTOPPED | WNOHANG | WNOWAIT), 0);
    if (si.si_pid == p && si.si_code == CLD_STOPPED)
      return;
    tt_sleep_ms(5);
  }
  fail_msg("child %ld not stopped after 5 s", (long)p);
}

static void test_stopped_child_not_exited(void **state) {
  static const int stops[] = {SIGSTOP, SIGTSTP, SIGTTIN};
  tether_child *c, *sib;
  tether_status e;
  char line[64];
  pid_t p;
  long cpu;
  size_t i;
  (void)state;
  tether__direct_waitid_stops = 1;
  c = spawn_self("sleep", NULL, 1);
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  p = (pid_t)tether_child_pid(c);
  for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
    /* A tethered child leads its own (background) group, whose parent is
     * here, in this session: SIGTSTP/SIGTTIN stop it too. */
    assert_int_equal(kill(p, stops[i]), 0);
    wait_stopped(p);
    /* A sibling's exit (which made the keeper look at every child). */
    sib = spawn_self("exit", "3", 0);
    assert_int_equal(tether_child_wait(sib, 10000, &e), 1);
    assert_int_equal(e.code, 3);
    tether_child_free(sib);
    /* Not exited, and its waiter does not spin on the stop report. */
    cpu = cpu_ms();
    assert_int_equal(tether_child_wait(c, 300, &e), 0);
    cpu = cpu_ms() - cpu;
    if (cpu > 100)
      fail_msg("%s: %ld ms of CPU in 300 ms of waiting (a spinning waiter)",
               tether_signal_name(stops[i]), cpu);
    assert_int_equal(kill(p, SIGCONT), 0);
    assert_int_equal(tether_child_wait(c, 20, &e), 0);
  }
  /* Stopped again, then terminated: the exit is reported as it is. */
  assert_int_equal(kill(p, SIGSTOP), 0);
  wait_stopped(p);
  assert_int_equal(kill(p, SIGTERM), 0);
  assert_int_equal(kill(p, SIGCONT), 0);
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGTERM);
  tether__direct_waitid_stops = 0;
  tether_child_free(c);
}

/* The child exits, its grandchild lives on: the tree is not gone until the
 * grandchild is. */
static void test_wait_tree(void **state) {
  tether_child *c = spawn_self("orphan", NULL, 1);
  char line[128];
  long cp, gp;
  (void)state;
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_int_equal(sscanf(line, "tree %ld %ld", &cp, &gp), 2);
  assert_int_equal(tether_child_wait(c, 10000, NULL), 1);
  assert_int_equal(tether_child_wait_tree(c, 200), 0);
  assert_int_equal(kill((pid_t)gp, SIGKILL), 0);
  assert_int_equal(tether_child_wait_tree(c, 5000), 1);
  tether_child_free(c);
}

static void test_child_event_on_channel(void **state) {
  tether_channel *ch;
  tether_spawn_options o;
  tether_event ev;
  tether_child *c1, *c2;
  const char *v1[7], *v2[7];
  int got = 0, seen1 = 0, seen2 = 0;
  (void)state;
  tt_child_channel(&ch, NULL, &o);
  tt_child_argv(v1, "exit", "3", NULL, NULL);
  tt_child_argv(v2, "exit", "4", NULL, NULL);
  assert_tether_ok(tether_spawn(&c1, v1, &o));
  assert_tether_ok(tether_spawn(&c2, v2, &o));
  while (got < 2) {
    int r = tether_channel_wait(ch, &ev, 10000);
    assert_int_equal(r, 1);
    assert_int_equal(ev.kind, TETHER_EVENT_CHILD);
    assert_int_equal(ev.count, 1);
    assert_int_equal(ev.exit.kind, TETHER_STATUS_CODE);
    if (ev.child == c1) {
      seen1++;
      assert_int_equal(ev.exit.code, 3);
      assert_int_equal(ev.pid, tether_child_pid(c1));
    } else {
      assert_ptr_equal(ev.child, c2);
      seen2++;
      assert_int_equal(ev.exit.code, 4);
    }
    got++;
  }
  assert_int_equal(seen1, 1);
  assert_int_equal(seen2, 1);
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  tether_child_free(c1);
  tether_child_free(c2);
  /* A child freed before its event is read takes the event with it; a
   * channel closed first lets its children go. */
  assert_tether_ok(tether_spawn(&c1, v1, &o));
  assert_int_equal(tether_child_wait(c1, 10000, NULL), 1);
  tether_child_free(c1);
  assert_int_equal(tether_channel_wait(ch, &ev, 100), 0);
  assert_tether_ok(tether_spawn(&c1, v1, &o));
  tether_channel_free(ch);
  assert_int_equal(tether_child_wait(c1, 10000, NULL), 1);
  tether_child_free(c1);
}

static void test_detached_survives(void **state) {
  tether_spawn_options o;
  tether_child *c;
  const char *v[7];
  char line[64];
  long pid;
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_DETACHED;
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  tt_child_argv(v, "sleep", NULL, NULL, NULL);
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_line(tether_child_stdio(c, 1), line, sizeof(line));
  assert_int_equal(sscanf(line, "ready %ld", &pid), 1);
  assert_int_equal(getsid((pid_t)pid), (pid_t)pid); /* its own session */
  assert_tether_err(tether_child_wait_tree(c, 0), TETHER_ENOTSUP);
  assert_tether_err(tether_child_stop(c, NULL, 0, NULL), TETHER_ENOTSUP);
  tether_child_free(c);
  tt_sleep_ms(100);
  assert_true(tt_alive((pid_t)pid)); /* not killed on close */
  assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
  /* tether's waiter thread reaps it */
  assert_true(tt_gone_within((pid_t)pid, 5000) >= 0);
}

static void test_descriptor_exhaustion(void **state) {
  struct rlimit saved, low;
  long used = tt_open_fd_count();
  tether_spawn_options o;
  tether_child *c = NULL;
  const char *v[7];
  (void)state;
  tt_child_argv(v, "exit", "0", NULL, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  /* Make sure the keeper runs (its descriptors are not in our count). */
  assert_tether_ok(tether_spawn(&c, v, NULL));
  tether_child_free(c);
  c = NULL;
  used = tt_open_fd_count();
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  low = saved;
  {
    /* The limit caps descriptor numbers: allow exactly the lowest free
     * one, so that a pipe (two) cannot be made. */
    int f = 0;
    while (fcntl(f, F_GETFD) != -1)
      f++;
    low.rlim_cur = (rlim_t)f + 1;
  }
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  assert_tether_err(tether_spawn(&c, v, &o), TETHER_EMFILE);
  assert_null(c);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
  assert_int_equal(tt_open_fd_count(), used); /* nothing leaked */
  assert_tether_ok(tether_spawn(&c, v, &o));
  assert_int_equal(tether_child_wait(c, 10000, NULL), 1);
  tether_child_free(c);
}

static void run_scenario_ok(const char *scen) {
  const char *args[] = {scen, NULL};
  pid_t m;
  int st = 0;
  m = tt_fork_child(NULL, NULL, args);
  assert_true(m >= 0);
  assert_int_equal(waitpid(m, &st, 0), m);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_process_exhaustion(void **state) {
  (void)state;
  if (tt_nobody_cannot_run() != NULL)
    tt_skip(tt_nobody_cannot_run());
  run_scenario_ok("nproc");
}

static void test_identity_of_the_moment(void **state) {
  (void)state;
  if (tt_nobody_cannot_run() != NULL)
    tt_skip(tt_nobody_cannot_run());
  run_scenario_ok("identity");
}

static void test_many_children(void **state) {
  enum { N = 50 };
  tether_child *c[N];
  const char *v[7];
  int i;
  long fds = tt_open_fd_count();
  (void)state;
  tt_child_argv(v, "exit", "7", NULL, NULL);
  for (i = 0; i < N; i++)
    assert_tether_ok(tether_spawn(&c[i], v, NULL));
  for (i = 0; i < N; i++) {
    tether_status e;
    assert_int_equal(tether_child_wait(c[i], 10000, &e), 1);
    assert_int_equal(e.code, 7);
    tether_child_free(c[i]);
  }
  assert_int_equal(tt_open_fd_count(), fds);
}

/* ---------------------------------------------------------------------- */
/* The guard kills only its own                                           */
/* ---------------------------------------------------------------------- */

#if defined(TETHER_TEST_LINUX)
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

/* posix/guard.h's message, mirrored: type, pid, ruid, euid, rgid, egid. */
typedef struct forged_msg {
  uint32_t type;
  int32_t pid;
  uint32_t ids[4];
} forged_msg;

/* A process that is not ours: a grandchild whose parent has exited (so it
 * is re-parented away), in a group of its own. Its pid, or -1. */
static pid_t start_stranger(void) {
  int p[2];
  pid_t m, v = -1;
  if (pipe(p) != 0)
    return -1;
  m = fork();
  if (m == 0) {
    pid_t g = fork();
    if (g == 0) {
      /* Nothing of the test's: a stranger left behind must not hold the
       * test runner's output open. */
      int fd, nul = open("/dev/null", O_RDWR);
      (void)setpgid(0, 0);
      for (fd = 0; fd < 3; fd++)
        (void)dup2(nul, fd);
      for (fd = 3; fd < 1024; fd++)
        (void)close(fd);
      for (;;)
        pause();
    }
    (void)!write(p[1], &g, sizeof(g));
    _exit(0);
  }
  close(p[1]);
  if (m > 0) {
    (void)!read(p[0], &v, sizeof(v));
    (void)waitpid(m, NULL, 0);
  }
  close(p[0]);
  return v;
}

int64_t tether__guard_pid(void); /* private seam (posix/guard.h) */

/* argv: STRANGER. Spawn a tethered child (starting the guard), then forge
 * registrations of the stranger on every SEQPACKET socket we hold (the
 * guard's): with a pidfd of it, and without. Print the child's pid, then
 * end without freeing anything: the guard must kill the child's group and
 * nothing else. */
static int child_forge(int argc, char **argv) {
  const char *v[7];
  tether_spawn_options so;
  tether_child *c = NULL;
  pid_t stranger;
  int fd, sent = 0;
  if (argc < 1)
    return 2;
  stranger = (pid_t)atol(argv[0]);
  tt_child_argv(v, "sleep", NULL, NULL, NULL);
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.stdio[1].mode = TETHER_STDIO_NULL; /* its "ready" is not our line */
  if ((fd = tether_spawn(&c, v, &so)) != 0) {
    printf("spawn: %s (OS error %ld)\n", tether_err_name(fd), tether_last_os_error());
    return 3;
  }
  for (fd = 3; fd < 1024; fd++) {
    int type = 0, pfd;
    socklen_t len = sizeof(type);
    forged_msg m;
    struct msghdr mh;
    struct iovec iov;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct cmsghdr *cm;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
      continue;
    memset(&m, 0, sizeof(m));
    m.type = 1; /* TETHER__G_REGISTER */
    m.pid = (int32_t)stranger;
    m.ids[0] = (uint32_t)getuid();
    m.ids[1] = (uint32_t)geteuid();
    m.ids[2] = (uint32_t)getgid();
    m.ids[3] = (uint32_t)getegid();
    /* Without a descriptor: the sender is not the stranger. */
    if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m))
      sent++;
    /* With a pidfd of it: the stranger is not our child. */
    pfd = (int)syscall(SYS_pidfd_open, stranger, 0);
    if (pfd >= 0) {
      memset(&mh, 0, sizeof(mh));
      memset(&ctl, 0, sizeof(ctl));
      iov.iov_base = &m;
      iov.iov_len = sizeof(m);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl.buf;
      mh.msg_controllen = sizeof(ctl.buf);
      cm = CMSG_FIRSTHDR(&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(cm), &pfd, sizeof(int));
      if (sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m))
        sent++;
      close(pfd);
    }
  }
  printf("%ld %d %lld\n", (long)tether_child_pid(c), sent, (long long)tether__guard_pid());
  fflush(stdout);
  tt_sleep_ms(200); /* the guard reads the forgeries before our end */
  _exit(0);
}
#endif

static void test_guard_kills_only_its_own(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  {
    pid_t stranger = start_stranger(), m;
    char arg[32], line[64];
    const char *args[] = {"forge", arg, NULL};
    int p[2], st, sent = 0;
    long child = -1, ms, gms;
    long long guard = -1;
    assert_true(stranger > 0);
    snprintf(arg, sizeof(arg), "%ld", (long)stranger);
    assert_int_equal(pipe(p), 0);
    m = tt_fork_child(p, NULL, args);
    assert_true(m >= 0);
    tt_read_line(p[0], line, sizeof(line));
    close(p[0]);
    assert_int_equal(waitpid(m, &st, 0), m);
    if (sscanf(line, "%ld %d %lld", &child, &sent, &guard) != 3 || guard <= 0) {
      (void)kill(stranger, SIGKILL);
      fail_msg("the forging scenario said '%s' (status 0x%x)", line, (unsigned)st);
    }
    ms = tt_gone_within((pid_t)child, 3000);
    /* The guard has done all it will ever do when it has exited (it exits
     * after its last kill): then, and not after a guessed delay, the
     * stranger must be alive. */
    gms = tt_gone_within((pid_t)guard, 10000);
    print_message("forged registrations sent: %d; tethered child gone in %ld ms; guard "
                  "%lld exited %ld ms later; stranger %s\n",
                  sent, ms, guard, gms, tt_alive(stranger) ? "alive" : "KILLED");
    if (gms < 0) {
      (void)kill(stranger, SIGKILL);
      fail_msg("the guard %lld is still there 10 s after its program ended", guard);
    }
    if (!tt_alive(stranger))
      fail_msg("the guard killed a process that was not tethered (%ld)", (long)stranger);
    (void)kill(stranger, SIGKILL);
    assert_true(sent >= 2);
    assert_true(ms >= 0 && ms <= 500);
  }
#else
  tt_skip("Linux: the guard verifies registrations with SCM_CREDENTIALS and pidfds");
#endif
}

/* ---------------------------------------------------------------------- */
/* The program reaps a tethered child itself, its pid is recycled           */
/* ---------------------------------------------------------------------- */

#if defined(__linux__)
/* posix/direct.c's seam: act as on Linux < 6.9 (pidfds cannot signal a
 * process group). */
extern int tether__direct_no_group_pidfd;

static int set_last_pid(long last) {
  char b[32];
  int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC), n, ok;
  if (fd < 0)
    return -1;
  n = snprintf(b, sizeof(b), "%ld", last);
  ok = write(fd, b, (size_t)n) == n;
  (void)close(fd);
  return ok ? 0 : -1;
}

/* A process leading a group of its own, running pause(), whose pid is
 * `target` (the number Linux gives the next process after ns_last_pid):
 * this process's child if own, else a stranger (its parent exits; it is
 * re-parented away). Its pid, or -1 if the number went to someone else
 * every time (a busy machine) or cannot be chosen (not root). */
static pid_t process_with_pid(pid_t target, int own) {
  int attempt;
  for (attempt = 0; attempt < 200; attempt++) {
    int go[2], rep[2];
    pid_t mid = -1, v = -1;
    char x = 'g';
    if (pipe(go) != 0 || pipe(rep) != 0)
      return -1;
    if (!own) {
      mid = fork();
      if (mid == 0) {
        char y;
        (void)close(go[1]);
        (void)close(rep[0]);
        if (read(go[0], &y, 1) != 1)
          _exit(1);
        v = fork();
        if (v == 0) {
          pid_t me = getpid();
          (void)setpgid(0, 0);
          (void)write(rep[1], &me, sizeof(me));
          (void)close(rep[1]);
          (void)close(go[0]);
          for (;;)
            pause();
        }
        _exit(v > 0 ? 0 : 1);
      }
    }
    if (set_last_pid((long)target - 1) != 0) {
      if (mid > 0) {
        (void)kill(mid, SIGKILL);
        (void)waitpid(mid, NULL, 0);
      }
      (void)close(go[0]);
      (void)close(go[1]);
      (void)close(rep[0]);
      (void)close(rep[1]);
      return -1;
    }
    if (own) {
      v = fork();
      if (v == 0) {
        pid_t me = getpid();
        (void)setpgid(0, 0);
        (void)write(rep[1], &me, sizeof(me));
        for (;;)
          pause();
      }
    } else {
      assert_int_equal(write(go[1], &x, 1), 1);
    }
    (void)close(go[0]);
    (void)close(go[1]);
    (void)close(rep[1]);
    if (read(rep[0], &v, sizeof(v)) != (ssize_t)sizeof(v))
      v = -1;
    (void)close(rep[0]);
    if (mid > 0)
      (void)waitpid(mid, NULL, 0);
    if (v == target)
      return v;
    if (v > 0) {
      (void)kill(v, SIGKILL);
      if (own)
        (void)waitpid(v, NULL, 0);
    }
  }
  return -1;
}

/* 1 when this process can open pidfds (not before Linux 5.3, nor under
 * valgrind 3.19, which does not know the system call: ENOSYS). */
static int have_pidfds(void) {
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0)
    return 0;
  (void)close(fd);
  return 1;
}

/* tether saw the child exit, then the program's own waitpid() reaped it
 * and its number went to another process leading a group of the same id:
 * tether_child_signal(), tether_child_wait_tree() and tether_child_free()
 * must leave that process alone (no kill by number, no waitpid by number),
 * whether it is a stranger or another child of the program, on kernels
 * whose pidfds signal groups and (the seam) on older ones. */
static void reaped_then_recycled(int own, int old_kernel) {
  tether_child *c;
  tether_status e;
  pid_t pid, victim;
  int st, pfd, pidfds = have_pidfds();
  if (own && !pidfds)
    tt_skip("no pidfds here (ENOSYS: Linux < 5.3, or valgrind 3.19): another "
            "child of the program with the recycled number cannot be told "
            "apart (docs/children.md)");
  c = spawn_self("exit", "3", 0);
  pid = (pid_t)tether_child_pid(c);
  tether__direct_no_group_pidfd = old_kernel;
  assert_int_equal(tether_child_wait(c, 10000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_CODE);
  assert_int_equal(e.code, 3);
  assert_int_equal(waitpid(pid, &st, 0), pid); /* the program's own */
  victim = process_with_pid(pid, own);
  if (victim < 0) {
    tether_child_free(c);
    tether__direct_no_group_pidfd = 0;
    tt_skip("cannot give the freed pid to a new process (ns_last_pid needs "
            "root in this pid namespace, or the machine took every number)");
  }
  /* Without pidfds (stranger only) the victim is killed by number at the
   * end: it is alive, and not ours, so that number cannot be reused. */
  pfd = pidfds ? (int)syscall(SYS_pidfd_open, victim, 0) : -1;
  assert_true(pfd >= 0 || !pidfds);
  assert_int_equal(getpgid(victim), victim);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_TERMINATE), TETHER_ESRCH);
  assert_tether_err(tether_child_kill(c), TETHER_ESRCH);
  assert_int_equal(tether_child_wait_tree(c, 5000), 1);
  tether_child_free(c);
  tether__direct_no_group_pidfd = 0;
  /* Alive, and (own) still this process's to reap. */
  assert_true(tt_alive(victim));
  if (own)
    assert_int_equal(waitpid(victim, &st, WNOHANG), 0);
  if (pfd >= 0)
    assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0), 0);
  else
    assert_int_equal(kill(victim, SIGKILL), 0);
  if (own) {
    assert_int_equal(waitpid(victim, &st, 0), victim);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  }
  if (pfd >= 0)
    (void)close(pfd);
}
#endif

static void test_recycled_pid_stranger(void **state) {
  (void)state;
#if defined(__linux__)
  reaped_then_recycled(0, 0);
  reaped_then_recycled(0, 1);
#else
  tt_skip("choosing a pid needs Linux's ns_last_pid");
#endif
}

/* Another child of the program got the number: only a pidfd tells them
 * apart (the portable backend, macOS and the BSDs have none: documented in
 * docs/children.md). */
static void test_recycled_pid_own_child(void **state) {
  (void)state;
#if defined(TETHER_TEST_LINUX)
  reaped_then_recycled(1, 0);
  reaped_then_recycled(1, 1);
#else
  tt_skip("needs pidfds (native Linux backend)");
#endif
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
    {"exit", tt_child_exit},
    {"args", child_args},
    {"env", child_env},
    {"cwd", child_cwd},
    {"cat", tt_child_cat},
    {"sleep", tt_child_ready},
    {"tree", child_tree},
    {"escape", child_escape},
    {"orphan", child_orphan},
    {"stoppable", child_stoppable},
    {"inherit", child_inherit},
    {"middle", child_middle},
    {"nproc", child_nproc},
    {"ids", child_ids},
    {"identity", child_identity},
    {"where", child_where},
#if defined(TETHER_TEST_LINUX)
    {"forge", child_forge},
#endif
    {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_codes_and_signals),
      cmocka_unit_test(test_argv_and_stdio_pipes),
      cmocka_unit_test(test_environment_and_cwd),
      cmocka_unit_test(test_spawn_errors_are_synchronous),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_kill_on_close),
      cmocka_unit_test(test_parent_sigkill),
      cmocka_unit_test(test_parent_exit_and_abort),
      cmocka_unit_test(test_setsid_escapee),
      cmocka_unit_test(test_thread_trap),
      cmocka_unit_test(test_child_inherits_nothing),
      cmocka_unit_test(test_child_in_program_session),
      cmocka_unit_test(test_stop_sequence),
      cmocka_unit_test(test_stop_resumes_stopped_tree),
      cmocka_unit_test(test_signal_native),
      cmocka_unit_test(test_kill_reports_killed),
      cmocka_unit_test_teardown(test_stopped_child_not_exited, waitid_stops_off),
      cmocka_unit_test(test_wait_tree),
      cmocka_unit_test(test_child_event_on_channel),
      cmocka_unit_test(test_detached_survives),
      cmocka_unit_test(test_descriptor_exhaustion),
      cmocka_unit_test(test_process_exhaustion),
      cmocka_unit_test(test_identity_of_the_moment),
      cmocka_unit_test(test_many_children),
      cmocka_unit_test(test_guard_kills_only_its_own),
      cmocka_unit_test(test_recycled_pid_stranger),
      cmocka_unit_test(test_recycled_pid_own_child),
  };
  return tt_main(argc, argv, scenarios, "spawn", tests, TT_COUNT(tests));
}
