/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: events to other processes for tether_child_signal
 * (win32/spawn.c) and tether_send (win32/send.c), as declared in
 * win32/helper.h: WM_CLOSE to their windows, and CTRL_C/CTRL_BREAK_EVENT
 * through the console helper program tether-ctrl.exe (win32/ctrl_main.c).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "backend.h"
#include "helper.h"
#include "spawn_internal.h"
#include "user32.h"

/* How long a console helper may take before it is killed. */
#define TETHER__HELPER_TIMEOUT_MS 10000

/* ------------------------------------------------------------------------ */
/* Events: windows                                                          */
/* ------------------------------------------------------------------------ */

typedef struct tether__close_ctx {
  const DWORD *pids;
  size_t npids;
  int posted;
} tether__close_ctx;

static BOOL CALLBACK tether__close_window(HWND hwnd, LPARAM arg) {
  tether__close_ctx *ctx = (tether__close_ctx *)arg;
  DWORD pid = 0;
  size_t i;
  tether__u32.GetWindowThreadProcessId(hwnd, &pid);
  for (i = 0; i < ctx->npids; i++) {
    if (ctx->pids[i] == pid) {
      if (tether__u32.PostMessageW(hwnd, WM_CLOSE, 0, 0))
        ctx->posted++;
      break;
    }
  }
  return TRUE;
}

/* WM_CLOSE to every top-level window of the given processes, as
 * `taskkill` without /F does ("How To Terminate an Application Cleanly in
 * Win32", Microsoft KB178893). TETHER_ENOTSUP when none has one (a console
 * program has none, unless it watches TERMINATE with tether: tether's
 * hidden window is a top-level window). Shared with win32/send.c. */
int tether__win32_post_close(const DWORD *pids, size_t npids) {
  tether__close_ctx ctx;
  int r;
  if ((r = tether__user32_load()) < 0)
    return r;
  ctx.pids = pids;
  ctx.npids = npids;
  ctx.posted = 0;
  tether__u32.EnumWindows(tether__close_window, (LPARAM)&ctx);
  return ctx.posted > 0 ? 0 : TETHER_ENOTSUP;
}

/* ------------------------------------------------------------------------ */
/* Events: the console helper                                               */
/* ------------------------------------------------------------------------ */

/*
 * The helper is tether-ctrl.exe (win32/ctrl_main.c; protocol and modes in
 * win32/helper.h), a program of tether's own: never the running executable,
 * which, when tether is a DLL loaded by python.exe or a plugin host, would
 * run the host's main() again. It is started with DETACHED_PROCESS |
 * CREATE_NEW_PROCESS_GROUP (no console of its own; Ctrl+C ignored), in a
 * kill-on-close job of its own, and killed after TETHER__HELPER_TIMEOUT_MS.
 *
 * Where it is looked for (docs/children.md, "Where tether-ctrl.exe is looked
 * for"), first found wins:
 *   1. %TETHER_CTRL%, when set and not empty: that file only;
 *   2. next to the module holding tether (its DLL, or the executable it is
 *      linked into statically): GetModuleHandleExW(FROM_ADDRESS);
 *   3. next to the running executable (tether.exe, or a program whose DLL
 *      is elsewhere);
 *   4. the configured install path (TETHER_CTRL_INSTALL_PATH, native
 *      builds);
 *   5. the build tree (TETHER_CTRL_BUILD_PATH).
 * None: TETHER_EHELPER with ERROR_FILE_NOT_FOUND. There is no fallback to
 * the running executable.
 */

/* An address inside the module that holds this code. */
static const char tether__helper_anchor = 0;

static DWORD tether__own_module_path_fn(wchar_t *buf, DWORD size, const void *arg) {
  HMODULE mod = NULL;
  DWORD n;
  (void)arg;
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                              GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          (LPCWSTR)(const void *)&tether__helper_anchor, &mod))
    return 0;
  n = GetModuleFileNameW(mod, buf, size);
  if (n == size) {
    SetLastError(0);
    return size + 1;
  }
  return n;
}

/* The directory of path (through its last separator) + TETHER__HELPER_NAME,
 * malloc'ed; NULL when out of memory. */
