/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (never installed): what the files of the Windows children
 * backend share. win32/spawn.c creates and tracks the children
 * (tether__os_spawn, tether__os_child_*) with the help of:
 *   wstr.c     wide strings: a growable buffer, "size first" APIs
 *   resolve.c  the program file for argv[0]
 *   env.c      the child's environment block
 *   stdio.c    the child's standard handles
 *   job.c      Job Objects, and CreateProcessW (into one)
 *   helper.c   the console helper and WM_CLOSE (win32/helper.h)
 * See the comments at the definitions.
 */
#ifndef TETHER_WIN32_SPAWN_INTERNAL_H
#define TETHER_WIN32_SPAWN_INTERNAL_H

#include <stddef.h>
#include <wchar.h>
#include <windows.h>

#include "backend.h"

/* The exit code of every process killed by tether (tether.h,
 * tether_child_kill; win32/exit.c tether__os_is_kill_status). */
#define TETHER__KILL_CODE 137u

static __inline int tether__os_err(void) {
  return tether__translate_os_error((long)GetLastError());
}

static __inline void tether__close(HANDLE *h) {
  if (*h != NULL && *h != INVALID_HANDLE_VALUE)
    CloseHandle(*h);
  *h = NULL;
}

/* ------------------------------------------------------------------------ */
/* Wide strings (wstr.c)                                                    */
/* ------------------------------------------------------------------------ */

typedef struct tether__wbuf {
  wchar_t *p;
  size_t n, cap;
  int oom;
} tether__wbuf;

/* Append s[0..n) and keep the buffer NUL-terminated; out of memory sets
 * b->oom and every later call does nothing. Start with {NULL, 0, 0, 0}. */
void tether__wbuf_add(tether__wbuf *b, const wchar_t *s, size_t n);
void tether__wbuf_adds(tether__wbuf *b, const wchar_t *s);

/* A string from a "give me the size first" API: fn(buf, size) returns the
 * length without the NUL when it fits, else the size needed with the NUL,
 * 0 on error. */
typedef DWORD (*tether__sized_fn)(wchar_t *buf, DWORD size, const void *arg);

/* fn's string, malloc'ed, in *out: 0 or an error. */
int tether__get_sized(tether__sized_fn fn, const void *arg, wchar_t **out);

/* For tether__get_sized: the running executable's path (arg unused); the
 * environment variable named arg (wide); the full path of arg (wide). */
DWORD tether__module_path_fn(wchar_t *buf, DWORD size, const void *arg);
DWORD tether__env_var_fn(wchar_t *buf, DWORD size, const void *arg);
DWORD tether__full_path_fn(wchar_t *buf, DWORD size, const void *arg);

/* ------------------------------------------------------------------------ */
/* Program resolution (resolve.c)                                           */
/* ------------------------------------------------------------------------ */

/* A path separator: backslash or slash. */
int tether__is_sep(wchar_t ch);

/* Look at one candidate file: 1 a file (not a directory) is there, 0 not.
 * *saw_dir is set when it is a directory, *denied when access was denied. */
int tether__probe(const wchar_t *path, int *saw_dir, int *denied);

/* The full path of the program file for name (argv[0], wide) under flags
 * (TETHER_SPAWN_NO_SEARCH), malloc'ed in *out. Errors: TETHER_ENOENT,
 * TETHER_EACCES, TETHER_ENOMEM. */
int tether__resolve(const wchar_t *name, unsigned flags, wchar_t **out);

/* ------------------------------------------------------------------------ */
/* Environment block (env.c)                                                */
/* ------------------------------------------------------------------------ */

/* The child's environment block (for CREATE_UNICODE_ENVIRONMENT),
 * malloc'ed in *out; *out NULL when the child inherits this process's. */
int tether__build_env(const char *const *env_set, const char *const *env_unset, unsigned flags,
                      wchar_t **out);

/* ------------------------------------------------------------------------ */
/* Standard handles (stdio.c)                                               */
/* ------------------------------------------------------------------------ */

/* The child's end of standard stream i (0, 1, 2) as s says, inheritable, in
 * *child (NULL for none) and, for a pipe, this process's end in *parent
 * (not inheritable, else NULL). */
int tether__stdio_setup(const tether_stdio *s, int i, HANDLE *child, HANDLE *parent);

/* ------------------------------------------------------------------------ */
/* Process creation and Job Objects (job.c)                                 */
/* ------------------------------------------------------------------------ */

typedef struct tether__create_req {
  const wchar_t *app;
  wchar_t *cmdline;
  wchar_t *env;       /* NULL: inherit */
  const wchar_t *cwd; /* NULL: this process's */
  HANDLE std[3];      /* inheritable or NULL */
  DWORD flags;        /* creation flags besides the ones added here */
  HANDLE job;         /* for PROC_THREAD_ATTRIBUTE_JOB_LIST, or NULL */
} tether__create_req;

/* CreateProcessW with the handle list (and the job list when req->job):
 * 0, or the GetLastError() value; *no_job_list set (nothing started) when
 * this Windows does not know PROC_THREAD_ATTRIBUTE_JOB_LIST. */
DWORD tether__create(const tether__create_req *req, int *no_job_list, PROCESS_INFORMATION *pi);

/* A new kill-on-close Job Object (not inheritable) in *out, with
 * extra_limits besides tether's own. */
int tether__job_new(HANDLE *out, DWORD extra_limits);

/* Create the process of req inside job; on success pi->hProcess is set
 * and pi->hThread closed. */
int tether__create_in_job(tether__create_req *req, HANDLE job, PROCESS_INFORMATION *pi);

#endif /* TETHER_WIN32_SPAWN_INTERNAL_H */
