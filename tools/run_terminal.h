/* SPDX-License-Identifier: MIT */
/*
 * tether run: the terminal and job control (tools/run_terminal.c). POSIX:
 * the hand-over of the terminal to the program's group (--foreground, or
 * by default with the sentinel), its modes, Ctrl+Z and fg/bg. Windows: the
 * program shares tether's console; these calls do nothing (the queries
 * answer 0), so that cmd_run.c calls them on every system.
 */
#ifndef TETHER_TOOLS_RUN_TERMINAL_H
#define TETHER_TOOLS_RUN_TERMINAL_H

#include <stdint.h>

#include "cli.h"
#include "tether.h"

/* One line on stderr with -v (tools/cmd_run.c). */
CLI_PRINTF(1, 2)
void run_log(const char *fmt, ...);

#if defined(__linux__)
/* /proc/<pid>/stat after "pid (comm) ", or NULL. */
const char *run_proc_stat_fields(long pid, char *buf, size_t size);
#endif

/* Watch SIGTSTP and SIGCONT on ch (job control). 0, or -1 after a message
 * on stderr. */
int run_term_watch(tether_channel *ch);

/* Before the spawn: with --foreground (foreground != 0), or by default when
 * stdin and stdout are a terminal, open the terminal and save its modes. */
void run_term_open(int foreground);

/* After the spawn, and on fg: give the terminal to the program's group. */
void run_term_give(tether_child *c);

/* The program stopped or ended: take the terminal back. */
void run_term_take_back(void);

/* How long the run loop may wait: wait_ms (-1: no deadline), or at most
 * 50 ms while the program's state is polled. */
int run_term_wait_ms(int wait_ms);

/* After each wait: when the program stopped (Ctrl+Z), take the terminal
 * back and stop tether. */
void run_term_check_stopped(tether_child *c);

/* SIGTSTP to tether: stop the program's group, then tether. */
void run_term_on_stop(tether_child *c);

/* SIGCONT to tether: continue the program's group. */
void run_term_on_continue(tether_child *c);

/* Before tether's own terminate (the stop sequence): continue the
 * program's group, so that a stopped program acts on it, as the library's
 * stop engine and coreutils timeout do (POSIX SIGCONT; Windows nothing). */
void run_term_continue(tether_child *c);

/* 1 when pid is the sentinel's (it relays the terminal's Ctrl+C). */
int run_term_is_sentinel(int64_t pid);

/* 1 while the program's group holds the terminal. */
int run_term_handed(void);

/* 1 when the terminal has hung up. */
int run_term_hung_up(void);

/* Stop the sentinel (the program ended, or the run failed). */
void run_term_stop_sentinel(void);

/* At exit: take the terminal back, restore the modes saved at start, close
 * the terminal. */
void run_term_restore(void);

#endif
