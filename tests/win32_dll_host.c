/* SPDX-License-Identifier: MIT */
/*
 * Windows: tether as a DLL loaded at run time (LoadLibraryW), as python.exe
 * + ctypes, .NET P/Invoke or a plugin host load it (issue 14, items 3 and
 * 6). This program links nothing of tether: it is the host. Every entry of
 * its main() appends a line "<mode>" to the file named by HOST_LOG, so the
 * driver can prove that the console helper never runs the host again (the
 * old helper re-ran the running executable: here that would be a line
 * "(none)", or one more "case" line).
 *
 *   test_dll_host driver      the test (ctest runs this): lays out
 *                             D0\host.exe (a copy of this program),
 *                             D1\tether.dll (no helper beside it),
 *                             D2\tether.dll + D2\tether-ctrl.exe
 *                             in a fresh temporary folder, runs each case
 *                             as D0\host.exe, checks its report and, last,
 *                             the log. Exit 0 when all passed.
 *   host case NAME DLL        one case (below), report on stdout.
 *   host child                a plain Win32 program on a console of its
 *                             own: re-enables Ctrl+C, says "ready", exits
 *                             42 when a Ctrl+C comes (4 after 20 s).
 *
 * The DLL (tether_hostdll, tests/win32.cmake) is built without the install
 * and build-tree paths, so the helper is found only through %TETHER_CTRL%,
 * next to the DLL or next to the executable.
 *
 * Every wait has a bound; a case that reports nothing in 60 s is killed and
 * counts as failed.
 */
/* MSVC: wcscpy, swprintf, _wfopen are fine here (bounded, test code). */
#ifndef _CRT_SECURE_NO_WARNINGS
#define _CRT_SECURE_NO_WARNINGS
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tether.h" /* types and constants only: nothing is linked */

#include "support_win32.h" /* compiled in: plain Win32 */

/* ---------------------------------------------------------------------- */
/* Both sides (and support_win32.h)                                        */
/* ---------------------------------------------------------------------- */

/* Append "<mode>\n" to %HOST_LOG% (one WriteFile: appends are atomic). */
static void log_entry(const char *mode) {
  wchar_t path[MAX_PATH];
  char line[64];
  DWORD n = 0;
  HANDLE h;
  if (GetEnvironmentVariableW(L"HOST_LOG", path, MAX_PATH) == 0)
    return;
  h = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                  FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return;
  snprintf(line, sizeof(line), "%s\n", mode);
  WriteFile(h, line, (DWORD)strlen(line), &n, NULL);
  CloseHandle(h);
}

/* ---------------------------------------------------------------------- */
/* The child: a plain Win32 program                                         */
/* ---------------------------------------------------------------------- */

static HANDLE child_event;

static BOOL WINAPI child_on_ctrl(DWORD type) {
  if (type == CTRL_C_EVENT) {
    SetEvent(child_event);
    return TRUE;
  }
  return FALSE;
}

static int run_child(void) {
  child_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  /* CREATE_NEW_PROCESS_GROUP (every tethered child) disabled Ctrl+C. */
  SetConsoleCtrlHandler(NULL, FALSE);
  SetConsoleCtrlHandler(child_on_ctrl, TRUE);
  tt_win32_say("ready");
  return WaitForSingleObject(child_event, 20000) == WAIT_OBJECT_0 ? 42 : 4;
}

/* ---------------------------------------------------------------------- */
/* Cases: the host with tether.dll loaded at run time                       */
/* ---------------------------------------------------------------------- */

typedef int (*spawn_fn)(tether_child **, const char *const *, const tether_spawn_options *);
typedef int (*child_fn)(tether_child *);
typedef int (*child_kind_fn)(tether_child *, int);
typedef int (*wait_fn)(tether_child *, int, tether_status *);
typedef void (*free_fn)(tether_child *);
typedef tether_os_handle (*stdio_fn)(const tether_child *, int);
typedef int64_t (*pid_fn)(const tether_child *);
typedef long (*oserr_fn)(void);
typedef int (*send_fn)(int64_t, int, unsigned);
typedef int (*chnew_fn)(tether_channel **, const tether_channel_options *);
typedef int (*watch_fn)(tether_channel *, int, unsigned);

