/* SPDX-License-Identifier: MIT */
/*
 * Windows: TETHER_SPAWN_CONSOLE_GROUP and tether_send() (win32/send.c and
 * the console helper in win32/spawn.c).
 *
 * GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0) reaches every process on the
 * caller's console (on Windows that includes ctest and the shell), so this
 * process never generates or sends Ctrl+C to its own console: scenarios
 * that need one run on a console of their own (CREATE_NEW_CONSOLE; under
 * Wine a headless one).
 *
 * Child scenarios re-run this executable: `test_send_win32 --child NAME`.
 * Runs under Wine 8 (ci/lane.sh mingw); what Wine cannot do is skipped,
 * with the reason.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <sddl.h>

#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "support_win32.h"

/* ---------------------------------------------------------------------- */
/* Small helpers (both sides; the rest is in support_win32.h)               */
/* ---------------------------------------------------------------------- */

/* Without a console: say "noconsole" (the parent then skips) and 1. */
static int say_if_no_console(void) {
  if (tt_win32_have_console())
    return 0;
  tt_win32_say("noconsole");
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Child scenarios                                                          */
/* ---------------------------------------------------------------------- */

static int child_watch_interrupt(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tt_win32_watch_and_report(TETHER_EVENT_INTERRUPT, 20000);
}

/* CREATE_NEW_PROCESS_GROUP left Ctrl+C ignored: watching INTERRUPT says
 * so (TETHER_EIGNORED); then "ready" and wait (nothing can arrive). */
static int child_ignores_interrupt(int argc, char **argv) {
  tether_channel *ch = NULL;
  (void)argc;
  (void)argv;
  if (tether_channel_new(&ch, NULL) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, 0) != TETHER_EIGNORED)
    return 3;
  tt_win32_say("ready");
  Sleep(30000);
  tether_channel_free(ch);
  return 5;
}

/* Re-enable Ctrl+C (CREATE_NEW_PROCESS_GROUP disabled it), watch
 * INTERRUPT; "noconsole" and exit 0 without a console. */
static int child_interrupt_target(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (say_if_no_console())
    return 0;
  SetConsoleCtrlHandler(NULL, FALSE);
  return tt_win32_watch_and_report(TETHER_EVENT_INTERRUPT, 20000);
}

static int child_quit_target(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (say_if_no_console())
    return 0;
  return tt_win32_watch_and_report(TETHER_EVENT_QUIT, 20000);
}

/* Watches TERMINATE: tether's hidden window receives WM_CLOSE. */
static int child_terminate_target(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tt_win32_watch_and_report(TETHER_EVENT_TERMINATE, 20000);
}

static int child_sleep(int argc, char **argv) {
  (void)argc;
  (void)argv;
  tt_win32_say("ready");
  Sleep(30000);
  return 5;
}

/* Read the "ready" line of a tethered child's stdout. */
static int child_ready(tether_child *c) {
  char line[64];
  return tt_win32_read_line(tether_child_stdio(c, 1), line, sizeof(line), 20000) > 0 &&
         strcmp(line, "ready") == 0;
}

/* On a console of its own, Ctrl+C enabled and watched: spawn one child with
 * TETHER_SPAWN_CONSOLE_GROUP watching INTERRUPT and one without (its
 * watch says TETHER_EIGNORED), then
 * generate Ctrl+C on this console (group 0). Reports
 * "result <signal INTERRUPT> <signal QUIT> <self got it> <with: exit code>
 * <without: still running>". */
static int child_console_group(int argc, char **argv) {
  const char *args[] = {tt_self(), "--child", "watch_interrupt", NULL};
  const char *args_without[] = {tt_self(), "--child", "ignores_interrupt", NULL};
  tether_spawn_options o;
  tether_child *with = NULL, *without = NULL;
  tether_channel *ch = NULL;
  tether_event ev;
  tether_status st;
  int si, sq, self_got, w_without;
  (void)argc;
  (void)argv;
  if (say_if_no_console())
    return 0;
  /* CREATE_NEW_PROCESS_GROUP left Ctrl+C ignored here; children inherit
   * this state. */
  SetConsoleCtrlHandler(NULL, FALSE);
  if (tether_channel_new(&ch, NULL) < 0 || tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, 0) < 0)
    return 2;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.flags = TETHER_SPAWN_CONSOLE_GROUP;
  if (tether_spawn(&with, args, &o) < 0)
    return 3;
  o.flags = 0;
  if (tether_spawn(&without, args_without, &o) < 0)
    return 4;
  if (!child_ready(with) || !child_ready(without))
    return 5;
  si = tether_child_signal(with, TETHER_EVENT_INTERRUPT);
  sq = tether_child_signal(with, TETHER_EVENT_QUIT);
  tt_win32_say("generating");
  if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) {
    tt_win32_say("generate-failed %lu", (unsigned long)GetLastError());
    return 6;
  }
  self_got = tether_channel_wait(ch, &ev, 10000) == 1 && ev.kind == TETHER_EVENT_INTERRUPT;
  memset(&st, 0, sizeof(st));
  if (tether_child_wait(with, 10000, &st) != 1)
    st.code = -1;
  w_without = tether_child_wait(without, 2000, NULL);
  tt_win32_say("result %d %d %d %d %d", si, sq, self_got, st.code, w_without == 0);
  tether_child_free(with);
  tether_child_free(without);
  tether_channel_free(ch);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Tests: TETHER_SPAWN_CONSOLE_GROUP                                        */
