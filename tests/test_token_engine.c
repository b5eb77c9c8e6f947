/* SPDX-License-Identifier: MIT */
/*
 * Cancellation tokens (core/token.c) on a fake backend: core/token.c, the
 * stop engine (core/stop.c) and the kind table (core/kinds.c) are compiled
 * into this program alone.
 *
 * The tokens' threads (the stop thread of each cancelled token, and this
 * test's own) are real threads, but the fake scheduler (tests/fake_sched.c)
 * lets exactly one of them run at a time, switches only where a thread
 * waits or ends, and moves a virtual clock only when every thread waits:
 * straight to the earliest deadline or scripted exit. The children are scripted trees that exit at
 * given virtual times, and their exits reach the token as the backend's
 * exit watcher reports them (tether__token_child_exited). So a token tree's
 * cancellation, the stop thread's rounds (every owned tree at once, woken by
 * an exit, a tree that outlives its leader looked at after 1, 2, 4 ... 50
 * ms), waits and their timeouts are checked to the millisecond without
 * sleeping, and a wait that would never end ends the test with a message
 * instead of hanging it. test_shutdown checks the same tokens with
 * real processes and real clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "fake_sched.h"
#include "stop.h" /* tether__child_kill, tether__child_wait */

/* ------------------------------------------------------------------------ */
/* Scripted trees                                                           */
/* ------------------------------------------------------------------------ */

/* What a tree does when it gets a kind. */
enum { IGNORES = 0, EXITS, LEADER_EXITS };

typedef struct tree {
  struct tether_child c; /* what the core sees; first */
  int used;
  int leader_alive, others_alive;
  uint64_t leader_exit_at, others_exit_at; /* scheduled, or FS_NEVER */
  int how[16];                             /* per kind: IGNORES / EXITS / LEADER_EXITS */
  unsigned after_ms[16];                   /* ... this long after it gets it */
  int pause_in_signal;                     /* the next signal pauses (fs_pause_here) */
  struct tree *ends_when_signalled;        /* this other tree's exit is reported in the
                                              middle of a signal to this one */
  char log[512];                           /* "<ms><letter> " per call */
} tree;

#define MAX_TREES 8
static tree trees[MAX_TREES];

static int in_signal; /* a thread is paused inside tether__os_child_signal */

static tree *tree_of(tether_child *c) {
  tree *t = (tree *)(void *)c;
  if (t < trees || t >= trees + MAX_TREES || !t->used)
    fs_report("the core passed a child that is not one of the test's (%p)", (void *)c);
  return t;
}

static void tree_log(tree *t, char what) {
  size_t n = strlen(t->log);
  snprintf(t->log + n, sizeof(t->log) - n, "%llu%c ", (unsigned long long)fs_now_ms(), what);
}

/* A new tree: a leader and other processes, all running. */
static tree *tree_new(void) {
  int i;
  for (i = 0; i < MAX_TREES && trees[i].used; i++) {
  }
  assert_true(i < MAX_TREES);
  memset(&trees[i], 0, sizeof(trees[i]));
  trees[i].used = 1;
  trees[i].leader_alive = trees[i].others_alive = 1;
  trees[i].leader_exit_at = trees[i].others_exit_at = FS_NEVER;
  return &trees[i];
}

static void tree_react(tree *t, int kind, int how, unsigned after_ms) {
  t->how[kind] = how;
  t->after_ms[kind] = after_ms;
}

static void schedule_exit(tree *t, int how, uint64_t at) {
  if ((how == EXITS || how == LEADER_EXITS) && t->leader_alive && at < t->leader_exit_at)
    t->leader_exit_at = at;
  if (how == EXITS && t->others_alive && at < t->others_exit_at)
    t->others_exit_at = at;
}

static uint64_t tree_next_event(void) {
  uint64_t next = FS_NEVER;
  int i;
  for (i = 0; i < MAX_TREES; i++) {
    if (!trees[i].used)
      continue;
    if (trees[i].leader_alive && trees[i].leader_exit_at < next)
      next = trees[i].leader_exit_at;
    if (trees[i].others_alive && trees[i].others_exit_at < next)
      next = trees[i].others_exit_at;
  }
  return next;
}

