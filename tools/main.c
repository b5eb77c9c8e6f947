/* SPDX-License-Identifier: MIT */
/* tether: command-line front end. Subcommands live in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tether.h"

#ifdef _WIN32
#include <stdlib.h>
#include <windows.h>
long cli_getpid(void) { return (long)GetCurrentProcessId(); }
#else
#include <unistd.h>
long cli_getpid(void) { return (long)getpid(); }
#endif

static void usage(FILE *f) {
  fputs("usage: tether <command> [options]\n"
        "\n"
        "commands:\n"
        "  events [--json] [--count N] [KIND...]   print termination and control\n"
        "                                         events as they arrive\n"
        "  run [OPTIONS] -- PROGRAM [ARGS...]      run PROGRAM tethered, forward\n"
        "                                         events, end like it ended\n"
        "  send [-g] KIND TARGET                   deliver interrupt, quit,\n"
        "                                         terminate, hangup, kill, user1\n"
        "                                         or user2 to a pid (or group)\n"
        "\n"
        "options:\n"
        "  -h, --help      show this help (also: tether <command> --help)\n"
        "  -V, --version   show the version\n",
        f);
}

static int cli_main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_FAILURE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
    printf("tether %s\n", tether_version_string());
    return 0;
  }
  if (strcmp(argv[1], "events") == 0)
    return cli_events(argc - 1, argv + 1);
  if (strcmp(argv[1], "run") == 0)
    return cli_run(argc - 1, argv + 1);
  if (strcmp(argv[1], "send") == 0)
    return cli_send(argc - 1, argv + 1);
  fprintf(stderr, "tether: unknown command '%s' (try 'tether --help')\n", argv[1]);
  return CLI_EXIT_FAILURE;
}

#ifdef _WIN32
/*
 * Windows: the arguments are read as UTF-16 (wmain; MinGW links with
 * -municode) and converted to UTF-8, the encoding of tether's API. main()'s
 * argv would be in the ANSI code page: characters outside it become '?'
 * (or fail to convert at all), so `tether run -- prog héllo` could not pass
 * its arguments on unchanged. The C runtime splits the command line for
 * wmain exactly as it does for main. Unpaired surrogates (not valid UTF-16)
 * cannot be converted: exit 125 with a message.
 */
int wmain(int argc, wchar_t **wargv); /* the entry point; no header */
int wmain(int argc, wchar_t **wargv) {
  char **argv;
  int i, r;
  argv = (char **)calloc((size_t)argc + 1, sizeof(char *));
  if (argv == NULL) {
    fputs("tether: out of memory\n", stderr);
    return CLI_EXIT_FAILURE;
  }
  for (i = 0; i < argc; i++) {
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wargv[i], -1, NULL, 0, NULL, NULL);
    if (n <= 0 || (argv[i] = (char *)malloc((size_t)n)) == NULL ||
        WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wargv[i], -1, argv[i], n, NULL, NULL) !=
            n) {
      fprintf(stderr, "tether: argument %d is not valid UTF-16\n", i);
      r = CLI_EXIT_FAILURE;
      goto done;
    }
  }
  r = cli_main(argc, argv);
done:
  for (i = 0; i < argc; i++)
    free(argv[i]);
  free(argv);
  return r;
}
#else
int main(int argc, char **argv) { return cli_main(argc, argv); }
#endif
