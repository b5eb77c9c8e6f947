/* SPDX-License-Identifier: MIT */
/*
 * Torture (Windows): a parent killed with TerminateProcess at a random
 * moment -- before its first tether_spawn() completed, inside or between
 * spawns, or after -- leaves no survivor: no tethered child, no grandchild
 * (each child's KILL_ON_JOB_CLOSE Job Object). Every tree process holds a
 * named mutex, so "OpenMutexW fails with ERROR_FILE_NOT_FOUND" means every
 * one of them that ran is dead; a tree that never ran (created suspended and
 * orphaned before it entered its job) is found as a process of this
 * executable still running after the clean-up. The test never keeps a handle to the mutex.
 *
 * Under Wine, tests/torture/wine_torture.sh runs this test and then looks
 * for survivors from the Linux side too (/proc/PID/cmdline holds the
 * per-run marker TETHER_TORTURE_TAG, part of every NAME): Wine can leave
 * Unix processes behind that Windows itself reports dead.
 *
 *   torture_spawn_win32                     TETHER_TORTURE_ITERATIONS (100)
 *   torture_spawn_win32 --child middle NAME spawn 4 trees, one byte each, then sleep
 *   torture_spawn_win32 --child tree NAME   start a grandchild, hold the mutex
 *   torture_spawn_win32 --child grand NAME  hold the mutex
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <tlhelp32.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "support.h"
#include "support_win32.h"

#define TREES 4
#define NAME_MAX_LEN 64

static void mutex_name(wchar_t *buf, size_t cap, const char *name) {
  _snwprintf(buf, cap, L"Local\\tether-torture-%hs", name);
  buf[cap - 1] = L'\0';
}

/* Start `<self> --child SCENARIO NAME` with plain CreateProcessW (retried
 * on Wine's ERROR_INTERNAL_ERROR, see tt_win32_create); with out, its
 * stdout on a new pipe whose read end is returned in *out (the only
 * inherited handle then, with this process's stderr). */
static int start_self(const char *scenario, const char *name, PROCESS_INFORMATION *pi,
                      HANDLE *out) {
  char args[NAME_MAX_LEN + 32];
  snprintf(args, sizeof(args), "%s %s", scenario, name);
  return tt_win32_start_self(args, 0, TT_WIN32_ERR_OWN, 4, pi, out);
}

/* Hold the mutex (never released) and sleep forever. */
static int hold_forever(const char *name) {
  wchar_t w[NAME_MAX_LEN + 32];
  HANDLE m;
  mutex_name(w, sizeof(w) / sizeof(w[0]), name);
  m = CreateMutexW(NULL, FALSE, w);
  if (m == NULL)
    return 2;
  for (;;)
    Sleep(INFINITE);
  return 0;
}

/* argv: NAME */
static int child_grand(int argc, char **argv) {
  if (argc < 1)
    return 2;
  return hold_forever(argv[0]);
}

/* argv: NAME: a grandchild with plain CreateProcess (it joins our job). */
static int child_tree(int argc, char **argv) {
  PROCESS_INFORMATION pi;
  if (argc < 1)
    return 2;
  if (!start_self("grand", argv[0], &pi, NULL))
    return 3;
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return hold_forever(argv[0]);
}

/* argv: NAME: tether_spawn TREES trees as fast as possible, one byte on
 * stdout after each (progress, for the statistics), then wait to be killed. */
static int child_middle(int argc, char **argv) {
  const char *v[5];
  tether_spawn_options o;
  tether_child *c[TREES];
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
  int i;
  if (argc < 1)
    return 2;
  v[0] = tt_self();
  v[1] = "--child";
  v[2] = "tree";
  v[3] = argv[0];
  v[4] = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  for (i = 0; i < 3; i++) /* the trees must not hold our progress pipe */
    o.stdio[i].mode = TETHER_STDIO_NULL;
  for (i = 0; i < TREES; i++) {
    DWORD put = 0;
    if (tether_spawn(&c[i], v, &o) != 0)
      return 3;
    if (!WriteFile(out, "s", 1, &put, NULL) || put != 1)
      return 4;
  }
  for (;;)
    Sleep(INFINITE);
  return 0;
}

/* 1: some process still holds the mutex (the handle we opened is closed
 * at once); 0: ERROR_FILE_NOT_FOUND, every holder is dead; -1: other error. */
static int mutex_alive(const char *name) {
  wchar_t w[NAME_MAX_LEN + 32];
  HANDLE m;
  mutex_name(w, sizeof(w) / sizeof(w[0]), name);
  m = OpenMutexW(SYNCHRONIZE, FALSE, w);
  if (m != NULL) {
    CloseHandle(m);
    return 1;
  }
  return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
}

/* Processes of this executable other than the test itself (iterations run
 * one after another, so after the clean-up there must be none): up to cap
 * ids in ids[], the count returned. This also finds a tree or grandchild
 * that never ran (so never created the mutex). */
static int find_descendants(DWORD middle, DWORD *ids, int cap) {
  int n = 0;
  wchar_t self[MAX_PATH * 2];
  const wchar_t *base;
  HANDLE snap;
  PROCESSENTRY32W pe;
  (void)middle;
  if (GetModuleFileNameW(NULL, self, MAX_PATH * 2) == 0)
    return 0;
  base = wcsrchr(self, L'\\');
  base = base != NULL ? base + 1 : self;
  snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return 0;
  pe.dwSize = sizeof(pe);
  if (Process32FirstW(snap, &pe)) {
    do {
      if (n < cap && _wcsicmp(pe.szExeFile, base) == 0 && pe.th32ProcessID != GetCurrentProcessId())
        ids[n++] = pe.th32ProcessID;
    } while (Process32NextW(snap, &pe));
  }
  CloseHandle(snap);
  return n;
}

