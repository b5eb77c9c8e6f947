/* SPDX-License-Identifier: MIT */
/*
 * `tether run` from a C parent (POSIX lanes): how it ends seen through
 * waitpid (WIFSIGNALED, not only a shell's $?), and a real pseudo-terminal:
 * a typed Ctrl+C reaches the program exactly once, a second one kills the
 * tree, --foreground gives the program the terminal and takes it back.
 *
 * The programs run by tether are scenarios of this executable
 * (`test_cli_run --child NAME ...`); TETHER_CLI is the tether binary.
 */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE /* macOS: SIGWINCH, mkdtemp, hidden by _XOPEN_SOURCE */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "support.h"

#ifndef TETHER_CLI
#error "TETHER_CLI (the path of the tether binary) must be defined"
#endif

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t g_count;
static int g_log = -1;

/* One letter in g_log per signal: "W" SIGWINCH, "H" SIGHUP, else "I". */
static void on_counted(int sig) {
  int saved = errno;
  g_count++;
  if (g_log >= 0)
    (void)write(g_log, sig == SIGWINCH ? "W" : sig == SIGHUP ? "H" : "I", 1);
  errno = saved;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd >= 0) {
    (void)write(fd, text, strlen(text));
    close(fd);
  }
}

/* READY gets "ready", or with pid this process's pid. */
static void say_ready(const char *ready, int pid) {
  char buf[32];
  snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  write_file(ready, pid ? buf : "ready\n");
}

/* LOG READY: one letter in LOG per signo (on_counted); one second after
 * the first, exit 0 (so a second, duplicated delivery would be seen). */
static int count_signal(int signo, int pid, int argc, char **argv) {
  struct sigaction sa;
  int i;
  if (argc < 2)
    return 90;
  g_log = open(argv[0], O_WRONLY | O_CREAT | O_APPEND, 0644);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_counted;
  sigaction(signo, &sa, NULL);
  say_ready(argv[1], pid);
  for (i = 0; i < 3000 && g_count == 0; i++)
    tt_sleep_ms(10);
  if (g_count == 0)
    return 91;
  tt_sleep_ms(1000);
  return 0;
}

/* count_int LOG READY: SIGINT (Ctrl+C). */
static int child_count_int(int argc, char **argv) { return count_signal(SIGINT, 0, argc, argv); }

/* count_quit LOG READY: SIGQUIT (Ctrl+\\). */
static int child_count_quit(int argc, char **argv) { return count_signal(SIGQUIT, 0, argc, argv); }

/* count_winch LOG READY: SIGWINCH. */
static int child_count_winch(int argc, char **argv) {
  return count_signal(SIGWINCH, 0, argc, argv);
}

/* count_hup LOG READY: SIGHUP, its pid in READY. Writes nothing to the
 * terminal. */
static int child_count_hup(int argc, char **argv) { return count_signal(SIGHUP, 1, argc, argv); }

/* READY ("ready", or with pid the pid), then sleep up to 60 s. */
static int sleep_ready(int pid, int argc, char **argv) {
  int i;
  if (argc < 1)
    return 90;
  say_ready(argv[0], pid);
  for (i = 0; i < 600; i++)
    tt_sleep_ms(100);
  return 92;
}

/* ignore_int READY: SIGINT ignored, sleep up to 60 s. */
static int child_ignore_int(int argc, char **argv) {
  signal(SIGINT, SIG_IGN);
  return sleep_ready(0, argc, argv);
}

/* plain READY: default dispositions, sleep up to 60 s. */
static int child_plain(int argc, char **argv) { return sleep_ready(0, argc, argv); }

/* pid READY: write the pid to READY, sleep up to 60 s. */
static int child_pid(int argc, char **argv) { return sleep_ready(1, argc, argv); }

/* die SIGNO: raise the signal with its default action. */
static int child_die(int argc, char **argv) {
  int sig = argc > 0 ? atoi(argv[0]) : SIGTERM;
  signal(sig, SIG_DFL);
  raise(sig);
  return 94;
}

/* tty REPORT WAIT_MS: open /dev/tty (the controlling terminal), wait up
 * to WAIT_MS for this process's group to be its foreground group, write
 * "open=O fg=F" to REPORT; when it is the foreground group, read a line
 * from the terminal and add " read=LINE". Exit 0. */
static int child_tty(int argc, char **argv) {
  char line[128], rep[256];
  int fd, fg = 0, i, wait_ms;
  ssize_t n = 0;
  if (argc < 2)
    return 90;
  wait_ms = atoi(argv[1]);
  fd = open("/dev/tty", O_RDWR | O_NOCTTY);
  for (i = 0; fd >= 0 && i <= wait_ms / 10; i++) {
    fg = tcgetpgrp(fd) == getpgrp();
    if (fg)
      break;
    tt_sleep_ms(10);
  }
  snprintf(rep, sizeof rep, "open=%d fg=%d", fd >= 0, fg);
  if (fg) {
    write_file(argv[0], rep); /* the test types a line when it sees this */
    n = read(fd, line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    if (n > 0 && line[n - 1] == '\n')
      line[n - 1] = '\0';
    snprintf(rep + strlen(rep), sizeof rep - strlen(rep), " read=%s\n", line);
  } else {
    strcat(rep, "\n");
  }
  write_file(argv[0], rep);
  return 0;
}

/* read_stdin READY: write the pid to READY, then read a line from stdin. */
static int child_read_stdin(int argc, char **argv) {
  char line[64];
  if (argc < 1)
    return 90;
  snprintf(line, sizeof line, "%ld\n", (long)getpid());
  write_file(argv[0], line);
  return read(0, line, sizeof line) > 0 ? 0 : 93;
}

/* read_stdin_term READY: as read_stdin, with a SIGTERM handler that
 * exits 3 (a program that cleans up on terminate). */
static void on_term_exit3(int sig) {
  (void)sig;
  _exit(3);
}
static int child_read_stdin_term(int argc, char **argv) {
  signal(SIGTERM, on_term_exit3);
  return child_read_stdin(argc, argv);
}

/* fgcheck FILE: "fg=1" in FILE when this process's group is the
 * foreground group of its standard input's terminal. */
static int child_fgcheck(int argc, char **argv) {
  if (argc < 1)
    return 90;
  write_file(argv[0], tcgetpgrp(0) == getpgrp() ? "fg=1\n" : "fg=0\n");
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                  */
/* ---------------------------------------------------------------------- */

static char g_dir[64];

static void make_dir(void) {
  strcpy(g_dir, "/tmp/tt-cli-run-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
}

static void remove_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  (void)system(cmd);
}

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", g_dir, name);
}

/* Append the words, up to a NULL, to the command line argv at *n; argv
 * ends after them. */
static void add_args(char **argv, int *n, ...) {
  va_list ap;
  const char *w;
  va_start(ap, n);
  while ((w = va_arg(ap, const char *)) != NULL)
    argv[(*n)++] = (char *)w;
  va_end(ap);
  argv[*n] = NULL;
}

static int wait_file(const char *path, int ms) {
  struct stat sb;
  int i;
  for (i = 0; i < ms / 10; i++) {
    if (stat(path, &sb) == 0 && sb.st_size > 0)
      return 1;
    tt_sleep_ms(10);
  }
  return 0;
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* The pid a child wrote into a file (0 if none). */
static long read_pid(const char *path) {
  char buf[32];
  int fd = open(path, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return atol(buf);
}

/* Run argv (execv) and return the pid; stdin/stdout to /dev/null. */
static pid_t start_plain(char *const argv[]) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 0);
    dup2(fd, 1);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    execv(argv[0], argv);
    _exit(126);
  }
  return pid;
}

