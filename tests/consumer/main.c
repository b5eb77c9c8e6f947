/* SPDX-License-Identifier: MIT */
/* Consumer of an installed tether: built once through find_package(tether)
 * and once through pkg-config (ci/lane.sh install). Exits 0 only when the
 * library, the header and the package agree. */
#include <stdio.h>
#include <string.h>

#include <tether.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION \
  STR(TETHER_VERSION_MAJOR) "." STR(TETHER_VERSION_MINOR) "." STR(TETHER_VERSION_PATCH)

/* The header's own message for TETHER_EINVAL, from its X-macro list. */
static const char *header_message(int code) {
#define CONSUMER_MSG(name, value, msg) \
  if (code == (value))                 \
    return msg;
  TETHER_ERRNO_MAP(CONSUMER_MSG)
#undef CONSUMER_MSG
  return NULL;
}

static int failures;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    failures++;
}

int main(int argc, char **argv) {
  const char *version = tether_version_string();
  const char *einval = tether_strerror(TETHER_EINVAL);
  const char *expected_msg = header_message(TETHER_EINVAL);
  const char *expected_version = argc > 1 ? argv[1] : HEADER_VERSION;
  tether_channel *ch = NULL;
  int rc;

  printf("tether_version_string() = \"%s\"\n", version ? version : "(null)");
  printf("tether_strerror(TETHER_EINVAL) = \"%s\"\n", einval ? einval : "(null)");

  check(version != NULL && strcmp(version, expected_version) == 0, "version string matches");
  check(strcmp(HEADER_VERSION, expected_version) == 0, "header version matches");
#ifdef CONSUMER_EXPECT_VERSION
  check(strcmp(CONSUMER_EXPECT_VERSION, expected_version) == 0, "CMake package version matches");
#endif
  check(tether_version() == TETHER_VERSION_HEX, "tether_version() == TETHER_VERSION_HEX");
  check(einval != NULL && expected_msg != NULL && strcmp(einval, expected_msg) == 0,
        "tether_strerror(TETHER_EINVAL) is the header's message");
  check(strcmp(tether_err_name(TETHER_EINVAL), "TETHER_EINVAL") == 0,
        "tether_err_name(TETHER_EINVAL)");
  check(tether_channel_new(NULL, NULL) == TETHER_EINVAL, "tether_channel_new(NULL) is EINVAL");

  rc = tether_channel_new(&ch, NULL);
  check(rc == 0 && ch != NULL, "tether_channel_new");
  if (ch != NULL) {
    check(tether_channel_close(ch) == 0, "tether_channel_close");
    tether_channel_free(ch);
  }

#ifndef _WIN32
  /* A tethered child from the installed library: it must find the
   * installed tether-guard (the install lane removed the build tree's). */
  {
    const char *args[] = {"sh", "-c", "exit 3", NULL};
    tether_spawn_options so = TETHER_SPAWN_OPTIONS_INIT;
    tether_child *c = NULL;
    tether_status st;
    so.stdio[0].mode = TETHER_STDIO_NULL;
    rc = tether_spawn(&c, args, &so);
    check(rc == 0, "tether_spawn (finds the installed tether-guard)");
    if (rc != 0)
      printf("  %s: %s (os error %ld)\n", tether_err_name(rc), tether_strerror(rc),
             tether_last_os_error());
    if (c != NULL) {
      check(tether_child_wait(c, 10000, &st) == 1 && st.kind == TETHER_STATUS_CODE && st.code == 3,
            "the tethered child's exit status is 3");
      tether_child_free(c);
    }
  }
#endif

  printf("consumer: %s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
