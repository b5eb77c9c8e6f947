/* Exit statuses: classify a Windows process exit code. */
#include <string.h>

#include "backend.h"

/* STATUS_CONTROL_C_EXIT: what the default console handler passes to
 * ExitProcess for Ctrl+C, Ctrl+Break and console close ("HandlerRoutine",
 * MS docs; ntstatus.h). */
#define TETHER__STATUS_CONTROL_C_EXIT 0xC000013Au

int tether_exit_decode(uint32_t raw, tether_exit *out) {
  if (out == NULL)
    return TETHER_EINVAL;
  memset(out, 0, sizeof(*out));
  out->raw = raw;
  /* Exit codes are DWORDs; cmd.exe and most tools show them as signed. */
  out->code = (int)raw;
  out->shell_code = (int)raw;
  if (raw == TETHER__STATUS_CONTROL_C_EXIT)
    out->kind = TETHER_EXIT_INTERRUPTED;
  else if ((raw & 0xC0000000u) == 0xC0000000u)
    out->kind = TETHER_EXIT_CRASHED; /* NTSTATUS severity "error" */
  else
    out->kind = TETHER_EXIT_CODE;
  return 0;
}

/* tether__os_child_kill ends the job's processes with this code: 128 + 9,
 * what shells report for a process killed by SIGKILL. */
int tether__os_is_kill_status(uint32_t raw) { return raw == 137u; }
