/* SPDX-License-Identifier: MIT */
/*
 * Tethered children on Windows (win32/spawn.c): spawning, program search,
 * argv, environment, working directory, stdio, the Job Object guarantee
 * (close, parent death, grandchildren, both creation paths), wait_tree,
 * kill, events (WM_CLOSE, console events through the helper), stop
 * sequences, what the child inherits, child events.
 *
 * Child scenarios re-run this executable: `test_spawn_win32 --child NAME`
 * (the wine_* ones serve tests/cli/wine_sigkill.sh).
 * Runs under Wine 8 (ci/lane.sh mingw); what Wine cannot do is skipped or
 * expected differently, with the reason next to it.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <shellapi.h>
#include <tlhelp32.h>

#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "support_win32.h"

#include "backend.h"
#include "win32_seam.h"

#define TT_STATUS_CONTROL_C_EXIT 0xC000013Au

/* ---------------------------------------------------------------------- */
/* Small helpers (both sides)                                               */
/* ---------------------------------------------------------------------- */

static uint64_t ms_since(uint64_t start_ns) { return (tether_now_ns() - start_ns) / 1000000u; }

static void write_str(HANDLE h, const char *s) {
  DWORD n = 0;
  WriteFile(h, s, (DWORD)strlen(s), &n, NULL);
}

static char *wide_to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = (char *)malloc(n > 0 ? (size_t)n : 1u);
  if (s == NULL)
    return NULL;
  if (n <= 0 || WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n)
    s[0] = '\0';
  return s;
}

/* Is the process with this handle gone within timeout_ms? */
static int gone_within(HANDLE h, DWORD timeout_ms) {
  return WaitForSingleObject(h, timeout_ms) == WAIT_OBJECT_0;
}

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

static int child_crash(int argc, char **argv) {
  (void)argc;
  (void)argv;
  ExitProcess(0xC0000005u); /* STATUS_ACCESS_VIOLATION */
  return 0;
}

/* A console program that cleans up on CTRL_CLOSE_EVENT and then ends with
 * its own code: 300 ms of "cleanup", then ExitProcess(argv[0]). Says
 * "ready <own pid> <parent pid>" first. The win32 calls themselves. */
static UINT close_code = 7;

static BOOL WINAPI close_handler(DWORD type) {
  if (type != CTRL_CLOSE_EVENT)
    return FALSE;
  Sleep(300);
  ExitProcess(close_code);
  return TRUE; /* not reached */
}

static DWORD parent_pid_of(DWORD pid) {
  PROCESSENTRY32W pe;
  DWORD parent = 0;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return 0;
  pe.dwSize = sizeof(pe);
  if (Process32FirstW(snap, &pe)) {
    do {
      if (pe.th32ProcessID == pid) {
        parent = pe.th32ParentProcessID;
        break;
      }
    } while (Process32NextW(snap, &pe));
  }
  CloseHandle(snap);
  return parent;
}

static int child_console_close(int argc, char **argv) {
  char line[64];
  if (argc > 0)
    close_code = (UINT)strtoul(argv[0], NULL, 10);
  if (!SetConsoleCtrlHandler(close_handler, TRUE))
    return 2;
  snprintf(line, sizeof(line), "ready %lu %lu\n", (unsigned long)GetCurrentProcessId(),
           (unsigned long)parent_pid_of(GetCurrentProcessId()));
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  Sleep(30000);
  return 3;
}

/* Deliver a console control event to one process the way Windows does: a
 * thread started in it at kernelbase's CtrlRoutine (what conhost asks
 * csrss to do; Git for Windows' exit-process.h does the same). argv: PID
 * EVENT. 0 when the thread was started, 77 when there is no CtrlRoutine. */
static int child_ctrl_inject(int argc, char **argv) {
  HMODULE mod;
  FARPROC routine = NULL;
  HANDLE proc, th;
  if (argc < 2)
    return 2;
  if ((mod = GetModuleHandleW(L"kernelbase.dll")) != NULL)
    routine = GetProcAddress(mod, "CtrlRoutine");
  if (routine == NULL && (mod = GetModuleHandleW(L"kernel32.dll")) != NULL)
    routine = GetProcAddress(mod, "CtrlRoutine");
  if (routine == NULL)
    return 77;
  proc = OpenProcess(PROCESS_CREATE_THREAD | PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION |
                         PROCESS_VM_WRITE | PROCESS_VM_READ,
                     FALSE, (DWORD)strtoul(argv[0], NULL, 10));
  if (proc == NULL)
    return 3;
  th = CreateRemoteThread(proc, NULL, 0, (LPTHREAD_START_ROUTINE)(void (*)(void))routine,
                          (LPVOID)(ULONG_PTR)strtoul(argv[1], NULL, 10), 0, NULL);
  CloseHandle(proc);
  if (th == NULL)
    return 4;
  CloseHandle(th);
  return 0;
}

/* From inside a tethered tree: CreateProcess of `sleep` (suspended, so it
 * runs nothing) with CREATE_BREAKAWAY_FROM_JOB. Say "ok <pid>" and wait up
 * to 20 s for the parent (which checks its job and kills it) to end this
 * process, or "err <GetLastError()>". The win32 call itself, no tether. */
static int child_breakaway(int argc, char **argv) {
  wchar_t self[MAX_PATH], cmd[MAX_PATH + 32];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  char line[64];
  (void)argc;
  (void)argv;
  GetModuleFileNameW(NULL, self, MAX_PATH);
  swprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" --child sleep", self);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, CREATE_BREAKAWAY_FROM_JOB | CREATE_SUSPENDED,
                      NULL, NULL, &si, &pi)) {
    snprintf(line, sizeof(line), "err %lu\n", (unsigned long)GetLastError());
    write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
    return 0;
  }
  snprintf(line, sizeof(line), "ok %lu\n", (unsigned long)pi.dwProcessId);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  Sleep(20000);
  TerminateProcess(pi.hProcess, 1);
  return 0;
}

/* Each argument after the scenario name, from the real command line
 * (CommandLineToArgvW, so non-ASCII survives), as UTF-8 hex, one a line. */
static int child_argv(int argc, char **argv) {
  int n = 0, i;
  wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
  (void)argc;
  (void)argv;
  if (wargv == NULL)
    return 2;
  for (i = 3; i < n; i++) {
    char *s = wide_to_utf8(wargv[i]), hex[3];
    size_t k;
    write_str(out, "[");
    for (k = 0; s != NULL && s[k] != '\0'; k++) {
      snprintf(hex, sizeof(hex), "%02x", (unsigned)(unsigned char)s[k]);
      write_str(out, hex);
    }
    write_str(out, "]\n");
    free(s);
  }
  LocalFree(wargv);
  return 0;
}

static int child_env(int argc, char **argv) {
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
  int i;
  for (i = 0; i < argc; i++) {
    char v[512];
    DWORD n = GetEnvironmentVariableA(argv[i], v, sizeof(v));
    write_str(out, argv[i]);
    write_str(out, "=");
    write_str(out, n > 0 && n < sizeof(v)
                       ? v
                       : (n == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND ? "(unset)" : ""));
    write_str(out, "\n");
  }
  return 0;
}

/* Every variable name, in block order. */
static int child_env_names(int argc, char **argv) {
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
  wchar_t *block = GetEnvironmentStringsW(), *p;
  (void)argc;
  (void)argv;
  for (p = block; p != NULL && *p != L'\0'; p += wcslen(p) + 1) {
    const wchar_t *eq = wcschr(p + 1, L'=');
    size_t len = eq != NULL ? (size_t)(eq - p) : wcslen(p);
    wchar_t name[256];
    char *s;
    if (len >= 256)
      len = 255;
    memcpy(name, p, len * sizeof(wchar_t));
    name[len] = L'\0';
    s = wide_to_utf8(name);
    write_str(out, s != NULL ? s : "?");
    write_str(out, "\n");
    free(s);
  }
  if (block != NULL)
    FreeEnvironmentStringsW(block);
  return 0;
}

static int child_cwd(int argc, char **argv) {
  wchar_t buf[1024];
  char *s;
  (void)argc;
  (void)argv;
  if (GetCurrentDirectoryW(1024, buf) == 0)
    return 2;
  s = wide_to_utf8(buf);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), s != NULL ? s : "");
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), "\n");
  free(s);
  return 0;
}

/* stdin to stdout until end of file, then "err" on stderr. */
static int child_cat(int argc, char **argv) {
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
  char buf[256];
  DWORD got, put;
  (void)argc;
  (void)argv;
  while (ReadFile(in, buf, sizeof(buf), &got, NULL) && got > 0)
    if (!WriteFile(out, buf, got, &put, NULL))
      return 2;
  write_str(GetStdHandle(STD_ERROR_HANDLE), "err\n");
  return 0;
}

/* stdin and stdout on NUL: reading gives end of file, writing succeeds. */
static int child_nullio(int argc, char **argv) {
  char buf[16];
  DWORD got = 99, put = 0;
  (void)argc;
  (void)argv;
  if (!ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof(buf), &got, NULL) || got != 0)
    return 2;
  if (!WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), "x", 1, &put, NULL) || put != 1)
    return 3;
  return 0;
}

