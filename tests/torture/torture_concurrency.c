/* SPDX-License-Identifier: MIT */
/*
 * Torture: several threads doing random legal sequences over channels,
 * children and tokens at once (docs/concurrency.md is the contract):
 *   - spawn (some children bound to a callback channel that frees them in
 *     their own exit event), wait with 0 / 1 ms / -1, free;
 *   - free a child while another thread waits on it (-1 or 5 s);
 *   - tokens: attach, cancel, wait, free while another thread waits;
 *   - channels: watch, signal ourselves, wait, close while another waits;
 *   - fork() without exec in the middle (native lanes; the child uses
 *     tether and exits), with a signal sender running throughout.
 * A watchdog aborts when no operation has finished for 30 s (a hang is a
 * failure). At the end: no descriptor leaked, every child freed, every
 * callback-owned child freed by its callback.
 *
 *   torture_concurrency   TETHER_TORTURE_OPS operations in all (default
 *                         600; the torture lane: 6000), TETHER_TORTURE_SEED
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "backend.h"
#include "support.h"

#define THREADS 4
#define SLOTS 16

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define FORK_OK 0 /* docs/concurrency.md: the sanitizers and fork() */
#else
#define FORK_OK 1
#endif

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static tether_child *table[SLOTS];
static tether_channel *cb_channel;
static volatile int ops_done, ops_total, cb_spawned, cb_freed, failures;
static volatile int stop_sender;

static void fail_op(const char *what, int r) {
  fprintf(stderr, "FAIL: %s: %d (%s)\n", what, r, r < 0 ? tether_err_name(r) : "-");
  (void)tether__add_int(&failures, 1);
}

static void cb_free(tether_channel *ch, const tether_event *ev, void *userdata) {
  (void)ch;
  (void)userdata;
  if (ev->kind == TETHER_EVENT_CHILD && ev->child != NULL) {
    tether_child_free(ev->child);
    (void)tether__add_int(&cb_freed, 1);
  }
}

static tether_child *spawn_short(unsigned *seed, int bind) {
  static const char *const quick[] = {"true", NULL};
  static const char *const brief[] = {"sleep", "0.05", NULL};
  tether_spawn_options o;
  tether_child *c = NULL;
  int r;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  if (bind)
    o.channel = cb_channel;
  r = tether_spawn(&c, rand_r(seed) % 2 ? quick : brief, &o);
  if (r < 0) {
    fail_op("tether_spawn", r);
    return NULL;
  }
  return c;
}

/* Take a child out of the table (exclusive from then on), or NULL. */
static tether_child *take(unsigned *seed) {
  int i, start = (int)(rand_r(seed) % SLOTS);
  tether_child *c = NULL;
  pthread_mutex_lock(&table_lock);
  for (i = 0; i < SLOTS && c == NULL; i++) {
    int k = (start + i) % SLOTS;
    c = table[k];
    table[k] = NULL;
  }
  pthread_mutex_unlock(&table_lock);
  return c;
}

static int put(tether_child *c) {
  int i;
  pthread_mutex_lock(&table_lock);
  for (i = 0; i < SLOTS; i++)
    if (table[i] == NULL) {
      table[i] = c;
      pthread_mutex_unlock(&table_lock);
      return 1;
    }
  pthread_mutex_unlock(&table_lock);
  return 0;
}

typedef struct helper {
  tether_child *c;
  tether_token *t;
  tether_channel *ch;
  int timeout;
  int r;
  volatile int done; /* the call has returned */
  tether__thread *thr;
} helper;

static void wait_child_main(void *arg) {
  helper *h = (helper *)arg;
  tether_status st;
  h->r = tether_child_wait(h->c, h->timeout, &st);
  (void)tether__add_int(&h->done, 1);
}

static void wait_token_main(void *arg) {
  helper *h = (helper *)arg;
  h->r = tether_token_wait(h->t, -1);
  (void)tether__add_int(&h->done, 1);
}

static void wait_channel_main(void *arg) {
  helper *h = (helper *)arg;
  tether_event ev;
  do
    h->r = tether_channel_wait(h->ch, &ev, -1);
  while (h->r == 1);
}

