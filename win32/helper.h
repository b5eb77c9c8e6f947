/*
 * PRIVATE (never installed): what win32/spawn.c (tether_child_signal)
 * shares with win32/send.c (tether_send): the console helper and WM_CLOSE
 * to a set of processes' top-level windows. See the comments at the
 * definitions in win32/spawn.c.
 */
#ifndef TETHER_WIN32_HELPER_H
#define TETHER_WIN32_HELPER_H

#include <stddef.h>
#include <windows.h>

/* Run the console helper (this executable re-run with TETHER_CTRL_HELPER):
 *   'C' CTRL_C_EVENT to target's console, only if every process on it is
 *       listed in pids (tethered children);
 *   'c' CTRL_C_EVENT to target's whole console, no check (tether_send);
 *   'B' CTRL_BREAK_EVENT to process group target, on target's console;
 *   'b' CTRL_BREAK_EVENT to target's whole console.
 * Returns 0, TETHER_ENOTSUP (*no_console set when the helper could not
 * attach to target's console), TETHER_ETIMEDOUT, TETHER_ENOMEM or a
 * process-creation error; tether_last_os_error() has the raw cause. */
int tether__win32_run_helper(char mode, DWORD target, const DWORD *pids,
                             size_t npids, int *no_console);

/* PostMessage(WM_CLOSE) to every top-level window owned by one of pids
 * (user32 is loaded on first use). 0 when at least one was posted,
 * TETHER_ENOTSUP when none of them has a window, or a loading error. */
int tether__win32_post_close(const DWORD *pids, size_t npids);

#endif /* TETHER_WIN32_HELPER_H */
