/* SPDX-License-Identifier: MIT */
/* Shared declarations of the tether command-line tool. */
#ifndef TETHER_TOOLS_CLI_H
#define TETHER_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

/* printf-style format checking of a function's arguments (GCC, clang;
 * also keeps clang's -Wformat-nonliteral quiet in the vfprintf wrappers). */
#if defined(__GNUC__)
#define CLI_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define CLI_PRINTF(fmt, first)
#endif

/* Exit statuses shared with env(1) and timeout(1). */
#define CLI_EXIT_FAILURE 125    /* tether itself failed (usage, system) */
#define CLI_EXIT_CANNOT_RUN 126 /* found but not executable */
#define CLI_EXIT_NOT_FOUND 127  /* program not found */

int cli_events(int argc, char **argv);
int cli_run(int argc, char **argv);

/* A duration that never ends ("inf"). */
#define CLI_DURATION_INFINITE (-1)

/* Parse a duration: a non-negative decimal number with an optional unit,
 * ms, s (the default, as timeout(1)), m, h or d ("500ms", "10s", "1.5m",
 * "3"), or "inf". Stores milliseconds (CLI_DURATION_INFINITE for "inf").
 * Returns 0, or -1 for anything else (negative, garbage, over 100 days). */
int cli_parse_duration(const char *s, int64_t *ms);

/* Format milliseconds as "10s", "500ms" or "inf". */
void cli_format_duration(int64_t ms, char *buf, size_t size);
int cli_send(int argc, char **argv);

/* The current process id. */
long cli_getpid(void);

#endif
