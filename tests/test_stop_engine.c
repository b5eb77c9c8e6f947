/* SPDX-License-Identifier: MIT */
/*
 * The stop engine (core/stop.c) on a fake backend: core/stop.c and the
 * kind table (core/kinds.c) are compiled into this program alone, with the
 * five calls the engine makes to a child (signal, continue, kill, its exit
 * record, its tree) answered by a scripted tree, and time given by the test.
 * So every rule of a stop sequence (order, timeouts, skipped and failed
 * steps, the final kill, a tree that outlives its leader) is checked
 * exactly, without processes or sleeping. The real backends are checked
 * with real processes by test_spawn / test_spawn_win32 (tether_child_stop)
 * and test_shutdown (tokens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stop.h"

#define MS UINT64_C(1000000) /* ns per ms: the engine's clock is in ns */

/* How the fake tree answers an event. */
enum { IGNORE = 0, ALL_EXIT, LEADER_EXITS };

typedef struct fake_tree {
  int leader_alive;            /* the child itself runs */
  int leader_recorded;         /* its exit has been reported (wait says 1) */
  int others;                  /* other living processes of its tree */
  int stopped;                 /* stopped by job control */
  int restops;                 /* stops again at once when continued (a
                                  background reader's SIGTTIN), once */
  int pending;                 /* a kind signalled while stopped, not acted on */
  int on_kind[16];             /* IGNORE / ALL_EXIT / LEADER_EXITS per kind */
  int result[16];              /* a forced result of signalling that kind */
  int kill_result;             /* a forced result of the kill (0: it works) */
  int signalled_while_stopped; /* a signal sent while stopped (an error) */
  char log[128];               /* one letter per call: c continue, k kill,
                                  I/Q/T/H/1/2/R the kind signalled */
} fake_tree;

static fake_tree tree;
/* The engine only passes the child around: any object will do. */
static struct tether_child child_object;
static tether_child *const child = &child_object;

static void logc(char ch) {
  size_t n = strlen(tree.log);
  if (n + 1 < sizeof(tree.log))
    tree.log[n] = ch;
}

static void tree_exits(int how) {
  if (how == ALL_EXIT) {
    tree.leader_alive = 0;
    tree.others = 0;
  } else if (how == LEADER_EXITS) {
    tree.leader_alive = 0;
  }
}

static int tree_gone(void) { return !tree.leader_alive && tree.others == 0; }

/* ---- the backend calls the engine makes (core/stop.h, core/backend.h) ---- */

int tether__os_child_signal(tether_child *c, int kind) {
  static const char letters[] = "?IQTHLS12R";
  assert_ptr_equal(c, child);
  assert_true(kind > 0 && kind < (int)sizeof(letters) - 1);
  logc(letters[kind]);
  if (tree.result[kind] != 0)
    return tree.result[kind];
  if (tree_gone())
    return TETHER_ESRCH;
  if (tree.stopped) {
    /* Pending until the tree is continued. */
    tree.signalled_while_stopped = 1;
    tree.pending = kind;
    return 0;
  }
  tree_exits(tree.on_kind[kind]);
  return 0;
}

int tether__os_child_continue(tether_child *c) {
  int was = tree.stopped;
  assert_ptr_equal(c, child);
  logc('c');
  if (tree_gone())
    return TETHER_ESRCH;
  tree.stopped = 0;
  if (tree.pending != 0) {
    tree_exits(tree.on_kind[tree.pending]);
    tree.pending = 0;
  } else if (tree.restops) {
    tree.restops = 0;
    tree.stopped = 1;
  }
  return was;
}

int tether__child_kill(tether_child *c) {
  assert_ptr_equal(c, child);
  logc('k');
  if (tree.kill_result != 0)
    return tree.kill_result;
  if (tree_gone())
    return TETHER_ESRCH;
  tree_exits(ALL_EXIT);
  return 0;
}

int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  assert_ptr_equal(c, child);
  assert_int_equal(timeout_ms, 0); /* the engine never blocks */
  assert_null(st);
  /* The backend reports the leader's exit asynchronously: it shows here
   * one look after the leader died. */
  if (!tree.leader_alive && !tree.leader_recorded) {
    tree.leader_recorded = 1;
    return 0;
  }
  return tree.leader_recorded ? 1 : 0;
}

