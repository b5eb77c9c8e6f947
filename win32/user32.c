/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: user32.dll, loaded on first use and never imported, for
 * the reason explained in win32/source.c ("Hidden window"): a console
 * program that loads it is treated as a GUI program and no longer receives
 * CTRL_LOGOFF/SHUTDOWN_EVENT. One loader for the hidden window
 * (win32/source.c) and for WM_CLOSE to other processes (win32/helper.c).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "backend.h"
#include "user32.h"

/* Older SDK headers hide this flag (Windows 8 and later, or KB2533623). */
#ifndef LOAD_LIBRARY_SEARCH_SYSTEM32
#define LOAD_LIBRARY_SEARCH_SYSTEM32 0x00000800
#endif

/* GetProcAddress returns FARPROC; going through void (*)(void) keeps GCC's
 * -Wcast-function-type quiet and is fine for MSVC. */
#define TETHER__PROC(mod, type, name) ((type)(void (*)(void))GetProcAddress((mod), (name)))

tether__user32_fns tether__u32; /* set once under the global lock */

/*
 * Locking: double-checked, with the flag published last. The table is
 * filled under the global lock; tether__u32_loaded becomes 1 only after
 * every function was found, through InterlockedExchange (a full barrier),
 * and is read without the lock through InterlockedCompareExchange (a full
 * barrier too). So a thread that sees the flag set sees the whole table,
 * whether or not it holds the global lock: the callers of tether__user32_load
 * (tether_child_signal, tether_send) do not, and read the table on their
 * own thread. (A table whose last pointer doubles as the flag, read with a
 * plain load, is only safe when every reader holds the lock or is ordered
 * after the load by something else.)
 */
static volatile LONG tether__u32_loaded;

int tether__user32_load_locked(void) {
  HMODULE u32;
  if (tether__u32_loaded)
    return 0;
  /* System32 only: never a user32.dll planted next to the program
   * ("LoadLibraryExW", LOAD_LIBRARY_SEARCH_SYSTEM32, MS docs). The module is
   * never freed: the window lives until the process ends. */
  u32 = LoadLibraryExW(L"user32.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (u32 == NULL)
    return tether__translate_os_error((long)GetLastError());
  tether__u32.RegisterClassExW = TETHER__PROC(u32, tether__RegisterClassExW_fn, "RegisterClassExW");
  tether__u32.CreateWindowExW = TETHER__PROC(u32, tether__CreateWindowExW_fn, "CreateWindowExW");
  tether__u32.GetMessageW = TETHER__PROC(u32, tether__GetMessageW_fn, "GetMessageW");
  tether__u32.DispatchMessageW = TETHER__PROC(u32, tether__DispatchMessageW_fn, "DispatchMessageW");
  tether__u32.DefWindowProcW = TETHER__PROC(u32, tether__DefWindowProcW_fn, "DefWindowProcW");
  tether__u32.EnumWindows = TETHER__PROC(u32, tether__EnumWindows_fn, "EnumWindows");
  tether__u32.GetWindowThreadProcessId =
      TETHER__PROC(u32, tether__GetWindowThreadProcessId_fn, "GetWindowThreadProcessId");
  tether__u32.PostMessageW = TETHER__PROC(u32, tether__PostMessageW_fn, "PostMessageW");
  if (tether__u32.RegisterClassExW == NULL || tether__u32.CreateWindowExW == NULL ||
      tether__u32.GetMessageW == NULL || tether__u32.DispatchMessageW == NULL ||
      tether__u32.DefWindowProcW == NULL || tether__u32.EnumWindows == NULL ||
      tether__u32.GetWindowThreadProcessId == NULL || tether__u32.PostMessageW == NULL)
    return tether__translate_os_error((long)GetLastError());
  /* Last: its value 1 means "all loaded". */
  InterlockedExchange(&tether__u32_loaded, 1);
  return 0;
}

int tether__user32_load(void) {
  int r;
  if (InterlockedCompareExchange(&tether__u32_loaded, 0, 0))
    return 0;
  tether__global_lock();
  r = tether__user32_load_locked();
  tether__global_unlock();
  return r;
}
