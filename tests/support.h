/* SPDX-License-Identifier: MIT */
/* Shared test support: cmocka includes, tether asserts, child scenarios. */
#ifndef TETHER_TESTS_SUPPORT_H
#define TETHER_TESTS_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#ifndef _WIN32
#include <sys/types.h> /* uid_t, gid_t */
#endif
#include <cmocka.h>

#include "tether.h"

/* Built with ThreadSanitizer (gcc's __SANITIZE_THREAD__, clang's feature). */
#if defined(__SANITIZE_THREAD__)
#define TT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TT_TSAN 1
#endif
#endif

/* Fail with the tether error name and sentence when rc < 0. */
#define assert_tether_ok(rc) tt_assert_ok((rc), #rc, __FILE__, __LINE__)
/* Fail unless rc is exactly the expected TETHER_E* code. */
#define assert_tether_err(rc, expected) tt_assert_err((rc), (expected), #rc, __FILE__, __LINE__)
void tt_assert_ok(int rc, const char *expr, const char *file, int line);
void tt_assert_err(int rc, int expected, const char *expr, const char *file, int line);

/* Skip the current test, printing why (cmocka 1.1 has no skip message). */
#define tt_skip(reason)                           \
  do {                                            \
    print_message("[   SKIP   ] %s\n", (reason)); \
    skip();                                       \
  } while (0)

/* A test case of a table-driven test: cmocka runs fn under the name name
 * (TT_FILTER matches it) with *state == arg, a pointer to the case. */
