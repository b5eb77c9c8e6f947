/* SPDX-License-Identifier: MIT */
/*
 * Shutdown: exit helpers, cancellation tokens, the shutdown policy and
 * tether_main, seen from a parent process (every lane; Windows under Wine
 * drives the console handler through its seam where Wine cannot generate
 * the event).
 *
 * The parent starts this executable again with `--child <scenario>` as a
 * tethered child whose stdout is a pipe, reads its progress lines and
 * checks how it ended.
 */
#include <signal.h> /* SIGINT, SIGTERM: the events' names in the helpers on every system */
#include <stdlib.h>
#include <string.h>

#include "atomic.h"   /* core/: lock-free counters shared with the policy thread */
#include "selftest.h" /* examples/ */
#include "support.h"

#ifdef _WIN32
#include <windows.h>
#include "win32_seam.h"
#else
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------------ */
/* Parent side: run a scenario, read its lines, check its end               */
/* ------------------------------------------------------------------------ */

/* The examples' self-test helpers (examples/selftest.c, public API only)
 * do the spawning and reading; these wrappers turn their answers into
 * cmocka failures. */
typedef st_run run;

static void run_start(run *r, const char *scenario, const char *a1, const char *a2) {
  const char *argv[7];
  tt_child_argv(argv, scenario, a1, a2, NULL);
  assert_tether_ok(st_start(r, argv));
}

/* Wait until the output contains needle. */
static void run_expect(run *r, const char *needle, int ms) {
  if (!st_expect(r, needle, ms))
    fail_msg("no '%s' in the child's output: '%s'", needle, r->out);
}

/* Wait for the end (reading the rest) and return the status. */
static tether_status run_end(run *r, int ms) {
  tether_status st;
  if (!st_end(r, ms, &st))
    fail_msg("the child did not end within %d ms; output: '%s'", ms, r->out);
  return st;
}

/* Run scenario with the arguments n (in decimal) and a2 (may be NULL) to
 * its end (10 s); its status. */
static tether_status run_number(run *r, const char *scenario, int n, const char *a2) {
  char arg[16];
  snprintf(arg, sizeof(arg), "%d", n);
  run_start(r, scenario, arg, a2);
  return run_end(r, 10000);
}

#ifndef _WIN32
static void run_kill(run *r, int signo) {
  assert_int_equal(kill((pid_t)tether_child_pid(r->child), signo), 0);
}

static void expect_signal(const tether_status *st, int signo) {
  if (st->kind != TETHER_STATUS_SIGNAL || st->signo != signo)
    fail_msg("expected death by signal %d, got kind %d code %d signo %d", signo, st->kind, st->code,
             st->signo);
}
#endif

static void expect_code(const tether_status *st, int code) {
  if (st->kind != TETHER_STATUS_CODE || st->code != code)
    fail_msg("expected exit code %d, got kind %d code %d signo %d", code, st->kind, st->code,
             st->signo);
}

#ifdef _WIN32
#define STATUS_CTRL_C 0xC000013Au
static void expect_raw(const tether_status *st, uint32_t raw) {
  if (st->raw != raw)
    fail_msg("expected exit code 0x%lx, got 0x%lx", (unsigned long)raw, (unsigned long)st->raw);
}
#endif

/* Start the policy scenario in mode and wait for its "ready". */
static void run_policy(run *r, const char *mode) {
  run_start(r, "policy", mode, NULL);
  run_expect(r, "ready", 10000);
}

/* End the run by the event its scenario waits for (POSIX: signo sent to
 * it; Windows: the Ctrl+C the scenario fires itself): within ms, it must
 * end like that event. */
static void run_end_like_event(run *r, int signo, int ms) {
  tether_status st;
#ifndef _WIN32
  run_kill(r, signo);
  st = run_end(r, ms);
  expect_signal(&st, signo);
#else
  (void)signo;
  st = run_end(r, ms);
  expect_raw(&st, STATUS_CTRL_C);
#endif
}

/* ------------------------------------------------------------------------ */
/* Child scenarios                                                          */
/* ------------------------------------------------------------------------ */

TT_PRINTF(1, 2)
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}

#ifndef _WIN32
/* A thread that holds a stream's lock for ever, as one blocked in fgets()
 * on a terminal does. */
static FILE *locked_stream;
static volatile int locked_ready;
static void *lock_holder_thread(void *arg) {
  (void)arg;
  flockfile(locked_stream);
  (void)tether__add_int(&locked_ready, 1);
  for (;;)
    pause();
  return NULL;
}

static int like_signal_signo;
static void *like_signal_thread(void *arg) {
  (void)arg;
  (void)tether_exit_like_signal(like_signal_signo);
  return NULL;
}
#endif

