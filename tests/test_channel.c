/* SPDX-License-Identifier: MIT */
/*
 * Channel core tests, on every lane. Events are injected through the core's
 * delivery seam (tether__deliver), the same function the POSIX signal
 * handler and the Windows console handler call, so routing, coalescing,
 * sender data, multiple channels, callbacks and closing are tested without
 * depending on what an OS can generate. OS-generated events are tested in
 * test_signals (POSIX) and test_console (Windows).
 */
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "support.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

static void deliver_child(int times) {
  int i;
  for (i = 0; i < times; i++)
    tether__deliver(TETHER__SRC_CHILD, 4242, 1000);
}

static void test_bad_input(void **state) {
  tether_channel *ch = NULL;
  tether_event ev;
  (void)state;
  assert_tether_err(tether_channel_new(NULL, NULL), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(NULL, TETHER_EVENT_INTERRUPT, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch_signal(NULL, 2, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_unwatch(NULL, TETHER_EVENT_INTERRUPT), TETHER_EINVAL);
  assert_tether_err(tether_channel_unwatch_signal(NULL, 2), TETHER_EINVAL);
  assert_tether_err(tether_channel_wait(NULL, &ev, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_poll(NULL, &ev), TETHER_EINVAL);
  assert_tether_err(tether_channel_ack(NULL, &ev), TETHER_EINVAL);
  assert_tether_err(tether_channel_close(NULL), TETHER_EINVAL);
#ifdef _WIN32
  assert_null(tether_channel_handle(NULL));
#else
  assert_int_equal(tether_channel_handle(NULL), -1);
#endif

  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_err(tether_channel_wait(ch, NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_ack(ch, NULL), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(ch, 0, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(ch, -3, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(ch, TETHER_EVENT_SIGNAL + 1, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(ch, 1000, 0), TETHER_EINVAL);
  /* SIGNAL is only watched by number. */
  assert_tether_err(tether_channel_watch(ch, TETHER_EVENT_SIGNAL, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0x80), TETHER_EINVAL);
  assert_tether_err(tether_channel_unwatch(ch, 77), TETHER_EINVAL);
  /* Unwatching something never watched is fine. */
  assert_tether_ok(tether_channel_unwatch(ch, TETHER_EVENT_CHILD));

  assert_tether_ok(tether_channel_close(ch));
  /* Closed: every call says so; double close too. */
  assert_tether_err(tether_channel_close(ch), TETHER_ECLOSED);
  assert_tether_err(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0), TETHER_ECLOSED);
  assert_tether_err(tether_channel_unwatch(ch, TETHER_EVENT_CHILD), TETHER_ECLOSED);
  assert_tether_err(tether_channel_wait(ch, &ev, 0), TETHER_ECLOSED);
  assert_tether_err(tether_channel_wait(ch, &ev, 50), TETHER_ECLOSED);
  assert_tether_err(tether_channel_ack(ch, &ev), TETHER_ECLOSED);
#ifdef _WIN32
  assert_null(tether_channel_handle(ch));
#else
  assert_int_equal(tether_channel_handle(ch), -1);
#endif
  tether_channel_free(ch);
  tether_channel_free(NULL);
}

static void test_coalescing_and_payload(void **state) {
  tether_channel *ch;
  tether_event ev;
  uint64_t before;
  (void)state;
  assert_tether_ok(tether_channel_new(&ch, NULL));
  /* Deliveries before watching are not reported. */
  deliver_child(3);
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0)); /* again */
  assert_int_equal(tether_channel_poll(ch, &ev), 0);

  before = tether_now_ns();
  deliver_child(5);
  memset(&ev, 0xA5, sizeof(ev)); /* the room for later fields is zeroed */
  assert_int_equal(tether_channel_wait(ch, &ev, 1000), 1);
  assert_true(ev.reserved[0] == 0 && ev.reserved[TT_COUNT(ev.reserved) - 1] == 0);
  assert_true(ev.exit.reserved[0] == 0 && ev.exit.reserved[TT_COUNT(ev.exit.reserved) - 1] == 0);
  assert_int_equal(ev.kind, TETHER_EVENT_CHILD);
  assert_string_equal(ev.native, "child");
  assert_int_equal(ev.count, 5);
  assert_int_equal(ev.pid, 4242);
  assert_int_equal(ev.uid, 1000);
  assert_true(ev.time_ns >= before && ev.time_ns <= tether_now_ns());
  assert_int_equal(ev.time_left_ms, -1);
  /* Nothing more. */
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  /* Unknown sender. */
  tether__deliver(TETHER__SRC_CHILD, TETHER__UNKNOWN_ID, TETHER__UNKNOWN_ID);
  assert_int_equal(tether_channel_poll(ch, &ev), 1);
  assert_int_equal(ev.count, 1);
  assert_int_equal(ev.pid, -1);
  assert_int_equal(ev.uid, -1);
  /* After unwatch, deliveries are dropped; after re-watch only new ones. */
  deliver_child(2);
  assert_tether_ok(tether_channel_unwatch(ch, TETHER_EVENT_CHILD));
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  deliver_child(2);
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  deliver_child(1);
  assert_int_equal(tether_channel_poll(ch, &ev), 1);
  assert_int_equal(ev.count, 1);
  /* ack of an event that needs none: 0, nothing happens. */
  assert_tether_ok(tether_channel_ack(ch, &ev));
  tether_channel_free(ch);
}

static void test_timeout(void **state) {
  tether_channel *ch;
  tether_event ev;
  uint64_t t0, dt;
  (void)state;
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  t0 = tether_now_ns();
  assert_int_equal(tether_channel_wait(ch, &ev, 100), 0);
  dt = tether_now_ns() - t0;
  /* Generous bounds: it waited, and it did not hang. */
  assert_true(dt >= 90000000u);
  assert_true(dt < 5000000000u);
  tether_channel_free(ch);
}

static void test_many_channels_each_get_every_event(void **state) {
  enum { N = 8 };
  tether_channel *ch[N];
  tether_event ev;
  int i;
  (void)state;
  for (i = 0; i < N; i++) {
    assert_tether_ok(tether_channel_new(&ch[i], NULL));
    assert_tether_ok(tether_channel_watch(ch[i], TETHER_EVENT_CHILD, 0));
  }
  deliver_child(2);
  for (i = 0; i < N; i++) {
    assert_int_equal(tether_channel_poll(ch[i], &ev), 1);
    assert_int_equal(ev.count, 2);
    assert_int_equal(tether_channel_poll(ch[i], &ev), 0);
  }
  /* Closing some does not disturb the others. */
  for (i = 0; i < N; i += 2)
    tether_channel_free(ch[i]);
  deliver_child(1);
  for (i = 1; i < N; i += 2) {
    assert_int_equal(tether_channel_poll(ch[i], &ev), 1);
    assert_int_equal(ev.count, 1);
  }
  for (i = 1; i < N; i += 2)
    tether_channel_free(ch[i]);
}

static void test_channel_limit(void **state) {
  enum { MAX = 200 };
  tether_channel **ch = (tether_channel **)calloc(MAX, sizeof(*ch));
  int i, n = 0, r = 0;
  (void)state;
  assert_non_null(ch);
  for (i = 0; i < MAX; i++) {
    r = tether_channel_new(&ch[i], NULL);
    if (r < 0)
      break;
    n++;
  }
  /* The documented limit is 128 channels per process. */
  assert_int_equal(n, 128);
  assert_tether_err(r, TETHER_ELIMIT);
  assert_null(ch[n]);
  tether_channel_free(ch[0]);
  assert_tether_ok(tether_channel_new(&ch[0], NULL));
  for (i = 0; i < n; i++)
    tether_channel_free(ch[i]);
  free(ch);
}

static void test_handle_level_triggered(void **state) {
  tether_channel *ch;
  tether_event ev;
  tether_os_handle h;
  (void)state;
  assert_tether_ok(tether_channel_new(&ch, NULL));
  h = tether_channel_handle(ch);
#ifdef _WIN32
  assert_non_null(h);
#else
  assert_true(h >= 0);
#endif
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
#ifdef _WIN32
  /* A second source: INTERRUPT through the same seam (CTRL_C_EVENT's
   * source is 0 on Windows). */
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, 0));
#else
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_USER1, 0));
#endif
  assert_false(tt_handle_ready(h, 0));
  deliver_child(1);
#ifdef _WIN32
  tether__deliver(0, -1, -1);
#else
  {
    int src;
    assert_tether_ok(tether__os_kind_sources(TETHER_EVENT_USER1, &src, 1));
    tether__deliver(src, -1, -1);
  }
#endif
  assert_true(tt_handle_ready(h, 1000));
  assert_int_equal(tether_channel_poll(ch, &ev), 1);
  /* One more pending: the handle must still be ready. */
  assert_true(tt_handle_ready(h, 0));
  assert_int_equal(tether_channel_poll(ch, &ev), 1);
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  assert_false(tt_handle_ready(h, 0));
  tether_channel_free(ch);
}

