/* SPDX-License-Identifier: MIT */
/* Kind names and the OS-independent parts of kind/signal queries. */
#include <stddef.h>

#include "backend.h"

/* The one kind table (docs/abi.md: a new kind is a row here and a row in
 * each backend's table of native sources). */
#define S TETHER__K_SEND
#define P TETHER__K_POLICY
#define D TETHER__K_POLICY_DEFAULT
#define X TETHER__K_EXIT_LIKE
#define W TETHER__K_WATCH
#define C TETHER__K_CHILD_SIGNAL
const tether__kind_row tether__kinds[] = {
    /* TETHER_EVENT_NONE */ {NULL, 0},
    /* INTERRUPT */ {"interrupt", C | S | P | D | X | W},
    /* QUIT      */ {"quit", C | S | P | X | W},
    /* TERMINATE */ {"terminate", C | S | P | D | X | W},
    /* HANGUP    */ {"hangup", C | S | P | D | X | W},
    /* LOGOFF    */ {"logoff", P | D | X | W},
    /* SHUTDOWN  */ {"shutdown", P | D | X | W},
    /* USER1     */ {"user1", C | S | P | X | W},
    /* USER2     */ {"user2", C | S | P | X | W},
    /* RESIZE    */ {"resize", C | X | W},
    /* CHILD     */ {"child", W},
    /* SIGNAL    */ {"signal", 0},
};
const int tether__kind_count = (int)(sizeof(tether__kinds) / sizeof(tether__kinds[0]));
/* Every value of enum tether_kind has its row. */
typedef char tether__kind_table_complete
    [sizeof(tether__kinds) / sizeof(tether__kinds[0]) > TETHER_EVENT_SIGNAL ? 1 : -1];
#undef S
#undef P
#undef D
#undef X
#undef W
#undef C

int tether__kind_has(int kind, unsigned flags) {
  return kind > TETHER_EVENT_NONE && kind < TETHER__KIND_COUNT &&
         (tether__kinds[kind].flags & flags) == flags;
}

const char *tether_kind_name(int kind) {
  if (!tether__kind_has(kind, 0))
    return NULL;
  return tether__kinds[kind].name;
}

static int tether__ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

int tether_kind_from_name(const char *name) {
  int k;
  if (name == NULL)
    return TETHER_EINVAL;
  for (k = TETHER_EVENT_NONE + 1; k < TETHER__KIND_COUNT; k++) {
    const char *a = tether__kinds[k].name;
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
  if (!tether__kind_has(kind, 0))
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

int tether_signal_ignored_at_start(int signo) { return tether__os_ignored_at_start(signo); }

uint64_t tether_now_ns(void) { return tether__now_ns(); }