/* like-signal SIGNO MODE: MODE plain | watched | blocked | thread | locked */
static int sc_like_signal(int argc, char **argv) {
  int signo = atoi(argv[0]), r;
  const char *mode = argc > 1 ? argv[1] : "plain";
  fputs("unflushed", stdout); /* must reach the parent: the helper flushes */
#ifdef _WIN32
  (void)mode;
#else
  if (strcmp(mode, "watched") == 0) {
    tether_channel *ch;
    if (tether_channel_new(&ch, NULL) < 0 || tether_channel_watch_signal(ch, signo, 0) < 0)
      return 90;
  } else if (strcmp(mode, "blocked") == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    (void)sigprocmask(SIG_BLOCK, &set, NULL);
  } else if (strcmp(mode, "locked") == 0) {
    pthread_t t;
    int p[2];
    if (pipe(p) != 0 || (locked_stream = fdopen(p[0], "r")) == NULL ||
        pthread_create(&t, NULL, lock_holder_thread, NULL) != 0)
      return 93;
    while (!tether__load_int(&locked_ready))
      tt_sleep_ms(1);
  } else if (strcmp(mode, "thread") == 0) {
    pthread_t t;
    like_signal_signo = signo;
    if (pthread_create(&t, NULL, like_signal_thread, NULL) != 0)
      return 91;
    (void)pthread_join(t, NULL);
    return 92; /* the thread should have ended the process */
  }
#endif
  r = tether_exit_like_signal(signo);
  say("\nreturned %d\n", r);
  return 3;
}

/* like-kind KIND */
static int sc_like_kind(int argc, char **argv) {
  int r;
  (void)argc;
  r = tether_exit_like_kind(atoi(argv[0]));
  say("returned %d\n", r);
  return 3;
}

/* exit-with KIND CODE|SIGNO */
static int sc_exit_with(int argc, char **argv) {
  tether_status st;
  int r;
  (void)argc;
  memset(&st, 0, sizeof(st));
  st.kind = atoi(argv[0]);
  st.code = st.signo = atoi(argv[1]);
  st.raw = (uint32_t)strtoul(argv[1], NULL, 0);
  fputs("unflushed", stdout);
  r = tether_exit_with(&st);
  say("\nreturned %d\n", r);
  return 3;
}

/* The policy scenarios count notifications. */
static volatile int sc_repeated;

static void sc_notify(int action, const tether_event *ev, void *userdata) {
  (void)userdata;
  say("action %d kind %d count %llu\n", action, ev->kind, (unsigned long long)ev->count);
  if (action == TETHER_SHUTDOWN_REPEATED)
    (void)tether__add_int(&sc_repeated, (int)ev->count); /* may coalesce */
}

#ifdef _WIN32
/* Under Wine nothing can send this process a console event it receives
 * reliably, so the scenario drives tether's real handler routine. */
static void sc_fire(unsigned long ctrl) { (void)tether__win32_console_handler(ctrl); }
#endif

/* Wait for the cancellation the way a work loop does: check, work, check.
 * (Not tether_token_wait(): under ThreadSanitizer a signal that arrives
 * while every thread of the process blocks in pthread_cond_timedwait is
 * only handled when the wait ends; tether_token_wait is tested in-process.) */
static int sc_wait_cancelled(tether_token *t, int ms) {
  int i;
  for (i = 0; i < ms / 5; i++) {
    if (tether_token_cancelled(t) == 1)
      return 1;
    tt_sleep_ms(5);
  }
  return tether_token_cancelled(t);
}

static void sc_print_cause(tether_token *t) {
  tether_cause c;
  if (tether_token_cause(t, &c) != 1) {
    say("no cause\n");
    return;
  }
  say("cancelled source %d kind %d code %d pid %lld reason %s\n", c.source, c.event.kind,
      c.source == TETHER_CAUSE_EVENT ? c.event.code : c.code, (long long)c.event.pid,
      c.reason != NULL ? c.reason : "-");
}

/* The event reaches the scenario (Windows: fired here, as nothing can send
 * it), which waits up to 20 s for the cancellation and prints its cause:
 * 1, or 0 when it never came. */
static int sc_cancelled_by_event(tether_token *t) {
#ifdef _WIN32
  sc_fire(CTRL_C_EVENT);
#endif
  if (sc_wait_cancelled(t, 20000) != 1)
    return 0;
  sc_print_cause(t);
  return 1;
}

/* policy MODE: second | grace | swallow | force1 */
static int sc_policy(int argc, char **argv) {
  tether_shutdown_options o;
  tether_shutdown *s;
  tether_token *t;
  const char *mode = argv[0];
  int r, i;
  (void)argc;
  tether_shutdown_options_init(&o, TETHER_SHUTDOWN_OPTIONS_VERSION);
  o.notify = sc_notify;
  if (strcmp(mode, "grace") == 0)
    o.grace_ms = 300;
  if (strcmp(mode, "swallow") == 0)
    o.flags = TETHER_SHUTDOWN_SWALLOW;
  if (strcmp(mode, "force1") == 0)
    o.force_count = 1;
  if ((r = tether_shutdown_new(&s, &o)) < 0) {
    say("policy: %s\n", tether_err_name(r));
    return 90;
  }
  t = tether_shutdown_token(s);
  say("ready\n");
  if (!sc_cancelled_by_event(t))
    return 91;
  if (strcmp(mode, "swallow") == 0) {
#ifdef _WIN32
    sc_fire(CTRL_C_EVENT);
    sc_fire(CTRL_C_EVENT);
#endif
    for (i = 0; i < 2000 && tether__load_int(&sc_repeated) < 2; i++)
      tt_sleep_ms(10);
    say("held through %d repeats\n", tether__load_int(&sc_repeated));
    tether_shutdown_free(s);
    return 0;
  }
  say("cleaning up\n");
#ifdef _WIN32
  if (strcmp(mode, "second") == 0)
    sc_fire(CTRL_C_EVENT);
#endif
  tt_sleep_ms(20000); /* a long clean-up, cut short by the policy */
  return 92;
}

