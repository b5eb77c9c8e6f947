/* SPDX-License-Identifier: MIT */
/* A fake backend for the core's threaded logic: see tests/fake_sched.h. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "fake_sched.h"

/* ---- problems ---- */

static char problem[512];

void fs_report(const char *fmt, ...) {
  va_list ap;
  if (problem[0] != '\0')
    return; /* the first one says most */
  va_start(ap, fmt);
  vsnprintf(problem, sizeof(problem), fmt, ap);
  va_end(ap);
}

/* ---- the scheduler ---- */

#define MAX_THREADS 8

struct tether__thread {
  int used, done;
  int runnable;         /* may run as soon as the running one waits */
  const void *waits_on; /* what it waits for (a condition, a thread), or NULL */
  uint64_t until;       /* the end of its wait (virtual ns), or FS_NEVER */
  int woken;            /* its wait ended by a broadcast, not the time */
  void (*fn)(void *);
  void *arg;
  pthread_t pt;
};

static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static struct tether__thread th[MAX_THREADS]; /* th[0]: the test's own thread */
static int running;                           /* the one that runs */
static uint64_t now;                          /* the virtual clock */
static int in_pick;                           /* big is held by pick() */
static int started, start_failures;
static int broken; /* a test left a thread behind: the rest cannot run */
static unsigned generation = 1;
static uint64_t (*events_next)(void);
static void (*events_fire)(void);

static void wake_locked(const void *what) {
  int i;
  for (i = 0; i < MAX_THREADS; i++)
    if (th[i].used && !th[i].done && th[i].waits_on == what) {
      th[i].waits_on = NULL;
      th[i].woken = 1;
      th[i].runnable = 1;
    }
}

static uint64_t next_event(void) { return events_next != NULL ? events_next() : FS_NEVER; }

static void fire_events(void) {
  if (events_fire == NULL)
    return;
  in_pick = 1;
  events_fire();
  in_pick = 0;
}

/* The next thread to run (big held; the caller waits or has ended). Moves
 * the clock when none can run; -1 when none ever will. */
static int pick(void) {
  for (;;) {
    uint64_t next = FS_NEVER;
    int i, k;
    fire_events();
    for (k = 1; k <= MAX_THREADS; k++) {
      i = (running + k) % MAX_THREADS;
      if (th[i].used && !th[i].done && th[i].runnable)
        return i;
    }
    for (i = 0; i < MAX_THREADS; i++)
      if (th[i].used && !th[i].done && th[i].waits_on != NULL && th[i].until < next)
        next = th[i].until;
    if (next_event() < next)
      next = next_event();
    if (next == FS_NEVER)
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
    fprintf(stderr, "fake scheduler: every thread waits for ever at %llu ms (a hang)\n",
            (unsigned long long)(now / FS_MS));
    abort();
  }
  th[next].runnable = 0;
  running = next;
  pthread_cond_broadcast(&turn);
}

/* Wait (big held) for `what` until `until`, letting the others run:
 * 1 when woken by a broadcast, 0 when the time ran out. */
static int wait_turn(const void *what, uint64_t until) {
  int me = running;
  th[me].waits_on = what;
  th[me].until = until;
  th[me].woken = 0;
  hand_over();
  while (running != me)
    pthread_cond_wait(&turn, &big);
  return th[me].woken;
}

static void end_thread_locked(struct tether__thread *t) {
  t->done = 1;
  wake_locked(t); /* a join */
  hand_over();
}

static void *thread_main(void *p) {
  struct tether__thread *t = (struct tether__thread *)p;
  int me = (int)(t - th);
  pthread_mutex_lock(&big);
  while (running != me)
    pthread_cond_wait(&turn, &big);
  pthread_mutex_unlock(&big);
  t->fn(t->arg);
  pthread_mutex_lock(&big);
  end_thread_locked(t);
  pthread_mutex_unlock(&big);
  return NULL;
}

void fs_thread_exit(void) {
  if (running == 0) {
    fs_report("%s", "the test's own thread would have ended");
    return;
  }
  pthread_mutex_lock(&big);
  end_thread_locked(&th[running]);
  pthread_mutex_unlock(&big);
  pthread_exit(NULL);
}

void fs_set_events(uint64_t (*next)(void), void (*fire)(void)) {
  events_next = next;
  events_fire = fire;
}

void fs_run_others(void) {
  int i, any = 0;
  pthread_mutex_lock(&big);
  for (i = 1; i < MAX_THREADS; i++)
    any |= th[i].used && !th[i].done && th[i].runnable;
  if (any) /* others first: picked before a wait that ends at once */
    (void)wait_turn(&th[0], now);
  pthread_mutex_unlock(&big);
}

void fs_sleep_until_ms(uint64_t ms) {
  pthread_mutex_lock(&big);
  if (running != 0)
    fs_report("%s", "fs_sleep_until_ms() off the test's thread");
  else
    while (ms * FS_MS > now) /* fs_pause_here() may hand it the turn early */
      (void)wait_turn(&th[0], ms * FS_MS);
  pthread_mutex_unlock(&big);
}