/* Run argv as the session leader of a new pseudo-terminal (its controlling
 * terminal; the process is its foreground group). *master receives the
 * master side. */
static pid_t start_in_pty(char *const argv[], int *master) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  pid_t pid;
  assert_true(m >= 0);
  assert_int_equal(grantpt(m), 0);
  assert_int_equal(unlockpt(m), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    const char *name = ptsname(m);
    int s;
    setsid();
    s = name != NULL ? open(name, O_RDWR) : -1;
    if (s < 0)
      _exit(125);
#ifdef TIOCSCTTY
    (void)ioctl(s, TIOCSCTTY, 0);
#endif
    close(m);
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    if (s > 2)
      close(s);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    execv(argv[0], argv);
    _exit(126);
  }
  *master = m;
  return pid;
}

/* Read (and print on failure) what the terminal showed so far. */
static void drain(int m, char *buf, size_t n) {
  size_t used = strlen(buf);
  struct pollfd p;
  p.fd = m;
  p.events = POLLIN;
  while (used + 1 < n && poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
    ssize_t r = read(m, buf + used, n - used - 1);
    if (r <= 0)
      break;
    used += (size_t)r;
    buf[used] = '\0';
  }
}

/* waitpid with a timeout (ms); kills the process on timeout. Returns the
 * status, or -1 on timeout. */
static int wait_status(pid_t pid, int ms, int master, char *out, size_t n) {
  int st, i;
  for (i = 0; i < ms / 10; i++) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return st;
    if (master >= 0)
      drain(master, out, n);
    tt_sleep_ms(10);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return -1;
}

/* Wait (10 s) until the child of tether (pid, on the terminal m) has
 * written its READY file; if it does not, end tether, close m, remove the
 * directory and fail, naming what and showing the terminal. */
static void wait_child_started(pid_t pid, int m, const char *ready, const char *what) {
  char out[4096] = "";
  if (wait_file(ready, 10000))
    return;
  drain(m, out, sizeof out);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(m);
  remove_dir();
  fail_msg("%s: the child did not start; terminal: %s", what, out);
}

/* In a fresh directory, start argv in a terminal (*m its master) and wait
 * until its child is ready: argv's READY argument is the buffer ready, its
 * LOG argument log (when not NULL), cap bytes each, set here to files in
 * the directory. Returns tether's pid. */
static pid_t start_pty_ready(char *const argv[], int *m, char *ready, char *log, size_t cap) {
  pid_t pid;
  make_dir();
  path_in(ready, cap, "ready");
  if (log != NULL)
    path_in(log, cap, "log");
  pid = start_in_pty(argv, m);
  wait_child_started(pid, *m, ready, "tether run");
  return pid;
}

/* tether (status st: -1 if it hung) exited 0 and its child saw exactly
 * one of the signals it counts (a byte each in log); removes the
 * directory. */
static void expect_exit0_counted_once(int st, const char *log, const char *what,
                                      const char *signals, const char *out) {
  long n = file_size(log);
  remove_dir();
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || n != 1)
    fail_msg("%s: tether status 0x%x, the child saw %ld %s (want exit 0 and 1); terminal: %s", what,
             st, n, signals, out);
}

/* ---------------------------------------------------------------------- */
/* Exit statuses seen by a C parent                                         */
/* ---------------------------------------------------------------------- */

static void check_death(const char *signame, int signo, int exit_code_flag) {
  char sig[16];
  char *argv[10];
  int i = 0, st;
  pid_t pid;
  snprintf(sig, sizeof sig, "%d", signo);
  add_args(argv, &i, TETHER_CLI, "run", NULL);
  if (exit_code_flag)
    add_args(argv, &i, "--exit-code", NULL);
  add_args(argv, &i, "--", tt_self(), "--child", "die", sig, NULL);
  pid = start_plain(argv);
  st = wait_status(pid, 20000, -1, NULL, 0);
  assert_true(st != -1);
  if (exit_code_flag) {
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 128 + signo)
      fail_msg("--exit-code, child killed by %s: status 0x%x, want exit %d", signame, st,
               128 + signo);
  } else if (!WIFSIGNALED(st) || WTERMSIG(st) != signo) {
    fail_msg("child killed by %s: tether status 0x%x, want death by signal %d", signame, st, signo);
  }
}

