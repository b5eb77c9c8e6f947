/* Shared declarations of the tether command-line tool. */
#ifndef TETHER_TOOLS_CLI_H
#define TETHER_TOOLS_CLI_H

/* Exit statuses shared with env(1) and timeout(1). */
#define CLI_EXIT_FAILURE 125 /* tether itself failed (usage, system) */

int cli_events(int argc, char **argv);
int cli_send(int argc, char **argv);

/* The current process id. */
long cli_getpid(void);

#endif
