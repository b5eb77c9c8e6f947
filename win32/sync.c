/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: mutexes, condition variables, the global lock, threads
 * and the monotonic clock.
 *
 * Slim reader/writer locks and condition variables need no destruction and
 * SRWLOCK_INIT makes a static one ready without a call ("Slim Reader/Writer
 * (SRW) Locks", "Condition Variables", MS docs; Windows Vista and later).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <process.h>
#include <stdlib.h>

#include "backend.h"
#include "module.h"

struct tether__mutex {
  SRWLOCK lock;
};

struct tether__cond {
  CONDITION_VARIABLE cv;
};

struct tether__thread {
  HANDLE handle;
  unsigned id;
};

/* What the new thread runs; owned and freed by the new thread, so that
 * tether__thread_detach() can free the tether__thread at any time. */
typedef struct tether__thread_start_block {
  void (*fn)(void *);
  void *arg;
} tether__thread_start_block;

/* ---- mutex ---- */

int tether__mutex_new(tether__mutex **out) {
  tether__mutex *m = (tether__mutex *)malloc(sizeof(*m));
  if (m == NULL)
    return TETHER_ENOMEM;
  InitializeSRWLock(&m->lock);
  *out = m;
  return 0;
}

void tether__mutex_free(tether__mutex *m) { free(m); }

void tether__mutex_lock(tether__mutex *m) { AcquireSRWLockExclusive(&m->lock); }

void tether__mutex_unlock(tether__mutex *m) { ReleaseSRWLockExclusive(&m->lock); }

/* ---- condition variable ---- */

int tether__cond_new(tether__cond **out) {
  tether__cond *c = (tether__cond *)malloc(sizeof(*c));
  if (c == NULL)
    return TETHER_ENOMEM;
  InitializeConditionVariable(&c->cv);
  *out = c;
  return 0;
}

void tether__cond_free(tether__cond *c) { free(c); }

/* SleepConditionVariableSRW returns FALSE with ERROR_TIMEOUT when the time
 * ran out ("SleepConditionVariableSRW", MS docs). Any other failure is
 * reported as a (spurious) wake-up: callers re-check their predicate. */
int tether__cond_wait(tether__cond *c, tether__mutex *m, int timeout_ms) {
  DWORD ms = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  if (SleepConditionVariableSRW(&c->cv, &m->lock, ms, 0))
    return 1;
  return GetLastError() == ERROR_TIMEOUT ? 0 : 1;
}

void tether__cond_broadcast(tether__cond *c) { WakeAllConditionVariable(&c->cv); }

/* ---- global lock ---- */

static SRWLOCK tether__global = SRWLOCK_INIT;

void tether__global_lock(void) { AcquireSRWLockExclusive(&tether__global); }

void tether__global_unlock(void) { ReleaseSRWLockExclusive(&tether__global); }

/* ---- the module's pin ---- */

/*
 * A host that loaded tether's DLL with LoadLibrary may FreeLibrary it while
 * tether still has code registered with Windows: the console control
 * handler (SetConsoleCtrlHandler keeps only a function pointer), the hidden
 * window's procedure and its message loop, channel and token threads, a
 * child's thread-pool exit callback. Any of them would then run unmapped
 * code and crash the host. None of them can be withdrawn safely from
 * inside the DLL (a handler may be running on another thread while it is
 * removed; a thread that unloads its own code needs
 * FreeLibraryAndExitThread), so the first of them pins the module for the
 * life of the process: FreeLibrary then only drops the host's reference.
 * Go's c-shared DLLs cannot be unloaded either.
 */
static LONG tether__pinned;
static const char tether__pin_anchor = 0; /* an address in this module */

int tether__win32_pin_module(void) {
  HMODULE mod = NULL;
  if (InterlockedCompareExchange(&tether__pinned, 0, 0) != 0)
    return 0;
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                          (LPCWSTR)(const void *)&tether__pin_anchor, &mod))
    return tether__translate_os_error((long)GetLastError());
  InterlockedExchange(&tether__pinned, 1);
  return 0;
}