#define GET(mod, type, name) ((type)(void (*)(void))GetProcAddress((mod), (name)))

/* Spawn `host child` through the DLL, send it INTERRUPT with
 * tether_child_signal (how == 's') or tether_send (how == 'n'), report
 * "<result> <os error> <exit kind> <exit code>". */
static int case_interrupt(HMODULE dll, char how) {
  spawn_fn spawn = GET(dll, spawn_fn, "tether_spawn");
  child_kind_fn sig = GET(dll, child_kind_fn, "tether_child_signal");
  child_fn kill = GET(dll, child_fn, "tether_child_kill");
  wait_fn wait = GET(dll, wait_fn, "tether_child_wait");
  free_fn cfree = GET(dll, free_fn, "tether_child_free");
  stdio_fn cstdio = GET(dll, stdio_fn, "tether_child_stdio");
  pid_fn cpid = GET(dll, pid_fn, "tether_child_pid");
  oserr_fn oserr = GET(dll, oserr_fn, "tether_last_os_error");
  send_fn send = GET(dll, send_fn, "tether_send");
  char self[MAX_PATH], line[64];
  const char *args[] = {self, "child", NULL};
  /* The macro, not tether_spawn_options_init(): this host calls tether.dll
   * only through GetProcAddress. */
  tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;
  tether_child *c = NULL;
  tether_status st;
  long err;
  int r;
  if (!spawn || !sig || !kill || !wait || !cfree || !cstdio || !cpid || !oserr || !send) {
    tt_win32_say("missing export");
    return 2;
  }
  GetModuleFileNameA(NULL, self, sizeof(self));
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if ((r = spawn(&c, args, &o)) < 0) {
    tt_win32_say("spawn %d", r);
    return 2;
  }
  if (tt_win32_read_line((HANDLE)cstdio(c, 1), line, sizeof(line), 20000) <= 0 ||
      strcmp(line, "ready") != 0) {
    kill(c);
    cfree(c);
    tt_win32_say("child not ready");
    return 2;
  }
  r = how == 's' ? sig(c, TETHER_EVENT_INTERRUPT) : send(cpid(c), TETHER_EVENT_INTERRUPT, 0);
  err = oserr();
  if (r < 0)
    kill(c);
  memset(&st, 0, sizeof(st));
  if (wait(c, 25000, &st) != 1) {
    kill(c);
    wait(c, 10000, &st);
  }
  tt_win32_say("%d %ld %d %d", r, err, st.kind, st.code);
  cfree(c);
  return 0;
}

/* Watch INTERRUPT (console handler) or TERMINATE (hidden window), leak the
 * channel, FreeLibrary, then deliver the event: without the pin the
 * handler or the window procedure would run in unmapped memory. Report
 * "<loaded after FreeLibrary> <event delivered>" and live. */
static int case_pin(HMODULE dll, const wchar_t *dllpath, int window) {
  chnew_fn chnew = GET(dll, chnew_fn, "tether_channel_new");
  watch_fn watch = GET(dll, watch_fn, "tether_channel_watch");
  tether_channel *ch = NULL;
  int r, delivered = 0;
  if (!chnew || !watch) {
    tt_win32_say("missing export");
    return 2;
  }
  if (chnew(&ch, NULL) < 0)
    return 2;
  if (window) {
    r = watch(ch, TETHER_EVENT_TERMINATE, 0);
  } else {
    /* Started with CREATE_NEW_PROCESS_GROUP: Ctrl+C is ignored until
     * TETHER_WATCH_IGNORED turns it on. */
    r = watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED);
  }
  if (r < 0) {
    tt_win32_say("watch %d", r);
    return 2;
  }
  FreeLibrary(dll);
  if (window) {
    /* tether's hidden window: a top-level window of this process. */
    HWND w = NULL;
    DWORD pid = 0;
    while ((w = FindWindowExW(NULL, w, L"tether_hidden_window", NULL)) != NULL) {
      GetWindowThreadProcessId(w, &pid);
      if (pid == GetCurrentProcessId())
        break;
    }
    if (w != NULL && PostMessageW(w, WM_CLOSE, 0, 0))
      delivered = 1;
  } else {
    /* Alone on a console of its own (CREATE_NEW_CONSOLE), leading its own
     * group: Windows' group 0 is that console, Wine's that group. */
    if (GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0))
      delivered = 1;
  }
  Sleep(1500); /* the handler thread or the window procedure has run */
  tt_win32_say("%d %d", GetModuleHandleW(dllpath) != NULL, delivered);
  return 0;
}

