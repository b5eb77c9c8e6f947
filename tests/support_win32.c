/* SPDX-License-Identifier: MIT */
/*
 * Windows test helpers shared by the Windows tests (see support_win32.h).
 * Plain Win32 and C, but for the last section: win32_dll_host compiles
 * this file without tether and cmocka (TT_SUPPORT_WIN32_NO_TETHER).
 */
#include "support_win32.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

void tt_win32_say(const char *fmt, ...) {
  char buf[512];
  DWORD n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
  va_end(ap);
  buf[sizeof(buf) - 3] = '\0';
  strcat(buf, "\n");
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), buf, (DWORD)strlen(buf), &n, NULL);
}

int tt_win32_have_console(void) {
  DWORD list[4];
  return GetConsoleProcessList(list, 4) > 0;
}

/* Bytes waiting in the pipe, within timeout_ms of start (GetTickCount):
 * 1 some, 0 none in time, -1 end of file (or not a pipe). */
static int wait_data(HANDLE h, DWORD start, DWORD timeout_ms, DWORD *avail) {
  for (;;) {
    *avail = 0;
    if (!PeekNamedPipe(h, NULL, 0, NULL, avail, NULL))
      return -1; /* ERROR_BROKEN_PIPE: end of file */
    if (*avail > 0)
      return 1;
    if (GetTickCount() - start > timeout_ms)
      return 0;
    Sleep(5);
  }
}

int tt_win32_read_line(HANDLE h, char *buf, size_t cap, DWORD timeout_ms) {
  size_t n = 0;
  DWORD start = GetTickCount();
  for (;;) {
    DWORD avail, got = 0;
    char ch;
    int w = wait_data(h, start, timeout_ms, &avail);
    if (w <= 0) {
      buf[n] = '\0';
      return w == 0 ? -1 : 0;
    }
    if (!ReadFile(h, &ch, 1, &got, NULL) || got == 0) {
      buf[n] = '\0';
      return 0;
    }
    if (ch == '\n') {
      buf[n] = '\0';
      return 1;
    }
    if (ch != '\r' && n + 1 < cap)
      buf[n++] = ch;
  }
}

size_t tt_win32_read_all(HANDLE h, char *buf, size_t cap, DWORD timeout_ms) {
  size_t n = 0;
  DWORD start = GetTickCount();
  for (;;) {
    DWORD avail, got = 0;
    if (wait_data(h, start, timeout_ms, &avail) <= 0)
      break;
    if (avail > cap - 1 - n)
      avail = (DWORD)(cap - 1 - n);
    if (avail == 0 || !ReadFile(h, buf + n, avail, &got, NULL) || got == 0)
      break;
    n += got;
  }
  buf[n] = '\0';
  return n;
}

int tt_win32_pipe(HANDLE *rd, HANDLE *wr) {
  SECURITY_ATTRIBUTES sa;
  memset(&sa, 0, sizeof(sa));
  sa.nLength = sizeof(sa);
  sa.bInheritHandle = TRUE;
  *rd = *wr = NULL;
  if (!CreatePipe(rd, wr, &sa, 0))
    return 0;
  if (!SetHandleInformation(*rd, HANDLE_FLAG_INHERIT, 0)) {
    DWORD err = GetLastError();
    CloseHandle(*rd);
    CloseHandle(*wr);
    *rd = *wr = NULL;
    SetLastError(err);
    return 0;
  }
  return 1;
}

void tt_win32_self_w(wchar_t *buf, DWORD cap) {
  DWORD n = GetModuleFileNameW(NULL, buf, cap);
  if (n == 0 || n >= cap)
    buf[0] = L'\0';
}

int tt_win32_create(const wchar_t *exe, wchar_t *cmd, DWORD flags, HANDLE out, HANDLE err,
                    int retries, PROCESS_INFORMATION *pi) {
  STARTUPINFOW si;
  int attempt;
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (out != NULL) {
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out;
    si.hStdError = err;
  }
  for (attempt = 0;; attempt++) {
    if (CreateProcessW(exe, cmd, NULL, NULL, out != NULL ? TRUE : FALSE, flags, NULL, NULL, &si,
                       pi))
      return 1;
    if (GetLastError() != ERROR_INTERNAL_ERROR || attempt >= retries)
      return 0;
    printf("[   INFO   ] CreateProcessW: ERROR_INTERNAL_ERROR, retrying\n");
    fflush(stdout);
    Sleep(50);
  }
}

