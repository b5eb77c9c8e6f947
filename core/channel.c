/* SPDX-License-Identifier: MIT */
/*
 * The notification channel, portable part.
 *
 * Design (docs/events.md has the long version):
 *   - Every native source (a signal number, a console event, a window
 *     message, tether's own child notifications) has process-wide lock-free
 *     state: a delivery counter that only grows, the packed sender of the
 *     latest delivery, and its time. Signal handlers write only this state.
 *   - Every open channel occupies one slot of a fixed table: an atomic
 *     bitmask of the sources it watches and an atomic pointer to its
 *     doorbell. After recording a delivery, the handler rings the doorbell
 *     of every slot whose mask has the source. The doorbell carries no
 *     payload, so a full pipe loses nothing.
 *   - A channel remembers, per source, the counter value it has reported
 *     ("seen"). Reading = drain the doorbell, then compare counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "deadline.h"

#define TETHER__MAX_CHANNELS 128
#define TETHER__WORDS (TETHER__NSRC / 64)

typedef struct tether__src_state {
  volatile uint64_t count;       /* deliveries so far */
  volatile uint64_t sender;      /* pid (high 32) | uid (low 32); ~0 unknown */
  volatile uint64_t time_ns;     /* latest delivery */
  volatile uint64_t deadline_ns; /* OS deadline for NEEDS_ACK sources, or 0 */
} tether__src_state;

typedef struct tether__slot {
  volatile uint64_t watch[TETHER__WORDS];
  void *volatile bell;   /* tether__bell *, NULL when free */
  tether_channel *owner; /* global lock */
} tether__slot;

struct tether_channel {
  tether__mutex *lock;
  tether__cond *cond; /* waiters leaving, callback stop */
  tether__bell *bell;
  int slot;
  int closed;                              /* lock */
  int waiters;                             /* lock: threads inside tether__bell_wait */
  int rr;                                  /* lock: next source to look at */
  uint64_t seen[TETHER__NSRC];             /* lock */
  unsigned char ack_pending[TETHER__NSRC]; /* tether__ack_lock */
  tether_event_cb callback;
  void *userdata;
  tether__thread *thread;        /* callback thread */
  tether_child *bound;           /* global lock: children that report here */
  tether_child *q_head, *q_tail; /* lock: exited children not yet read */
  int thread_running;            /* lock: the callback thread has not finished */
  int free_on_exit;              /* lock: freed by the callback thread when it ends */
  uint32_t magic;                /* TETHER__CH_LIVE until released (not at offset 0:
                                    free() writes its own links there) */
};

#define TETHER__CH_LIVE 0x43484e4cu /* "CHNL" */
#define TETHER__CH_GONE 0xdeadc4a1u

/* A double free or close-after-free is undefined, but a silent hang on a
 * freed lock is the worst way to fail: say what happened and abort. Best
 * effort (the memory may have been reused). */
static void tether__ch_check(const tether_channel *ch, const char *fn) {
  if (ch->magic != TETHER__CH_LIVE) {
    fprintf(stderr, "tether: %s(%p): not a live channel (freed twice?)\n", fn, (const void *)ch);
    abort();
  }
}

static tether__src_state tether__src[TETHER__NSRC];
static volatile int tether__refs[TETHER__NSRC]; /* written under global lock */
static tether__slot tether__slots[TETHER__MAX_CHANNELS];
static volatile int tether__slot_hw;  /* slots [0, hw) may be in use */
static volatile int tether__inflight; /* tether__deliver calls running */

/* Acknowledgements (Windows close/logoff/shutdown). Lock order: global, then
 * ack lock, then a channel's lock. */
static tether__mutex *tether__ack_lock;
static tether__cond *tether__ack_cond;
static int tether__ack_outstanding[TETHER__NSRC];

#define TETHER__BIT(src) ((uint64_t)1 << ((unsigned)(src)&63u))
#define TETHER__WORD(src) ((unsigned)(src) >> 6)

/* ------------------------------------------------------------------------ */
/* Delivery (async-signal-safe)                                             */
/* ------------------------------------------------------------------------ */

static uint64_t tether__pack_sender(int64_t pid, int64_t uid) {
  uint64_t p = (pid < 0 || pid > 0xFFFFFFFE) ? 0xFFFFFFFFu : (uint64_t)pid;
  uint64_t u = (uid < 0 || uid > 0xFFFFFFFE) ? 0xFFFFFFFFu : (uint64_t)uid;
  return (p << 32) | u;
}

