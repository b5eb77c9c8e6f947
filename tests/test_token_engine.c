/* SPDX-License-Identifier: MIT */
/*
 * Cancellation tokens (core/token.c) on a fake backend: core/token.c, the
 * stop engine (core/stop.c) and the kind table (core/kinds.c) are compiled
 * into this program alone.
 *
 * The tokens' threads (the stop thread of each cancelled token, and this
 * test's own) are real threads, but the scheduler below lets exactly one of
 * them run at a time, switches only where a thread waits or ends, and moves
 * a virtual clock only when every thread waits: straight to the earliest
 * deadline or scripted exit. The children are scripted trees that exit at
 * given virtual times, and their exits reach the token as the backend's
 * exit watcher reports them (tether__token_child_exited). So a token tree's
 * cancellation, the stop thread's rounds (every owned tree at once, woken by
 * an exit, a tree that outlives its leader looked at after 1, 2, 4 ... 50
 * ms), waits and their timeouts are checked to the millisecond without
 * sleeping, and a wait that would never end ends the test with a message
 * instead of hanging it. test_shutdown checks the same tokens with
 * real processes and real clocks.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "stop.h" /* tether__child_kill, tether__child_wait */

#define MS UINT64_C(1000000) /* ns per ms: the core's clock is in ns */
#define NEVER UINT64_MAX

/* ------------------------------------------------------------------------ */
/* Problems seen where cmocka cannot fail (off the test's thread)           */
/* ------------------------------------------------------------------------ */

static char problem[512];

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE __attribute__((format(printf, 1, 2)))
#else
#define PRINTF_LIKE
#endif
static void report(const char *fmt, ...) PRINTF_LIKE;
static void report(const char *fmt, ...) {
  va_list ap;
  if (problem[0] != '\0')
    return; /* the first one says most */
  va_start(ap, fmt);
  vsnprintf(problem, sizeof(problem), fmt, ap);
  va_end(ap);
}

static void expect_no_problem(void) {
  if (problem[0] != '\0')
    fail_msg("%s", problem);
}

/* ------------------------------------------------------------------------ */
/* The scheduler: one thread at a time, a virtual clock                     */
/* ------------------------------------------------------------------------ */

#define MAX_THREADS 8

struct tether__thread {
  int used, done;
  int runnable;         /* may run as soon as the running one waits */
  const void *waits_on; /* the condition it waits on, or NULL */
  uint64_t until;       /* the end of its wait (virtual ns), or NEVER */
  int woken;            /* its wait ended by a broadcast, not the time */
  void (*fn)(void *);
  void *arg;
  pthread_t pt;
};

static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static struct tether__thread th[MAX_THREADS]; /* th[0]: the test's own thread */
static int running;                           /* big: the one that runs */
static uint64_t now;                          /* big: the virtual clock */
static int started_threads, start_failures;   /* refused starts to come */

static uint64_t tree_next_event(void);
static void tree_fire_events(void);

/* The next thread to run (big held; the caller waits or has ended). Moves
 * the clock when none can run; -1 when none ever will. */
static int pick(void) {
  for (;;) {
    uint64_t next = NEVER;
    int i, k;
    tree_fire_events();
    for (k = 1; k <= MAX_THREADS; k++) {
      i = (running + k) % MAX_THREADS;
      if (th[i].used && !th[i].done && th[i].runnable)
        return i;
    }
    for (i = 0; i < MAX_THREADS; i++)
      if (th[i].used && !th[i].done && th[i].waits_on != NULL && th[i].until < next)
        next = th[i].until;
    if (tree_next_event() < next)
      next = tree_next_event();
    if (next == NEVER)
      return -1;
    if (next > now)
      now = next;
    for (i = 0; i < MAX_THREADS; i++)
      if (th[i].used && !th[i].done && th[i].waits_on != NULL && th[i].until <= now) {
        th[i].waits_on = NULL;
        th[i].runnable = 1;
      }
  }
}

