/* Shared test support. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "support.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#endif

static const char *tt_self_path;

void tt_assert_ok(int rc, const char *expr, const char *file, int line) {
  if (rc < 0) {
    print_error("%s failed: %s (%s), last OS error %ld\n", expr,
                tether_err_name(rc), tether_strerror(rc), tether_last_os_error());
    _fail(file, line);
  }
}

void tt_assert_err(int rc, int expected, const char *expr, const char *file,
                   int line) {
  if (rc != expected) {
    print_error("%s returned %d (%s), expected %s\n", expr, rc,
                rc < 0 ? tether_err_name(rc) : "not an error",
                tether_err_name(expected));
    _fail(file, line);
  }
}

const char *tt_self(void) { return tt_self_path; }

#if defined(__SANITIZE_THREAD__)
#define TT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TT_TSAN 1
#endif
#endif

int tt_main(int argc, char **argv, const tt_scenario *scenarios,
            const char *group, const struct CMUnitTest *tests, size_t ntests) {
#if defined(TT_TSAN) && !defined(_WIN32)
  {
    /* ThreadSanitizer's runtime drops an asynchronous signal that arrives
     * before the process's first nanosleep() has returned (shown without
     * tether by tests/tsan_signal_window.c); one nanosleep here, before any
     * scenario can say "ready", keeps the tests' signals from that drop. */
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = 1;
    (void)nanosleep(&ts, NULL);
  }
#endif
  tt_self_path = argv[0];
#ifdef _WIN32
  {
    static char buf[MAX_PATH * 2];
    DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)sizeof(buf));
    if (n > 0 && n < sizeof(buf))
      tt_self_path = buf;
  }
#endif
  if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
    const tt_scenario *s;
    for (s = scenarios; s != NULL && s->name != NULL; s++)
      if (strcmp(s->name, argv[2]) == 0)
        return s->run(argc - 3, argv + 3);
    fprintf(stderr, "unknown child scenario %s\n", argv[2]);
    return 99;
  }
  /* Unbuffered output so that nothing is lost if a test crashes. */
  setvbuf(stdout, NULL, _IONBF, 0);
  /* TT_FILTER=test_name (wildcards * and ?) runs only matching tests. */
  if (getenv("TT_FILTER") != NULL)
    cmocka_set_test_filter(getenv("TT_FILTER"));
  return _cmocka_run_group_tests(group, tests, ntests, NULL, NULL);
}

int tt_is_wine(void) {
#ifdef _WIN32
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
#else
  return 0;
#endif
}

void tt_sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0) {
  }
#endif
}

long tt_open_fd_count(void) {
#ifdef _WIN32
  DWORD n = 0;
  if (!GetProcessHandleCount(GetCurrentProcess(), &n))
    return -1;
  return (long)n;
#else
  /* Portable: probe every descriptor below the soft limit (no /proc). */
  long max = sysconf(_SC_OPEN_MAX), fd, n = 0;
  if (max < 0 || max > 65536)
    max = 65536;
  for (fd = 0; fd < max; fd++)
    if (fcntl((int)fd, F_GETFD) != -1)
      n++;
  return n;
#endif
}

#ifndef _WIN32
size_t tt_read_all(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t n;
  while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    len += (size_t)n;
  }
  buf[len] = '\0';
  return len;
}

int tt_read_line(int fd, char *buf, size_t cap) {
  size_t len = 0;
  while (len + 1 < cap) {
    char ch;
    ssize_t n;
    struct pollfd pf;
    pf.fd = fd;
    pf.events = POLLIN;
    pf.revents = 0;
    if (poll(&pf, 1, 20000) == 0)
      break;
    n = read(fd, &ch, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || ch == '\n')
      break;
    buf[len++] = ch;
  }
  buf[len] = '\0';
  return (int)len;
}
#endif
