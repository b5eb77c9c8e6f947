/* SPDX-License-Identifier: MIT */
/*
 * tether_send(): events to any process (or process group), portable part.
 * The delivery is the backend's (posix/send.c: kill/killpg; win32/send.c:
 * the console helper, WM_CLOSE, TerminateProcess).
 */
#include "backend.h"

/* The largest process id of any supported OS: POSIX pid_t is a signed
 * 32-bit int on Linux, macOS and the BSDs; Windows ids are DWORDs that
 * stay far below 2^31 in practice. A larger value is refused rather than
 * truncated (kill(2^32 + 1) must not become kill(1)). */
#define TETHER__MAX_PID INT64_C(0x7FFFFFFF)

int tether_send(int64_t pid, int kind, unsigned flags) {
  if (pid <= 0 || pid > TETHER__MAX_PID)
    return TETHER_EINVAL;
  if ((flags & ~(unsigned)TETHER_SEND_GROUP) != 0)
    return TETHER_EINVAL;
  if (kind != TETHER_EVENT_NONE /* kill */ && !tether__kind_has(kind, TETHER__K_SEND))
    return TETHER_EINVAL;
  return tether__os_send(pid, kind, flags);
}