/* ---------------------------------------------------------------------- */

static void test_console_group_bad_input(void **state) {
  const char *argv[] = {tt_self(), "--child", "watch_interrupt", NULL};
  tether_spawn_options o;
  tether_child *c = (tether_child *)&o;
  (void)state;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_CONSOLE_GROUP | TETHER_SPAWN_DETACHED;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_null(c);
}

/* A console Ctrl+C reaches a child spawned with the flag directly (and not
 * one without it, which CREATE_NEW_PROCESS_GROUP left ignoring Ctrl+C);
 * tether_child_signal() refuses INTERRUPT and QUIT for it. */
static void test_console_group_ctrl_c(void **state) {
  tt_win32_proc m;
  char line[128];
  int si = 0, sq = 0, self_got = 0, code = 0, still = 0;
  (void)state;
  assert_true(
      tt_win32_proc_start(&m, "console_group", CREATE_NEW_CONSOLE | CREATE_NEW_PROCESS_GROUP));
  if (tt_win32_read_line(m.out, line, sizeof(line), 20000) > 0 && strcmp(line, "noconsole") == 0) {
    tt_win32_proc_finish(&m, 5000);
    tt_skip("the scenario has no console (CREATE_NEW_CONSOLE gave none)");
  }
  print_message("[  child   ] %s\n", line);
  if (tt_win32_proc_expect(&m, "result ", line, sizeof(line), 60000) <= 0) {
    DWORD ec = tt_win32_proc_finish(&m, 5000);
    fail_msg("no result (exit code %lu, last line \"%s\")", (unsigned long)ec, line);
  }
  assert_int_equal(tt_win32_proc_finish(&m, 20000), 0);
  assert_int_equal(sscanf(line, "result %d %d %d %d %d", &si, &sq, &self_got, &code, &still), 5);
  assert_tether_err(si, TETHER_ENOTSUP);
  assert_tether_err(sq, TETHER_ENOTSUP);
  assert_int_equal(self_got, 1);
  assert_int_equal(code, 30 + TETHER_EVENT_INTERRUPT);
  assert_int_equal(still, 1);
}

/* ---------------------------------------------------------------------- */
/* Tests: tether_send                                                       */
/* ---------------------------------------------------------------------- */

/* Start a target scenario that tether did not start and wait for "ready";
 * 0 (after cleaning up) when it says it has no console. */
static int target_start(tt_win32_proc *t, const char *scenario, DWORD flags) {
  char line[128];
  assert_true(tt_win32_proc_start(t, scenario, flags));
  if (tt_win32_read_line(t->out, line, sizeof(line), 20000) <= 0) {
    DWORD ec = tt_win32_proc_finish(t, 5000);
    fail_msg("%s did not get ready (exit code %lu)", scenario, (unsigned long)ec);
  }
  if (strcmp(line, "noconsole") == 0) {
    tt_win32_proc_finish(t, 5000);
    return 0;
  }
  assert_string_equal(line, "ready");
  return 1;
}

/* INTERRUPT to a process on a console of its own: the helper attaches to
 * it and generates Ctrl+C there. The target leads a process group (so that
 * Wine, whose group 0 is only the helper's own group, delivers it too) and
 * re-enabled Ctrl+C. */
static void test_send_interrupt_own_console(void **state) {
  tt_win32_proc t;
  (void)state;
  if (!target_start(&t, "interrupt_target", CREATE_NEW_CONSOLE | CREATE_NEW_PROCESS_GROUP))
    tt_skip("the target has no console (CREATE_NEW_CONSOLE gave none)");
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_INTERRUPT, 0));
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_INTERRUPT);
}