#define CASE_CRASHED 0xDEADu

static LONG WINAPI case_crashed(EXCEPTION_POINTERS *info) {
  (void)info;
  TerminateProcess(GetCurrentProcess(), CASE_CRASHED);
  return EXCEPTION_EXECUTE_HANDLER;
}

static int run_case(const char *name, const wchar_t *dllpath) {
  HMODULE dll;
  /* A crash (unmapped code run after FreeLibrary) must end the case at
   * once with a status of its own, not start a debugger (Wine's winedbg,
   * or Windows Error Reporting) that keeps the driver's pipe open. */
  SetErrorMode(GetErrorMode() | SEM_NOGPFAULTERRORBOX);
  SetUnhandledExceptionFilter(case_crashed);
  dll = LoadLibraryW(dllpath);
  if (dll == NULL) {
    tt_win32_say("LoadLibrary %lu", (unsigned long)GetLastError());
    return 2;
  }
  if (strcmp(name, "signal") == 0)
    return case_interrupt(dll, 's');
  if (strcmp(name, "send") == 0)
    return case_interrupt(dll, 'n');
  if (strcmp(name, "pin_console") == 0)
    return case_pin(dll, dllpath, 0);
  if (strcmp(name, "pin_window") == 0)
    return case_pin(dll, dllpath, 1);
  tt_win32_say("unknown case");
  return 2;
}

/* ---------------------------------------------------------------------- */
/* The driver                                                               */
/* ---------------------------------------------------------------------- */

static int failures;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail[0] ? ": " : "", detail);
  fflush(stdout);
  if (!ok)
    failures++;
}

/* Run `host case NAME DLL` with TETHER_CTRL set to ctrl (NULL: unset);
 * its report line in out. */
static int run_host(const wchar_t *host, const char *name, const wchar_t *dll, const wchar_t *ctrl,
                    DWORD flags, char *out, size_t cap, DWORD *exit_code) {
  wchar_t cmd[3 * MAX_PATH];
  PROCESS_INFORMATION pi;
  HANDLE rd = NULL;
  int got;
  *exit_code = 0xFFFFFFFFu;
  out[0] = '\0';
  swprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" case %hs \"%ls\"", host, name, dll);
  SetEnvironmentVariableW(L"TETHER_CTRL", ctrl);
  got = tt_win32_create_piped(host, cmd, flags, TT_WIN32_ERR_PIPE, 0, &pi, &rd);
  SetEnvironmentVariableW(L"TETHER_CTRL", NULL);
  if (!got)
    return 0;
  CloseHandle(pi.hThread);
  got = tt_win32_read_line(rd, out, cap, 60000) > 0;
  if (WaitForSingleObject(pi.hProcess, 15000) != WAIT_OBJECT_0) {
    TerminateProcess(pi.hProcess, 99);
    WaitForSingleObject(pi.hProcess, 5000);
  }
  GetExitCodeProcess(pi.hProcess, exit_code);
  CloseHandle(pi.hProcess);
  CloseHandle(rd);
  return got;
}

/* dir + "\" + name into buf. */
static void join(wchar_t *buf, size_t cap, const wchar_t *dir, const wchar_t *name) {
  swprintf(buf, cap, L"%ls\\%ls", dir, name);
}

/* One case run by run_host, its report "<result> <os error> <exit kind>
 * <exit code>" parsed (what it does not say: result -1000, the others
 * -1) and described in detail. */
typedef struct host_report {
  int got;
  int r;
  long err;
  int kind, ecode;
  DWORD code;
  char rep[256], detail[400];
} host_report;

