/* SPDX-License-Identifier: MIT */
/* Mutexes, condition variables, threads and the clock (pthreads). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"

struct tether__mutex {
  pthread_mutex_t m;
};
struct tether__cond {
  pthread_cond_t c;
};
struct tether__thread {
  pthread_t tid;
  void (*fn)(void *);
  void *arg;
  int refs; /* the handle and the running thread; the last one frees */
};

/* Linux can time condition waits on CLOCK_MONOTONIC; other systems (macOS
 * has no pthread_condattr_setclock) use CLOCK_REALTIME deadlines. */
#if defined(TETHER_LINUX)
#define TETHER__COND_CLOCK CLOCK_MONOTONIC
#else
#define TETHER__COND_CLOCK CLOCK_REALTIME
#endif

static pthread_mutex_t tether__global = PTHREAD_MUTEX_INITIALIZER;

void tether__global_lock(void) { (void)pthread_mutex_lock(&tether__global); }
void tether__global_unlock(void) { (void)pthread_mutex_unlock(&tether__global); }

int tether__mutex_new(tether__mutex **out) {
  int r;
  tether__mutex *m = (tether__mutex *)malloc(sizeof(*m));
  if (m == NULL)
    return TETHER_ENOMEM;
  r = pthread_mutex_init(&m->m, NULL);
  if (r != 0) {
    free(m);
    return tether__translate_os_error(r);
  }
  *out = m;
  return 0;
}

void tether__mutex_free(tether__mutex *m) {
  if (m == NULL)
    return;
  (void)pthread_mutex_destroy(&m->m);
  free(m);
}

void tether__mutex_lock(tether__mutex *m) { (void)pthread_mutex_lock(&m->m); }
void tether__mutex_unlock(tether__mutex *m) { (void)pthread_mutex_unlock(&m->m); }

int tether__cond_new(tether__cond **out) {
  int r;
  pthread_condattr_t attr;
  tether__cond *c = (tether__cond *)malloc(sizeof(*c));
  if (c == NULL)
    return TETHER_ENOMEM;
  r = pthread_condattr_init(&attr);
  if (r == 0) {
#if defined(TETHER_LINUX)
    r = pthread_condattr_setclock(&attr, TETHER__COND_CLOCK);
#endif
    if (r == 0)
      r = pthread_cond_init(&c->c, &attr);
    (void)pthread_condattr_destroy(&attr);
  }
  if (r != 0) {
    free(c);
    return tether__translate_os_error(r);
  }
  *out = c;
  return 0;
}

void tether__cond_free(tether__cond *c) {
  if (c == NULL)
    return;
  (void)pthread_cond_destroy(&c->c);
  free(c);
}

int tether__cond_wait(tether__cond *c, tether__mutex *m, int timeout_ms) {
  struct timespec ts;
  if (timeout_ms < 0) {
    (void)pthread_cond_wait(&c->c, &m->m);
    return 1;
  }
  (void)clock_gettime(TETHER__COND_CLOCK, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_cond_timedwait(&c->c, &m->m, &ts) == ETIMEDOUT ? 0 : 1;
}

void tether__cond_broadcast(tether__cond *c) { (void)pthread_cond_broadcast(&c->c); }

static void tether__thread_unref(tether__thread *t) {
  if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
    free(t);
}

static void *tether__thread_main(void *arg) {
  tether__thread *t = (tether__thread *)arg;
  t->fn(t->arg);
  tether__thread_unref(t);
  return NULL;
}

int tether__thread_start(tether__thread **out, void (*fn)(void *), void *arg) {
  sigset_t all, old;
  int r;
  tether__thread *t = (tether__thread *)malloc(sizeof(*t));
  if (t == NULL)
    return TETHER_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  t->refs = 2;
  /* tether's threads block every signal, so that they never steal a signal
   * that the program expects on one of its own threads. */
  sigfillset(&all);
  (void)pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&t->tid, NULL, tether__thread_main, t);
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    free(t);
    return tether__translate_os_error(r);
  }
  *out = t;
  return 0;
}

void tether__thread_join(tether__thread *t) {
  (void)pthread_join(t->tid, NULL);
  tether__thread_unref(t); /* the thread has dropped its reference */
}

/* The struct is freed by whichever of the handle and the thread is last. */
void tether__thread_detach(tether__thread *t) {
  (void)pthread_detach(t->tid);
  tether__thread_unref(t);
}

int tether__thread_is_self(const tether__thread *t) {
  return pthread_equal(t->tid, pthread_self()) != 0;
}

void tether__thread_forget(tether__thread *t) { free(t); }

void tether__yield(void) { (void)sched_yield(); }

uint64_t tether__now_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
