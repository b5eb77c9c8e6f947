/* SPDX-License-Identifier: MIT */
/*
 * The concurrency contract (include/tether.h "Threads, callbacks, fork"):
 * free/close while other threads wait, children handed out by CHILD events,
 * fork() without exec. Every blocking step has a watchdog: a hang fails the
 * test instead of stalling the suite.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "support.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Start this executable as a child running scenario `name`. */
static tether_child *spawn_self(const char *name, const tether_spawn_options *o) {
  const char *argv[7];
  tether_child *c = NULL;
  int attempt;
  tt_child_argv(argv, name, NULL, NULL, NULL);
  for (attempt = 0;; attempt++) {
    int r = tether_spawn(&c, argv, o);
    /* Wine 8 occasionally fails CreateProcessW with ERROR_INTERNAL_ERROR
     * (1359) while other Wine processes start (see test_cmdline): counted
     * and reported, never hidden; on Windows itself it does not happen. */
    if (r == TETHER_EUNKNOWN && tt_is_wine() && tether_last_os_error() == 1359 && attempt < 4) {
      print_message("[   INFO   ] Wine: CreateProcessW ERROR_INTERNAL_ERROR, retrying\n");
      tt_sleep_ms(50);
      continue;
    }
    assert_tether_ok(r);
    return c;
  }
}

/* Wait (bounded) until cond(arg) holds. */
static void wait_until(int (*cond)(void *), void *arg, const char *what) {
  int i;
  for (i = 0; i < 48000; i++) { /* 240 s; the watchdog is usually first */
    if (cond(arg))
      return;
    tt_sleep_ms(5);
  }
  fail_msg("timed out waiting until %s", what);
}

/* ------------------------------------------------------------------------ */
/* Child scenarios                                                          */
/* ------------------------------------------------------------------------ */

static int sc_exit0(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}