/* Start a grandchild `--child SCENARIO` (plain CreateProcess: it joins
 * the job by itself) and print "<own pid> <grandchild pid>": 1, or 0 when
 * it did not start. */
static int start_grandchild(const char *scenario) {
  PROCESS_INFORMATION pi;
  char line[64];
  if (!tt_win32_start_self(scenario, 0, TT_WIN32_ERR_OWN, 0, &pi, NULL))
    return 0;
  snprintf(line, sizeof(line), "%lu %lu\n", (unsigned long)GetCurrentProcessId(),
           (unsigned long)pi.dwProcessId);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return 1;
}

/* A grandchild `sleep` (start_grandchild), then exit (argv[0] "exit") or
 * stay. */
static int child_tree(int argc, char **argv) {
  if (!start_grandchild("sleep"))
    return 2;
  if (argc > 0 && strcmp(argv[0], "exit") == 0)
    return 0;
  Sleep(60000);
  return 0;
}

/* A parent of a tethered child + grandchild: relays "<child> <grandchild>",
 * then waits to be killed. */
static int child_middle(int argc, char **argv) {
  const char *args[] = {tt_self(), "--child", "tree", "stay", NULL};
  tether_spawn_options o;
  tether_child *c = NULL;
  char line[64];
  (void)argc;
  (void)argv;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (tether_spawn(&c, args, &o) < 0)
    return 2;
  if (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0)
    return 3;
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), "\n");
  Sleep(60000);
  tether_child_free(c);
  return 0;
}

/* For tests/cli/wine_sigkill.sh (the Unix side finds each process by the
 * MARKER in its command line): start a grandchild `sleep MARKER` with plain
 * CreateProcess, print "<own pid> <grandchild pid>", stay. */
static int child_wine_tree(int argc, char **argv) {
  char scenario[160];
  if (argc < 1 || strlen(argv[0]) > 100)
    return 2;
  snprintf(scenario, sizeof(scenario), "sleep %s", argv[0]);
  if (!start_grandchild(scenario))
    return 3;
  Sleep(60000);
  return 0;
}

/* For tests/cli/wine_sigkill.sh: `wine_middle MODE MARKER [GO-FILE]`.
 * tether_spawn `wine_tree MARKER` (tethered; MODE "detached":
 * TETHER_SPAWN_DETACHED), print "<own pid> <child pid> <grandchild pid>",
 * then stay until killed (MODE "stay", "detached") or (MODE "exit") wait
 * for GO-FILE to exist and ExitProcess(0) without freeing the child. */
static int child_wine_middle(int argc, char **argv) {
  const char *args[] = {tt_self(), "--child", "wine_tree", NULL, NULL};
  tether_spawn_options o;
  tether_child *c = NULL;
  char line[64], out[96];
  int i;
  if (argc < 2 || (strcmp(argv[0], "exit") == 0 && argc < 3))
    return 2;
  args[3] = argv[1];
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (strcmp(argv[0], "detached") == 0)
    o.flags = TETHER_SPAWN_DETACHED;
  if (tether_spawn(&c, args, &o) < 0)
    return 3;
  if (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0)
    return 4;
  snprintf(out, sizeof(out), "%lu %s\n", (unsigned long)GetCurrentProcessId(), line);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), out);
  if (strcmp(argv[0], "exit") == 0) {
    for (i = 0; i < 6000; i++) {
      if (GetFileAttributesA(argv[2]) != INVALID_FILE_ATTRIBUTES)
        ExitProcess(0); /* the job handle is closed by the kernel only */
      Sleep(10);
    }
    return 5;
  }
  Sleep(60000);
  tether_child_free(c);
  return 0;
}

/* Read "<hex> <hex> ..." handle values of the parent from stdin; none may
 * name a handle here. Exit 0, or 10 + the index of a value that does. */
static int child_handles(int argc, char **argv) {
  char line[256];
  DWORD got = 0, flags;
  const char *p = line;
  int i = 0;
  (void)argc;
  (void)argv;
  if (!ReadFile(GetStdHandle(STD_INPUT_HANDLE), line, sizeof(line) - 1, &got, NULL))
    return 2;
  line[got] = '\0';
  while (*p != '\0' && *p != '\n') {
    char *end;
    unsigned long long v = strtoull(p, &end, 16);
    if (end == p)
      break;
    if (GetHandleInformation((HANDLE)(uintptr_t)v, &flags))
      return 10 + i;
    i++;
    p = end;
    while (*p == ' ')
      p++;
  }
  return i > 0 ? 0 : 3;
}

static int child_terminate(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tt_win32_watch_and_report(TETHER_EVENT_TERMINATE, 30000);
}

/* CREATE_NEW_PROCESS_GROUP left Ctrl+C disabled here: turn it back on. */
static int child_interrupt(int argc, char **argv) {
  (void)argc;
  (void)argv;
  SetConsoleCtrlHandler(NULL, FALSE);
  return tt_win32_watch_and_report(TETHER_EVENT_INTERRUPT, 30000);
}

/* Ctrl+C ignored from the start (CREATE_NEW_PROCESS_GROUP): watching
 * INTERRUPT says TETHER_EIGNORED. Mode "optin": TETHER_WATCH_IGNORED
 * re-enables it (a later watcher without the flag still gets EIGNORED, as
 * on POSIX), say "ready", exit 30 + INTERRUPT when it comes. Mode "plain":
 * say "ready" and wait (nothing can come). Exit codes 5-9: a step failed. */
static int child_interrupt_flag(int argc, char **argv) {
  int optin = argc > 0 && strncmp(argv[0], "optin", 5) == 0;
  tether_channel *ch = NULL, *ch2 = NULL;
  tether_event ev;
  int r;
  if (tether__win32_ctrl_c_ignored(GetCurrentProcess()) != 1)
    return 5;
  if (tether_channel_new(&ch, NULL) < 0 || tether_channel_new(&ch2, NULL) < 0)
    return 2;
  if (tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, 0) != TETHER_EIGNORED)
    return 6;
  if (optin) {
    if (tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED) != 0)
      return 7;
    if (tether__win32_ctrl_c_ignored(GetCurrentProcess()) != 0)
      return 8;
    if (tether_channel_watch(ch2, TETHER_EVENT_INTERRUPT, 0) != TETHER_EIGNORED)
      return 9;
  }
  tether_channel_free(ch2);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), "ready\n");
  r = tether_channel_wait(ch, &ev, 30000);
  tether_channel_free(ch);
  if (r != 1 || ev.kind != TETHER_EVENT_INTERRUPT)
    return 4;
  if (argc > 0 && strcmp(argv[0], "optin_unwatch") == 0) {
    /* Nobody watches INTERRUPT now: a Ctrl+C must be swallowed (Ctrl+C was
     * ignored before tether turned it on), not end this process through
     * the default handler. */
    write_str(GetStdHandle(STD_OUTPUT_HANDLE), "unwatched\n");
    Sleep(3000);
    return 33;
  }
  return 30 + TETHER_EVENT_INTERRUPT;
}

/* Started without a console (DETACHED_PROCESS): its child interrupt_flag
 * MODE has a console of its own. Send it INTERRUPT, then "plain": a stop
 * sequence {INTERRUPT 20 s} (the kill after it); "optin": wait for its exit.
 * Report "<signal result> <ms for stop/wait> <stop step or wait result>
 * <exit kind> <exit code>"; a child that failed before "ready":
 * "-100 0 0 <kind> <code>". */
static int child_ignored_middle(int argc, char **argv) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_INTERRUPT, 20000}};
  const char *args[] = {tt_self(), "--child", "interrupt_flag", NULL, NULL};
  int plain = argc > 0 && strcmp(argv[0], "plain") == 0;
  int unwatch = argc > 0 && strcmp(argv[0], "optin_unwatch") == 0;
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_status st;
  char line[128];
  uint64_t t0;
  int r, w;
  args[3] = plain ? "plain" : unwatch ? "optin_unwatch" : "optin";
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (tether_spawn(&c, args, &o) < 0)
    return 2;
  memset(&st, 0, sizeof(st));
  if (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0 ||
      strcmp(line, "ready") != 0) {
    tether_child_wait(c, 10000, &st);
    snprintf(line, sizeof(line), "-100 0 0 %d %d\n", st.kind, st.code);
    write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
    tether_child_free(c);
    return 0;
  }
  r = tether_child_signal(c, TETHER_EVENT_INTERRUPT);
  t0 = tether_now_ns();
  if (plain) {
    w = tether_child_stop(c, steps, 1, &st);
  } else if (unwatch) {
    /* After the first one: a second INTERRUPT once it stopped watching. */
    if (r == 0 && (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0 ||
                   strcmp(line, "unwatched") != 0))
      r = -101;
    if (r == 0)
      r = tether_child_signal(c, TETHER_EVENT_INTERRUPT);
    w = tether_child_wait(c, 20000, &st);
  } else {
    w = tether_child_wait(c, 10000, &st);
  }
  snprintf(line, sizeof(line), "%d %ld %d %d %d\n", r, (long)ms_since(t0), w, st.kind, st.code);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  tether_child_free(c);
  return 0;
}