/* Exits that are due (from the scheduler): the backend's exit watcher
 * reports a leader's exit to the core, which tells the token. */
static void tree_fire_events(void) {
  uint64_t now = tether__now_ns();
  int i;
  for (i = 0; i < MAX_TREES; i++) {
    tree *t = &trees[i];
    if (!t->used)
      continue;
    if (t->others_alive && t->others_exit_at <= now)
      t->others_alive = 0;
    if (t->leader_alive && t->leader_exit_at <= now) {
      t->leader_alive = 0;
      t->c.exited = 1;
      tether__token_child_exited(&t->c);
    }
  }
}

static int tree_gone(const tree *t) { return !t->leader_alive && !t->others_alive; }

/* ---- the calls the stop engine makes (core/stop.h, core/backend.h) ---- */

int tether__os_child_signal(tether_child *c, int kind) {
  static const char letters[] = "?IQTHLS12R";
  tree *t = tree_of(c);
  uint64_t at;
  tree_log(t, kind > 0 && kind < (int)sizeof(letters) - 1 ? letters[kind] : '?');
  if (t->pause_in_signal) {
    t->pause_in_signal = 0;
    in_signal = 1;
    fs_pause_here();
    in_signal = 0;
  }
  if (t->ends_when_signalled != NULL) {
    /* The backend's exit watcher reports another tree's exit while the
     * stop thread is in the middle of its round, without the lock. */
    tree *o = t->ends_when_signalled;
    t->ends_when_signalled = NULL;
    o->leader_alive = o->others_alive = 0;
    o->c.exited = 1;
    tether__token_child_exited(&o->c);
  }
  if (tree_gone(t))
    return TETHER_ESRCH;
  at = tether__now_ns() + (uint64_t)t->after_ms[kind] * FS_MS;
  schedule_exit(t, t->how[kind], at);
  return 0;
}

int tether__os_child_continue(tether_child *c) {
  tree *t = tree_of(c);
  return tree_gone(t) ? TETHER_ESRCH : 0; /* never stopped here */
}

int tether__child_kill(tether_child *c) {
  tree *t = tree_of(c);
  tree_log(t, 'k');
  if (tree_gone(t))
    return TETHER_ESRCH;
  schedule_exit(t, EXITS, tether__now_ns());
  return 0;
}

int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  tree *t = tree_of(c);
  if (timeout_ms != 0 || st != NULL)
    fs_report("%s", "the stop engine waited for a child");
  return t->leader_alive ? 0 : 1;
}

/* Each look at the tree is logged ('w'): the lingering rhythm shows. */
int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  tree *t = tree_of(c);
  if (timeout_ms != 0)
    fs_report("%s", "the stop engine waited for a tree");
  if (!t->leader_alive)
    tree_log(t, 'w');
  return tree_gone(t) ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Set-up, teardown, helpers                                                */
/* ------------------------------------------------------------------------ */

static int setup(void **state) {
  fs_setup(state);
  fs_set_events(tree_next_event, tree_fire_events);
  memset(trees, 0, sizeof(trees));
  in_signal = 0;
  return 0;
}

static tether_token *token(tether_token *parent) {
  tether_token *t = NULL;
  assert_int_equal(tether_token_new(&t, parent), 0);
  return t;
}

static void attach(tether_token *t, tree *tr, const tether_stop_step *steps, size_t n) {
  assert_int_equal(tether_token_attach(t, &tr->c, steps, n), 0);
}

static void expect_log(const tree *t, const char *want) {
  if (strcmp(t->log, want) != 0)
    fail_msg("tree log '%s', expected '%s'", t->log, want);
}

