/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: the channel doorbell is an unnamed, non-inheritable,
 * MANUAL-reset event object.
 *
 * Why manual reset (SetEvent to ring, ResetEvent to drain):
 *   - The core reads with "drain, look at the counters, ring again if more is
 *     pending" (core/channel.c tether__wait). With a manual-reset event the
 *     handle stays signalled until the core drains it, so
 *     tether_channel_handle() is level-triggered like the POSIX descriptor:
 *     a WaitForMultipleObjects in the user's loop does not consume anything
 *     ("Event Objects": a manual-reset event stays signalled until
 *     ResetEvent; a wait on an auto-reset event resets it, MS docs).
 *   - tether_channel_close() rings once to wake every thread blocked in
 *     tether_channel_wait() and then waits until all of them left. Setting
 *     a manual-reset event releases every waiter; an auto-reset event would
 *     release only one and close would hang with two waiters.
 *   - A ring between drain and the counter check is never lost: the
 *     delivery bumps its counter before it rings.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>

#include "backend.h"

struct tether__bell {
  HANDLE event;
};

/* Unnamed event with a NULL security descriptor: its handle is not
 * inherited by child processes ("CreateEventW", "SECURITY_ATTRIBUTES": a
 * NULL lpEventAttributes means the handle cannot be inherited, MS docs). */
/* No fork() on Windows: nothing to register. */
void tether__os_fork_init(void) {}

int tether__bell_open(tether__bell **out) {
  tether__bell *b = (tether__bell *)malloc(sizeof(*b));
  if (b == NULL)
    return TETHER_ENOMEM;
  b->event = CreateEventW(NULL, TRUE /* manual reset */, FALSE, NULL);
  if (b->event == NULL) {
    int r = tether__translate_os_error((long)GetLastError());
    free(b);
    return r;
  }
  *out = b;
  return 0;
}

void tether__bell_free(tether__bell *b) {
  if (b == NULL)
    return;
  CloseHandle(b->event);
  free(b);
}

/* SetEvent never blocks; on an already signalled event it does nothing. */
void tether__bell_ring(tether__bell *b) { SetEvent(b->event); }

void tether__bell_drain(tether__bell *b) { ResetEvent(b->event); }

int tether__bell_wait(tether__bell *b, int timeout_ms) {
  DWORD ms = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  switch (WaitForSingleObject(b->event, ms)) {
  case WAIT_OBJECT_0:
    return 1;
  case WAIT_TIMEOUT:
    return 0;
  default: /* WAIT_FAILED; WAIT_ABANDONED is for mutexes only */
    return tether__translate_os_error((long)GetLastError());
  }
}

tether_os_handle tether__bell_handle(const tether__bell *b) {
  return b == NULL ? NULL : (tether_os_handle)b->event;
}
