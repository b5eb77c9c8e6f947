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
  assert_string_equal(tether_version_string(), "0.1.0");
  assert_int_equal(TETHER_VERSION_HEX, 0x000100);
}

static void test_strerror_every_code(void **state) {
  int e;
  (void)state;
  assert_string_equal(tether_strerror(0), "success");
  assert_string_equal(tether_err_name(0), "TETHER_OK");
  /* Every code in the list has its own name and a real sentence. */
  for (e = -1; e > TETHER__ERR_LAST; e--) {
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
  assert_string_equal(tether_strerror(TETHER__ERR_LAST), "unknown error");
  assert_string_equal(tether_strerror(12345), "unknown error");
  assert_string_equal(tether_err_name(-9999), "TETHER_E_UNKNOWN_CODE");
}

static void test_kind_names(void **state) {
  int k;
  (void)state;
  assert_null(tether_kind_name(0));
  assert_null(tether_kind_name(-1));
  assert_null(tether_kind_name(TETHER_EVENT_KIND_COUNT));
  for (k = 1; k < TETHER_EVENT_KIND_COUNT; k++) {
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

static void test_kind_supported(void **state) {
  (void)state;
  assert_tether_err(tether_kind_supported(0), TETHER_EINVAL);
  assert_tether_err(tether_kind_supported(99), TETHER_EINVAL);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_INTERRUPT), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_QUIT), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_TERMINATE), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_HANGUP), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_CHILD), 1);
#ifdef _WIN32
  assert_int_equal(tether_kind_supported(TETHER_EVENT_LOGOFF), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_SHUTDOWN), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_USER1), 0);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_USER2), 0);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_RESIZE), 0);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_SIGNAL), 0);
#else
  assert_int_equal(tether_kind_supported(TETHER_EVENT_LOGOFF), 0);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_SHUTDOWN), 0);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_USER1), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_USER2), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_RESIZE), 1);
  assert_int_equal(tether_kind_supported(TETHER_EVENT_SIGNAL), 1);
#endif
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
      cmocka_unit_test(test_now_is_monotonic),
      cmocka_unit_test(test_channel_roundtrip_public),
  };
  return tt_main(argc, argv, NULL, "api", tests, TT_COUNT(tests));
}
