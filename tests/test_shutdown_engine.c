/* SPDX-License-Identifier: MIT */
/*
 * The shutdown policy (core/shutdown.c) on a fake backend: the policy with
 * its token (core/token.c, core/stop.c, core/kinds.c), compiled into this
 * program alone. Its channel is a fake of this file that delivers scripted
 * events at given virtual times and records acknowledgements; its thread
 * runs on the fake scheduler (tests/fake_sched.c: real threads, one at a
 * time, a virtual clock); the process's exit is recorded and ends only the
 * policy thread. So the first event, the forcing one, the grace timer, the
 * swallowing policy and the acknowledgements Windows waits for are checked
 * to the millisecond without sleeping. test_shutdown checks the same
 * policy in real processes, with real signals and the real exit.
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
/* The fake channel: scripted deliveries, recorded acknowledgements          */
/* ------------------------------------------------------------------------ */

#define MAX_EVENTS 8

typedef struct delivery {
  uint64_t at; /* virtual ns; FS_NEVER once delivered */
  tether_event ev;
} delivery;

struct tether_channel {
  int closed;
  unsigned watched;     /* TETHER_KIND_BIT() of the kinds watched */
  int watch_result[16]; /* a forced result of watching that kind */
  delivery script[MAX_EVENTS];
  tether_event queue[MAX_EVENTS];
  int nqueue;
  tether__mutex *lock;   /* for the fake condition's wait */
  tether__cond *arrived; /* a delivery, or the close */
  char acks[256];        /* "<ms>:<kind> " per tether_channel_ack() */
};

static struct tether_channel chan;
static int chan_made, chan_freed;

static uint64_t chan_next_event(void) {
  uint64_t next = FS_NEVER;
  int i;
  for (i = 0; i < MAX_EVENTS; i++)
    if (chan.script[i].at < next)
      next = chan.script[i].at;
  return next;
}

/* Due deliveries of watched kinds join the queue, as a signal handler's
 * doorbell would make them readable. */
static void chan_fire_events(void) {
  uint64_t now = tether__now_ns();
  int i, any = 0;
  for (i = 0; i < MAX_EVENTS; i++) {
    delivery *d = &chan.script[i];
    if (d->at > now)
      continue;
    d->at = FS_NEVER;
    if (!chan_made || chan_freed || !(chan.watched & TETHER_KIND_BIT(d->ev.kind)))
      continue;
    d->ev.time_ns = now;
    chan.queue[chan.nqueue++] = d->ev;
    any = 1;
  }
  if (any)
    tether__cond_broadcast(chan.arrived);
}

/* Deliver kind at ms (virtual), coalesced from `count` deliveries, with
 * `left_ms` before the OS ends the process (-1: no such deadline). */
static void deliver(uint64_t ms, int kind, uint64_t count, int64_t left_ms) {
  int i;
  for (i = 0; i < MAX_EVENTS && chan.script[i].at != FS_NEVER; i++) {
  }
  assert_true(i < MAX_EVENTS);
  memset(&chan.script[i].ev, 0, sizeof(chan.script[i].ev));
  chan.script[i].at = ms * FS_MS;
  chan.script[i].ev.kind = kind;
  chan.script[i].ev.code = 100 + kind;
  chan.script[i].ev.native = "FAKE";
  chan.script[i].ev.count = count;
  chan.script[i].ev.pid = -1;
  chan.script[i].ev.uid = -1;
  chan.script[i].ev.time_left_ms = left_ms;
}

int tether_channel_new(tether_channel **out, const tether_channel_options *opts) {
  if (opts != NULL || (chan_made && !chan_freed))
    fs_report("%s", "the policy made a second channel, or one with options");
  chan_made = 1;
  chan_freed = 0;
  chan.closed = 0;
  chan.watched = 0;
  chan.nqueue = 0;
  chan.acks[0] = '\0';
  if (tether__mutex_new(&chan.lock) < 0 || tether__cond_new(&chan.arrived) < 0)
    return TETHER_ENOMEM;
  *out = &chan;
  return 0;
}

int tether_channel_watch(tether_channel *ch, int kind, unsigned flags) {
  if (flags != 0)
    fs_report("watch flags %u", flags);
  if (ch->watch_result[kind] != 0)
    return ch->watch_result[kind];
  ch->watched |= TETHER_KIND_BIT(kind);
  return 0;
}