static int sc_main_run(tether_token *t, void *userdata) {
  const char *mode = (const char *)userdata;
  say("ready\n");
  if (strcmp(mode, "plain") == 0)
    return 7;
  if (strcmp(mode, "program") == 0) {
    if (tether_token_cancel(t, 4, "work is done") != 0)
      return 90;
    sc_print_cause(t);
    return 9;
  }
  if (!sc_cancelled_by_event(t))
    return 91;
  return 5; /* graceful; tether_main still exits like the event */
}

/* main MODE: plain | program | event */
static int sc_main(int argc, char **argv) {
  int r;
  (void)argc;
  r = tether_main(NULL, sc_main_run, argv[0]);
  say("tether_main returned %d\n", r);
  return 93;
}

/* sleeper MODE: plain | ignore-int (POSIX) */
static int sc_sleeper(int argc, char **argv) {
  (void)argc;
#ifndef _WIN32
  if (strcmp(argv[0], "ignore-int") == 0)
    (void)signal(SIGINT, SIG_IGN);
#else
  (void)argv;
#endif
  say("ready\n");
  tt_sleep_ms(30000);
  return 0;
}

#ifndef _WIN32
/* ignored-at-start: SIGINT was SIG_IGN when the program started. */
static int sc_ignored(int argc, char **argv) {
  tether_shutdown_options o;
  tether_shutdown *s;
  int r;
  (void)argc;
  (void)argv;
  tether_shutdown_options_init(&o, TETHER_SHUTDOWN_OPTIONS_VERSION);
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_INTERRUPT);
  r = tether_shutdown_new(&s, &o);
  say("explicit %s\n", tether_err_name(r));
  r = tether_shutdown_new(&s, NULL);
  say("default %s\n", tether_err_name(r));
  if (r == 0) {
    /* SIGINT stays ignored: the default set left it out. */
    raise(SIGINT);
    say("survived SIGINT\n");
    tether_shutdown_free(s);
  }
  return 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* Exit helpers                                                             */
/* ------------------------------------------------------------------------ */

/* tether_exit_with() refuses a status of this kind, code and signo. */
static void exit_with_refuses(tether_status_kind kind, int code, int signo) {
  tether_status st;
  memset(&st, 0, sizeof(st));
  st.kind = kind;
  st.code = code;
  st.signo = signo;
  assert_tether_err(tether_exit_with(&st), TETHER_EINVAL);
}

static void test_exit_helpers_bad_input(void **state) {
  (void)state;
  assert_tether_err(tether_exit_with(NULL), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_kind(TETHER_EVENT_NONE), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_kind(TETHER_EVENT_CHILD), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_kind(99), TETHER_EINVAL);
  exit_with_refuses(TETHER_STATUS_NONE, 0, 0);
#ifdef _WIN32
  assert_tether_err(tether_exit_like_signal(2), TETHER_ENOTSUP);
  assert_tether_err(tether_exit_like_kind(TETHER_EVENT_USER1), TETHER_ENOTSUP);
  exit_with_refuses(TETHER_STATUS_SIGNAL, 0, 15);
#else
  assert_tether_err(tether_exit_like_signal(0), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_signal(-1), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_signal(100000), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_signal(SIGSTOP), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_signal(SIGTSTP), TETHER_EINVAL);
  assert_tether_err(tether_exit_like_kind(TETHER_EVENT_LOGOFF), TETHER_ENOTSUP);
  assert_tether_err(tether_exit_like_kind(TETHER_EVENT_SHUTDOWN), TETHER_ENOTSUP);
  exit_with_refuses(TETHER_STATUS_CODE, 256, 0);
  exit_with_refuses(TETHER_STATUS_INTERRUPTED, 256, 0);
#endif
}

#ifndef _WIN32
static void like_signal_case(int signo, const char *mode) {
  run r;
  tether_status st = run_number(&r, "like-signal", signo, mode);
  expect_signal(&st, signo);
  assert_string_equal(r.out, "unflushed");
}

static void test_exit_like_signal(void **state) {
  (void)state;
  like_signal_case(SIGINT, "plain");
  like_signal_case(SIGTERM, "plain");
  like_signal_case(SIGHUP, "plain");
  like_signal_case(SIGUSR1, "plain");
  like_signal_case(SIGKILL, "plain");
  /* tether's own handler is installed: still dies by the signal. */
  like_signal_case(SIGINT, "watched");
  /* blocked in the calling thread, or called from another thread. */
  like_signal_case(SIGTERM, "blocked");
  like_signal_case(SIGINT, "thread");
  /* Another thread holds a stream's lock (a reader blocked in fgets): the
   * flush must not hang the exit, and stdout is still flushed. */
  like_signal_case(SIGTERM, "locked");
}

/* A signal that cannot end a process: 128 + N instead. */
static void test_exit_like_signal_fallback(void **state) {
  run r;
  tether_status st;
  (void)state;
  st = run_number(&r, "like-signal", SIGWINCH, "plain");
  expect_code(&st, 128 + SIGWINCH);
}

static void test_exit_like_kind(void **state) {
  run r;
  tether_status st;
  (void)state;
  st = run_number(&r, "like-kind", TETHER_EVENT_TERMINATE, NULL);
  expect_signal(&st, SIGTERM);
  st = run_number(&r, "like-kind", TETHER_EVENT_LOGOFF, NULL);
  expect_code(&st, 3);
  assert_non_null(strstr(r.out, "returned -3")); /* TETHER_ENOTSUP */
}

