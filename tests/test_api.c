/* SPDX-License-Identifier: MIT */
/*
 * Public-API tests: linked against the real `tether` target (the shared
 * library in the release-shared lane), so every function used here must be
 * exported. Portable: runs on every lane.
 */
#include <string.h>

#include "support.h"

static void test_version(void **state) {
  (void)state;
  assert_int_equal(tether_version(), TETHER_VERSION_HEX);
  assert_string_equal(tether_version_string(), "1.0.0");
  assert_int_equal(TETHER_VERSION_HEX, 0x010000);
}

static void test_strerror_every_code(void **state) {
  int e;
  (void)state;
  assert_string_equal(tether_strerror(0), "success");
  assert_string_equal(tether_err_name(0), "TETHER_OK");
  /* Every code in the list has its own name and a real sentence: -1 to
   * TETHER_EHELPER, the last, densely (tether.h: nothing public counts
   * them; a new code moves this bound). */
  for (e = -1; e >= TETHER_EHELPER; e--) {
    const char *name = tether_err_name(e);
    assert_non_null(name);
    assert_true(strncmp(name, "TETHER_E", 8) == 0);
    assert_string_not_equal(name, "TETHER_E_UNKNOWN_CODE");
    assert_string_not_equal(tether_strerror(e), "unknown error");
  }
  assert_string_equal(tether_err_name(TETHER_EINVAL), "TETHER_EINVAL");
  assert_string_equal(tether_strerror(TETHER_EINVAL), "invalid argument");
  assert_string_equal(tether_err_name(TETHER_EUNKNOWN), "TETHER_EUNKNOWN");
  /* Outside the list. */
  assert_int_equal(TETHER_EHELPER, -28);
  assert_string_equal(tether_strerror(TETHER_EHELPER - 1), "unknown error");
  assert_string_equal(tether_err_name(TETHER_EHELPER - 1), "TETHER_E_UNKNOWN_CODE");
  assert_string_equal(tether_strerror(12345), "unknown error");
  assert_string_equal(tether_err_name(-9999), "TETHER_E_UNKNOWN_CODE");
}

static void test_kind_names(void **state) {
  int k;
  (void)state;
  assert_null(tether_kind_name(0));
  assert_null(tether_kind_name(-1));
  /* Dense from 1 to SIGNAL, the last (nothing public counts them). */
  assert_int_equal(TETHER_EVENT_SIGNAL, 11);
  assert_null(tether_kind_name(TETHER_EVENT_SIGNAL + 1));
  for (k = 1; k <= TETHER_EVENT_SIGNAL; k++) {
    const char *n = tether_kind_name(k);
    assert_non_null(n);
    assert_int_equal(tether_kind_from_name(n), k);
  }
  assert_int_equal(tether_kind_from_name("INTERRUPT"), TETHER_EVENT_INTERRUPT);
  assert_int_equal(tether_kind_from_name("Hangup"), TETHER_EVENT_HANGUP);
  assert_tether_err(tether_kind_from_name("interrupts"), TETHER_EINVAL);
  assert_tether_err(tether_kind_from_name("inter"), TETHER_EINVAL);
  assert_tether_err(tether_kind_from_name(""), TETHER_EINVAL);
  assert_tether_err(tether_kind_from_name(NULL), TETHER_EINVAL);
}

static void test_kill_constant(void **state) {
  (void)state;
  /* TETHER_KILL names the kill where a kind is expected (stop steps,
   * tether_send): the value stop steps and senders always took. */
  assert_int_equal(TETHER_KILL, TETHER_EVENT_NONE);
  assert_int_equal(TETHER_KILL, 0);
  assert_null(tether_kind_name(TETHER_KILL));
}

static void test_kind_supported(void **state) {
  (void)state;
  assert_tether_err(tether_kind_supported(0), TETHER_EINVAL);
  assert_tether_err(tether_kind_supported(99), TETHER_EINVAL);
  {
    /* Each kind: supported on Windows, supported on POSIX. */
    static const struct {
      int kind;
      int win32, posix;
    } kinds[] = {
        {TETHER_EVENT_INTERRUPT, 1, 1}, {TETHER_EVENT_QUIT, 1, 1},   {TETHER_EVENT_TERMINATE, 1, 1},
        {TETHER_EVENT_HANGUP, 1, 1},    {TETHER_EVENT_CHILD, 1, 1},  {TETHER_EVENT_LOGOFF, 1, 0},
        {TETHER_EVENT_SHUTDOWN, 1, 0},  {TETHER_EVENT_USER1, 0, 1},  {TETHER_EVENT_USER2, 0, 1},
        {TETHER_EVENT_RESIZE, 0, 1},    {TETHER_EVENT_SIGNAL, 0, 1},
    };
    size_t i;
    for (i = 0; i < TT_COUNT(kinds); i++) {
#ifdef _WIN32
      int want = kinds[i].win32;
#else
      int want = kinds[i].posix;
#endif
      int got = tether_kind_supported(kinds[i].kind);
      if (got != want)
        fail_msg("tether_kind_supported(%s) = %d, want %d", tether_kind_name(kinds[i].kind), got,
                 want);
    }
  }
}