int tether_channel_wait(tether_channel *ch, tether_event *ev, int timeout_ms) {
  uint64_t until = timeout_ms < 0 ? FS_NEVER : tether__now_ns() + (uint64_t)timeout_ms * FS_MS;
  int r;
  tether__mutex_lock(ch->lock);
  for (;;) {
    uint64_t now = tether__now_ns();
    if (ch->closed) {
      r = TETHER_ECLOSED;
      break;
    }
    if (ch->nqueue > 0) {
      *ev = ch->queue[0];
      memmove(ch->queue, ch->queue + 1, (size_t)--ch->nqueue * sizeof(ch->queue[0]));
      r = 1;
      break;
    }
    if (now >= until) {
      r = 0;
      break;
    }
    (void)tether__cond_wait(ch->arrived, ch->lock,
                            until == FS_NEVER ? -1 : (int)((until - now + FS_MS - 1) / FS_MS));
  }
  tether__mutex_unlock(ch->lock);
  return r;
}

int tether_channel_ack(tether_channel *ch, const tether_event *ev) {
  size_t n = strlen(ch->acks);
  snprintf(ch->acks + n, sizeof(ch->acks) - n, "%llu:%d ", (unsigned long long)fs_now_ms(),
           ev->kind);
  return 0;
}

int tether_channel_close(tether_channel *ch) {
  ch->closed = 1;
  tether__cond_broadcast(ch->arrived);
  return 0;
}

void tether_channel_free(tether_channel *ch) {
  if (ch == NULL)
    return;
  ch->closed = 1;
  tether__cond_free(ch->arrived);
  tether__mutex_free(ch->lock);
  chan_freed = 1;
}

/* ------------------------------------------------------------------------ */
/* The process's exit, and calls the policy never makes here                 */
/* ------------------------------------------------------------------------ */

static char exits[128]; /* "<ms>:<kind>:<code> " per exit */

/* The process would end here: record it and end the policy thread. */
void tether__os_exit_now(int kind, int code) {
  size_t n = strlen(exits);
  snprintf(exits + n, sizeof(exits) - n, "%llu:%d:%d ", (unsigned long long)fs_now_ms(), kind,
           code);
  fs_thread_exit();
}

static void not_here(const char *what) { fs_report("the policy called %s", what); }
int tether_exit_like_signal(int signo) {
  (void)signo;
  not_here("tether_exit_like_signal");
  return TETHER_ENOTSUP;
}
int tether_exit_like_kind(int kind) {
  (void)kind;
  not_here("tether_exit_like_kind");
  return TETHER_ENOTSUP;
}
/* The policy's token owns no child: the stop engine's calls never come. */
int tether__os_child_signal(tether_child *c, int kind) {
  (void)c;
  (void)kind;
  not_here("tether__os_child_signal");
  return TETHER_ESRCH;
}
int tether__os_child_continue(tether_child *c) {
  (void)c;
  not_here("tether__os_child_continue");
  return TETHER_ESRCH;
}
int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  (void)c;
  (void)timeout_ms;
  not_here("tether__os_child_wait_tree");
  return 1;
}
int tether__child_kill(tether_child *c) {
  (void)c;
  not_here("tether__child_kill");
  return TETHER_ESRCH;
}
int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  (void)c;
  (void)timeout_ms;
  (void)st;
  not_here("tether__child_wait");
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Set-up and helpers                                                       */
/* ------------------------------------------------------------------------ */

static char notes[256]; /* "<ms><S|R|F|G>:<kind> " per notification */

static void notify(int action, const tether_event *ev, void *userdata) {
  static const char letters[] = "?SRFG";
  size_t n = strlen(notes);
  (void)userdata;
  snprintf(notes + n, sizeof(notes) - n, "%llu%c:%d ", (unsigned long long)fs_now_ms(),
           action > 0 && action < 5 ? letters[action] : '?', ev->kind);
}

static int setup(void **state) {
  int i;
  fs_setup(state);
  memset(&chan, 0, sizeof(chan));
  for (i = 0; i < MAX_EVENTS; i++)
    chan.script[i].at = FS_NEVER;
  chan_made = chan_freed = 0;
  exits[0] = notes[0] = '\0';
  fs_set_events(chan_next_event, chan_fire_events);
  return 0;
}