static void run_report(host_report *h, const wchar_t *host, const char *name, const wchar_t *dll,
                       const wchar_t *ctrl, DWORD flags) {
  h->got = run_host(host, name, dll, ctrl, flags, h->rep, sizeof(h->rep), &h->code);
  snprintf(h->detail, sizeof(h->detail), "report '%s', exit %lu (0x%lx)", h->rep,
           (unsigned long)h->code, (unsigned long)h->code);
  h->r = -1000;
  h->err = -1;
  h->kind = h->ecode = -1;
  if (h->got)
    sscanf(h->rep, "%d %ld %d %d", &h->r, &h->err, &h->kind, &h->ecode);
}

static int run_driver(void) {
  wchar_t self[MAX_PATH], bindir[MAX_PATH], tmp[MAX_PATH], base[MAX_PATH];
  wchar_t d0[MAX_PATH], d1[MAX_PATH], d2[MAX_PATH], host[MAX_PATH], dll1[MAX_PATH], dll2[MAX_PATH],
      ctrl2[MAX_PATH], src[MAX_PATH], nope[MAX_PATH], foreign[MAX_PATH], logpath[MAX_PATH];
  char detail[400];
  host_report h;
  wchar_t *slash;

  GetModuleFileNameW(NULL, self, MAX_PATH);
  wcscpy(bindir, self);
  slash = wcsrchr(bindir, L'\\');
  if (slash == NULL)
    return 2;
  *slash = L'\0';
  GetTempPathW(MAX_PATH, tmp);
  swprintf(base, MAX_PATH, L"%lstether-host-%lu", tmp, (unsigned long)GetCurrentProcessId());
  join(d0, MAX_PATH, base, L"d0");
  join(d1, MAX_PATH, base, L"d1");
  join(d2, MAX_PATH, base, L"d2");
  if (!CreateDirectoryW(base, NULL) || !CreateDirectoryW(d0, NULL) || !CreateDirectoryW(d1, NULL) ||
      !CreateDirectoryW(d2, NULL)) {
    printf("FAIL cannot create %ls\n", base);
    return 1;
  }
  join(host, MAX_PATH, d0, L"host.exe");
  join(dll1, MAX_PATH, d1, L"tether.dll");
  join(dll2, MAX_PATH, d2, L"tether.dll");
  join(ctrl2, MAX_PATH, d2, L"tether-ctrl.exe");
  join(nope, MAX_PATH, d0, L"no-such-helper.exe");
  join(logpath, MAX_PATH, base, L"host.log");
  check(CopyFileW(self, host, FALSE) != 0, "copy host", "");
  join(src, MAX_PATH, bindir, L"tether_hostdll.dll");
  check(CopyFileW(src, dll1, FALSE) && CopyFileW(src, dll2, FALSE), "copy tether_hostdll.dll", "");
  join(src, MAX_PATH, bindir, L"tether-ctrl.exe");
  check(CopyFileW(src, ctrl2, FALSE) != 0, "copy tether-ctrl.exe", "");
  GetSystemDirectoryW(foreign, MAX_PATH);
  wcscat(foreign, L"\\hostname.exe");
  SetEnvironmentVariableW(L"HOST_LOG", logpath);
  log_entry("driver");

  /* 1. INTERRUPT through the helper next to the DLL: delivered. The case
   * process has no console (DETACHED_PROCESS), so its child gets one of its
   * own and Ctrl+C can be aimed at it. */
  run_report(&h, host, "signal", dll2, NULL, DETACHED_PROCESS);
  check(h.got && h.r == 0 && h.kind == TETHER_STATUS_CODE && h.ecode == 42,
        "tether_child_signal(INTERRUPT), helper next to the DLL: the child got Ctrl+C", h.detail);

  /* 2. tether_send(INTERRUPT), the same helper (mode 'c'). */
  run_report(&h, host, "send", dll2, NULL, DETACHED_PROCESS);
  check(h.got && h.r == 0 && h.kind == TETHER_STATUS_CODE && h.ecode == 42,
        "tether_send(INTERRUPT), helper next to the DLL: the child got Ctrl+C", h.detail);

  /* 3. No helper next to the DLL or the executable: TETHER_EHELPER, with
   * ERROR_FILE_NOT_FOUND; the child was left alone (then killed). */
  run_report(&h, host, "signal", dll1, NULL, DETACHED_PROCESS);
  check(h.got && h.r == TETHER_EHELPER && h.err == ERROR_FILE_NOT_FOUND &&
            h.kind == TETHER_STATUS_KILLED,
        "helper missing: TETHER_EHELPER (os error 2)", h.detail);

  /* 4. %TETHER_CTRL% names it: found although nothing is beside the DLL. */
  run_report(&h, host, "signal", dll1, ctrl2, DETACHED_PROCESS);
  check(h.got && h.r == 0 && h.ecode == 42, "%TETHER_CTRL% names the helper: delivered", h.detail);

  /* 5. %TETHER_CTRL% names a missing file: that file only, no search. */
  run_report(&h, host, "signal", dll2, nope, DETACHED_PROCESS);
  check(h.got && h.r == TETHER_EHELPER && h.err == ERROR_FILE_NOT_FOUND,
        "%TETHER_CTRL% names a missing file: TETHER_EHELPER, no search", h.detail);

  /* 6. %TETHER_CTRL% names another program: it does not answer as
   * tether-ctrl.exe, TETHER_EHELPER (never "delivered"). */
  if (GetFileAttributesW(foreign) != INVALID_FILE_ATTRIBUTES) {
    run_report(&h, host, "signal", dll2, foreign, DETACHED_PROCESS);
    check(h.got && h.r == TETHER_EHELPER, "%TETHER_CTRL% names another program: TETHER_EHELPER",
          h.detail);
  } else {
    printf("skip %%TETHER_CTRL%% names another program: no %ls\n", foreign);
  }

  /* 7. FreeLibrary with a console handler installed, then Ctrl+C: the DLL
   * stays (pinned) and the process lives. */
  run_report(&h, host, "pin_console", dll2, NULL, CREATE_NEW_CONSOLE | CREATE_NEW_PROCESS_GROUP);
  check(h.got && strcmp(h.rep, "1 1") == 0 && h.code == 0,
        "FreeLibrary, then Ctrl+C: DLL still mapped, handler ran, no crash", h.detail);

  /* 8. The same with the hidden window and WM_CLOSE. */
  run_report(&h, host, "pin_window", dll2, NULL, DETACHED_PROCESS);
  check(h.got && strcmp(h.rep, "1 1") == 0 && h.code == 0,
        "FreeLibrary, then WM_CLOSE to the hidden window: no crash", h.detail);

  /* The log: one "driver", one "case" per case run, one "child" per child
   * spawned (cases 1-6), nothing else: the host's main() never ran as a
   * helper. */
  {
    FILE *f = _wfopen(logpath, L"r");
    char line[64];
    int drivers = 0, cases = 0, children = 0, other = 0;
    int want_cases = GetFileAttributesW(foreign) != INVALID_FILE_ATTRIBUTES ? 8 : 7;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
      line[strcspn(line, "\r\n")] = '\0';
      if (strcmp(line, "driver") == 0)
        drivers++;
      else if (strcmp(line, "case") == 0)
        cases++;
      else if (strcmp(line, "child") == 0)
        children++;
      else
        other++;
    }
    if (f != NULL)
      fclose(f);
    snprintf(detail, sizeof(detail), "driver %d, case %d (want %d), child %d (want %d), other %d",
             drivers, cases, want_cases, children, want_cases - 2, other);
    check(drivers == 1 && cases == want_cases && children == want_cases - 2 && other == 0,
          "the host's main() ran only as itself", detail);
  }

  DeleteFileW(host);
  DeleteFileW(dll1);
  DeleteFileW(dll2);
  DeleteFileW(ctrl2);
  DeleteFileW(logpath);
  RemoveDirectoryW(d0);
  RemoveDirectoryW(d1);
  RemoveDirectoryW(d2);
  RemoveDirectoryW(base);
  printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    /* Never expected: this is what a helper that re-runs the executable
     * would start. */
    log_entry("(none)");
    return 3;
  }
  log_entry(argv[1]);
  if (strcmp(argv[1], "driver") == 0)
    return run_driver();
  if (strcmp(argv[1], "child") == 0)
    return run_child();
  if (strcmp(argv[1], "case") == 0 && argc >= 4) {
    wchar_t dll[MAX_PATH];
    int n = MultiByteToWideChar(CP_ACP, 0, argv[3], -1, dll, MAX_PATH);
    if (n <= 0)
      return 2;
    return run_case(argv[2], dll);
  }
  return 2;
}