static const tether_stop_step int_then_term[] = {{TETHER_EVENT_INTERRUPT, 3000},
                                                 {TETHER_EVENT_TERMINATE, 2000}};

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* A cancellation reaches every token below, each with the cause, marked
 * inherited, and a copy of the reason; a token made below a cancelled one
 * is cancelled at once; a second cancel is TETHER_ECANCELED. */
static void test_tree_cancel(void **state) {
  tether_token *root = token(NULL), *mid = token(root), *leaf = token(mid), *late;
  tether_cause c;
  (void)state;
  assert_int_equal(tether_token_cancelled(leaf), 0);
  assert_int_equal(tether_token_cancel(mid, 7, "stop"), 0);
  assert_int_equal(tether_token_cancelled(root), 0); /* upwards: nothing */
  assert_int_equal(tether_token_cancelled(mid), 1);
  assert_int_equal(tether_token_cause(leaf, &c), 1);
  assert_int_equal(c.source, TETHER_CAUSE_PROGRAM);
  assert_int_equal(c.code, 7);
  assert_int_equal(c.inherited, 1);
  assert_string_equal(c.reason, "stop");
  assert_int_equal(tether_token_cause(mid, &c), 1);
  assert_int_equal(c.inherited, 0);
  late = token(leaf);
  assert_int_equal(tether_token_cause(late, &c), 1);
  assert_int_equal(c.inherited, 1);
  assert_string_equal(c.reason, "stop");
  assert_int_equal(tether_token_cancel(leaf, 1, NULL), TETHER_ECANCELED);
  /* The root, cancelled later, does not overwrite the causes below. */
  assert_int_equal(tether_token_cancel(root, 9, "later"), 0);
  assert_int_equal(tether_token_cause(leaf, &c), 1);
  assert_int_equal(c.code, 7);
  assert_int_equal(fs_threads_started(), 0); /* no token owns a child */
  tether_token_free(late);
  tether_token_free(leaf);
  tether_token_free(mid);
  tether_token_free(root);
}

/* Waits end at their timeout to the millisecond, at once when cancelled;
 * a cancel by another thread ends a wait at that moment. */
static void test_wait_times(void **state) {
  tether_token *t = token(NULL);
  uint64_t t0 = fs_now_ms();
  (void)state;
  assert_int_equal(tether_token_wait(t, 0), 0);
  assert_int_equal(fs_now_ms(), t0);
  assert_int_equal(tether_token_wait(t, 250), 0);
  assert_int_equal(fs_now_ms(), t0 + 250);
  assert_int_equal(tether_token_wait_stopped(t, 100), 0); /* not cancelled: at once */
  assert_int_equal(fs_now_ms(), t0 + 250);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait(t, 10000), 1);
  assert_int_equal(tether_token_wait_stopped(t, 10000), 1); /* owns nothing */
  assert_int_equal(fs_now_ms(), t0 + 250);
  tether_token_free(t);
}

/* Every owned tree gets each step at once: the one that obeys the first
 * step ends, the one that ignores it gets the second 3 s later, then the
 * kill 2 s after that; wait_stopped returns when the last is gone. */
static void test_trees_in_parallel(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new(), *b = tree_new(), *c = tree_new();
  uint64_t t0;
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, EXITS, 10);
  tree_react(b, TETHER_EVENT_TERMINATE, EXITS, 20);
  /* c ignores everything. */
  attach(t, a, int_then_term, 2);
  attach(t, b, int_then_term, 2);
  attach(t, c, int_then_term, 2);
  t0 = fs_now_ms();
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(fs_threads_started(), 1); /* one stop thread per token */
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  assert_int_equal(fs_now_ms() - t0, 5000); /* c: killed at 3000 + 2000 */
  expect_log(a, "1000I 1010w ");
  expect_log(b, "1000I 4000T 4020w ");
  expect_log(c, "1000I 4000T 6000k 6000w ");
  tether_token_free(t);
}

/* The stop thread sleeps until the next deadline or an owned child's exit:
 * an exit in the middle of a step's 3 s is seen when it happens. */
