/* SPDX-License-Identifier: MIT */
/* Exit statuses: classify a Windows process exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "backend.h"

/* STATUS_CONTROL_C_EXIT: what the default console handler passes to
 * ExitProcess for Ctrl+C, Ctrl+Break and console close ("HandlerRoutine",
 * MS docs; ntstatus.h). */
#define TETHER__STATUS_CONTROL_C_EXIT 0xC000013Au

int tether_status_decode(uint32_t raw, tether_status *out) {
  if (out == NULL)
    return TETHER_EINVAL;
  memset(out, 0, sizeof(*out));
  out->raw = raw;
  /* Exit codes are DWORDs; cmd.exe and most tools show them as signed. */
  out->code = (int)raw;
  out->shell_code = (int)raw;
  if (raw == TETHER__STATUS_CONTROL_C_EXIT)
    out->kind = TETHER_STATUS_INTERRUPTED;
  else if ((raw & 0xC0000000u) == 0xC0000000u)
    out->kind = TETHER_STATUS_CRASHED; /* NTSTATUS severity "error" */
  else
    out->kind = TETHER_STATUS_CODE;
  return 0;
}

/* tether__os_child_kill ends the job's processes with this code: 128 + 9,
 * what shells report for a process killed by SIGKILL. */
int tether__os_is_kill_status(uint32_t raw) { return raw == 137u; }

/* ---- exiting like an event ---------------------------------------------- */

/* TETHER_EVENT_TERMINATE: 128 + SIGTERM, as tether's kill uses 137. */
#define TETHER__TERMINATE_EXIT 143u

static int tether__kind_exit_code(int kind, UINT *code) {
  if (!tether__kind_has(kind, TETHER__K_EXIT_LIKE))
    return TETHER_EINVAL; /* CHILD, SIGNAL, not a kind */
  /* The native exit of each kind that has one here. */
  switch (kind) {
  case TETHER_EVENT_INTERRUPT:
  case TETHER_EVENT_QUIT:
  case TETHER_EVENT_HANGUP:
  case TETHER_EVENT_LOGOFF:
  case TETHER_EVENT_SHUTDOWN:
    *code = TETHER__STATUS_CONTROL_C_EXIT; /* what the default handler does */
    return 0;
  case TETHER_EVENT_TERMINATE:
    *code = TETHER__TERMINATE_EXIT;
    return 0;
  default: /* USER1, USER2, RESIZE: no such event on Windows */
    return TETHER_ENOTSUP;
  }
}

int tether_exit_like_signal(int signo) {
  (void)signo;
  return TETHER_ENOTSUP;
}

int tether_exit_like_kind(int kind) {
  UINT code = 0;
  int r = tether__kind_exit_code(kind, &code);
  if (r < 0)
    return r;
  tether__flush_all(TETHER__EXIT_FLUSH_MS);
  ExitProcess(code);
  return TETHER_EUNKNOWN; /* not reached */
}

int tether_exit_with(const tether_status *st) {
  if (st == NULL)
    return TETHER_EINVAL;
  switch (st->kind) {
  case TETHER_STATUS_CODE:
  case TETHER_STATUS_INTERRUPTED:
  case TETHER_STATUS_CRASHED:
  case TETHER_STATUS_KILLED:
    /* exit(): the C runtime's atexit handlers run, then ExitProcess with
     * the same 32-bit code. */
    exit((int)st->raw);
  default:
    return TETHER_EINVAL; /* NONE, and the POSIX SIGNAL kind */
  }
}

void tether__os_exit_now(int kind, int code) {
  UINT exit_code = 0;
  (void)code;
  if (tether__kind_exit_code(kind, &exit_code) < 0)
    exit_code = TETHER__STATUS_CONTROL_C_EXIT;
  /* TerminateProcess, not ExitProcess: no DLL detach notifications, which
   * could wait for a loader lock held by the thread being cut short. */
  TerminateProcess(GetCurrentProcess(), exit_code);
  ExitProcess(exit_code); /* not reached */
}
