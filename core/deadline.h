/* SPDX-License-Identifier: MIT */
/* PRIVATE: timeouts as deadlines, shared by every wait in the core. */
#ifndef TETHER_CORE_DEADLINE_H
#define TETHER_CORE_DEADLINE_H

#include "backend.h"

#if defined(__GNUC__) || defined(__clang__)
#define TETHER__UNUSED __attribute__((unused))
#else
#define TETHER__UNUSED
#endif

/* The deadline of a wait of timeout_ms (only meaningful when > 0). */
static TETHER__UNUSED uint64_t tether__deadline(int timeout_ms) {
  return timeout_ms > 0 ? tether__now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
}

/* Milliseconds left: -1 to wait forever (timeout_ms < 0), 0 when a poll
 * (timeout_ms == 0) or when the deadline has passed, else >= 1 (rounded
 * up, so that a wait never ends just before its deadline). */
static TETHER__UNUSED int tether__ms_left(int timeout_ms, uint64_t deadline) {
  uint64_t now;
  if (timeout_ms < 0)
    return -1;
  if (timeout_ms == 0)
    return 0;
  now = tether__now_ns();
  return now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
}

#endif