static void op_child(unsigned *seed) {
  tether_child *c;
  tether_status st;
  int r;
  switch (rand_r(seed) % 4) {
  case 0: /* owned by the callback from here on */
    if (spawn_short(seed, 1) != NULL)
      (void)tether__add_int(&cb_spawned, 1);
    return;
  case 1:
    if ((c = spawn_short(seed, 0)) != NULL && !put(c))
      tether_child_free(c);
    return;
  case 2: /* wait, then free */
    if ((c = take(seed)) == NULL)
      return;
    r = tether_child_wait(c, (int[]){0, 1, -1}[rand_r(seed) % 3], &st);
    if (r < 0)
      fail_op("tether_child_wait", r);
    tether_child_free(c);
    return;
  default: { /* free while another thread waits */
    helper h;
    if ((c = take(seed)) == NULL)
      return;
    memset(&h, 0, sizeof(h));
    h.c = c;
    h.timeout = rand_r(seed) % 2 ? -1 : 5000;
    if ((r = tether__thread_start(&h.thr, wait_child_main, &h)) < 0) {
      fail_op("thread", r);
      tether_child_free(c);
      return;
    }
    /* Free only once the call is inside (or over): a call that starts
     * after the free would be a use after free. */
    while (tether__child_users(c) == 0 && !tether__load_int(&h.done))
      tt_sleep_ms(1);
    tether_child_free(c);
    tether__thread_join(h.thr);
    if (h.r != 1) /* the exit, or the kill free sends */
      fail_op("wait during free", h.r);
  }
  }
}

static void op_token(unsigned *seed) {
  tether_token *t;
  helper h;
  int r;
  if ((r = tether_token_new(&t, NULL)) < 0) {
    fail_op("tether_token_new", r);
    return;
  }
  if (rand_r(seed) % 2) {
    tether_child *c = take(seed);
    if (c != NULL) {
      tether_stop_step s = {TETHER_EVENT_TERMINATE, 200};
      if ((r = tether_token_attach(t, c, &s, 1)) < 0)
        fail_op("attach", r);
      (void)tether_token_cancel(t, 1, "torture");
      if ((r = tether_token_wait_stopped(t, 10000)) != 1)
        fail_op("wait_stopped", r);
      tether_child_free(c);
    }
  }
  memset(&h, 0, sizeof(h));
  h.t = t;
  if (rand_r(seed) % 2 && tether__thread_start(&h.thr, wait_token_main, &h) == 0) {
    while (tether__token_waiters(t) == 0 && !tether__load_int(&h.done))
      tt_sleep_ms(1);
    tether_token_free(t);
    tether__thread_join(h.thr);
    if (h.r != 1 && h.r != TETHER_ECLOSED)
      fail_op("token wait during free", h.r);
    return;
  }
  tether_token_free(t);
}

static void op_channel(unsigned *seed) {
  tether_channel *ch;
  tether_event ev;
  helper h;
  int r;
  if ((r = tether_channel_new(&ch, NULL)) < 0 ||
      (r = tether_channel_watch(ch, TETHER_EVENT_USER1, 0)) < 0) {
    fail_op("channel", r);
    tether_channel_free(ch); /* NULL when tether_channel_new failed */
    return;
  }
  if (rand_r(seed) % 2) {
    (void)kill(getpid(), SIGUSR1);
    r = tether_channel_wait(ch, &ev, 10000);
    if (r != 1) /* the sender may have rung it first: any event will do */
      fail_op("channel wait", r);
    tether_channel_free(ch);
    return;
  }
  memset(&h, 0, sizeof(h));
  h.ch = ch;
  if (tether__thread_start(&h.thr, wait_channel_main, &h) == 0) {
    if (rand_r(seed) % 2)
      tt_sleep_ms(1);
    /* Close wakes it (or its call, if it starts later, finds the channel
     * closed); only then free: a call that starts after free is a use
     * after free. */
    if ((r = tether_channel_close(ch)) != 0)
      fail_op("channel close", r);
    tether__thread_join(h.thr);
    tether_channel_free(ch);
    if (h.r != TETHER_ECLOSED)
      fail_op("channel wait during close", h.r);
    return;
  }
  tether_channel_free(ch);
}

