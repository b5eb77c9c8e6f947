/* SPDX-License-Identifier: MIT */
/* The one stop engine (core/stop.h). */
#include <string.h>

#include "stop.h"

static const tether_stop_step tether__default_stop[] = {
    {TETHER_EVENT_INTERRUPT, 5000},
    {TETHER_EVENT_TERMINATE, 2000},
};

int tether__stop_steps(const tether_stop_step **steps, size_t *nsteps) {
  size_t i;
  if ((*steps == NULL && *nsteps != 0) || *nsteps > TETHER_STOP_MAX_STEPS)
    return TETHER_EINVAL;
  if (*steps == NULL) {
    *steps = tether__default_stop;
    *nsteps = sizeof(tether__default_stop) / sizeof(tether__default_stop[0]);
  }
  for (i = 0; i < *nsteps; i++) {
    int k = (*steps)[i].kind;
    if ((*steps)[i].timeout_ms < 0)
      return TETHER_EINVAL;
    if (k != TETHER_EVENT_NONE /* kill */ && !tether__kind_has(k, TETHER__K_SEND))
      return TETHER_EINVAL;
  }
  return 0;
}

void tether__stop_begin(tether__stop *s, tether_child *c, const tether_stop_step *steps,
                        size_t nsteps) {
  memset(s, 0, sizeof(*s));
  s->child = c;
  memcpy(s->steps, steps, nsteps * sizeof(*steps));
  s->nsteps = nsteps;
}

/* Send steps[step], or the kill once the steps are used up. */
static void tether__stop_send(tether__stop *s, uint64_t now) {
  while (!s->sent) {
    int r;
    if (s->step >= s->nsteps) {
      r = tether__child_kill(s->child);
      s->sent = s->killed = 1;
      if (r < 0 && r != TETHER_ESRCH) {
        if (s->error == 0)
          s->error = r;
        s->done = s->gave_up = 1; /* nothing else can end the tree */
      }
      return;
    }
    if (s->steps[s->step].kind == TETHER_EVENT_NONE) {
      r = tether__child_kill(s->child);
    } else {
      /* A tree stopped by job control would act on the signal only when
       * continued: continue it first (systemd sends SIGCONT after the
       * signal; before it, the exit of a process that obeys at once is not
       * disturbed -- LeakSanitizer's exit-time stop of the threads was).
       * A tree that was stopped may stop again before the signal arrives
       * (a background reader gets SIGTTIN at once): it is continued again
       * after it, when the signal is pending. */
      int was_stopped = tether__os_child_continue(s->child) == 1;
      r = tether__os_child_signal(s->child, s->steps[s->step].kind);
      if (was_stopped && r == 0)
        (void)tether__os_child_continue(s->child);
    }
    if (r < 0 && r != TETHER_ESRCH) {
      /* Cannot reach this tree (TETHER_ENOTSUP), or failed: waiting for an
       * event that was not sent would only delay the next step. */
      if (r != TETHER_ENOTSUP && s->error == 0)
        s->error = r;
      s->step++;
      continue;
    }
    s->sent = 1;
    s->deadline = now + (uint64_t)s->steps[s->step].timeout_ms * 1000000u;
    if (r == TETHER_ESRCH)
      s->killed = 1; /* nothing left to signal: only the end is awaited */
  }
}

int tether__stop_work(tether__stop *s, uint64_t now) {
  int leader_gone;
  for (;;) {
    if (s->done)
      return 0;
    tether__stop_send(s, now);
    if (s->done)
      return 0;
    /* Over when the whole tree is gone and the child's own exit has been
     * recorded (the backend reports it asynchronously, so the tree may look
     * empty a moment earlier): the status is then there for the taking. */
    leader_gone = tether__child_wait(s->child, 0, NULL) == 1;
    if (leader_gone && tether__os_child_wait_tree(s->child, 0) == 1) {
      s->done = 1;
      return 0;
    }
    if (s->killed || now < s->deadline)
      return leader_gone;
    s->step++; /* this step's time is up: the next one at once */
    s->sent = 0;
  }
}
