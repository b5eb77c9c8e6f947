/* SPDX-License-Identifier: MIT */
/*
 * Sending events to processes tether did not start (tether_send) and the
 * TETHER_SPAWN_CONSOLE_GROUP spawn flag, on POSIX (native and portable
 * lanes).
 *
 * Targets are plain fork()ed processes (never tether children) that report
 * the signal they received through a pipe. Child scenarios re-run this
 * executable: `test_send --child NAME ...`.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

/* ---------------------------------------------------------------------- */
/* Targets: fork()ed processes that report what they received              */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_signo;

static void on_signal(int signo) { got_signo = signo; }

/* The signals a target catches (everything tether_send can send but
 * SIGKILL). */
static const int caught[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

typedef struct target {
  pid_t pid;
  int fd; /* read end: "R" once ready, then one byte: the signal number */
} target;

/* In the forked target: catch the signals, say ready, wait for one, write
 * its number, exit 0. Exits 3 when nothing came within 30 s. Only
 * async-signal-safe calls after fork (this test process has threads).
 * pgid: < 0 stay in this group, 0 lead a new group, > 0 join that group. */
static void target_body(int wfd, pid_t pgid) {
  struct sigaction sa;
  size_t i;
  sigset_t none;
  unsigned char b;
  int waited;
  if (pgid >= 0)
    (void)setpgid(0, pgid);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < TT_COUNT(caught); i++)
    (void)sigaction(caught[i], &sa, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  b = 'R';
  if (write(wfd, &b, 1) != 1)
    _exit(2);
  for (waited = 0; got_signo == 0 && waited < 3000; waited++) {
    struct timespec ts = {0, 10000000L};
    (void)nanosleep(&ts, NULL);
  }
  if (got_signo == 0)
    _exit(3);
  b = (unsigned char)got_signo;
  if (write(wfd, &b, 1) != 1)
    _exit(2);
  _exit(0);
}

/* Wait up to ms for one byte. 1 read, 0 end of file / timeout. */
static int read_byte(int fd, unsigned char *b, int ms) {
  struct pollfd p;
  p.fd = fd;
  p.events = POLLIN;
  if (poll(&p, 1, ms) != 1)
    return 0;
  return read(fd, b, 1) == 1;
}

/* Fork a target (pgid as for target_body) and wait until it is ready. */
static void target_start(target *t, pid_t pgid) {
  int p[2];
  unsigned char b = 0;
  assert_int_equal(pipe(p), 0);
  t->pid = fork();
  assert_true(t->pid >= 0);
  if (t->pid == 0) {
    close(p[0]);
    target_body(p[1], pgid);
  }
  close(p[1]);
  t->fd = p[0];
  if (pgid >= 0) /* both sides, so that it is done before the send */
    (void)setpgid(t->pid, pgid == 0 ? t->pid : pgid);
  assert_true(read_byte(t->fd, &b, 10000));
  assert_int_equal(b, 'R');
}

/* The signal the target reported (0 if none), after which it was reaped;
 * *status receives its wait status. */
static int target_finish(target *t, int *status) {
  unsigned char b = 0;
  int st = 0, got;
  got = read_byte(t->fd, &b, 10000) ? b : 0;
  assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
  close(t->fd);
  if (status != NULL)
    *status = st;
  return got;
}

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

/* As "nobody" (when run as root): the error for a process of another user
 * (argv[0], a pid) must be EPERM. Exit 0 when it is, else the step. */
static int child_eperm(int argc, char **argv) {
  long pid;
  int r;
  if (argc < 1)
    return 40;
  pid = strtol(argv[0], NULL, 10);
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
      return 41;
  }
  r = tether_send(pid, TETHER_EVENT_TERMINATE, 0);
  if (r != TETHER_EPERM) {
    printf("send: %s\n", tether_err_name(r));
    return 42;
  }
  if (tether_last_os_error() != EPERM)
    return 43;
  r = tether_send(pid, TETHER_EVENT_NONE, TETHER_SEND_GROUP);
  if (r != TETHER_EPERM) {
    printf("group kill: %s\n", tether_err_name(r));
    return 44;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* TETHER_SPAWN_CONSOLE_GROUP                                               */
/* ---------------------------------------------------------------------- */

/* POSIX has no console group: TETHER_ENOTSUP; with DETACHED it is an
 * invalid combination on every OS. Nothing is started either way. */
static void test_console_group_flag(void **state) {
  const char *argv[] = {"/bin/true", NULL};
  tether_spawn_options o;
  tether_child *c = (tether_child *)&o; /* must be reset to NULL */
  long fds = tt_open_fd_count();
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_CONSOLE_GROUP;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ENOTSUP);
  assert_null(c);
  o.flags = TETHER_SPAWN_CONSOLE_GROUP | TETHER_SPAWN_DETACHED;
  c = (tether_child *)&o;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_null(c);
  /* TETHER_SPAWN_ALLOW_BREAKAWAY contradicts catching escapees. */
  o.flags = TETHER_SPAWN_ALLOW_BREAKAWAY | TETHER_SPAWN_CATCH_ESCAPEES;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_null(c);
  /* The next bit up is still unknown. */
  o.flags = TETHER_SPAWN_ALLOW_BREAKAWAY << 1;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_int_equal(tt_open_fd_count(), fds);
}

/* ---------------------------------------------------------------------- */
/* tether_send                                                              */
/* ---------------------------------------------------------------------- */

/* Every kind reaches a process tether did not start, as its signal. */
static void test_send_each_kind(void **state) {
  static const struct {
    int kind, signo;
  } map[] = {
      {TETHER_EVENT_INTERRUPT, SIGINT},  {TETHER_EVENT_QUIT, SIGQUIT},
      {TETHER_EVENT_TERMINATE, SIGTERM}, {TETHER_EVENT_HANGUP, SIGHUP},
      {TETHER_EVENT_USER1, SIGUSR1},     {TETHER_EVENT_USER2, SIGUSR2},
  };
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(map); i++) {
    target t;
    int st = 0;
    target_start(&t, -1);
    assert_tether_ok(tether_send(t.pid, map[i].kind, 0));
    assert_int_equal(target_finish(&t, &st), map[i].signo);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
}

/* TETHER_EVENT_NONE kills: SIGKILL, nothing caught. */
static void test_send_kill(void **state) {
  target t;
  int st = 0;
  (void)state;
  target_start(&t, -1);
  assert_tether_ok(tether_send(t.pid, TETHER_KILL, 0));
  assert_int_equal(target_finish(&t, &st), 0);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGKILL);
}