/* Hand the turn to the next thread (big held). */
static void hand_over(void) {
  int next = pick();
  if (next < 0) {
    /* Every thread waits for ever: a hang on a real system. No thread can
     * go on, so cmocka cannot fail the test: say it and end. */
    fprintf(stderr, "test_token_engine: every thread waits for ever at %llu ms (a hang)\n",
            (unsigned long long)(now / MS));
    abort();
  }
  th[next].runnable = 0;
  running = next;
  pthread_cond_broadcast(&turn);
}

static int self(void) { return running; }

static void *thread_main(void *p) {
  struct tether__thread *t = (struct tether__thread *)p;
  int me = (int)(t - th);
  pthread_mutex_lock(&big);
  while (running != me)
    pthread_cond_wait(&turn, &big);
  pthread_mutex_unlock(&big);
  t->fn(t->arg);
  pthread_mutex_lock(&big);
  t->done = 1;
  hand_over();
  pthread_mutex_unlock(&big);
  return NULL;
}

int tether__thread_start(tether__thread **out, void (*fn)(void *), void *arg) {
  int i;
  if (start_failures > 0) {
    start_failures--;
    return TETHER_ENOMEM;
  }
  pthread_mutex_lock(&big);
  for (i = 1; i < MAX_THREADS && th[i].used; i++) {
  }
  if (i == MAX_THREADS) {
    pthread_mutex_unlock(&big);
    report("%s", "more than 7 threads at once");
    return TETHER_ENOMEM;
  }
  memset(&th[i], 0, sizeof(th[i]));
  th[i].used = 1;
  th[i].runnable = 1;
  th[i].until = NEVER;
  th[i].fn = fn;
  th[i].arg = arg;
  if (pthread_create(&th[i].pt, NULL, thread_main, &th[i]) != 0) {
    th[i].used = 0;
    pthread_mutex_unlock(&big);
    return TETHER_ENOMEM;
  }
  started_threads++;
  pthread_mutex_unlock(&big);
  *out = &th[i];
  return 0;
}

void tether__thread_detach(tether__thread *t) { (void)t; /* joined by the teardown */ }
void tether__thread_join(tether__thread *t) {
  (void)t;
  report("%s", "core/token.c joined a thread");
}

/* Let every other thread run until it waits or ends (the test thread
 * yields, as if it did something else meanwhile); the clock moves only if
 * some wait has to end first. */
static void run_others(void) {
  pthread_mutex_lock(&big);
  th[0].waits_on = &th[0]; /* nobody broadcasts this: wakes at `until` */
  th[0].until = now;       /* at once: before the clock moves */
  th[0].woken = 0;
  {
    /* Others first: they are picked before a thread whose wait ends. */
    int i, any = 0;
    for (i = 1; i < MAX_THREADS; i++)
      any |= th[i].used && !th[i].done && th[i].runnable;
    if (!any) {
      th[0].waits_on = NULL;
      pthread_mutex_unlock(&big);
      return;
    }
  }
  hand_over();
  while (running != 0)
    pthread_cond_wait(&turn, &big);
  pthread_mutex_unlock(&big);
}

/* Give the turn to the test's thread, which waits in run_others(), until
 * it waits again: a thread caught in the middle of a slow OS call. */
static void pause_here(void) {
  int me = self();
  pthread_mutex_lock(&big);
  th[me].runnable = 1;
  th[0].waits_on = NULL;
  running = 0;
  pthread_cond_broadcast(&turn);
  while (running != me)
    pthread_cond_wait(&turn, &big);
  pthread_mutex_unlock(&big);
}

/* Threads started and not ended. */
static int threads_alive(void) {
  int i, n = 0;
  pthread_mutex_lock(&big);
  for (i = 1; i < MAX_THREADS; i++)
    n += th[i].used && !th[i].done;
  pthread_mutex_unlock(&big);
  return n;
}

/* The virtual time, in ms. */
static uint64_t now_ms(void) { return tether__now_ns() / MS; }

/* ---- the backend's synchronisation, as core/backend.h declares it ---- */

struct tether__mutex {
  int held, owner;
};
struct tether__cond {
  int unused;
};

int tether__mutex_new(tether__mutex **out) {
  *out = (tether__mutex *)calloc(1, sizeof(**out));
  return *out != NULL ? 0 : TETHER_ENOMEM;
}
void tether__mutex_free(tether__mutex *m) { free(m); }