void tether__deliver(int src, int64_t pid, int64_t uid) {
  int i, hw;
  uint64_t bit;
  unsigned word;
  if (src < 0 || src >= TETHER__NSRC)
    return;
  bit = TETHER__BIT(src);
  word = TETHER__WORD(src);
  tether__add_int(&tether__inflight, 1);
  /* Payload first, counter next, doorbell last: a reader that sees the
   * counter move also sees a sender at least as new. */
  tether__store64(&tether__src[src].sender, tether__pack_sender(pid, uid));
  tether__store64(&tether__src[src].time_ns, tether__now_ns());
  tether__add64(&tether__src[src].count, 1);
  hw = tether__load_int(&tether__slot_hw);
  for (i = 0; i < hw; i++) {
    if (tether__load64(&tether__slots[i].watch[word]) & bit) {
      void *b = tether__load_ptr(&tether__slots[i].bell);
      if (b != NULL)
        tether__bell_ring((tether__bell *)b);
    }
  }
  tether__add_int(&tether__inflight, -1);
}

int tether__src_watchers(int src) {
  if (src < 0 || src >= TETHER__NSRC)
    return 0;
  return tether__load_int(&tether__refs[src]);
}

static void tether__wait_handlers_gone(void) {
  while (tether__load_int(&tether__inflight) != 0)
    tether__yield();
}

/* ------------------------------------------------------------------------ */
/* Source helpers                                                           */
/* ------------------------------------------------------------------------ */

static int tether__get_src_info(int src, tether__src_info *info) {
  if (src == TETHER__SRC_CHILD) {
    info->kind = TETHER_EVENT_CHILD;
    info->code = 0;
    info->name = "child";
    info->flags = 0;
    return 0;
  }
  return tether__os_src_info(src, info);
}

static int tether__ch_watches(const tether_channel *ch, int src) {
  return (tether__load64(&tether__slots[ch->slot].watch[TETHER__WORD(src)]) & TETHER__BIT(src)) !=
         0;
}

/* ------------------------------------------------------------------------ */
/* Acknowledgements                                                         */
/* ------------------------------------------------------------------------ */

/* Global lock held. */
static int tether__ack_init_locked(void) {
  int r;
  if (tether__ack_lock != NULL)
    return 0;
  r = tether__mutex_new(&tether__ack_lock);
  if (r < 0)
    return r;
  r = tether__cond_new(&tether__ack_cond);
  if (r < 0) {
    tether__mutex_free(tether__ack_lock);
    tether__ack_lock = NULL;
  }
  return r;
}

/* Drop ch's pending acknowledgement of src (ack lock held). */
static void tether__ack_release_locked(tether_channel *ch, int src) {
  if (!ch->ack_pending[src])
    return;
  ch->ack_pending[src] = 0;
  if (tether__ack_outstanding[src] > 0 && --tether__ack_outstanding[src] == 0)
    tether__cond_broadcast(tether__ack_cond);
}

int tether__deliver_and_wait_ack(int src, uint64_t deadline_ns) {
  int i, all;
  uint64_t now;
  if (src < 0 || src >= TETHER__NSRC)
    return 0;
  tether__global_lock();
  if (tether__ack_init_locked() < 0) {
    tether__global_unlock();
    tether__deliver(src, TETHER__UNKNOWN_ID, TETHER__UNKNOWN_ID);
    return 0;
  }
  tether__mutex_lock(tether__ack_lock);
  for (i = 0; i < tether__slot_hw; i++) {
    tether_channel *ch = tether__slots[i].owner;
    if (ch != NULL && tether__ch_watches(ch, src) && !ch->ack_pending[src]) {
      ch->ack_pending[src] = 1;
      tether__ack_outstanding[src]++;
    }
  }
  tether__global_unlock();
  tether__store64(&tether__src[src].deadline_ns, deadline_ns);
  tether__deliver(src, TETHER__UNKNOWN_ID, TETHER__UNKNOWN_ID);
  while (tether__ack_outstanding[src] > 0) {
    now = tether__now_ns();
    if (now >= deadline_ns)
      break;
    tether__cond_wait(tether__ack_cond, tether__ack_lock,
                      (int)((deadline_ns - now) / 1000000u) + 1);
  }
  all = tether__ack_outstanding[src] == 0;
  tether__mutex_unlock(tether__ack_lock);
  if (!all) {
    /* Deadline: forget the acknowledgements still owed. */
    tether__global_lock();
    tether__mutex_lock(tether__ack_lock);
    for (i = 0; i < tether__slot_hw; i++) {
      tether_channel *ch = tether__slots[i].owner;
      if (ch != NULL)
        tether__ack_release_locked(ch, src);
    }
    tether__ack_outstanding[src] = 0;
    tether__mutex_unlock(tether__ack_lock);
    tether__global_unlock();
  }
  return all;
}