void fs_pause_here(void) {
  int me = running;
  pthread_mutex_lock(&big);
  th[me].runnable = 1;
  th[0].waits_on = NULL;
  running = 0;
  pthread_cond_broadcast(&turn);
  while (running != me)
    pthread_cond_wait(&turn, &big);
  pthread_mutex_unlock(&big);
}

int fs_threads_alive(void) {
  int i, n = 0;
  pthread_mutex_lock(&big);
  for (i = 1; i < MAX_THREADS; i++)
    n += th[i].used && !th[i].done;
  pthread_mutex_unlock(&big);
  return n;
}

int fs_threads_started(void) { return started; }
void fs_fail_thread_starts(int n) { start_failures = n; }
void fs_set_fork_generation(unsigned gen) { generation = gen; }
uint64_t fs_now_ms(void) { return tether__now_ns() / FS_MS; }

int fs_setup(void **state) {
  (void)state;
  if (broken) {
    /* That thread still waits for its turn, in state the core keeps
     * (a policy in place, a token's lock): running more tests on it would
     * only add confusing failures. */
    fprintf(stderr, "fake scheduler: not run: an earlier test left a thread behind\n");
    return -1;
  }
  problem[0] = '\0';
  memset(th, 0, sizeof(th));
  th[0].used = 1;
  th[0].until = FS_NEVER;
  running = 0;
  now = 1000 * FS_MS; /* not 0: a deadline of 0 means "none" in places */
  started = start_failures = 0;
  generation = 1;
  events_next = NULL;
  events_fire = NULL;
  return 0;
}

int fs_teardown(void **state) {
  int i;
  (void)state;
  fs_run_others();
  for (i = 1; i < MAX_THREADS; i++) {
    if (!th[i].used)
      continue;
    if (!th[i].done) {
      fs_report("thread %d has not ended at the end of the test", i);
      broken = 1;
      continue; /* never joined: it waits for ever */
    }
    pthread_join(th[i].pt, NULL);
    th[i].used = 0;
  }
  if (problem[0] != '\0')
    fail_msg("%s", problem);
  return 0;
}

static const char *watchdog_program = "test";
static void watchdog_fired(int signo) {
  static const char msg[] = ": watchdog: still running (a hang)\n";
  (void)signo;
  (void)!write(2, watchdog_program, strlen(watchdog_program));
  (void)!write(2, msg, sizeof(msg) - 1);
  _exit(1);
}

void fs_watchdog(const char *program, unsigned seconds) {
  watchdog_program = program;
  signal(SIGALRM, watchdog_fired);
  alarm(seconds);
}

/* ---- threads (core/backend.h) ---- */

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
    fs_report("more than %d threads at once", MAX_THREADS - 1);
    return TETHER_ENOMEM;
  }
  memset(&th[i], 0, sizeof(th[i]));
  th[i].used = 1;
  th[i].runnable = 1;
  th[i].until = FS_NEVER;
  th[i].fn = fn;
  th[i].arg = arg;
  if (pthread_create(&th[i].pt, NULL, thread_main, &th[i]) != 0) {
    th[i].used = 0;
    pthread_mutex_unlock(&big);
    return TETHER_ENOMEM;
  }
  started++;
  pthread_mutex_unlock(&big);
  *out = &th[i];
  return 0;
}

void tether__thread_detach(tether__thread *t) { (void)t; /* joined by fs_teardown() */ }

/* Waits (letting the others run) until t has ended; fs_teardown() joins. */
void tether__thread_join(tether__thread *t) {
  pthread_mutex_lock(&big);
  while (!t->done)
    (void)wait_turn(t, FS_NEVER);
  pthread_mutex_unlock(&big);
}

/* ---- synchronisation (core/backend.h) ---- */

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

/* One thread runs at a time and the turn moves only inside a wait, which
 * gives the lock back: a lock found held is a lock taken twice. */
void tether__mutex_lock(tether__mutex *m) {
  if (m->held)
    fs_report("thread %d takes a lock thread %d holds (a deadlock)", running, m->owner);
  m->held = 1;
  m->owner = running;
}
void tether__mutex_unlock(tether__mutex *m) {
  if (!m->held || m->owner != running)
    fs_report("thread %d releases a lock it does not hold", running);
  m->held = 0;
}

int tether__cond_new(tether__cond **out) {
  *out = (tether__cond *)calloc(1, sizeof(**out));
  return *out != NULL ? 0 : TETHER_ENOMEM;
}
void tether__cond_free(tether__cond *c) { free(c); }

int tether__cond_wait(tether__cond *c, tether__mutex *m, int timeout_ms) {
  int woken;
  tether__mutex_unlock(m);
  pthread_mutex_lock(&big);
  woken = wait_turn(c, timeout_ms < 0 ? FS_NEVER : now + (uint64_t)timeout_ms * FS_MS);
  pthread_mutex_unlock(&big);
  tether__mutex_lock(m);
  return woken;
}

/* From the running thread, or from a scripted event (big held by pick()). */
void tether__cond_broadcast(tether__cond *c) {
  if (in_pick) {
    wake_locked(c);
    return;
  }
  pthread_mutex_lock(&big);
  wake_locked(c);
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
