/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: native event sources.
 *
 * Two kinds of sources feed the channel:
 *
 * 1. Console control events, through one handler registered with
 *    SetConsoleCtrlHandler the first time any of them is watched:
 *      source 0 CTRL_C_EVENT        -> INTERRUPT
 *      source 1 CTRL_BREAK_EVENT    -> QUIT
 *      source 2 CTRL_CLOSE_EVENT    -> HANGUP    (needs an acknowledgement)
 *      source 5 CTRL_LOGOFF_EVENT   -> LOGOFF    (needs an acknowledgement)
 *      source 6 CTRL_SHUTDOWN_EVENT -> SHUTDOWN  (needs an acknowledgement)
 *    The source index is the CTRL_*_EVENT value.
 *
 * 2. Messages to a hidden top-level window that a thread of tether's
 *    creates the first time TERMINATE, LOGOFF or SHUTDOWN is watched:
 *      source 8  WM_CLOSE                       -> TERMINATE
 *      source 9  WM_ENDSESSION, ENDSESSION_LOGOFF -> LOGOFF   (needs ack)
 *      source 10 WM_ENDSESSION, otherwise       -> SHUTDOWN (needs ack)
 *      source 11 WM_ENDSESSION, ENDSESSION_CLOSEAPP -> TERMINATE
 *                (Restart Manager asking the program to close)
 *
 * Neither is ever taken down again: the handler and the window check the
 * number of watchers of a source (tether__src_watchers) and behave as if
 * they were absent when it is 0. Removing a console handler from inside a
 * handler call would deadlock on the console's handler lock, and
 * tether_channel_unwatch() may run at any time.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "module.h"
#include "user32.h"
#include "win32_seam.h"

/* ------------------------------------------------------------------------ */
/* Source table                                                             */
/* ------------------------------------------------------------------------ */

#define TETHER__SRC_WM_CLOSE 8
#define TETHER__SRC_WM_LOGOFF 9
#define TETHER__SRC_WM_SHUTDOWN 10
#define TETHER__SRC_WM_CLOSEAPP 11
#define TETHER__WIN_NSRC 12

/* Indices 3, 4 and 7 are unused (kind 0): CTRL_*_EVENT 3 and 4 do not
 * exist ("HandlerRoutine", MS docs). */
static const tether__src_info tether__win_src[TETHER__WIN_NSRC] = {
    {TETHER_EVENT_INTERRUPT, CTRL_C_EVENT, "CTRL_C_EVENT", 0},
    {TETHER_EVENT_QUIT, CTRL_BREAK_EVENT, "CTRL_BREAK_EVENT", 0},
    {TETHER_EVENT_HANGUP, CTRL_CLOSE_EVENT, "CTRL_CLOSE_EVENT", TETHER__SRC_NEEDS_ACK},
    {TETHER_EVENT_NONE, 0, NULL, 0},
    {TETHER_EVENT_NONE, 0, NULL, 0},
    {TETHER_EVENT_LOGOFF, CTRL_LOGOFF_EVENT, "CTRL_LOGOFF_EVENT", TETHER__SRC_NEEDS_ACK},
    {TETHER_EVENT_SHUTDOWN, CTRL_SHUTDOWN_EVENT, "CTRL_SHUTDOWN_EVENT", TETHER__SRC_NEEDS_ACK},
    {TETHER_EVENT_NONE, 0, NULL, 0},
    {TETHER_EVENT_TERMINATE, WM_CLOSE, "WM_CLOSE", 0},
    {TETHER_EVENT_LOGOFF, WM_ENDSESSION, "WM_ENDSESSION", TETHER__SRC_NEEDS_ACK},
    {TETHER_EVENT_SHUTDOWN, WM_ENDSESSION, "WM_ENDSESSION", TETHER__SRC_NEEDS_ACK},
    {TETHER_EVENT_TERMINATE, WM_ENDSESSION, "WM_ENDSESSION", 0}};

