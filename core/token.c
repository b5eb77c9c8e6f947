/* SPDX-License-Identifier: MIT */
/*
 * Cancellation tokens: a flag set once, with its cause; a tree of tokens
 * (children are cancelled with their parent); tethered children owned by a
 * token are stopped with their stop sequence when it is cancelled.
 *
 * Locking: one process-wide token lock (created on first use) protects the
 * token tree, every token's cause/bell/owned list and tether_child.owner.
 * It is never held across an OS call that may block: the stop thread marks
 * the entries it works on busy, drops the lock, signals and checks, and
 * takes the lock again; tether_child_free() waits for a busy entry before
 * removing it. The cancelled flag itself is an atomic, so that
 * tether_token_cancelled() is one load.
 */
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "deadline.h"
#include "stop.h"

#define TETHER__TOK_CANCELLED 1
#define TETHER__TOK_CLOSED 2

/* A tree whose leader has exited but whose other processes live on sends no
 * notification (they are not this process's children): the stop thread
 * looks at such trees again after 1 ms, then less and less often, at most
 * every 50 ms. Nothing else is polled: the thread sleeps until the next
 * step's deadline or an owned child's exit (tether__token_child_exited). */
#define TETHER__STOP_LINGER_MIN_MS 1
#define TETHER__STOP_LINGER_MAX_MS 50

typedef struct tether__owned {
  tether_child *child;
  tether_token *token;
  tether__stop stop; /* the sequence and the engine's state (core/stop.c):
                        nothing is sent before the token is cancelled;
                        stop.done: the tree is gone */
  int busy;          /* the stop thread works on it without the lock */
  struct tether__owned *next;
} tether__owned;

struct tether_token {
  volatile int state;                         /* TETHER__TOK_* bits; atomic */
  tether_cause cause;                         /* lock; set once */
  char *reason;                               /* owned copy behind cause.reason */
  tether__bell *bell;                         /* lock; created by tether_token_handle() */
  tether_token *parent, *first, *next, *prev; /* lock: the tree */
  tether__owned *owned;                       /* lock */
  int stopper;                                /* lock: the stop thread runs */
  int quit;                                   /* lock: the stop thread must end */
  int waiters;                                /* lock: threads in tether_token_wait*() */
  int kick;                                   /* lock: an owned child exited, or one was attached */
  unsigned fork_gen;                          /* tether__fork_generation() when made */
};

static tether__mutex *volatile tether__tok_lock;
static tether__cond *tether__tok_cond;

static int tether__tok_init(void) {
  int r = 0;
  if (tether__load_ptr((void *volatile *)&tether__tok_lock) != NULL)
    return 0;
  tether__global_lock();
  if (tether__tok_lock == NULL) {
    tether__mutex *m = NULL;
    tether__cond *c = NULL;
    if ((r = tether__mutex_new(&m)) == 0 && (r = tether__cond_new(&c)) == 0) {
      tether__tok_cond = c;
      tether__store_ptr((void *volatile *)&tether__tok_lock, m);
    } else if (m != NULL) {
      tether__mutex_free(m);
    }
  }
  tether__global_unlock();
  return r;
}

static int tether__tok_inherited(const tether_token *t);

static void tether__tok_lock_take(void) { tether__mutex_lock(tether__tok_lock); }
static void tether__tok_lock_drop(void) { tether__mutex_unlock(tether__tok_lock); }

/* A waiter leaves (lock held); tether_token_free() waits for the last. */
static void tether__tok_leave_locked(tether_token *t) {
  if (--t->waiters == 0 && (tether__load_int(&t->state) & TETHER__TOK_CLOSED))
    tether__cond_broadcast(tether__tok_cond);
}

static int tether__tok_state(const tether_token *t) {
  return tether__load_int((volatile int *)&t->state);
}

static void tether__tok_set(tether_token *t, int bits) {
  int old = tether__load_int(&t->state);
  (void)tether__add_int(&t->state, bits & ~old);
}

