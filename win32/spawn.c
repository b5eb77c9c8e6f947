/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: tethered children, one Job Object per child
 * (docs/children.md, "Windows"). The portable part is core/child.c.
 *
 * Containment. Each child is created inside a Job Object of its own with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and no breakaway flag, so its
 * descendants join the job too ("Job Objects", MS docs: "all processes
 * associated with the job are terminated when the last handle to the job
 * is closed"; a process created by a job member belongs to the job unless
 * breakaway is allowed). The job handle is not inheritable and lives only
 * in this process: however this process ends, the kernel closes it and
 * kills the tree. The process enters the job atomically through
 * PROC_THREAD_ATTRIBUTE_JOB_LIST (Windows 10 and later); where that
 * attribute is unknown, through CREATE_SUSPENDED -> AssignProcessToJobObject
 * -> ResumeThread, so that it cannot start a process outside the job.
 *
 * Inheritance. Only the child's three standard handles are inherited,
 * listed with PROC_THREAD_ATTRIBUTE_HANDLE_LIST ("UpdateProcThreadAttribute",
 * MS docs); every other inheritable handle of this process stays here.
 *
 * Exit. RegisterWaitForSingleObject (WT_EXECUTEONLYONCE) on the process
 * handle: a thread-pool thread reads GetExitCodeProcess and reports it to
 * the core once. Job completion-port messages are not used: "their delivery
 * ... is not guaranteed" (JOBOBJECT_ASSOCIATE_COMPLETION_PORT, MS docs); the
 * tree's end is read from the job's accounting (ActiveProcesses).
 *
 * Console events. Every child gets CREATE_NEW_PROCESS_GROUP, so that
 * CTRL_BREAK_EVENT can target its group (except with
 * TETHER_SPAWN_CONSOLE_GROUP, which keeps it in this process's group). CTRL_C_EVENT cannot be aimed
 * at a group on Windows ("GenerateConsoleCtrlEvent", MS docs); it reaches every process of a
 * console. tether sends it through a short-lived helper program of its own, tether-ctrl.exe
 * (win32/ctrl_main.c; see "The console helper" in win32/helper.c).
 *
 * This file has the child object: spawning (tether__os_spawn), the exit
 * callback, the tree's queries (alive, process ids, wait), kill, release,
 * and the events sent to the tree. The steps of spawning live beside it
 * (win32/spawn_internal.h): program resolution (resolve.c), environment
 * block (env.c), standard handles (stdio.c), process creation into a Job
 * Object (job.c); the events' delivery is in helper.c.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmdline.h"
#include "module.h"
#include "win32_seam.h"
#include "helper.h"
#include "spawn_internal.h"

/* How long tether_child_free() waits for a killed tree to be gone. */
#define TETHER__RELEASE_WAIT_MS 10000

struct tether__os_child {
  tether_child *c;
  HANDLE process;
  HANDLE job;  /* NULL for a detached child */
  HANDLE wait; /* RegisterWaitForSingleObject handle */
  DWORD pid;
  int own_console;   /* the child did not get this process's console */
  int console_group; /* TETHER_SPAWN_CONSOLE_GROUP: in this process's group */
};

/* ------------------------------------------------------------------------ */
/* Test seam (win32_seam.h)                                                 */
/* ------------------------------------------------------------------------ */

void *tether__win32_child_job(const tether_child *c) {
  return c != NULL && c->os != NULL ? (void *)c->os->job : NULL;
}

/* ------------------------------------------------------------------------ */
/* Exit notification                                                        */
/* ------------------------------------------------------------------------ */

/* Runs once on a thread-pool thread when the process handle is signalled. */
static VOID CALLBACK tether__exit_callback(PVOID arg, BOOLEAN timed_out) {
  tether__os_child *os = (tether__os_child *)arg;
  DWORD code = 0;
  (void)timed_out; /* INFINITE: never */
  if (!GetExitCodeProcess(os->process, &code))
    code = 0xFFFFFFFFu;
  tether__child_exited(os->c, (uint32_t)code);
}

/* ------------------------------------------------------------------------ */
/* Spawn                                                                    */
/* ------------------------------------------------------------------------ */

/* Does this process have a console? */
static int tether__have_console(void) {
  DWORD pid;
  return GetConsoleProcessList(&pid, 1) != 0;
}

static int tether__in_a_job(void) {
  BOOL in = FALSE;
  return IsProcessInJob(GetCurrentProcess(), NULL, &in) && in;
}

int tether__os_spawn(tether_child *c, const char *const *argv, const tether_spawn_options *opts) {
  tether__create_req req;
  tether__os_child *os = NULL;
  wchar_t *name = NULL, *app = NULL, *cmdline = NULL, *env = NULL, *cwd = NULL;
  HANDLE parent_end[3] = {NULL, NULL, NULL};
  HANDLE job = NULL;
  PROCESS_INFORMATION pi;
  int detached = (opts->flags & TETHER_SPAWN_DETACHED) != 0;
  int r, i;

  memset(&req, 0, sizeof(req));
  memset(&pi, 0, sizeof(pi));

  /* Extra descriptors: a HANDLE cannot be placed at a number (a child
   * finds inherited handles only by being told their values), so they are
   * refused, as Go's ExtraFiles is on Windows. */
  if (opts->nextra > 0)
    return TETHER_ENOTSUP;

  /* The exit callback (RegisterWaitForSingleObject) runs this module's
   * code on a thread-pool thread whenever the child ends. */
  if ((r = tether__win32_pin_module()) < 0)
    return r;

  /* Program, command line, environment, working directory. */
  /* The command line first: it checks every argument (TETHER_EINVAL,
   * TETHER_E2BIG) before anything is looked up. */
  if ((r = tether__win32_build_cmdline(argv, &cmdline)) < 0)
    goto fail;
  if ((r = tether__win32_utf8_to_wide(argv[0], &name)) < 0)
    goto fail;
  if ((r = tether__resolve(name, opts->flags, &app)) < 0)
    goto fail;
  /* Batch files are refused (cmdline.h, tether__win32_spawn_cmdline). */
  if (tether__win32_is_batch(app)) {
    r = TETHER_ENOTSUP;
    goto fail;
  }
  if ((r = tether__build_env(opts->env_set, opts->env_unset, opts->flags, &env)) < 0)
    goto fail;
  if (opts->cwd != NULL) {
    wchar_t *given = NULL;
    DWORD attr;
    if ((r = tether__win32_utf8_to_wide(opts->cwd, &given)) < 0)
      goto fail;
    r = tether__get_sized(tether__full_path_fn, given, &cwd);
    free(given);
    if (r < 0)
      goto fail;
    /* Checked here so that a missing directory is ENOENT and a file
     * ENOTDIR, as chdir() says on POSIX; CreateProcess itself reports
     * both as ERROR_DIRECTORY (ENOTDIR). */
    attr = GetFileAttributesW(cwd);
    if (attr == INVALID_FILE_ATTRIBUTES) {
      r = tether__os_err();
      goto fail;
    }
    if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
      r = tether__translate_os_error(ERROR_DIRECTORY);
      goto fail;
    }
  }

  /* Standard handles. */
  for (i = 0; i < 3; i++)
    if ((r = tether__stdio_setup(&opts->stdio[i], i, &req.std[i], &parent_end[i])) < 0)
      goto fail;

  os = (tether__os_child *)calloc(1, sizeof(*os));
  if (os == NULL) {
    r = TETHER_ENOMEM;
    goto fail;
  }
  os->c = c;

  req.app = app;
  req.cmdline = cmdline;
  req.env = env;
  req.cwd = cwd;
  /* TETHER_SPAWN_CONSOLE_GROUP (never with DETACHED, checked by the
   * core): no new process group, so the child stays in this process's
   * console process group and inherits its Ctrl+C state (ignored or not)
   * like any console child; console Ctrl+C and Ctrl+Break reach both. */
  os->console_group = (opts->flags & TETHER_SPAWN_CONSOLE_GROUP) != 0;
  req.flags = os->console_group ? 0 : CREATE_NEW_PROCESS_GROUP;
  if (detached) {
    /* No console (the counterpart of setsid()), no job. In a job that
     * allows it, leave that job too, so that it survives this process
     * whatever the job does; a job that does not allow breakaway refuses
     * with ERROR_ACCESS_DENIED, and the child then stays in it. */
    int no_job_list;
    DWORD err = ERROR_ACCESS_DENIED;
    req.flags |= DETACHED_PROCESS;
    if (tether__in_a_job()) {
      req.flags |= CREATE_BREAKAWAY_FROM_JOB;
      err = tether__create(&req, &no_job_list, &pi);
      req.flags &= ~(DWORD)CREATE_BREAKAWAY_FROM_JOB;
    }
    if (err == ERROR_ACCESS_DENIED)
      err = tether__create(&req, &no_job_list, &pi);
    if (err != 0) {
      r = tether__translate_os_error((long)err);
      goto fail;
    }
    tether__close(&pi.hThread);
    os->own_console = 1;
  } else {
    /* A process without a console (a GUI program, a service) would make
     * Windows open a console window for a console child; CREATE_NO_WINDOW
     * gives it a console without a window instead, its own. */
    if (!tether__have_console()) {
      req.flags |= CREATE_NO_WINDOW;
      os->own_console = 1;
    }
    /* TETHER_SPAWN_ALLOW_BREAKAWAY: CREATE_BREAKAWAY_FROM_JOB from inside
     * the tree starts a process outside it; without it, ERROR_ACCESS_DENIED. */
    if ((r = tether__job_new(&job, (opts->flags & TETHER_SPAWN_ALLOW_BREAKAWAY)
                                       ? JOB_OBJECT_LIMIT_BREAKAWAY_OK
                                       : 0)) < 0)
      goto fail;
    if ((r = tether__create_in_job(&req, job, &pi)) < 0)
      goto fail;
  }
  os->process = pi.hProcess;
  os->pid = pi.dwProcessId;
  os->job = job;
  pi.hProcess = NULL;
  job = NULL;

  /* The child's ends belong to the child now. */
  for (i = 0; i < 3; i++)
    tether__close(&req.std[i]);

  if (!RegisterWaitForSingleObject(&os->wait, os->process, tether__exit_callback, os, INFINITE,
                                   WT_EXECUTEONLYONCE)) {
    r = tether__os_err();
    os->wait = NULL;
    if (os->job != NULL)
      TerminateJobObject(os->job, TETHER__KILL_CODE);
    else
      TerminateProcess(os->process, TETHER__KILL_CODE);
    WaitForSingleObject(os->process, INFINITE);
    tether__close(&os->process);
    tether__close(&os->job);
    goto fail;
  }

  c->pid = (int64_t)os->pid;
  for (i = 0; i < 3; i++)
    c->stdio[i] = parent_end[i] != NULL ? (tether_os_handle)parent_end[i] : NULL;
  c->os = os;
  free(name);
  free(app);
  free(cmdline);
  free(env);
  free(cwd);
  return 0;

fail:
  for (i = 0; i < 3; i++) {
    tether__close(&req.std[i]);
    tether__close(&parent_end[i]);
  }
  tether__close(&job);
  free(os);
  free(name);
  free(app);
  free(cmdline);
  free(env);
  free(cwd);
  return r;
}