/* With TETHER_SEND_GROUP every member of the group gets it; without, only
 * the named process. */
static void test_send_group(void **state) {
  target leader, member, other;
  int st = 0;
  (void)state;
  target_start(&leader, 0);
  target_start(&member, leader.pid);
  target_start(&other, 0); /* another group: must not get it */
  assert_tether_ok(tether_send(leader.pid, TETHER_EVENT_HANGUP, TETHER_SEND_GROUP));
  assert_int_equal(target_finish(&leader, NULL), SIGHUP);
  assert_int_equal(target_finish(&member, NULL), SIGHUP);
  /* The member (not a group leader): only itself. */
  target_start(&leader, 0);
  target_start(&member, leader.pid);
  /* A living member's pid is no group id. */
  assert_tether_err(tether_send(member.pid, TETHER_EVENT_USER1, TETHER_SEND_GROUP), TETHER_ESRCH);
  assert_tether_ok(tether_send(member.pid, TETHER_EVENT_USER1, 0));
  assert_int_equal(target_finish(&member, NULL), SIGUSR1);
  assert_tether_ok(tether_send(leader.pid, TETHER_EVENT_NONE, TETHER_SEND_GROUP));
  assert_int_equal(target_finish(&leader, &st), 0);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  assert_tether_ok(tether_send(other.pid, TETHER_EVENT_TERMINATE, 0));
  assert_int_equal(target_finish(&other, NULL), SIGTERM);
}

/* A process that has exited and was reaped: ESRCH, for the process and as
 * a group; the OS error is kept. */
static void test_send_esrch(void **state) {
  pid_t pid;
  int st;
  (void)state;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_tether_err(tether_send(pid, TETHER_EVENT_TERMINATE, 0), TETHER_ESRCH);
  assert_int_equal(tether_last_os_error(), ESRCH);
  assert_tether_err(tether_send(pid, TETHER_EVENT_NONE, 0), TETHER_ESRCH);
  assert_tether_err(tether_send(pid, TETHER_EVENT_INTERRUPT, TETHER_SEND_GROUP), TETHER_ESRCH);
}

/* Bad input is refused before anything is sent, without touching the last
 * OS error. */
