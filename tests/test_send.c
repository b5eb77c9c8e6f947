/*
 * Sending events to processes tether did not start (tether_send) and the
 * TETHER_SPAWN_CONSOLE_GROUP spawn flag, on POSIX (native and portable
 * lanes).
 *
 * Targets are plain fork()ed processes (never tether children) that report
 * the signal they received through a pipe. Child scenarios re-run this
 * executable: `test_send --child NAME ...`.
 */
#define _DEFAULT_SOURCE
#include <string.h>

#include "support.h"

/* ---------------------------------------------------------------------- */
/* TETHER_SPAWN_CONSOLE_GROUP                                               */
/* ---------------------------------------------------------------------- */

/* POSIX has no console group: TETHER_ENOTSUP; with DETACHED it is an
 * invalid combination on every OS. Nothing is started either way. */
static void test_console_group_flag(void **state) {
  const char *argv[] = {"/bin/true", NULL};
  tether_spawn_options o;
  tether_child *c = (tether_child *)&o; /* must be reset to NULL */
  long fds = tt_open_fd_count();
  (void)state;
  memset(&o, 0, sizeof(o));
  o.flags = TETHER_SPAWN_CONSOLE_GROUP;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ENOTSUP);
  assert_null(c);
  o.flags = TETHER_SPAWN_CONSOLE_GROUP | TETHER_SPAWN_DETACHED;
  c = (tether_child *)&o;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_null(c);
  /* The next bit up is still unknown. */
  o.flags = TETHER_SPAWN_CONSOLE_GROUP << 1;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_int_equal(tt_open_fd_count(), fds);
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_console_group_flag),
  };
  return tt_main(argc, argv, scenarios, "send", tests, TT_COUNT(tests));
}