static void test_dies_like_child(void **state) {
  (void)state;
  check_death("SIGTERM", SIGTERM, 0);
  check_death("SIGINT", SIGINT, 0);
  check_death("SIGKILL", SIGKILL, 0);
  check_death("SIGHUP", SIGHUP, 0);
  check_death("SIGTERM", SIGTERM, 1);
  check_death("SIGKILL", SIGKILL, 1);
}

/* tether's own SIGTERM, forwarded: the child dies by it, so does tether
 * (exit status 143 through a shell, WIFSIGNALED here). */
static void test_kill_term_forwarded(void **state) {
  char ready[128];
  char *argv[] = {(char *)TETHER_CLI, (char *)"run",   (char *)"--", (char *)tt_self(),
                  (char *)"--child",  (char *)"plain", ready,        NULL};
  pid_t pid;
  int st;
  (void)state;
  make_dir();
  path_in(ready, sizeof ready, "ready");
  pid = start_plain(argv);
  assert_true(wait_file(ready, 10000));
  kill(pid, SIGTERM);
  st = wait_status(pid, 20000, -1, NULL, 0);
  remove_dir();
  assert_true(st != -1);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGTERM);
}

/* ---------------------------------------------------------------------- */
/* Pseudo-terminal                                                          */
/* ---------------------------------------------------------------------- */

/* Ctrl+C on the terminal m of tether (pid), which must then die by
 * SIGINT; closes m and removes the directory first. */
static void ctrl_c_ends(pid_t pid, int m, char *out, size_t n, const char *what) {
  int st;
  assert_int_equal(write(m, "\003", 1), 1);
  st = wait_status(pid, 20000, m, out, n);
  close(m);
  remove_dir();
  if (st == -1 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGINT)
    fail_msg("%s: tether status 0x%x (want death by SIGINT); terminal: %s", what, st, out);
}

/* One Ctrl+C typed on the terminal: the child sees exactly one SIGINT
 * (the terminal sent it to tether's group; tether forwarded it once). With
 * --foreground the terminal sends it to the child's group itself and
 * tether must not forward it. One test per case (its state: a pointer
 * into once_cases), as by default, with --foreground, and: */
enum {
  ONCE_DEFAULT,
  ONCE_FOREGROUND,
  /* --foreground and a kill -INT of tether (instead of the Ctrl+C): a
   * SIGINT from outside is forwarded once. */
  ONCE_FOREGROUND_KILL,
  /* Default with --grace 200ms: in a terminal the first Ctrl+C is the
   * program's (a REPL goes on past --grace): it starts no grace timer, the
   * child, which handles it and lives 1 s on, is not stopped. */
  ONCE_DEFAULT_GRACE,
  /* Default, Ctrl+\ to a child counting SIGQUIT: it reaches it once too. */
  ONCE_DEFAULT_QUIT
};
static const int once_cases[] = {ONCE_DEFAULT, ONCE_FOREGROUND, ONCE_FOREGROUND_KILL,
                                 ONCE_DEFAULT_GRACE, ONCE_DEFAULT_QUIT};

static void test_pty_once(void **state) {
  int mode = *(const int *)*state;
  char log[128], ready[128], out[4096] = "", what[64];
  char *argv[12];
  int i = 0, m, st, fg = mode == ONCE_FOREGROUND || mode == ONCE_FOREGROUND_KILL;
  pid_t pid;
  add_args(argv, &i, TETHER_CLI, "run", NULL);
  if (fg)
    add_args(argv, &i, "--foreground", NULL);
  if (mode == ONCE_DEFAULT_GRACE)
    add_args(argv, &i, "--grace", "200ms", NULL);
  add_args(argv, &i, "--", tt_self(), "--child",
           mode == ONCE_DEFAULT_QUIT ? "count_quit" : "count_int", log, ready, NULL);
  pid = start_pty_ready(argv, &m, ready, log, sizeof ready);
  if (mode != ONCE_DEFAULT) { /* wait for the hand-over (by default too) */
    for (i = 0; i < 1000 && tcgetpgrp(m) == pid; i++)
      tt_sleep_ms(10);
    if (tcgetpgrp(m) == pid) {
      kill(pid, SIGKILL);
      fail_msg("--foreground: tether kept the terminal");
    }
  }
  if (mode == ONCE_FOREGROUND_KILL)
    assert_int_equal(kill(pid, SIGINT), 0); /* from outside: forwarded once */
  else if (mode == ONCE_DEFAULT_QUIT)
    assert_int_equal(write(m, "\034", 1), 1); /* Ctrl+\ */
  else
    assert_int_equal(write(m, "\003", 1), 1);
  st = wait_status(pid, 20000, m, out, sizeof out);
  close(m);
  snprintf(what, sizeof what, "%s%s", mode == ONCE_DEFAULT_QUIT ? "Ctrl+\\" : "Ctrl+C",
           fg ? " with --foreground" : "");
  expect_exit0_counted_once(st, log, what, mode == ONCE_DEFAULT_QUIT ? "SIGQUIT(s)" : "SIGINT(s)",
                            out);
}

/* Ctrl+C to a child that ignores it: forwarded, ignored; a second Ctrl+C
 * kills the tree at once, long before the 30 s grace period; tether then
 * dies by SIGINT, the cause, not by its child's SIGKILL (issue 13). */
static void test_pty_second_ctrl_c_kills(void **state) {
  char ready[128], out[4096] = "";
  char *argv[] = {
      (char *)TETHER_CLI, (char *)"run",     (char *)"--grace",    (char *)"30s", (char *)"--",
      (char *)tt_self(),  (char *)"--child", (char *)"ignore_int", ready,         NULL};
  uint64_t t0;
  int m, st;
  pid_t pid;
  (void)state;
  pid = start_pty_ready(argv, &m, ready, NULL, sizeof ready);
  assert_int_equal(write(m, "\003", 1), 1);
  tt_sleep_ms(500);
  assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* one Ctrl+C: still running */
  t0 = tether_now_ns();
  ctrl_c_ends(pid, m, out, sizeof out, "second Ctrl+C");
  if (tether_now_ns() - t0 > 5000000000ull)
    fail_msg("second Ctrl+C: the tree took %llu ms to die",
             (unsigned long long)((tether_now_ns() - t0) / 1000000u));
}

