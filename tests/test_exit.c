/* SPDX-License-Identifier: MIT */
/*
 * tether_status_decode() on real exit statuses of real child processes, on
 * every lane (POSIX: fork + waitpid; Windows: CreateProcess +
 * GetExitCodeProcess, under Wine on the MinGW lane).
 */
/* No feature-test macro: WCOREDUMP is an XSI/BSD extension. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

static void test_bad_input(void **state) {
  (void)state;
  assert_tether_err(tether_status_decode(0, NULL), TETHER_EINVAL);
}

#ifndef _WIN32

/* Run fn in a child and return its raw wait status. */
static uint32_t status_of(void (*fn)(int), int arg) {
  int st = 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fn(arg);
    _exit(99);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return (uint32_t)st;
}

static void do_exit(int code) { _exit(code); }

static void do_signal(int signo) {
  struct sigaction dfl;
  sigset_t none;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  (void)sigaction(signo, &dfl, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  (void)kill(getpid(), signo);
  pause();
}

static void test_exit_codes(void **state) {
  static const int codes[] = {0, 1, 2, 42, 125, 126, 127, 255};
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(codes); i++) {
    tether_status e;
    uint32_t raw = status_of(do_exit, codes[i]);
    assert_tether_ok(tether_status_decode(raw, &e));
    assert_int_equal(e.kind, TETHER_STATUS_CODE);
    assert_int_equal(e.code, codes[i]);
    assert_int_equal(e.shell_code, codes[i]);
    assert_int_equal(e.signo, 0);
    assert_int_equal(e.core_dumped, 0);
    assert_int_equal(e.raw, raw);
  }
}

static void test_signals(void **state) {
  static const int sigs[] = {SIGTERM, SIGINT, SIGKILL, SIGHUP, SIGUSR1, SIGPIPE};
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(sigs); i++) {
    tether_status e;
    uint32_t raw = status_of(do_signal, sigs[i]);
    assert_tether_ok(tether_status_decode(raw, &e));
    assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
    assert_int_equal(e.signo, sigs[i]);
    assert_int_equal(e.shell_code, 128 + sigs[i]);
    assert_int_equal(e.core_dumped, 0); /* these signals never dump */
    assert_int_equal(e.code, 0);
  }
}

static char core_dir[64];

static void do_abort_with_core(int unused) {
  struct rlimit rl;
  (void)unused;
  /* Dump into a scratch directory if the system writes core files. */
  rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
  if (setrlimit(RLIMIT_CORE, &rl) != 0) {
    (void)getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_CORE, &rl);
  }
  if (chdir(core_dir) != 0)
    _exit(98);
  do_signal(SIGABRT);
}

static void do_abort_without_core(int unused) {
  struct rlimit rl;
  (void)unused;
  rl.rlim_cur = 0;
  (void)getrlimit(RLIMIT_CORE, &rl);
  rl.rlim_cur = 0;
  (void)setrlimit(RLIMIT_CORE, &rl);
  do_signal(SIGABRT);
}

static void test_abort_and_core_flag(void **state) {
  tether_status e;
  uint32_t raw;
  (void)state;
  raw = status_of(do_abort_without_core, 0);
  assert_tether_ok(tether_status_decode(raw, &e));
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGABRT);
  assert_int_equal(e.shell_code, 128 + SIGABRT);
  assert_int_equal(e.core_dumped, 0);

  strcpy(core_dir, "/tmp/tether-core-XXXXXX");
  assert_non_null(mkdtemp(core_dir));
  raw = status_of(do_abort_with_core, 0);
  assert_tether_ok(tether_status_decode(raw, &e));
  assert_int_equal(e.kind, TETHER_STATUS_SIGNAL);
  assert_int_equal(e.signo, SIGABRT);
  /* Whether a core is written depends on the system (core_pattern,
   * container limits): the flag must match what the kernel reported. */
  {
    int st = (int)raw; /* macOS: WCOREDUMP takes its argument's address */
    assert_int_equal(e.core_dumped, WCOREDUMP(st) ? 1 : 0);
  }
  print_message("abort with RLIMIT_CORE raised: core dumped = %d\n", e.core_dumped);
  {
    /* Remove whatever core file the system's pattern wrote there. */
    DIR *d = opendir(core_dir);
    struct dirent *de;
    char path[512];
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof(path), "%s/%s", core_dir, de->d_name);
      (void)unlink(path);
    }
    closedir(d);
    assert_int_equal(rmdir(core_dir), 0);
  }
}