static void test_exit_with(void **state) {
  run r;
  tether_status st;
  char val[16];
  (void)state;
  st = run_number(&r, "exit-with", TETHER_STATUS_CODE, "42");
  expect_code(&st, 42);
  assert_string_equal(r.out, "unflushed"); /* exit() flushes */
  snprintf(val, sizeof(val), "%d", SIGTERM);
  st = run_number(&r, "exit-with", TETHER_STATUS_SIGNAL, val);
  expect_signal(&st, SIGTERM);
  snprintf(val, sizeof(val), "%d", SIGKILL);
  st = run_number(&r, "exit-with", TETHER_STATUS_KILLED, val);
  expect_signal(&st, SIGKILL);
}
#else
static void test_exit_like_kind(void **state) {
  static const struct {
    int kind;
    uint32_t raw;
  } cases[] = {{TETHER_EVENT_INTERRUPT, STATUS_CTRL_C}, {TETHER_EVENT_QUIT, STATUS_CTRL_C},
               {TETHER_EVENT_HANGUP, STATUS_CTRL_C},    {TETHER_EVENT_LOGOFF, STATUS_CTRL_C},
               {TETHER_EVENT_SHUTDOWN, STATUS_CTRL_C},  {TETHER_EVENT_TERMINATE, 143}};
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(cases); i++) {
    run r;
    tether_status st = run_number(&r, "like-kind", cases[i].kind, NULL);
    expect_raw(&st, cases[i].raw);
  }
}

static void test_exit_with(void **state) {
  static const struct {
    int kind;
    const char *val;
    uint32_t raw;
  } cases[] = {{TETHER_STATUS_CODE, "42", 42},
               {TETHER_STATUS_INTERRUPTED, "0xC000013A", 0xC000013Au},
               {TETHER_STATUS_CRASHED, "0xC0000005", 0xC0000005u},
               {TETHER_STATUS_KILLED, "137", 137}};
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(cases); i++) {
    run r;
    tether_status st;
    char kind[16];
    snprintf(kind, sizeof(kind), "%d", cases[i].kind);
    run_start(&r, "exit-with", kind, cases[i].val);
    st = run_end(&r, 10000);
    expect_raw(&st, cases[i].raw);
    assert_string_equal(r.out, "unflushed");
  }
}
#endif

/* ------------------------------------------------------------------------ */
/* Tokens                                                                   */
/* ------------------------------------------------------------------------ */