/* A plain child killed by the forwarded Ctrl+C: tether dies by SIGINT. */
static void test_pty_ctrl_c_dies_by_sigint(void **state) {
  char ready[128], out[4096] = "";
  char *argv[] = {(char *)TETHER_CLI, (char *)"run",   (char *)"--", (char *)tt_self(),
                  (char *)"--child",  (char *)"plain", ready,        NULL};
  int m;
  pid_t pid;
  (void)state;
  pid = start_pty_ready(argv, &m, ready, NULL, sizeof ready);
  ctrl_c_ends(pid, m, out, sizeof out, "Ctrl+C");
}

/* The terminal is resized: SIGWINCH goes to its foreground group (tether),
 * which forwards it to the child's group exactly once. */
static void test_pty_resize_once(void **state) {
  char log[128], ready[128], out[4096] = "";
  char *argv[] = {(char *)TETHER_CLI,
                  (char *)"run",
                  (char *)"--",
                  (char *)tt_self(),
                  (char *)"--child",
                  (char *)"count_winch",
                  log,
                  ready,
                  NULL};
  struct winsize ws;
  int m, st;
  pid_t pid;
  (void)state;
  pid = start_pty_ready(argv, &m, ready, log, sizeof ready);
  memset(&ws, 0, sizeof ws);
  ws.ws_row = 33;
  ws.ws_col = 111;
  assert_int_equal(ioctl(m, TIOCSWINSZ, &ws), 0);
  st = wait_status(pid, 20000, m, out, sizeof out);
  close(m);
  expect_exit0_counted_once(st, log, "resize", "SIGWINCH(es)", out);
}

/* In a fresh directory, start argv (its READY argument is ready, cap
 * bytes) in a terminal (*m its master) and wait for the child's pid in
 * READY (*child): tether's pid. */
static pid_t start_pty_child(char *const argv[], char *ready, size_t cap, int *m, long *child) {
  pid_t pid = start_pty_ready(argv, m, ready, NULL, cap);
  *child = read_pid(ready);
  assert_true(*child > 0);
  return pid;
}

/* Linux: is pid stopped (state T)? */
static int stopped(long pid) { return tt_proc_state((pid_t)pid, NULL, NULL) == 'T'; }

/* Wait up to tries x 10 ms for pid to stop or end (waitpid with
 * WUNTRACED): 1 when it did (*st its status), else 0. */
static int wait_stop(pid_t pid, int *st, int tries) {
  int i;
  for (i = 0; i < tries; i++) {
    if (waitpid(pid, st, WNOHANG | WUNTRACED) == pid)
      return 1;
    tt_sleep_ms(10);
  }
  return 0;
}

/* Read the terminal (pty master m) into out until it shows `text`, for at
 * most ms milliseconds: 1 when it did. */
static int wait_output(int m, char *out, size_t n, const char *text, int ms) {
  int i;
  for (i = 0; i < ms / 10; i++) {
    drain(m, out, n);
    if (strstr(out, text) != NULL)
      return 1;
    tt_sleep_ms(10);
  }
  return 0;
}

/* start_pty_child for `tether run OPTION -- <self> --child pid READY`. */
static pid_t start_pid_child(const char *option, char *ready, size_t cap, int *m, long *child) {
  char *argv[10];
  int n = 0;
  add_args(argv, &n, TETHER_CLI, "run", option, "--", tt_self(), "--child", "pid", ready, NULL);
  return start_pty_child(argv, ready, cap, m, child);
}

/* Ctrl+Z stops the program and tether (the shell would see a stopped
 * job); SIGCONT continues both; Ctrl+C then ends them. */
static void test_pty_ctrl_z(void **state) {
  char ready[128], out[4096] = "";
  long child = 0;
  int m, st = 0, i, n, got;
  pid_t pid;
  (void)state;
#ifndef __linux__
  tt_skip("reads the process state from /proc");
#endif
  pid = start_pid_child("-v", ready, sizeof ready, &m, &child);
  /* The program runs (and says it is ready) before tether hands it the
   * terminal and continues its group, as a shell's fg does: a Ctrl+Z typed
   * before that SIGCONT would go to tether's group or be undone by it.
   * tether's -v line comes after both. */
  if (!wait_output(m, out, sizeof out, "foreground group is now the program's", 10000)) {
    kill(pid, SIGKILL);
    fail_msg("no hand-over of the terminal within 10 s; terminal: %s", out);
  }
  assert_int_equal(write(m, "\032", 1), 1); /* Ctrl+Z */
  got = wait_stop(pid, &st, 500);
  /* SIGSTOP was sent to the child's group before tether stopped; the
   * child shows state T once it is scheduled. */
  for (n = 0; n < 500 && !stopped(child); n++)
    tt_sleep_ms(10);
  if (!got || !WIFSTOPPED(st) || !stopped(child)) {
    drain(m, out, sizeof out);
    kill(pid, SIGKILL);
    fail_msg("Ctrl+Z: tether status 0x%x, child stopped %d; terminal: %s", st, stopped(child), out);
  }
  kill(pid, SIGCONT);
  for (i = 0; i < 500 && stopped(child); i++)
    tt_sleep_ms(10);
  assert_false(stopped(child));
  assert_false(stopped(pid));
  ctrl_c_ends(pid, m, out, sizeof out, "Ctrl+C after fg");
}

/* --foreground: Ctrl+Z reaches the program's group (the terminal's
 * foreground job) and stops it; tether notices, takes the terminal back
 * and stops itself (the shell would see a stopped job and get the
 * terminal); SIGCONT (fg) gives the terminal back to the program and
 * continues it; Ctrl+C then reaches the program, which dies by SIGINT,
 * and so does tether. */
