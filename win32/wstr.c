/* SPDX-License-Identifier: MIT */
/*
 * Windows backend, children: wide (UTF-16) strings. A growable buffer, and
 * strings from the "give me the size first" APIs (module path, environment
 * variable, full path) for program resolution, the working directory and
 * the console helper's search (win32/spawn_internal.h).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "spawn_internal.h"

void tether__wbuf_add(tether__wbuf *b, const wchar_t *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    wchar_t *p;
    while (b->n + n + 1 > cap)
      cap *= 2;
    p = (wchar_t *)realloc(b->p, cap * sizeof(wchar_t));
    if (p == NULL) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n * sizeof(wchar_t));
  b->n += n;
  b->p[b->n] = L'\0';
}

void tether__wbuf_adds(tether__wbuf *b, const wchar_t *s) { tether__wbuf_add(b, s, wcslen(s)); }

int tether__get_sized(tether__sized_fn fn, const void *arg, wchar_t **out) {
  DWORD size = 260, n;
  wchar_t *buf = NULL, *p;
  *out = NULL;
  for (;;) {
    p = (wchar_t *)realloc(buf, (size_t)size * sizeof(wchar_t));
    if (p == NULL) {
      free(buf);
      return TETHER_ENOMEM;
    }
    buf = p;
    SetLastError(0);
    n = fn(buf, size, arg);
    if (n == 0 && GetLastError() != 0) {
      int r = tether__os_err();
      free(buf);
      return r;
    }
    if (n < size) {
      buf[n] = L'\0';
      *out = buf;
      return 0;
    }
    size = n + 1 > size * 2 ? n + 1 : size * 2;
  }
}

DWORD tether__module_path_fn(wchar_t *buf, DWORD size, const void *arg) {
  DWORD n;
  (void)arg;
  n = GetModuleFileNameW(NULL, buf, size);
  /* Truncation: n == size (ERROR_INSUFFICIENT_BUFFER); ask for more. */
  if (n == size) {
    SetLastError(0);
    return size + 1;
  }
  return n;
}

DWORD tether__env_var_fn(wchar_t *buf, DWORD size, const void *arg) {
  return GetEnvironmentVariableW((const wchar_t *)arg, buf, size);
}

DWORD tether__full_path_fn(wchar_t *buf, DWORD size, const void *arg) {
  return GetFullPathNameW((const wchar_t *)arg, size, buf, NULL);
}