static void test_token_bad_input(void **state) {
  tether_token *t = NULL;
  tether_cause c;
  tether_event ev;
  (void)state;
  assert_tether_err(tether_token_new(NULL, NULL), TETHER_EINVAL);
  assert_tether_err(tether_token_cancel(NULL, 0, NULL), TETHER_EINVAL);
  assert_tether_err(tether_token_cancel_event(NULL, &ev), TETHER_EINVAL);
  assert_tether_err(tether_token_cancelled(NULL), TETHER_EINVAL);
  assert_tether_err(tether_token_cause(NULL, &c), TETHER_EINVAL);
  assert_tether_err(tether_token_wait(NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_token_wait_stopped(NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_token_attach(NULL, NULL, NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_token_close(NULL), TETHER_EINVAL);
  assert_true(tether_token_handle(NULL) == tether_channel_handle(NULL));
  tether_token_free(NULL);

  assert_tether_ok(tether_token_new(&t, NULL));
  assert_tether_err(tether_token_cause(t, NULL), TETHER_EINVAL);
  assert_tether_err(tether_token_cancel_event(t, NULL), TETHER_EINVAL);
  memset(&ev, 0, sizeof(ev)); /* kind NONE */
  assert_tether_err(tether_token_cancel_event(t, &ev), TETHER_EINVAL);
  ev.kind = 99;
  assert_tether_err(tether_token_cancel_event(t, &ev), TETHER_EINVAL);
  assert_int_equal(tether_token_cancelled(t), 0);
  assert_tether_err(tether_token_attach(t, NULL, NULL, 0), TETHER_EINVAL);

  /* Closed: every call says so. */
  assert_tether_ok(tether_token_close(t));
  assert_tether_err(tether_token_close(t), TETHER_ECLOSED);
  assert_tether_err(tether_token_cancel(t, 1, "x"), TETHER_ECLOSED);
  assert_tether_err(tether_token_cancelled(t), TETHER_ECLOSED);
  assert_tether_err(tether_token_cause(t, &c), TETHER_ECLOSED);
  assert_tether_err(tether_token_wait(t, 0), TETHER_ECLOSED);
  assert_true(tether_token_handle(t) == tether_channel_handle(NULL));
  {
    tether_token *k;
    assert_tether_err(tether_token_new(&k, t), TETHER_ECLOSED);
    assert_null(k);
  }
  tether_token_free(t);
}

static void test_token_cancel_and_cause(void **state) {
  tether_token *t;
  tether_cause c;
  char reason[32];
  (void)state;
  assert_tether_ok(tether_token_new(&t, NULL));
  assert_int_equal(tether_token_cause(t, &c), 0);
  assert_int_equal(c.source, TETHER_CAUSE_NONE);
  assert_int_equal(tether_token_wait(t, 0), 0);
  strcpy(reason, "disk full");
  assert_tether_ok(tether_token_cancel(t, 28, reason));
  strcpy(reason, "changed"); /* the token keeps its own copy */
  assert_int_equal(tether_token_cancelled(t), 1);
  assert_int_equal(tether_token_wait(t, -1), 1);
  assert_int_equal(tether_token_cause(t, &c), 1);
  assert_int_equal(c.source, TETHER_CAUSE_PROGRAM);
  assert_int_equal(c.code, 28);
  assert_string_equal(c.reason, "disk full");
  assert_int_equal(c.inherited, 0);
  /* Cancelling twice: the first cause is kept. */
  assert_tether_err(tether_token_cancel(t, 1, "second"), TETHER_ECANCELED);
  {
    tether_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = TETHER_EVENT_TERMINATE;
    assert_tether_err(tether_token_cancel_event(t, &ev), TETHER_ECANCELED);
  }
  assert_int_equal(tether_token_cause(t, &c), 1);
  assert_int_equal(c.code, 28);
  assert_string_equal(c.reason, "disk full");
  tether_token_free(t);
}

static void test_token_tree(void **state) {
  tether_token *root, *mid, *leaf, *side, *late;
  tether_cause c;
  tether_event ev;
  (void)state;
  assert_tether_ok(tether_token_new(&root, NULL));
  assert_tether_ok(tether_token_new(&mid, root));
  assert_tether_ok(tether_token_new(&leaf, mid));
  assert_tether_ok(tether_token_new(&side, root));
  /* Cancelling a child leaves its parent and siblings alone. */
  assert_tether_ok(tether_token_cancel(side, 1, "side"));
  assert_int_equal(tether_token_cancelled(root), 0);
  assert_int_equal(tether_token_cancelled(mid), 0);
  /* Cancelling the root reaches every descendant with the root's cause. */
  memset(&ev, 0, sizeof(ev));
  ev.kind = TETHER_EVENT_INTERRUPT;
  ev.code = 2;
  ev.pid = 4242;
  ev.count = 1;
  assert_tether_ok(tether_token_cancel_event(root, &ev));
  assert_int_equal(tether_token_cause(leaf, &c), 1);
  assert_int_equal(c.source, TETHER_CAUSE_EVENT);
  assert_int_equal(c.inherited, 1);
  assert_int_equal(c.event.kind, TETHER_EVENT_INTERRUPT);
  assert_int_equal(c.event.code, 2);
  assert_int_equal((int)c.event.pid, 4242);
  assert_int_equal(tether_token_cause(side, &c), 1); /* kept its own */
  assert_int_equal(c.source, TETHER_CAUSE_PROGRAM);
  assert_string_equal(c.reason, "side");
  /* A token made under a cancelled parent is born cancelled. */
  assert_tether_ok(tether_token_new(&late, mid));
  assert_int_equal(tether_token_cancelled(late), 1);
  assert_int_equal(tether_token_cause(late, &c), 1);
  assert_int_equal(c.inherited, 1);
  /* Freeing a parent first detaches its children. */
  tether_token_free(root);
  assert_int_equal(tether_token_cancelled(mid), 1);
  tether_token_free(mid);
  assert_int_equal(tether_token_cancelled(leaf), 1);
  tether_token_free(late);
  tether_token_free(leaf);
  tether_token_free(side);
}

typedef struct canceller {
  tether_token *t;
  int delay_ms;
  int close;
} canceller;

static void canceller_main(void *arg) {
  canceller *k = (canceller *)arg;
  tt_sleep_ms(k->delay_ms);
  if (k->close)
    (void)tether_token_close(k->t);
  else
    (void)tether_token_cancel(k->t, 5, "from a thread");
}

static void start_canceller(canceller *k) {
  tt_thread *t = tt_thread_start(canceller_main, k);
  assert_non_null(t);
  tt_thread_detach(t);
}

static void test_token_handle_and_wait(void **state) {
  tether_token *t, *u;
  tether_os_handle h, invalid = tether_channel_handle(NULL);
  canceller k;
  (void)state;
  assert_tether_ok(tether_token_new(&t, NULL));
  h = tether_token_handle(t);
  assert_true(h != invalid);
  assert_true(tether_token_handle(t) == h); /* one handle per token */
  assert_false(tt_handle_ready(h, 0));
  k.t = t;
  k.delay_ms = 100;
  k.close = 0;
  start_canceller(&k);
  assert_int_equal(tether_token_wait(t, 10000), 1);
  assert_true(tt_handle_ready(h, 5000));
  assert_true(tt_handle_ready(h, 0)); /* stays ready */
  tether_token_free(t);
  /* Created after the cancellation: ready at once. */
  assert_tether_ok(tether_token_new(&u, NULL));
  assert_tether_ok(tether_token_cancel(u, 0, NULL));
  assert_true(tt_handle_ready(tether_token_handle(u), 0));
  tether_token_free(u);
  /* Closed by another thread while waiting: ECLOSED. */
  assert_tether_ok(tether_token_new(&u, NULL));
  k.t = u;
  k.close = 1;
  start_canceller(&k);
  assert_tether_err(tether_token_wait(u, 10000), TETHER_ECLOSED);
  tether_token_free(u);
}

/* A token owning children stops them on cancel, all in parallel. */
static void test_token_owns_children(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_INTERRUPT, 3000},
                                           {TETHER_EVENT_TERMINATE, 3000}};
  tether_token *t, *k;
  run a, b, c;
  tether_status sa, sb;
  uint64_t t0;
  unsigned ms;
  (void)state;
  assert_tether_ok(tether_token_new(&t, NULL));
  assert_tether_ok(tether_token_new(&k, t));
  run_start(&a, "sleeper", "plain", NULL);
  run_start(&b, "sleeper", "ignore-int", NULL);
  run_start(&c, "sleeper", "plain", NULL);
  run_expect(&a, "ready", 10000);
  run_expect(&b, "ready", 10000);
  run_expect(&c, "ready", 10000);
  assert_tether_ok(tether_token_attach(t, a.child, steps, TT_COUNT(steps)));
  assert_tether_ok(tether_token_attach(k, b.child, steps, TT_COUNT(steps)));
  assert_tether_ok(tether_token_attach(t, c.child, NULL, 0));
  /* Owned twice, bad steps: refused. */
  assert_tether_err(tether_token_attach(t, a.child, NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_token_attach(k, a.child, NULL, 0), TETHER_EINVAL);
  {
    tether_stop_step bad = {TETHER_EVENT_CHILD, 10};
    run d;
    run_start(&d, "sleeper", "plain", NULL);
    tether_stop_step negative = {TETHER_EVENT_TERMINATE, -1};
    tether_stop_step many[TETHER_STOP_MAX_STEPS + 1];
    tt_fill_steps(many, TT_COUNT(many), TETHER_EVENT_TERMINATE, 1000);
    assert_tether_err(tether_token_attach(t, d.child, &bad, 1), TETHER_EINVAL);
    assert_tether_err(tether_token_attach(t, d.child, NULL, 3), TETHER_EINVAL);
    /* The limit and the checks of tether_child_stop() (one engine,
     * core/stop.c; test_spawn: test_bad_input). */
    assert_tether_err(tether_token_attach(t, d.child, &negative, 1), TETHER_EINVAL);
    assert_tether_err(tether_token_attach(t, d.child, many, TT_COUNT(many)), TETHER_EINVAL);
    assert_tether_ok(tether_token_attach(t, d.child, many, TETHER_STOP_MAX_STEPS));
    tether_child_free(d.child); /* leaves the token */
    run_start(&d, "sleeper", "plain", NULL);
    /* Freed while owned: it leaves the token first. */
    assert_tether_ok(tether_token_attach(t, d.child, NULL, 0));
    tether_child_free(d.child);
  }
  assert_int_equal(tether_token_wait_stopped(t, 0), 0); /* not cancelled */
  /* c leaves the token before the cancellation: not stopped by it. */
  tether_child_free(c.child);
  t0 = tether_now_ns();
  assert_tether_ok(tether_token_cancel(t, 0, "stop"));
  assert_int_equal(tether_token_wait_stopped(t, 20000), 1);
  ms = (unsigned)((tether_now_ns() - t0) / 1000000u);
  print_message("[   INFO   ] two trees stopped in %u ms\n", ms);
  sa = run_end(&a, 1000);
  sb = run_end(&b, 1000);
#ifdef _WIN32
  /* Neither Ctrl+C nor WM_CLOSE reaches a console child sharing this
   * console: both steps pass at once and the trees are killed. */
  assert_int_equal(sa.kind, TETHER_STATUS_KILLED);
  assert_int_equal(sb.kind, TETHER_STATUS_KILLED);
  assert_true(ms < 5000);
#else
  expect_signal(&sa, SIGINT);  /* the first step */
  expect_signal(&sb, SIGTERM); /* ignored SIGINT: the second step */
  assert_true(ms >= 2500);     /* b waited for the first step's 3 s */
  assert_true(ms < 9000);      /* in parallel, not one after the other */
#endif
  /* Attached to a cancelled token: stopped at once. */
  {
    run e;
    tether_status se;
    run_start(&e, "sleeper", "plain", NULL);
    run_expect(&e, "ready", 10000);
    assert_tether_ok(tether_token_attach(k, e.child, NULL, 0));
    assert_int_equal(tether_token_wait_stopped(t, 20000), 1);
    se = run_end(&e, 1000);
#ifdef _WIN32
    assert_int_equal(se.kind, TETHER_STATUS_KILLED);
#else
    expect_signal(&se, SIGINT);
#endif
  }
  tether_token_free(k);
  tether_token_free(t);
}

/* ------------------------------------------------------------------------ */
/* The policy, from a parent process                                        */
/* ------------------------------------------------------------------------ */

static void test_policy_bad_input(void **state) {
  tether_shutdown_options o;
  tether_shutdown *s, *s2;
  (void)state;
  assert_tether_err(tether_shutdown_new(NULL, NULL), TETHER_EINVAL);
  tether_shutdown_options_init(&o, TETHER_SHUTDOWN_OPTIONS_VERSION);
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_CHILD);
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  assert_null(s);
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_RESIZE);
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  o.kinds = 1u << 20;
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  o.kinds = 0;
  o.force_count = -1;
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  o.force_count = 0;
  o.grace_ms = -5;
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  o.grace_ms = 0;
  o.flags = 0x80;
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  o.flags = TETHER_SHUTDOWN_SWALLOW;
  o.force_count = 3;
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_EINVAL);
  tether_shutdown_options_init(&o, TETHER_SHUTDOWN_OPTIONS_VERSION);