/* ---- threads ---- */

/* _beginthreadex rather than CreateThread: the thread runs user callbacks
 * that may use the C runtime ("_beginthread, _beginthreadex", MS docs). */
static unsigned __stdcall tether__thread_main(void *p) {
  tether__thread_start_block b = *(tether__thread_start_block *)p;
  free(p);
  b.fn(b.arg);
  return 0;
}

/* The thread is created suspended and resumed only after *out is stored, so
 * that it can already recognise itself with tether__thread_is_self(). */
int tether__thread_start(tether__thread **out, void (*fn)(void *), void *arg) {
  tether__thread *t;
  tether__thread_start_block *b;
  uintptr_t h;
  unsigned id = 0;
  int r;
  /* The thread runs this module's code until it returns. */
  if ((r = tether__win32_pin_module()) < 0)
    return r;
  t = (tether__thread *)malloc(sizeof(*t));
  b = (tether__thread_start_block *)malloc(sizeof(*b));
  if (t == NULL || b == NULL) {
    free(t);
    free(b);
    return TETHER_ENOMEM;
  }
  b->fn = fn;
  b->arg = arg;
  SetLastError(0);
  h = _beginthreadex(NULL, 0, tether__thread_main, b, CREATE_SUSPENDED, &id);
  if (h == 0) {
    DWORD err = GetLastError();
    free(t);
    free(b);
    /* _beginthreadex may fail in the CRT without a Win32 error. */
    if (err == 0) {
      tether__set_last_os_error(0);
      return TETHER_EAGAIN;
    }
    return tether__translate_os_error((long)err);
  }
  t->handle = (HANDLE)h;
  t->id = id;
  *out = t;
  ResumeThread(t->handle);
  return 0;
}

void tether__thread_join(tether__thread *t) {
  WaitForSingleObject(t->handle, INFINITE);
  CloseHandle(t->handle);
  free(t);
}

/* Closing the handle does not end the thread; its kernel object goes away
 * when the thread ends ("CloseHandle", MS docs). */
void tether__thread_detach(tether__thread *t) {
  CloseHandle(t->handle);
  free(t);
}

int tether__thread_is_self(const tether__thread *t) { return GetCurrentThreadId() == (DWORD)t->id; }

/* Only meaningful after fork(), which Windows does not have. */
void tether__thread_forget(tether__thread *t) { free(t); }

/* SwitchToThread returns zero when no other thread was ready to run on this
 * processor; Sleep(0) then offers the rest of the time slice to threads of
 * equal priority on any processor ("SwitchToThread", "Sleep", MS docs). */
void tether__yield(void) {
  if (!SwitchToThread())
    Sleep(0);
}

/* ---- clock ---- */

/* QueryPerformanceCounter is monotonic and its frequency is fixed at boot
 * ("Acquiring high resolution time stamps", MS docs). ticks * 1e9 would
 * overflow after a few weeks at 10 MHz, so whole seconds and the remainder
 * are converted separately; rem * 1e9 fits in 64 bits for any frequency
 * below 18.4 GHz, and a double covers the (unseen) rest. */
uint64_t tether__now_ns(void) {
  LARGE_INTEGER counter, frequency;
  uint64_t ticks, freq, rem;
  QueryPerformanceCounter(&counter);
  QueryPerformanceFrequency(&frequency);
  ticks = (uint64_t)counter.QuadPart;
  freq = (uint64_t)frequency.QuadPart;
  if (freq == 0)
    return 0;
  rem = ticks % freq;
  if (freq <= UINT64_MAX / 1000000000u)
    rem = rem * 1000000000u / freq;
  else
    rem = (uint64_t)((double)rem * 1e9 / (double)freq);
  return (ticks / freq) * 1000000000u + rem;
}