/* ------------------------------------------------------------------------ */
/* The tree                                                                 */
/* ------------------------------------------------------------------------ */

/* Number of live processes in the job. */
static int tether__job_active(HANDLE job, DWORD *n) {
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info;
  if (!QueryInformationJobObject(job, JobObjectBasicAccountingInformation, &info, sizeof(info),
                                 NULL))
    return tether__os_err();
  *n = info.ActiveProcesses;
  return 0;
}

/* 1 while some process of the tree lives (a detached child: the child
 * itself), 0 when none does, < 0 on error. */
static int tether__tree_alive(const tether__os_child *os) {
  DWORD n = 0;
  int r;
  if (os->job == NULL)
    return WaitForSingleObject(os->process, 0) == WAIT_TIMEOUT;
  if ((r = tether__job_active(os->job, &n)) < 0)
    return r;
  return n > 0;
}

/* The ids of the tree's processes (a detached child: only its own), in a
 * malloc'ed array. */
static int tether__tree_pids(const tether__os_child *os, DWORD **out, size_t *count) {
  JOBOBJECT_BASIC_PROCESS_ID_LIST *list = NULL;
  DWORD cap = 64, i;
  int attempt;
  DWORD *pids;
  *out = NULL;
  *count = 0;
  if (os->job == NULL) {
    pids = (DWORD *)malloc(sizeof(DWORD));
    if (pids == NULL)
      return TETHER_ENOMEM;
    pids[0] = os->pid;
    *out = pids;
    *count = 1;
    return 0;
  }
  for (attempt = 0;; attempt++) {
    size_t size = sizeof(*list) + (size_t)cap * sizeof(ULONG_PTR);
    JOBOBJECT_BASIC_PROCESS_ID_LIST *p = (JOBOBJECT_BASIC_PROCESS_ID_LIST *)realloc(list, size);
    BOOL ok;
    if (p == NULL) {
      free(list);
      return TETHER_ENOMEM;
    }
    list = p;
    memset(list, 0, size);
    ok = QueryInformationJobObject(os->job, JobObjectBasicProcessIdList, list, (DWORD)size, NULL);
    if (!ok && GetLastError() != ERROR_MORE_DATA) {
      int r = tether__os_err();
      free(list);
      return r;
    }
    /* Too small: ERROR_MORE_DATA, and NumberOfAssignedProcesses says how
     * many there are. The tree may grow meanwhile, so a few attempts. */
    if ((ok && list->NumberOfProcessIdsInList >= list->NumberOfAssignedProcesses) || attempt == 8)
      break;
    cap = list->NumberOfAssignedProcesses + 16 > cap * 2 ? list->NumberOfAssignedProcesses + 16
                                                         : cap * 2;
  }
  pids = (DWORD *)malloc((list->NumberOfProcessIdsInList + 1) * sizeof(DWORD));
  if (pids == NULL) {
    free(list);
    return TETHER_ENOMEM;
  }
  for (i = 0; i < list->NumberOfProcessIdsInList; i++)
    pids[i] = (DWORD)list->ProcessIdList[i];
  *count = list->NumberOfProcessIdsInList;
  *out = pids;
  free(list);
  return 0;
}