static void test_send_bad_input(void **state) {
  static const int bad_kinds[] = {TETHER_EVENT_LOGOFF,
                                  TETHER_EVENT_SHUTDOWN,
                                  TETHER_EVENT_RESIZE,
                                  TETHER_EVENT_CHILD,
                                  TETHER_EVENT_SIGNAL,
                                  TETHER_EVENT_SIGNAL + 1,
                                  -1,
                                  99};
  static const int64_t bad_pids[] = {
      0, -1, -5, INT64_C(0x80000000), INT64_C(0x100000001), INT64_MAX, INT64_MIN};
  target t;
  size_t i;
  (void)state;
  target_start(&t, -1);
  (void)tether_send(t.pid, TETHER_EVENT_USER1, TETHER_SEND_GROUP); /* ESRCH */
  assert_int_equal(tether_last_os_error(), ESRCH);
  for (i = 0; i < TT_COUNT(bad_kinds); i++)
    assert_tether_err(tether_send(t.pid, bad_kinds[i], 0), TETHER_EINVAL);
  for (i = 0; i < TT_COUNT(bad_pids); i++)
    assert_tether_err(tether_send(bad_pids[i], TETHER_EVENT_TERMINATE, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(t.pid, TETHER_EVENT_TERMINATE, 2u), TETHER_EINVAL);
  assert_tether_err(tether_send(t.pid, TETHER_EVENT_TERMINATE, ~0u), TETHER_EINVAL);
  assert_int_equal(tether_last_os_error(), ESRCH);
  /* Nothing reached the target: the first signal it sees is this one. */
  assert_tether_ok(tether_send(t.pid, TETHER_EVENT_USER2, 0));
  assert_int_equal(target_finish(&t, NULL), SIGUSR2);
}

/* Another user's process: EPERM. As root (the CI runs as root) a scenario
 * becomes "nobody" and aims at a target of root's; otherwise this process
 * aims at init (pid 1, root's, which a non-root user may not signal). */
static void test_send_eperm(void **state) {
  (void)state;
  if (geteuid() != 0) {
    assert_tether_err(tether_send(1, TETHER_EVENT_TERMINATE, 0), TETHER_EPERM);
    assert_int_equal(tether_last_os_error(), EPERM);
    return;
  }
  if (getpwnam("nobody") == NULL)
    tt_skip("running as root and there is no user \"nobody\" to drop to");
  {
    target t;
    char pidbuf[32];
    const char *argv[5];
    tether_child *c = NULL;
    tether_status st;
    target_start(&t, 0);
    snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)t.pid);
    argv[0] = tt_self();
    argv[1] = "--child";
    argv[2] = "eperm";
    argv[3] = pidbuf;
    argv[4] = NULL;
    assert_tether_ok(tether_spawn(&c, argv, NULL));
    assert_int_equal(tether_child_wait(c, 30000, &st), 1);
    tether_child_free(c);
    assert_int_equal(st.kind, TETHER_STATUS_CODE);
    assert_int_equal(st.code, 0);
    /* The target got nothing from the refused sends. */
    assert_tether_ok(tether_send(t.pid, TETHER_EVENT_INTERRUPT, 0));
    assert_int_equal(target_finish(&t, NULL), SIGINT);
  }
}

/* Sending to this very process: a tether channel sees the event, with this
 * process as the sender. */
static void test_send_self(void **state) {
  tether_channel *ch = NULL;
  tether_event ev;
  (void)state;
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_USER1, 0));
  assert_tether_ok(tether_send(getpid(), TETHER_EVENT_USER1, 0));
  assert_int_equal(tether_channel_wait(ch, &ev, 10000), 1);
  assert_int_equal(ev.kind, TETHER_EVENT_USER1);
  assert_int_equal(ev.code, SIGUSR1);
  assert_int_equal(ev.pid, (int64_t)getpid());
  assert_int_equal(ev.uid, (int64_t)getuid());
  tether_channel_free(ch);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"eperm", child_eperm},
      {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_console_group_flag), cmocka_unit_test(test_send_each_kind),
      cmocka_unit_test(test_send_kill),          cmocka_unit_test(test_send_group),
      cmocka_unit_test(test_send_esrch),         cmocka_unit_test(test_send_bad_input),
      cmocka_unit_test(test_send_eperm),         cmocka_unit_test(test_send_self),
  };
  return tt_main(argc, argv, scenarios, "send", tests, TT_COUNT(tests));
}