static void test_now_is_monotonic(void **state) {
  uint64_t a, b;
  (void)state;
  a = tether_now_ns();
  tt_sleep_ms(20);
  b = tether_now_ns();
  assert_true(b > a);
  /* Generous bound: at least 15 ms passed, less than 10 s. */
  assert_true(b - a >= 15000000u);
  assert_true(b - a < 10000000000u);
}

static void test_channel_roundtrip_public(void **state) {
  tether_channel *ch = NULL;
  tether_event ev;
  (void)state;
  assert_tether_ok(tether_channel_new(&ch, NULL));
  assert_non_null(ch);
  assert_tether_ok(tether_channel_watch(ch, TETHER_EVENT_CHILD, 0));
  assert_int_equal(tether_channel_poll(ch, &ev), 0);
  assert_tether_ok(tether_channel_close(ch));
  assert_tether_err(tether_channel_close(ch), TETHER_ECLOSED);
  tether_channel_free(ch);
  tether_channel_free(NULL);
}

static int never_run(tether_token *token, void *userdata) {
  (void)token;
  (void)userdata;
  fail_msg("tether_main ran the program with an options version of 0");
  return 0;
}

/* Version 1 and every other field at its default (zero), as the _INIT
 * macros and tether_X_options_init() must give. */
static void expect_channel_defaults(const tether_channel_options *o) {
  assert_int_equal(o->version, 1);
  assert_null(o->callback);
  assert_null(o->userdata);
}

static void expect_spawn_defaults(const tether_spawn_options *o) {
  int i;
  assert_int_equal(o->version, 1);
  assert_null(o->env_set);
  assert_null(o->env_unset);
  assert_null(o->cwd);
  for (i = 0; i < 3; i++)
    assert_int_equal(o->stdio[i].mode, TETHER_STDIO_INHERIT);
  assert_int_equal(o->flags, 0);
  assert_null(o->channel);
  assert_null(o->extra);
  assert_int_equal(o->nextra, 0);
}

static void expect_shutdown_defaults(const tether_shutdown_options *o) {
  assert_int_equal(o->version, 1);
  assert_int_equal(o->kinds, 0);
  assert_int_equal(o->force_count, 0);
  assert_int_equal(o->grace_ms, 0);
  assert_int_equal(o->flags, 0);
  assert_null(o->notify);
  assert_null(o->userdata);
}

/* docs/abi.md: every options struct starts with its version; the _INIT
 * macro and tether_X_options_init() give the same defaults; a version of 0
 * (a memset or {0}) or one newer than the library gives TETHER_EINVAL and
 * nothing happens. */