/* Started without a console (DETACHED_PROCESS), so tether gives its child
 * a console of its own; send that child INTERRUPT (or QUIT with argument
 * "quit") and report "<signal result> <os error> <waited> <exit kind>
 * <exit code>". */
static int child_interrupt_middle(int argc, char **argv) {
  const char *args[] = {tt_self(), "--child", "interrupt", NULL};
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_status st;
  char line[128];
  int r, w;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  if (tether_spawn(&c, args, &o) < 0)
    return 2;
  if (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0 ||
      strcmp(line, "ready") != 0) {
    tether_child_free(c);
    return 3;
  }
  if (argc > 0 && strcmp(argv[0], "quit") == 0) {
    r = tether_child_signal(c, TETHER_EVENT_QUIT);
    if (r < 0)
      tether_child_kill(c);
  } else {
    r = tether_child_signal(c, TETHER_EVENT_INTERRUPT);
  }
  memset(&st, 0, sizeof(st));
  w = tether_child_wait(c, 10000, &st);
  snprintf(line, sizeof(line), "%d %ld %d %d %d\n", r, tether_last_os_error(), w, st.kind, st.code);
  write_str(GetStdHandle(STD_OUTPUT_HANDLE), line);
  tether_child_free(c);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Parent-side helpers                                                      */
/* ---------------------------------------------------------------------- */

/* argv for `<self> --child <name> [a1 [a2 [a3]]]`. */
typedef struct self_args {
  const char *v[12];
} self_args;

static const char *const *self_argv(self_args *a, const char *name, const char *a1, const char *a2,
                                    const char *a3) {
  memset(a, 0, sizeof(*a));
  a->v[0] = tt_self();
  a->v[1] = "--child";
  a->v[2] = name;
  a->v[3] = a1;
  a->v[4] = a1 != NULL ? a2 : NULL;
  a->v[5] = a1 != NULL && a2 != NULL ? a3 : NULL;
  return a->v;
}

static tether_child *spawn_ok(const char *const *argv, const tether_spawn_options *o) {
  tether_child *c = NULL;
  assert_tether_ok(tether_spawn(&c, argv, o));
  assert_non_null(c);
  assert_true(tether_child_pid(c) > 0);
  return c;
}

static void wait_exit(tether_child *c, tether_status *st) {
  memset(st, 0, sizeof(*st));
  assert_int_equal(tether_child_wait(c, 30000, st), 1);
}

/* Spawn argv with o, wait for its exit (code, its exit code) and free it. */
static void run_exits_with(const char *const *argv, const tether_spawn_options *o, int code) {
  tether_status st;
  tether_child *c = spawn_ok(argv, o);
  wait_exit(c, &st);
  assert_int_equal(st.code, code);
  tether_child_free(c);
}

/* Run a scenario with stdout on a pipe; return its output and exit. */
static void run_capture(const char *const *argv, tether_spawn_options *o, char *buf, size_t cap,
                        tether_status *st) {
  tether_child *c;
  o->stdio[1].mode = TETHER_STDIO_PIPE;
  c = spawn_ok(argv, o);
  tt_win32_read_all(tether_child_stdio(c, 1), buf, cap, 30000);
  wait_exit(c, st);
  tether_child_free(c);
}

static HANDLE open_pid(DWORD pid) {
  HANDLE h =
      OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE, FALSE, pid);
  if (h == NULL)
    fail_msg("OpenProcess(%lu) failed: %lu", (unsigned long)pid, (unsigned long)GetLastError());
  return h;
}

/* A fresh temporary directory (UTF-8 path, with a non-ASCII letter). */
static void make_temp_dir(char *out, size_t cap, const char *tag) {
  wchar_t tmp[MAX_PATH], dir[MAX_PATH * 2];
  char *s;
  assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
  _snwprintf(dir, MAX_PATH * 2, L"%lstether-sp\x00e9-%hs-%lu", tmp, tag,
             (unsigned long)GetCurrentProcessId());
  dir[MAX_PATH * 2 - 1] = L'\0';
  CreateDirectoryW(dir, NULL);
  s = wide_to_utf8(dir);
  assert_non_null(s);
  snprintf(out, cap, "%s", s);
  free(s);
}

static wchar_t *utf8_to_wide_test(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = (wchar_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(wchar_t));
  assert_non_null(w);
  if (n <= 0 || MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) != n)
    w[0] = L'\0';
  return w;
}

static void write_file_utf8(const char *path, const char *text) {
  wchar_t *w = utf8_to_wide_test(path);
  HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  free(w);
  assert_true(h != INVALID_HANDLE_VALUE);
  write_str(h, text);
  CloseHandle(h);
}

/* Clean-up: delete file, then remove the (then empty) directory dir; UTF-8
 * paths, either may be NULL, a failure is ignored. */
static void cleanup_utf8(const char *file, const char *dir) {
  wchar_t *w;
  if (file != NULL) {
    w = utf8_to_wide_test(file);
    DeleteFileW(w);
    free(w);
  }
  if (dir != NULL) {
    w = utf8_to_wide_test(dir);
    RemoveDirectoryW(w);
    free(w);
  }
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                    */
/* ---------------------------------------------------------------------- */

static void test_bad_input(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_child *c = (tether_child *)&a;
  const char *quoted[] = {"a\"b.exe", NULL};
  const char *const *argv = self_argv(&a, "exit", "0", NULL, NULL);
  (void)state;

  tt_spawn_refuses_bad_input(argv);
  /* argv[0] cannot carry a double quote on a Windows command line. */
  assert_tether_err(tether_spawn(&c, quoted, NULL), TETHER_EINVAL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[0].mode = TETHER_STDIO_HANDLE; /* handle NULL */
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_null(c);
}

/* Extra descriptors: a HANDLE has no number to be placed at, so any
 * nextra > 0 is TETHER_ENOTSUP (after the shape checks, which are
 * TETHER_EINVAL on every OS); nothing starts, nothing leaks, and the
 * caller's handle is still open and its own. */
static void test_extra_fds_not_supported(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_extra_fd x[2];
  tether_child *c = (tether_child *)&a;
  const char *const *argv = self_argv(&a, "exit", "0", NULL, NULL);
  HANDLE r = NULL, w = NULL;
  DWORD flags = 0;
  long before;
  (void)state;
  assert_true(CreatePipe(&r, &w, NULL, 0));
  before = tt_open_fd_count();
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  x[0].handle = w;
  x[0].target = 3;
  x[1].handle = r;
  x[1].target = 4;
  o.extra = x;
  o.nextra = 1;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ENOTSUP);
  assert_null(c);
  o.nextra = 2;
  o.flags = TETHER_SPAWN_DETACHED;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ENOTSUP);
  /* The shape checks come first, as on POSIX. */
  o.flags = 0;
  x[1].target = 3;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  x[1].target = 2;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  o.extra = NULL;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  /* nextra 0 with a list: no extra descriptors, spawns as usual. */
  o.extra = x;
  o.nextra = 0;
  assert_tether_ok(tether_spawn(&c, argv, &o));
  assert_int_equal(tether_child_wait(c, 30000, NULL), 1);
  tether_child_free(c);
  assert_true(tt_open_fd_count() <= before);
  assert_true(GetHandleInformation(w, &flags));
  assert_true(GetHandleInformation(r, &flags));
  CloseHandle(r);
  CloseHandle(w);
}

static void test_exit_codes(void **state) {
  static const int codes[] = {0, 1, 42};
  self_args a;
  tether_status st;
  tether_child *c;
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(codes); i++) {
    char num[16];
    snprintf(num, sizeof(num), "%d", codes[i]);
    c = spawn_ok(self_argv(&a, "exit", num, NULL, NULL), NULL);
    wait_exit(c, &st);
    assert_int_equal(st.kind, TETHER_STATUS_CODE);
    assert_int_equal(st.code, codes[i]);
    assert_int_equal(st.raw, (uint32_t)codes[i]);
    assert_int_equal(st.shell_code, codes[i]);
    /* Waiting again gives the same status at once. */
    assert_int_equal(tether_child_wait(c, 0, &st), 1);
    assert_int_equal(st.code, codes[i]);
    assert_int_equal(tether_child_wait_tree(c, 5000), 1);
    tether_child_free(c);
  }
  c = spawn_ok(self_argv(&a, "crash", NULL, NULL, NULL), NULL);
  wait_exit(c, &st);
  assert_int_equal(st.kind, TETHER_STATUS_CRASHED);
  assert_int_equal(st.raw, 0xC0000005u);
  assert_int_equal(st.code, (int)0xC0000005u);
  tether_child_free(c);
}

