/* SPDX-License-Identifier: MIT */
/* Error table, version, and the thread-local last OS error. */
#include <string.h>

#include "backend.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define TETHER__THREAD_LOCAL __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define TETHER__THREAD_LOCAL _Thread_local
#else
#define TETHER__THREAD_LOCAL __thread
#endif

#define TETHER__STR2(x) #x
#define TETHER__STR(x) TETHER__STR2(x)

static TETHER__THREAD_LOCAL long tether__last_os_error;

/* The codes are -1 .. -TETHER__ERR_COUNT, each once: distinct (the switch
 * below would not compile with two equal case labels), all negative, and
 * their sum is that of 1..COUNT only when none is skipped. */
#define TETHER__ERR_VALUE(name, value, msg) +(value)
typedef char tether__errors_are_dense[(0 TETHER_ERRNO_MAP(TETHER__ERR_VALUE)) ==
                                              -(TETHER__ERR_COUNT * (TETHER__ERR_COUNT + 1) / 2)
                                          ? 1
                                          : -1];
#undef TETHER__ERR_VALUE

unsigned tether_version(void) { return TETHER_VERSION_HEX; }

const char *tether_version_string(void) {
  return TETHER__STR(TETHER_VERSION_MAJOR) "." TETHER__STR(TETHER_VERSION_MINOR) "." TETHER__STR(
      TETHER_VERSION_PATCH);
}

const char *tether_strerror(int err) {
  switch (err) {
  case TETHER_OK:
    return "success";
#define TETHER__ERR_MSG(name, value, msg) \
  case TETHER_##name:                     \
    return msg;
    TETHER_ERRNO_MAP(TETHER__ERR_MSG)
#undef TETHER__ERR_MSG
  default:
    return "unknown error";
  }
}

const char *tether_err_name(int err) {
  switch (err) {
  case TETHER_OK:
    return "TETHER_OK";
#define TETHER__ERR_NAME(name, value, msg) \
  case TETHER_##name:                      \
    return "TETHER_" #name;
    TETHER_ERRNO_MAP(TETHER__ERR_NAME)
#undef TETHER__ERR_NAME
  default:
    return "TETHER_E_UNKNOWN_CODE";
  }
}

long tether_last_os_error(void) { return tether__last_os_error; }

int tether__options_init(void *opts, size_t size, const void *defaults, unsigned version,
                         unsigned current) {
  if (opts == NULL || !TETHER__VERSION_KNOWN(version, current))
    return TETHER_EINVAL;
  memcpy(opts, defaults, size);
  memcpy(opts, &version, sizeof(version)); /* the first field */
  return 0;
}

void tether__set_last_os_error(long os_code) { tether__last_os_error = os_code; }