/* Ignores the graceful signals (POSIX): only the kill ends it. */
static int sc_stubborn(int argc, char **argv) {
  (void)argc;
  (void)argv;
#ifndef _WIN32
  (void)signal(SIGINT, SIG_IGN);
  (void)signal(SIGTERM, SIG_IGN);
#endif
  fputs("ready\n", stdout);
  fflush(stdout);
  tt_sleep_ms(60000);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* 1. A CHILD event never hands out a half-made child                       */
/* ------------------------------------------------------------------------ */

#ifdef _WIN32
#define SUPERVISED 100 /* each one a new process of this test under Wine */
#else
#define SUPERVISED 1000
#endif

static volatile int sup_freed;
static volatile int sup_no_pipe;

/* The supervisor pattern: free the child in its own exit event. */
static void sup_cb(tether_channel *ch, const tether_event *ev, void *userdata) {
  (void)ch;
  (void)userdata;
  if (ev->kind != TETHER_EVENT_CHILD || ev->child == NULL)
    return;
  if (tether_child_stdio(ev->child, 1) == tether_child_stdio(NULL, 0))
    (void)tether__add_int(&sup_no_pipe, 1);
  tether_child_free(ev->child);
  (void)tether__add_int(&sup_freed, 1);
}

static int sup_all_freed(void *arg) {
  (void)arg;
  return tether__load_int(&sup_freed) == SUPERVISED;
}

static void test_free_in_child_callback(void **state) {
  tether_channel_options co;
  tether_spawn_options so;
  tether_channel *ch;
  int i;
  (void)state;
  tether_channel_options_init(&co, TETHER_CHANNEL_OPTIONS_VERSION);
  co.callback = sup_cb;
  tt_child_channel(&ch, &co, &so);
  so.stdio[1].mode = TETHER_STDIO_PIPE;
  tt_watchdog_arm("spawn children freed by their exit callback", 240);
  for (i = 0; i < SUPERVISED; i++) {
#ifdef _WIN32
    (void)spawn_self("exit0", &so); /* owned by the callback from here on */
#else
    static const char *const argv[] = {"true", NULL};
    tether_child *c;
    assert_tether_ok(tether_spawn(&c, argv, &so)); /* the callback owns c */
#endif
  }
  wait_until(sup_all_freed, NULL, "every child was freed by the callback");
  tt_watchdog_disarm();
  assert_int_equal(tether__load_int(&sup_no_pipe), 0);
  tether_channel_free(ch);
}

/* ------------------------------------------------------------------------ */
/* 2. tether_child_free() while another thread waits                         */
/* ------------------------------------------------------------------------ */

typedef struct waiter {
  tether_child *c;
  int timeout_ms;
  int r;
  tether_status st;
  tether__thread *t;
} waiter;

static void waiter_main(void *arg) {
  waiter *w = (waiter *)arg;
  w->r = tether_child_wait(w->c, w->timeout_ms, &w->st);
}

static int child_has_users(void *arg) { return tether__child_users((tether_child *)arg) > 0; }

static void free_while_waiting(unsigned flags, int timeout_ms, int expect_r, int expect_kind) {
  tether_spawn_options so;
  waiter w;
  int64_t pid;
  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.flags = flags;
  memset(&w, 0, sizeof(w));
  w.c = spawn_self("sleep", &so);
  w.timeout_ms = timeout_ms;
  tt_watchdog_arm("tether_child_free() while another thread waits", 30);
  assert_tether_ok(tether__thread_start(&w.t, waiter_main, &w));
  wait_until(child_has_users, w.c, "the waiter is blocked");
  pid = tether_child_pid(w.c);
  tether_child_free(w.c); /* must wake the waiter and wait for it */
  tether__thread_join(w.t);
  tt_watchdog_disarm();
  if (flags & TETHER_SPAWN_DETACHED) /* it outlives its object */
    assert_tether_ok(tether_send(pid, TETHER_KILL, 0));
  assert_int_equal(w.r, expect_r);
  if (expect_r == 1)
    assert_int_equal(w.st.kind, expect_kind);
}

static void test_free_while_waiting_forever(void **state) {
  (void)state;
  free_while_waiting(0, -1, 1, TETHER_STATUS_KILLED);
}

static void test_free_while_waiting_timeout(void **state) {
  (void)state;
  /* Not "timeout": the tree was killed, and that is the status. */
  free_while_waiting(0, 15000, 1, TETHER_STATUS_KILLED);
}

static void test_free_detached_while_waiting(void **state) {
  (void)state;
  /* A detached child outlives its object: the waiter learns it was freed. */
  free_while_waiting(TETHER_SPAWN_DETACHED, -1, TETHER_ECLOSED, 0);
}

/* Many waiters, and tether_child_wait_tree() as well. */
static void tree_waiter_main(void *arg) {
  waiter *w = (waiter *)arg;
  w->r = tether_child_wait_tree(w->c, -1);
}

static int child_has_4_users(void *arg) { return tether__child_users((tether_child *)arg) == 4; }

static void test_free_with_many_waiters(void **state) {
  waiter w[4];
  tether_child *c;
  int i;
  (void)state;
  c = spawn_self("sleep", NULL);
  tt_watchdog_arm("tether_child_free() with four blocked calls", 30);
  for (i = 0; i < 4; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].c = c;
    w[i].timeout_ms = -1;
    assert_tether_ok(tether__thread_start(&w[i].t, i % 2 ? tree_waiter_main : waiter_main, &w[i]));
  }
  wait_until(child_has_4_users, c, "four calls are blocked");
  tether_child_free(c);
  for (i = 0; i < 4; i++)
    tether__thread_join(w[i].t);
  tt_watchdog_disarm();
  for (i = 0; i < 4; i++) {
    assert_int_equal(w[i].r, 1);
    if (i % 2 == 0)
      assert_int_equal(w[i].st.kind, TETHER_STATUS_KILLED);
  }
}

/* ------------------------------------------------------------------------ */
/* 3. tether_token_free() / tether_shutdown_free() while a thread waits      */
/* ------------------------------------------------------------------------ */

typedef struct tok_waiter {
  tether_token *t;
  int stopped; /* use tether_token_wait_stopped */
  int r;
  tether__thread *thr;
} tok_waiter;

static void tok_waiter_main(void *arg) {
  tok_waiter *w = (tok_waiter *)arg;
  w->r = w->stopped ? tether_token_wait_stopped(w->t, -1) : tether_token_wait(w->t, -1);
}

static int token_has_waiter(void *arg) { return tether__token_waiters((tether_token *)arg) > 0; }

static void test_token_free_while_waiting(void **state) {
  tok_waiter w;
  (void)state;
  memset(&w, 0, sizeof(w));
  assert_tether_ok(tether_token_new(&w.t, NULL));
  tt_watchdog_arm("tether_token_free() while another thread waits", 30);
  assert_tether_ok(tether__thread_start(&w.thr, tok_waiter_main, &w));
  wait_until(token_has_waiter, w.t, "the waiter is blocked");
  tether_token_free(w.t);
  tether__thread_join(w.thr);
  tt_watchdog_disarm();
  assert_int_equal(w.r, TETHER_ECLOSED);
}