static int tether__valid_src(int src) {
  return src >= 0 && src < TETHER__WIN_NSRC && tether__win_src[src].kind != TETHER_EVENT_NONE;
}

static int tether__is_window_src(int src) {
  return src >= TETHER__SRC_WM_CLOSE && src <= TETHER__SRC_WM_CLOSEAPP;
}

int tether__os_src_info(int src, tether__src_info *out) {
  if (!tether__valid_src(src))
    return TETHER_EINVAL;
  *out = tether__win_src[src];
  return 0;
}

/* A kind's sources are the rows of the table above that name it (the
 * table is the one {kind, native} list of this backend). */
int tether__os_kind_sources(int kind, int *srcs, int max) {
  int n = 0, src;
  if (!tether__kind_has(kind, 0))
    return TETHER_EINVAL;
  for (src = 0; src < TETHER__WIN_NSRC && n < max; src++)
    if (tether__win_src[src].kind == kind)
      srcs[n++] = src;
  return n > 0 ? n : TETHER_ENOTSUP; /* USER1, USER2, RESIZE, SIGNAL */
}

/* Windows has no signals by number. */
int tether__os_signal_source(int signo, int *src) {
  (void)signo;
  (void)src;
  return TETHER_ENOTSUP;
}

int tether__os_ignored_at_start(int signo) {
  (void)signo;
  return TETHER_ENOTSUP;
}