static wchar_t *tether__helper_beside(const wchar_t *path) {
  size_t dlen = 0, i, nlen = wcslen(TETHER__HELPER_NAME);
  wchar_t *p;
  for (i = 0; path[i] != L'\0'; i++)
    if (tether__is_sep(path[i]))
      dlen = i + 1;
  p = (wchar_t *)malloc((dlen + nlen + 1) * sizeof(wchar_t));
  if (p == NULL)
    return NULL;
  memcpy(p, path, dlen * sizeof(wchar_t));
  memcpy(p + dlen, TETHER__HELPER_NAME, (nlen + 1) * sizeof(wchar_t));
  return p;
}

/* Is there a file (not a directory) at path? */
static int tether__helper_is_file(const wchar_t *path) {
  int saw_dir = 0, denied = 0;
  return tether__probe(path, &saw_dir, &denied);
}

/* A UTF-8 path fixed at build time, as a malloc'ed UTF-16 string. */
#if defined(TETHER_CTRL_INSTALL_PATH) || defined(TETHER_CTRL_BUILD_PATH)
static wchar_t *tether__helper_fixed(const char *utf8) {
  int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
  wchar_t *p;
  if (n <= 0)
    return NULL;
  p = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
  if (p != NULL && MultiByteToWideChar(CP_UTF8, 0, utf8, -1, p, n) != n) {
    free(p);
    p = NULL;
  }
  return p;
}
#endif

/* Find tether-ctrl.exe: 0 (*out malloc'ed), TETHER_EHELPER (not found) or
 * TETHER_ENOMEM. */
static int tether__helper_find(wchar_t **out) {
  wchar_t *path = NULL, *cand = NULL, *mod = NULL;
  int r;
  *out = NULL;
  r = tether__get_sized(tether__env_var_fn, TETHER__HELPER_ENV, &path);
  if (r == TETHER_ENOMEM)
    return r;
  if (r == 0 && path[0] != L'\0') {
    if (tether__helper_is_file(path)) {
      *out = path;
      return 0;
    }
    free(path);
    tether__set_last_os_error(ERROR_FILE_NOT_FOUND);
    return TETHER_EHELPER;
  }
  free(path);
  path = NULL;
  /* Next to tether's module, then next to the executable. */
  if (tether__get_sized(tether__own_module_path_fn, NULL, &mod) == 0) {
    if ((cand = tether__helper_beside(mod)) == NULL)
      goto nomem;
    if (tether__helper_is_file(cand))
      goto found;
    free(cand);
  }
  if (tether__get_sized(tether__module_path_fn, NULL, &path) == 0 &&
      (mod == NULL || wcscmp(path, mod) != 0)) {
    if ((cand = tether__helper_beside(path)) == NULL)
      goto nomem;
    if (tether__helper_is_file(cand))
      goto found;
    free(cand);
  }
#if defined(TETHER_CTRL_INSTALL_PATH) || defined(TETHER_CTRL_BUILD_PATH)
  {
    /* Then the paths fixed at build time, in this order. */
    static const char *const fixed[] = {
#if defined(TETHER_CTRL_INSTALL_PATH)
      TETHER_CTRL_INSTALL_PATH,
#endif
#if defined(TETHER_CTRL_BUILD_PATH)
      TETHER_CTRL_BUILD_PATH,
#endif
    };
    size_t k;
    for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
      if ((cand = tether__helper_fixed(fixed[k])) != NULL) {
        if (tether__helper_is_file(cand))
          goto found;
        free(cand);
      }
    }
  }
#endif
  free(mod);
  free(path);
  tether__set_last_os_error(ERROR_FILE_NOT_FOUND);
  return TETHER_EHELPER;
nomem:
  free(mod);
  free(path);
  return TETHER_ENOMEM;
found:
  free(mod);
  free(path);
  *out = cand;
  return 0;
}

/* How long the helper's command line may be (CreateProcessW's limit). */
#define TETHER__HELPER_CMDLINE_MAX 32767

/*
 * Run the helper in mode (see win32/helper.h) against target, with the pid
 * list (mode 'C'; NULL and 0 for the others). Returns 0 when the helper did
 * its job; TETHER_ENOTSUP (with *no_console set when it could not attach to
 * the target's console: gone meanwhile, or no console) when it could not;
 * TETHER_EHELPER when tether-ctrl.exe is missing, could not start, or did
 * not answer as one; TETHER_ETIMEDOUT, TETHER_ENOMEM. The raw cause is
 * recorded for tether_last_os_error(). Shared with win32/send.c.
 */