/* Kill what we can of a surviving tree. */
static int kill_descendants(DWORD middle) {
  DWORD ids[64];
  int n = find_descendants(middle, ids, 64), killed = 0, k;
  for (k = 0; k < n; k++) {
    HANDLE h = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, ids[k]);
    if (h != NULL) {
      if (TerminateProcess(h, 99)) {
        WaitForSingleObject(h, 2000);
        killed++;
      }
      CloseHandle(h);
    }
  }
  return killed;
}

static unsigned long long rng_state = 88172645463325252ull;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

/* A precise delay (Sleep() is 15.6 ms coarse on Windows by default). */
static void delay_us(unsigned us) {
  uint64_t end = tether_now_ns() + (uint64_t)us * 1000u;
  while (tether_now_ns() < end)
    SwitchToThread();
}

static void test_parent_killed_at_random(void **state) {
  const char *env = getenv("TETHER_TORTURE_ITERATIONS");
  const char *tag_env = getenv("TETHER_TORTURE_TAG");
  int iterations = env != NULL && atoi(env) > 0 ? atoi(env) : 100;
  char tag[32];
  int it, survivors = 0, late = 0, before_first = 0, between = 0, after = 0;
  uint64_t worst_ns = 0, t0 = tether_now_ns();
  (void)state;
  rng_state ^= (unsigned long long)tether_now_ns();
  /* The marker of this run: from the Linux-side wrapper, else unique enough
   * (a fresh Wine prefix gives every first process the same pid). */
  if (tag_env != NULL && *tag_env != '\0' && strlen(tag_env) < sizeof(tag))
    snprintf(tag, sizeof(tag), "%s", tag_env);
  else
    snprintf(tag, sizeof(tag), "tt%lux%llx", (unsigned long)GetCurrentProcessId(),
             (unsigned long long)(tether_now_ns() & 0xffffffffffull));
  print_message("torture: %d iterations, seed %llu, marker %s\n", iterations, rng_state, tag);
  for (it = 0; it < iterations; it++) {
    char name[NAME_MAX_LEN];
    /* 0..100 ms: before the first spawn completed, between spawns, after */
    unsigned d = rnd(100000);
    PROCESS_INFORMATION pi;
    HANDLE rd = NULL;
    DWORD avail = 0;
    uint64_t start;
    int alive, procs = 0;
    snprintf(name, sizeof(name), "%s-%d", tag, it);
    assert_true(start_self("middle", name, &pi, &rd));
    CloseHandle(pi.hThread);
    delay_us(d);
    assert_true(TerminateProcess(pi.hProcess, 1));
    assert_int_equal(WaitForSingleObject(pi.hProcess, 10000), WAIT_OBJECT_0);
    /* Spawns completed before the kill (the write end is closed everywhere:
     * the trees have NUL stdio). */
    if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL))
      avail = 0;
    CloseHandle(rd);
    if (avail == 0)
      before_first++;
    else if (avail < TREES)
      between++;
    else
      after++;
    /* Every holder must be gone soon; allow 5 s before calling it survivors. */
    /* Also no other process of this executable (one that never ran holds
     * no mutex). */
    start = tether_now_ns();
    for (;;) {
      DWORD ids[8];
      alive = mutex_alive(name);
      procs = alive == 0 ? find_descendants(pi.dwProcessId, ids, 8) : 0;
      if ((alive == 0 && procs == 0) || tether_now_ns() - start >= 5000000000ull)
        break;
      Sleep(1);
    }
    if (tether_now_ns() - start > worst_ns)
      worst_ns = tether_now_ns() - start;
    if (alive != 0 || procs != 0) {
      int killed = kill_descendants(pi.dwProcessId);
      print_error("iteration %d (delay %u us, %lu spawns done): survivors "
                  "(mutex %s, %d processes of this executable); killed %d\n",
                  it, d, (unsigned long)avail,
                  alive > 0    ? "held"
                  : alive == 0 ? "gone"
                               : "unknown",
                  procs, killed);
      survivors++;
    }
    CloseHandle(pi.hProcess);
  }
  /* A tree that had not yet created its mutex when we looked and lived on
   * would have created it by now. */
  for (it = 0; it < iterations; it++) {
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof(name), "%s-%d", tag, it);
    if (mutex_alive(name) != 0) {
      print_error("iteration %d: mutex held again after the final sweep\n", it);
      late++;
    }
  }
  print_message("torture: %d iterations in %.1f s: parent killed before its "
                "first spawn completed %d, between/inside spawns %d, after all "
                "%d %d; %d survivors (+%d late); slowest clean-up %.1f ms\n",
                iterations, (double)(tether_now_ns() - t0) / 1e9, before_first, between, TREES,
                after, survivors, late, (double)worst_ns / 1e6);
  assert_int_equal(survivors + late, 0);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"middle", child_middle}, {"tree", child_tree}, {"grand", child_grand}, {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parent_killed_at_random),
  };
  return tt_main(argc, argv, scenarios, "torture-spawn-win32", tests, TT_COUNT(tests));
}