const char *tether__os_signal_name(int signo) {
  (void)signo;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Ctrl+C ignored                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Windows' counterpart of an inherited SIG_IGN for SIGINT. A process
 * created with CREATE_NEW_PROCESS_GROUP starts with Ctrl+C ignored ("an
 * implicit call to SetConsoleCtrlHandler(NULL, TRUE) is made on behalf of
 * the new process", "CreateProcess" / process creation flags, MS docs), and
 * the state "is inherited by child processes" ("SetConsoleCtrlHandler").
 * While it is set CTRL_C_EVENT calls no handler at all: watching INTERRUPT
 * would succeed and never deliver. Windows has no documented call that
 * reads the state; it lives in bit 0 of ConsoleFlags of the process's
 * RTL_USER_PROCESS_PARAMETERS (PEB->ProcessParameters), which process
 * creation sets for CREATE_NEW_PROCESS_GROUP, copies from the parent
 * otherwise, SetConsoleCtrlHandler(NULL, x) writes and the Ctrl+C dispatch
 * routine tests (ReactOS kernel32 and Wine kernelbase do the same, with
 * the same layout of the structure's first fields). tether reads it with NtQueryInformationProcess
 * (ProcessBasicInformation: the PEB's address) and ReadProcessMemory, for
 * this process (channel watch) and for a child (win32/spawn.c, INTERRUPT to
 * a child that ignores it).
 */

/* The first fields of PEB and RTL_USER_PROCESS_PARAMETERS, native layout
 * (x86: ProcessParameters at 0x10, ConsoleFlags at 0x14; x64 and ARM64:
 * 0x20 and 0x18), and the 32-bit layout of a WOW64 process's PEB32. */
typedef struct tether__peb_head {
  BYTE flags[4];
  PVOID mutant, image_base, ldr;
  PVOID process_parameters;
} tether__peb_head;
typedef struct tether__params_head {
  ULONG maximum_length, length, flags, debug_flags;
  HANDLE console_handle;
  ULONG console_flags;
} tether__params_head;
typedef struct tether__peb32_head {
  BYTE flags[4];
  ULONG mutant, image_base, ldr;
  ULONG process_parameters;
} tether__peb32_head;
typedef struct tether__params32_head {
  ULONG maximum_length, length, flags, debug_flags;
  ULONG console_handle;
  ULONG console_flags;
} tether__params32_head;
typedef struct tether__basic_info {
  LONG exit_status;
  PVOID peb;
  ULONG_PTR affinity;
  LONG base_priority;
  ULONG_PTR pid, parent_pid;
} tether__basic_info;

typedef LONG(NTAPI *tether__NtQueryInformationProcess_fn)(HANDLE, ULONG, PVOID, ULONG, PULONG);
#define TETHER__ProcessBasicInformation 0u
#define TETHER__ProcessWow64Information 26u

/* GetProcAddress returns FARPROC; going through void (*)(void) keeps GCC's
 * -Wcast-function-type quiet and is fine for MSVC. */
#define TETHER__PROC(mod, type, name) ((type)(void (*)(void))GetProcAddress((mod), (name)))

static int tether__read(HANDLE process, const void *at, void *buf, size_t n) {
  SIZE_T got = 0;
  if (at == NULL)
    return TETHER_ENOTSUP;
  if (!ReadProcessMemory(process, at, buf, n, &got))
    return tether__translate_os_error((long)GetLastError());
  return got == n ? 0 : TETHER_ENOTSUP;
}

int tether__win32_ctrl_c_ignored(void *process_handle) {
  HANDLE process = (HANDLE)process_handle;
  tether__NtQueryInformationProcess_fn query;
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  BOOL self_wow = FALSE, target_wow = FALSE;
  int r;
  if (ntdll == NULL)
    return TETHER_ENOTSUP;
  query = TETHER__PROC(ntdll, tether__NtQueryInformationProcess_fn, "NtQueryInformationProcess");
  if (query == NULL)
    return TETHER_ENOTSUP;
  if (!IsWow64Process(GetCurrentProcess(), &self_wow) || !IsWow64Process(process, &target_wow))
    return tether__translate_os_error((long)GetLastError());
  if (target_wow && !self_wow) {
    /* A 32-bit process seen from a 64-bit one: its PEB32. */
    ULONG_PTR peb32 = 0;
    tether__peb32_head peb;
    tether__params32_head params;
    if (query(process, TETHER__ProcessWow64Information, &peb32, sizeof(peb32), NULL) < 0 ||
        peb32 == 0)
      return TETHER_ENOTSUP;
    if ((r = tether__read(process, (const void *)peb32, &peb, sizeof(peb))) < 0 ||
        (r = tether__read(process, (const void *)(ULONG_PTR)peb.process_parameters, &params,
                          sizeof(params))) < 0)
      return r;
    return (params.console_flags & 1u) != 0;
  }
  if (self_wow && !target_wow)
    return TETHER_ENOTSUP; /* a 64-bit process seen from a 32-bit one */
  {
    tether__basic_info info;
    tether__peb_head peb;
    tether__params_head params;
    memset(&info, 0, sizeof(info));
    if (query(process, TETHER__ProcessBasicInformation, &info, sizeof(info), NULL) < 0)
      return TETHER_ENOTSUP;
    if ((r = tether__read(process, info.peb, &peb, sizeof(peb))) < 0 ||
        (r = tether__read(process, peb.process_parameters, &params, sizeof(params))) < 0)
      return r;
    return (params.console_flags & 1u) != 0;
  }
}

/* Set (once, never cleared) when tether re-enabled Ctrl+C for a watcher
 * with TETHER_WATCH_IGNORED. */
static volatile LONG tether__ctrl_c_reenabled;

/* Was Ctrl+C ignored in this process before tether changed anything? A
 * state that cannot be read counts as not ignored (the behaviour before
 * tether looked). */
static int tether__ctrl_c_ignored_here(void) {
  if (InterlockedCompareExchange(&tether__ctrl_c_reenabled, 0, 0))
    return 1;
  return tether__win32_ctrl_c_ignored(GetCurrentProcess()) == 1;
}

/* INTERRUPT with Ctrl+C ignored: TETHER_EIGNORED unless the watcher passes
 * TETHER_WATCH_IGNORED (mirroring POSIX's inherited SIG_IGN for SIGINT;
 * tether__os_src_install then re-enables it). Every other Windows source may
 * be watched: Ctrl+Break "always" reaches the handlers. */
int tether__os_src_check(int src, unsigned flags) {
  if (!tether__valid_src(src))
    return TETHER_EINVAL;
  if (src == CTRL_C_EVENT && !(flags & TETHER_WATCH_IGNORED) && tether__ctrl_c_ignored_here())
    return TETHER_EIGNORED;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Deadlines                                                                */
/* ------------------------------------------------------------------------ */

/*
 * How long Windows lets a handler run before it ends the process, per
 * event. Microsoft's console team documents the values from ntuser's
 * exitwin.c (microsoft/terminal doc/ConsoleCtrlEvent.md, "Timeouts"):
 *   CTRL_CLOSE_EVENT              SPI_GETHUNGAPPTIMEOUT, default 5000 ms
 *   CTRL_LOGOFF/SHUTDOWN_EVENT    SPI_GETWAITTOKILLTIMEOUT, default 5000 ms;
 *                                 a service at shutdown:
 *                                 WaitToKillServiceTimeout
 * and "Shutdown Changes for Windows Vista" (MS docs): applications that do
 * not answer WM_ENDSESSION within 5 seconds (WaitToKillAppTimeout) are
 * terminated. The SPI values are stored in the registry, which tether reads
 * at each event instead of calling SystemParametersInfo (that would need
 * user32, see "Hidden window" below):
 *   CTRL_CLOSE_EVENT         HKCU\Control Panel\Desktop\HungAppTimeout
 *   CTRL_LOGOFF/SHUTDOWN     HKLM\SYSTEM\CurrentControlSet\Control\
 *                            WaitToKillServiceTimeout ("this signal is
 *                            received only by services", HandlerRoutine)
 *   WM_ENDSESSION            HKCU\Control Panel\Desktop\WaitToKillAppTimeout
 * each 5000 ms when absent or not a number, and kept within 1000..20000 ms
 * (Windows itself waits no longer than 20 s for a service at shutdown
 * without SERVICE_ACCEPT_PRESHUTDOWN). tether releases the handler
 * TETHER__WIN32_MARGIN_MS before the budget ends, so that it returns before
 * Windows kills the process and tether_event.time_left_ms is never
 * optimistic.
 */
typedef LONG(WINAPI *tether__RegGetValueW_fn)(HKEY, LPCWSTR, LPCWSTR, DWORD, LPDWORD, PVOID,
                                              LPDWORD);

#ifndef RRF_RT_REG_SZ
#define RRF_RT_REG_SZ 0x00000002
#endif
#ifndef RRF_RT_REG_DWORD
#define RRF_RT_REG_DWORD 0x00000010
#endif
#ifndef LOAD_LIBRARY_SEARCH_SYSTEM32
#define LOAD_LIBRARY_SEARCH_SYSTEM32 0x00000800
#endif

/* A millisecond value stored as REG_SZ (how Windows stores these) or
 * REG_DWORD; 0 when absent or not a number. advapi32 is loaded from
 * System32 on first use (it does not make the program a GUI program). */
static unsigned long tether__reg_ms(HKEY root, const wchar_t *key, const wchar_t *name) {
  tether__RegGetValueW_fn get;
  HMODULE adv;
  wchar_t buf[32];
  DWORD type = 0, size = sizeof(buf), v = 0;
  unsigned long ms = 0;
  int i;
  /* Loaded once and never freed (events are rare; the next call finds it). */
  adv = GetModuleHandleW(L"advapi32.dll");
  if (adv == NULL)
    adv = LoadLibraryExW(L"advapi32.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (adv == NULL)
    return 0;
  get = TETHER__PROC(adv, tether__RegGetValueW_fn, "RegGetValueW");
  if (get == NULL)
    return 0;
  if (get(root, key, name, RRF_RT_REG_SZ | RRF_RT_REG_DWORD, &type, buf, &size) != 0)
    return 0;
  if (type == REG_DWORD) {
    memcpy(&v, buf, sizeof(v));
    return v;
  }
  buf[31] = L'\0';
  for (i = 0; buf[i] >= L'0' && buf[i] <= L'9' && ms < 100000000ul; i++)
    ms = ms * 10u + (unsigned long)(buf[i] - L'0');
  return buf[i] == L'\0' ? ms : 0;
}

unsigned long tether__win32_budget_ms(int src) {
  unsigned long ms;
  switch (src) {
  case CTRL_CLOSE_EVENT:
    ms = tether__reg_ms(HKEY_CURRENT_USER, L"Control Panel\\Desktop", L"HungAppTimeout");
    break;
  case CTRL_LOGOFF_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    ms = tether__reg_ms(HKEY_LOCAL_MACHINE, L"SYSTEM\\CurrentControlSet\\Control",
                        L"WaitToKillServiceTimeout");
    break;
  case TETHER__SRC_WM_LOGOFF:
  case TETHER__SRC_WM_SHUTDOWN:
    ms = tether__reg_ms(HKEY_CURRENT_USER, L"Control Panel\\Desktop", L"WaitToKillAppTimeout");
    break;
  default:
    return 0; /* no acknowledgement: nothing waits */
  }
  if (ms == 0)
    ms = TETHER__WIN32_OS_TIMEOUT_MS;
  if (ms < TETHER__WIN32_MIN_BUDGET_MS)
    ms = TETHER__WIN32_MIN_BUDGET_MS;
  if (ms > TETHER__WIN32_MAX_BUDGET_MS)
    ms = TETHER__WIN32_MAX_BUDGET_MS;
  return ms;
}

/* The moment to release the handler for src, the event having arrived at
 * start_ns. */
static uint64_t tether__os_deadline_ns(int src, uint64_t start_ns) {
  return start_ns + (uint64_t)(tether__win32_budget_ms(src) - TETHER__WIN32_MARGIN_MS) * 1000000u;
}

/* Deliver src; for sources the OS ends the process after, block until every
 * watching channel acknowledged (or closed) or the deadline passed. */
static void tether__deliver_src(int src) {
  if (tether__win_src[src].flags & TETHER__SRC_NEEDS_ACK)
    tether__deliver_and_wait_ack(src, tether__os_deadline_ns(src, tether__now_ns()));
  else
    tether__deliver(src, TETHER__UNKNOWN_ID, TETHER__UNKNOWN_ID);
}

/* ------------------------------------------------------------------------ */
/* Console control handler                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Facts relied on ("HandlerRoutine", "SetConsoleCtrlHandler", "CTRL+CLOSE
 * Signal", MS docs):
 *   - the system runs the handler on a new thread of the process, so it may
 *     block and take locks;
 *   - handlers run last-registered first until one returns TRUE; if none
 *     does, the default handler calls ExitProcess;
 *   - after CTRL_CLOSE/LOGOFF/SHUTDOWN_EVENT the process ends as soon as a
 *     handler returns TRUE (or when the timeout above expires), so the
 *     handler blocks until the program acknowledged the event;
 *   - AttachConsole, AllocConsole and FreeConsole reset the handler list
 *     ("Registering a Control Handler Function", MS docs): a program that
 *     switches consoles after watching loses tether's handler.
 */
int tether__win32_console_handler(unsigned long ctrl_type) {
  int src;
  switch (ctrl_type) {
  case CTRL_C_EVENT:
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_LOGOFF_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    src = (int)ctrl_type;
    break;
  default:
    return 0;
  }
  /* Nobody watches: behave as if tether's handler were not there, so the
   * next handler (or the default one, which exits) runs. Except for a
   * Ctrl+C that tether re-enabled (TETHER_WATCH_IGNORED): the process
   * ignored it before, so it is swallowed, as the ignore flag would have. */
  if (tether__src_watchers(src) == 0)
    return src == CTRL_C_EVENT && InterlockedCompareExchange(&tether__ctrl_c_reenabled, 0, 0) != 0;
  tether__deliver_src(src);
  return 1;
}

static BOOL WINAPI tether__console_handler_thunk(DWORD ctrl_type) {
  return tether__win32_console_handler((unsigned long)ctrl_type) ? TRUE : FALSE;
}

static int tether__console_registered; /* global lock */

/* Global lock held. */
static int tether__console_install_locked(void) {
  int r;
  if (tether__console_registered)
    return 0;
  /* Windows keeps only the handler's address: keep it mapped. */
  if ((r = tether__win32_pin_module()) < 0)
    return r;
  if (!SetConsoleCtrlHandler(tether__console_handler_thunk, TRUE))
    return tether__translate_os_error((long)GetLastError());
  tether__console_registered = 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Hidden window                                                            */
/* ------------------------------------------------------------------------ */

/*
 * user32.dll is loaded on first use (win32/user32.c), never imported:
 * "If a console application loads the gdi32.dll or user32.dll library, the
 * HandlerRoutine function ... does not get called for the CTRL_LOGOFF_EVENT
 * and CTRL_SHUTDOWN_EVENT events. The operating system recognizes processes
 * that load gdi32.dll or user32.dll as Windows applications rather than
 * console applications" ("SetConsoleCtrlHandler", Remarks, MS docs; the
 * same page recommends a hidden window handling WM_QUERYENDSESSION and
 * WM_ENDSESSION instead). So a console program that only watches INTERRUPT,
 * QUIT or HANGUP stays a console program, and one that watches LOGOFF or
 * SHUTDOWN gets both the console events and the window messages: whichever
 * Windows decides to send. Conversely, a GUI process that created a console
 * gets no WM_QUERYENDSESSION (KB Q197630) but does get the console events.
 *
 * The window is top level (not HWND_MESSAGE) because `taskkill` without /F
 * posts WM_CLOSE to the process's top-level windows, found by enumerating
 * them; message-only windows are not enumerated ("Window Features",
 * Message-Only Windows: "not visible, has no z-order, cannot be enumerated",
 * MS docs). It is never shown.
 */

static void *volatile tether__hwnd; /* the window, once created */
static int tether__window_running;  /* global lock */

/* Startup hand-shake between the installer and the window thread. */
static struct {
  HANDLE ready; /* manual-reset event set by the window thread */
  long error;   /* 0, or GetLastError() of the failed step */
} tether__window_start;

static const wchar_t tether__window_class[] = L"tether_hidden_window";

/*
 * The window procedure ("WM_CLOSE", "WM_QUERYENDSESSION", "WM_ENDSESSION",
 * MS docs):
 *   - WM_CLOSE: DefWindowProc would destroy the window; tether reports
 *     TERMINATE and keeps the window (the program decides whether to exit).
 *     With no watcher of TERMINATE (the window exists for LOGOFF or
 *     SHUTDOWN), tether behaves as if its window were not there: when the
 *     process has another top-level window, that window got the same
 *     request (taskkill posts to each) and the program decides, so it is
 *     ignored; when it has none, the request is TERMINATE's default action,
 *     as an unwatched SIGTERM on POSIX and an unhandled Ctrl+C on Windows:
 *     the process ends with tether_exit_like_kind(TERMINATE)'s code, 143.
 *     Swallowing it would make `taskkill` (without /F) say SUCCESS while
 *     nothing happens.
 *   - WM_QUERYENDSESSION: TRUE, tether never vetoes the end of the session
 *     (windowless programs cannot anyway, "Shutdown Changes for Windows
 *     Vista").
 *   - WM_ENDSESSION with wParam TRUE: "the session can end any time after
 *     all applications have returned from processing this message", so the
 *     procedure blocks until acknowledged or the deadline. lParam has
 *     ENDSESSION_LOGOFF for a logoff; ENDSESSION_CLOSEAPP without it is
 *     Restart Manager asking this program to close so that a file it uses
 *     can be replaced (RmShutdown; the session goes on): TERMINATE, as a
 *     WM_CLOSE, without an acknowledgement wait (Restart Manager waits for
 *     the process to end). Anything else (0 for shutdown or restart,
 *     ENDSESSION_CRITICAL) is SHUTDOWN. Unwatched: DefWindowProc (and, for
 *     ENDSESSION_CLOSEAPP, what an unwatched WM_CLOSE does).
 */

/* Does this process have a top-level window that is not of tether's window
 * thread? (That thread also owns the "Default IME" window Windows and Wine
 * give every thread that creates a window.) */
typedef struct tether__other_windows {
  DWORD tid; /* tether's window thread */
  DWORD pid;
  int found;
} tether__other_windows;

static BOOL CALLBACK tether__other_window_cb(HWND hwnd, LPARAM lp) {
  tether__other_windows *o = (tether__other_windows *)lp;
  DWORD pid = 0, tid = tether__u32.GetWindowThreadProcessId(hwnd, &pid);
  if (pid == o->pid && tid != o->tid) {
    o->found = 1;
    return FALSE;
  }
  return TRUE;
}

/* A close request (WM_CLOSE, or Restart Manager's ENDSESSION_CLOSEAPP) that
 * nobody watches: ignored when another top-level window of this process got
 * it too, else TERMINATE's default action (see above). */
static void tether__unwatched_close(void) {
  tether__other_windows o;
  o.tid = GetCurrentThreadId(); /* the window procedure runs on it */
  o.pid = GetCurrentProcessId();
  o.found = 0;
  tether__u32.EnumWindows(tether__other_window_cb, (LPARAM)&o);
  if (!o.found)
    tether_exit_like_kind(TETHER_EVENT_TERMINATE);
}
static LRESULT CALLBACK tether__window_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam) {
  switch (msg) {
  case WM_CLOSE:
    if (tether__src_watchers(TETHER__SRC_WM_CLOSE) > 0) {
      tether__deliver_src(TETHER__SRC_WM_CLOSE);
    } else {
      tether__unwatched_close();
    }
    return 0;
  case WM_QUERYENDSESSION:
    return TRUE;
  case WM_ENDSESSION:
    if (wparam) {
      unsigned long why = (unsigned long)lparam;
      int src = (why & ENDSESSION_LOGOFF)     ? TETHER__SRC_WM_LOGOFF
                : (why & ENDSESSION_CLOSEAPP) ? TETHER__SRC_WM_CLOSEAPP
                                              : TETHER__SRC_WM_SHUTDOWN;
      if (tether__src_watchers(src) > 0) {
        tether__deliver_src(src);
        return 0;
      }
      if (src == TETHER__SRC_WM_CLOSEAPP)
        tether__unwatched_close();
    }
    return tether__u32.DefWindowProcW(hwnd, msg, wparam, lparam);
  default:
    return tether__u32.DefWindowProcW(hwnd, msg, wparam, lparam);
  }
}

/* The module that contains this code (the program, or tether's DLL), so
 * that the window class belongs to it ("GetModuleHandleExW",
 * GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, MS docs). */
static HINSTANCE tether__this_module(void) {
  HMODULE mod = NULL;
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                              GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          (LPCWSTR)(const void *)tether__window_class, &mod))
    mod = GetModuleHandleW(NULL);
  return (HINSTANCE)mod;
}

/* The window thread: create the window, report, then pump messages for the
 * life of the process. A window belongs to the thread that created it and
 * only that thread receives its messages ("About Messages and Message
 * Queues", MS docs). */
static void tether__window_main(void *unused) {
  WNDCLASSEXW wc;
  HWND hwnd;
  MSG msg;
  (void)unused;
  memset(&wc, 0, sizeof(wc));
  wc.cbSize = sizeof(wc);
  wc.lpfnWndProc = tether__window_proc;
  wc.hInstance = tether__this_module();
  wc.lpszClassName = tether__window_class;
  if (tether__u32.RegisterClassExW(&wc) == 0 && GetLastError() != ERROR_CLASS_ALREADY_EXISTS) {
    tether__window_start.error = (long)GetLastError();
    SetEvent(tether__window_start.ready);
    return;
  }
  /* No WS_VISIBLE: created hidden and never shown. */
  hwnd = tether__u32.CreateWindowExW(0, tether__window_class, L"tether", WS_OVERLAPPED,
                                     CW_USEDEFAULT, CW_USEDEFAULT, CW_USEDEFAULT, CW_USEDEFAULT,
                                     NULL, NULL, wc.hInstance, NULL);
  if (hwnd == NULL) {
    DWORD err = GetLastError();
    /* Wine without a display driver fails with error 0 or 1400. */
    tether__window_start.error = err != 0 ? (long)err : (long)ERROR_INVALID_WINDOW_HANDLE;
    SetEvent(tether__window_start.ready);
    return;
  }
  tether__store_ptr(&tether__hwnd, (void *)hwnd);
  tether__window_start.error = 0;
  SetEvent(tether__window_start.ready);
  /* GetMessageW returns 0 for WM_QUIT (never posted) and -1 on error. */
  while (tether__u32.GetMessageW(&msg, NULL, 0, 0) > 0)
    tether__u32.DispatchMessageW(&msg);
}

/* Global lock held. Start the window thread once and wait until the window
 * exists, so that a failure is reported by tether_channel_watch() and the
 * window can be found as soon as watch returns. The window thread never
 * takes the global lock before it reports. */
static int tether__window_install_locked(void) {
  tether__thread *t;
  int r;
  if (tether__window_running)
    return 0;
  r = tether__user32_load_locked();
  if (r < 0)
    return r;
  tether__window_start.ready = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (tether__window_start.ready == NULL)
    return tether__translate_os_error((long)GetLastError());
  tether__window_start.error = 0;
  r = tether__thread_start(&t, tether__window_main, NULL);
  if (r < 0) {
    CloseHandle(tether__window_start.ready);
    tether__window_start.ready = NULL;
    return r;
  }
  WaitForSingleObject(tether__window_start.ready, INFINITE);
  CloseHandle(tether__window_start.ready);
  tether__window_start.ready = NULL;
  if (tether__window_start.error != 0) {
    tether__thread_join(t); /* it returned right after reporting */
    return tether__translate_os_error(tether__window_start.error);
  }
  tether__thread_detach(t); /* runs until the process ends */
  tether__window_running = 1;
  return 0;
}

void *tether__win32_hidden_window(void) { return tether__load_ptr(&tether__hwnd); }

/* ------------------------------------------------------------------------ */
/* Install / uninstall                                                      */
/* ------------------------------------------------------------------------ */

int tether__os_src_install(int src) {
  int r;
  if (!tether__valid_src(src))
    return TETHER_EINVAL;
  if (tether__is_window_src(src))
    return tether__window_install_locked();
  r = tether__console_install_locked();
  /* The check passed, so a watcher of an ignored Ctrl+C asked for
   * TETHER_WATCH_IGNORED: turn it back on ("SetConsoleCtrlHandler": NULL
   * and FALSE "restores normal processing of CTRL+C input"). Processes
   * started from now on inherit it on. */
  if (r == 0 && src == CTRL_C_EVENT && tether__win32_ctrl_c_ignored(GetCurrentProcess()) == 1) {
    if (!SetConsoleCtrlHandler(NULL, FALSE))
      return tether__translate_os_error((long)GetLastError());
    InterlockedExchange(&tether__ctrl_c_reenabled, 1);
  }
  return r;
}

/* Nothing to undo: the handler and the window check the watcher count. */
void tether__os_src_uninstall(int src) { (void)src; }
