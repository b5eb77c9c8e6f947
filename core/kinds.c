/* SPDX-License-Identifier: MIT */
/* Kind names and the OS-independent parts of kind/signal queries. */
#include <stddef.h>

#include "backend.h"

static const char *const tether__kind_names[TETHER__KIND_COUNT] = {
    NULL,     "interrupt", "quit",  "terminate", "hangup", "logoff",
    "shutdown", "user1",   "user2", "resize",    "child",  "signal"};

const char *tether_kind_name(int kind) {
  if (kind <= TETHER_EVENT_NONE || kind >= TETHER__KIND_COUNT)
    return NULL;
  return tether__kind_names[kind];
}

static int tether__ascii_lower(int c) {
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int tether_kind_from_name(const char *name) {
  int k;
  if (name == NULL)
    return TETHER_EINVAL;
  for (k = TETHER_EVENT_NONE + 1; k < TETHER__KIND_COUNT; k++) {
    const char *a = tether__kind_names[k];
    const char *b = name;
    while (*a != '\0' && tether__ascii_lower((unsigned char)*b) == *a) {
      a++;
      b++;
    }
    if (*a == '\0' && *b == '\0')
      return k;
  }
  return TETHER_EINVAL;
}

int tether_kind_supported(int kind) {
  int srcs[4];
  if (kind <= TETHER_EVENT_NONE || kind >= TETHER__KIND_COUNT)
    return TETHER_EINVAL;
  if (kind == TETHER_EVENT_CHILD)
    return 1;
  if (kind == TETHER_EVENT_SIGNAL) {
    int src;
    /* SIGNAL is supported where signals by number are: probe with a signal
     * number every POSIX system has (SIGUSR1's number differs, so use the
     * backend's answer for signal 1, SIGHUP, which is never forbidden). */
    return tether__os_signal_source(1, &src) == TETHER_ENOTSUP ? 0 : 1;
  }
  return tether__os_kind_sources(kind, srcs, 4) > 0 ? 1 : 0;
}

const char *tether_signal_name(int signo) { return tether__os_signal_name(signo); }

int tether_signal_ignored_at_start(int signo) {
  return tether__os_ignored_at_start(signo);
}

uint64_t tether_now_ns(void) { return tether__now_ns(); }
