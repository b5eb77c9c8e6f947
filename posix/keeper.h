/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE: the protocol between the library (posix/spawn.c) and its keeper
 * process (posix/keeper.c). docs/children.md explains the design.
 *
 * Transport: a SOCK_DGRAM socketpair (message boundaries, SCM_RIGHTS for
 * the child's stdio and extra descriptors) plus a pipe whose EOF tells the keeper that the
 * program has ended (the lifeline). Spawn requests (argv, envp, path, cwd)
 * travel in a MAP_SHARED anonymous region created before the keeper was
 * forked, so pointers in it are valid in both processes; one request at a
 * time (the library serialises spawns).
 */
#ifndef TETHER_POSIX_KEEPER_H
#define TETHER_POSIX_KEEPER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The socket between library and keeper: SOCK_SEQPACKET where there is one
 * (Linux: message boundaries, SCM_RIGHTS, and EOF when the keeper dies;
 * SOCK_DGRAM never reports a dead peer), SOCK_DGRAM elsewhere. */
#if defined(__linux__)
#define TETHER__K_SOCK_TYPE SOCK_SEQPACKET
#else
#define TETHER__K_SOCK_TYPE SOCK_DGRAM
#endif

/* Resource limits the keeper takes from the program at every spawn, so that
 * a child gets the program's limits of that moment (and the keeper's own
 * fork is checked against them, RLIMIT_NPROC included). */
#define TETHER__K_NLIMITS 16

/* Size of the shared request region: argv + environment + paths. Linux
 * accepts at most 3/4 of _STK_LIM (8 MiB), 6 MiB, of argument and
 * environment strings and pointers (fs/exec.c, with `ulimit -s unlimited`;
 * a quarter of the stack limit below 24 MiB): 8 MiB holds that plus the
 * request, the paths and the extra descriptors' numbers, so that the
 * kernel, not this region, says E2BIG. Shared anonymous memory takes pages
 * only where a request writes. */
#define TETHER__K_SHM_SIZE ((size_t)8 << 20)

/* Children the keeper tracks at once. */
#define TETHER__K_MAX_CHILDREN 16384

/* Extra descriptors (tether_spawn_options.extra): at most this many per
 * spawn (TETHER_SPAWN_MAX_EXTRA), carried in TETHER__K_EXTRA messages of at
 * most TETHER__K_FDS_PER_MSG each (Linux refuses more than SCM_MAX_FD = 253
 * in one message). */
#define TETHER__K_MAX_EXTRA 4096
#define TETHER__K_FDS_PER_MSG 250

enum tether__kmsg_type {
  /* library -> keeper */
  TETHER__K_SPAWN = 1,   /* request in the shared region; fds attached */
  TETHER__K_RELEASE = 2, /* pid: kill the tree (unless detached), reap */
  /* id, arg = n: the next n extra descriptors of request id, attached in
   * order; sent before that request's TETHER__K_SPAWN */
  TETHER__K_EXTRA = 3,
  /* id: forget the extra descriptors received for request id (the
   * library could not send the whole request) */
  TETHER__K_DROP = 4,
  /* keeper -> library */
  TETHER__K_SPAWNED = 10, /* id, pid or -1, err = errno */
  TETHER__K_EXITED = 11,  /* pid, status (a wait status) */
  TETHER__K_RELEASED = 12 /* pid: no more messages about it */
};

/* Spawn flags carried in tether__kmsg.arg. */
#define TETHER__KF_DETACHED 1u
#define TETHER__KF_STDIN 2u  /* an fd for stdin is attached */
#define TETHER__KF_STDOUT 4u /* ... for stdout */
#define TETHER__KF_STDERR 8u /* ... for stderr */
/* The flag for stdio stream i (0, 1, 2). */
#define TETHER__KF_STDIO(i) (TETHER__KF_STDIN << (i))

typedef struct tether__kmsg {
  uint32_t type;
  uint32_t id;
  int32_t pid;
  int32_t err;
  uint32_t arg;
  uint32_t status;
} tether__kmsg;

/* The request in the shared region (all pointers point into the region). */
typedef struct tether__kreq {
  const char *path;  /* program to execve */
  char *const *argv; /* NULL-terminated */
  char *const *envp; /* NULL-terminated */
  const char *cwd;   /* or NULL */
  int nlimits;
  int resource[TETHER__K_NLIMITS];
  struct rlimit limit[TETHER__K_NLIMITS];
  /* The program's identity and priority at the moment of the spawn: the
   * child takes them when they differ from the keeper's (a program that
   * dropped privileges after its first spawn must not get children with
   * the old ones). */
  uid_t ruid, euid;
  gid_t rgid, egid;
  int ngroups; /* -1: unknown, leave as is */
  gid_t groups[64];
  int nice_value;
  /* Extra descriptors: nextra targets (in the region), in the order of
   * the descriptors of the TETHER__K_EXTRA messages. */
  int nextra;
  const int *extra_target;
} tether__kreq;

/* A wait status (WIFEXITED/WIFSIGNALED encoding) from waitid's siginfo of
 * an exited child. Async-signal-safe. */
uint32_t tether__wait_status(const siginfo_t *si);

/* Run the keeper; never returns. Called in the child of fork() with every
 * signal blocked. Only async-signal-safe calls inside. */
void tether__keeper_main(int lifeline_fd, int sock_fd, void *shm);

/* posix/spawn.c, called by the one fork handler (posix/bell.c) in a
 * fork()ed child: the keeper and its children belong to the parent. */
void tether__spawn_after_fork(void);

#endif