#ifdef _WIN32
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_USER1);
#else
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_LOGOFF);
#endif
  assert_tether_err(tether_shutdown_new(&s, &o), TETHER_ENOTSUP);
  /* One policy per process. */
  assert_tether_ok(tether_shutdown_new(&s, NULL));
  assert_tether_err(tether_shutdown_new(&s2, NULL), TETHER_EBUSY);
  assert_non_null(tether_shutdown_token(s));
  assert_null(tether_shutdown_token(NULL));
  assert_int_equal((int)tether_shutdown_time_left_ms(s), -1);
  assert_int_equal((int)tether_shutdown_time_left_ms(NULL), TETHER_EINVAL);
  assert_tether_ok(tether_shutdown_done(s)); /* nothing to acknowledge */
  assert_tether_err(tether_shutdown_done(NULL), TETHER_EINVAL);
  tether_shutdown_free(s);
  tether_shutdown_free(NULL);
  /* Freed: a new one may be made. */
  assert_tether_ok(tether_shutdown_new(&s, NULL));
  tether_shutdown_free(s);
  assert_tether_err(tether_main(NULL, NULL, NULL), TETHER_EINVAL);
}

/* First interrupt: graceful (the token's cause is that event, sender
 * included); second: the process dies at once, like the event. */
static void test_policy_second_forces(void **state) {
  run r;
  uint64_t t0;
  (void)state;
  run_policy(&r, "second");
#ifndef _WIN32
  {
    char want[96];
    run_kill(&r, SIGINT);
    snprintf(want, sizeof(want), "cancelled source 1 kind %d code %d pid %ld",
             TETHER_EVENT_INTERRUPT, SIGINT, (long)getpid());
    run_expect(&r, want, 10000);
  }
  run_expect(&r, "cleaning up", 10000);
#else
  run_expect(&r, "cancelled source 1 kind 1 code 0 pid -1", 10000);
#endif
  t0 = tether_now_ns();
  run_end_like_event(&r, SIGINT, 10000);
  assert_true((tether_now_ns() - t0) / 1000000u < 5000u); /* not the 20 s */
  assert_non_null(strstr(r.out, "action 1 kind 1"));      /* STARTED */
  assert_non_null(strstr(r.out, "action 3 kind 1"));      /* FORCED */
}