static void test_argv_round_trip(void **state) {
  static const char *const args[] = {"plain",
                                     "with space",
                                     "",
                                     "quote\"inside",
                                     "back\\slash\\",
                                     "trailing\\\\",
                                     "tab\there",
                                     "\xc3\xbcn\xc3\xaf"
                                     "c\xc3\xb8"
                                     "d\xc3\xa9 \xe2\x82\xac",
                                     "\"\"",
                                     "\\\"",
                                     "%PATH%",
                                     "a&b|c<d>e^f"};
  const char *argv[3 + TT_COUNT(args) + 1];
  tether_spawn_options o;
  tether_status st;
  char out[8192], expect[8192];
  size_t i, at = 0;
  (void)state;
  argv[0] = tt_self();
  argv[1] = "--child";
  argv[2] = "argv";
  for (i = 0; i < TT_COUNT(args); i++) {
    size_t k;
    argv[3 + i] = args[i];
    at += (size_t)snprintf(expect + at, sizeof(expect) - at, "[");
    for (k = 0; args[i][k] != '\0'; k++)
      at += (size_t)snprintf(expect + at, sizeof(expect) - at, "%02x",
                             (unsigned)(unsigned char)args[i][k]);
    at += (size_t)snprintf(expect + at, sizeof(expect) - at, "]\n");
  }
  argv[3 + TT_COUNT(args)] = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  run_capture(argv, &o, out, sizeof(out), &st);
  assert_int_equal(st.kind, TETHER_STATUS_CODE);
  assert_int_equal(st.code, 0);
  assert_string_equal(out, expect);
}

static void test_env_set_unset_clear(void **state) {
  const char *set[] = {"TT_A=1", "tt_b=two", "tt_e=new", NULL};
  const char *unset[] = {"TT_C", "tt_d", NULL};
  const char *only[] = {"TT_ONLY=yes", "ZZ_LAST=z", "aa_first=a", NULL};
  static const char only_names[] = "aa_first\nTT_ONLY\nZZ_LAST\n";
  const char *sorted_set[] = {"TT_SZ=1", "tt_sa=2", "TT_S_=3", "tt_Sb=4",
                              "tt_s!=5", "TT_S=6",  NULL};
  self_args a;
  tether_spawn_options o;
  tether_status st;
  char out[16384], names[256] = "", *line, *save = NULL;
  size_t at = 0;
  const char *argv[] = {tt_self(), "--child", "env",  "TT_A",    "TT_B",
                        "TT_C",    "TT_D",    "TT_E", "TT_KEEP", NULL};
  (void)state;
  SetEnvironmentVariableA("TT_C", "3");
  SetEnvironmentVariableA("TT_D", "4");
  SetEnvironmentVariableA("TT_E", "old");
  SetEnvironmentVariableA("TT_KEEP", "kept");
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.env_set = set;
  o.env_unset = unset;
  run_capture(argv, &o, out, sizeof(out), &st);
  assert_int_equal(st.code, 0);
  /* Names compare case-insensitively: tt_b sets TT_B, tt_d removes TT_D,
   * tt_e replaces TT_E. */
  assert_string_equal(out, "TT_A=1\nTT_B=two\nTT_C=(unset)\nTT_D=(unset)\n"
                           "TT_E=new\nTT_KEEP=kept\n");

  /* The block tether builds is sorted case-insensitively, by name (not by
   * "NAME=value": "TT_S" sorts before "TT_S!"). Only the names set here are
   * checked: Wine 8 adds its own variables (WINEDATADIR, winsysdir...)
   * unsorted when a process starts. */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.env_set = sorted_set;
  run_capture(self_argv(&a, "env_names", NULL, NULL, NULL), &o, out, sizeof(out), &st);
  assert_int_equal(st.code, 0);
  for (line = out; *line != '\0'; line = save + 1) {
    save = strchr(line, '\n');
    if (save == NULL)
      break;
    *save = '\0';
    if (_strnicmp(line, "TT_S", 4) == 0)
      at += (size_t)snprintf(names + at, sizeof(names) - at, "%s ", line);
  }
  /* Upper-cased ordinal order: '_' (0x5F) comes after the letters. */
  assert_string_equal(names, "TT_S tt_s! tt_sa tt_Sb TT_SZ TT_S_ ");

  /* TETHER_SPAWN_CLEAR_ENV: env_set is the whole environment (plus, under
   * Wine, the variables Wine adds to every process). */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_CLEAR_ENV;
  o.env_set = only;
  run_capture(self_argv(&a, "env_names", NULL, NULL, NULL), &o, out, sizeof(out), &st);
  assert_int_equal(st.code, 0);
  if (!tt_is_wine()) {
    assert_string_equal(out, only_names);
    return;
  }
  /* Wine 8 appends WINEDATADIR, WINELOADER..., SystemDrive and SystemRoot
   * to the block of every new process (dlls/ntdll/unix/env.c). */
  assert_memory_equal(out, only_names, strlen(only_names));
  for (line = out + strlen(only_names); *line != '\0'; line = save + 1) {
    save = strchr(line, '\n');
    if (save == NULL)
      break;
    *save = '\0';
    if (_strnicmp(line, "WINE", 4) != 0 && strcmp(line, "SystemDrive") != 0 &&
        strcmp(line, "SystemRoot") != 0)
      fail_msg("unexpected variable %s after TETHER_SPAWN_CLEAR_ENV", line);
  }
}

static void test_cwd(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_status st;
  tether_child *c = NULL;
  char dir[1024], out[2048], file[1100], missing[1100];
  wchar_t *w1, *w2;
  size_t len;
  (void)state;
  make_temp_dir(dir, sizeof(dir), "cwd");
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.cwd = dir;
  run_capture(self_argv(&a, "cwd", NULL, NULL, NULL), &o, out, sizeof(out), &st);
  assert_int_equal(st.code, 0);
  len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == '\\'))
    out[--len] = '\0';
  w1 = utf8_to_wide_test(out);
  w2 = utf8_to_wide_test(dir);
  if (CompareStringOrdinal(w1, -1, w2, -1, TRUE) != CSTR_EQUAL)
    fail_msg("child cwd %s, expected %s", out, dir);
  free(w1);
  free(w2);

  /* A missing directory: ENOENT; a file: ENOTDIR (as chdir() on POSIX). */
  snprintf(missing, sizeof(missing), "%s\\missing", dir);
  o.cwd = missing;
  assert_tether_err(tether_spawn(&c, self_argv(&a, "exit", "0", NULL, NULL), &o), TETHER_ENOENT);
  snprintf(file, sizeof(file), "%s\\file.txt", dir);
  write_file_utf8(file, "x");
  o.cwd = file;
  assert_tether_err(tether_spawn(&c, self_argv(&a, "exit", "0", NULL, NULL), &o), TETHER_ENOTDIR);
  assert_null(c);
  cleanup_utf8(file, dir);
}

static void test_stdio_pipes(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_status st;
  tether_child *c;
  char out[256], err[256];
  DWORD put = 0;
  (void)state;
  tt_spawn_options_stdio(&o, TETHER_STDIO_PIPE);
  c = spawn_ok(self_argv(&a, "cat", NULL, NULL, NULL), &o);
  assert_non_null(tether_child_stdio(c, 0));
  assert_non_null(tether_child_stdio(c, 1));
  assert_non_null(tether_child_stdio(c, 2));
  assert_null(tether_child_stdio(c, 3));
  assert_true(WriteFile(tether_child_stdio(c, 0), "hello\n", 6, &put, NULL));
  assert_int_equal(put, 6);
  /* End of file on the child's stdin. */
  assert_tether_ok(tether_child_close_stdio(c, 0));
  assert_tether_err(tether_child_close_stdio(c, 0), TETHER_EINVAL);
  assert_null(tether_child_stdio(c, 0));
  tt_win32_read_all(tether_child_stdio(c, 1), out, sizeof(out), 30000);
  tt_win32_read_all(tether_child_stdio(c, 2), err, sizeof(err), 30000);
  assert_string_equal(out, "hello\n");
  assert_string_equal(err, "err\n");
  wait_exit(c, &st);
  assert_int_equal(st.code, 0);
  tether_child_free(c);

  /* Streams that are not pipes have no parent end. */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_NULL;
  c = spawn_ok(self_argv(&a, "exit", "0", NULL, NULL), &o);
  assert_null(tether_child_stdio(c, 0));
  assert_null(tether_child_stdio(c, 1));
  assert_tether_err(tether_child_close_stdio(c, 1), TETHER_EINVAL);
  wait_exit(c, &st);
  tether_child_free(c);
}

