/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (core only): the one stop engine. A stop sequence of one child's
 * tree (its steps, then the kill) as a state machine that never blocks:
 * tether_child_stop() drives one to its end from the calling thread, a
 * cancelled token's stop thread drives every tree it owns at once. Both get
 * the same steps, limit, errors and result from here.
 */
#ifndef TETHER_CORE_STOP_H
#define TETHER_CORE_STOP_H

#include "backend.h"

typedef struct tether__stop {
  tether_child *child;
  tether_stop_step steps[TETHER_STOP_MAX_STEPS];
  size_t nsteps;
  size_t step;       /* the step being sent or waited for; nsteps: the kill */
  uint64_t deadline; /* of the step that was sent */
  int sent;          /* steps[step] (or the final kill) was sent */
  int killed;        /* the final kill was sent, or nothing was left */
  int done;          /* the tree is gone, or the final kill failed */
  int error;         /* the first step that could not be sent for another
                        reason than TETHER_ENOTSUP / TETHER_ESRCH, or 0 */
  int gave_up;       /* the final kill failed (error says why): the tree
                        may still be there */
} tether__stop;

/* Check a caller's sequence: kinds that a step may send (or
 * TETHER_EVENT_NONE, the kill), timeouts >= 0, at most
 * TETHER_STOP_MAX_STEPS; steps NULL with nsteps 0 gives the default
 * (interrupt, 5 s; terminate, 2 s). 0 with *steps / *nsteps set, or
 * TETHER_EINVAL. */
int tether__stop_steps(const tether_stop_step **steps, size_t *nsteps);

/* Start a sequence (checked by tether__stop_steps()) for c; nothing is sent
 * yet. */
void tether__stop_begin(tether__stop *s, tether_child *c, const tether_stop_step *steps,
                        size_t nsteps);

/* Send what is due at `now` (a step whose event cannot be sent is passed
 * over at once; a step whose timeout ran out gives way to the next) and
 * look at the tree. Returns 1 when the child itself has exited but the rest
 * of its tree lives on (nothing will notify: look again soon), else 0.
 * s->done says when it is over; until then, s->killed means only the
 * tree's end is awaited, else s->deadline is when to call again. The
 * caller keeps c from being freed meanwhile. */
int tether__stop_work(tether__stop *s, uint64_t now);

/* Core (core/child.c), for the engine: the kill and the exit record of a
 * child that the caller keeps from being freed. */
int tether__child_kill(tether_child *c);
int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st);

#endif /* TETHER_CORE_STOP_H */