int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  tether__os_child *os = c->os;
  uint64_t deadline = 0;
  DWORD step = 1;
  if (timeout_ms > 0)
    deadline = tether__now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    DWORD n = 0, remaining = INFINITE;
    int r = tether__job_active(os->job, &n);
    if (r < 0)
      return r;
    if (n == 0)
      return 1;
    if (timeout_ms == 0)
      return 0;
    if (timeout_ms > 0) {
      uint64_t now = tether__now_ns();
      if (now >= deadline)
        return 0;
      remaining = (DWORD)((deadline - now + 999999u) / 1000000u);
    }
    if (WaitForSingleObject(os->process, 0) == WAIT_TIMEOUT) {
      /* The child is a member of its job and cannot leave it: the tree
       * cannot be empty before the child's handle is signalled. */
      WaitForSingleObject(os->process, remaining);
      continue;
    }
    /* Only descendants are left; nothing signals their end reliably (job
     * messages are hints), so poll the count: 1, 2, 4 ... 16 ms. */
    Sleep(step < remaining ? step : remaining);
    if (step < 16)
      step *= 2;
  }
}

/* A Windows process cannot be stopped by job control the way a POSIX one
 * is: nothing to resume, and a graceful step needs no help to arrive. */
int tether__os_child_continue(tether_child *c) {
  (void)c;
  return 0;
}