/* INTERRUPT to a process on this test's own console: the pseudo-terminal
 * console ci/wine-run.sh gives every test. Only under Wine: on Windows
 * Ctrl+C on this console would reach this process, ctest and the shell
 * (under Wine the helper's group 0 is its own group, and the target's group
 * gets it). */
static void test_send_interrupt_shared_console(void **state) {
  tt_win32_proc t;
  (void)state;
  if (!tt_is_wine())
    tt_skip("on Windows Ctrl+C to this console would also reach ctest and the "
            "shell (covered by test_send_interrupt_own_console)");
  if (!tt_win32_have_console())
    tt_skip("this test process has no console (run it on a pseudo-terminal, "
            "TETHER_WINE_PTY=1)");
  assert_true(target_start(&t, "interrupt_target", CREATE_NEW_PROCESS_GROUP));
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_INTERRUPT, 0));
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_INTERRUPT);
}

/* QUIT: CTRL_BREAK_EVENT to the target's console (or its group). */
static void test_send_quit(void **state) {
  tt_win32_proc t;
  int r;
  (void)state;
  if (!target_start(&t, "quit_target", CREATE_NEW_CONSOLE | CREATE_NEW_PROCESS_GROUP))
    tt_skip("the target has no console (CREATE_NEW_CONSOLE gave none)");
  r = tether_send(t.pi.dwProcessId, TETHER_EVENT_QUIT, 0);
  if (tt_is_wine()) {
    /* What Wine says is checked before skipping: a clear ENOTSUP. */
    assert_tether_err(r, TETHER_ENOTSUP);
    assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_QUIT, TETHER_SEND_GROUP),
                      TETHER_ENOTSUP);
    assert_int_equal(WaitForSingleObject(t.pi.hProcess, 0), WAIT_TIMEOUT);
    TerminateProcess(t.pi.hProcess, 1);
    tt_win32_proc_finish(&t, 5000);
    tt_skip("Wine 8 does not implement CTRL_BREAK_EVENT "
            "(GenerateConsoleCtrlEvent fails, server/console.c)");
  }
  assert_tether_ok(r);
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_QUIT);
  /* To its process group (the target's pid: CREATE_NEW_PROCESS_GROUP). */
  assert_true(target_start(&t, "quit_target", CREATE_NEW_CONSOLE | CREATE_NEW_PROCESS_GROUP));
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_QUIT, TETHER_SEND_GROUP));
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_QUIT);
}

/* TERMINATE and HANGUP: WM_CLOSE to the target's windows (tether's hidden
 * window of a process watching TERMINATE); a windowless one: ENOTSUP. */
static void test_send_terminate(void **state) {
  tt_win32_proc t;
  (void)state;
  assert_true(target_start(&t, "terminate_target", 0));
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_TERMINATE, 0));
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_TERMINATE);
  assert_true(target_start(&t, "terminate_target", 0));
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_HANGUP, 0));
  assert_int_equal(tt_win32_proc_finish(&t, 20000), 30 + TETHER_EVENT_TERMINATE);
  assert_true(target_start(&t, "sleep", 0));
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_TERMINATE, 0), TETHER_ENOTSUP);
  assert_int_equal(WaitForSingleObject(t.pi.hProcess, 0), WAIT_TIMEOUT);
  TerminateProcess(t.pi.hProcess, 1);
  tt_win32_proc_finish(&t, 5000);
}

/* The kill: TerminateProcess with tether's exit code 137. */
static void test_send_kill(void **state) {
  tt_win32_proc t;
  (void)state;
  assert_true(target_start(&t, "sleep", 0));
  assert_tether_ok(tether_send(t.pi.dwProcessId, TETHER_EVENT_NONE, 0));
  assert_int_equal(tt_win32_proc_finish(&t, 10000), 137);
}