/* One thread runs at a time and it switches only inside a wait, which
 * gives the lock back: a lock held here is a lock taken twice. */
void tether__mutex_lock(tether__mutex *m) {
  if (m->held)
    report("thread %d takes a lock thread %d holds (a deadlock)", self(), m->owner);
  m->held = 1;
  m->owner = self();
}
void tether__mutex_unlock(tether__mutex *m) {
  if (!m->held || m->owner != self())
    report("thread %d releases a lock it does not hold", self());
  m->held = 0;
}

int tether__cond_new(tether__cond **out) {
  *out = (tether__cond *)calloc(1, sizeof(**out));
  return *out != NULL ? 0 : TETHER_ENOMEM;
}
void tether__cond_free(tether__cond *c) { free(c); }

int tether__cond_wait(tether__cond *c, tether__mutex *m, int timeout_ms) {
  int me = self(), woken;
  tether__mutex_unlock(m);
  pthread_mutex_lock(&big);
  th[me].waits_on = c;
  th[me].until = timeout_ms < 0 ? NEVER : now + (uint64_t)timeout_ms * MS;
  th[me].woken = 0;
  hand_over();
  while (running != me)
    pthread_cond_wait(&turn, &big);
  woken = th[me].woken;
  pthread_mutex_unlock(&big);
  tether__mutex_lock(m);
  return woken;
}

/* Called by the running thread (big not held) or by a scripted exit (held:
 * from pick()). */
static void broadcast_locked(const void *c) {
  int i;
  for (i = 0; i < MAX_THREADS; i++)
    if (th[i].used && !th[i].done && th[i].waits_on == c) {
      th[i].waits_on = NULL;
      th[i].woken = 1;
      th[i].runnable = 1;
    }
}
static int in_pick; /* big is held by pick() (a scripted exit) */
void tether__cond_broadcast(tether__cond *c) {
  if (in_pick) {
    broadcast_locked(c);
    return;
  }
  pthread_mutex_lock(&big);
  broadcast_locked(c);
  pthread_mutex_unlock(&big);
}

uint64_t tether__now_ns(void) {
  uint64_t t;
  if (in_pick)
    return now;
  pthread_mutex_lock(&big);
  t = now;
  pthread_mutex_unlock(&big);
  return t;
}

void tether__global_lock(void) {}
void tether__global_unlock(void) {}

/* fork(): the generation a token remembers (test_fork_inherited). */
static unsigned generation = 1;
unsigned tether__fork_generation(void) { return generation; }
void tether__os_fork_init(void) {}

/* ---- the doorbell: counts its rings ---- */

struct tether__bell {
  int rings;
};
int tether__bell_open(tether__bell **out) {
  *out = (tether__bell *)calloc(1, sizeof(**out));
  return *out != NULL ? 0 : TETHER_ENOMEM;
}
void tether__bell_free(tether__bell *b) { free(b); }
void tether__bell_ring(tether__bell *b) { b->rings++; }
tether_os_handle tether__bell_handle(const tether__bell *b) {
  return b != NULL ? (tether_os_handle)100 : (tether_os_handle)-1;
}

/* ------------------------------------------------------------------------ */
/* Scripted trees                                                           */
/* ------------------------------------------------------------------------ */

/* What a tree does when it gets a kind. */
enum { IGNORES = 0, EXITS, LEADER_EXITS };

typedef struct tree {
  struct tether_child c; /* what the core sees; first */
  int used;
  int leader_alive, others_alive;
  uint64_t leader_exit_at, others_exit_at; /* scheduled, or NEVER */
  int how[16];                             /* per kind: IGNORES / EXITS / LEADER_EXITS */
  unsigned after_ms[16];                   /* ... this long after it gets it */
  int signal_result;                       /* a forced result of every signal (0: none) */
  int pause_in_signal;                     /* the next signal pauses (pause_here) */
  char log[512];                           /* "<ms><letter> " per call */
} tree;

#define MAX_TREES 8
static tree trees[MAX_TREES];