static void test_stdio_null_and_handle(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  char dir[1024], path[1100], buf[256];
  const char *set[] = {"TT_X=to-file", NULL};
  wchar_t *w;
  HANDLE f;
  DWORD got = 0;
  (void)state;
  tt_spawn_options_stdio(&o, TETHER_STDIO_NULL);
  run_exits_with(self_argv(&a, "nullio", NULL, NULL, NULL), &o, 0);

  /* TETHER_STDIO_HANDLE: the caller's file; the caller keeps it. */
  make_temp_dir(dir, sizeof(dir), "handle");
  snprintf(path, sizeof(path), "%s\\out.txt", dir);
  w = utf8_to_wide_test(path);
  f = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                  CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  assert_true(f != INVALID_HANDLE_VALUE);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_HANDLE;
  o.stdio[1].handle = f;
  o.env_set = set;
  run_exits_with(self_argv(&a, "env", "TT_X", NULL, NULL), &o, 0);
  assert_true(SetFilePointer(f, 0, NULL, FILE_BEGIN) == 0);
  assert_true(ReadFile(f, buf, sizeof(buf) - 1, &got, NULL));
  buf[got] = '\0';
  assert_string_equal(buf, "TT_X=to-file\n");
  assert_true(CloseHandle(f)); /* still ours and valid */
  DeleteFileW(w);
  free(w);
  cleanup_utf8(NULL, dir);

  /* An invalid HANDLE is refused. */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[2].mode = TETHER_STDIO_HANDLE;
  o.stdio[2].handle = (void *)(uintptr_t)0x7FF0;
  c = NULL;
  assert_tether_err(tether_spawn(&c, self_argv(&a, "exit", "0", NULL, NULL), &o), TETHER_EINVAL);
  assert_null(c);
}

static void test_program_resolution(void **state) {
  tether_spawn_options o;
  tether_child *c = NULL;
  char dir[1024], path[1100], name[MAX_PATH], *dot, *base;
  const char *missing[] = {"tether-no-such-program-4711", NULL};
  const char *argv[5];
  wchar_t *w;
  (void)state;
  /* Missing: reported by tether_spawn itself. */
  assert_tether_err(tether_spawn(&c, missing, NULL), TETHER_ENOENT);
  assert_null(c);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_NO_SEARCH;
  assert_tether_err(tether_spawn(&c, missing, &o), TETHER_ENOENT);

  /* A bare name without extension: ".exe" appended, found in the
   * directory of this executable (the first place searched). */
  base = strrchr(tt_self(), '\\');
  snprintf(name, sizeof(name), "%s", base != NULL ? base + 1 : tt_self());
  dot = strrchr(name, '.');
  assert_non_null(dot);
  *dot = '\0';
  argv[0] = name;
  argv[1] = "--child";
  argv[2] = "exit";
  argv[3] = "7";
  argv[4] = NULL;
  run_exits_with(argv, NULL, 7);
  /* NO_SEARCH: exactly as given, nothing appended, nothing searched. */
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ENOENT);

  /* The system directory: cmd.exe. */
  {
    const char *cmd[] = {"cmd", "/c", "exit 3", NULL};
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.stdio[0].mode = TETHER_STDIO_NULL;
    o.stdio[1].mode = TETHER_STDIO_NULL;
    run_exits_with(cmd, &o, 3);
  }

  /* A directory: EACCES (as execve() says for one). */
  make_temp_dir(dir, sizeof(dir), "prog");
  snprintf(path, sizeof(path), "%s\\sub.exe", dir);
  w = utf8_to_wide_test(path);
  assert_true(CreateDirectoryW(w, NULL));
  argv[0] = path;
  assert_tether_err(tether_spawn(&c, argv, NULL), TETHER_EACCES);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_NO_SEARCH;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EACCES);
  RemoveDirectoryW(w);
  free(w);

  /* Batch files are refused (cmd.exe re-parses the command line). */
  snprintf(path, sizeof(path), "%s\\script.bat", dir);
  write_file_utf8(path, "@exit 0\r\n");
  assert_tether_err(tether_spawn(&c, argv, NULL), TETHER_ENOTSUP);
  assert_null(c);
  snprintf(path, sizeof(path), "%s\\script", dir); /* no extension: .exe */
  assert_tether_err(tether_spawn(&c, argv, NULL), TETHER_ENOENT);
  snprintf(path, sizeof(path), "%s\\script.bat", dir);
  cleanup_utf8(path, NULL);
  snprintf(path, sizeof(path), "%s\\script.CMD", dir);
  write_file_utf8(path, "@exit 0\r\n");
  assert_tether_err(tether_spawn(&c, argv, NULL), TETHER_ENOTSUP);
  cleanup_utf8(path, NULL);

  /* Not an executable format. */
  snprintf(path, sizeof(path), "%s\\text.exe", dir);
  write_file_utf8(path, "this is not a program\r\n");
  assert_tether_err(tether_spawn(&c, argv, NULL), TETHER_ENOEXEC);
  cleanup_utf8(path, dir);
}

/* A bare name is never looked up in the current directory (Go's ErrDot,
 * Rust 1.58): a copy of this program planted there as hostname.exe, next
 * to the system's hostname.exe, does not run for "hostname"; ".\hostname"
 * runs it. The planted copy prints its arguments in hex ("[706c...]"). */
static void test_no_current_directory_search(void **state) {
  static const char planted_hex[] = "[706c616e746564]\n"; /* "planted" */
  const char *bare[] = {"hostname", "--child", "argv", "planted", NULL};
  const char *dotted[] = {".\\hostname", "--child", "argv", "planted", NULL};
  wchar_t sys[MAX_PATH], sys_exe[MAX_PATH + 32], old_cwd[MAX_PATH * 2], *wdir, *wself,
      plant[MAX_PATH * 3];
  char dir[1024], out_bare[4096] = "", out_dotted[4096] = "";
  tether_spawn_options o;
  tether_status st_bare, st_dotted;
  tether_child *c = NULL;
  int r_bare, r_dotted;
  (void)state;
  assert_true(GetSystemDirectoryW(sys, MAX_PATH) > 0);
  _snwprintf(sys_exe, MAX_PATH + 32, L"%ls\\hostname.exe", sys);
  sys_exe[MAX_PATH + 31] = L'\0';
  if (GetFileAttributesW(sys_exe) == INVALID_FILE_ATTRIBUTES)
    tt_skip("no hostname.exe in the system directory");
  make_temp_dir(dir, sizeof(dir), "plant");
  wdir = utf8_to_wide_test(dir);
  wself = utf8_to_wide_test(tt_self());
  _snwprintf(plant, MAX_PATH * 3, L"%ls\\hostname.exe", wdir);
  plant[MAX_PATH * 3 - 1] = L'\0';
  assert_true(CopyFileW(wself, plant, FALSE));
  assert_true(GetCurrentDirectoryW(MAX_PATH * 2, old_cwd) > 0);
  assert_true(SetCurrentDirectoryW(wdir));
  /* Both spawns first, then the clean-up, then the checks. */
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.stdio[2].mode = TETHER_STDIO_NULL;
  memset(&st_bare, 0, sizeof(st_bare));
  memset(&st_dotted, 0, sizeof(st_dotted));
  r_bare = tether_spawn(&c, bare, &o);
  if (r_bare == 0) {
    tt_win32_read_all(tether_child_stdio(c, 1), out_bare, sizeof(out_bare), 30000);
    r_bare = tether_child_wait(c, 30000, &st_bare);
    tether_child_free(c);
  }
  r_dotted = tether_spawn(&c, dotted, &o);
  if (r_dotted == 0) {
    tt_win32_read_all(tether_child_stdio(c, 1), out_dotted, sizeof(out_dotted), 30000);
    r_dotted = tether_child_wait(c, 30000, &st_dotted);
    tether_child_free(c);
  }
  SetCurrentDirectoryW(old_cwd);
  DeleteFileW(plant);
  RemoveDirectoryW(wdir);
  free(wdir);
  free(wself);
  print_message("bare: %d, exit %d, out \"%s\"; dotted: %d, exit %d\n", r_bare, st_bare.code,
                out_bare, r_dotted, st_dotted.code);
  /* The system's hostname ran (it rejects these arguments or prints the
   * host name; it never prints the planted copy's hex). */
  assert_int_equal(r_bare, 1);
  assert_null(strstr(out_bare, planted_hex));
  /* ".\hostname": the planted copy. */
  assert_int_equal(r_dotted, 1);
  assert_int_equal(st_dotted.kind, TETHER_STATUS_CODE);
  assert_int_equal(st_dotted.code, 0);
  assert_string_equal(out_dotted, planted_hex);
}

/* Spawn a child that starts a grandchild; read their pids. */
static tether_child *spawn_tree(const char *mode, HANDLE *child, HANDLE *gc) {
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  char line[64];
  unsigned long cpid = 0, gpid = 0;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  c = spawn_ok(self_argv(&a, "tree", mode, NULL, NULL), &o);
  assert_true(tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 30000) > 0);
  assert_int_equal(sscanf(line, "%lu %lu", &cpid, &gpid), 2);
  assert_int_equal((int64_t)cpid, tether_child_pid(c));
  *child = open_pid((DWORD)cpid);
  *gc = open_pid((DWORD)gpid);
  return c;
}

static void check_free_kills_tree(int force_suspended) {
  HANDLE ch, gc;
  tether_child *c;
  DWORD code = 0;
  tether__win32_spawn_force_suspended(force_suspended);
  c = spawn_tree("stay", &ch, &gc);
  tether__win32_spawn_force_suspended(0);
  assert_false(gone_within(gc, 0));
  tether_child_free(c);
  /* tether_child_free returns once the tree is gone. */
  assert_true(gone_within(ch, 0));
  assert_true(gone_within(gc, 0));
  assert_true(GetExitCodeProcess(gc, &code));
  assert_int_equal(code, 137);
  CloseHandle(ch);
  CloseHandle(gc);
}