/* ------------------------------------------------------------------------ */
/* Watching                                                                 */
/* ------------------------------------------------------------------------ */

/* Global lock held. */
static void tether__unwatch_src_locked(tether_channel *ch, int src) {
  tether__slot *s = &tether__slots[ch->slot];
  if (!tether__ch_watches(ch, src))
    return;
  tether__and64(&s->watch[TETHER__WORD(src)], ~TETHER__BIT(src));
  tether__refs[src]--;
  if (tether__refs[src] == 0 && src != TETHER__SRC_CHILD)
    tether__os_src_uninstall(src);
  if (tether__ack_lock != NULL) {
    tether__mutex_lock(tether__ack_lock);
    tether__ack_release_locked(ch, src);
    tether__mutex_unlock(tether__ack_lock);
  }
}

static int tether__watch_srcs(tether_channel *ch, const int *srcs, int n, unsigned flags) {
  int i, r = 0, added[8], nadded = 0;
  tether__global_lock();
  if (tether__locked_read(ch->lock, &ch->closed)) {
    r = TETHER_ECLOSED;
    goto finish;
  }
  for (i = 0; i < n; i++) {
    if (srcs[i] != TETHER__SRC_CHILD) {
      r = tether__os_src_check(srcs[i], flags);
      if (r < 0)
        goto finish;
    }
  }
  for (i = 0; i < n && nadded < 8; i++) {
    int src = srcs[i];
    if (tether__ch_watches(ch, src))
      continue;
    if (tether__refs[src] == 0 && src != TETHER__SRC_CHILD) {
      r = tether__os_src_install(src);
      if (r < 0)
        goto finish;
    }
    tether__refs[src]++;
    tether__mutex_lock(ch->lock);
    ch->seen[src] = tether__load64(&tether__src[src].count);
    tether__mutex_unlock(ch->lock);
    tether__or64(&tether__slots[ch->slot].watch[TETHER__WORD(src)], TETHER__BIT(src));
    added[nadded++] = src;
  }
  r = 0;
finish:
  if (r < 0) {
    for (i = 0; i < nadded; i++)
      tether__unwatch_src_locked(ch, added[i]);
  }
  tether__global_unlock();
  return r;
}

static int tether__kind_srcs(int kind, int *srcs, int max) {
  if (!tether__kind_has(kind, TETHER__K_WATCH))
    return TETHER_EINVAL; /* SIGNAL is watched by number */
  if (kind == TETHER_EVENT_CHILD) {
    srcs[0] = TETHER__SRC_CHILD;
    return 1;
  }
  return tether__os_kind_sources(kind, srcs, max);
}

int tether_channel_watch(tether_channel *ch, int kind, unsigned flags) {
  int srcs[8], n;
  if (ch == NULL || (flags & ~(unsigned)TETHER_WATCH_IGNORED) != 0)
    return TETHER_EINVAL;
  n = tether__kind_srcs(kind, srcs, 8);
  if (n < 0)
    return n;
  return tether__watch_srcs(ch, srcs, n, flags);
}

int tether_channel_watch_signal(tether_channel *ch, int signo, unsigned flags) {
  int src, r;
  if (ch == NULL || (flags & ~(unsigned)TETHER_WATCH_IGNORED) != 0)
    return TETHER_EINVAL;
  r = tether__os_signal_source(signo, &src);
  if (r < 0)
    return r;
  return tether__watch_srcs(ch, &src, 1, flags);
}

static int tether__unwatch_srcs(tether_channel *ch, const int *srcs, int n) {
  int i, r = 0;
  tether__global_lock();
  if (tether__locked_read(ch->lock, &ch->closed))
    r = TETHER_ECLOSED;
  else
    for (i = 0; i < n; i++)
      tether__unwatch_src_locked(ch, srcs[i]);
  tether__global_unlock();
  return r;
}

