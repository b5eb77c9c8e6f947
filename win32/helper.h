/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (never installed): what win32/helper.c provides to
 * win32/spawn.c (tether_child_signal) and win32/send.c (tether_send), and
 * the protocol between the library and its console helper program,
 * tether-ctrl.exe (win32/ctrl_main.c). See the comments at the definitions
 * in win32/helper.c.
 */
#ifndef TETHER_WIN32_HELPER_H
#define TETHER_WIN32_HELPER_H

#include <stddef.h>
#include <windows.h>

/*
 * The console helper's protocol. The library starts
 *     "<path of tether-ctrl.exe>" <version> <mode><target>:<pid>,<pid>,...
 * (DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, in a kill-on-close job of
 * its own, stdio on nothing) and decodes its exit status:
 * TETHER__HELPER_STATUS(step, error). A status without the magic byte is
 * not from a tether-ctrl.exe that understood the request (another program,
 * a crash, another protocol version).
 */
#define TETHER__HELPER_VERSION 1
#define TETHER__HELPER_MAGIC 0x7E000000u
#define TETHER__HELPER_STATUS(step, err) \
  (TETHER__HELPER_MAGIC | ((DWORD)(step) << 16) | ((DWORD)(err)&0xFFFFu))
enum {
  TETHER__HELPER_OK = 0,
  TETHER__HELPER_BAD_ARGS = 1,   /* not this protocol version's request */
  TETHER__HELPER_NO_CONSOLE = 2, /* AttachConsole failed */
  TETHER__HELPER_SHARED = 3,     /* others on the console */
  TETHER__HELPER_GENERATE = 4,   /* GenerateConsoleCtrlEvent failed */
  TETHER__HELPER_LIST = 5        /* GetConsoleProcessList failed */
};

/* The helper program's file name, next to the library or the executable. */
#define TETHER__HELPER_NAME L"tether-ctrl.exe"
/* Environment variable naming the helper program (overrides the search). */
#define TETHER__HELPER_ENV L"TETHER_CTRL"

/* Run the console helper (tether-ctrl.exe, win32/ctrl_main.c):
 *   'C' CTRL_C_EVENT to target's console, only if every process on it is
 *       listed in pids (tethered children);
 *   'c' CTRL_C_EVENT to target's whole console, no check (tether_send);
 *   'B' CTRL_BREAK_EVENT to process group target, on target's console;
 *   'b' CTRL_BREAK_EVENT to target's whole console.
 * Returns 0, TETHER_ENOTSUP (*no_console set when the helper could not
 * attach to target's console), TETHER_EHELPER (the helper program is
 * missing, could not start, or did not answer as tether-ctrl.exe),
 * TETHER_ETIMEDOUT, TETHER_ENOMEM; tether_last_os_error() has the raw
 * cause. */
int tether__win32_run_helper(char mode, DWORD target, const DWORD *pids, size_t npids,
                             int *no_console);

/* PostMessage(WM_CLOSE) to every top-level window owned by one of pids
 * (user32 is loaded on first use). 0 when at least one was posted,
 * TETHER_ENOTSUP when none of them has a window, or a loading error. */
int tether__win32_post_close(const DWORD *pids, size_t npids);

#endif /* TETHER_WIN32_HELPER_H */