/* A dead process: ESRCH, whether or not a handle keeps its object. */
static void test_send_esrch(void **state) {
  static const int kinds[] = {TETHER_EVENT_NONE, TETHER_EVENT_INTERRUPT, TETHER_EVENT_QUIT,
                              TETHER_EVENT_TERMINATE, TETHER_EVENT_HANGUP};
  tt_win32_proc t;
  DWORD pid;
  size_t i;
  (void)state;
  assert_true(tt_win32_proc_start(&t, "exit 3", 0));
  pid = t.pi.dwProcessId;
  assert_int_equal(WaitForSingleObject(t.pi.hProcess, 20000), WAIT_OBJECT_0);
  for (i = 0; i < TT_COUNT(kinds); i++)
    assert_tether_err(tether_send(pid, kinds[i], 0), TETHER_ESRCH);
  assert_tether_err(tether_send(pid, TETHER_EVENT_QUIT, TETHER_SEND_GROUP), TETHER_ESRCH);
  assert_int_equal(tt_win32_proc_finish(&t, 1000), 3);
  for (i = 0; i < TT_COUNT(kinds); i++)
    assert_tether_err(tether_send(pid, kinds[i], 0), TETHER_ESRCH);
}

/* What Windows cannot send, and bad input. */
static void test_send_unsupported_and_bad_input(void **state) {
  tt_win32_proc t;
  (void)state;
  assert_true(target_start(&t, "sleep", 0));
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_USER1, 0), TETHER_ENOTSUP);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_USER2, 0), TETHER_ENOTSUP);
  /* Only QUIT can aim at a console process group. */
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_INTERRUPT, TETHER_SEND_GROUP),
                    TETHER_ENOTSUP);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_TERMINATE, TETHER_SEND_GROUP),
                    TETHER_ENOTSUP);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_NONE, TETHER_SEND_GROUP),
                    TETHER_ENOTSUP);
  assert_tether_err(tether_send(0, TETHER_EVENT_NONE, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(-5, TETHER_EVENT_NONE, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(INT64_C(0x100000000) + t.pi.dwProcessId, TETHER_EVENT_NONE, 0),
                    TETHER_EINVAL);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_LOGOFF, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_RESIZE, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(t.pi.dwProcessId, 99, 0), TETHER_EINVAL);
  assert_tether_err(tether_send(t.pi.dwProcessId, TETHER_EVENT_NONE, 4u), TETHER_EINVAL);
  /* Still running: nothing was delivered. */
  assert_int_equal(WaitForSingleObject(t.pi.hProcess, 0), WAIT_TIMEOUT);
  TerminateProcess(t.pi.hProcess, 1);
  tt_win32_proc_finish(&t, 5000);
}

/* A process this user may not open for PROCESS_TERMINATE (its DACL
 * grants everyone only SYNCHRONIZE and PROCESS_QUERY_LIMITED_INFORMATION;
 * the creator keeps its own all-access handle): the kill is TETHER_EPERM.
 * Wine 8 checks the DACL too. */
static void test_send_eperm(void **state) {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd = NULL;
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  char cmd[MAX_PATH * 2 + 64];
  int r;
  (void)state;
  assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;0x00101000;;;WD)",
                                                                   SDDL_REVISION_1, &sd, NULL));
  memset(&sa, 0, sizeof(sa));
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = sd;
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  snprintf(cmd, sizeof(cmd), "\"%s\" --child sleep", tt_self());
  assert_true(CreateProcessA(tt_self(), cmd, &sa, NULL, FALSE, 0, NULL, NULL, &si, &pi));
  LocalFree(sd);
  r = tether_send(pi.dwProcessId, TETHER_EVENT_NONE, 0);
  /* Clean up with the creator's own handle (all access) before checking. */
  TerminateProcess(pi.hProcess, 1);
  WaitForSingleObject(pi.hProcess, 5000);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  assert_tether_err(r, TETHER_EPERM);
  assert_int_equal(tether_last_os_error(), ERROR_ACCESS_DENIED);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"watch_interrupt", child_watch_interrupt},
      {"console_group", child_console_group},
      {"ignores_interrupt", child_ignores_interrupt},
      {"interrupt_target", child_interrupt_target},
      {"quit_target", child_quit_target},
      {"terminate_target", child_terminate_target},
      {"sleep", child_sleep},
      {"exit", tt_child_exit},
      {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_console_group_bad_input),
      cmocka_unit_test(test_console_group_ctrl_c),
      cmocka_unit_test(test_send_interrupt_own_console),
      cmocka_unit_test(test_send_interrupt_shared_console),
      cmocka_unit_test(test_send_quit),
      cmocka_unit_test(test_send_terminate),
      cmocka_unit_test(test_send_kill),
      cmocka_unit_test(test_send_esrch),
      cmocka_unit_test(test_send_unsupported_and_bad_input),
      cmocka_unit_test(test_send_eperm),
  };
  return tt_main(argc, argv, scenarios, "send_win32", tests, TT_COUNT(tests));
}
