/* SPDX-License-Identifier: MIT */
/*
 * supervisor: run three tethered workers; on terminate (or Ctrl+C), stop
 * them with the graceful sequence within a deadline and report how each
 * ended.
 *
 *   supervisor               run until terminated
 *   supervisor --self-test   start a supervisor, terminate it, check
 *
 * The workers are this program again (`supervisor --worker N`), each
 * stubborn in its own way:
 *   worker 0  leaves on interrupt or terminate (exit code 0);
 *   worker 1  ignores interrupt; terminate ends it the default way;
 *   worker 2  ignores interrupt and terminate: it has to be killed.
 * The stop sequence (interrupt, 1 s; terminate, 1 s; kill) runs for all
 * three in parallel on tether's stop thread because the shutdown token owns
 * them (tether_token_attach), so the whole stop takes about 2 s, not 6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest.h"
#include "tether.h"

#define NWORKERS 3

static const tether_stop_step stop_steps[] = {{TETHER_EVENT_INTERRUPT, 1000},
                                              {TETHER_EVENT_TERMINATE, 1000}};

/* ---- a worker ----------------------------------------------------------- */

static int worker(int n) {
  tether_channel *ch;
  tether_event ev;
  if (tether_channel_new(&ch, NULL) != 0 ||
      tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED) != 0)
    return 3;
  if (n != 1 && tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0) != 0)
    return 3;
  printf("worker %d ready\n", n); /* the supervisor's stdout */
  fflush(stdout);
  for (;;) {
    if (tether_channel_wait(ch, &ev, -1) != 1)
      return 4;
    if (n == 0) {
      fprintf(stderr, "worker 0: %s: leaving\n", tether_kind_name(ev.kind));
      tether_channel_free(ch);
      return 0;
    }
    fprintf(stderr, "worker %d: ignoring %s\n", n, tether_kind_name(ev.kind));
  }
}

/* ---- the supervisor ----------------------------------------------------- */

typedef struct sup {
  const char *self;
  tether_child *w[NWORKERS];
} sup;

static int supervise(tether_token *token, void *userdata) {
  sup *s = (sup *)userdata;
  int i, r;
  uint64_t t0;
  for (i = 0; i < NWORKERS; i++) {
    char n[8];
    const char *argv[4];
    snprintf(n, sizeof(n), "%d", i);
    argv[0] = s->self;
    argv[1] = "--worker";
    argv[2] = n;
    argv[3] = NULL;
    if ((r = tether_spawn(&s->w[i], argv, NULL)) != 0 ||
        (r = tether_token_attach(token, s->w[i], stop_steps, 2)) != 0) {
      fprintf(stderr, "supervisor: worker %d: %s\n", i, tether_strerror(r));
      return 1;
    }
    printf("worker %d: pid %lld\n", i, (long long)tether_child_pid(s->w[i]));
  }
  printf("supervising\n");
  fflush(stdout);
  if ((r = tether_token_wait(token, -1)) != 1)
    return 1;
  {
    tether_cause c;
    tether_token_cause(token, &c);
    printf("stopping on %s\n",
           c.source == TETHER_CAUSE_EVENT ? tether_kind_name(c.event.kind) : "request");
  }
  t0 = tether_now_ns();
  /* The token's stop thread is already at work; wait for it, 10 s at most
   * (the sequence itself needs about 2 s plus the kill). */
  if (tether_token_wait_stopped(token, 10000) != 1)
    printf("deadline passed\n");
  for (i = 0; i < NWORKERS; i++) {
    tether_status st;
    char d[64];
    if (tether_child_wait(s->w[i], 0, &st) == 1)
      printf("worker %d: %s\n", i, st_describe(&st, d, sizeof(d)));
    else
      printf("worker %d: still running\n", i);
    tether_child_free(s->w[i]);
  }
  printf("all stopped in %llu ms\n", (unsigned long long)((tether_now_ns() - t0) / 1000000u));
  fflush(stdout);
  return 0; /* tether_main exits like the terminate that stopped us */
}

/* ---- self-test ---------------------------------------------------------- */

static int self_test(const char *self) {
  const char *argv[2];
  st_run r;
  tether_status st;
  char d[64];
  int failed = 0;
  argv[0] = self;
  argv[1] = NULL;
  if (st_start(&r, argv) != 0)
    return st_fail("spawn the supervisor", NULL);
  if (!st_expect(&r, "supervising", 10000))
    return st_fail("the supervisor did not start its workers", &r);
  /* Let the workers install their handlers before the stop begins. */
  if (!st_expect(&r, "worker 0 ready", 10000) || !st_expect(&r, "worker 1 ready", 10000) ||
      !st_expect(&r, "worker 2 ready", 10000))
    return st_fail("the workers did not start", &r);
  if (tether_child_signal(r.child, TETHER_EVENT_TERMINATE) != 0)
    return st_fail("send terminate to the supervisor", &r);
  if (!st_end(&r, 20000, &st))
    return st_fail("the supervisor did not end", &r);
  printf("%s--- supervisor %s\n", r.out, st_describe(&st, d, sizeof(d)));
  if (strstr(r.out, "stopping on terminate") == NULL)
    failed |= st_fail("no 'stopping on terminate'", &r);
  if (strstr(r.out, "worker 0: exited with code 0") == NULL)
    failed |= st_fail("worker 0 should leave on its own", &r);
#ifdef _WIN32
  /* Console workers get neither Ctrl+C (shared console) nor, without a
   * window, WM_CLOSE: worker 0 watches terminate (tether's hidden window)
   * and leaves; worker 1 has no window, so it is killed like worker 2. */
  if (strstr(r.out, "worker 1: killed by tether") == NULL)
    failed |= st_fail("worker 1 should be killed", &r);
  if (st.raw != 143)
    failed |= st_fail("the supervisor should exit with 143 (terminate)", &r);
#else
  if (strstr(r.out, "worker 1: killed by SIGTERM") == NULL)
    failed |= st_fail("worker 1 should die by SIGTERM", &r);
  if (st.kind != TETHER_STATUS_SIGNAL || st.signo != 15)
    failed |= st_fail("the supervisor should die by SIGTERM", &r);
#endif
  if (strstr(r.out, "worker 2: killed by tether") == NULL)
    failed |= st_fail("worker 2 should be killed", &r);
  if (strstr(r.out, "deadline passed") != NULL || strstr(r.out, "still running") != NULL)
    failed |= st_fail("the stop missed its deadline", &r);
  printf("supervisor self-test: %s\n", failed ? "FAILED" : "passed");
  return failed;
}

int main(int argc, char **argv) {
  sup s;
  int r;
  if (argc == 3 && strcmp(argv[1], "--worker") == 0)
    return worker(atoi(argv[2]));
  if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
    return self_test(argv[0]);
  memset(&s, 0, sizeof(s));
  s.self = argv[0];
  r = tether_main(NULL, supervise, &s);
  fprintf(stderr, "supervisor: %s\n", tether_strerror(r));
  return 1;
}