static void test_pty_foreground_ctrl_z(void **state) {
  char ready[128], out[4096] = "";
  long child;
  int m, st = 0, i;
  pid_t pid;
  (void)state;
#ifndef __linux__
  tt_skip("reads the process state from /proc");
#endif
  pid = start_pid_child("--foreground", ready, sizeof ready, &m, &child);
  for (i = 0; i < 1000 && tcgetpgrp(m) != (pid_t)child; i++)
    tt_sleep_ms(10);
  if (tcgetpgrp(m) != (pid_t)child) {
    kill(pid, SIGKILL);
    fail_msg("--foreground: the terminal's foreground group is %ld, not the program's %ld",
             (long)tcgetpgrp(m), child);
  }
  assert_int_equal(write(m, "\032", 1), 1); /* Ctrl+Z */
  if (!wait_stop(pid, &st, 1000) || !WIFSTOPPED(st) || !stopped(child) || !stopped(pid) ||
      tcgetpgrp(m) != pid) {
    drain(m, out, sizeof out);
    kill(pid, SIGKILL);
    fail_msg("Ctrl+Z: tether status 0x%x, child stopped %d, foreground group %ld (tether "
             "%ld); terminal: %s",
             st, stopped(child), (long)tcgetpgrp(m), (long)pid, out);
  }
  kill(pid, SIGCONT);
  for (i = 0; i < 1000 && (stopped(child) || tcgetpgrp(m) != (pid_t)child); i++)
    tt_sleep_ms(10);
  if (stopped(child) || stopped(pid) || tcgetpgrp(m) != (pid_t)child) {
    kill(pid, SIGKILL);
    fail_msg("SIGCONT: child stopped %d, tether stopped %d, foreground group %ld (child %ld)",
             stopped(child), stopped(pid), (long)tcgetpgrp(m), child);
  }
  ctrl_c_ends(pid, m, out, sizeof out, "Ctrl+C after fg");
}

/* Read a small file into buf ("" if absent). */
static void read_small(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  ssize_t r = fd >= 0 ? read(fd, buf, n - 1) : -1;
  if (fd >= 0)
    close(fd);
  buf[r > 0 ? r : 0] = '\0';
}

/* Wait until the file holds text (or ms pass). */
static int wait_text(const char *path, const char *text, int ms) {
  char buf[512];
  int i;
  for (i = 0; i < ms / 10; i++) {
    read_small(path, buf, sizeof buf);
    if (strstr(buf, text) != NULL)
      return 1;
    tt_sleep_ms(10);
  }
  return 0;
}

/* The program is killed right after turning echo off (with --foreground
 * it has the terminal, so it can); then the calling shell checks the
 * modes and whether its group (tether's) is the terminal's foreground job
 * again. Without tether (the control that shows the check can fail) the
 * modes stay changed. */
static void check_modes(int with_tether, const char *want) {
  char file[128], fgfile[128], script[1536], out[4096] = "", got[4096] = "", fg[64];
  char *argv[] = {(char *)"/bin/sh", (char *)"-c", script, NULL};
  char prefix[512];
  int m, st;
  pid_t pid;
  make_dir();
  path_in(file, sizeof file, "modes");
  path_in(fgfile, sizeof fgfile, "fg");
  if (with_tether)
    snprintf(prefix, sizeof prefix, "'%s' run --foreground --", TETHER_CLI);
  else
    prefix[0] = '\0';
  snprintf(script, sizeof script,
           "%s sh -c 'stty -echo; kill -KILL $$'; stty -a >'%s'; '%s' --child fgcheck '%s'", prefix,
           file, tt_self(), fgfile);
  pid = start_in_pty(argv, &m);
  st = wait_status(pid, 20000, m, out, sizeof out);
  close(m);
  read_small(file, got, sizeof got);
  read_small(fgfile, fg, sizeof fg);
  remove_dir();
  if (st == -1 || strstr(got, want) == NULL || strcmp(fg, "fg=1\n") != 0)
    fail_msg("%s: status 0x%x, want '%s' in: %s; after: %s; terminal: %s",
             with_tether ? "--foreground" : "no tether", st, want, got, fg, out);
}

static void test_pty_foreground_restores_modes(void **state) {
  (void)state;
  check_modes(1, " echo ");
  check_modes(0, " -echo ");
}

/* A terminal line typed into the pty. */
static void type(int m, const char *text) {
  assert_int_equal(write(m, text, strlen(text)), (int)strlen(text));
}

/* The program has a controlling terminal and, with --foreground (mode 1)
 * and by default in a terminal (mode 0, issue 13 item 2), is its
 * foreground group and reads from it, as under timeout (mode 3, side by
 * side). With tether's stdout not the terminal (mode 2: `tether run ...
 * >/dev/null`, a pipeline) it stays a background group of the terminal,
 * with the controlling terminal all the same (the keeper is in tether's
 * session). */
static void check_tty(int mode) {
  static const char *const names[] = {"default", "--foreground", "stdout not a terminal",
                                      "timeout"};
  char report[128], got[512] = "", out[4096] = "";
  char *argv[16];
  int i = 0, m, st, fg = mode != 2;
  pid_t pid;
  if (mode == 3 && access("/usr/bin/timeout", X_OK) != 0) {
    printf("# timeout not installed: no side-by-side run\n");
    return;
  }
  make_dir();
  path_in(report, sizeof report, "report");
  if (mode == 2)
    add_args(argv, &i, "/bin/sh", "-c", "exec \"$0\" \"$@\" >/dev/null", NULL);
  if (mode == 3) {
    add_args(argv, &i, "/usr/bin/timeout", "100", NULL);
  } else {
    add_args(argv, &i, TETHER_CLI, "run", NULL);
    if (mode == 1)
      add_args(argv, &i, "--foreground", NULL);
    add_args(argv, &i, "--", NULL);
  }
  add_args(argv, &i, tt_self(), "--child", "tty", report, fg ? "10000" : "1000", NULL);
  pid = start_in_pty(argv, &m);
  if (fg && wait_text(report, "fg=1", 15000))
    type(m, "hello\n");
  st = wait_status(pid, 20000, m, out, sizeof out);
  close(m);
  read_small(report, got, sizeof got);
  remove_dir();
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
      strcmp(got, fg ? "open=1 fg=1 read=hello\n" : "open=1 fg=0\n") != 0)
    fail_msg("%s: status 0x%x, the program reported '%s'; terminal: %s", names[mode], st, got, out);
}