/* Two pending sources in different words of the watch mask (a low source
 * and the child source, 127) are served round robin, across the wrap. */
static void test_round_robin(void **state) {
  tether_channel *ch;
  tether_event ev;
  int low, i, last = -1;
  (void)state;
#ifdef _WIN32
  low = 0; /* CTRL_C_EVENT */
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, 0));
#else
  assert_tether_ok(tether__os_kind_sources(TETHER_EVENT_USER1, &low, 1));
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_USER1, 0));
#endif
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  for (i = 0; i < 6; i++) {
    /* Both pending every time: the kind served must alternate. */
    tether__deliver(low, -1, -1);
    tether__deliver(TETHER__SRC_CHILD, -1, -1);
    assert_int_equal(tether_channel_poll(ch, &ev), 1);
    if (last >= 0)
      assert_int_not_equal(ev.kind, last);
    last = ev.kind;
    /* Take the other one too; then nothing is left. */
    assert_int_equal(tether_channel_poll(ch, &ev), 1);
    assert_int_not_equal(ev.kind, last);
    last = ev.kind;
    assert_int_equal(tether_channel_poll(ch, &ev), 0);
  }
  tether_channel_free(ch);
}

/* ---- threads ---- */

/* Shared between the callback thread and the test: atomics only. */
typedef struct cb_state {
  volatile int calls;
  volatile uint64_t total;
  volatile int other_thread;
#ifdef _WIN32
  DWORD main_tid;
#else
  pthread_t main_tid;
#endif
  int close_in_callback;
  int free_in_callback;
} cb_state;

