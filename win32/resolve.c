/* SPDX-License-Identifier: MIT */
/*
 * Windows backend, children: the program file for argv[0], found as
 * CreateProcess would, but never in the current directory (see
 * tether__resolve).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <wchar.h>

#include "spawn_internal.h"

static DWORD tether__sys_dir_fn(wchar_t *buf, DWORD size, const void *arg) {
  (void)arg;
  return GetSystemDirectoryW(buf, size);
}

static DWORD tether__win_dir_fn(wchar_t *buf, DWORD size, const void *arg) {
  (void)arg;
  return GetWindowsDirectoryW(buf, size);
}

int tether__is_sep(wchar_t ch) { return ch == L'\\' || ch == L'/'; }

/* "dir\x", "dir/x" or "C:x": a name CreateProcess would not search for. */
static int tether__has_dir_part(const wchar_t *name) {
  for (; *name != L'\0'; name++)
    if (tether__is_sep(*name) || *name == L':')
      return 1;
  return 0;
}

/* Does the last component of name contain a dot? */
static int tether__has_extension(const wchar_t *name) {
  const wchar_t *base = name, *p;
  for (p = name; *p != L'\0'; p++)
    if (tether__is_sep(*p) || *p == L':')
      base = p + 1;
  return wcschr(base, L'.') != NULL;
}

/* Look at one candidate file: 1 a file (not a directory) is there, 0 not.
 * *saw_dir is set when it is a directory, *denied when access was denied. */
int tether__probe(const wchar_t *path, int *saw_dir, int *denied) {
  DWORD attr = GetFileAttributesW(path);
  if (attr == INVALID_FILE_ATTRIBUTES) {
    if (GetLastError() == ERROR_ACCESS_DENIED)
      *denied = 1;
    return 0;
  }
  if (attr & FILE_ATTRIBUTE_DIRECTORY) {
    *saw_dir = 1;
    return 0;
  }
  return 1;
}

/* Try the path in b (+ ".exe"), then free b. 1 found (*out set: its full
 * path), 0 not, < 0 error. */
static int tether__try_path(tether__wbuf *b, int add_exe, int *saw_dir, int *denied,
                            wchar_t **out) {
  int r;
  if (add_exe)
    tether__wbuf_adds(b, L".exe");
  if (b->oom) {
    free(b->p);
    return TETHER_ENOMEM;
  }
  if (!tether__probe(b->p, saw_dir, denied)) {
    free(b->p);
    return 0;
  }
  r = tether__get_sized(tether__full_path_fn, b->p, out);
  free(b->p);
  return r < 0 ? r : 1;
}

/* Try dir + "\" + name (+ ".exe"). 1 found (*out set), 0 not, < 0 error. */
static int tether__try_dir(const wchar_t *dir, size_t dirlen, const wchar_t *name, int add_exe,
                           int *saw_dir, int *denied, wchar_t **out) {
  tether__wbuf b = {NULL, 0, 0, 0};
  if (dirlen == 0)
    return 0;
  tether__wbuf_add(&b, dir, dirlen);
  if (!tether__is_sep(dir[dirlen - 1]))
    tether__wbuf_adds(&b, L"\\");
  tether__wbuf_adds(&b, name);
  return tether__try_path(&b, add_exe, saw_dir, denied, out);
}

/* The error for a program that was not found: TETHER_EACCES when a
 * directory of that name (or an unreadable entry) was seen, as execvp()
 * reports, else TETHER_ENOENT. */
static int tether__not_found(int saw_dir, int denied) {
  if (saw_dir || denied)
    return tether__translate_os_error(ERROR_ACCESS_DENIED);
  return tether__translate_os_error(ERROR_FILE_NOT_FOUND);
}

/*
 * Find the program file for argv[0] (wide), as CreateProcess does for a
 * command line without lpApplicationName ("CreateProcessW", lpCommandLine,
 * MS docs), except that the 16-bit System directory is not searched:
 *   - TETHER_SPAWN_NO_SEARCH: the name as given, nothing appended;
 *   - a name with a directory part ("\", "/" or a drive colon): that file,
 *     with ".exe" appended when its last component has no extension;
 *   - a bare name: ".exe" appended when it has no extension, then looked up
 *     in the directory of this process's executable, the system directory,
 *     the Windows directory, then each PATH directory of this process's
 *     environment. Never in the current directory, which CreateProcess
 *     searches second: a program planted there (a downloaded "git.exe"
 *     next to the files being worked on) would run instead of the real
 *     one. Go 1.19 (os/exec ErrDot) and Rust 1.58 (std::process::Command)
 *     dropped it for the same reason; ".\name" still runs a program from
 *     the current directory (it has a directory part).
 * The result is a full path. Errors: TETHER_ENOENT (not found),
 * TETHER_EACCES (only a directory of that name, or access denied).
 */
int tether__resolve(const wchar_t *name, unsigned flags, wchar_t **out) {
  int saw_dir = 0, denied = 0, add_exe, r;
  wchar_t *dir = NULL;
  *out = NULL;
  add_exe = !(flags & TETHER_SPAWN_NO_SEARCH) && !tether__has_extension(name);
  if ((flags & TETHER_SPAWN_NO_SEARCH) || tether__has_dir_part(name)) {
    tether__wbuf b = {NULL, 0, 0, 0};
    tether__wbuf_adds(&b, name);
    r = tether__try_path(&b, add_exe, &saw_dir, &denied, out);
    if (r != 0)
      return r < 0 ? r : 0;
    return tether__not_found(saw_dir, denied);
  }

  /* 1. The directory of this process's executable. */
  if ((r = tether__get_sized(tether__module_path_fn, NULL, &dir)) < 0)
    return r;
  {
    size_t n = wcslen(dir);
    while (n > 0 && !tether__is_sep(dir[n - 1]))
      n--;
    r = tether__try_dir(dir, n, name, add_exe, &saw_dir, &denied, out);
  }
  free(dir);
  dir = NULL;
  /* 2. The system directory, 3. the Windows directory. Not the current
   * directory (see above). */
  {
    static const tether__sized_fn fixed[2] = {tether__sys_dir_fn, tether__win_dir_fn};
    int k;
    for (k = 0; k < 2 && r == 0; k++) {
      if ((r = tether__get_sized(fixed[k], NULL, &dir)) < 0)
        return r;
      r = tether__try_dir(dir, wcslen(dir), name, add_exe, &saw_dir, &denied, out);
      free(dir);
      dir = NULL;
    }
  }
  /* 5. PATH: ';'-separated; an entry may be surrounded by double quotes. */
  if (r == 0 && tether__get_sized(tether__env_var_fn, L"PATH", &dir) == 0) {
    const wchar_t *p = dir;
    while (r == 0 && *p != L'\0') {
      const wchar_t *end = wcschr(p, L';');
      size_t n = end != NULL ? (size_t)(end - p) : wcslen(p);
      const wchar_t *s = p;
      if (n >= 2 && s[0] == L'"' && s[n - 1] == L'"') {
        s++;
        n -= 2;
      }
      r = tether__try_dir(s, n, name, add_exe, &saw_dir, &denied, out);
      if (end == NULL)
        break;
      p = end + 1;
    }
  }
  free(dir);
  if (r < 0)
    return r;
  if (r == 1)
    return 0;
  return tether__not_found(saw_dir, denied);
}
