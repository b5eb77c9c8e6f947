/* Exit statuses: decode a wait status. No feature-test macro here: with
 * strict POSIX, glibc and macOS hide WCOREDUMP (an XSI/BSD extension). */
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include "backend.h"

int tether_exit_decode(uint32_t raw, tether_exit *out) {
  int st = (int)raw;
  if (out == NULL)
    return TETHER_EINVAL;
  memset(out, 0, sizeof(*out));
  out->raw = raw;
  if (WIFEXITED(st)) {
    out->kind = TETHER_EXIT_CODE;
    out->code = WEXITSTATUS(st);
    out->shell_code = out->code;
    return 0;
  }
  if (WIFSIGNALED(st)) {
    out->kind = TETHER_EXIT_SIGNAL;
    out->signo = WTERMSIG(st);
#ifdef WCOREDUMP
    out->core_dumped = WCOREDUMP(st) ? 1 : 0;
#else
    out->core_dumped = (st & 0x80) ? 1 : 0; /* the traditional encoding */
#endif
    out->shell_code = 128 + out->signo;
    return 0;
  }
  /* WIFSTOPPED / WIFCONTINUED: not an exit. */
  out->kind = TETHER_EXIT_NONE;
  return TETHER_EINVAL;
}

int tether__os_is_kill_status(uint32_t raw) {
  int st = (int)raw;
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}