static void test_exit_wakes_stop_thread(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new();
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, EXITS, 1234);
  attach(t, a, int_then_term, 2);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  expect_log(a, "1000I 2234w ");
  assert_int_equal(fs_now_ms(), 2234);
  tether_token_free(t);
}

/* A tree whose leader exits while others live on sends no notification:
 * the stop thread looks after 1, 2, 4 ... ms, at most every 50 ms. */
static void test_lingering_tree_looked_at(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new();
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, LEADER_EXITS, 0);
  attach(t, a, int_then_term, 2);
  /* The rest of the tree ends 200 ms after the leader. */
  a->others_exit_at = 1200 * FS_MS;
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  /* At 1000 the signal; the leader's exit wakes the thread at once (a
   * look), then 1, 2, 4, 8, 16, 32 ms later, then every 50 ms. */
  expect_log(a, "1000I 1000w 1001w 1003w 1007w 1015w 1031w 1063w 1113w 1163w 1213w ");
  tether_token_free(t);
}

/* An exit reported while the stop thread is in the middle of a round
 * (after it looked at that tree, without the lock) is not lost: the thread
 * looks again at once instead of sleeping until the next deadline. */
static void test_exit_during_round(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new(), *b = tree_new();
  (void)state;
  attach(t, b, int_then_term, 2); /* the round looks at a, then at b */
  attach(t, a, int_then_term, 2);
  b->ends_when_signalled = a; /* both ignore the interrupt */
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  fs_run_others();
  expect_log(a, "1000I 1000w ");
  expect_log(b, "1000I ");
  tether_token_free(t);
}

/* Attached to a token already cancelled: its stop starts at once. */
static void test_attach_after_cancel(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new(), *b = tree_new();
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, EXITS, 5);
  tree_react(b, TETHER_EVENT_INTERRUPT, EXITS, 5);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(fs_threads_started(), 0); /* owns nothing yet */
  attach(t, a, int_then_term, 2);
  assert_int_equal(fs_threads_started(), 1);
  fs_run_others();
  expect_log(a, "1000I ");
  /* A second one while the thread still waits for the first. */
  attach(t, b, int_then_term, 2);
  assert_int_equal(fs_threads_started(), 1);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  expect_log(a, "1000I 1005w ");
  expect_log(b, "1000I 1005w ");
  tether_token_free(t);
}

/* A child freed while owned leaves its token: nothing is sent to it. */
static void test_disowned_child_left_alone(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new(), *b = tree_new();
  (void)state;
  tree_react(b, TETHER_EVENT_INTERRUPT, EXITS, 0);
  attach(t, a, int_then_term, 2);
  attach(t, b, int_then_term, 2);
  tether__token_disown(&a->c);
  assert_null(a->c.owner);
  assert_int_equal(tether_token_attach(t, &b->c, NULL, 0), TETHER_EINVAL); /* owned twice */
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  expect_log(a, "");
  expect_log(b, "1000I 1000w ");
  tether_token_free(t);
}

/* tether_child_free() of an owned child while the stop thread is inside a
 * backend call for it (without the lock): the free waits until the call is
 * over before it takes the child out of the token. */
static void test_disown_waits_for_busy(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new();
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, EXITS, 100);
  a->pause_in_signal = 1;
  attach(t, a, int_then_term, 2);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  fs_run_others(); /* the stop thread pauses inside the interrupt's call */
  assert_int_equal(in_signal, 1);
  tether__token_disown(&a->c);
  assert_int_equal(in_signal, 0);
  assert_int_equal(fs_now_ms(), 1000); /* woken when the call ended, not later */
  assert_null(a->c.owner);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1); /* owns nothing now */
  tether_token_free(t);
}

/* Cancelled from the parent: every token below stops its own trees, with
 * its own steps, in parallel. */