static int in_signal; /* a thread is paused inside tether__os_child_signal */

static tree *tree_of(tether_child *c) {
  tree *t = (tree *)(void *)c;
  if (t < trees || t >= trees + MAX_TREES || !t->used)
    report("the core passed a child that is not one of the test's (%p)", (void *)c);
  return t;
}

static void tree_log(tree *t, char what) {
  size_t n = strlen(t->log);
  snprintf(t->log + n, sizeof(t->log) - n, "%llu%c ", (unsigned long long)(now / MS), what);
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
  trees[i].leader_exit_at = trees[i].others_exit_at = NEVER;
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
  uint64_t next = NEVER;
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

/* Exits that are due (big held): the backend's exit watcher reports a
 * leader's exit to the core, which tells the token. */
static void tree_fire_events(void) {
  int i;
  in_pick = 1;
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
  in_pick = 0;
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
    pause_here();
    in_signal = 0;
  }
  if (t->signal_result != 0)
    return t->signal_result;
  if (tree_gone(t))
    return TETHER_ESRCH;
  at = tether__now_ns() + (uint64_t)t->after_ms[kind] * MS;
  pthread_mutex_lock(&big);
  schedule_exit(t, t->how[kind], at);
  pthread_mutex_unlock(&big);
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
  pthread_mutex_lock(&big);
  schedule_exit(t, EXITS, now);
  pthread_mutex_unlock(&big);
  return 0;
}

int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  tree *t = tree_of(c);
  if (timeout_ms != 0 || st != NULL)
    report("%s", "the stop engine waited for a child");
  return t->leader_alive ? 0 : 1;
}

/* Each look at the tree is logged ('w'): the lingering rhythm shows. */
int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  tree *t = tree_of(c);
  if (timeout_ms != 0)
    report("%s", "the stop engine waited for a tree");
  if (!t->leader_alive)
    tree_log(t, 'w');
  return tree_gone(t) ? 1 : 0;
}