int tether__os_child_kill(tether_child *c) {
  tether__os_child *os = c->os;
  int r = tether__tree_alive(os);
  if (r < 0)
    return r;
  if (r == 0)
    return TETHER_ESRCH;
  if (os->job != NULL) {
    if (!TerminateJobObject(os->job, TETHER__KILL_CODE))
      return tether__os_err();
    return 0;
  }
  /* Detached: no job, only the child itself can be reached. */
  if (!TerminateProcess(os->process, TETHER__KILL_CODE)) {
    DWORD err = GetLastError();
    if (WaitForSingleObject(os->process, 0) == WAIT_OBJECT_0)
      return TETHER_ESRCH;
    return tether__translate_os_error((long)err);
  }
  return 0;
}

void tether__os_close_handle(tether_os_handle h) {
  if (h != NULL && h != INVALID_HANDLE_VALUE)
    CloseHandle((HANDLE)h);
}

/* Only a fork()ed child inherits children, and Windows has no fork(): the
 * core never calls this here. Should it ever, releasing is the safe answer
 * (the handles are this process's own). */
void tether__os_child_forget(tether_child *c) { tether__os_child_release(c); }

void tether__os_child_release(tether_child *c) {
  tether__os_child *os = c->os;
  if (os == NULL)
    return;
  if (os->job != NULL) {
    DWORD n = 1;
    uint64_t deadline = tether__now_ns() + (uint64_t)TETHER__RELEASE_WAIT_MS * 1000000u;
    TerminateJobObject(os->job, TETHER__KILL_CODE);
    /* TerminateJobObject only starts the termination: wait until the tree
     * is gone (bounded: a process stuck in a driver can take longer). */
    while (tether__job_active(os->job, &n) == 0 && n > 0 && tether__now_ns() < deadline)
      Sleep(1);
  }
  /* INVALID_HANDLE_VALUE: wait until a callback that already started has
   * returned, so none runs after this ("UnregisterWaitEx", MS docs). */
  if (os->wait != NULL)
    UnregisterWaitEx(os->wait, INVALID_HANDLE_VALUE);
  /* Closing the last job handle would kill the tree anyway
   * (KILL_ON_JOB_CLOSE). */
  tether__close(&os->job);
  tether__close(&os->process);
  free(os);
  c->os = NULL;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/* WM_CLOSE to the windows of every process of the tree. */
static int tether__post_close(const tether__os_child *os) {
  DWORD *pids = NULL;
  size_t n = 0;
  int r;
  if ((r = tether__tree_pids(os, &pids, &n)) < 0)
    return r;
  if (n == 0) {
    free(pids);
    return TETHER_ESRCH;
  }
  r = tether__win32_post_close(pids, n);
  free(pids);
  return r;
}

/* Run the helper for mode 'C' or 'B' against the tree of os. */
static int tether__run_helper(const tether__os_child *os, char mode) {
  DWORD *pids = NULL;
  size_t npids = 0;
  int r, no_console = 0;
  if ((r = tether__tree_pids(os, &pids, &npids)) < 0)
    return r;
  r = tether__win32_run_helper(mode, os->pid, pids, npids, &no_console);
  free(pids);
  if (no_console && tether__tree_alive(os) == 0)
    r = TETHER_ESRCH;
  return r;
}

/* CTRL_BREAK_EVENT to the child's process group. */
static int tether__send_break(const tether__os_child *os) {
  int r;
  if (os->own_console)
    return tether__run_helper(os, 'B');
  if (GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, os->pid))
    return 0;
  /* The arguments are right, so a refusal means the event cannot be
   * delivered here (no console; not implemented by Wine 8). */
  r = tether__os_err();
  return r == TETHER_EINVAL ? TETHER_ENOTSUP : r;
}

