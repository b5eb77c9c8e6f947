/* SPDX-License-Identifier: MIT */
/* Self-test support shared by the examples (see selftest.h). */
#include <stdio.h>
#include <string.h>

#include "selftest.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <poll.h>
#include <unistd.h>
#endif

int st_start(st_run *r, const char *const *argv) {
  tether_spawn_options o;
  memset(r, 0, sizeof(*r));
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.flags = TETHER_SPAWN_NO_SEARCH;
  return tether_spawn(&r->child, argv, &o);
}

/* Read what arrives within ms: 1 data, 0 end of file, -1 nothing yet. */
static int st_read(st_run *r, int ms) {
  tether_os_handle h = tether_child_stdio(r->child, 1);
  size_t room = sizeof(r->out) - 1 - r->len;
  if (room == 0)
    return 0;
#ifdef _WIN32
  {
    DWORD avail = 0, got = 0;
    uint64_t end = tether_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
      if (!PeekNamedPipe((HANDLE)h, NULL, 0, NULL, &avail, NULL))
        return 0;
      if (avail > 0)
        break;
      if (tether_now_ns() >= end)
        return -1;
      Sleep(5);
    }
    if (!ReadFile((HANDLE)h, r->out + r->len, (DWORD)(room < avail ? room : avail), &got, NULL))
      return 0;
    r->len += got;
  }
#else
  {
    struct pollfd p;
    ssize_t n;
    p.fd = h;
    p.events = POLLIN;
    if (poll(&p, 1, ms) <= 0)
      return -1;
    if ((n = read(h, r->out + r->len, room)) <= 0)
      return 0;
    r->len += (size_t)n;
  }
#endif
  r->out[r->len] = '\0';
  return 1;
}

int st_expect(st_run *r, const char *needle, int ms) {
  uint64_t end = tether_now_ns() + (uint64_t)ms * 1000000u;
  while (strstr(r->out, needle) == NULL) {
    uint64_t now = tether_now_ns();
    if (now >= end || st_read(r, (int)((end - now) / 1000000u) + 1) == 0)
      return strstr(r->out, needle) != NULL;
  }
  return 1;
}

int st_end(st_run *r, int ms, tether_status *st) {
  uint64_t end = tether_now_ns() + (uint64_t)ms * 1000000u;
  int ended;
  while (tether_now_ns() < end && st_read(r, 50) != 0)
    ;
  ended = tether_child_wait(r->child, ms, st) == 1;
  tether_child_free(r->child); /* kills the tree if it is still there */
  r->child = NULL;
  return ended;
}

const char *st_describe(const tether_status *st, char *buf, size_t size) {
  switch (st->kind) {
  case TETHER_STATUS_CODE:
    snprintf(buf, size, "exited with code %d", st->code);
    break;
  case TETHER_STATUS_SIGNAL: {
    const char *n = tether_signal_name(st->signo);
    snprintf(buf, size, "killed by %s", n != NULL ? n : "a signal");
    break;
  }
  case TETHER_STATUS_INTERRUPTED:
    snprintf(buf, size, "interrupted (0x%08lX)", (unsigned long)st->raw);
    break;
  case TETHER_STATUS_CRASHED:
    snprintf(buf, size, "crashed (0x%08lX)", (unsigned long)st->raw);
    break;
  case TETHER_STATUS_KILLED:
    snprintf(buf, size, "killed by tether");
    break;
  default:
    snprintf(buf, size, "unknown status 0x%lx", (unsigned long)st->raw);
  }
  return buf;
}

int st_fail(const char *what, const st_run *r) {
  fprintf(stderr, "self-test FAILED: %s\n--- output ---\n%s\n--------------\n", what,
          r != NULL ? r->out : "");
  return 1;
}