static void test_stop_status_is_not_an_exit(void **state) {
  tether_status e;
  int st = 0;
  pid_t pid;
  (void)state;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    (void)raise(SIGSTOP);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
  assert_true(WIFSTOPPED(st));
  assert_tether_err(tether_status_decode((uint32_t)st, &e), TETHER_EINVAL);
  assert_int_equal(e.kind, TETHER_STATUS_NONE);
  assert_int_equal(kill(pid, SIGKILL), 0);
  assert_int_equal(waitpid(pid, &st, 0), pid);
}

#else /* _WIN32 */

static int child_exit(int argc, char **argv) {
  if (argc < 1)
    return 97;
  ExitProcess((UINT)strtoul(argv[0], NULL, 0));
  return 96;
}

/* Start `self --child exit <code>` (or a sleeper when code is NULL). */
static HANDLE start_self(const char *code) {
  char cmd[MAX_PATH * 2 + 64];
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (code != NULL)
    snprintf(cmd, sizeof(cmd), "\"%s\" --child exit %s", tt_self(), code);
  else
    snprintf(cmd, sizeof(cmd), "\"%s\" --child sleep", tt_self());
  assert_true(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

static uint32_t exit_code_of(HANDLE h) {
  DWORD code = 0;
  assert_int_equal(WaitForSingleObject(h, 30000), WAIT_OBJECT_0);
  assert_true(GetExitCodeProcess(h, &code));
  CloseHandle(h);
  return (uint32_t)code;
}

static void check(const char *code, int kind, uint32_t raw_expected) {
  tether_status e;
  uint32_t raw = exit_code_of(start_self(code));
  assert_int_equal(raw, raw_expected);
  assert_tether_ok(tether_status_decode(raw, &e));
  assert_int_equal(e.kind, kind);
  assert_int_equal(e.code, (int)raw_expected);
  assert_int_equal(e.shell_code, (int)raw_expected);
  assert_int_equal(e.signo, 0);
  assert_int_equal(e.raw, raw_expected);
}

static void test_exit_codes(void **state) {
  (void)state;
  check("0", TETHER_STATUS_CODE, 0);
  check("1", TETHER_STATUS_CODE, 1);
  check("42", TETHER_STATUS_CODE, 42);
  check("259", TETHER_STATUS_CODE, 259);
  check("0x80000003", TETHER_STATUS_CODE, 0x80000003u); /* warning severity */
}

static void test_ntstatus(void **state) {
  (void)state;
  check("0xC000013A", TETHER_STATUS_INTERRUPTED, 0xC000013Au);
  check("0xC0000005", TETHER_STATUS_CRASHED, 0xC0000005u);
  check("0xC00000FD", TETHER_STATUS_CRASHED, 0xC00000FDu);
  check("0xC0000409", TETHER_STATUS_CRASHED, 0xC0000409u);
}

static void test_terminate_process(void **state) {
  tether_status e;
  HANDLE h = start_self(NULL);
  (void)state;
  assert_true(TerminateProcess(h, 0xC000013Au));
  assert_tether_ok(tether_status_decode(exit_code_of(h), &e));
  assert_int_equal(e.kind, TETHER_STATUS_INTERRUPTED);
  assert_int_equal(e.code, (int)0xC000013Au);
}

#endif

int main(int argc, char **argv) {
#ifdef _WIN32
  static const tt_scenario scenarios[] = {
      {"exit", child_exit}, {"sleep", tt_child_sleep}, {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_ntstatus),
      cmocka_unit_test(test_terminate_process),
  };
#else
  static const tt_scenario *scenarios = NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_signals),
      cmocka_unit_test(test_abort_and_core_flag),
      cmocka_unit_test(test_stop_status_is_not_an_exit),
  };
#endif
  return tt_main(argc, argv, scenarios, "exit", tests, TT_COUNT(tests));
}
