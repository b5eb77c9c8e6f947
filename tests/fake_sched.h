/* SPDX-License-Identifier: MIT */
/*
 * A fake backend for the core's threaded logic (tests/fake_sched.c): the
 * synchronisation, thread, clock and doorbell calls of core/backend.h.
 *
 * Threads are real threads, but exactly one runs at a time: the turn moves
 * only where a thread waits (a condition, a join) or ends, to the next
 * thread that can run, in a fixed order. When none can, a virtual clock
 * jumps straight to the earliest end of a wait or scripted event (the
 * test's own, through fs_set_events()). So timing is exact and free, and a
 * state where every thread waits for ever ends the program with a message
 * instead of hanging it. Test files: test_token_engine, test_shutdown_engine.
 */
#ifndef TT_FAKE_SCHED_H
#define TT_FAKE_SCHED_H

#include <stdint.h>

#define FS_MS UINT64_C(1000000) /* ns per ms: the core's clock is in ns */
#define FS_NEVER UINT64_MAX

#if defined(__GNUC__) || defined(__clang__)
#define FS_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define FS_PRINTF(fmt, first)
#endif

/* The first problem seen where cmocka cannot fail (another thread, a fake
 * lock misused); fs_teardown() fails the test with it. */
void fs_report(const char *fmt, ...) FS_PRINTF(1, 2);

/* Before each test: the clock at 1000 ms, the test's thread the only one,
 * the counters zero. After: let the others finish, join the ended ones,
 * fail on a problem or a thread left waiting. */
int fs_setup(void **state);
int fs_teardown(void **state);

/* The test's scripted events: when the next is due (FS_NEVER: none), and
 * fire those due now. Called with the scheduler's lock held: fire() may
 * only change the test's state and call the core's notifications, which
 * broadcast. */
void fs_set_events(uint64_t (*next)(void), void (*fire)(void));

/* Let the other threads run until each waits or ends (the test's thread
 * goes on at the same virtual time). */
void fs_run_others(void);
/* From a thread other than the test's: give the turn to the test's thread
 * (waiting in fs_run_others()) until it waits again: a thread caught in the
 * middle of a slow call. */
void fs_pause_here(void);
/* End the calling thread now (a fake of a call that never returns, such as
 * the process's exit, on a policy thread). */
void fs_thread_exit(void);

/* The test's thread sleeps until the virtual time `ms` (the others run,
 * scripted events happen); at once when that time has passed. */
void fs_sleep_until_ms(uint64_t ms);

/* Threads started and not ended; threads ever started. */
int fs_threads_alive(void);
int fs_threads_started(void);
/* The next n tether__thread_start() calls fail with TETHER_ENOMEM. */
void fs_fail_thread_starts(int n);
/* The virtual time in ms. */
uint64_t fs_now_ms(void);
/* tether__fork_generation(): what a token made before a fork() sees. */
void fs_set_fork_generation(unsigned gen);

/* End the program (with a message) if it still runs after `seconds`. */
void fs_watchdog(const char *program, unsigned seconds);

/* A test of such a program, and its main's end: the tests run under a 30 s
 * watchdog (they take milliseconds). */
#define FS_TEST(f, setup) cmocka_unit_test_setup_teardown(f, setup, fs_teardown)
#define FS_RUN(program, tests) (fs_watchdog(program, 30), cmocka_run_group_tests(tests, NULL, NULL))

#endif
