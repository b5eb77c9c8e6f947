/* SPDX-License-Identifier: MIT */
/*
 * Options structs (libgit2's pattern; docs/decisions.md, "How to add a
 * field, a kind, an error"): the first field is the version the caller was
 * built with, and tether_<x>_options_init() fills in the defaults of
 * TETHER_<X>_OPTIONS_INIT. Defined here, one line each:
 * tether_spawn_options_init, tether_channel_options_init,
 * tether_shutdown_options_init.
 */
#include <string.h>

#include "backend.h"

int tether__options_init(void *opts, size_t size, const void *defaults, unsigned version,
                         unsigned current) {
  if (opts == NULL || !TETHER__VERSION_KNOWN(version, current))
    return TETHER_EINVAL;
  memcpy(opts, defaults, size);
  memcpy(opts, &version, sizeof(version)); /* the first field */
  return 0;
}

/* tether_<x>_options_init() of the options struct tether_<x>_options. */
#define TETHER__OPTIONS_INIT_FN(x, X)                                           \
  int tether_##x##_options_init(tether_##x##_options *opts, unsigned version) { \
    static const tether_##x##_options defaults = TETHER_##X##_OPTIONS_INIT;     \
    return tether__options_init(opts, sizeof(*opts), &defaults, version,        \
                                TETHER_##X##_OPTIONS_VERSION);                  \
  }

TETHER__OPTIONS_INIT_FN(spawn, SPAWN)
TETHER__OPTIONS_INIT_FN(channel, CHANNEL)
TETHER__OPTIONS_INIT_FN(shutdown, SHUTDOWN)