int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  assert_ptr_equal(c, child);
  assert_int_equal(timeout_ms, 0);
  return tree_gone() ? 1 : 0;
}

/* core/kinds.c's OS queries: tests/fake_kinds.c. The clock: the engine is
 * given the time, never reads it. */
uint64_t tether__now_ns(void) {
  fail_msg("%s", "the stop engine read the clock");
  return 0;
}

/* ---- helpers ---- */

static int setup(void **state) {
  (void)state;
  memset(&tree, 0, sizeof(tree));
  tree.leader_alive = 1;
  tree.others = 2;
  return 0;
}

/* Start a checked sequence. */
static void begin(tether__stop *s, const tether_stop_step *steps, size_t n) {
  assert_int_equal(tether__stop_steps(&steps, &n), 0);
  tether__stop_begin(s, child, steps, n);
}

/* Work at `ms` until the engine waits (for a deadline or the tree). */
static int work_at(tether__stop *s, uint64_t ms) { return tether__stop_work(s, ms * MS); }

/* ---- the sequence's checks ---- */

static void test_default_steps(void **state) {
  const tether_stop_step *steps = NULL;
  size_t n = 0;
  (void)state;
  assert_int_equal(tether__stop_steps(&steps, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(steps[0].kind, TETHER_EVENT_INTERRUPT);
  assert_int_equal(steps[0].timeout_ms, 5000);
  assert_int_equal(steps[1].kind, TETHER_EVENT_TERMINATE);
  assert_int_equal(steps[1].timeout_ms, 2000);
}

static void test_invalid_steps(void **state) {
  tether_stop_step many[TETHER_STOP_MAX_STEPS + 1];
  const tether_stop_step *steps;
  size_t n, i;
  static const int not_sendable[] = {TETHER_EVENT_LOGOFF,
                                     TETHER_EVENT_SHUTDOWN,
                                     TETHER_EVENT_RESIZE,
                                     TETHER_EVENT_CHILD,
                                     TETHER_EVENT_SIGNAL,
                                     -1,
                                     99};
  (void)state;
  for (i = 0; i < TETHER_STOP_MAX_STEPS + 1; i++) {
    many[i].kind = TETHER_EVENT_TERMINATE;
    many[i].timeout_ms = 1;
  }
  steps = many;
  n = TETHER_STOP_MAX_STEPS;
  assert_int_equal(tether__stop_steps(&steps, &n), 0);
  n = TETHER_STOP_MAX_STEPS + 1;
  assert_int_equal(tether__stop_steps(&steps, &n), TETHER_EINVAL);
  steps = NULL;
  n = 1;
  assert_int_equal(tether__stop_steps(&steps, &n), TETHER_EINVAL);
  steps = many;
  n = 1;
  many[0].timeout_ms = -1;
  assert_int_equal(tether__stop_steps(&steps, &n), TETHER_EINVAL);
  many[0].timeout_ms = 0;
  assert_int_equal(tether__stop_steps(&steps, &n), 0);
  for (i = 0; i < sizeof(not_sendable) / sizeof(not_sendable[0]); i++) {
    many[0].kind = not_sendable[i];
    assert_int_equal(tether__stop_steps(&steps, &n), TETHER_EINVAL);
  }
  many[0].kind = TETHER_KILL;
  assert_int_equal(tether__stop_steps(&steps, &n), 0);
}

/* The tree obeys the first step: no other step, no kill. */
static void test_obeys_first_step(void **state) {
  tether__stop s;
  (void)state;
  tree.on_kind[TETHER_EVENT_INTERRUPT] = ALL_EXIT;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_false(s.done); /* the leader's exit is reported a moment later */
  assert_int_equal(s.deadline, 5000 * MS);
  work_at(&s, 1);
  assert_true(s.done);
  assert_int_equal(s.step, 0);
  assert_false(s.killed);
  assert_int_equal(s.error, 0);
  assert_string_equal(tree.log, "cI");
}

/* Every step waits its full timeout, then the next one; then the kill. */
static void test_ignored_steps_then_kill(void **state) {
  tether__stop s;
  (void)state;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_string_equal(tree.log, "cI");
  work_at(&s, 4999);
  assert_string_equal(tree.log, "cI"); /* not before its time */
  assert_int_equal(s.step, 0);
  work_at(&s, 5000);
  assert_string_equal(tree.log, "cIcT");
  assert_int_equal(s.step, 1);
  assert_int_equal(s.deadline, 7000 * MS);
  work_at(&s, 6999);
  assert_false(s.killed);
  work_at(&s, 7000);
  assert_string_equal(tree.log, "cIcTk");
  assert_true(s.killed);
  assert_int_equal(s.step, 2); /* nsteps: the kill */
  work_at(&s, 7001);
  assert_true(s.done);
  assert_false(s.gave_up);
  assert_int_equal(s.error, 0);
}

/* A late call sends every step whose time has passed, at once. */
static void test_late_call_catches_up(void **state) {
  static const tether_stop_step steps[] = {
      {TETHER_EVENT_INTERRUPT, 10}, {TETHER_EVENT_TERMINATE, 10}, {TETHER_EVENT_HANGUP, 10}};
  tether__stop s;
  (void)state;
  begin(&s, steps, 3);
  work_at(&s, 0);
  work_at(&s, 1000);
  /* The first step's time ran out long ago: the next step is sent now,
   * and gets its full time from now (a late caller does not skip steps). */
  assert_string_equal(tree.log, "cIcT");
  assert_int_equal(s.deadline, 1010 * MS);
  work_at(&s, 1010);
  work_at(&s, 1020);
  assert_string_equal(tree.log, "cIcTcHk");
  assert_true(s.killed);
}

/* A step that cannot reach the tree (Windows: no console) is passed over
 * at once, without waiting and without an error. */
static void test_unsupported_step_skipped(void **state) {
  tether__stop s;
  (void)state;
  tree.result[TETHER_EVENT_INTERRUPT] = TETHER_ENOTSUP;
  tree.on_kind[TETHER_EVENT_TERMINATE] = ALL_EXIT;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_string_equal(tree.log, "cIcT");
  assert_int_equal(s.step, 1);
  assert_int_equal(s.deadline, 2000 * MS);
  work_at(&s, 1);
  assert_true(s.done);
  assert_int_equal(s.error, 0);
}

/* A step that fails for another reason is passed over at once too, and
 * its error is kept (the first one). */
static void test_failed_step_recorded(void **state) {
  tether__stop s;
  (void)state;
  tree.result[TETHER_EVENT_INTERRUPT] = TETHER_EPERM;
  tree.result[TETHER_EVENT_TERMINATE] = TETHER_EIO;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_string_equal(tree.log, "cIcTk");
  assert_true(s.killed);
  assert_int_equal(s.error, TETHER_EPERM);
  work_at(&s, 1);
  assert_true(s.done);
  assert_false(s.gave_up);
}

/* The final kill fails: over at once, the tree may still be there. */
static void test_failed_kill_gives_up(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_TERMINATE, 100}};
  tether__stop s;
  (void)state;
  tree.kill_result = TETHER_EPERM;
  begin(&s, steps, 1);
  work_at(&s, 0);
  work_at(&s, 100);
  assert_string_equal(tree.log, "cTk");
  assert_true(s.done);
  assert_true(s.gave_up);
  assert_int_equal(s.error, TETHER_EPERM);
}