static void test_token_free_while_waiting_stopped(void **state) {
#ifdef _WIN32
  (void)state;
  tt_skip("a graceful step cannot hold a Windows child that shares no console");
#else
  tether_stop_step slow = {TETHER_EVENT_INTERRUPT, 30000};
  tok_waiter w;
  tether_child *c;
  (void)state;
  memset(&w, 0, sizeof(w));
  w.stopped = 1;
  assert_tether_ok(tether_token_new(&w.t, NULL));
  {
    tether_spawn_options so;
    char buf[8];
    tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
    so.stdio[1].mode = TETHER_STDIO_PIPE;
    c = spawn_self("stubborn", &so);
    /* Its signals are ignored once it says so. */
    tt_read_line((int)tether_child_stdio(c, 1), buf, sizeof(buf));
    assert_string_equal(buf, "ready");
  }
  assert_tether_ok(tether_token_attach(w.t, c, &slow, 1));
  assert_tether_ok(tether_token_cancel(w.t, 1, "test"));
  tt_watchdog_arm("tether_token_free() while another thread waits for the stop", 30);
  assert_tether_ok(tether__thread_start(&w.thr, tok_waiter_main, &w));
  wait_until(token_has_waiter, w.t, "the waiter is blocked");
  tether_token_free(w.t); /* the 30 s step is abandoned */
  tether__thread_join(w.thr);
  tether_child_free(c);
  tt_watchdog_disarm();
  assert_int_equal(w.r, TETHER_ECLOSED);
#endif
}

static void test_shutdown_free_while_waiting(void **state) {
  tether_shutdown *s;
  tok_waiter w;
  (void)state;
  memset(&w, 0, sizeof(w));
  assert_tether_ok(tether_shutdown_new(&s, NULL));
  w.t = tether_shutdown_token(s);
  tt_watchdog_arm("tether_shutdown_free() while another thread waits on its token", 30);
  assert_tether_ok(tether__thread_start(&w.thr, tok_waiter_main, &w));
  wait_until(token_has_waiter, w.t, "the waiter is blocked");
  tether_shutdown_free(s);
  tether__thread_join(w.thr);
  tt_watchdog_disarm();
  assert_int_equal(w.r, TETHER_ECLOSED);
}

/* ------------------------------------------------------------------------ */
/* 4. fork() without exec                                                   */
/* ------------------------------------------------------------------------ */

#ifndef _WIN32
static void noop_cb(tether_channel *ch, const tether_event *ev, void *userdata) {
  (void)ch;
  (void)ev;
  (void)userdata;
}

static int close_channels(void *arg) {
  tether_channel **ch = (tether_channel **)arg;
  /* The callback thread and the blocked waiter stayed in the parent. */
  if (tether_channel_close(ch[0]) != 0 || tether_channel_close(ch[1]) != 0)
    return 1;
  tether_channel_free(ch[0]);
  tether_channel_free(ch[1]);
  return 0;
}

typedef struct ch_waiter {
  tether_channel *ch;
  int r;
  tether__thread *t;
} ch_waiter;

static void ch_waiter_main(void *arg) {
  ch_waiter *w = (ch_waiter *)arg;
  tether_event ev;
  w->r = tether_channel_wait(w->ch, &ev, -1);
}

static void test_fork_close_inherited_channels(void **state) {
  tether_channel_options co;
  tether_channel *ch[2];
  ch_waiter w;
  (void)state;
  tether_channel_options_init(&co, TETHER_CHANNEL_OPTIONS_VERSION);
  co.callback = noop_cb;
  assert_tether_ok(tether_channel_new(&ch[0], &co));
  assert_tether_ok(tether_channel_watch(ch[0], TETHER_EVENT_USER1, 0));
  assert_tether_ok(tether_channel_new(&ch[1], NULL));
  assert_tether_ok(tether_channel_watch(ch[1], TETHER_EVENT_USER2, 0));
  memset(&w, 0, sizeof(w));
  w.ch = ch[1];
  assert_tether_ok(tether__thread_start(&w.t, ch_waiter_main, &w));
  tt_sleep_ms(50); /* let it block (either way the child must not hang) */
  tt_in_forked_child(close_channels, ch, "closing inherited channels in a forked child");
  assert_tether_ok(tether_channel_close(ch[1])); /* the parent's waiter: ECLOSED */
  tether__thread_join(w.t);
  assert_int_equal(w.r, TETHER_ECLOSED);
  tether_channel_free(ch[1]);
  tether_channel_free(ch[0]);
}

typedef struct inherited {
  tether_child *c;
  tether_token *t;
} inherited;

static int use_inherited(void *arg) {
  inherited *in = (inherited *)arg;
  tether_status st;
  /* Nothing here will ever see the parent's child end. */
  if (tether_child_wait(in->c, 0, &st) != TETHER_ECLOSED)
    return 2;
  if (tether_child_kill(in->c) != TETHER_ECLOSED)
    return 3;
  tether_child_free(in->c); /* forgets it: must not touch the process */
  tether_token_free(in->t); /* its stop thread is the parent's */
  return 0;
}

