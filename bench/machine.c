/* SPDX-License-Identifier: MIT */
/*
 * machine.c: the description of the machine and the build that the report starts with.
 */
#include "bench.h"

#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif
#if defined(TETHER_BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

/* ------------------------------------------------------------------------ */
/* Machine description                                                      */
/* ------------------------------------------------------------------------ */

/* The three load averages of /proc/loadavg, or "unknown". */
void bench_read_load(char *out, size_t cap) {
  char buf[128];
  int fields = 0;
  size_t i;
  (void)snprintf(out, cap, "unknown");
  if (bench_read_text("/proc/loadavg", buf, sizeof(buf)) < 0)
    return;
  for (i = 0; buf[i] != '\0'; i++)
    if (buf[i] == ' ' && ++fields == 3) {
      buf[i] = '\0';
      break;
    }
  (void)snprintf(out, cap, "%s", buf);
}

void bench_describe_machine(bench_machine *m) {
  char buf[1 << 16], *p;
  struct utsname u;
  time_t t = time(NULL);
  struct tm tmv;
  memset(m, 0, sizeof(*m));
  (void)snprintf(m->cpu, sizeof(m->cpu), "unknown");
  if (bench_read_text("/proc/cpuinfo", buf, sizeof(buf)) == 0) {
    p = strstr(buf, "model name");
    if (p == NULL)
      p = strstr(buf, "Model");
    if (p != NULL && (p = strchr(p, ':')) != NULL)
      bench_copy_until(m->cpu, sizeof(m->cpu), p + 1 + strspn(p + 1, " \t"), "\n");
  }
  m->cores = sysconf(_SC_NPROCESSORS_ONLN);
  bench_read_load(m->load_start, sizeof(m->load_start));
  {
    cpu_set_t set;
    int c;
    m->allowed = 0;
    m->first_cpu = -1;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
      for (c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
          if (m->first_cpu < 0)
            m->first_cpu = c;
          m->allowed++;
        }
  }
  if (uname(&u) == 0)
    (void)snprintf(m->kernel, sizeof(m->kernel), "%s %s %s %s", u.sysname, u.release, u.version,
                   u.machine);
  if (bench_read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                      m->clocksource, sizeof(m->clocksource)) < 0)
    (void)snprintf(m->clocksource, sizeof(m->clocksource), "unknown");
  if (gmtime_r(&t, &tmv) != NULL)
    (void)strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tmv);
#if defined(__GLIBC__)
  (void)snprintf(m->libc, sizeof(m->libc), "glibc %s", gnu_get_libc_version());
#else
  (void)snprintf(m->libc, sizeof(m->libc), "unknown");
#endif
#if defined(TETHER_BENCH_HAVE_LIBUV)
  (void)snprintf(m->libuv, sizeof(m->libuv), "%s", uv_version_string());
#else
  (void)snprintf(m->libuv, sizeof(m->libuv), "unavailable");
#endif
}