static void test_policy_grace_timer(void **state) {
  run r;
  tether_status st;
  uint64_t t0;
  unsigned ms;
  (void)state;
  run_policy(&r, "grace");
  t0 = tether_now_ns();
#ifndef _WIN32
  run_kill(&r, SIGTERM);
#endif
  run_expect(&r, "cleaning up", 10000);
  st = run_end(&r, 15000);
  ms = (unsigned)((tether_now_ns() - t0) / 1000000u);
  print_message("[   INFO   ] grace of 300 ms: ended after %u ms\n", ms);
#ifndef _WIN32
  expect_signal(&st, SIGTERM); /* like the first event */
#else
  expect_raw(&st, STATUS_CTRL_C);
#endif
  assert_true(ms >= 250);
  assert_true(ms < 8000);
  assert_non_null(strstr(r.out, "action 4")); /* GRACE_EXPIRED */
}

static void test_policy_swallow(void **state) {
  run r;
  tether_status st;
  (void)state;
  run_policy(&r, "swallow");
#ifndef _WIN32
  run_kill(&r, SIGINT);
  run_expect(&r, "cancelled", 10000);
  run_kill(&r, SIGINT);
  run_expect(&r, "action 2", 10000);
  run_kill(&r, SIGINT);
#endif
  st = run_end(&r, 30000);
  expect_code(&st, 0); /* finished its work: nothing forced it out */
  assert_non_null(strstr(r.out, "held through 2 repeats"));
  assert_null(strstr(r.out, "action 3"));
}

static void test_policy_force_on_first(void **state) {
  run r;
  (void)state;
  run_policy(&r, "force1");
  run_end_like_event(&r, SIGTERM, 10000);
  assert_null(strstr(r.out, "cleaning up"));
}

static void test_main_exit_status(void **state) {
  run r;
  tether_status st;
  (void)state;
  run_start(&r, "main", "plain", NULL);
  st = run_end(&r, 10000);
  expect_code(&st, 7);
  run_start(&r, "main", "program", NULL);
  st = run_end(&r, 10000);
  expect_code(&st, 9);
  assert_non_null(strstr(r.out, "cancelled source 2 kind 0 code 4 pid 0 reason work is done"));
  run_start(&r, "main", "event", NULL);
  run_expect(&r, "ready", 10000);
  run_end_like_event(&r, SIGINT, 10000); /* graceful, and the shell still sees SIGINT */
  assert_non_null(strstr(r.out, "cancelled source 1 kind 1"));
}