int tether_channel_unwatch(tether_channel *ch, int kind) {
  int srcs[8], n;
  if (ch == NULL)
    return TETHER_EINVAL;
  n = tether__kind_srcs(kind, srcs, 8);
  if (n < 0)
    return n;
  return tether__unwatch_srcs(ch, srcs, n);
}

int tether_channel_unwatch_signal(tether_channel *ch, int signo) {
  int src, r;
  if (ch == NULL)
    return TETHER_EINVAL;
  r = tether__os_signal_source(signo, &src);
  if (r < 0)
    return r;
  return tether__unwatch_srcs(ch, &src, 1);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

/* ch->lock held. The first watched source at or after `from` (wrapping
 * around) whose counter moved since the channel last reported it, or -1.
 * Only the watched bits are visited. */
static int tether__find_pending(const tether_channel *ch, int from) {
  int pass, w;
  for (pass = 0; pass < 2; pass++) {
    for (w = 0; w < TETHER__WORDS; w++) {
      int base = w * 64;
      uint64_t m = tether__load64(&tether__slots[ch->slot].watch[w]);
      if (pass == 0) { /* sources >= from */
        if (base + 63 < from)
          continue;
        if (from > base)
          m &= ~(uint64_t)0 << (from - base);
      } else { /* sources < from */
        if (base >= from)
          break;
        if (from - base < 64)
          m &= ((uint64_t)1 << (from - base)) - 1;
      }
      while (m != 0) {
        int src = base + tether__ctz64(m);
        m &= m - 1;
        if (tether__load64(&tether__src[src].count) != ch->seen[src])
          return src;
      }
    }
  }
  return -1;
}

/* ch->lock held. Store the oldest queued child exit; 1 if there was one. */
static int tether__take_child_locked(tether_channel *ch, tether_event *ev) {
  tether_child *c = ch->q_head;
  if (c == NULL)
    return 0;
  ch->q_head = c->q_next;
  if (ch->q_head == NULL)
    ch->q_tail = NULL;
  c->q_next = NULL;
  c->q_state = 2;
  memset(ev, 0, sizeof(*ev));
  ev->kind = TETHER_EVENT_CHILD;
  ev->code = 0;
  ev->native = "child";
  ev->count = 1;
  ev->pid = c->pid;
  ev->uid = -1;
  ev->time_ns = c->exit_ns;
  ev->time_left_ms = -1;
  ev->child = c;
  tether__child_exit_status(c, &ev->exit);
  return 1;
}

/* ch->lock held. Store the next pending event (queued child exits first,
 * then sources round robin); 1 if one was stored. */
static int tether__take_locked(tether_channel *ch, tether_event *ev) {
  int src;
  if (tether__take_child_locked(ch, ev))
    return 1;
  src = tether__find_pending(ch, ch->rr);
  uint64_t count, sender, deadline;
  tether__src_info info;
  if (src < 0 || tether__get_src_info(src, &info) < 0)
    return 0;
  count = tether__load64(&tether__src[src].count);
  sender = tether__load64(&tether__src[src].sender);
  memset(ev, 0, sizeof(*ev));
  ev->kind = info.kind;
  ev->code = info.code;
  ev->native = info.name;
  ev->count = count - ch->seen[src];
  ev->pid = (sender >> 32) == 0xFFFFFFFFu ? -1 : (int64_t)(sender >> 32);
  ev->uid = (sender & 0xFFFFFFFFu) == 0xFFFFFFFFu ? -1 : (int64_t)(sender & 0xFFFFFFFFu);
  ev->time_ns = tether__load64(&tether__src[src].time_ns);
  ev->time_left_ms = -1;
  deadline = tether__load64(&tether__src[src].deadline_ns);
  if ((info.flags & TETHER__SRC_NEEDS_ACK) && deadline != 0) {
    uint64_t now = tether__now_ns();
    ev->time_left_ms = now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000u);
  }
  ch->seen[src] = count;
  ch->rr = (src + 1) % TETHER__NSRC;
  return 1;
}

/* ch->lock held. Take one event and leave the doorbell in the right state:
 * ready while anything is pending, empty otherwise. Invariant: every
 * delivery rings after it moved its counter, and the doorbell is only
 * drained when, after the drain, nothing is pending; so "pending implies
 * ready" always holds and no ring is lost. */