static void test_pty_foreground_gives_terminal(void **state) {
  (void)state;
  check_tty(1);
}

/* By default in a terminal the program reads it, as under timeout. */
static void test_pty_default_gives_terminal(void **state) {
  (void)state;
  check_tty(3);
  check_tty(0);
}

static void test_pty_background_has_terminal(void **state) {
  (void)state;
  check_tty(2);
}

/* With its stdout not the terminal, tether leaves the program a background
 * job of the terminal: reading from it stops the program (SIGTTIN), as
 * under timeout(1) without --foreground; kill -9 of tether still takes it
 * down. */
static void test_pty_background_read_stops(void **state) {
  char ready[128], out[4096] = "";
  char *argv[] = {(char *)"/bin/sh",
                  (char *)"-c",
                  (char *)"exec \"$0\" \"$@\" >/dev/null",
                  (char *)TETHER_CLI,
                  (char *)"run",
                  (char *)"--",
                  (char *)tt_self(),
                  (char *)"--child",
                  (char *)"read_stdin",
                  ready,
                  NULL};
  pid_t pid;
  long child;
  int m, i, st = 0;
  (void)state;
#ifndef __linux__
  tt_skip("reads the process state from /proc");
#endif
  pid = start_pty_child(argv, ready, sizeof ready, &m, &child);
  for (i = 0; i < 1000 && !stopped(child); i++)
    tt_sleep_ms(10);
  drain(m, out, sizeof out);
  if (!stopped(child) || waitpid(pid, &st, WNOHANG) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("a background read: the program is %s (want stopped by SIGTTIN, "
             "tether running); terminal: %s",
             stopped(child) ? "stopped" : "not stopped", out);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  for (i = 0; i < 500 && kill((pid_t)child, 0) == 0; i++)
    tt_sleep_ms(10);
  close(m);
  remove_dir();
  assert_int_equal(kill((pid_t)child, 0), -1);
}

/* A background reader stopped by SIGTTIN (as above) that handles SIGTERM:
 * when --timeout runs out, the stop sequence continues it around the
 * terminate, so it runs its handler (exit 3) at once instead of stopping
 * again on its read with the terminate pending and being killed after
 * --kill-after (20 s). Side by side with coreutils timeout (which sends
 * SIGCONT after the signal): both end within a few seconds. */
static void background_reader_case(const char *wrapper, int want_code) {
  char ready[128], out[4096] = "";
  char *argv[16];
  int n = 0, m, i, st = 0;
  uint64_t t0;
  long child;
  pid_t pid;
  add_args(argv, &n, "/bin/sh", "-c", "exec \"$0\" \"$@\" >/dev/null", NULL);
  if (strcmp(wrapper, "tether") == 0)
    add_args(argv, &n, TETHER_CLI, "run", "--timeout", "1s", "--kill-after", "20s", "--", NULL);
  else
    add_args(argv, &n, "timeout", "-k", "20", "1", NULL);
  add_args(argv, &n, tt_self(), "--child", "read_stdin_term", ready, NULL);
  t0 = tether_now_ns();
  pid = start_pty_child(argv, ready, sizeof ready, &m, &child);
  for (i = 0; i < 1500 && waitpid(pid, &st, WNOHANG) == 0; i++)
    tt_sleep_ms(10);
  drain(m, out, sizeof out);
  if (i == 1500) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    kill((pid_t)child, SIGKILL);
    fail_msg("%s: still running 15 s after a 1 s timeout; terminal: %s", wrapper, out);
  }
  print_message("# %s: a stopped background reader with a SIGTERM handler, --timeout 1s: "
                "exit %d after %.0f ms\n",
                wrapper, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st),
                (double)(tether_now_ns() - t0) / 1e6);
  close(m);
  remove_dir();
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), want_code);
  assert_true(tether_now_ns() - t0 < (uint64_t)10000 * 1000000u);
}

static void test_pty_background_reader_terminated(void **state) {
  (void)state;
  background_reader_case("tether", 3);    /* ends like the program: its exit 3 */
  background_reader_case("timeout", 124); /* timeout's own status */
}

/* Interactive programs under `tether run` with no option, in a terminal:
 * an interactive bash runs a typed command and exits with the typed
 * status; python3's REPL likewise (where installed). Each as under
 * timeout, side by side. */
static void interactive_case(const char *wrapper, const char *prog, const char *input,
                             const char *want, int want_code) {
  char out[8192] = "";
  char *argv[12];
  int i = 0, m, st;
  pid_t pid;
  if (strcmp(wrapper, "timeout") == 0)
    add_args(argv, &i, "/usr/bin/timeout", "100", prog, NULL);
  else
    add_args(argv, &i, TETHER_CLI, "run", "--", prog, NULL);
  if (strstr(prog, "bash") != NULL)
    add_args(argv, &i, "--norc", "--noprofile", NULL);
  add_args(argv, &i, "-i", NULL);
  pid = start_in_pty(argv, &m);
  tt_sleep_ms(300);
  type(m, input);
  st = wait_status(pid, 20000, m, out, sizeof out);
  drain(m, out, sizeof out);
  close(m);
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != want_code || strstr(out, want) == NULL)
    fail_msg("%s %s -i: status 0x%x (want exit %d), want '%s' on the terminal: %s", wrapper, prog,
             st, want_code, want, out);
}

