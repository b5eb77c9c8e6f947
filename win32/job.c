/* SPDX-License-Identifier: MIT */
/*
 * Windows backend, children: Job Objects, and CreateProcessW with an
 * explicit handle list into one (atomically with
 * PROC_THREAD_ATTRIBUTE_JOB_LIST, or suspended, assigned and resumed
 * where Windows lacks it).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "spawn_internal.h"
#include "win32_seam.h"

/* Older SDK headers lack these (winbase.h, Windows 10 SDK). */
#ifndef PROC_THREAD_ATTRIBUTE_HANDLE_LIST
#define PROC_THREAD_ATTRIBUTE_HANDLE_LIST 0x00020002
#endif
#ifndef PROC_THREAD_ATTRIBUTE_JOB_LIST
#define PROC_THREAD_ATTRIBUTE_JOB_LIST 0x0002000D
#endif

/* The limits of every job tether creates (tether__job_new). */
#define TETHER__JOB_LIMITS \
  (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION)

/* The test seam below: always take the path for Windows before 10. */
static volatile LONG tether__force_suspended;

/* CreateProcessW with the handle list (and the job list when req->job).
 * Returns 0, or the GetLastError() value; *no_job_list is set (and nothing
 * is started) when this Windows does not know PROC_THREAD_ATTRIBUTE_JOB_LIST
 * (UpdateProcThreadAttribute fails with ERROR_NOT_SUPPORTED or
 * ERROR_INVALID_PARAMETER before Windows 10). */
DWORD tether__create(const tether__create_req *req, int *no_job_list, PROCESS_INFORMATION *pi) {
  STARTUPINFOEXW si;
  HANDLE list[3];
  DWORD nlist = 0, nattr, err = 0, i, j;
  SIZE_T size = 0;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  BOOL ok;
  *no_job_list = 0;
  memset(pi, 0, sizeof(*pi));
  /* The list must not hold a handle twice. */
  for (i = 0; i < 3; i++) {
    if (req->std[i] == NULL)
      continue;
    for (j = 0; j < nlist && list[j] != req->std[i]; j++) {
    }
    if (j == nlist)
      list[nlist++] = req->std[i];
  }
  nattr = (nlist > 0 ? 1u : 0u) + (req->job != NULL ? 1u : 0u);
  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = req->std[0];
  si.StartupInfo.hStdOutput = req->std[1];
  si.StartupInfo.hStdError = req->std[2];
  if (nattr > 0) {
    /* The first call only reports the size (and fails with
     * ERROR_INSUFFICIENT_BUFFER). */
    InitializeProcThreadAttributeList(NULL, nattr, 0, &size);
    attrs = (LPPROC_THREAD_ATTRIBUTE_LIST)malloc(size);
    if (attrs == NULL)
      return ERROR_NOT_ENOUGH_MEMORY;
    if (!InitializeProcThreadAttributeList(attrs, nattr, 0, &size)) {
      err = GetLastError();
      free(attrs);
      return err;
    }
    if (nlist > 0 && !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                                nlist * sizeof(HANDLE), NULL, NULL))
      err = GetLastError();
    if (err == 0 && req->job != NULL &&
        !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_JOB_LIST, (PVOID)&req->job,
                                   sizeof(HANDLE), NULL, NULL)) {
      err = GetLastError();
      if (err == ERROR_NOT_SUPPORTED || err == ERROR_INVALID_PARAMETER)
        *no_job_list = 1;
    }
    if (err != 0) {
      DeleteProcThreadAttributeList(attrs);
      free(attrs);
      return err;
    }
    si.lpAttributeList = attrs;
  }
  ok = CreateProcessW(req->app, req->cmdline, NULL, NULL, nlist > 0 ? TRUE : FALSE,
                      req->flags | EXTENDED_STARTUPINFO_PRESENT |
                          (req->env != NULL ? CREATE_UNICODE_ENVIRONMENT : 0),
                      req->env, req->cwd, &si.StartupInfo, pi);
  if (!ok)
    err = GetLastError();
  if (attrs != NULL) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  return ok ? 0 : err;
}

/* A new Job Object that kills its processes when its last handle closes.
 * The handle is not inheritable (lpJobAttributes NULL).
 * JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION: a process of the tree that
 * crashes ends at once (every job member runs with SEM_NOGPFAULTERRORBOX,
 * "JOBOBJECT_BASIC_LIMIT_INFORMATION", MS docs) instead of waiting in a
 * Windows Error Reporting dialog that nobody may ever close, which would
 * keep the crashed child alive and its exit unreported. */
int tether__job_new(HANDLE *out, DWORD extra_limits) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  HANDLE job = CreateJobObjectW(NULL, NULL);
  *out = NULL;
  if (job == NULL)
    return tether__os_err();
  memset(&info, 0, sizeof(info));
  info.BasicLimitInformation.LimitFlags = TETHER__JOB_LIMITS | extra_limits;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof(info))) {
    int r = tether__os_err();
    CloseHandle(job);
    return r;
  }
  *out = job;
  return 0;
}

/*
 * Create the process of req inside job: atomically with the job list where
 * Windows has it, else suspended, assigned, resumed. ERROR_ACCESS_DENIED on
 * the atomic path is ambiguous (an unreadable program, or a job this
 * process sits in that refuses nesting), so it is retried on the suspended
 * path, where the two are told apart. On success pi->hThread is closed.
 */
int tether__create_in_job(tether__create_req *req, HANDLE job, PROCESS_INFORMATION *pi) {
  DWORD err, flags = req->flags;
  int no_job_list = 0, r;
  if (!tether__force_suspended) {
    req->job = job;
    err = tether__create(req, &no_job_list, pi);
    req->job = NULL;
    if (err == 0) {
      CloseHandle(pi->hThread);
      pi->hThread = NULL;
      return 0;
    }
    if (!no_job_list && err != ERROR_ACCESS_DENIED)
      return tether__translate_os_error((long)err);
  }
  req->flags = flags | CREATE_SUSPENDED;
  err = tether__create(req, &no_job_list, pi);
  req->flags = flags;
  if (err != 0)
    return tether__translate_os_error((long)err);
  if (!AssignProcessToJobObject(job, pi->hProcess)) {
    err = GetLastError();
    /* Never let it run outside the job. */
    TerminateProcess(pi->hProcess, TETHER__KILL_CODE);
    WaitForSingleObject(pi->hProcess, INFINITE);
    tether__close(&pi->hThread);
    tether__close(&pi->hProcess);
    r = tether__translate_os_error((long)err);
    /* Nesting refused: this process's job forbids the child's own. */
    return err == ERROR_ACCESS_DENIED ? TETHER_EPERM : r;
  }
  if (ResumeThread(pi->hThread) == (DWORD)-1) {
    r = tether__os_err();
    TerminateJobObject(job, TETHER__KILL_CODE);
    WaitForSingleObject(pi->hProcess, INFINITE);
    tether__close(&pi->hThread);
    tether__close(&pi->hProcess);
    return r;
  }
  tether__close(&pi->hThread);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Test seam (win32_seam.h)                                                 */
/* ------------------------------------------------------------------------ */

void tether__win32_spawn_force_suspended(int on) {
  InterlockedExchange(&tether__force_suspended, on ? 1 : 0);
}