int tether__os_child_signal_native(tether_child *c, int signo) {
  (void)c;
  (void)signo;
  return TETHER_ENOTSUP; /* Windows has no signals to send */
}

int tether__os_child_signal(tether_child *c, int kind) {
  tether__os_child *os = c->os;
  int r;
  if (kind == TETHER_EVENT_USER1 || kind == TETHER_EVENT_USER2 || kind == TETHER_EVENT_RESIZE)
    return TETHER_ENOTSUP;
  r = tether__tree_alive(os);
  if (r < 0)
    return r;
  if (r == 0)
    return TETHER_ESRCH;
  /* A child in this process's console group: CTRL_C and CTRL_BREAK would
   * reach this process (and everything else in the group) too. */
  if (os->console_group && (kind == TETHER_EVENT_INTERRUPT || kind == TETHER_EVENT_QUIT))
    return TETHER_ENOTSUP;
  switch (kind) {
  case TETHER_EVENT_INTERRUPT:
    /* A child on this process's console cannot get CTRL_C_EVENT alone:
     * this process and every other process on the console would get it
     * too. A detached child has no console. */
    if (!os->own_console || (c->flags & TETHER_SPAWN_DETACHED))
      return TETHER_ENOTSUP;
    /* CREATE_NEW_PROCESS_GROUP started the child with Ctrl+C ignored: unless
     * it turned it back on (SetConsoleCtrlHandler(NULL, FALSE), or tether's
     * TETHER_WATCH_IGNORED), CTRL_C_EVENT would be generated "successfully"
     * and do nothing, and a stop sequence would wait its whole step for
     * nothing. Read from the child's process parameters (win32/source.c);
     * unreadable (a 64-bit child of a 32-bit process, a child that already
     * exited) counts as ignored, the state it was created with. */
    if (tether__win32_ctrl_c_ignored(os->process) != 0)
      return TETHER_ENOTSUP;
    return tether__run_helper(os, 'C');
  case TETHER_EVENT_QUIT:
    if (c->flags & TETHER_SPAWN_DETACHED)
      return TETHER_ENOTSUP;
    return tether__send_break(os);
  default: /* TERMINATE, HANGUP */
    return tether__post_close(os);
  }
}
