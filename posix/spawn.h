/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to the POSIX backend's spawning files: posix/spawn.c (program
 * lookup, environment, stdio, detached children, the keeper path of
 * TETHER_SPAWN_CATCH_ESCAPEES, the backend contract) and posix/direct.c
 * (tethered children started by the calling thread, guarded by
 * tether-guard). docs/children.md has the design.
 */
#ifndef TETHER_POSIX_SPAWN_H
#define TETHER_POSIX_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

/* How a child was started. */
enum { TETHER__VIA_KEEPER = 0, TETHER__VIA_DETACHED, TETHER__VIA_DIRECT };

struct tether__os_child {
  tether_child *owner;
  pid_t pid;                     /* detached, direct: for the waiter thread */
  int via;                       /* TETHER__VIA_* */
  int detached;                  /* via == TETHER__VIA_DETACHED */
  unsigned gen;                  /* keeper generation (keeper path) */
  int release_done;              /* K.lock: the keeper let go of it */
  struct tether__os_child *next; /* K.lock: table of the keeper's children */
  /* detached and direct children: a thread waits for each */
  tether__thread *waiter;
  int released, in_callback, done; /* K.lock (detached), D lock (direct) */
  /* direct children: */
  int pidfd; /* Linux: a pidfd of the leader, or -1 */
};

/* Make fd close-on-exec: 0, or -1 with errno (posix/spawn.c). */
int tether__cloexec(int fd);
/* Linux: a close-on-exec pidfd of process pid (the caller's own unreaped
 * child, or known to be alive, so that the number is still its), or -1
 * with errno (ENOSYS: no pidfd_open, or not Linux). */
int tether__pidfd_open(pid_t pid);
/* A pipe / an AF_UNIX socket pair, both ends close-on-exec (atomically
 * where the system can: not on macOS): 0, or -1 with errno. */
int tether__pipe_cloexec(int p[2]);
int tether__socketpair_cloexec(int type, int sv[2]);
/* Hold (1) / release (0) around tether's own fork or posix_spawn: keeps
 * the two calls above out of it where they are not atomic (a no-op where
 * they are). */
void tether__cloexec_fork_lock(int hold);

/* Up to cap - 1 bytes (cap >= 1) of the file at path (a small /proc file)
 * into buf, NUL-terminated: the length, or -1 when it cannot be opened.
 * Async-signal-safe: the keeper uses it too (posix/spawn.c). */
ssize_t tether__read_file(const char *path, char *buf, size_t cap);

/* qsort/bsearch order of pid_t values. */
int tether__cmp_pid(const void *a, const void *b);

/* Is any process of group pgid alive (not a zombie)? (posix/spawn.c) */
int tether__group_alive(pid_t pgid);

#if !(defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__))
/* /proc: every group that has a live process (of the groups in want,
 * sorted, unless want is NULL), from one scan of the process table: 0 and
 * a malloc'ed sorted array, or -1 (no /proc, no memory). */
#define TETHER__LIVE_GROUPS 1
int tether__live_groups(const pid_t *want, size_t nwant, pid_t **ids, size_t *n);
#endif

/* The child is in the middle of this process's spawn: what it runs and
 * with which descriptors (parent-side numbers; -1: closed). */
typedef struct tether__spawn_plan {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  int stdio[3];
  const tether_spawn_options *opts;
} tether__spawn_plan;

/* posix/direct.c: the backend contract for TETHER__VIA_DIRECT children. */
int tether__direct_spawn(tether_child *c, const tether__spawn_plan *plan);
int tether__direct_signal(tether_child *c, int signo);
int tether__direct_wait_tree(tether_child *c, int timeout_ms);
void tether__direct_release(tether_child *c);
void tether__direct_forget(tether_child *c);
/* In a fork()ed child (posix/spawn.c's fork hook). */
void tether__direct_after_fork(void);
/* Test seam: nonzero = act as on Linux < 6.9 (no process-group pidfd
 * signals). */
extern int tether__direct_no_group_pidfd;
/* Test seam: nonzero = waitid(WEXITED) also returns stopped children, as
 * xnu's does. */
extern int tether__direct_waitid_stops;

#endif