int tt_win32_create_piped(const wchar_t *exe, wchar_t *cmd, DWORD flags, int err_mode, int retries,
                          PROCESS_INFORMATION *pi, HANDLE *out) {
  HANDLE rd = NULL, wr = NULL, err = NULL;
  DWORD why;
  if (!tt_win32_pipe(&rd, &wr))
    return 0;
  if (err_mode == TT_WIN32_ERR_PIPE)
    err = wr;
  else if (err_mode == TT_WIN32_ERR_OWN)
    err = GetStdHandle(STD_ERROR_HANDLE);
  if (tt_win32_create(exe, cmd, flags, wr, err, retries, pi)) {
    CloseHandle(wr);
    *out = rd;
    return 1;
  }
  why = GetLastError();
  CloseHandle(wr);
  CloseHandle(rd);
  SetLastError(why);
  return 0;
}

int tt_win32_start_self(const char *args, DWORD flags, int err_mode, int retries,
                        PROCESS_INFORMATION *pi, HANDLE *out) {
  wchar_t self[MAX_PATH * 2], cmd[MAX_PATH * 2 + 128];
  tt_win32_self_w(self, MAX_PATH * 2);
  if (self[0] == L'\0') {
    SetLastError(ERROR_BUFFER_OVERFLOW);
    return 0;
  }
  _snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" --child %hs", self, args);
  cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
  if (out == NULL)
    return tt_win32_create(self, cmd, flags, NULL, NULL, retries, pi);
  return tt_win32_create_piped(self, cmd, flags, err_mode, retries, pi, out);
}

int tt_win32_proc_start(tt_win32_proc *p, const char *args, DWORD flags) {
  memset(p, 0, sizeof(*p));
  if (tt_win32_start_self(args, flags, TT_WIN32_ERR_PIPE, 0, &p->pi, &p->out))
    return 1;
  printf("CreateProcess(--child %s) failed: %lu\n", args, (unsigned long)GetLastError());
  fflush(stdout);
  memset(p, 0, sizeof(*p));
  return 0;
}

int tt_win32_proc_expect(tt_win32_proc *p, const char *prefix, char *line, size_t cap,
                         DWORD timeout_ms) {
  for (;;) {
    int r = tt_win32_read_line(p->out, line, cap, timeout_ms);
    if (r <= 0)
      return r;
    printf("[  child   ] %s\n", line);
    fflush(stdout);
    if (strncmp(line, prefix, strlen(prefix)) == 0)
      return 1;
  }
}

DWORD tt_win32_proc_finish(tt_win32_proc *p, DWORD timeout_ms) {
  DWORD code = 0;
  char line[256];
  if (WaitForSingleObject(p->pi.hProcess, timeout_ms) != WAIT_OBJECT_0) {
    TerminateProcess(p->pi.hProcess, 1);
    WaitForSingleObject(p->pi.hProcess, 5000);
  }
  while (tt_win32_read_line(p->out, line, sizeof(line), 100) > 0) {
    printf("[  child   ] %s\n", line);
    fflush(stdout);
  }
  GetExitCodeProcess(p->pi.hProcess, &code);
  CloseHandle(p->pi.hProcess);
  CloseHandle(p->pi.hThread);
  CloseHandle(p->out);
  memset(p, 0, sizeof(*p));
  return code;
}

#ifndef TT_SUPPORT_WIN32_NO_TETHER
#include "tether.h"

int tt_win32_watch_and_report(int kind, DWORD wait_ms) {
  tether_channel *ch = NULL;
  tether_event ev;
  int r;
  if (tether_channel_new(&ch, NULL) < 0)
    return 2;
  if (tether_channel_watch(ch, kind, 0) < 0) {
    tether_channel_free(ch);
    return 3;
  }
  tt_win32_say("ready");
  r = tether_channel_wait(ch, &ev, (int)wait_ms);
  tether_channel_free(ch);
  return r == 1 && ev.kind == kind ? 30 + kind : 4;
}
#endif