static void test_pty_interactive_programs(void **state) {
  int have_timeout = access("/usr/bin/timeout", X_OK) == 0;
  (void)state;
  if (access("/bin/bash", X_OK) == 0) {
    if (have_timeout)
      interactive_case("timeout", "/bin/bash", "echo hi-$((6*7))\nexit 3\n", "hi-42", 3);
    interactive_case("tether", "/bin/bash", "echo hi-$((6*7))\nexit 3\n", "hi-42", 3);
  }
  if (access("/usr/bin/python3", X_OK) == 0) {
    if (have_timeout)
      interactive_case("timeout", "/usr/bin/python3", "print(6*7+1)\nraise SystemExit(4)\n", "43",
                       4);
    interactive_case("tether", "/usr/bin/python3", "print(6*7+1)\nraise SystemExit(4)\n", "43", 4);
  }
}

/* ---------------------------------------------------------------------- */
/* Ctrl+C stops the calling script (issue 13)                               */
/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* A terminal hang-up (issue 13, item 3)                                    */
/* ---------------------------------------------------------------------- */

/* An interactive bash (job control) is the session leader of a pseudo-
 * terminal and runs `PREFIX CHILD count_hup LOG READY` as its foreground
 * job; then the terminal hangs up (the master is closed): the kernel sends
 * SIGHUP to bash, bash sends SIGHUP to its jobs and exits, and at its exit
 * the kernel sends SIGHUP to the old foreground group. Returns the number
 * of SIGHUPs the child got, or fails. fg_child: wait until the child's
 * group holds the terminal before the hang-up (--foreground). */
