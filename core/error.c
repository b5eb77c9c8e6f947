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

/* The codes are -1 .. -TETHER__ERR_COUNT, each once: with COUNT codes, the
 * bits 1 .. COUNT are all set only when no code is repeated or skipped. */
#define TETHER__ERR_BIT(name, value, msg) | (1ull << -(value))
typedef char tether__errors_are_dense
    [(0ull TETHER_ERRNO_MAP(TETHER__ERR_BIT)) == (1ull << (TETHER__ERR_COUNT + 1)) - 2u ? 1 : -1];
#undef TETHER__ERR_BIT

/* One row per code, from the one error list (TETHER_ERRNO_MAP). */
typedef struct tether__err_row {
  int code;
  const char *name; /* tether_err_name() */
  const char *msg;  /* tether_strerror() */
} tether__err_row;

static const tether__err_row tether__errs[] = {{TETHER_OK, "TETHER_OK", "success"},
#define TETHER__ERR_ROW(name, value, msg) {TETHER_##name, "TETHER_" #name, msg},
                                               TETHER_ERRNO_MAP(TETHER__ERR_ROW)
#undef TETHER__ERR_ROW
};

static const tether__err_row *tether__err_find(int err) {
  size_t i;
  for (i = 0; i < sizeof(tether__errs) / sizeof(tether__errs[0]); i++)
    if (tether__errs[i].code == err)
      return &tether__errs[i];
  return NULL;
}

unsigned tether_version(void) { return TETHER_VERSION_HEX; }

const char *tether_version_string(void) {
  return TETHER__STR(TETHER_VERSION_MAJOR) "." TETHER__STR(TETHER_VERSION_MINOR) "." TETHER__STR(
      TETHER_VERSION_PATCH);
}

const char *tether_strerror(int err) {
  const tether__err_row *row = tether__err_find(err);
  return row != NULL ? row->msg : "unknown error";
}

const char *tether_err_name(int err) {
  const tether__err_row *row = tether__err_find(err);
  return row != NULL ? row->name : "TETHER_E_UNKNOWN_CODE";
}

long tether_last_os_error(void) { return tether__last_os_error; }

void tether__set_last_os_error(long os_code) { tether__last_os_error = os_code; }
