/* SPDX-License-Identifier: MIT */
/*
 * Torture: a parent killed with SIGKILL at a random moment -- while its
 * keeper starts, inside tether_spawn(), between spawns, or after -- leaves
 * no survivor: no child, no grandchild (Linux: no setsid() escapee), no
 * keeper. Survivors are found by a marker in their argv.
 *
 *   torture_spawn                      TETHER_TORTURE_ITERATIONS iterations
 *                                      (default 100; the torture lane: 2000),
 *                                      TETHER_TORTURE_SEED to repeat a run
 *   torture_spawn --child middle M E   spawn trees marked M until killed
 *   torture_spawn --child tree M E     a child that forks a grandchild
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

/* argv: MARKER ESCAPE(0/1) */
static int child_tree(int argc, char **argv) {
  pid_t g;
  int escape = argc > 1 && strcmp(argv[1], "1") == 0;
  g = fork();
  if (g == 0) {
    if (escape)
      (void)setsid();
    tt_sleep_forever();
  }
  tt_sleep_forever();
  return 0;
}

/* argv: MARKER ESCAPE: spawn tethered trees, as fast as possible, 8 of them,
 * then wait to be killed. */
static int child_middle(int argc, char **argv) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c[8];
  int i;
  if (argc < 2)
    return 2;
  tt_child_argv(v, "tree", argv[0], argv[1], NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  if (strcmp(argv[1], "1") == 0)
    o.flags = TETHER_SPAWN_CATCH_ESCAPEES; /* the keeper catches setsid() */
  for (i = 0; i < 8; i++) {
    if (tether_spawn(&c[i], v, &o) != 0)
      return 3;
    if (write(1, "s", 1) != 1) /* progress, for the statistics */
      return 4;
  }
  tt_sleep_forever();
  return 0;
}

/* Processes whose argv holds the marker (zombies have no argv: not
 * counted); with kill_them, each gets SIGKILL. Fails the test when this
 * system's processes cannot be observed (tests/support.c): counting 0
 * without having looked would pass for nothing. */
static int count_marked(const char *marker, int kill_them) {
  int n = tt_count_marked(marker, kill_them);
  if (n < 0)
    fail_msg("cannot observe processes here (tt_count_marked: no /proc, no "
             "sysctl(KERN_PROCARGS2)): survivors cannot be counted");
  return n;
}

static unsigned long rng_state = 88172645463325252ul;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

static void test_parent_killed_at_random(void **state) {
  const char *env = getenv("TETHER_TORTURE_ITERATIONS");
  const char *seed_env = getenv("TETHER_TORTURE_SEED");
  int iterations = env != NULL && atoi(env) > 0 ? atoi(env) : 100;
  int it, survivors = 0, worst_ms = 0, before_first = 0, between = 0, after = 0, escapees = 0;
  uint64_t t0 = tether_now_ns(), secs_x1000;
  (void)state;
  if (seed_env != NULL && *seed_env != '\0')
    rng_state = strtoul(seed_env, NULL, 10);
  else
    rng_state ^= (unsigned long)tether_now_ns();
  if (rng_state == 0)
    rng_state = 1;
  print_message("torture: %d iterations, seed %lu (TETHER_TORTURE_SEED repeats "
                "the delays)\n",
                iterations, (unsigned long)rng_state);
  for (it = 0; it < iterations; it++) {
    char marker[64];
    const char *escape, *args[] = {"middle", NULL, NULL, NULL};
    /* 0..20 ms: the keeper starting, the 8 spawns (about 1 ms each), or
     * after them */
    unsigned delay_us = rnd(20000);
    pid_t m;
    int st, left, waited, p[2];
    char prog[16];
    ssize_t done;
#if defined(TETHER_TEST_LINUX)
    escape = (it % 4 == 3) ? "1" : "0";
    escapees += it % 4 == 3;
#else
    escape = "0";
#endif
    snprintf(marker, sizeof(marker), "tt-torture-%ld-%d", (long)getpid(), it);
    assert_int_equal(pipe(p), 0);
    args[1] = marker;
    args[2] = escape;
    m = tt_fork_child(p, NULL, args);
    assert_true(m >= 0);
    if (delay_us > 0) {
      struct timespec ts;
      ts.tv_sec = 0;
      ts.tv_nsec = (long)delay_us * 1000L;
      nanosleep(&ts, NULL);
    }
    /* Did we land while the parent was still spawning? (It exits 0 only
     * if killed after all 8 spawns; 3 on a spawn error.) */
    assert_int_equal(kill(m, SIGKILL), 0);
    assert_int_equal(waitpid(m, &st, 0), m);
    assert_true(WIFSIGNALED(st));
    done = read(p[0], prog, sizeof(prog)); /* spawns completed before the kill */
    close(p[0]);
    if (done <= 0)
      before_first++;
    else if (done < 8)
      between++;
    else
      after++;
    /* Survivors must be gone soon; allow 2 s before calling them survivors. */
    for (waited = 0; (left = count_marked(marker, 0)) > 0 && waited < 2000; waited += 2)
      tt_sleep_ms(2);
    if (left > 0) {
      print_error("iteration %d (delay %u us, %d spawns done): %d survivors\n", it, delay_us,
                  (int)(done > 0 ? done : 0), left);
      survivors += left;
      /* clean up so that the next iterations are not disturbed */
      (void)count_marked(marker, 1);
    }
    if (waited > worst_ms)
      worst_ms = waited;
  }
  secs_x1000 = (tether_now_ns() - t0) / 1000000u;
  print_message("torture: %d iterations in %.1f s (%.1f ms each): parent "
                "SIGKILLed before its first spawn completed %d, during the "
                "spawns (1-7 of 8 done) %d, after all 8 %d; %d trees with a "
                "setsid() escapee; %d survivors; slowest clean-up %d ms\n",
                iterations, (double)secs_x1000 / 1000.0,
                (double)secs_x1000 / (iterations > 0 ? iterations : 1), before_first, between,
                after, escapees, survivors, worst_ms);
  assert_int_equal(survivors, 0);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"middle", child_middle}, {"tree", child_tree}, {NULL, NULL}};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parent_killed_at_random),
  };
  return tt_main(argc, argv, scenarios, "torture-spawn", tests, TT_COUNT(tests));
}