static void op_fork(void) {
  pid_t pid;
  int st;
  pid = fork();
  if (pid < 0) {
    fail_op("fork", -1);
    return;
  }
  if (pid == 0) {
    tether_channel *ch;
    static const char *const argv[] = {"true", NULL};
    tether_child *c;
    tether_status e;
    (void)alarm(20);
    if (tether_channel_new(&ch, NULL) != 0)
      _exit(2);
    tether_channel_free(ch);
    if (tether_spawn(&c, argv, NULL) != 0 || tether_child_wait(c, 10000, &e) != 1)
      _exit(3);
    tether_child_free(c);
    _exit(0);
  }
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_op("forked child", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (tether__add_int(&ops_done, 1) <= tether__load_int(&ops_total)) {
    unsigned k = (unsigned)rand_r(&seed) % 100;
    if (k < 50)
      op_child(&seed);
    else if (k < 70)
      op_token(&seed);
    else if (k < 97 || !FORK_OK)
      op_channel(&seed);
    else
      op_fork();
  }
}

static void sender(void *arg) {
  (void)arg;
  while (!tether__load_int(&stop_sender)) {
    (void)kill(getpid(), SIGUSR1);
    tt_sleep_ms(2);
  }
}

static volatile int progress_quit;

static void watchdog(void *arg) {
  int last = -1, still = 0;
  (void)arg;
  while (!tether__load_int(&progress_quit)) {
    int now = tether__load_int(&ops_done);
    still = now == last ? still + 1 : 0;
    last = now;
    if (still > 300) { /* 30 s without one operation finishing */
      fprintf(stderr, "WATCHDOG: no progress for 30 s at operation %d\n", now);
      abort();
    }
    tt_sleep_ms(100);
  }
}

static void test_concurrency_torture(void **state) {
  tether_channel_options co;
  tether__thread *t[THREADS], *snd, *wd;
  const char *env = getenv("TETHER_TORTURE_OPS");
  const char *seed_env = getenv("TETHER_TORTURE_SEED");
  unsigned long seed =
      seed_env != NULL ? strtoul(seed_env, NULL, 10) : (unsigned long)tether_now_ns();
  long fds_before, fds_after;
  tether_child *c;
  uint64_t t0 = tether_now_ns();
  int i;
  (void)state;
  ops_total = env != NULL ? atoi(env) : 600;
  { /* start the keeper first: its descriptors belong to every later spawn */
    static const char *const argv[] = {"true", NULL};
    tether_child *w;
    assert_tether_ok(tether_spawn(&w, argv, NULL));
    tether_child_free(w);
  }
  print_message("torture: %d operations on %d threads, seed %lu (TETHER_TORTURE_SEED "
                "repeats it), fork %s\n",
                ops_total, THREADS, seed, FORK_OK ? "on" : "off (sanitizer)");
  fds_before = tt_open_fd_count();
  tether_channel_options_init(&co, TETHER_CHANNEL_OPTIONS_VERSION);
  co.callback = cb_free;
  assert_tether_ok(tether_channel_new(&cb_channel, &co));
  assert_tether_ok(tether_channel_watch(cb_channel, TETHER_EVENT_CHILD, 0));
  /* The sender's SIGUSR1 is always watched by this one at least. */
  assert_tether_ok(tether_channel_watch(cb_channel, TETHER_EVENT_USER1, 0));
  assert_tether_ok(tether__thread_start(&wd, watchdog, NULL));
  assert_tether_ok(tether__thread_start(&snd, sender, NULL));
  for (i = 0; i < THREADS; i++)
    assert_tether_ok(tether__thread_start(&t[i], worker, (void *)(uintptr_t)(seed + (unsigned)i)));
  for (i = 0; i < THREADS; i++)
    tether__thread_join(t[i]);
  (void)tether__add_int(&stop_sender, 1);
  tether__thread_join(snd);
  while ((c = take((unsigned[]){1})) != NULL)
    tether_child_free(c);
  for (i = 0; i < 2000 && tether__load_int(&cb_freed) != tether__load_int(&cb_spawned); i++)
    tt_sleep_ms(5);
  (void)tether__add_int(&progress_quit, 1);
  tether__thread_join(wd);
  print_message("torture: %d operations in %.1f s; %d children freed by their callback; "
                "%d failures\n",
                ops_total, (double)(tether_now_ns() - t0) / 1e9, tether__load_int(&cb_freed),
                tether__load_int(&failures));
  assert_int_equal(tether__load_int(&cb_freed), tether__load_int(&cb_spawned));
  tether_channel_free(cb_channel);
  assert_int_equal(tether__load_int(&failures), 0);
  fds_after = tt_open_fd_count();
  if (fds_after != fds_before)
    print_message("descriptors: %ld before, %ld after\n", fds_before, fds_after);
  assert_int_equal(fds_after, fds_before);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrency_torture)};
  return tt_main(argc, argv, NULL, "torture_concurrency", tests, TT_COUNT(tests));
}