static int tether__take_and_settle(tether_channel *ch, tether_event *ev) {
  if (!tether__take_locked(ch, ev))
    return 0;
  /* (The child queue only changes under ch->lock, which we hold.) */
  if (ch->q_head == NULL && tether__find_pending(ch, 0) < 0) {
    tether__bell_drain(ch->bell);
    if (tether__find_pending(ch, 0) >= 0)
      tether__bell_ring(ch->bell); /* a delivery raced with the drain */
  }
  return 1;
}

static int tether__wait(tether_channel *ch, tether_event *ev, int timeout_ms) {
  uint64_t deadline;
  int r;
  /* A stale ring (one that landed after its delivery was already reported)
   * must be drained before "nothing" is answered to a poll, or the handle
   * would stay ready forever; a blocking wait drains it only when it is
   * what woke us, which saves a read per event. */
  int need_drain = timeout_ms == 0;
  deadline = tether__deadline(timeout_ms);
  tether__mutex_lock(ch->lock);
  for (;;) {
    int remaining;
    if (ch->closed) {
      r = TETHER_ECLOSED;
      break;
    }
    /* Look first: in the common case the counters already say what woke
     * us, and the doorbell is read once, when the last event is taken. */
    if (tether__take_and_settle(ch, ev)) {
      r = 1;
      break;
    }
    if (need_drain) {
      /* Then look again for a delivery that raced with the drain. */
      tether__bell_drain(ch->bell);
      if (tether__take_and_settle(ch, ev)) {
        r = 1;
        break;
      }
    }
    remaining = tether__ms_left(timeout_ms, deadline);
    if (remaining == 0) {
      r = 0;
      break;
    }
    ch->waiters++;
    tether__mutex_unlock(ch->lock);
    r = tether__bell_wait(ch->bell, remaining);
    tether__mutex_lock(ch->lock);
    ch->waiters--;
    if (ch->closed && ch->waiters == 0)
      tether__cond_broadcast(ch->cond);
    if (r < 0)
      break;
    need_drain = 1;
  }
  tether__mutex_unlock(ch->lock);
  return r;
}

int tether_channel_wait(tether_channel *ch, tether_event *ev, int timeout_ms) {
  if (ch == NULL || ev == NULL)
    return TETHER_EINVAL;
  if (ch->callback != NULL)
    return tether__locked_read(ch->lock, &ch->closed) ? TETHER_ECLOSED : TETHER_EBUSY;
  return tether__wait(ch, ev, timeout_ms);
}

int tether_channel_poll(tether_channel *ch, tether_event *ev) {
  return tether_channel_wait(ch, ev, 0);
}

tether_os_handle tether_channel_handle(const tether_channel *ch) {
  tether_os_handle h;
  if (ch == NULL)
    return tether__bell_handle(NULL);
  tether__mutex_lock(ch->lock);
  h = tether__bell_handle(ch->closed ? NULL : ch->bell);
  tether__mutex_unlock(ch->lock);
  return h;
}

