/* SPDX-License-Identifier: MIT */
/*
 * tether send [-g|--group] KIND TARGET
 *
 * Delivers one event to a process (or process group) that tether did not
 * start, through tether_send(). Exit status: 0 delivered, 1 the delivery
 * failed (one line on stderr with tether_strerror()), 125 usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tether.h"

static void send_usage(FILE *f) {
  fputs("usage: tether send [-g|--group] KIND TARGET\n"
        "\n"
        "Deliver one event to process TARGET (a pid), or with -g to the\n"
        "process group TARGET.\n"
        "KIND (any case): interrupt quit terminate hangup kill user1 user2,\n"
        "      or a signal name with or without SIG: INT QUIT TERM HUP KILL\n"
        "      USR1 USR2 (SIGINT is interrupt, ...). Numbers are not accepted.\n"
        "\n"
        "  -g, --group  TARGET is a process group (POSIX: killpg; Windows:\n"
        "               a console process group, quit only)\n"
        "  -h, --help   show this help\n"
        "\n"
        "POSIX: kill()/killpg() with SIGINT, SIGQUIT, SIGTERM, SIGHUP,\n"
        "SIGKILL, SIGUSR1, SIGUSR2.\n"
        "Windows: interrupt is Ctrl+C and quit Ctrl+Break on TARGET's console\n"
        "(every process on that console gets it, as if typed there);\n"
        "terminate and hangup post WM_CLOSE to TARGET's windows; kill is\n"
        "TerminateProcess (exit code 137); user1 and user2 do not exist.\n"
        "\n"
        "Exit status: 0 delivered; 1 not delivered (no such process, not\n"
        "permitted, not supported for this target or OS); 125 usage error.\n",
        f);
}

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int same_nocase(const char *a, const char *b) {
  while (*a != '\0' && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

/* KIND -> a tether kind (TETHER_KILL for kill), or -1. */
static int parse_kind(const char *s) {
  static const struct {
    const char *name, *sig;
    int kind;
  } kinds[] = {
      {"interrupt", "INT", TETHER_EVENT_INTERRUPT},
      {"quit", "QUIT", TETHER_EVENT_QUIT},
      {"terminate", "TERM", TETHER_EVENT_TERMINATE},
      {"hangup", "HUP", TETHER_EVENT_HANGUP},
      {"kill", "KILL", TETHER_KILL},
      {"user1", "USR1", TETHER_EVENT_USER1},
      {"user2", "USR2", TETHER_EVENT_USER2},
  };
  size_t i;
  const char *bare = s;
  if (ascii_lower((unsigned char)s[0]) == 's' && ascii_lower((unsigned char)s[1]) == 'i' &&
      ascii_lower((unsigned char)s[2]) == 'g')
    bare = s + 3;
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (same_nocase(s, kinds[i].name) || same_nocase(bare, kinds[i].sig))
      return kinds[i].kind;
  return -1;
}

/* TARGET -> a pid in 1..2147483647, or 0. Decimal digits only. */
static long long parse_pid(const char *s) {
  const char *p;
  long long v = 0;
  if (*s == '\0')
    return 0;
  for (p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    v = v * 10 + (*p - '0');
    if (v > 2147483647LL)
      return 0;
  }
  return v;
}

static const char *kind_word(int kind) {
  return kind == TETHER_KILL ? "kill" : tether_kind_name(kind);
}

int cli_send(int argc, char **argv) {
  const char *args[2];
  int nargs = 0, group = 0, kind, i, r, opts_done = 0;
  long long pid;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && strcmp(a, "--") == 0) {
      opts_done = 1;
    } else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
      send_usage(stdout);
      return 0;
    } else if (!opts_done && (strcmp(a, "-g") == 0 || strcmp(a, "--group") == 0)) {
      group = 1;
    } else if (!opts_done && a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9')) {
      fprintf(stderr, "tether send: unknown option '%s' (try 'tether send --help')\n", a);
      return CLI_EXIT_FAILURE;
    } else if (nargs < 2) {
      args[nargs++] = a;
    } else {
      fprintf(stderr, "tether send: unexpected argument '%s' (try 'tether send --help')\n", a);
      return CLI_EXIT_FAILURE;
    }
  }
  if (nargs < 2) {
    fprintf(stderr, "tether send: %s (try 'tether send --help')\n",
            nargs == 0 ? "missing KIND and TARGET" : "missing TARGET");
    return CLI_EXIT_FAILURE;
  }
  kind = parse_kind(args[0]);
  if (kind < 0) {
    fprintf(stderr,
            "tether send: unknown kind '%s' (interrupt quit terminate hangup kill "
            "user1 user2)\n",
            args[0]);
    return CLI_EXIT_FAILURE;
  }
  pid = parse_pid(args[1]);
  if (pid <= 0) {
    fprintf(stderr, "tether send: '%s' is not a %s id (a number from 1 to 2147483647%s)\n", args[1],
            group ? "process group" : "process",
            args[1][0] == '-' && !group ? "; -g sends to a process group" : "");
    return CLI_EXIT_FAILURE;
  }
#ifdef _WIN32
  /* Ctrl+C and Ctrl+Break go to a whole console, which may be this
   * process's own: watch both so that tether's handler absorbs them
   * instead of the default handler ending this process before it reports.
   * The channel is never freed: the event may still be on its way when
   * tether_send() returns, and the process ends right after. */
  if (kind == TETHER_EVENT_INTERRUPT || kind == TETHER_EVENT_QUIT) {
    tether_channel *ch = NULL;
    if (tether_channel_new(&ch, NULL) == 0) {
      (void)tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED);
      (void)tether_channel_watch(ch, TETHER_EVENT_QUIT, TETHER_WATCH_IGNORED);
    }
  }
#endif
  r = tether_send((int64_t)pid, kind, group ? TETHER_SEND_GROUP : 0u);
  if (r < 0) {
    fprintf(stderr, "tether send: cannot send %s to %s %lld: %s\n", kind_word(kind),
            group ? "process group" : "process", pid, tether_strerror(r));
    return 1;
  }
  return 0;
}