/* The tree was already gone (ESRCH) when a step was sent: only its end is
 * awaited, nothing else is sent. */
static void test_gone_tree_only_awaited(void **state) {
  tether__stop s;
  (void)state;
  tree.leader_alive = 0;
  tree.others = 0;
  begin(&s, NULL, 0);
  work_at(&s, 0); /* the exit is reported one look later */
  assert_true(s.killed);
  assert_int_equal(s.error, 0);
  work_at(&s, 1);
  assert_true(s.done);
  assert_string_equal(tree.log, "cI");
}

/* The leader obeys, its descendants do not: the engine says "look again
 * soon" (nothing will notify) and keeps to the step's deadline. */
static void test_tree_outlives_leader(void **state) {
  tether__stop s;
  (void)state;
  tree.on_kind[TETHER_EVENT_INTERRUPT] = LEADER_EXITS;
  begin(&s, NULL, 0);
  assert_int_equal(work_at(&s, 0), 0); /* reported a moment later */
  assert_int_equal(work_at(&s, 1), 1);
  assert_false(s.done);
  tree.others = 0; /* the rest follows before the deadline */
  assert_int_equal(work_at(&s, 2), 0);
  assert_true(s.done);
  assert_string_equal(tree.log, "cI");
}

/* A kill step in the middle (TETHER_KILL) kills and waits its timeout
 * like any step; no continue is sent for it. */