static void test_free_kills_tree(void **state) {
  (void)state;
  check_free_kills_tree(0);
}

/* The child's job kills on close and lets no crashed process wait in a
 * Windows Error Reporting dialog (DIE_ON_UNHANDLED_EXCEPTION), and allows
 * no breakaway. Wine 8 stores job limits but reads them back as zeros
 * (dlls/ntdll/unix/sync.c): skipped there. */
static void test_job_limits(void **state) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  self_args a;
  tether_child *c;
  HANDLE job;
  DWORD flags;
  BOOL ok;
  (void)state;
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), NULL);
  job = (HANDLE)tether__win32_child_job(c);
  assert_non_null(job);
  memset(&info, 0, sizeof(info));
  ok = QueryInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof(info), NULL);
  tether_child_free(c);
  assert_true(ok);
  flags = info.BasicLimitInformation.LimitFlags;
  if (flags == 0 && tt_is_wine())
    tt_skip("Wine 8 reads job limits back as zeros");
  assert_true(flags & JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE);
  assert_true(flags & JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION);
  assert_false(flags & (JOB_OBJECT_LIMIT_BREAKAWAY_OK | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK));
}

/* CREATE_BREAKAWAY_FROM_JOB from inside a tethered tree: refused with
 * ERROR_ACCESS_DENIED by default (the job does not allow breakaway, by
 * design); with TETHER_SPAWN_ALLOW_BREAKAWAY the new process starts outside
 * the child's job. Invalid with CATCH_ESCAPEES or DETACHED. */
static void test_allow_breakaway(void **state) {
  static const unsigned bad[] = {TETHER_SPAWN_ALLOW_BREAKAWAY | TETHER_SPAWN_CATCH_ESCAPEES,
                                 TETHER_SPAWN_ALLOW_BREAKAWAY | TETHER_SPAWN_DETACHED};
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  char line[64];
  unsigned long pid = 0, err = 0;
  size_t i;
  int allow;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.flags = bad[i];
    c = NULL;
    assert_tether_err(tether_spawn(&c, self_argv(&a, "sleep", NULL, NULL, NULL), &o),
                      TETHER_EINVAL);
    assert_null(c);
  }
  for (allow = 0; allow <= 1; allow++) {
    HANDLE job, gc;
    BOOL in = TRUE;
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.flags = allow ? TETHER_SPAWN_ALLOW_BREAKAWAY : 0;
    o.stdio[1].mode = TETHER_STDIO_PIPE;
    c = spawn_ok(self_argv(&a, "breakaway", NULL, NULL, NULL), &o);
    job = (HANDLE)tether__win32_child_job(c);
    if (tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) <= 0) {
      tether_child_free(c);
      fail_msg("the child reported nothing");
    }
    print_message("allow %d: %s\n", allow, line);
    if (!allow) {
      tether_child_free(c);
      assert_int_equal(sscanf(line, "err %lu", &err), 1);
      assert_int_equal(err, ERROR_ACCESS_DENIED);
      continue;
    }
    if (sscanf(line, "ok %lu", &pid) != 1) {
      tether_child_free(c);
      fail_msg("breakaway refused with the flag: %s", line);
    }
    gc =
        OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_TERMINATE | SYNCHRONIZE, FALSE, (DWORD)pid);
    if (gc == NULL) {
      tether_child_free(c);
      fail_msg("OpenProcess(%lu): %lu", pid, (unsigned long)GetLastError());
    }
    {
      BOOL asked = IsProcessInJob(gc, job, &in);
      DWORD w;
      /* Outside the tree: freeing the child does not end it. */
      tether_child_free(c);
      w = WaitForSingleObject(gc, 500);
      TerminateProcess(gc, 1);
      WaitForSingleObject(gc, 5000);
      CloseHandle(gc);
      assert_true(asked);
      assert_false(in);
      assert_int_equal(w, WAIT_TIMEOUT);
    }
  }
}

/* The path for Windows before 10 (CREATE_SUSPENDED + assign + resume). */
static void test_free_kills_tree_suspended_path(void **state) {
  (void)state;
  check_free_kills_tree(1);
}

/* The parent is TerminateProcess'd: nobody calls tether_child_free, the
 * kernel closes the job handle and KILL_ON_JOB_CLOSE kills the tree. */
static void test_parent_death_kills_tree(void **state) {
  PROCESS_INFORMATION pi;
  HANDLE out = NULL, ch, gc;
  char line[64];
  unsigned long cpid = 0, gpid = 0;
  uint64_t t0;
  (void)state;
  assert_true(tt_win32_start_self("middle", 0, TT_WIN32_ERR_OWN, 0, &pi, &out));
  CloseHandle(pi.hThread);
  if (tt_win32_read_line(out, line, sizeof(line), 30000) <= 0) {
    TerminateProcess(pi.hProcess, 1);
    fail_msg("%s", "the middle process reported nothing");
  }
  assert_int_equal(sscanf(line, "%lu %lu", &cpid, &gpid), 2);
  ch = open_pid((DWORD)cpid);
  gc = open_pid((DWORD)gpid);
  assert_false(gone_within(ch, 0));
  t0 = tether_now_ns();
  assert_true(TerminateProcess(pi.hProcess, 1));
  assert_true(gone_within(pi.hProcess, 10000));
  assert_true(gone_within(ch, 10000));
  assert_true(gone_within(gc, 10000));
  print_message("tree gone %lu ms after TerminateProcess(parent)\n", (unsigned long)ms_since(t0));
  CloseHandle(ch);
  CloseHandle(gc);
  CloseHandle(pi.hProcess);
  CloseHandle(out);
}

static void test_wait_tree(void **state) {
  HANDLE ch, gc;
  tether_child *c;
  tether_status st;
  uint64_t t0;
  (void)state;
  c = spawn_tree("exit", &ch, &gc);
  wait_exit(c, &st);
  assert_int_equal(st.kind, TETHER_STATUS_CODE);
  assert_int_equal(st.code, 0);
  /* The child is gone, its grandchild is not: the tree is not empty. */
  assert_int_equal(tether_child_wait_tree(c, 0), 0);
  t0 = tether_now_ns();
  assert_int_equal(tether_child_wait_tree(c, 300), 0);
  assert_true(ms_since(t0) >= 250);
  assert_false(gone_within(gc, 0));
  assert_true(TerminateProcess(gc, 5));
  assert_int_equal(tether_child_wait_tree(c, 10000), 1);
  assert_int_equal(tether_child_wait_tree(c, -1), 1);
  /* Nothing left to signal or kill. */
  assert_tether_err(tether_child_kill(c), TETHER_ESRCH);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_TERMINATE), TETHER_ESRCH);
  tether_child_free(c);
  CloseHandle(ch);
  CloseHandle(gc);
}

static void test_kill(void **state) {
  self_args a;
  tether_child *c;
  tether_status st;
  (void)state;
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), NULL);
  assert_int_equal(tether_child_wait(c, 0, NULL), 0);
  assert_int_equal(tether_child_wait_tree(c, 0), 0);
  assert_tether_ok(tether_child_kill(c));
  wait_exit(c, &st);
  assert_int_equal(st.kind, TETHER_STATUS_KILLED);
  assert_int_equal(st.code, 137);
  assert_int_equal(st.raw, 137u);
  assert_int_equal(tether_child_wait_tree(c, 10000), 1);
  assert_tether_err(tether_child_kill(c), TETHER_ESRCH);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_INTERRUPT), TETHER_ESRCH);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_QUIT), TETHER_ESRCH);
  tether_child_free(c);
}

/* WM_CLOSE reaches a child that watches TERMINATE through tether's hidden
 * window; a child without windows cannot get it. */
static void test_signal_terminate(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  tether_status st;
  char line[64];
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  c = spawn_ok(self_argv(&a, "terminate", NULL, NULL, NULL), &o);
  assert_true(tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 30000) > 0);
  assert_string_equal(line, "ready");
  assert_tether_ok(tether_child_signal(c, TETHER_EVENT_TERMINATE));
  wait_exit(c, &st);
  assert_int_equal(st.kind, TETHER_STATUS_CODE);
  assert_int_equal(st.code, 30 + TETHER_EVENT_TERMINATE);
  tether_child_free(c);

  /* HANGUP: the same message. */
  c = spawn_ok(self_argv(&a, "terminate", NULL, NULL, NULL), &o);
  assert_true(tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 30000) > 0);
  assert_tether_ok(tether_child_signal(c, TETHER_EVENT_HANGUP));
  wait_exit(c, &st);
  assert_int_equal(st.code, 30 + TETHER_EVENT_TERMINATE);
  tether_child_free(c);

  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), NULL);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_TERMINATE), TETHER_ENOTSUP);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_USER1), TETHER_ENOTSUP);
  /* No SIGWINCH and no native signals on Windows. */
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_RESIZE), TETHER_ENOTSUP);
  assert_tether_err(tether_child_signal_native(c, 2), TETHER_ENOTSUP);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_USER2), TETHER_ENOTSUP);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_LOGOFF), TETHER_EINVAL);
  assert_int_equal(tether_child_wait(c, 0, NULL), 0);
  tether_child_free(c);
}