static void test_fork_inherited_child_and_token(void **state) {
  inherited in;
  tether_stop_step slow = {TETHER_EVENT_INTERRUPT, 30000};
  tether_child *spare;
  tether_status st;
  (void)state;
  assert_tether_ok(tether_token_new(&in.t, NULL));
  in.c = spawn_self("sleep", NULL);
  {
    tether_spawn_options quiet;
    tether_spawn_options_init(&quiet, TETHER_SPAWN_OPTIONS_VERSION);
    quiet.stdio[1].mode = TETHER_STDIO_NULL;
    spare = spawn_self("stubborn", &quiet);
  }
  assert_tether_ok(tether_token_attach(in.t, spare, &slow, 1));
  assert_tether_ok(tether_token_cancel(in.t, 1, "stop thread busy at fork"));
  tt_in_forked_child(use_inherited, &in, "inherited child and token in a forked child");
  /* The parent's child was not touched by the forked child's free. */
  assert_int_equal(tether_child_wait(in.c, 0, &st), 0);
  tether_child_free(in.c);
  tether_token_free(in.t);
  tether_child_free(spare);
}

/* fork() while other threads are inside tether: the child finds no lock
 * held (the one fork handler takes them all in prepare). */
static volatile int churn_stop;

static void churn_main(void *arg) {
  (void)arg;
  while (!tether__load_int(&churn_stop)) {
    tether_channel *ch;
    tether_token *t;
    if (tether_channel_new(&ch, NULL) == 0) {
      (void)tether_channel_watch(ch, TETHER_EVENT_USER1, 0);
      tether_channel_free(ch);
    }
    if (tether_token_new(&t, NULL) == 0) {
      (void)tether_token_cancel(t, 1, NULL);
      tether_token_free(t);
    }
  }
}

static int use_everything(void *arg) {
  tether_channel *ch;
  tether_token *t;
  tether_child *c;
  static const char *const argv[] = {"true", NULL};
  tether_status st;
  (void)arg;
  if (tether_channel_new(&ch, NULL) != 0 || tether_channel_watch(ch, TETHER_EVENT_USER1, 0) != 0)
    return 2;
  tether_channel_free(ch);
  if (tether_token_new(&t, NULL) != 0)
    return 3;
  tether_token_free(t);
  if (tether_spawn(&c, argv, NULL) != 0 || tether_child_wait(c, 5000, &st) != 1)
    return 4;
  tether_child_free(c);
  return 0;
}

static void test_fork_while_threads_use_tether(void **state) {
  tether__thread *t[2];
  int i;
  (void)state;
#if defined(__SANITIZE_THREAD__)
  tt_skip("ThreadSanitizer ends a child that starts threads after a "
          "multi-threaded fork (die_after_fork); the native lanes run this");
#elif defined(__SANITIZE_ADDRESS__)
  /* Seen: 1 hang in 3 runs under gcc 12's ASan, 0 in 5 native runs (100
   * forks): this ASan runtime takes no allocator lock around fork(), so a
   * fork while another thread is in malloc leaves the child's malloc locked. */
  tt_skip("gcc 12's AddressSanitizer allocator is not fork-safe while other "
          "threads allocate; the native lanes run this");
#endif
  (void)tether__add_int(&churn_stop, -tether__load_int(&churn_stop));
  for (i = 0; i < 2; i++)
    assert_tether_ok(tether__thread_start(&t[i], churn_main, NULL));
  for (i = 0; i < 20; i++)
    tt_in_forked_child(use_everything, NULL, "tether in a child forked from a busy process");
  (void)tether__add_int(&churn_stop, 1);
  for (i = 0; i < 2; i++)
    tether__thread_join(t[i]);
}
#else
static void test_fork_close_inherited_channels(void **state) {
  (void)state;
  tt_skip("no fork() on Windows");
}
static void test_fork_inherited_child_and_token(void **state) {
  (void)state;
  tt_skip("no fork() on Windows");
}
static void test_fork_while_threads_use_tether(void **state) {
  (void)state;
  tt_skip("no fork() on Windows");
}
#endif

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"exit0", sc_exit0}, {"sleep", tt_child_sleep}, {"stubborn", sc_stubborn}, {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_free_in_child_callback, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_free_while_waiting_forever, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_free_while_waiting_timeout, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_free_detached_while_waiting, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_free_with_many_waiters, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_token_free_while_waiting, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_token_free_while_waiting_stopped, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_shutdown_free_while_waiting, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_fork_close_inherited_channels, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_fork_inherited_child_and_token, tt_watchdog_teardown),
      cmocka_unit_test_teardown(test_fork_while_threads_use_tether, tt_watchdog_teardown),
  };
  return tt_main(argc, argv, scenarios, "concurrency", tests, TT_COUNT(tests));
}
