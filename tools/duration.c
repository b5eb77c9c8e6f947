/* SPDX-License-Identifier: MIT */
/* Durations on the command line: "500ms", "10s", "2m", "1.5h", "3" (s). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The largest accepted duration: 100 days, far beyond any useful timer and
 * far from overflowing the millisecond arithmetic. */
#define CLI_DURATION_MAX_MS ((int64_t)100 * 24 * 3600 * 1000)

int cli_parse_duration(const char *s, int64_t *ms) {
  int64_t whole = 0, frac = 0, frac_scale = 1, unit;
  const char *p = s;
  int digits = 0;
  if (s == NULL || ms == NULL)
    return -1;
  if (strcmp(s, "inf") == 0 || strcmp(s, "infinity") == 0) {
    *ms = CLI_DURATION_INFINITE;
    return 0;
  }
  while (*p >= '0' && *p <= '9') {
    whole = whole * 10 + (*p - '0');
    if (whole > CLI_DURATION_MAX_MS)
      return -1;
    p++;
    digits++;
  }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      if (frac_scale < 1000000) { /* more digits than that change nothing */
        frac = frac * 10 + (*p - '0');
        frac_scale *= 10;
      }
      p++;
      digits++;
    }
  }
  if (digits == 0)
    return -1;
  if (*p == '\0' || strcmp(p, "s") == 0)
    unit = 1000;
  else if (strcmp(p, "ms") == 0)
    unit = 1;
  else if (strcmp(p, "m") == 0)
    unit = 60 * 1000;
  else if (strcmp(p, "h") == 0)
    unit = 3600 * 1000;
  else if (strcmp(p, "d") == 0)
    unit = 24 * 3600 * 1000;
  else
    return -1;
  if (whole > CLI_DURATION_MAX_MS / unit)
    return -1;
  /* Fractions round up to the next millisecond: "0.0001s" is 1 ms, not 0. */
  *ms = whole * unit + (frac * unit + frac_scale - 1) / frac_scale;
  if (*ms > CLI_DURATION_MAX_MS)
    return -1;
  return 0;
}

void cli_format_duration(int64_t ms, char *buf, size_t size) {
  if (ms < 0)
    (void)snprintf(buf, size, "inf");
  else if (ms % 1000 != 0)
    (void)snprintf(buf, size, "%lldms", (long long)ms);
  else
    (void)snprintf(buf, size, "%llds", (long long)(ms / 1000));
}
