/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (never installed): user32.dll, loaded on first use and never
 * imported (win32/user32.c), for tether's hidden window (win32/source.c)
 * and WM_CLOSE to other processes' windows (win32/helper.c).
 */
#ifndef TETHER_WIN32_USER32_H
#define TETHER_WIN32_USER32_H

#include <windows.h>

typedef ATOM(WINAPI *tether__RegisterClassExW_fn)(const WNDCLASSEXW *);
typedef HWND(WINAPI *tether__CreateWindowExW_fn)(DWORD, LPCWSTR, LPCWSTR, DWORD, int, int, int, int,
                                                 HWND, HMENU, HINSTANCE, LPVOID);
typedef BOOL(WINAPI *tether__GetMessageW_fn)(LPMSG, HWND, UINT, UINT);
typedef LRESULT(WINAPI *tether__DispatchMessageW_fn)(const MSG *);
typedef LRESULT(WINAPI *tether__DefWindowProcW_fn)(HWND, UINT, WPARAM, LPARAM);
typedef BOOL(WINAPI *tether__EnumWindows_fn)(WNDENUMPROC, LPARAM);
typedef DWORD(WINAPI *tether__GetWindowThreadProcessId_fn)(HWND, LPDWORD);
typedef BOOL(WINAPI *tether__PostMessageW_fn)(HWND, UINT, WPARAM, LPARAM);

/* The user32 functions tether calls. Valid once tether__user32_load() or
 * tether__user32_load_locked() has returned 0; set once, then read-only. */
typedef struct tether__user32_fns {
  tether__RegisterClassExW_fn RegisterClassExW;
  tether__CreateWindowExW_fn CreateWindowExW;
  tether__GetMessageW_fn GetMessageW;
  tether__DispatchMessageW_fn DispatchMessageW;
  tether__DefWindowProcW_fn DefWindowProcW;
  tether__EnumWindows_fn EnumWindows;
  tether__GetWindowThreadProcessId_fn GetWindowThreadProcessId;
  tether__PostMessageW_fn PostMessageW;
} tether__user32_fns;
extern tether__user32_fns tether__u32;

/* Load user32.dll (from System32 only) and every function of tether__u32,
 * once: 0, or the error of the step that failed (the next call tries
 * again). Takes the global lock; any thread, never with the lock held. */
int tether__user32_load(void);

/* The same for a caller that already holds the global lock. */
int tether__user32_load_locked(void);

#endif /* TETHER_WIN32_USER32_H */
