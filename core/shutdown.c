/* SPDX-License-Identifier: MIT */
/*
 * The shutdown policy: first event = graceful (cancel the token), the
 * force_count-th = exit now, optional grace timer, optional swallowing; and
 * tether_main(), which decides the exit status in one place.
 *
 * The policy runs on a thread of its own that waits on a channel, so that a
 * second Ctrl+C forces the exit even while the program's threads are busy
 * or blocked. A forced exit goes through tether__os_exit_now(), which takes
 * no lock and flushes nothing (another thread may hold stdio's lock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "deadline.h"

/* Events the OS waits for an acknowledgement of (one of each kind). */
#define TETHER__SD_MAX_ACK 4

struct tether_shutdown {
  tether_shutdown_options o;
  tether_channel *ch;
  tether_token *token;
  tether__thread *thr;
  tether__mutex *lock;
  /* lock: */
  int started;
  tether_event first;
  uint64_t first_read_ns;
  tether_event acks[TETHER__SD_MAX_ACK];
  int nacks;
  /* the thread only: */
  uint64_t seen; /* deliveries counted so far */
};

/* At most one policy per process (global lock). */
static tether_shutdown *tether__sd_current;

/* TETHER_KIND_BIT() of every kind whose row (core/kinds.c) has flag. */
static unsigned tether__sd_kinds(unsigned flag) {
  unsigned bits = 0;
  int k;
  for (k = 1; k < TETHER__KIND_COUNT; k++)
    if (tether__kind_has(k, flag))
      bits |= TETHER_KIND_BIT(k);
  return bits;
}

/* Does the OS wait for this event to be acknowledged? */
static int tether__needs_ack(const tether_event *ev) { return ev->time_left_ms >= 0; }

static void tether__sd_notify(tether_shutdown *s, int action, const tether_event *ev) {
  if (s->o.notify != NULL)
    s->o.notify(action, ev, s->o.userdata);
}

static void tether__sd_thread(void *arg) {
  tether_shutdown *s = (tether_shutdown *)arg;
  uint64_t deadline = 0;
  tether_event ev;
  int r, force = s->o.force_count > 0 ? s->o.force_count : 2;
  for (;;) {
    int timeout = -1;
    if (deadline != 0) {
      timeout = tether__ms_left(1, deadline);
      if (timeout == 0) {
        tether_event first;
        tether__mutex_lock(s->lock);
        first = s->first;
        tether__mutex_unlock(s->lock);
        tether__sd_notify(s, TETHER_SHUTDOWN_GRACE_EXPIRED, &first);
        tether__os_exit_now(first.kind, first.code);
      }
    }
    r = tether_channel_wait(s->ch, &ev, timeout);
    if (r == 0)
      continue; /* the grace deadline: checked above */
    if (r < 0)
      break; /* TETHER_ECLOSED: tether_shutdown_free() */
    s->seen += ev.count;
    tether__mutex_lock(s->lock);
    if (tether__needs_ack(&ev) && s->nacks < TETHER__SD_MAX_ACK)
      s->acks[s->nacks++] = ev;
    if (!s->started) {
      s->started = 1;
      s->first = ev;
      s->first_read_ns = tether__now_ns();
      tether__mutex_unlock(s->lock);
      if ((s->o.flags & TETHER_SHUTDOWN_SWALLOW) || s->seen < (uint64_t)force) {
        /* Graceful. (When this very event forces the exit, the token is
         * not cancelled: no clean-up should start that cannot finish.) */
        (void)tether_token_cancel_event(s->token, &ev);
        if (s->o.grace_ms > 0)
          deadline = tether__now_ns() + (uint64_t)s->o.grace_ms * 1000000u;
        tether__sd_notify(s, TETHER_SHUTDOWN_STARTED, &ev);
        continue;
      }
    } else {
      tether__mutex_unlock(s->lock);
      if ((s->o.flags & TETHER_SHUTDOWN_SWALLOW) || s->seen < (uint64_t)force) {
        tether__sd_notify(s, TETHER_SHUTDOWN_REPEATED, &ev);
        continue;
      }
    }
    tether__sd_notify(s, TETHER_SHUTDOWN_FORCED, &ev);
    tether__os_exit_now(ev.kind, ev.code);
  }
}

