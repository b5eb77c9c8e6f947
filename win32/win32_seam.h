/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE test seams of the Windows backend (win32/source.c, win32/spawn.c,
 * win32/job.c).
 * Never installed; used by tests/test_console.c, because Wine cannot
 * generate CTRL_BREAK/CLOSE/LOGOFF/SHUTDOWN events, and by
 * tests/test_spawn_win32.c.
 */
#ifndef TETHER_WIN32_SEAM_H
#define TETHER_WIN32_SEAM_H

/* The console control handler itself: tether registers a BOOL WINAPI
 * wrapper that only calls this. ctrl_type is a CTRL_*_EVENT value. Returns
 * what the handler returns to Windows: 1 (TRUE, handled) or 0 (FALSE, let
 * the next handler run). Blocks like the real handler does for
 * CTRL_CLOSE/LOGOFF/SHUTDOWN_EVENT until acknowledged or the deadline. */
int tether__win32_console_handler(unsigned long ctrl_type);

/* The HWND of tether's hidden top-level window, or NULL when it was not
 * created (nothing watched TERMINATE, LOGOFF or SHUTDOWN yet). */
void *tether__win32_hidden_window(void);

/* The budgets tether assumes, in milliseconds: how long Windows waits
 * before ending the process when the registry says nothing, the range a
 * registry value is kept in, and how much earlier tether releases it. */
#define TETHER__WIN32_OS_TIMEOUT_MS 5000
#define TETHER__WIN32_MIN_BUDGET_MS 1000
#define TETHER__WIN32_MAX_BUDGET_MS 20000
#define TETHER__WIN32_MARGIN_MS 500

/* The budget for the source src (a CTRL_*_EVENT value, or 9 and 10 for
 * WM_ENDSESSION logoff and shutdown), read from the registry now; 0 for a
 * source that needs no acknowledgement. */
unsigned long tether__win32_budget_ms(int src);

/* source.c: does the process (a HANDLE with PROCESS_QUERY_INFORMATION and
 * PROCESS_VM_READ) ignore Ctrl+C (SetConsoleCtrlHandler(NULL, TRUE), or
 * created with CREATE_NEW_PROCESS_GROUP)? 1 yes, 0 no, TETHER_ENOTSUP when
 * it cannot be read (a 64-bit process from a 32-bit one), or an OS error.
 * Used by win32/spawn.c too. */
int tether__win32_ctrl_c_ignored(void *process);

/* spawn.c: the Job Object HANDLE of a child (NULL when detached). */
struct tether_child;
void *tether__win32_child_job(const struct tether_child *c);

/* job.c: when on, spawn skips PROC_THREAD_ATTRIBUTE_JOB_LIST and takes
 * the path for Windows before 10 (CREATE_SUSPENDED, AssignProcessToJobObject,
 * ResumeThread). */
void tether__win32_spawn_force_suspended(int on);

#endif /* TETHER_WIN32_SEAM_H */