int tether_channel_ack(tether_channel *ch, const tether_event *ev) {
  int src;
  if (ch == NULL || ev == NULL)
    return TETHER_EINVAL;
  if (tether__locked_read(ch->lock, &ch->closed))
    return TETHER_ECLOSED;
  tether__global_lock();
  if (tether__ack_lock != NULL) {
    tether__mutex_lock(tether__ack_lock);
    for (src = 0; src < TETHER__NSRC; src++) {
      tether__src_info info;
      if (ch->ack_pending[src] && tether__get_src_info(src, &info) == 0 && info.kind == ev->kind &&
          info.code == ev->code)
        tether__ack_release_locked(ch, src);
    }
    tether__mutex_unlock(tether__ack_lock);
  }
  tether__global_unlock();
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */
/* ------------------------------------------------------------------------ */

static void tether__channel_release(tether_channel *ch) {
  ch->magic = TETHER__CH_GONE;
  tether__bell_free(ch->bell);
  tether__cond_free(ch->cond);
  tether__mutex_free(ch->lock);
  free(ch);
}

static void tether__callback_main(void *arg) {
  tether_channel *ch = (tether_channel *)arg;
  tether_event ev;
  int free_me;
  while (tether__wait(ch, &ev, -1) == 1)
    ch->callback(ch, &ev, ch->userdata);
  tether__mutex_lock(ch->lock);
  free_me = ch->free_on_exit;
  ch->thread_running = 0;
  tether__mutex_unlock(ch->lock);
  if (free_me)
    tether__channel_release(ch);
}

int tether_channel_new(tether_channel **out, const tether_channel_options *opts) {
  tether_channel *ch;
  int r, i;
  if (out != NULL)
    *out = NULL;
  if (out == NULL ||
      (opts != NULL && !TETHER__VERSION_KNOWN(opts->version, TETHER_CHANNEL_OPTIONS_VERSION)))
    return TETHER_EINVAL;
  ch = (tether_channel *)calloc(1, sizeof(*ch));
  if (ch == NULL)
    return TETHER_ENOMEM;
  ch->slot = -1;
  ch->magic = TETHER__CH_LIVE;
  tether__os_fork_init();
  if ((r = tether__mutex_new(&ch->lock)) < 0)
    goto fail;
  if ((r = tether__cond_new(&ch->cond)) < 0)
    goto fail;
  if ((r = tether__bell_open(&ch->bell)) < 0)
    goto fail;
  if (opts != NULL) {
    ch->callback = opts->callback;
    ch->userdata = opts->userdata;
  }

  tether__global_lock();
  for (i = 0; i < TETHER__MAX_CHANNELS; i++) {
    if (tether__slots[i].owner == NULL) {
      ch->slot = i;
      tether__slots[i].owner = ch;
      tether__store64(&tether__slots[i].watch[0], 0);
      tether__store64(&tether__slots[i].watch[1], 0);
      tether__store_ptr(&tether__slots[i].bell, ch->bell);
      if (i >= tether__slot_hw)
        tether__add_int(&tether__slot_hw, i + 1 - tether__slot_hw);
      break;
    }
  }
  tether__global_unlock();
  if (ch->slot < 0) {
    r = TETHER_ELIMIT;
    goto fail;
  }
  if (ch->callback != NULL) {
    ch->thread_running = 1;
    r = tether__thread_start(&ch->thread, tether__callback_main, ch);
    if (r < 0) {
      tether__global_lock();
      tether__slots[ch->slot].owner = NULL;
      tether__store_ptr(&tether__slots[ch->slot].bell, NULL);
      tether__global_unlock();
      tether__wait_handlers_gone();
      goto fail;
    }
  }
  *out = ch;
  return 0;
fail:
  if (ch->bell != NULL)
    tether__bell_free(ch->bell);
  if (ch->cond != NULL)
    tether__cond_free(ch->cond);
  if (ch->lock != NULL)
    tether__mutex_free(ch->lock);
  free(ch);
  return r;
}

/* Close; with free_after the memory is released too (by the callback thread
 * when called from the callback). */
static int tether__close(tether_channel *ch, int free_after) {
  int src, self = 0;
  tether__mutex_lock(ch->lock);
  if (ch->closed) {
    tether__mutex_unlock(ch->lock);
    return TETHER_ECLOSED;
  }
  ch->closed = 1;
  tether__mutex_unlock(ch->lock);

  tether__global_lock();
  for (src = 0; src < TETHER__NSRC; src++)
    tether__unwatch_src_locked(ch, src);
  while (ch->bound != NULL)
    tether__channel_unbind_child(ch->bound);
  tether__slots[ch->slot].owner = NULL;
  tether__store_ptr(&tether__slots[ch->slot].bell, NULL);
  tether__global_unlock();
  /* A handler may still hold the doorbell pointer it loaded before. */
  tether__wait_handlers_gone();

  tether__bell_ring(ch->bell); /* wake waiters and the callback thread */
  if (ch->thread != NULL) {
    if (tether__thread_is_self(ch->thread)) {
      self = 1;
      tether__thread_detach(ch->thread);
    } else {
      tether__thread_join(ch->thread);
    }
    ch->thread = NULL;
  }
  tether__mutex_lock(ch->lock);
  while (ch->waiters > 0)
    tether__cond_wait(ch->cond, ch->lock, -1);
  if (self && free_after)
    ch->free_on_exit = 1;
  tether__mutex_unlock(ch->lock);
  if (free_after && !self)
    tether__channel_release(ch);
  return 0;
}

int tether_channel_close(tether_channel *ch) {
  if (ch == NULL)
    return TETHER_EINVAL;
  tether__ch_check(ch, "tether_channel_close");
  return tether__close(ch, 0);
}

void tether_channel_free(tether_channel *ch) {
  if (ch == NULL)
    return;
  tether__ch_check(ch, "tether_channel_free");
  if (tether__close(ch, 1) == TETHER_ECLOSED) {
    /* Closed earlier. If the callback thread closed it from inside the
     * callback, that thread may still be running: let it free. */
    int later;
    tether__mutex_lock(ch->lock);
    later = ch->thread_running;
    if (later)
      ch->free_on_exit = 1;
    tether__mutex_unlock(ch->lock);
    if (!later)
      tether__channel_release(ch);
  }
}

/* ------------------------------------------------------------------------ */
/* Children reporting to a channel (global lock held)                       */
/* ------------------------------------------------------------------------ */

int tether__channel_bind_child(tether_channel *ch, tether_child *c) {
  if (tether__locked_read(ch->lock, &ch->closed))
    return TETHER_ECLOSED;
  if (!tether__ch_watches(ch, TETHER__SRC_CHILD))
    return TETHER_EINVAL;
  c->channel = ch;
  c->b_prev = NULL;
  c->b_next = ch->bound;
  if (ch->bound != NULL)
    ch->bound->b_prev = c;
  ch->bound = c;
  return 0;
}

void tether__channel_unbind_child(tether_child *c) {
  tether_channel *ch = c->channel;
  if (ch == NULL)
    return;
  if (c->b_prev != NULL)
    c->b_prev->b_next = c->b_next;
  else
    ch->bound = c->b_next;
  if (c->b_next != NULL)
    c->b_next->b_prev = c->b_prev;
  c->b_prev = c->b_next = NULL;
  tether__mutex_lock(ch->lock);
  if (c->q_state == 1) {
    tether_child **pp = &ch->q_head, *prev = NULL;
    while (*pp != NULL && *pp != c) {
      prev = *pp;
      pp = &(*pp)->q_next;
    }
    if (*pp == c) {
      *pp = c->q_next;
      if (ch->q_tail == c)
        ch->q_tail = prev;
    }
    c->q_next = NULL;
  }
  c->q_state = 0;
  tether__mutex_unlock(ch->lock);
  c->channel = NULL;
}

void tether__channel_post_child(tether_child *c) {
  tether_channel *ch = c->channel;
  if (ch == NULL)
    return;
  tether__mutex_lock(ch->lock);
  if (!ch->closed && c->q_state == 0) {
    c->q_state = 1;
    c->q_next = NULL;
    if (ch->q_tail != NULL)
      ch->q_tail->q_next = c;
    else
      ch->q_head = c;
    ch->q_tail = c;
    tether__bell_ring(ch->bell);
  }
  tether__mutex_unlock(ch->lock);
}

static volatile int tether__forks; /* fork()s without exec in this line */

unsigned tether__fork_generation(void) { return (unsigned)tether__load_int(&tether__forks); }

void tether__fork_prepare(void) {
  int i;
  if (tether__ack_lock != NULL)
    tether__mutex_lock(tether__ack_lock);
  tether__tok_fork_prepare();
  for (i = 0; i < tether__slot_hw; i++) {
    tether_channel *ch = tether__slots[i].owner;
    if (ch != NULL)
      tether__mutex_lock(ch->lock);
  }
}

void tether__fork_parent(void) {
  int i;
  for (i = tether__slot_hw - 1; i >= 0; i--) {
    tether_channel *ch = tether__slots[i].owner;
    if (ch != NULL)
      tether__mutex_unlock(ch->lock);
  }
  tether__tok_fork_parent();
  if (tether__ack_lock != NULL)
    tether__mutex_unlock(tether__ack_lock);
}

void tether__after_fork_child(void) {
  int i;
  (void)tether__add_int(&tether__forks, 1);
  tether__inflight = 0;
  memset(tether__ack_outstanding, 0, sizeof(tether__ack_outstanding));
  for (i = tether__slot_hw - 1; i >= 0; i--) {
    tether_channel *ch = tether__slots[i].owner;
    if (ch == NULL)
      continue;
    if (ch->thread != NULL) { /* the callback thread is not in this process */
      tether__thread_forget(ch->thread);
      ch->thread = NULL;
      ch->thread_running = 0;
    }
    ch->waiters = 0; /* threads blocked in the parent are not here either */
    memset(ch->ack_pending, 0, sizeof(ch->ack_pending));
    tether__mutex_unlock(ch->lock);
  }
  tether__tok_fork_child();
  if (tether__ack_lock != NULL)
    tether__mutex_unlock(tether__ack_lock);
}
