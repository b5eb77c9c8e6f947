/* SPDX-License-Identifier: MIT */
/*
 * tether events [--json] [--count N] [KIND...]
 *
 * Opens a channel for the given kinds (default: every kind this OS can
 * deliver) and prints one line per event. Stops after N events, or on the
 * second interrupt when interrupt is watched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tether.h"

static void events_usage(FILE *f) {
  fputs("usage: tether events [--json] [--count N] [KIND...]\n"
        "\n"
        "Print termination and control events as they arrive, one line each.\n"
        "KIND: interrupt quit terminate hangup logoff shutdown user1 user2\n"
        "      resize child, or a POSIX signal by name (SIGALRM) or number.\n"
        "Default: every kind this OS can deliver, except child.\n"
        "\n"
        "  --json      one JSON object per line; the first line is\n"
        "              {\"ready\":true,\"pid\":N} once every kind is watched\n"
        "  --count N   stop after N events (default: run until the second\n"
        "              interrupt)\n"
        "  -h, --help  show this help\n"
        "\n"
        "A kind given by name is watched even if the signal was ignored when\n"
        "tether started (nohup, background jobs); in the default set such\n"
        "kinds are skipped with a note on stderr.\n",
        f);
}

/* Parse "SIGALRM", "ALRM" or "14" into a signal number, or 0. */
static int parse_signal(const char *s) {
  char *end;
  long n;
  int signo;
  if (s[0] >= '0' && s[0] <= '9') {
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || n <= 0 || n > 1000)
      return 0;
    return (int)n;
  }
  for (signo = 1; signo < 128; signo++) {
    const char *name = tether_signal_name(signo);
    if (name == NULL)
      continue;
    if (strcmp(name, s) == 0 || strcmp(name + 3, s) == 0)
      return signo;
  }
  return 0;
}

static void print_event(const tether_event *ev, int json) {
  const char *kind = tether_kind_name(ev->kind);
  if (json) {
    printf("{\"kind\":\"%s\",\"native\":\"%s\",\"code\":%d,\"count\":%llu,", kind,
           ev->native != NULL ? ev->native : "", ev->code, (unsigned long long)ev->count);
    if (ev->pid >= 0)
      printf("\"pid\":%lld,", (long long)ev->pid);
    else
      fputs("\"pid\":null,", stdout);
    if (ev->uid >= 0)
      printf("\"uid\":%lld,", (long long)ev->uid);
    else
      fputs("\"uid\":null,", stdout);
    printf("\"time_ns\":%llu,", (unsigned long long)ev->time_ns);
    if (ev->time_left_ms >= 0)
      printf("\"time_left_ms\":%lld}\n", (long long)ev->time_left_ms);
    else
      fputs("\"time_left_ms\":null}\n", stdout);
  } else {
    printf("%-9s %-16s code=%d count=%llu", kind, ev->native != NULL ? ev->native : "", ev->code,
           (unsigned long long)ev->count);
    if (ev->pid >= 0)
      printf(" pid=%lld", (long long)ev->pid);
    if (ev->uid >= 0)
      printf(" uid=%lld", (long long)ev->uid);
    if (ev->time_left_ms >= 0)
      printf(" time_left_ms=%lld", (long long)ev->time_left_ms);
    putchar('\n');
  }
  fflush(stdout);
}

/* Watch one argument; returns 0 or prints an error and returns -1. */
static int watch_arg(tether_channel *ch, const char *arg, int *watches_interrupt) {
  int kind = tether_kind_from_name(arg), r, signo;
  if (kind > 0 && kind != TETHER_EVENT_SIGNAL) {
    r = tether_channel_watch(ch, kind, TETHER_WATCH_IGNORED);
    if (r == 0 && kind == TETHER_EVENT_INTERRUPT)
      *watches_interrupt = 1;
  } else {
    signo = parse_signal(arg);
    if (signo == 0) {
      fprintf(stderr, "tether events: unknown kind or signal '%s'\n", arg);
      return -1;
    }
    r = tether_channel_watch_signal(ch, signo, TETHER_WATCH_IGNORED);
    if (r == 0 && tether_kind_from_name("interrupt") > 0 && tether_signal_name(signo) != NULL &&
        strcmp(tether_signal_name(signo), "SIGINT") == 0)
      *watches_interrupt = 1;
  }
  if (r < 0) {
    fprintf(stderr, "tether events: cannot watch '%s': %s\n", arg, tether_strerror(r));
    return -1;
  }
  return 0;
}