static void test_options_versions(void **state) {
  tether_channel_options co = TETHER_CHANNEL_OPTIONS_INIT, co2;
  tether_spawn_options so = TETHER_SPAWN_OPTIONS_INIT, so2;
  tether_shutdown_options ho = TETHER_SHUTDOWN_OPTIONS_INIT, ho2;
  const char *argv[] = {"tether-test-no-such-program", NULL};
  tether_channel *ch = NULL;
  tether_child *c = NULL;
  tether_shutdown *s = NULL;
  (void)state;
  assert_int_equal(TETHER_CHANNEL_OPTIONS_VERSION, 1);
  assert_int_equal(TETHER_SPAWN_OPTIONS_VERSION, 1);
  assert_int_equal(TETHER_SHUTDOWN_OPTIONS_VERSION, 1);
  /* The macros: the version, every other field zero. */
  expect_channel_defaults(&co);
  expect_spawn_defaults(&so);
  expect_shutdown_defaults(&ho);
  /* The functions over garbage: the same. */
  memset(&co2, 0xA5, sizeof(co2));
  memset(&so2, 0xA5, sizeof(so2));
  memset(&ho2, 0xA5, sizeof(ho2));
  assert_tether_ok(tether_channel_options_init(&co2, 1));
  assert_tether_ok(tether_spawn_options_init(&so2, 1));
  assert_tether_ok(tether_shutdown_options_init(&ho2, 1));
  expect_channel_defaults(&co2);
  expect_spawn_defaults(&so2);
  expect_shutdown_defaults(&ho2);
  /* Bad versions leave the struct alone. */
  assert_tether_err(tether_channel_options_init(NULL, 1), TETHER_EINVAL);
  assert_tether_err(tether_spawn_options_init(NULL, 1), TETHER_EINVAL);
  assert_tether_err(tether_shutdown_options_init(NULL, 1), TETHER_EINVAL);
  co2.version = 77;
  so2.version = 77;
  ho2.version = 77;
  assert_tether_err(tether_channel_options_init(&co2, 0), TETHER_EINVAL);
  assert_tether_err(tether_channel_options_init(&co2, 2), TETHER_EINVAL);
  assert_tether_err(tether_spawn_options_init(&so2, 0), TETHER_EINVAL);
  assert_tether_err(tether_spawn_options_init(&so2, 2), TETHER_EINVAL);
  assert_tether_err(tether_shutdown_options_init(&ho2, 0), TETHER_EINVAL);
  assert_tether_err(tether_shutdown_options_init(&ho2, 2), TETHER_EINVAL);
  assert_int_equal(co2.version, 77);
  assert_int_equal(so2.version, 77);
  assert_int_equal(ho2.version, 77);
  /* A zeroed struct, or a version from a newer header: TETHER_EINVAL, no
   * object made, nothing run. The spawn would otherwise fail with ENOENT. */
  memset(&co2, 0, sizeof(co2));
  memset(&so2, 0, sizeof(so2));
  memset(&ho2, 0, sizeof(ho2));
  assert_tether_err(tether_channel_new(&ch, &co2), TETHER_EINVAL);
  assert_null(ch);
  assert_tether_err(tether_spawn(&c, argv, &so2), TETHER_EINVAL);
  assert_null(c);
  assert_tether_err(tether_shutdown_new(&s, &ho2), TETHER_EINVAL);
  assert_null(s);
  assert_tether_err(tether_main(&ho2, never_run, NULL), TETHER_EINVAL);
  co2.version = so2.version = ho2.version = 2;
  assert_tether_err(tether_channel_new(&ch, &co2), TETHER_EINVAL);
  assert_tether_err(tether_spawn(&c, argv, &so2), TETHER_EINVAL);
  assert_tether_err(tether_shutdown_new(&s, &ho2), TETHER_EINVAL);
  assert_null(ch);
  assert_null(c);
  assert_null(s);
  /* The current version is taken. */
  assert_tether_err(tether_spawn(&c, argv, &so), TETHER_ENOENT);
  assert_tether_ok(tether_channel_new(&ch, &co));
  tether_channel_free(ch);
  assert_tether_ok(tether_shutdown_new(&s, &ho));
  tether_shutdown_free(s);
}

/* docs/abi.md: the room kept for later fields in the structs tether
 * writes is zeroed by tether, whatever was in the caller's memory (or in
 * an event the caller hands to a token). */
static void test_reserved_fields_zeroed(void **state) {
  tether_status st;
  tether_event ev;
  tether_cause cause;
  tether_token *t = NULL;
  size_t i;
  (void)state;
  memset(&st, 0xA5, sizeof(st));
  assert_tether_ok(tether_status_decode(0, &st));
  for (i = 0; i < TT_COUNT(st.reserved); i++)
    assert_int_equal(st.reserved[i], 0);
  memset(&ev, 0xA5, sizeof(ev));
  ev.kind = TETHER_EVENT_TERMINATE;
  assert_tether_ok(tether_token_new(&t, NULL));
  assert_tether_ok(tether_token_cancel_event(t, &ev));
  memset(&cause, 0xA5, sizeof(cause));
  assert_int_equal(tether_token_cause(t, &cause), 1);
  assert_int_equal(cause.event.kind, TETHER_EVENT_TERMINATE);
  for (i = 0; i < TT_COUNT(cause.reserved); i++)
    assert_int_equal(cause.reserved[i], 0);
  for (i = 0; i < TT_COUNT(cause.event.reserved); i++)
    assert_int_equal(cause.event.reserved[i], 0);
  for (i = 0; i < TT_COUNT(cause.event.exit.reserved); i++)
    assert_int_equal(cause.event.exit.reserved[i], 0);
  tether_token_free(t);
}

static void test_last_os_error_is_thread_value(void **state) {
  (void)state;
  /* Argument errors do not touch it; it starts at 0 in a fresh process. */
  assert_tether_err(tether_channel_new(NULL, NULL), TETHER_EINVAL);
  assert_int_equal(tether_last_os_error(), 0);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_last_os_error_is_thread_value),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_strerror_every_code),
      cmocka_unit_test(test_kind_names),
      cmocka_unit_test(test_kind_supported),
      cmocka_unit_test(test_kill_constant),
      cmocka_unit_test(test_options_versions),
      cmocka_unit_test(test_reserved_fields_zeroed),
      cmocka_unit_test(test_now_is_monotonic),
      cmocka_unit_test(test_channel_roundtrip_public),
  };
  return tt_main(argc, argv, NULL, "api", tests, TT_COUNT(tests));
}