/* core/kinds.c's OS queries: tokens never ask them. */
static void not_for_tokens(const char *what) { report("core/token.c called %s", what); }
int tether__os_signal_source(int signo, int *src) {
  (void)signo;
  (void)src;
  not_for_tokens("tether__os_signal_source");
  return TETHER_ENOTSUP;
}
int tether__os_kind_sources(int kind, int *srcs, int max) {
  (void)kind;
  (void)srcs;
  (void)max;
  not_for_tokens("tether__os_kind_sources");
  return TETHER_ENOTSUP;
}
const char *tether__os_signal_name(int signo) {
  (void)signo;
  not_for_tokens("tether__os_signal_name");
  return NULL;
}
int tether__os_ignored_at_start(int signo) {
  (void)signo;
  not_for_tokens("tether__os_ignored_at_start");
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Set-up, teardown, helpers                                                */
/* ------------------------------------------------------------------------ */

static int setup(void **state) {
  (void)state;
  problem[0] = '\0';
  memset(th, 0, sizeof(th));
  th[0].used = 1;
  th[0].until = NEVER;
  running = 0;
  now = 1000 * MS; /* not 0: a deadline of 0 means "none" in places */
  started_threads = start_failures = in_signal = 0;
  generation = 1;
  memset(trees, 0, sizeof(trees));
  return 0;
}

/* Every stop thread has ended (the test freed its tokens): join them. */
static int teardown(void **state) {
  int i;
  (void)state;
  run_others();
  for (i = 1; i < MAX_THREADS; i++) {
    if (!th[i].used)
      continue;
    if (!th[i].done) {
      report("thread %d has not ended at the end of the test", i);
      continue; /* never joined: it waits for ever */
    }
    pthread_join(th[i].pt, NULL);
    th[i].used = 0;
  }
  expect_no_problem();
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
  assert_int_equal(started_threads, 0); /* no token owns a child */
  tether_token_free(late);
  tether_token_free(leaf);
  tether_token_free(mid);
  tether_token_free(root);
}

/* Waits end at their timeout to the millisecond, at once when cancelled;
 * a cancel by another thread ends a wait at that moment. */
static void test_wait_times(void **state) {
  tether_token *t = token(NULL);
  uint64_t t0 = now_ms();
  (void)state;
  assert_int_equal(tether_token_wait(t, 0), 0);
  assert_int_equal(now_ms(), t0);
  assert_int_equal(tether_token_wait(t, 250), 0);
  assert_int_equal(now_ms(), t0 + 250);
  assert_int_equal(tether_token_wait_stopped(t, 100), 0); /* not cancelled: at once */
  assert_int_equal(now_ms(), t0 + 250);
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait(t, 10000), 1);
  assert_int_equal(tether_token_wait_stopped(t, 10000), 1); /* owns nothing */
  assert_int_equal(now_ms(), t0 + 250);
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
  t0 = now_ms();
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(started_threads, 1); /* one stop thread per token */
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  assert_int_equal(now_ms() - t0, 5000); /* c: killed at 3000 + 2000 */
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
  assert_int_equal(now_ms(), 2234);
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
  a->others_exit_at = 1200 * MS;
  assert_int_equal(tether_token_cancel(t, 0, NULL), 0);
  assert_int_equal(tether_token_wait_stopped(t, 60000), 1);
  /* At 1000 the signal; the leader's exit wakes the thread at once (a
   * look), then 1, 2, 4, 8, 16, 32 ms later, then every 50 ms. */
  expect_log(a, "1000I 1000w 1001w 1003w 1007w 1015w 1031w 1063w 1113w 1163w 1213w ");
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
  assert_int_equal(started_threads, 0); /* owns nothing yet */
  attach(t, a, int_then_term, 2);
  assert_int_equal(started_threads, 1);
  run_others();
  expect_log(a, "1000I ");
  /* A second one while the thread still waits for the first. */
  attach(t, b, int_then_term, 2);
  assert_int_equal(started_threads, 1);
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
  run_others(); /* the stop thread pauses inside the interrupt's call */
  assert_int_equal(in_signal, 1);
  tether__token_disown(&a->c);
  assert_int_equal(in_signal, 0);
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
  assert_int_equal(started_threads, 2);
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
  start_failures = 1;
  assert_int_equal(tether_token_cancel(t, 0, NULL), TETHER_ENOMEM);
  assert_int_equal(tether_token_cancelled(t), 1); /* cancelled all the same */
  expect_log(a, "");
  assert_int_equal(tether_token_cancel(u, 0, NULL), 0);
  start_failures = 1;
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
  run_others(); /* the interrupt is sent; the thread sleeps until 4000 */
  expect_log(a, "1000I ");
  assert_int_equal(threads_alive(), 1);
  assert_int_equal(tether_token_close(t), 0);
  assert_int_equal(threads_alive(), 0); /* the close ended the stop thread */
  assert_int_equal(now_ms(), 1000);     /* without waiting for the steps */
  assert_int_equal(tether_token_wait(t, 10), TETHER_ECLOSED);
  assert_null(a->c.owner);
  run_others();
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
  run_others();   /* the parent's stop thread waits for 4000 */
  generation = 2; /* as in the child of a fork() */
  assert_int_equal(tether_token_close(t), 0);
  assert_int_equal(now_ms(), 1000);
  generation = 1; /* back in the parent: its thread ends on the close */
  run_others();
  tether_token_free(t);
}

/* A hang is a failure: the whole program gets 30 s (it takes milliseconds). */
static void watchdog(int signo) {
  static const char msg[] = "test_token_engine: watchdog: still running after 30 s (a hang)\n";
  (void)signo;
  (void)!write(2, msg, sizeof(msg) - 1);
  _exit(1);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_tree_cancel),
      T(test_wait_times),
      T(test_trees_in_parallel),
      T(test_exit_wakes_stop_thread),
      T(test_lingering_tree_looked_at),
      T(test_attach_after_cancel),
      T(test_disowned_child_left_alone),
      T(test_disown_waits_for_busy),
      T(test_subtree_stops),
      T(test_thread_start_fails),
      T(test_close_during_stop),
      T(test_fork_inherited),
  };
#undef T
  signal(SIGALRM, watchdog);
  alarm(30);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
