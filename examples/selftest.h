/* SPDX-License-Identifier: MIT */
/* Self-test support shared by the examples: run a program as a tethered
 * child with its stdout on a pipe, wait for lines, describe how it ended.
 * Only the public API (tether.h) and the C library. */
#ifndef TETHER_EXAMPLES_SELFTEST_H
#define TETHER_EXAMPLES_SELFTEST_H

#include "tether.h"

typedef struct st_run {
  tether_child *child;
  char out[16384];
  size_t len;
} st_run;

/* Start argv as a tethered child, stdout on a pipe. 0 or a TETHER_E*. */
int st_start(st_run *r, const char *const *argv);
/* Wait up to ms for needle in the child's output: 1 found, 0 not. */
int st_expect(st_run *r, const char *needle, int ms);
/* Read to the end, wait up to ms for the exit, free the child: 1 ended
 * (*st set), 0 not (the child is killed). */
int st_end(st_run *r, int ms, tether_status *st);
/* "exited with code 0", "killed by SIGTERM", "killed by tether", ... */
const char *st_describe(const tether_status *st, char *buf, size_t size);
/* Fail the self-test with a message (printed; returns 1 for `return`). */
int st_fail(const char *what, const st_run *r);

#endif