static void test_subtree_stops(void **state) {
  static const tether_stop_step term_only[] = {{TETHER_EVENT_TERMINATE, 500}};
  tether_token *root = token(NULL), *kid = token(root);
  tree *a = tree_new(), *b = tree_new();
  (void)state;
  attach(root, a, int_then_term, 2); /* ignores everything */
  attach(kid, b, term_only, 1);      /* ignores it too */
  assert_int_equal(tether_token_cancel(root, 0, NULL), 0);
  assert_int_equal(fs_threads_started(), 2);
  /* The parent's wait_stopped covers the subtree. */
  assert_int_equal(tether_token_wait_stopped(root, 60000), 1);
  expect_log(a, "1000I 4000T 6000k 6000w ");
  expect_log(b, "1000T 1500k 1500w ");
  assert_int_equal(tether_token_wait_stopped(kid, 0), 1);
  tether_token_free(kid);
  tether_token_free(root);
}

/* No thread for the stop: the cancel says so, and an attachment to a
 * cancelled token that nobody would stop is refused, not kept. */
static void test_thread_start_fails(void **state) {
  tether_token *t = token(NULL), *u = token(NULL);
  tree *a = tree_new(), *b = tree_new();
  (void)state;
  tree_react(a, TETHER_EVENT_INTERRUPT, EXITS, 0);
  attach(t, a, int_then_term, 2);
  fs_fail_thread_starts(1);
  assert_int_equal(tether_token_cancel(t, 0, NULL), TETHER_ENOMEM);
  assert_int_equal(tether_token_cancelled(t), 1); /* cancelled all the same */
  expect_log(a, "");
  assert_int_equal(tether_token_cancel(u, 0, NULL), 0);
  fs_fail_thread_starts(1);
  assert_int_equal(tether_token_attach(u, &b->c, NULL, 0), TETHER_ENOMEM);
  assert_null(b->c.owner);
  tether_token_free(u);
  tether_token_free(t);
}

/* Closed while its stop thread waits for a step's deadline: the close
 * ends the thread, waiters get TETHER_ECLOSED, nothing more is sent. */
static void test_close_during_stop(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new();
  (void)state;
  attach(t, a, int_then_term, 2);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  fs_run_others(); /* the interrupt is sent; the thread sleeps until 4000 */
  expect_log(a, "1000I ");
  assert_int_equal(fs_threads_alive(), 1);
  assert_int_equal(tether_token_close(t), 0);
  assert_int_equal(fs_threads_alive(), 0); /* the close ended the stop thread */
  assert_int_equal(fs_now_ms(), 1000);     /* without waiting for the steps */
  assert_int_equal(tether_token_wait(t, 10), TETHER_ECLOSED);
  assert_null(a->c.owner);
  fs_run_others();
  expect_log(a, "1000I ");
  tether_token_free(t);
}

/* Made before a fork(): in the child its stop thread and waiters are not
 * there, and closing it does not wait for them. */
static void test_fork_inherited(void **state) {
  tether_token *t = token(NULL);
  tree *a = tree_new();
  (void)state;
  attach(t, a, int_then_term, 2);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  fs_run_others();           /* the parent's stop thread waits for 4000 */
  fs_set_fork_generation(2); /* as in the child of a fork() */
  assert_int_equal(tether_token_close(t), 0);
  assert_int_equal(fs_now_ms(), 1000);
  fs_set_fork_generation(1); /* back in the parent: its thread ends on the close */
  fs_run_others();
  tether_token_free(t);
}

int main(void) {
#define T(f) FS_TEST(f, setup)
  const struct CMUnitTest tests[] = {T(test_tree_cancel),
                                     T(test_wait_times),
                                     T(test_trees_in_parallel),
                                     T(test_exit_wakes_stop_thread),
                                     T(test_lingering_tree_looked_at),
                                     T(test_exit_during_round),
                                     T(test_attach_after_cancel),
                                     T(test_disowned_child_left_alone),
                                     T(test_disown_waits_for_busy),
                                     T(test_subtree_stops),
                                     T(test_thread_start_fails),
                                     T(test_close_during_stop),
                                     T(test_fork_inherited)};
#undef T
  return FS_RUN("test_token_engine", tests);
}
