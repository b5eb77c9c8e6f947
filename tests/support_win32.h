/* SPDX-License-Identifier: MIT */
/*
 * Windows test helpers shared by the Windows tests (test_console,
 * test_cmdline, test_send_win32, test_spawn_win32, torture_spawn_win32 and
 * win32_dll_host): lines on stdout, reading a child's pipe, plain
 * CreateProcessW children (no tether, no job), and a watching child
 * scenario. Plain Win32 and C but for that last one, so that win32_dll_host,
 * which links nothing of tether (and no cmocka), compiles support_win32.c
 * too, with TT_SUPPORT_WIN32_NO_TETHER (tests/win32.cmake); the test
 * executables get it through tether_testsupport.
 */
#ifndef TETHER_TESTS_SUPPORT_WIN32_H
#define TETHER_TESTS_SUPPORT_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stddef.h>

/* printf-style format checking (MinGW: the format its printf follows). */
#if defined(__MINGW_PRINTF_FORMAT)
#define TT_WIN32_PRINTF(fmt, first) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, first)))
#elif defined(__GNUC__)
#define TT_WIN32_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define TT_WIN32_PRINTF(fmt, first)
#endif

/* Write one line (the formatted text, at most 509 bytes of it, and "\n")
 * to this process's stdout with a single WriteFile. */
void tt_win32_say(const char *fmt, ...) TT_WIN32_PRINTF(1, 2);

/* 1 when a console is attached to this process (GetConsoleProcessList
 * counts it; under Wine only with ci/wine-run.sh's pseudo-terminal,
 * TETHER_WINE_PTY=1), else 0. */
int tt_win32_have_console(void);

/* Read one line from a pipe, CR and LF dropped (a longer line is cut to
 * cap - 1 bytes). 1: a line; 0: end of file; -1: no newline within
 * timeout_ms. With 0 and -1, buf holds what came of an unfinished line. */
int tt_win32_read_line(HANDLE h, char *buf, size_t cap, DWORD timeout_ms);

/* Read from a pipe until end of file, the buffer is full or timeout_ms
 * (NUL-terminated); the length read. */
size_t tt_win32_read_all(HANDLE h, char *buf, size_t cap, DWORD timeout_ms);

/* A pipe for a child's output: *wr to hand to the child (inheritable), *rd
 * to read (not inherited). 1, or 0 with nothing open. */
int tt_win32_pipe(HANDLE *rd, HANDLE *wr);

/* This executable's path (GetModuleFileNameW); L"" when it does not fit. */
void tt_win32_self_w(wchar_t *buf, DWORD cap);

/* CreateProcessW(exe, cmd) with the creation flags. out NULL: the child
 * inherits no handle. Otherwise its stdin is none, its stdout out and its
 * stderr err, and inheritable handles are inherited. Wine 8 occasionally
 * fails CreateProcessW with ERROR_INTERNAL_ERROR when other Wine processes
 * start at the same moment (ctest -j); the same call works when retried:
 * up to `retries` more attempts 50 ms apart, each reported on stdout, never
 * hidden. 1: started; 0: not (GetLastError() says why). */
int tt_win32_create(const wchar_t *exe, wchar_t *cmd, DWORD flags, HANDLE out, HANDLE err,
                    int retries, PROCESS_INFORMATION *pi);

/* Where tt_win32_create_piped puts the child's stderr. */
enum {
  TT_WIN32_ERR_NONE, /* nowhere (no handle) */
  TT_WIN32_ERR_PIPE, /* on the pipe, with its stdout */
  TT_WIN32_ERR_OWN   /* on this process's stderr */
};

/* tt_win32_create with the child's stdout on a new pipe, whose read end
 * (not inherited) is returned in *out, and its stderr as err_mode says.
 * 1, or 0 with nothing left open (GetLastError() says why). */
int tt_win32_create_piped(const wchar_t *exe, wchar_t *cmd, DWORD flags, int err_mode, int retries,
                          PROCESS_INFORMATION *pi, HANDLE *out);

/* `"<this executable>" --child <args>` (args: a scenario and its
 * arguments, ASCII): with out NULL through tt_win32_create without
 * handles, else through tt_win32_create_piped. */
int tt_win32_start_self(const char *args, DWORD flags, int err_mode, int retries,
                        PROCESS_INFORMATION *pi, HANDLE *out);

/* A process started without tether (no job), its stdout and stderr on one
 * pipe (out: the read end). */
typedef struct tt_win32_proc {
  PROCESS_INFORMATION pi;
  HANDLE out;
} tt_win32_proc;

/* Start `<self> --child <args>` as a tt_win32_proc. 1, or 0 after saying
 * why on stdout (nothing is left open; *p is zeroed). */
int tt_win32_proc_start(tt_win32_proc *p, const char *args, DWORD flags);

/* Read lines until one starts with prefix, printing each as
 * "[  child   ] <line>". 1: found; 0: end of output; -1: no line within
 * timeout_ms. The last line read stays in line. */
int tt_win32_proc_expect(tt_win32_proc *p, const char *prefix, char *line, size_t cap,
                         DWORD timeout_ms);

/* Wait for the process (killed after timeout_ms), print what is left of
 * its output, close its handles and zero *p; its exit code. */
DWORD tt_win32_proc_finish(tt_win32_proc *p, DWORD timeout_ms);

#ifndef TT_SUPPORT_WIN32_NO_TETHER
/* With tether (left out of win32_dll_host, which defines
 * TT_SUPPORT_WIN32_NO_TETHER). */

/* A child scenario's body: watch kind with tether, say "ready", return
 * 30 + kind when it comes within wait_ms, else 4 (2: the channel, 3: the
 * watch failed). The console's Ctrl+C state is left as inherited. */
int tt_win32_watch_and_report(int kind, DWORD wait_ms);
#endif

#endif
