/* SPDX-License-Identifier: MIT */
/*
 * tether_send() on POSIX: kill() to a process, killpg() to a process group.
 * Errors (ESRCH, EPERM) go through tether__translate_os_error (error.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#include "backend.h"

int tether__os_send(int64_t pid, int kind, unsigned flags) {
  int signo = SIGKILL; /* TETHER_EVENT_NONE: the kill */
  pid_t target = (pid_t)pid;
  /* The other kinds: the signal behind the kind (source.c's one table). */
  if (kind != TETHER_EVENT_NONE && tether__os_kind_sources(kind, &signo, 1) != 1)
    return TETHER_EINVAL;
  /* pid is in 1..0x7FFFFFFF (core/send.c); pid_t is at least 32 bits
   * wherever tether runs, so the value is exact. A negative pid would be
   * a group for kill(): the group is asked for explicitly with the flag. */
  if ((int64_t)target != pid)
    return TETHER_EINVAL;
  if (flags & TETHER_SEND_GROUP) {
    /* kill(-pgid) rather than killpg(): the same call, no extra feature
     * macro. ESRCH when no process has that group id. */
    if (kill(-target, signo) == 0)
      return 0;
  } else if (kill(target, signo) == 0) {
    return 0;
  }
  return tether__translate_os_error(errno);
}