/* A child on this process's console: CTRL_C_EVENT cannot be limited to it
 * (it would reach this process and everything else on the console), so
 * INTERRUPT says ENOTSUP; QUIT sends CTRL_BREAK_EVENT to its group. */
static void test_signal_console_shared(void **state) {
  self_args a;
  tether_child *c;
  tether_status st;
  int r;
  (void)state;
  if (!tt_win32_have_console())
    tt_skip("this test process has no console: its children get their own");
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), NULL);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_INTERRUPT), TETHER_ENOTSUP);
  r = tether_child_signal(c, TETHER_EVENT_QUIT);
  if (tt_is_wine()) {
    /* Wine 8 does not implement CTRL_BREAK_EVENT (GenerateConsoleCtrlEvent
     * fails, server/console.c): reported as ENOTSUP. */
    assert_tether_err(r, TETHER_ENOTSUP);
    assert_int_equal(tether_child_wait(c, 0, NULL), 0);
  } else {
    /* CTRL_BREAK is always delivered; the default handler ends the child. */
    assert_tether_ok(r);
    wait_exit(c, &st);
    assert_int_equal(st.kind, TETHER_STATUS_INTERRUPTED);
    assert_int_equal(st.raw, TT_STATUS_CONTROL_C_EXIT);
  }
  tether_child_free(c);
}

/* Run interrupt_middle [mode]; parse its report. */
static void run_interrupt_middle(const char *scenario, int *r, long *oserr, int *w, int *kind,
                                 int *code) {
  PROCESS_INFORMATION pi;
  HANDLE out = NULL;
  char line[128];
  assert_true(tt_win32_start_self(scenario, DETACHED_PROCESS, TT_WIN32_ERR_OWN, 0, &pi, &out));
  CloseHandle(pi.hThread);
  if (tt_win32_read_line(out, line, sizeof(line), 60000) <= 0) {
    DWORD ec = 0;
    TerminateProcess(pi.hProcess, 1);
    WaitForSingleObject(pi.hProcess, 5000);
    GetExitCodeProcess(pi.hProcess, &ec);
    CloseHandle(pi.hProcess);
    CloseHandle(out);
    fail_msg("the middle process reported nothing (exit %lu)", (unsigned long)ec);
  }
  WaitForSingleObject(pi.hProcess, 10000);
  CloseHandle(pi.hProcess);
  CloseHandle(out);
  assert_int_equal(sscanf(line, "%d %ld %d %d %d", r, oserr, w, kind, code), 5);
  print_message("%s: signal %d (os error %ld), exit kind %d code %d\n", scenario, *r, *oserr, *kind,
                *code);
}

/* A child with a console of its own (its parent has none) gets CTRL_C
 * through the helper; the child re-enabled Ctrl+C, which
 * CREATE_NEW_PROCESS_GROUP had disabled. Under Wine 8 too: the helper's
 * GenerateConsoleCtrlEvent(CTRL_C_EVENT, <child's group>) is what Wine
 * delivers. */
static void test_signal_interrupt_own_console(void **state) {
  int r = 0, w = 0, kind = 0, code = 0;
  long oserr = 0;
  (void)state;
  run_interrupt_middle("interrupt_middle", &r, &oserr, &w, &kind, &code);
  assert_tether_ok(r);
  assert_int_equal(w, 1);
  assert_int_equal(kind, TETHER_STATUS_CODE);
  assert_int_equal(code, 30 + TETHER_EVENT_INTERRUPT);
}

/* INTERRUPT to a child that ignores Ctrl+C (CREATE_NEW_PROCESS_GROUP, not
 * re-enabled): TETHER_ENOTSUP at once instead of a CTRL_C_EVENT that does
 * nothing, so a stop sequence {INTERRUPT 20 s} moves on to the kill at
 * once. The child itself got TETHER_EIGNORED for its watch (Wine 8 keeps
 * the ignore state in ConsoleFlags like Windows). */
static void test_signal_interrupt_ignored(void **state) {
  int r = 0, ms = 0, step = 0, kind = 0, code = 0;
  long ms_l = 0;
  (void)state;
  run_interrupt_middle("ignored_middle plain", &r, &ms_l, &step, &kind, &code);
  ms = (int)ms_l;
  assert_int_not_equal(r, -100); /* the child's own checks passed */
  assert_tether_err(r, TETHER_ENOTSUP);
  assert_int_equal(step, 1); /* past the INTERRUPT step: killed */
  assert_int_equal(kind, TETHER_STATUS_KILLED);
  assert_true(ms < 5000);
}

/* The same child with TETHER_WATCH_IGNORED: tether re-enabled Ctrl+C
 * (SetConsoleCtrlHandler(NULL, FALSE)), the parent reads it re-enabled and
 * sends CTRL_C_EVENT, and the child's channel gets INTERRUPT. */
static void test_watch_ignored_reenables_interrupt(void **state) {
  int r = 0, w = 0, kind = 0, code = 0;
  long ms = 0;
  (void)state;
  run_interrupt_middle("ignored_middle optin", &r, &ms, &w, &kind, &code);
  assert_int_not_equal(r, -100);
  assert_tether_ok(r);
  assert_int_equal(w, 1);
  assert_int_equal(kind, TETHER_STATUS_CODE);
  assert_int_equal(code, 30 + TETHER_EVENT_INTERRUPT);
}

/* Once nobody watches INTERRUPT any more, a Ctrl+C that tether re-enabled
 * is swallowed (the process ignored it before), not left to the default
 * handler, which would end the child (Wine: exit code 0). */
static void test_reenabled_interrupt_swallowed_after_unwatch(void **state) {
  int r = 0, w = 0, kind = 0, code = 0;
  long ms = 0;
  (void)state;
  run_interrupt_middle("ignored_middle optin_unwatch", &r, &ms, &w, &kind, &code);
  assert_int_not_equal(r, -100);
  assert_int_not_equal(r, -101);
  assert_tether_ok(r); /* the second INTERRUPT was sent */
  assert_int_equal(w, 1);
  assert_int_equal(kind, TETHER_STATUS_CODE);
  assert_int_equal(code, 33); /* survived it, exited by itself */
}

/* QUIT to a child with a console of its own: CTRL_BREAK_EVENT through the
 * helper. */
static void test_signal_quit_own_console(void **state) {
  int r = 0, w = 0, kind = 0, code = 0;
  long oserr = 0;
  (void)state;
  run_interrupt_middle("interrupt_middle quit", &r, &oserr, &w, &kind, &code);
  if (tt_is_wine()) {
    /* Wine 8 does not implement CTRL_BREAK_EVENT: the helper reports the
     * failure and tether says ENOTSUP (the middle then killed the child). */
    assert_int_equal(r, TETHER_ENOTSUP);
    assert_int_equal(kind, TETHER_STATUS_KILLED);
    return;
  }
  /* The child watches only INTERRUPT: the default handler ends it. */
  assert_tether_ok(r);
  assert_int_equal(w, 1);
  assert_int_equal(kind, TETHER_STATUS_INTERRUPTED);
}

static void test_stop_sequence(void **state) {
  static const tether_stop_step steps[] = {{TETHER_EVENT_QUIT, 3000},
                                           {TETHER_EVENT_TERMINATE, 10000}};
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  tether_status st;
  char line[64];
  uint64_t t0;
  int r;
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  c = spawn_ok(self_argv(&a, "terminate", NULL, NULL, NULL), &o);
  assert_true(tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 30000) > 0);
  r = tether_child_stop(c, steps, TT_COUNT(steps), &st);
  if (tt_is_wine()) {
    /* Wine 8 cannot send CTRL_BREAK_EVENT: QUIT is ENOTSUP and skipped at
     * once; WM_CLOSE (TERMINATE) ends the child. */
    assert_int_equal(r, 1);
    assert_int_equal(st.kind, TETHER_STATUS_CODE);
    assert_int_equal(st.code, 30 + TETHER_EVENT_TERMINATE);
  } else {
    /* Windows: CTRL_BREAK reaches the child, which does not watch QUIT:
     * the default handler ends it with STATUS_CONTROL_C_EXIT. */
    assert_int_equal(r, 0);
    assert_int_equal(st.kind, TETHER_STATUS_INTERRUPTED);
  }
  tether_child_free(c);

  /* A console child without windows, on this console: INTERRUPT and
   * TERMINATE cannot reach it (ENOTSUP, no waiting), so the default
   * sequence kills it at once. (Without a console here the child has its
   * own and INTERRUPT is sent, but ignored: CREATE_NEW_PROCESS_GROUP.) */
  if (!tt_win32_have_console()) {
    print_message("no console: the default stop sequence is not timed\n");
    return;
  }
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), NULL);
  t0 = tether_now_ns();
  r = tether_child_stop(c, NULL, 0, &st);
  assert_int_equal(r, 2);
  assert_int_equal(st.kind, TETHER_STATUS_KILLED);
  assert_true(ms_since(t0) < 2000);
  tether_child_free(c);
}