static void on_event(tether_channel *ch, const tether_event *ev, void *ud) {
  cb_state *s = (cb_state *)ud;
#ifdef _WIN32
  int other = GetCurrentThreadId() != s->main_tid;
#else
  int other = !pthread_equal(pthread_self(), s->main_tid);
#endif
  tether__add_int(&s->other_thread, other - tether__load_int(&s->other_thread));
  tether__add64(&s->total, ev->count);
  if (s->close_in_callback)
    (void)tether_channel_close(ch);
  if (s->free_in_callback)
    tether_channel_free(ch);
  tether__add_int(&s->calls, 1);
}

static void init_cb_state(cb_state *s) {
  memset(s, 0, sizeof(*s));
#ifdef _WIN32
  s->main_tid = GetCurrentThreadId();
#else
  s->main_tid = pthread_self();
#endif
}

static int wait_calls(cb_state *s, int n) {
  int i;
  for (i = 0; i < 500 && tether__load_int(&s->calls) < n; i++)
    tt_sleep_ms(10);
  return tether__load_int(&s->calls) >= n;
}

static void test_callback_mode(void **state) {
  tether_channel *ch;
  tether_channel_options opts;
  tether_event ev;
  cb_state s;
  (void)state;
  init_cb_state(&s);
  tether_channel_options_init(&opts, TETHER_CHANNEL_OPTIONS_VERSION);
  opts.callback = on_event;
  opts.userdata = &s;
  assert_tether_ok(tether_channel_new(&ch, &opts));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  assert_tether_err(tether_channel_wait(ch, &ev, 0), TETHER_EBUSY);
  deliver_child(1);
  assert_true(wait_calls(&s, 1));
  assert_true(tether__load_int(&s.other_thread));
  deliver_child(1);
  assert_true(wait_calls(&s, 2));
  assert_int_equal(tether__load64(&s.total), 2);
  tether_channel_free(ch); /* joins the callback thread */
}

static void test_close_and_free_from_callback(void **state) {
  tether_channel *ch;
  tether_channel_options opts;
  cb_state s;
  (void)state;
  /* close() inside the callback, free() afterwards from here. */
  init_cb_state(&s);
  s.close_in_callback = 1;
  tether_channel_options_init(&opts, TETHER_CHANNEL_OPTIONS_VERSION);
  opts.callback = on_event;
  opts.userdata = &s;
  assert_tether_ok(tether_channel_new(&ch, &opts));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  deliver_child(1);
  assert_true(wait_calls(&s, 1));
  tether_channel_free(ch);

  /* free() inside the callback. */
  init_cb_state(&s);
  s.free_in_callback = 1;
  assert_tether_ok(tether_channel_new(&ch, &opts));
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  deliver_child(1);
  assert_true(wait_calls(&s, 1));
  tt_sleep_ms(50); /* let the thread finish freeing (checked by ASan/valgrind) */
}