static void tether__sd_destroy(tether_shutdown *s) {
  tether_channel_free(s->ch);
  tether_token_free(s->token);
  if (s->lock != NULL)
    tether__mutex_free(s->lock);
  free(s);
}

int tether_shutdown_new(tether_shutdown **out, const tether_shutdown_options *opts) {
  static const tether_shutdown_options none = TETHER_SHUTDOWN_OPTIONS_INIT;
  tether_shutdown *s;
  unsigned kinds;
  int r, k, explicit_kinds;
  if (out != NULL)
    *out = NULL;
  if (opts == NULL)
    opts = &none;
  /* Version 1 is the only one so far: s->o = *opts below copies all of
   * it; a later version copies only what opts->version has. */
  if (out == NULL || !TETHER__VERSION_KNOWN(opts->version, TETHER_SHUTDOWN_OPTIONS_VERSION) ||
      (opts->kinds & ~tether__sd_kinds(TETHER__K_POLICY)) != 0 || opts->force_count < 0 ||
      opts->grace_ms < 0 || (opts->flags & ~(unsigned)TETHER_SHUTDOWN_SWALLOW) != 0 ||
      ((opts->flags & TETHER_SHUTDOWN_SWALLOW) && opts->force_count != 0))
    return TETHER_EINVAL;
  explicit_kinds = opts->kinds != 0;
  kinds = explicit_kinds ? opts->kinds : tether__sd_kinds(TETHER__K_POLICY_DEFAULT);

  s = (tether_shutdown *)calloc(1, sizeof(*s));
  if (s == NULL)
    return TETHER_ENOMEM;
  s->o = *opts;
  tether__global_lock();
  if (tether__sd_current != NULL) {
    tether__global_unlock();
    free(s);
    return TETHER_EBUSY;
  }
  tether__sd_current = s;
  tether__global_unlock();

  if ((r = tether__mutex_new(&s->lock)) < 0 || (r = tether_token_new(&s->token, NULL)) < 0 ||
      (r = tether_channel_new(&s->ch, NULL)) < 0)
    goto fail;
  for (k = 1; k < TETHER__KIND_COUNT; k++) {
    if (!(kinds & TETHER_KIND_BIT(k)))
      continue;
    r = tether_channel_watch(s->ch, k, 0);
    if (r < 0 && !explicit_kinds && (r == TETHER_ENOTSUP || r == TETHER_EIGNORED))
      r = 0; /* the default set leaves out what this process cannot get */
    if (r < 0)
      goto fail;
  }
  if ((r = tether__thread_start(&s->thr, tether__sd_thread, s)) < 0)
    goto fail;
  *out = s;
  return 0;
fail:
  tether__sd_destroy(s);
  tether__global_lock();
  tether__sd_current = NULL;
  tether__global_unlock();
  return r;
}

tether_token *tether_shutdown_token(tether_shutdown *s) { return s == NULL ? NULL : s->token; }

int64_t tether_shutdown_time_left_ms(const tether_shutdown *s) {
  int64_t left = -1;
  tether_shutdown *m = (tether_shutdown *)s;
  if (s == NULL)
    return TETHER_EINVAL;
  tether__mutex_lock(m->lock);
  if (m->started && tether__needs_ack(&m->first)) {
    uint64_t spent = (tether__now_ns() - m->first_read_ns) / 1000000u;
    left = m->first.time_left_ms - (int64_t)spent;
    if (left < 0)
      left = 0;
  }
  tether__mutex_unlock(m->lock);
  return left;
}