static char *tether__strdup(const char *s) {
  size_t n;
  char *d;
  if (s == NULL)
    return NULL;
  n = strlen(s) + 1;
  d = (char *)malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

/* ---- the stop thread ---------------------------------------------------- */

/* Does t own a tree that is not gone yet? Lock held. */
static int tether__subtree_has_work_here(const tether_token *t) {
  const tether__owned *e;
  for (e = t->owned; e != NULL; e = e->next)
    if (!e->stop.done)
      return 1;
  return 0;
}

/* The stop thread of a cancelled token: every round looks at every owned
 * tree that is not gone (all of them get each step at once), then sleeps
 * until the earliest step deadline, an owned child's exit, a new attachment,
 * or (trees whose leader has exited) the next look. */
static void tether__stop_thread(void *arg) {
  tether_token *t = (tether_token *)arg;
  tether__owned *e, **batch = NULL, *one[1];
  size_t n, i, cap = 0;
  int linger_ms = 0;
  tether__tok_lock_take();
  for (;;) {
    uint64_t wake = UINT64_MAX, now;
    int lingering = 0;
    if (t->quit)
      break;
    n = 0;
    for (e = t->owned; e != NULL; e = e->next)
      n += !e->stop.done;
    if (n == 0)
      break;
    if (n > cap) {
      tether__owned **b = (tether__owned **)realloc(batch, n * sizeof(*b));
      if (b != NULL) {
        batch = b;
        cap = n;
      }
    }
    {
      tether__owned **into = cap > 0 ? batch : one;
      size_t room = cap > 0 ? cap : 1; /* no memory: a tree at a time */
      n = 0;
      for (e = t->owned; e != NULL && n < room; e = e->next)
        if (!e->stop.done) {
          e->busy = 1; /* tether_child_free() waits; nobody unlinks it */
          into[n++] = e;
        }
      t->kick = 0;
      tether__tok_lock_drop();
      for (i = 0; i < n; i++) {
        /* One look at one owned tree, without the lock (the entry is busy):
         * 1 when its leader has exited but the rest of it lives on. */
        lingering |= tether__stop_work(&into[i]->stop, tether__now_ns());
        if (!into[i]->stop.done && !into[i]->stop.killed && into[i]->stop.deadline < wake)
          wake = into[i]->stop.deadline;
      }
      tether__tok_lock_take();
      for (i = 0; i < n; i++)
        into[i]->busy = 0;
    }
    tether__cond_broadcast(tether__tok_cond);
    if (!tether__subtree_has_work_here(t) || t->quit)
      break;
    if (lingering) {
      linger_ms = linger_ms == 0 ? TETHER__STOP_LINGER_MIN_MS : linger_ms * 2;
      if (linger_ms > TETHER__STOP_LINGER_MAX_MS)
        linger_ms = TETHER__STOP_LINGER_MAX_MS;
      now = tether__now_ns();
      if (wake > now + (uint64_t)linger_ms * 1000000u)
        wake = now + (uint64_t)linger_ms * 1000000u;
    } else {
      linger_ms = 0;
    }
    /* Sleep; other tokens' broadcasts wake it too: sleep on. */
    while (!t->kick && !t->quit && (now = tether__now_ns()) < wake) {
      int ms = -1;
      if (wake != UINT64_MAX) {
        uint64_t left = (wake - now + 999999u) / 1000000u;
        ms = left > 1000000u ? 1000000 : (int)left;
      }
      (void)tether__cond_wait(tether__tok_cond, tether__tok_lock, ms);
    }
  }
  free(batch);
  t->stopper = 0;
  tether__cond_broadcast(tether__tok_cond);
  tether__tok_lock_drop();
}

/* Core (core/child.c): c has exited; if a token owns it, its stop thread
 * looks at once. */
void tether__token_child_exited(tether_child *c) {
  tether__owned *e;
  if (tether__load_ptr((void *volatile *)&tether__tok_lock) == NULL)
    return; /* no token was ever made */
  tether__tok_lock_take();
  e = (tether__owned *)c->owner;
  if (e != NULL && e->token->stopper) {
    e->token->kick = 1;
    tether__cond_broadcast(tether__tok_cond);
  }
  tether__tok_lock_drop();
}

/* Start the stop thread of a cancelled token that owns unfinished trees.
 * Lock held. */
static int tether__stop_start(tether_token *t) {
  tether__owned *e;
  tether__thread *thr;
  int r, work = 0;
  if (t->stopper || t->quit)
    return 0;
  for (e = t->owned; e != NULL; e = e->next)
    if (!e->stop.done)
      work = 1;
  if (!work)
    return 0;
  if ((r = tether__thread_start(&thr, tether__stop_thread, t)) < 0)
    return r;
  t->stopper = 1;
  tether__thread_detach(thr); /* it says goodbye through t->stopper */
  return 0;
}

/* ---- the tree ----------------------------------------------------------- */

static void tether__tok_unlink(tether_token *t) {
  if (t->parent != NULL) {
    if (t->prev != NULL)
      t->prev->next = t->next;
    else
      t->parent->first = t->next;
    if (t->next != NULL)
      t->next->prev = t->prev;
  }
  t->parent = t->next = t->prev = NULL;
}

/* Cancel t (already holding its cause) and everything below it. Lock held.
 * Returns the first error starting a stop thread. */
static int tether__tok_cancel_locked(tether_token *t) {
  tether_token *k;
  int r, first_err = 0;
  tether__tok_set(t, TETHER__TOK_CANCELLED);
  if (t->bell != NULL)
    tether__bell_ring(t->bell);
  if ((r = tether__stop_start(t)) < 0)
    first_err = r;
  for (k = t->first; k != NULL; k = k->next) {
    if (tether__tok_state(k) & (TETHER__TOK_CANCELLED | TETHER__TOK_CLOSED))
      continue;
    k->cause = t->cause;
    k->cause.inherited = 1;
    k->reason = tether__strdup(t->reason);
    k->cause.reason = k->reason;
    r = tether__tok_cancel_locked(k);
    if (r < 0 && first_err == 0)
      first_err = r;
  }
  return first_err;
}

int tether_token_new(tether_token **out, tether_token *parent) {
  tether_token *t;
  int r;
  if (out != NULL)
    *out = NULL;
  if (out == NULL)
    return TETHER_EINVAL;
  if ((r = tether__tok_init()) < 0)
    return r;
  tether__os_fork_init();
  t = (tether_token *)calloc(1, sizeof(*t));
  if (t == NULL)
    return TETHER_ENOMEM;
  t->fork_gen = tether__fork_generation();
  if (parent != NULL) {
    tether__tok_lock_take();
    if (tether__tok_state(parent) & TETHER__TOK_CLOSED) {
      tether__tok_lock_drop();
      free(t);
      return TETHER_ECLOSED;
    }
    t->parent = parent;
    t->next = parent->first;
    if (parent->first != NULL)
      parent->first->prev = t;
    parent->first = t;
    if (tether__tok_state(parent) & TETHER__TOK_CANCELLED) {
      t->cause = parent->cause;
      t->cause.inherited = 1;
      t->reason = tether__strdup(parent->reason);
      t->cause.reason = t->reason;
      tether__tok_set(t, TETHER__TOK_CANCELLED);
    }
    tether__tok_lock_drop();
  }
  *out = t;
  return 0;
}

static int tether__tok_cancel(tether_token *t, const tether_cause *cause, const char *reason) {
  char *copy = NULL;
  int r;
  if (reason != NULL && (copy = tether__strdup(reason)) == NULL)
    r = TETHER_ENOMEM;
  else
    r = 0;
  tether__tok_lock_take();
  if (tether__tok_state(t) & (TETHER__TOK_CLOSED | TETHER__TOK_CANCELLED)) {
    int e = (tether__tok_state(t) & TETHER__TOK_CLOSED) ? TETHER_ECLOSED : TETHER_ECANCELED;
    tether__tok_lock_drop();
    free(copy);
    return e;
  }
  t->cause = *cause;
  t->reason = copy;
  t->cause.reason = copy;
  {
    int e = tether__tok_cancel_locked(t);
    if (r == 0)
      r = e;
  }
  tether__cond_broadcast(tether__tok_cond);
  tether__tok_lock_drop();
  return r;
}

int tether_token_cancel(tether_token *t, int code, const char *reason) {
  tether_cause c;
  if (t == NULL)
    return TETHER_EINVAL;
  memset(&c, 0, sizeof(c));
  c.source = TETHER_CAUSE_PROGRAM;
  c.code = code;
  return tether__tok_cancel(t, &c, reason);
}

int tether_token_cancel_event(tether_token *t, const tether_event *ev) {
  tether_cause c;
  if (t == NULL || ev == NULL || !tether__kind_has(ev->kind, 0))
    return TETHER_EINVAL;
  memset(&c, 0, sizeof(c));
  c.source = TETHER_CAUSE_EVENT;
  c.event = *ev;
  c.event.child = NULL; /* may be freed long before the token */
  /* tether zeroes the room it keeps for later fields (docs/abi.md), also
   * when the caller's event had something there. */
  memset(c.event.reserved, 0, sizeof(c.event.reserved));
  memset(c.event.exit.reserved, 0, sizeof(c.event.exit.reserved));
  return tether__tok_cancel(t, &c, NULL);
}

int tether_token_cancelled(const tether_token *t) {
  int s;
  if (t == NULL)
    return TETHER_EINVAL;
  s = tether__tok_state(t);
  if (s & TETHER__TOK_CLOSED)
    return TETHER_ECLOSED;
  return (s & TETHER__TOK_CANCELLED) ? 1 : 0;
}

int tether_token_cause(const tether_token *t, tether_cause *out) {
  int r;
  if (out != NULL)
    memset(out, 0, sizeof(*out));
  if (t == NULL || out == NULL)
    return TETHER_EINVAL;
  tether__tok_lock_take();
  r = tether_token_cancelled(t);
  if (r == 1)
    *out = t->cause;
  tether__tok_lock_drop();
  return r;
}

/* tether__tok_wait()'s answer from a condition that is not met yet. */
#define TETHER__TOK_NOT_YET 2

/* Wait on the tokens' condition until ready(t) (called with the lock held)
 * gives an answer other than TETHER__TOK_NOT_YET, which is returned, or
 * until the timeout: 0 then. */
static int tether__tok_wait(tether_token *t, int timeout_ms, int (*ready)(tether_token *)) {
  uint64_t deadline = tether__deadline(timeout_ms);
  int r;
  if (t == NULL)
    return TETHER_EINVAL;
  tether__tok_lock_take();
  t->waiters++;
  for (;;) {
    int left;
    if ((r = ready(t)) != TETHER__TOK_NOT_YET)
      break;
    left = tether__ms_left(timeout_ms, deadline);
    if (left == 0) {
      r = 0;
      break;
    }
    (void)tether__cond_wait(tether__tok_cond, tether__tok_lock, left);
  }
  tether__tok_leave_locked(t);
  tether__tok_lock_drop();
  return r;
}

/* tether_token_wait(): cancelled (1), or closed (an error). */
static int tether__tok_cancel_seen(tether_token *t) {
  int r = tether_token_cancelled(t);
  return r == 0 ? TETHER__TOK_NOT_YET : r;
}

int tether_token_wait(tether_token *t, int timeout_ms) {
  return tether__tok_wait(t, timeout_ms, tether__tok_cancel_seen);
}

tether_os_handle tether_token_handle(tether_token *t) {
  tether_os_handle h = tether__bell_handle(NULL);
  if (t == NULL)
    return h;
  tether__tok_lock_take();
  if (!(tether__tok_state(t) & TETHER__TOK_CLOSED)) {
    if (t->bell == NULL && tether__bell_open(&t->bell) == 0 &&
        (tether__tok_state(t) & TETHER__TOK_CANCELLED))
      tether__bell_ring(t->bell);
    if (t->bell != NULL)
      h = tether__bell_handle(t->bell);
  }
  tether__tok_lock_drop();
  return h;
}

int tether_token_attach(tether_token *t, tether_child *c, const tether_stop_step *steps,
                        size_t nsteps) {
  tether__owned *e;
  int r = 0;
  if (t == NULL || c == NULL || (c->flags & TETHER_SPAWN_DETACHED) ||
      tether__stop_steps(&steps, &nsteps) < 0)
    return TETHER_EINVAL;
  e = (tether__owned *)calloc(1, sizeof(*e));
  if (e == NULL)
    return TETHER_ENOMEM;
  tether__stop_begin(&e->stop, c, steps, nsteps);
  e->child = c;
  e->token = t;
  tether__tok_lock_take();
  if (tether__tok_state(t) & TETHER__TOK_CLOSED)
    r = TETHER_ECLOSED;
  else if (c->owner != NULL)
    r = TETHER_EINVAL;
  if (r < 0) {
    tether__tok_lock_drop();
    free(e);
    return r;
  }
  e->next = t->owned;
  t->owned = e;
  c->owner = e;
  if (tether__tok_state(t) & TETHER__TOK_CANCELLED) {
    t->kick = 1; /* a running stop thread takes it at once */
    tether__cond_broadcast(tether__tok_cond);
    r = tether__stop_start(t);
  }
  if (r < 0) { /* nobody would stop it: do not keep it */
    t->owned = e->next;
    c->owner = NULL;
    free(e);
  }
  tether__tok_lock_drop();
  return r;
}

/* Lock held. */
static int tether__subtree_has_work(tether_token *t) {
  tether__owned *e;
  tether_token *k;
  if (t->stopper)
    return 1;
  for (e = t->owned; e != NULL; e = e->next)
    if (!e->stop.done)
      return 1;
  for (k = t->first; k != NULL; k = k->next)
    if ((tether__tok_state(k) & TETHER__TOK_CANCELLED) && tether__subtree_has_work(k))
      return 1;
  return 0;
}

/* tether_token_wait_stopped(): not cancelled (0) or closed (an error) at
 * once; else 1 once no stop of the token's subtree is in progress. */
static int tether__tok_stop_seen(tether_token *t) {
  int r = tether_token_cancelled(t);
  if (r <= 0)
    return r;
  return tether__subtree_has_work(t) ? TETHER__TOK_NOT_YET : 1;
}

int tether_token_wait_stopped(tether_token *t, int timeout_ms) {
  return tether__tok_wait(t, timeout_ms, tether__tok_stop_seen);
}

void tether__token_disown(tether_child *c) {
  tether__owned *e, **pp;
  if (tether__load_ptr((void *volatile *)&tether__tok_lock) == NULL)
    return; /* no token was ever made */
  tether__tok_lock_take();
  e = (tether__owned *)c->owner;
  if (e != NULL) {
    while (e->busy && !tether__tok_inherited(e->token)) /* else: no stop thread here */
      (void)tether__cond_wait(tether__tok_cond, tether__tok_lock, -1);
    for (pp = &e->token->owned; *pp != NULL; pp = &(*pp)->next)
      if (*pp == e) {
        *pp = e->next;
        break;
      }
    c->owner = NULL;
    free(e);
    tether__cond_broadcast(tether__tok_cond);
  }
  tether__tok_lock_drop();
}

int tether_token_close(tether_token *t) {
  tether_token *k;
  tether__owned *e;
  if (t == NULL)
    return TETHER_EINVAL;
  tether__tok_lock_take();
  if (tether__tok_state(t) & TETHER__TOK_CLOSED) {
    tether__tok_lock_drop();
    return TETHER_ECLOSED;
  }
  if (tether__tok_inherited(t)) {
    /* Made before a fork(): its stop thread and its waiters stayed in the
     * parent. Nothing here will ever clear their marks. */
    t->stopper = 0;
    t->waiters = 0;
    for (e = t->owned; e != NULL; e = e->next)
      e->busy = 0;
  }
  tether__tok_set(t, TETHER__TOK_CLOSED);
  tether__tok_unlink(t);
  while ((k = t->first) != NULL)
    tether__tok_unlink(k);
  t->quit = 1;
  tether__cond_broadcast(tether__tok_cond);
  while (t->stopper)
    (void)tether__cond_wait(tether__tok_cond, tether__tok_lock, -1);
  while ((e = t->owned) != NULL) {
    t->owned = e->next;
    e->child->owner = NULL;
    free(e);
  }
  if (t->bell != NULL) {
    tether__bell_free(t->bell);
    t->bell = NULL;
  }
  tether__cond_broadcast(tether__tok_cond); /* wake waiters: ECLOSED */
  tether__tok_lock_drop();
  return 0;
}

void tether_token_free(tether_token *t) {
  if (t == NULL)
    return;
  (void)tether_token_close(t); /* wakes the waiters: TETHER_ECLOSED */
  tether__tok_lock_take();
  while (t->waiters > 0)
    (void)tether__cond_wait(tether__tok_cond, tether__tok_lock, -1);
  tether__tok_lock_drop();
  free(t->reason);
  free(t);
}

int tether__token_waiters(tether_token *t) {
  int n;
  tether__tok_lock_take();
  n = t->waiters;
  tether__tok_lock_drop();
  return n;
}

/* ---- fork() ------------------------------------------------------------- */

void tether__tok_fork_prepare(void) {
  if (tether__tok_lock != NULL)
    tether__tok_lock_take();
}

void tether__tok_fork_parent(void) {
  if (tether__tok_lock != NULL)
    tether__tok_lock_drop();
}

void tether__tok_fork_child(void) {
  if (tether__tok_lock != NULL)
    tether__tok_lock_drop();
}

/* Made in an ancestor process: its stop thread and waiters are not here. */
static int tether__tok_inherited(const tether_token *t) {
  return t->fork_gen != tether__fork_generation();
}