#define tt_unit_test_case(name, fn, arg) \
  { #name, fn, NULL, NULL, (void *)(arg) }

/* A child scenario: the test binary re-runs itself as
 * `<self> --child <name> [args...]`; the scenario's return value is the
 * child's exit code. */
typedef struct tt_scenario {
  const char *name;
  int (*run)(int argc, char **argv);
} tt_scenario;

/* main() for a test executable: dispatch --child scenarios (NULL-terminated
 * list, may be NULL), otherwise run the cmocka group. */
int tt_main(int argc, char **argv, const tt_scenario *scenarios, const char *group,
            const struct CMUnitTest *tests, size_t ntests);

#ifndef _WIN32
/* The calling thread's signal mask against the one tt_main() started with.
 * 0: the same. 1: ThreadSanitizer's runtime had left every signal blocked
 * (gcc 12's libtsan, google/sanitizers#1855; tests/tsan_nested_signals.c
 * shows it without tether); the start mask is restored and a note printed.
 * -1: changed in any other way (the start mask is restored and the change
 * printed, naming where). tt_main() runs this after every test that has no
 * teardown of its own, and fails that test on -1: tether must never leave
 * the caller's mask changed. */
int tt_signal_mask_check(const char *where);
#endif

/* tether_spawn() refuses bad input the same way on every platform: NULL
 * out or argv, an empty argv or argv[0], unknown flags, stdio modes out of
 * range, malformed env_set/env_unset entries, an empty cwd and a channel
 * that does not watch CHILD (TETHER_EINVAL), a closed channel
 * (TETHER_ECLOSED); nothing is started. argv: a program that would run.
 * Then every child call refuses a NULL child (TETHER_EINVAL, -1, none). */
void tt_spawn_refuses_bad_input(const char *const *argv);

/* Path of the running test executable (for self-spawning). */
const char *tt_self(void);
/* v[0..6]: tt_self(), "--child", scenario, a1, a2, a3 (up to the first NULL), NULL. */
void tt_child_argv(const char **v, const char *scenario, const char *a1, const char *a2,
                   const char *a3);

#ifndef _WIN32
/* Why a process with user uid, group gid (and no other group) could not
 * run this test executable, or NULL when it can: a test that drops root's
 * privileges and then spawns this executable skips with this reason. The
 * usual cause is a directory on the path closed to other users (a checkout
 * under a 0700 directory, as `mktemp -d` makes). Asked of the kernel by a
 * forked process that becomes that user. NULL when not root (no drop).
 * The reason is in a static buffer. */
const char *tt_cannot_run_as(uid_t uid, gid_t gid);
/* The same for the user "nobody", which tests drop to from root; also a
 * reason when there is no such user. NULL when not root. */
const char *tt_nobody_cannot_run(void);
#endif

/* 1 when running under Wine (ntdll exports wine_get_version), else 0. */
int tt_is_wine(void);

/* Sleep for ms milliseconds. */
void tt_sleep_ms(int ms);

/* Child scenario: exit with the code argv[0] (0 without one). */
int tt_child_exit(int argc, char **argv);
/* Child scenario: sleep 60 s (until the test kills it), then exit 0. */
int tt_child_sleep(int argc, char **argv);

/* o initialised (tether_spawn_options_init) with its three stdio streams in
 * mode (a tether_stdio_mode). */
void tt_spawn_options_stdio(tether_spawn_options *o, int mode);

/* *ch a new channel (options co, may be NULL) watching CHILD, and o
 * initialised to spawn children onto it. */
void tt_child_channel(tether_channel **ch, const tether_channel_options *co,
                      tether_spawn_options *o);

/* n stop steps, each sending kind and waiting timeout_ms. */
void tt_fill_steps(tether_stop_step *steps, size_t n, int kind, int timeout_ms);

/* Number of open file descriptors (POSIX) / handles (Windows) of this
 * process, or -1 if it cannot be counted. */
long tt_open_fd_count(void);

/* A thread of a test (a pthread, or a Windows thread). */
typedef struct tt_thread tt_thread;
/* Run fn(arg) in a new thread: the thread, or NULL when it cannot start. */
tt_thread *tt_thread_start(void (*fn)(void *), void *arg);
/* Wait for the thread to end, then free it. */
void tt_thread_join(tt_thread *t);
/* Let the thread run on by itself and free t. */
void tt_thread_detach(tt_thread *t);
/* 1 when h (a channel's or a token's handle) is ready within ms, else 0. */
int tt_handle_ready(tether_os_handle h, int ms);

/* Abort the process, naming what, unless tt_watchdog_disarm() comes
 * within secs (a hang fails instead of stalling the suite). One step at a
 * time, armed and disarmed by the test thread. */
void tt_watchdog_arm(const char *what, int secs);
/* Stop the armed watchdog (nothing when none runs). */
void tt_watchdog_disarm(void);
/* cmocka teardown: tt_watchdog_disarm() (a failed assertion leaves its step armed). */
int tt_watchdog_teardown(void **state);

#ifndef _WIN32
/* Processes (not zombies) whose arguments contain marker; with kill_them,
 * each is sent SIGKILL. Linux: /proc/<pid>/cmdline; macOS:
 * sysctl(KERN_PROC_ALL) + sysctl(KERN_PROCARGS2). -1 when processes cannot
 * be observed here (another system, or not even this process's own
 * arguments can be read): a test must then fail, never count 0. Not
 * thread-safe. */
int tt_count_marked(const char *marker, int kill_them);
#endif

#ifndef _WIN32
/* fork+exec <self> --child args (stdout out_pipe[1], stdin in_pipe[0], closed here): pid or -1. */
pid_t tt_fork_child(const int *out_pipe, const int *in_pipe, const char *const *args);
/* Write all len bytes of buf (retrying after EINTR): 0, or -1. */
int tt_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes into buf (retrying after EINTR): 0, or -1 (an error or EOF first). */
int tt_read_full(int fd, void *buf, size_t len);
/* Run fn(arg) in a fork()ed child (no exec) under a 10 s alarm, the parent
 * under a 30 s watchdog; fails the test unless fn returned 0. The verdict
 * comes through a pipe, not the exit status, which valgrind's leak check
 * at the child's exit changes (--error-exitcode); a crash or a hang writes
 * nothing. */
void tt_in_forked_child(int (*fn)(void *), void *arg, const char *what);
/* Read a descriptor to its end into buf (NUL-terminated); returns the
 * length. */
size_t tt_read_all(int fd, char *buf, size_t cap);
/* Read one line without its newline (NUL-terminated); gives up, with what
 * it has, after 20 s without data, so that a child that never writes fails
 * the test instead of hanging it. Returns the length. */
int tt_read_line(int fd, char *buf, size_t cap);
/* tt_read_line giving up after ms in all: the length (0 at EOF or when nothing came in time). */
int tt_read_line_within(int fd, char *buf, size_t cap, long ms);
#endif

#ifndef _WIN32
/* pause() until a signal ends the process; never returns. */
void tt_sleep_forever(void);
/* Child scenario: print "ready <pid>", then tt_sleep_forever(). */
int tt_child_ready(int argc, char **argv);
/* Child scenario: stdin to stdout; exit 1 when a write fails, else 0. */
int tt_child_cat(int argc, char **argv);
/* stdin to stdout to the end: 0 at EOF, 1 when a write fails, -1 when a read fails. */
int tt_copy_stdin(void);
/* State of /proc/<p>/stat (with ppid, pgrp if not NULL): 0 gone, '?' exists but unreadable. */
char tt_proc_state(pid_t p, long *ppid, long *pgrp);
/* p > 0 exists and is neither a zombie nor dead (without /proc: kill(p, 0) works). */
int tt_alive(pid_t p);
/* Wait up to ms for tt_alive(p) to be false: the milliseconds it took, or -1. */
long tt_gone_within(pid_t p, long ms);
#endif

/* printf-style format checking of a function's arguments (GCC, clang;
 * also keeps clang's -Wformat-nonliteral quiet in the vfprintf wrappers). */
#if defined(__GNUC__)
#define TT_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define TT_PRINTF(fmt, first)
#endif

#define TT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
