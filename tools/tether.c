/* tether: command-line front end. Subcommands live in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tether.h"

#ifdef _WIN32
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
        "  send [-g] KIND TARGET                   deliver interrupt, quit,\n"
        "                                         terminate, hangup, kill, user1\n"
        "                                         or user2 to a pid (or group)\n"
        "\n"
        "options:\n"
        "  -h, --help      show this help (also: tether <command> --help)\n"
        "  -V, --version   show the version\n",
        f);
}

int main(int argc, char **argv) {
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
  if (strcmp(argv[1], "send") == 0)
    return cli_send(argc - 1, argv + 1);
  fprintf(stderr, "tether: unknown command '%s' (try 'tether --help')\n",
          argv[1]);
  return CLI_EXIT_FAILURE;
}
