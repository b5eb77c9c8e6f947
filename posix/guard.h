/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE: the protocol between the library (posix/guard.c, posix/direct.c)
 * and tether-guard (posix/guard_main.c), the small program that kills the
 * tethered process groups of a program when the program ends, however it
 * ends. docs/children.md explains the design.
 *
 * Transport: one AF_UNIX socket pair per program, SOCK_SEQPACKET on Linux
 * (records, SCM_RIGHTS, SO_PASSCRED), SOCK_STREAM of fixed-size records
 * elsewhere. The guard's end is its descriptor 3. EOF (every copy of the
 * program's end closed: the program died or exec'd) means "kill them all".
 */
#ifndef TETHER_POSIX_GUARD_H
#define TETHER_POSIX_GUARD_H

#include <stdint.h>
#include <sys/types.h>

#if defined(__linux__)
#define TETHER__G_SOCK_TYPE SOCK_SEQPACKET
#else
#define TETHER__G_SOCK_TYPE SOCK_STREAM
#endif

/* The guard's socket in the guard. */
#define TETHER__G_FD 3

enum tether__gmsg_type {
  /* library (or a child between fork and exec) -> guard */
  TETHER__G_REGISTER = 1,   /* pid: a group to kill when the program ends;
                               Linux: a pidfd of it attached (SCM_RIGHTS) */
  TETHER__G_UNREGISTER = 2, /* pid: the program has reaped it: forget it */
  /* guard -> library */
  TETHER__G_HELLO = 10 /* pid: the guard's pid, once, at its start */
};

/* Every message, both ways. The sender's identity travels with each one, so
 * that the guard can drop to the program's credentials when the program
 * has dropped its own (the guard never keeps more privilege). */
typedef struct tether__gmsg {
  uint32_t type;
  int32_t pid;
  uint32_t ruid, euid, rgid, egid;
} tether__gmsg;

/* ---- library side (posix/guard.c) ---- */

/* The guard of this process, started if needed, held until
 * tether__guard_release(*conn): *sock is the descriptor a child registers
 * through (it stays open while held). TETHER_EHELPER when tether-guard
 * cannot be found or started. */
int tether__guard_acquire(void **conn, int *sock);
void tether__guard_release(void *conn);

/* A child found conn's guard gone (its registration failed with EPIPE,
 * ECONNRESET...): do now what the reader thread would do on EOF (start a
 * new guard for the tracked children), so that a retry gets the new one. */
void tether__guard_dead(void *conn);

/* A child could not register within 5 s: conn's guard is alive but
 * not reading (stopped). Leave it (its socket stays open: it would kill
 * what it holds at EOF) and move every tracked child to a new guard. */
void tether__guard_abandon(void *conn);

/* In a child between fork/vfork and exec, async-signal-safe: register the
 * calling process (a group leader) with the guard through sock. 0 or an
 * errno value. */
int tether__guard_register_self(int sock);

/* The parent, after the child registered (conn still held): remember it
 * (pidfd: a pidfd of it that the caller keeps open until untrack, or -1),
 * so that a new guard gets it again if this one dies; registers it with
 * the current guard if conn's died in between. 0, or an error (the child
 * is then not guarded: the caller kills it). */
int tether__guard_track(pid_t pid, int pidfd, void *conn);

/* The child is reaped (or was never started): forget it, tell the guard. */
void tether__guard_untrack(pid_t pid);

/* The pids of the tracked children (each leads its group), sorted, in a
 * malloc'ed array: 0, or -1 (no memory). */
int tether__guard_tracked(pid_t **ids, size_t *n);

/* The guard's pid, or -1 (tests). */
int64_t tether__guard_pid(void);

/* Around the vfork of a tethered child (1, then 0), by the spawning thread:
 * where vfork is a fork (sanitizers, valgrind), the fork handler then
 * leaves the guard's socket alone in that child. */
void tether__guard_spawning(int on);

/* In a fork()ed child of the program (the one fork handler). */
void tether__guard_after_fork(void);

#endif