static int hangup_count(const char *prefix, int fg_child) {
  char ready[128], logp[128], cmd[1024], out[8192] = "", buf[64];
  char *argv[5];
  int m, i, fd, n = 0;
  ssize_t r;
  long child;
  pid_t pid;
  make_dir();
  path_in(ready, sizeof ready, "ready");
  path_in(logp, sizeof logp, "hups");
  snprintf(cmd, sizeof cmd, "%s '%s' --child count_hup '%s' '%s'\n", prefix, tt_self(), logp,
           ready);
  argv[0] = (char *)"/bin/bash";
  argv[1] = (char *)"--norc";
  argv[2] = (char *)"--noprofile";
  argv[3] = (char *)"-i";
  argv[4] = NULL;
  pid = start_in_pty(argv, &m);
  assert_int_equal(write(m, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
  wait_child_started(pid, m, ready, cmd);
  child = read_pid(ready);
  for (i = 0; i < 500 && fg_child && tcgetpgrp(m) != (pid_t)child; i++)
    tt_sleep_ms(10);
  tt_sleep_ms(200); /* the job is set up (a shell's tcsetpgrp, tether's watch) */
  drain(m, out, sizeof out);
  close(m); /* the hang-up */
  if (wait_status(pid, 10000, -1, NULL, 0) == -1)
    printf("# bash did not exit within 10 s of the hang-up\n");
  for (i = 0; i < 500 && kill((pid_t)child, 0) == 0; i++) /* watchdog: 5 s */
    tt_sleep_ms(10);
  tt_sleep_ms(100); /* a forwarded duplicate would have arrived */
  fd = open(logp, O_RDONLY);
  while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
    for (i = 0; i < (int)r; i++)
      n += buf[i] == 'H';
  if (fd >= 0)
    close(fd);
  if (kill((pid_t)child, 0) == 0)
    kill((pid_t)child, SIGKILL);
  remove_dir();
  return n;
}

/* The program gets the hang-up once under tether run, with and without
 * --foreground (before: twice, the kernel's and the shell's re-send).
 * Side by side: the program alone and under timeout (which may get 2: the
 * shell's SIGHUP and the kernel's, unless they coalesce). */
static void test_pty_hangup_once(void **state) {
  char pre[512];
  int plain, tmo = -1, t, tf;
  (void)state;
  if (access("/bin/bash", X_OK) != 0) {
    printf("# skipped: no /bin/bash\n");
    return;
  }
  plain = hangup_count("", 0);
  if (access("/usr/bin/timeout", X_OK) == 0)
    tmo = hangup_count("/usr/bin/timeout 100", 0);
  snprintf(pre, sizeof pre, "'%s' run --", TETHER_CLI);
  t = hangup_count(pre, 0);
  snprintf(pre, sizeof pre, "'%s' run --foreground --", TETHER_CLI);
  tf = hangup_count(pre, 1);
  printf("# SIGHUPs after a hang-up: alone %d, timeout %d, tether run %d, "
         "tether run --foreground %d\n",
         plain, tmo, t, tf);
  assert_true(plain >= 1); /* the scenario delivers a hang-up at all */
  assert_int_equal(t, 1);
  assert_int_equal(tf, 1);
}

/* `bash -c 'tether run OPTS -- CHILD READY REDIR; echo AFTER'` is the
 * session leader of a pseudo-terminal (bash without job control: tether is
 * in bash's process group, the terminal's foreground group). CTRL_CS
 * Ctrl+C are typed, 500 ms apart, once the child is ready. bash stops the
 * script (dies by SIGINT, no AFTER) only if tether died by SIGINT.
 * want_stop: the script must stop; otherwise it must print AFTER and exit
 * 0. */
typedef struct script_case {
  const char *opts, *child;
  const char *redir; /* after tether's command: "" or " >/dev/null" */
  int ctrl_cs, want_stop;
} script_case;

static void script_ctrl_c(const script_case *c) {
  const char *opts = c->opts, *child = c->child;
  int ctrl_cs = c->ctrl_cs, want_stop = c->want_stop;
  char ready[128], cmd[1024], out[8192] = "";
  char *argv[4];
  int m, st, i, stopped_ok;
  pid_t pid;
  if (access("/bin/bash", X_OK) != 0) {
    printf("# skipped: no /bin/bash\n");
    return;
  }
  make_dir();
  path_in(ready, sizeof ready, "ready");
  snprintf(cmd, sizeof cmd, "'%s' run %s -- '%s' --child %s '%s'%s; echo AFTER", TETHER_CLI, opts,
           tt_self(), child, ready, c->redir);
  argv[0] = (char *)"/bin/bash";
  argv[1] = (char *)"-c";
  argv[2] = cmd;
  argv[3] = NULL;
  pid = start_in_pty(argv, &m);
  wait_child_started(pid, m, ready, cmd);
  if (strstr(opts, "--foreground") != NULL) { /* wait for the hand-over */
    for (i = 0; i < 1000 && tcgetpgrp(m) == pid; i++)
      tt_sleep_ms(10);
  }
  for (i = 0; i < ctrl_cs; i++) {
    if (i > 0)
      tt_sleep_ms(500);
    assert_int_equal(write(m, "\003", 1), 1);
  }
  st = wait_status(pid, 30000, m, out, sizeof out);
  drain(m, out, sizeof out);
  close(m);
  remove_dir();
  if (want_stop)
    stopped_ok =
        st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGINT && strstr(out, "AFTER") == NULL;
  else
    stopped_ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "AFTER") != NULL;
  if (!stopped_ok)
    fail_msg("%d Ctrl+C, tether run %s -- %s: bash status 0x%x (want %s); terminal: %s", ctrl_cs,
             opts, child, st, want_stop ? "death by SIGINT, no AFTER" : "exit 0 after AFTER", out);
}

/* Each test runs a list of cases (its state), ended by one with opts NULL. */
static void test_script(void **state) {
  const script_case *c;
  for (c = (const script_case *)*state; c->opts != NULL; c++)
    script_ctrl_c(c);
}

/* One Ctrl+C, the child dies of the forwarded SIGINT. */
static const script_case script_stops[] = {{"", "plain", "", 1, 1}, {NULL, NULL, NULL, 0, 0}};

/* The child ignores SIGINT; the second Ctrl+C kills the tree. */
static const script_case script_second_stops[] = {{"--grace 60s", "ignore_int", "", 2, 1},
                                                  {NULL, NULL, NULL, 0, 0}};

/* The child ignores SIGINT; the grace runs out, the stop sequence ends it
 * with SIGTERM (a --kill-after escalation alike). A Ctrl+C forwarded by
 * tether starts the grace timer: tether's stdout is not the terminal, so
 * the program is a background job and tether got the Ctrl+C (in a
 * terminal the program gets it itself and decides, as at a prompt). */
static const script_case script_escalation_stops[] = {
    {"--grace 200ms --kill-after 60s", "ignore_int", " >/dev/null", 1, 1},
    {"--grace 200ms --kill-after 0", "ignore_int", " >/dev/null", 1, 1},
    {NULL, NULL, NULL, 0, 0}};

/* --foreground: the terminal's Ctrl+C reaches only the child's group;
 * tether passes the SIGINT on to its own (the script's) group. */
static const script_case script_foreground_stops[] = {{"--foreground", "plain", "", 1, 1},
                                                      {NULL, NULL, NULL, 0, 0}};

/* The counter-cases: --exit-code (tether exits 130, bash goes on), and a
 * child that handles the Ctrl+C and exits 0 on its own (its decision; the
 * code is passed on, bash goes on as it would for the child itself). */
static const script_case script_continues[] = {{"--exit-code", "plain", "", 1, 0},
                                               {"--exit-code --grace 60s", "ignore_int", "", 2, 0},
                                               {"", "count_int /dev/null", "", 1, 0},
                                               {NULL, NULL, NULL, 0, 0}};

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {{"count_int", child_count_int},
                                          {"ignore_int", child_ignore_int},
                                          {"plain", child_plain},
                                          {"die", child_die},
                                          {"pid", child_pid},
                                          {"count_winch", child_count_winch},
                                          {"tty", child_tty},
                                          {"read_stdin", child_read_stdin},
                                          {"read_stdin_term", child_read_stdin_term},
                                          {"fgcheck", child_fgcheck},
                                          {"count_hup", child_count_hup},
                                          {"count_quit", child_count_quit},
                                          {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dies_like_child),
      cmocka_unit_test(test_kill_term_forwarded),
      tt_unit_test_case(test_pty_ctrl_c_once, test_pty_once, &once_cases[ONCE_DEFAULT]),
      tt_unit_test_case(test_pty_ctrl_c_once_foreground, test_pty_once,
                        &once_cases[ONCE_FOREGROUND]),
      tt_unit_test_case(test_pty_default_ctrl_c_no_grace, test_pty_once,
                        &once_cases[ONCE_DEFAULT_GRACE]),
      tt_unit_test_case(test_pty_default_quit_once, test_pty_once, &once_cases[ONCE_DEFAULT_QUIT]),
      cmocka_unit_test(test_pty_second_ctrl_c_kills),
      cmocka_unit_test(test_pty_ctrl_c_dies_by_sigint),
      cmocka_unit_test(test_pty_resize_once),
      cmocka_unit_test(test_pty_ctrl_z),
      cmocka_unit_test(test_pty_foreground_restores_modes),
      tt_unit_test_case(test_pty_kill_int_foreground, test_pty_once,
                        &once_cases[ONCE_FOREGROUND_KILL]),
      cmocka_unit_test(test_pty_foreground_ctrl_z),
      cmocka_unit_test(test_pty_foreground_gives_terminal),
      cmocka_unit_test(test_pty_default_gives_terminal),
      cmocka_unit_test(test_pty_interactive_programs),
      cmocka_unit_test(test_pty_background_has_terminal),
      cmocka_unit_test(test_pty_background_read_stops),
      cmocka_unit_test(test_pty_background_reader_terminated),
      cmocka_unit_test(test_pty_hangup_once),
      tt_unit_test_case(test_script_ctrl_c_stops, test_script, script_stops),
      tt_unit_test_case(test_script_second_ctrl_c_stops, test_script, script_second_stops),
      tt_unit_test_case(test_script_ctrl_c_escalation_stops, test_script, script_escalation_stops),
      tt_unit_test_case(test_script_ctrl_c_foreground_stops, test_script, script_foreground_stops),
      tt_unit_test_case(test_script_ctrl_c_continues, test_script, script_continues),
  };
  return tt_main(argc, argv, scenarios, "cli_run", tests, TT_COUNT(tests));
}