int tether_shutdown_done(tether_shutdown *s) {
  tether_event acks[TETHER__SD_MAX_ACK];
  int n, i;
  if (s == NULL)
    return TETHER_EINVAL;
  tether__mutex_lock(s->lock);
  n = s->nacks;
  memcpy(acks, s->acks, sizeof(acks));
  s->nacks = 0;
  tether__mutex_unlock(s->lock);
  for (i = 0; i < n; i++)
    (void)tether_channel_ack(s->ch, &acks[i]);
  return 0;
}

void tether_shutdown_free(tether_shutdown *s) {
  if (s == NULL)
    return;
  (void)tether_channel_close(s->ch); /* the thread's wait says ECLOSED */
  tether__thread_join(s->thr);
  tether__sd_destroy(s);
  tether__global_lock();
  tether__sd_current = NULL;
  tether__global_unlock();
}

int tether_main(const tether_shutdown_options *opts, tether_main_fn run, void *userdata) {
  tether_shutdown *s;
  tether_cause cause;
  int r, code;
  if (run == NULL)
    return TETHER_EINVAL;
  if ((r = tether_shutdown_new(&s, opts)) < 0)
    return r;
  code = run(s->token, userdata);
  /* Children hung on the token finish their stop sequences first. */
  (void)tether_token_wait_stopped(s->token, -1);
  if (tether_token_cause(s->token, &cause) == 1 && cause.source == TETHER_CAUSE_EVENT) {
    /* Die like the event: its native signal (POSIX), else its kind. The
     * policy stays installed until the end, so a second Ctrl+C during the
     * flush still forces. */
    (void)tether_exit_like_signal(cause.event.code);
    (void)tether_exit_like_kind(cause.event.kind);
  }
  tether_shutdown_free(s);
  exit(code);
}

/* ---- the bounded flush of the exit helpers ------------------------------ */

typedef struct tether__flush_job {
  FILE *stream; /* NULL: all */
  tether__mutex *lock;
  tether__cond *cond;
  int done;          /* lock */
  volatile int refs; /* atomic: the caller and the thread */
} tether__flush_job;

static void tether__flush_job_unref(tether__flush_job *j) {
  if (tether__add_int(&j->refs, -1) == 0) {
    tether__cond_free(j->cond);
    tether__mutex_free(j->lock);
    free(j);
  }
}

static void tether__flush_main(void *arg) {
  tether__flush_job *j = (tether__flush_job *)arg;
  (void)fflush(j->stream);
  tether__mutex_lock(j->lock);
  j->done = 1;
  tether__cond_broadcast(j->cond);
  tether__mutex_unlock(j->lock);
  tether__flush_job_unref(j);
}

static void tether__flush_one(FILE *stream, int timeout_ms) {
  uint64_t deadline = tether__deadline(timeout_ms);
  tether__flush_job *j = (tether__flush_job *)calloc(1, sizeof(*j));
  tether__thread *t;
  if (j == NULL)
    return;
  if (tether__mutex_new(&j->lock) < 0 || tether__cond_new(&j->cond) < 0) {
    if (j->lock != NULL)
      tether__mutex_free(j->lock);
    free(j);
    return;
  }
  j->stream = stream;
  j->refs = 2;
  if (tether__thread_start(&t, tether__flush_main, j) < 0) {
    j->refs = 1;
    tether__flush_job_unref(j);
    return;
  }
  tether__thread_detach(t); /* it may stay blocked until the process ends */
  tether__mutex_lock(j->lock);
  while (!j->done) {
    int left = tether__ms_left(timeout_ms, deadline);
    if (left == 0)
      break;
    (void)tether__cond_wait(j->cond, j->lock, left);
  }
  tether__mutex_unlock(j->lock);
  tether__flush_job_unref(j);
}

void tether__flush_all(int timeout_ms) {
  tether__flush_one(stdout, timeout_ms);
  tether__flush_one(stderr, timeout_ms);
  tether__flush_one(NULL, timeout_ms);
}