/* Nothing of this process reaches the child but its three standard
 * handles: not the channel's event, not the job, not an inheritable event
 * (PROC_THREAD_ATTRIBUTE_HANDLE_LIST). Handles are numbered from the
 * lowest free slot, so the table is first filled up to make those values
 * far above anything the young child has. */
static void test_child_inherits_nothing(void **state) {
  enum { PAD = 3000 };
  HANDLE *pad, ev, base;
  SECURITY_ATTRIBUTES sa;
  tether_channel *ch = NULL;
  tether_spawn_options o;
  tether_child *c;
  tether_status st;
  self_args a;
  char line[128];
  DWORD put = 0;
  int i;
  (void)state;
  pad = (HANDLE *)calloc(PAD, sizeof(HANDLE));
  assert_non_null(pad);
  base = CreateEventW(NULL, TRUE, FALSE, NULL);
  for (i = 0; i < PAD; i++)
    DuplicateHandle(GetCurrentProcess(), base, GetCurrentProcess(), &pad[i], 0, FALSE,
                    DUPLICATE_SAME_ACCESS);
  memset(&sa, 0, sizeof(sa));
  sa.nLength = sizeof(sa);
  sa.bInheritHandle = TRUE;
  ev = CreateEventW(&sa, TRUE, FALSE, NULL);
  assert_non_null(ev);
  tt_child_channel(&ch, NULL, &o);
  o.stdio[0].mode = TETHER_STDIO_PIPE;
  c = spawn_ok(self_argv(&a, "handles", NULL, NULL, NULL), &o);
  assert_true((uintptr_t)tether__win32_child_job(c) > 0x1000u);
  assert_true((uintptr_t)ev > 0x1000u);
  snprintf(line, sizeof(line), "%llx %llx %llx\n",
           (unsigned long long)(uintptr_t)tether_channel_handle(ch),
           (unsigned long long)(uintptr_t)tether__win32_child_job(c),
           (unsigned long long)(uintptr_t)ev);
  assert_true(WriteFile(tether_child_stdio(c, 0), line, (DWORD)strlen(line), &put, NULL));
  wait_exit(c, &st);
  if (st.code != 0)
    fail_msg("the child can use handle %d of \"%s\" (exit %d)", st.code - 10, line, st.code);
  tether_child_free(c);
  tether_channel_free(ch);
  CloseHandle(ev);
  for (i = 0; i < PAD; i++)
    CloseHandle(pad[i]);
  CloseHandle(base);
  free(pad);
}

static void test_child_event(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_channel *ch = NULL;
  tether_child *c, *c2;
  tether_event ev;
  (void)state;
  tt_child_channel(&ch, NULL, &o);
  c = spawn_ok(self_argv(&a, "exit", "7", NULL, NULL), &o);
  c2 = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), &o);
  assert_int_equal(tether_channel_wait(ch, &ev, 30000), 1);
  assert_int_equal(ev.kind, TETHER_EVENT_CHILD);
  assert_ptr_equal(ev.child, c);
  assert_int_equal(ev.pid, tether_child_pid(c));
  assert_int_equal(ev.count, 1);
  assert_int_equal(ev.exit.kind, TETHER_STATUS_CODE);
  assert_int_equal(ev.exit.code, 7);
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  /* Killed by tether: KILLED in the event too. */
  assert_tether_ok(tether_child_kill(c2));
  assert_int_equal(tether_channel_wait(ch, &ev, 30000), 1);
  assert_ptr_equal(ev.child, c2);
  assert_int_equal(ev.exit.kind, TETHER_STATUS_KILLED);
  assert_int_equal(ev.exit.code, 137);
  tether_child_free(c);
  tether_child_free(c2);
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  tether_channel_free(ch);
}

static void test_detached_survives(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  HANDLE h;
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_DETACHED;
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), &o);
  assert_null(tether__win32_child_job(c));
  assert_tether_err(tether_child_wait_tree(c, 0), TETHER_ENOTSUP);
  assert_tether_err(tether_child_stop(c, NULL, 0, NULL), TETHER_ENOTSUP);
  /* No console: console events cannot reach it. */
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_INTERRUPT), TETHER_ENOTSUP);
  assert_tether_err(tether_child_signal(c, TETHER_EVENT_QUIT), TETHER_ENOTSUP);
  h = open_pid((DWORD)tether_child_pid(c));
  tether_child_free(c);
  assert_false(gone_within(h, 300));
  assert_true(TerminateProcess(h, 1));
  assert_true(gone_within(h, 10000));
  CloseHandle(h);

  /* tether_child_kill ends the child itself (no tree is tracked). */
  c = spawn_ok(self_argv(&a, "sleep", NULL, NULL, NULL), &o);
  assert_tether_ok(tether_child_kill(c));
  {
    tether_status st;
    wait_exit(c, &st);
    assert_int_equal(st.kind, TETHER_STATUS_KILLED);
  }
  assert_tether_err(tether_child_kill(c), TETHER_ESRCH);
  tether_child_free(c);
}

/* Spawning and freeing, or failing to spawn, leaves no handle behind. */
static void test_no_handle_leak(void **state) {
  self_args a;
  tether_spawn_options o;
  tether_child *c;
  tether_status st;
  char dir[1024], path[1100];
  const char *bad[] = {path, NULL};
  long before, after;
  int i;
  (void)state;
  make_temp_dir(dir, sizeof(dir), "leak");
  snprintf(path, sizeof(path), "%s\\text.exe", dir);
  write_file_utf8(path, "not a program\r\n");
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[0].mode = TETHER_STDIO_PIPE;
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.stdio[2].mode = TETHER_STDIO_NULL;
  o.env_set = bad + 1; /* empty list */
  /* Warm up the thread pool behind RegisterWaitForSingleObject. */
  c = spawn_ok(self_argv(&a, "exit", "0", NULL, NULL), &o);
  wait_exit(c, &st);
  tether_child_free(c);
  before = tt_open_fd_count();
  for (i = 0; i < 3; i++) {
    c = spawn_ok(self_argv(&a, "exit", "0", NULL, NULL), &o);
    wait_exit(c, &st);
    tether_child_free(c);
    /* Fails in CreateProcess, after the pipes and the job were made. */
    c = NULL;
    assert_tether_err(tether_spawn(&c, bad, &o), TETHER_ENOEXEC);
    assert_null(c);
  }
  after = tt_open_fd_count();
  if (after > before)
    fail_msg("handles: %ld before, %ld after", before, after);
  cleanup_utf8(path, dir);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {{"exit", tt_child_exit},
                                          {"crash", child_crash},
                                          {"sleep", tt_child_sleep},
                                          {"breakaway", child_breakaway},
                                          {"console_close", child_console_close},
                                          {"ctrl_inject", child_ctrl_inject},
                                          {"argv", child_argv},
                                          {"env", child_env},
                                          {"env_names", child_env_names},
                                          {"cwd", child_cwd},
                                          {"cat", child_cat},
                                          {"nullio", child_nullio},
                                          {"tree", child_tree},
                                          {"middle", child_middle},
                                          {"wine_tree", child_wine_tree},
                                          {"wine_middle", child_wine_middle},
                                          {"handles", child_handles},
                                          {"terminate", child_terminate},
                                          {"interrupt", child_interrupt},
                                          {"interrupt_middle", child_interrupt_middle},
                                          {"interrupt_flag", child_interrupt_flag},
                                          {"ignored_middle", child_ignored_middle},
                                          {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_extra_fds_not_supported),
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_argv_round_trip),
      cmocka_unit_test(test_env_set_unset_clear),
      cmocka_unit_test(test_cwd),
      cmocka_unit_test(test_stdio_pipes),
      cmocka_unit_test(test_stdio_null_and_handle),
      cmocka_unit_test(test_program_resolution),
      cmocka_unit_test(test_no_current_directory_search),
      cmocka_unit_test(test_free_kills_tree),
      cmocka_unit_test(test_free_kills_tree_suspended_path),
      cmocka_unit_test(test_job_limits),
      cmocka_unit_test(test_allow_breakaway),
      cmocka_unit_test(test_parent_death_kills_tree),
      cmocka_unit_test(test_wait_tree),
      cmocka_unit_test(test_kill),
      cmocka_unit_test(test_signal_terminate),
      cmocka_unit_test(test_signal_console_shared),
      cmocka_unit_test(test_signal_interrupt_own_console),
      cmocka_unit_test(test_signal_interrupt_ignored),
      cmocka_unit_test(test_watch_ignored_reenables_interrupt),
      cmocka_unit_test(test_reenabled_interrupt_swallowed_after_unwatch),
      cmocka_unit_test(test_signal_quit_own_console),
      cmocka_unit_test(test_stop_sequence),
      cmocka_unit_test(test_child_inherits_nothing),
      cmocka_unit_test(test_child_event),
      cmocka_unit_test(test_detached_survives),
      cmocka_unit_test(test_no_handle_leak),
  };
  return tt_main(argc, argv, scenarios, "spawn_win32", tests, TT_COUNT(tests));
}