int tether__win32_run_helper(char mode, DWORD target, const DWORD *pids, size_t npids,
                             int *no_console) {
  tether__create_req req;
  DWORD code = 0, wr;
  size_t i, len, at, exelen;
  wchar_t *exe = NULL, *cmdline = NULL;
  HANDLE job = NULL;
  PROCESS_INFORMATION pi;
  int r;

  *no_console = 0;
  memset(&req, 0, sizeof(req));
  memset(&pi, 0, sizeof(pi));
  if ((r = tether__helper_find(&exe)) < 0)
    goto done;
  /* "<exe>" <version> <mode><target>:<pid>,<pid>,... The program name is
   * quoted whole (a Windows path cannot contain '"'). */
  exelen = wcslen(exe);
  len = exelen + 3 + 24 + 11 * (npids + 1) + 1;
  cmdline = (wchar_t *)malloc(len * sizeof(wchar_t));
  if (cmdline == NULL) {
    r = TETHER_ENOMEM;
    goto done;
  }
  cmdline[0] = L'"';
  memcpy(cmdline + 1, exe, exelen * sizeof(wchar_t));
  cmdline[exelen + 1] = L'"';
  at = exelen + 2;
  {
    /* The request is ASCII: printed narrow, widened char by char. */
    char num[32];
    const char *part;
    for (i = 0; i <= npids + 1; i++) {
      if (i == 0)
        snprintf(num, sizeof(num), " %d %c%lu:", TETHER__HELPER_VERSION, mode,
                 (unsigned long)target);
      else if (i <= npids)
        snprintf(num, sizeof(num), "%s%lu", i > 1 ? "," : "", (unsigned long)pids[i - 1]);
      else
        num[0] = '\0';
      for (part = num; *part != '\0' && at + 1 < len; part++)
        cmdline[at++] = (wchar_t)(unsigned char)*part;
    }
  }
  cmdline[at] = L'\0';
  if (at >= TETHER__HELPER_CMDLINE_MAX) {
    /* A tree of thousands of processes: the list does not fit on a command
     * line, and the check that nothing else is on the console cannot be
     * made. */
    tether__set_last_os_error(ERROR_FILENAME_EXCED_RANGE);
    r = TETHER_ENOTSUP;
    goto done;
  }
  if ((r = tether__job_new(&job, 0)) < 0)
    goto done;
  req.app = exe;
  req.cmdline = cmdline;
  req.flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP;
  if ((r = tether__create_in_job(&req, job, &pi)) < 0) {
    /* tether_last_os_error() keeps CreateProcessW's reason. */
    if (r != TETHER_ENOMEM)
      r = TETHER_EHELPER;
    goto done;
  }
  wr = WaitForSingleObject(pi.hProcess, TETHER__HELPER_TIMEOUT_MS);
  if (wr != WAIT_OBJECT_0) {
    TerminateJobObject(job, TETHER__KILL_CODE);
    WaitForSingleObject(pi.hProcess, INFINITE);
    tether__set_last_os_error(ERROR_TIMEOUT);
    r = TETHER_ETIMEDOUT;
    goto done;
  }
  GetExitCodeProcess(pi.hProcess, &code);
  if ((code & 0xFF000000u) != TETHER__HELPER_MAGIC ||
      ((code >> 16) & 0xFFu) == TETHER__HELPER_BAD_ARGS) {
    /* Not an answer from a tether-ctrl.exe that understood the request:
     * another program under that name, another protocol version, or a
     * crash. The exit status is the raw cause. */
    tether__set_last_os_error((long)code);
    r = TETHER_EHELPER;
    goto done;
  }
  switch ((code >> 16) & 0xFFu) {
  case TETHER__HELPER_OK:
    r = 0;
    break;
  case TETHER__HELPER_NO_CONSOLE:
    /* Gone meanwhile, or no console (a detached process). */
    tether__set_last_os_error((long)(code & 0xFFFFu));
    *no_console = 1;
    r = TETHER_ENOTSUP;
    break;
  case TETHER__HELPER_SHARED:
  case TETHER__HELPER_GENERATE:
  case TETHER__HELPER_LIST:
    tether__set_last_os_error((long)(code & 0xFFFFu));
    r = TETHER_ENOTSUP;
    break;
  default:
    tether__set_last_os_error((long)(code & 0xFFFFu));
    r = TETHER_EUNKNOWN;
    break;
  }
done:
  tether__close(&pi.hProcess);
  tether__close(&job);
  free(exe);
  free(cmdline);
  return r;
}