int cli_events(int argc, char **argv) {
  tether_channel *ch = NULL;
  tether_event ev;
  int json = 0, i, r, nkinds = 0, watches_interrupt = 0, interrupts = 0;
  long count = -1, seen = 0;
  int status = CLI_EXIT_FAILURE;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--count") == 0 || strncmp(argv[i], "--count=", 8) == 0) {
      const char *v = argv[i][7] == '=' ? argv[i] + 8 : NULL;
      char *end;
      if (v == NULL) {
        if (i + 1 >= argc) {
          fprintf(stderr, "tether events: --count needs a number\n");
          return CLI_EXIT_FAILURE;
        }
        v = argv[++i];
      }
      errno = 0;
      count = strtol(v, &end, 10);
      if (errno != 0 || *end != '\0' || end == v || count < 1) {
        fprintf(stderr, "tether events: --count: '%s' is not a positive number\n", v);
        return CLI_EXIT_FAILURE;
      }
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      events_usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      fprintf(stderr, "tether events: unknown option '%s'\n", argv[i]);
      return CLI_EXIT_FAILURE;
    } else {
      break;
    }
  }

  r = tether_channel_new(&ch, NULL);
  if (r < 0) {
    fprintf(stderr, "tether events: cannot open a channel: %s\n", tether_strerror(r));
    return CLI_EXIT_FAILURE;
  }
  if (i < argc) {
    for (; i < argc; i++) {
      if (watch_arg(ch, argv[i], &watches_interrupt) < 0)
        goto finish;
      nkinds++;
    }
  } else {
    int k;
    /* Kinds are numbered densely from 1; no name past the last. */
    for (k = 1; tether_kind_name(k) != NULL; k++) {
      if (k == TETHER_EVENT_CHILD || k == TETHER_EVENT_SIGNAL || tether_kind_supported(k) != 1)
        continue;
      r = tether_channel_watch(ch, k, 0);
      if (r == TETHER_EIGNORED) {
        fprintf(stderr,
                "tether events: not watching %s: it was ignored when tether "
                "started (name it to watch it anyway)\n",
                tether_kind_name(k));
        continue;
      }
      if (r < 0) {
        fprintf(stderr, "tether events: cannot watch %s: %s\n", tether_kind_name(k),
                tether_strerror(r));
        goto finish;
      }
      if (k == TETHER_EVENT_INTERRUPT)
        watches_interrupt = 1;
      nkinds++;
    }
  }
  if (nkinds == 0) {
    fprintf(stderr, "tether events: nothing to watch\n");
    goto finish;
  }
  if (json)
    printf("{\"ready\":true,\"pid\":%ld}\n", cli_getpid());
  else
    printf("ready: pid %ld, waiting for events%s\n", cli_getpid(),
           watches_interrupt && count < 0 ? " (second interrupt stops)" : "");
  fflush(stdout);

  status = 0;
  while (count < 0 || seen < count) {
    r = tether_channel_wait(ch, &ev, -1);
    if (r < 0) {
      fprintf(stderr, "tether events: %s\n", tether_strerror(r));
      status = CLI_EXIT_FAILURE;
      break;
    }
    if (r == 0)
      continue;
    print_event(&ev, json);
    /* Windows close/logoff/shutdown: the event is printed, nothing else to
     * clean up, so let the OS go on at once. */
    (void)tether_channel_ack(ch, &ev);
    seen++;
    if (ev.kind == TETHER_EVENT_INTERRUPT && count < 0) {
      interrupts += (int)(ev.count > 1 ? 2 : 1);
      if (interrupts >= 2)
        break;
    }
  }
finish:
  tether_channel_free(ch);
  return status;
}