typedef struct waiter_arg {
  tether_channel *ch;
  volatile int result;
  volatile int done;
} waiter_arg;

static void waiter_main(void *p) {
  waiter_arg *a = (waiter_arg *)p;
  tether_event ev;
  int r = tether_channel_wait(a->ch, &ev, -1);
  tether__add_int(&a->result, r);
  tether__add_int(&a->done, 1);
}

static void test_close_wakes_blocked_waiter(void **state) {
  waiter_arg a;
  (void)state;
  memset(&a, 0, sizeof(a));
  assert_tether_ok(tether_channel_new(&a.ch, NULL));
  assert_tether_ok(tether_channel_watch(a.ch, TETHER_EVENT_CHILD, 0));
  {
    tt_thread *t = tt_thread_start(waiter_main, &a);
    assert_non_null(t);
    tt_sleep_ms(100);
    assert_false(tether__load_int(&a.done));
    assert_tether_ok(tether_channel_close(a.ch));
    tt_thread_join(t);
  }
  assert_true(tether__load_int(&a.done));
  assert_tether_err(tether__load_int(&a.result), TETHER_ECLOSED);
  tether_channel_free(a.ch);
}

/* Open, watch and close channels from many threads at once while events are
 * being delivered (meant for TSan and ASan). */
#define CHURN_THREADS 4
#define CHURN_ROUNDS 200

static void churn_main(void *p) {
  volatile int *fail = (volatile int *)p;
  int i;
  for (i = 0; i < CHURN_ROUNDS; i++) {
    tether_channel *ch;
    tether_event ev;
    int r = tether_channel_new(&ch, NULL);
    if (r < 0) {
      if (r != TETHER_ELIMIT)
        tether__add_int(fail, 1);
      continue;
    }
    if (tether_channel_watch(ch, TETHER_EVENT_CHILD, 0) < 0)
      tether__add_int(fail, 1);
    deliver_child(1);
    if (tether_channel_wait(ch, &ev, 1000) != 1)
      tether__add_int(fail, 1);
    tether_channel_free(ch);
  }
}

static void test_open_close_many_threads(void **state) {
  volatile int fail = 0;
  int i;
  long fds_before = tt_open_fd_count(), fds_after;
  tt_thread *t[CHURN_THREADS];
  (void)state;
  for (i = 0; i < CHURN_THREADS; i++) {
    t[i] = tt_thread_start(churn_main, (void *)&fail);
    assert_non_null(t[i]);
  }
  for (i = 0; i < CHURN_THREADS; i++)
    tt_thread_join(t[i]);
  assert_int_equal(tether__load_int(&fail), 0);
  fds_after = tt_open_fd_count();
  assert_true(fds_before >= 0);
  assert_int_equal(fds_after, fds_before);
}

/* A double free is undefined behaviour, but it must not hang: tether says
 * so on stderr and aborts (ASan, which sees the use after free first,
 * aborts on its own). In a fork()ed child with a watchdog alarm. */
static void test_double_free_does_not_hang(void **state) {
#ifdef _WIN32
  (void)state;
  tt_skip("fork() is POSIX; the check itself is portable code (core/)");
#else
  pid_t pid;
  int st;
  (void)state;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    tether_channel *ch;
    (void)alarm(10); /* a hang ends as SIGALRM */
    if (tether_channel_new(&ch, NULL) != 0)
      _exit(3);
    tether_channel_free(ch);
    tether_channel_free(ch);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
#if defined(__SANITIZE_ADDRESS__)
  assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_false(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM);
#else
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGABRT);
#endif
#endif
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_coalescing_and_payload),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_many_channels_each_get_every_event),
      cmocka_unit_test(test_channel_limit),
      cmocka_unit_test(test_handle_level_triggered),
      cmocka_unit_test(test_round_robin),
      cmocka_unit_test(test_callback_mode),
      cmocka_unit_test(test_close_and_free_from_callback),
      cmocka_unit_test(test_close_wakes_blocked_waiter),
      cmocka_unit_test(test_open_close_many_threads),
      cmocka_unit_test(test_double_free_does_not_hang),
  };
  return tt_main(argc, argv, NULL, "channel", tests, TT_COUNT(tests));
}
