/* SPDX-License-Identifier: MIT */
/*
 * For the tests that compile core files on a fake backend: the OS queries
 * of core/kinds.c (backend.h), which the engines under test never make.
 * Each ends the program with a message if one is made after all.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"

static void not_for_the_engines(const char *what) {
  fprintf(stderr, "fake backend: the core called %s, which this test does not fake\n", what);
  abort();
}

int tether__os_signal_source(int signo, int *src) {
  (void)signo;
  (void)src;
  not_for_the_engines("tether__os_signal_source");
  return TETHER_ENOTSUP;
}

int tether__os_kind_sources(int kind, int *srcs, int max) {
  (void)kind;
  (void)srcs;
  (void)max;
  not_for_the_engines("tether__os_kind_sources");
  return TETHER_ENOTSUP;
}

const char *tether__os_signal_name(int signo) {
  (void)signo;
  not_for_the_engines("tether__os_signal_name");
  return NULL;
}

int tether__os_ignored_at_start(int signo) {
  (void)signo;
  not_for_the_engines("tether__os_ignored_at_start");
  return 0;
}