static tether_shutdown *policy(int force_count, int grace_ms, unsigned flags) {
  tether_shutdown_options o = TETHER_SHUTDOWN_OPTIONS_INIT;
  tether_shutdown *s = NULL;
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_INTERRUPT) | TETHER_KIND_BIT(TETHER_EVENT_TERMINATE) |
            TETHER_KIND_BIT(TETHER_EVENT_HANGUP);
  o.force_count = force_count;
  o.grace_ms = grace_ms;
  o.flags = flags;
  o.notify = notify;
  assert_int_equal(tether_shutdown_new(&s, &o), 0);
  return s;
}

static void expect(const char *what, const char *got, const char *want) {
  if (strcmp(got, want) != 0)
    fail_msg("%s '%s', expected '%s'", what, got, want);
}

/* The cause of the policy's token: its kind, or 0 when not cancelled. */
static int cause_kind(tether_shutdown *s) {
  tether_cause c;
  int r = tether_token_cause(tether_shutdown_token(s), &c);
  return r == 1 ? c.event.kind : r;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* The first event starts the shutdown (the token's cause), the second
 * forces the exit, like itself, when it is read. */
static void test_first_starts_second_forces(void **state) {
  tether_shutdown *s = policy(0, 0, 0);
  (void)state;
  deliver(1500, TETHER_EVENT_INTERRUPT, 1, -1);
  deliver(2500, TETHER_EVENT_TERMINATE, 1, -1);
  assert_int_equal(cause_kind(s), 0);
  fs_sleep_until_ms(2000);
  expect("notes", notes, "1500S:1 ");
  assert_int_equal(cause_kind(s), TETHER_EVENT_INTERRUPT);
  expect("exits", exits, "");
  fs_sleep_until_ms(3000);
  expect("notes", notes, "1500S:1 2500F:3 ");
  expect("exits", exits, "2500:3:103 ");
  assert_int_equal(fs_threads_alive(), 0);
  tether_shutdown_free(s);
}

/* The grace timer ends the process like the first event, grace_ms after
 * it was read, to the millisecond. */
static void test_grace_timer(void **state) {
  tether_shutdown *s = policy(0, 300, 0);
  (void)state;
  deliver(1500, TETHER_EVENT_TERMINATE, 1, -1);
  fs_sleep_until_ms(1799);
  expect("exits", exits, "");
  fs_sleep_until_ms(5000);
  expect("notes", notes, "1500S:3 1800G:3 ");
  expect("exits", exits, "1800:3:103 ");
  tether_shutdown_free(s);
}

/* SWALLOW: repeated events are reported and never force. */
static void test_swallow(void **state) {
  tether_shutdown *s = policy(0, 0, TETHER_SHUTDOWN_SWALLOW);
  (void)state;
  deliver(1500, TETHER_EVENT_INTERRUPT, 1, -1);
  deliver(1600, TETHER_EVENT_INTERRUPT, 3, -1);
  deliver(1700, TETHER_EVENT_TERMINATE, 1, -1);
  fs_sleep_until_ms(60000);
  expect("notes", notes, "1500S:1 1600R:1 1700R:3 ");
  expect("exits", exits, "");
  assert_int_equal(fs_threads_alive(), 1);
  tether_shutdown_free(s); /* the close ends the thread */
  assert_int_equal(fs_threads_alive(), 0);
}

/* force_count 1: the first event forces; the token is not cancelled (no
 * clean-up starts that could not finish). */
static void test_force_on_first(void **state) {
  tether_shutdown *s = policy(1, 0, 0);
  (void)state;
  deliver(1500, TETHER_EVENT_INTERRUPT, 1, -1);
  fs_sleep_until_ms(2000);
  expect("notes", notes, "1500F:1 ");
  expect("exits", exits, "1500:1:101 ");
  assert_int_equal(cause_kind(s), 0);
  tether_shutdown_free(s);
}

/* Two Ctrl+C coalesced before the thread read them are two: the first
 * read forces (the second Ctrl+C is not lost). */
static void test_coalesced_events_count(void **state) {
  tether_shutdown *s = policy(0, 0, 0);
  (void)state;
  deliver(1500, TETHER_EVENT_INTERRUPT, 2, -1);
  fs_sleep_until_ms(2000);
  expect("notes", notes, "1500F:1 ");
  expect("exits", exits, "1500:1:101 ");
  tether_shutdown_free(s);
}

/* Events the OS waits for (a console close's 5 s) are acknowledged by
 * tether_shutdown_done(), each once, others never; the time left counts
 * down from the first such event. */
static void test_acknowledgements(void **state) {
  tether_shutdown *s = policy(0, 0, TETHER_SHUTDOWN_SWALLOW);
  (void)state;
  assert_int_equal(tether_shutdown_time_left_ms(s), -1);
  deliver(1500, TETHER_EVENT_HANGUP, 1, 5000);
  deliver(1600, TETHER_EVENT_INTERRUPT, 1, -1);
  deliver(1700, TETHER_EVENT_TERMINATE, 1, 2000);
  fs_sleep_until_ms(2700);
  assert_int_equal(tether_shutdown_time_left_ms(s), 3800);
  expect("acks", chan.acks, "");
  assert_int_equal(tether_shutdown_done(s), 0);
  expect("acks", chan.acks, "2700:4 2700:3 ");
  fs_sleep_until_ms(3000);
  assert_int_equal(tether_shutdown_done(s), 0); /* nothing left to acknowledge */
  expect("acks", chan.acks, "2700:4 2700:3 ");
  fs_sleep_until_ms(9000);
  assert_int_equal(tether_shutdown_time_left_ms(s), 0); /* never negative */
  tether_shutdown_free(s);
}

/* One policy per process; after the free, another may be made. */
static void test_one_policy(void **state) {
  tether_shutdown *s = policy(0, 0, 0), *t = NULL;
  (void)state;
  assert_int_equal(tether_shutdown_new(&t, NULL), TETHER_EBUSY);
  assert_null(t);
  tether_shutdown_free(s);
  assert_int_equal(fs_threads_alive(), 0);
  s = policy(0, 0, 0);
  tether_shutdown_free(s);
}

/* The default kinds leave out what this process cannot get (ENOTSUP) and
 * what was ignored at start (EIGNORED); kinds asked for explicitly do
 * not, and the failed policy leaves no trace. */
static void test_watch_errors(void **state) {
  tether_shutdown_options o = TETHER_SHUTDOWN_OPTIONS_INIT;
  tether_shutdown *s = NULL;
  (void)state;
  chan.watch_result[TETHER_EVENT_HANGUP] = TETHER_EIGNORED;
  chan.watch_result[TETHER_EVENT_LOGOFF] = TETHER_ENOTSUP;
  assert_int_equal(tether_shutdown_new(&s, &o), 0);
  assert_int_equal(chan.watched, TETHER_KIND_BIT(TETHER_EVENT_INTERRUPT) |
                                     TETHER_KIND_BIT(TETHER_EVENT_TERMINATE) |
                                     TETHER_KIND_BIT(TETHER_EVENT_SHUTDOWN));
  tether_shutdown_free(s);
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_INTERRUPT) | TETHER_KIND_BIT(TETHER_EVENT_HANGUP);
  assert_int_equal(tether_shutdown_new(&s, &o), TETHER_EIGNORED);
  assert_null(s);
  assert_int_equal(fs_threads_alive(), 0);
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_INTERRUPT);
  assert_int_equal(tether_shutdown_new(&s, &o), 0);
  tether_shutdown_free(s);
}

/* No thread for the policy: the error, and no policy left behind. */
static void test_thread_start_fails(void **state) {
  tether_shutdown *s = NULL;
  (void)state;
  fs_fail_thread_starts(1);
  assert_int_equal(tether_shutdown_new(&s, NULL), TETHER_ENOMEM);
  assert_null(s);
  s = policy(0, 0, 0);
  tether_shutdown_free(s);
}

int main(void) {
#define T(f) FS_TEST(f, setup)
  const struct CMUnitTest tests[] = {T(test_first_starts_second_forces),
                                     T(test_grace_timer),
                                     T(test_swallow),
                                     T(test_force_on_first),
                                     T(test_coalesced_events_count),
                                     T(test_acknowledgements),
                                     T(test_one_policy),
                                     T(test_watch_errors),
                                     T(test_thread_start_fails)};
#undef T
  return FS_RUN("test_shutdown_engine", tests);
}