static void test_kill_step(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_TERMINATE, 10}, {TETHER_KILL, 50}};
  tether__stop s;
  (void)state;
  tree.kill_result = 0;
  tree.others = 0;
  begin(&s, steps, 2);
  work_at(&s, 0);
  work_at(&s, 10);
  assert_string_equal(tree.log, "cTk");
  assert_int_equal(s.step, 1);
  assert_false(s.killed); /* a step, not the final kill */
  work_at(&s, 11);
  assert_true(s.done);
}

/* A tree stopped by job control is continued before each signal, so that
 * it can act on it (systemd does the same), and once more after it. */
static void test_stopped_tree_continued_first(void **state) {
  tether__stop s;
  (void)state;
  tree.stopped = 1;
  tree.on_kind[TETHER_EVENT_INTERRUPT] = ALL_EXIT;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  work_at(&s, 1);
  assert_true(s.done);
  assert_false(tree.signalled_while_stopped);
  assert_string_equal(tree.log, "cIc");
}

/* A stopped background reader stops again (SIGTTIN) as soon as it is
 * continued, before the signal arrives: the signal waits, pending, until
 * the engine continues the tree once more after sending it. Without that
 * it would sit out the step and be killed. */
static void test_restopped_tree_continued_after(void **state) {
  tether__stop s;
  (void)state;
  tree.stopped = 1;
  tree.restops = 1;
  tree.on_kind[TETHER_EVENT_INTERRUPT] = ALL_EXIT;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_true(tree.signalled_while_stopped);
  work_at(&s, 1);
  assert_true(s.done);
  assert_false(s.killed);
  assert_string_equal(tree.log, "cIc");
}

/* A tree that was not stopped gets no second SIGCONT: one that lands
 * while a process obeys and exits can disturb its exit. */
static void test_running_tree_continued_once(void **state) {
  tether__stop s;
  (void)state;
  tree.on_kind[TETHER_EVENT_INTERRUPT] = ALL_EXIT;
  begin(&s, NULL, 0);
  work_at(&s, 0);
  assert_string_equal(tree.log, "cI");
}

/* A zero timeout moves to the next step in the same call. */
static void test_zero_timeouts(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_INTERRUPT, 0},
                                           {TETHER_EVENT_TERMINATE, 0}};
  tether__stop s;
  (void)state;
  begin(&s, steps, 2);
  work_at(&s, 0);
  assert_string_equal(tree.log, "cIcTk");
  assert_true(s.killed);
  work_at(&s, 0);
  assert_true(s.done);
}

/* No steps: the kill at once. */
static void test_no_steps_kills(void **state) {
  static const tether_stop_step none[1] = {{TETHER_EVENT_INTERRUPT, 1}};
  tether__stop s;
  (void)state;
  begin(&s, none, 0);
  work_at(&s, 0);
  assert_string_equal(tree.log, "k");
  work_at(&s, 0);
  assert_true(s.done);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_steps),
      cmocka_unit_test(test_invalid_steps),
      cmocka_unit_test_setup(test_obeys_first_step, setup),
      cmocka_unit_test_setup(test_ignored_steps_then_kill, setup),
      cmocka_unit_test_setup(test_late_call_catches_up, setup),
      cmocka_unit_test_setup(test_unsupported_step_skipped, setup),
      cmocka_unit_test_setup(test_failed_step_recorded, setup),
      cmocka_unit_test_setup(test_failed_kill_gives_up, setup),
      cmocka_unit_test_setup(test_gone_tree_only_awaited, setup),
      cmocka_unit_test_setup(test_tree_outlives_leader, setup),
      cmocka_unit_test_setup(test_kill_step, setup),
      cmocka_unit_test_setup(test_stopped_tree_continued_first, setup),
      cmocka_unit_test_setup(test_restopped_tree_continued_after, setup),
      cmocka_unit_test_setup(test_running_tree_continued_once, setup),
      cmocka_unit_test_setup(test_zero_timeouts, setup),
      cmocka_unit_test_setup(test_no_steps_kills, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
