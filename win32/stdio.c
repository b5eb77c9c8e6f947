/* SPDX-License-Identifier: MIT */
/*
 * Windows backend, children: the child's standard handles (inherit, NUL,
 * a pipe, or a caller's handle), made inheritable for CreateProcessW's
 * handle list.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string.h>

#include "spawn_internal.h"

/* An inheritable duplicate of h in *out (NULL stays NULL). */
static int tether__dup_inheritable(HANDLE h, HANDLE *out) {
  *out = NULL;
  if (h == NULL || h == INVALID_HANDLE_VALUE)
    return 0;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), out, 0, TRUE,
                       DUPLICATE_SAME_ACCESS)) {
    *out = NULL;
    return tether__os_err();
  }
  return 0;
}

/* The child's end of stream i in *child (inheritable, or NULL for none) and,
 * for a pipe, this process's end in *parent (not inheritable). */
int tether__stdio_setup(const tether_stdio *s, int i, HANDLE *child, HANDLE *parent) {
  static const DWORD std_ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
  SECURITY_ATTRIBUTES sa;
  HANDLE rd, wr;
  int r;
  *child = NULL;
  *parent = NULL;
  switch (s->mode) {
  case TETHER_STDIO_INHERIT:
    /* A process without that standard handle gives none. A stale value
     * (a handle closed behind the C runtime's back) is treated the same. */
    r = tether__dup_inheritable(GetStdHandle(std_ids[i]), child);
    if (r == TETHER_EINVAL) {
      *child = NULL;
      r = 0;
    }
    return r;
  case TETHER_STDIO_NULL:
    memset(&sa, 0, sizeof(sa));
    sa.nLength = sizeof(sa);
    sa.bInheritHandle = TRUE;
    *child = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         &sa, OPEN_EXISTING, 0, NULL);
    if (*child == INVALID_HANDLE_VALUE) {
      *child = NULL;
      return tether__os_err();
    }
    return 0;
  case TETHER_STDIO_PIPE:
    /* Both ends start non-inheritable; only the child's end becomes
     * inheritable, and only until CreateProcess has returned. */
    if (!CreatePipe(&rd, &wr, NULL, 0))
      return tether__os_err();
    *child = i == 0 ? rd : wr;
    *parent = i == 0 ? wr : rd;
    if (!SetHandleInformation(*child, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) {
      r = tether__os_err();
      tether__close(child);
      tether__close(parent);
      return r;
    }
    return 0;
  default: /* TETHER_STDIO_HANDLE; the core validated the mode */
    if (s->handle == NULL || s->handle == INVALID_HANDLE_VALUE)
      return TETHER_EINVAL;
    return tether__dup_inheritable((HANDLE)s->handle, child);
  }
}