#ifndef _WIN32
/* Inherited SIG_IGN (a background job's SIGINT) is respected. */
static void test_policy_ignored_at_start(void **state) {
  int fds[2], st = 0;
  char buf[512];
  ssize_t n, len = 0;
  pid_t pid;
  (void)state;
  assert_int_equal(pipe(fds), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    signal(SIGINT, SIG_IGN);
    execl(tt_self(), tt_self(), "--child", "ignored", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
    len += n;
  buf[len] = '\0';
  close(fds[0]);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_non_null(strstr(buf, "explicit TETHER_EIGNORED"));
  assert_non_null(strstr(buf, "default TETHER_OK"));
  assert_non_null(strstr(buf, "survived SIGINT"));
}
#endif

#ifdef _WIN32
/* ------------------------------------------------------------------------ */
/* Windows close budget, through the console handler seam                   */
/* ------------------------------------------------------------------------ */

typedef struct handler_call {
  unsigned long ctrl;
  int result;
  uint64_t end_ns;
  HANDLE thread;
} handler_call;

static DWORD WINAPI handler_main(LPVOID arg) {
  handler_call *h = (handler_call *)arg;
  h->result = tether__win32_console_handler(h->ctrl);
  h->end_ns = tether_now_ns();
  return 0;
}

static void test_budget_done_releases(void **state) {
  tether_shutdown *s;
  tether_cause c;
  handler_call h;
  int64_t left1, left2;
  uint64_t done_ns;
  (void)state;
  assert_tether_ok(tether_shutdown_new(&s, NULL));
  assert_int_equal((int)tether_shutdown_time_left_ms(s), -1);
  memset(&h, 0, sizeof(h));
  h.ctrl = CTRL_CLOSE_EVENT;
  h.thread = CreateThread(NULL, 0, handler_main, &h, 0, NULL);
  assert_non_null(h.thread);
  assert_int_equal(tether_token_wait(tether_shutdown_token(s), 5000), 1);
  assert_int_equal(tether_token_cause(tether_shutdown_token(s), &c), 1);
  assert_int_equal(c.event.kind, TETHER_EVENT_HANGUP);
  assert_int_equal(c.event.code, CTRL_CLOSE_EVENT);
  left1 = tether_shutdown_time_left_ms(s);
  assert_true(left1 > 0 && left1 <= TETHER__WIN32_OS_TIMEOUT_MS);
  tt_sleep_ms(400);
  left2 = tether_shutdown_time_left_ms(s);
  print_message("[   INFO   ] time left %lld ms, 400 ms later %lld ms\n", (long long)left1,
                (long long)left2);
  assert_true(left2 < left1 - 200);
  /* Still blocked: Windows would not end the process yet. */
  assert_int_equal(WaitForSingleObject(h.thread, 0), WAIT_TIMEOUT);
  done_ns = tether_now_ns();
  assert_tether_ok(tether_shutdown_done(s));
  assert_int_equal(WaitForSingleObject(h.thread, 2000), WAIT_OBJECT_0);
  assert_int_equal(h.result, 1);
  assert_true((h.end_ns - done_ns) / 1000000u < 1000u);
  CloseHandle(h.thread);
  tether_shutdown_free(s);
}

/* Without "done", freeing the policy releases the handler too. */
static void test_budget_free_releases(void **state) {
  tether_shutdown *s;
  handler_call h;
  (void)state;
  assert_tether_ok(tether_shutdown_new(&s, NULL));
  memset(&h, 0, sizeof(h));
  h.ctrl = CTRL_LOGOFF_EVENT;
  h.thread = CreateThread(NULL, 0, handler_main, &h, 0, NULL);
  assert_int_equal(tether_token_wait(tether_shutdown_token(s), 5000), 1);
  assert_true(tether_shutdown_time_left_ms(s) > 0);
  assert_int_equal(WaitForSingleObject(h.thread, 200), WAIT_TIMEOUT);
  tether_shutdown_free(s);
  assert_int_equal(WaitForSingleObject(h.thread, 2000), WAIT_OBJECT_0);
  assert_int_equal(h.result, 1);
  CloseHandle(h.thread);
}
#endif

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {{"like-signal", sc_like_signal},
                                          {"like-kind", sc_like_kind},
                                          {"exit-with", sc_exit_with},
                                          {"policy", sc_policy},
                                          {"main", sc_main},
                                          {"sleeper", sc_sleeper},
#ifndef _WIN32
                                          {"ignored", sc_ignored},
#endif
                                          {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_helpers_bad_input),
#ifndef _WIN32
      cmocka_unit_test(test_exit_like_signal),
      cmocka_unit_test(test_exit_like_signal_fallback),
#endif
      cmocka_unit_test(test_exit_like_kind),
      cmocka_unit_test(test_exit_with),
      cmocka_unit_test(test_token_bad_input),
      cmocka_unit_test(test_token_cancel_and_cause),
      cmocka_unit_test(test_token_tree),
      cmocka_unit_test(test_token_handle_and_wait),
      cmocka_unit_test(test_token_owns_children),
      cmocka_unit_test(test_policy_bad_input),
      cmocka_unit_test(test_policy_second_forces),
      cmocka_unit_test(test_policy_grace_timer),
      cmocka_unit_test(test_policy_swallow),
      cmocka_unit_test(test_policy_force_on_first),
      cmocka_unit_test(test_main_exit_status),
#ifndef _WIN32
      cmocka_unit_test(test_policy_ignored_at_start),
#else
      cmocka_unit_test(test_budget_done_releases),
      cmocka_unit_test(test_budget_free_releases),
#endif
  };
#ifdef _WIN32
  /* Tethered children start with Ctrl+C ignored (CREATE_NEW_PROCESS_GROUP),
   * and tether's policy then leaves INTERRUPT out (TETHER_EIGNORED, as for
   * an inherited SIG_IGN). The scenarios stand for programs that take
   * Ctrl+C: they turn it on first, as such a program does. */
  if (argc >= 3 && strcmp(argv[1], "--child") == 0)
    SetConsoleCtrlHandler(NULL, FALSE);
#endif
  return tt_main(argc, argv, scenarios, "shutdown", tests, TT_COUNT(tests));
}
