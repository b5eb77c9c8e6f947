/* SPDX-License-Identifier: MIT */
/*
 * Tethered children on POSIX: the library side of the keeper design
 * (docs/children.md). Tethered children are started by the keeper process
 * (posix/keeper.c); detached children are started here with posix_spawn in
 * a session of their own and watched by a thread that waits for them.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, POSIX_SPAWN_SETSID */
#define _DARWIN_C_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/proc.h>   /* SZOMB */
#include <sys/sysctl.h> /* sysctl, struct kinfo_proc */
#elif defined(__FreeBSD__) || defined(__DragonFly__)
#include <sys/sysctl.h>
#include <sys/user.h> /* struct kinfo_proc, SZOMB */
#endif

#if defined(TETHER_LINUX)
#include <sys/syscall.h>
#endif

#include "backend.h"
#include "keeper.h"
#include "msg.h"
#include "spawn.h"
#include "guard.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

extern char **environ;

/* The keeper, as seen from the library. Zero-initialised; the descriptor
 * fields are meaningful only while `started`. */
static struct {
  tether__mutex *lock; /* everything below */
  tether__cond *cond;
  tether__mutex *spawn_lock; /* one request in the shared region at a time */
  int started, dead;
  unsigned gen;
  pid_t pid;
  int sock, lifeline;
  void *shm;
  tether__thread *reader;
  uint32_t next_id;
  struct tether__os_child *pending; /* the child of the request in flight */
  uint32_t reply_id;
  int reply_ready;
  pid_t reply_pid;
  int reply_err;
  struct tether__os_child *children;
} K;

/* Starting (or restarting) the keeper. */
static pthread_mutex_t tether__k_start = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */
/* ------------------------------------------------------------------------ */

int tether__cloexec(int fd) { return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0; }

int tether__pidfd_open(pid_t pid) {
#if defined(TETHER_LINUX) && defined(SYS_pidfd_open)
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0)
    (void)tether__cloexec(fd);
  return fd;
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

/* Where pipe2/SOCK_CLOEXEC exist, descriptors are made close-on-exec
 * atomically. Elsewhere (macOS) in a second call, under a read lock that
 * tether's own posix_spawn (the detached path: its child inherits every
 * descriptor that is not close-on-exec) takes for writing, as libuv's
 * cloexec_lock and Go's ForkLock do. A fork+exec made by the program's
 * own code in that window can still inherit one (docs/decisions.md). */
#if defined(__linux__) || defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) || \
    defined(__OpenBSD__)
#define TETHER__ATOMIC_CLOEXEC 1
#else
static pthread_rwlock_t tether__cloexec_lock = PTHREAD_RWLOCK_INITIALIZER;
#endif

/* A pipe (type < 0) or an AF_UNIX socket pair of that type, both ends
 * close-on-exec: 0, or -1 with errno and both ends -1. */
static int tether__pair_cloexec(int type, int p[2]) {
  int r;
#if defined(TETHER__ATOMIC_CLOEXEC)
  r = type < 0 ? pipe2(p, O_CLOEXEC) : socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, p);
#else
  (void)pthread_rwlock_rdlock(&tether__cloexec_lock);
  r = type < 0 ? pipe(p) : socketpair(AF_UNIX, type, 0, p);
  if (r == 0 && (tether__cloexec(p[0]) < 0 || tether__cloexec(p[1]) < 0)) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    r = -1;
  }
  (void)pthread_rwlock_unlock(&tether__cloexec_lock);
#endif
  if (r < 0)
    p[0] = p[1] = -1;
  return r;
}

int tether__pipe_cloexec(int p[2]) { return tether__pair_cloexec(-1, p); }

int tether__socketpair_cloexec(int type, int sv[2]) { return tether__pair_cloexec(type, sv); }

void tether__cloexec_fork_lock(int hold) {
#if defined(TETHER__ATOMIC_CLOEXEC)
  (void)hold;
#else
  if (hold)
    (void)pthread_rwlock_wrlock(&tether__cloexec_lock);
  else
    (void)pthread_rwlock_unlock(&tether__cloexec_lock);
#endif
}

void tether__os_close_handle(tether_os_handle h) {
  if (h >= 0)
    (void)close(h);
}

/* ------------------------------------------------------------------------ */
/* The process table: is any process of a group still alive?              */
/* ------------------------------------------------------------------------ */

ssize_t tether__read_file(const char *path, char *buf, size_t cap) {
  ssize_t n, len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  while ((size_t)len < cap - 1) {
    n = read(fd, buf + len, cap - 1 - (size_t)len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += n;
  }
  (void)close(fd);
  buf[len] = '\0';
  return len;
}

int tether__cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return x < y ? -1 : x > y;
}

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
/* macOS and the BSDs: sysctl KERN_PROC_PGRP lists a group's processes. */
int tether__group_alive(pid_t pgid) {
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PGRP, 0};
  struct kinfo_proc *kp;
  size_t len = 0, i, n;
  int alive = 0;
  mib[3] = (int)pgid;
  if (sysctl(mib, 4, NULL, &len, NULL, 0) < 0 || len == 0)
    return 0;
  len += 16 * sizeof(*kp);
  kp = (struct kinfo_proc *)malloc(len);
  if (kp == NULL)
    return 1; /* cannot tell: assume alive */
  if (sysctl(mib, 4, kp, &len, NULL, 0) < 0) {
    free(kp);
    return 1;
  }
  n = len / sizeof(*kp);
  for (i = 0; i < n && !alive; i++) {
#if defined(__APPLE__)
    alive = kp[i].kp_proc.p_stat != SZOMB;
#else
    alive = kp[i].ki_stat != SZOMB;
#endif
  }
  free(kp);
  return alive;
}
#else
/* Linux (both the native and the portable backend: the process table is
 * the one OS-specific query; /proc is how Linux publishes it). A process
 * is alive unless it is a zombie (Z) or dead (X). */

/* The state, parent and group of the process whose /proc name is pid (a
 * decimal string) from /proc/<pid>/stat: 0, or -1 when it is gone or
 * cannot be read. */
static int tether__proc_stat(const char *pid, char *state, long *ppid, long *pgrp) {
  char path[300], buf[512], *p;
  snprintf(path, sizeof(path), "/proc/%s/stat", pid);
  if (tether__read_file(path, buf, sizeof(buf)) <= 0)
    return -1;
  /* "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses,
   * so parse after the last ')'. */
  p = strrchr(buf, ')');
  if (p == NULL || sscanf(p + 1, " %c %ld %ld", state, ppid, pgrp) != 3)
    return -1;
  return 0;
}

static int tether__wanted(long pgrp, const pid_t *want, size_t nwant) {
  pid_t g = (pid_t)pgrp;
  return want == NULL || bsearch(&g, want, nwant, sizeof(*want), tether__cmp_pid) != NULL;
}

/* Each process of /proc (of the groups in want, sorted, when want is not
 * NULL): its group and whether it is alive. A process of another group
 * costs one getpgid() instead of a read of its stat file (a busy machine's
 * table of 4000 processes: ~1 ms instead of ~45 ms); its stat file decides
 * (a number recycled in between is read as what it is now). Returns 0 when
 * fn said stop, 1 at the end, -1 without /proc. */
static int tether__each_process(const pid_t *want, size_t nwant,
                                int (*fn)(long pgrp, int alive, void *arg), void *arg) {
  DIR *d = opendir("/proc");
  struct dirent *de;
  int r = 1;
  if (d == NULL)
    return -1;
  while (r == 1 && (de = readdir(d)) != NULL) {
    char state;
    long ppid, pgrp;
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    if (want != NULL) {
      pid_t g = getpgid((pid_t)atol(de->d_name));
      if (g < 0 || !tether__wanted((long)g, want, nwant))
        continue; /* gone, or another group */
    }
    if (tether__proc_stat(de->d_name, &state, &ppid, &pgrp) < 0)
      continue;
    if (!tether__wanted(pgrp, want, nwant))
      continue;
    if (!fn(pgrp, state != 'Z' && state != 'X', arg))
      r = 0;
  }
  closedir(d);
  return r;
}

static int tether__is_alive_in(long pgrp, int alive, void *arg) {
  return !(alive && pgrp == *(const long *)arg); /* found: stop */
}

int tether__group_alive(pid_t pgid) {
  long want = (long)pgid;
  int r = tether__each_process(&pgid, 1, tether__is_alive_in, &want);
  if (r < 0)
    return kill(-pgid, 0) == 0; /* no /proc: the best remaining answer */
  return r == 0;
}

typedef struct {
  pid_t *ids;
  size_t n, cap;
  int failed;
} tether__group_list;

static int tether__collect_group(long pgrp, int alive, void *arg) {
  tether__group_list *l = (tether__group_list *)arg;
  if (!alive)
    return 1;
  if (l->n == l->cap) {
    size_t cap = l->cap != 0 ? l->cap * 2 : 256;
    pid_t *t = (pid_t *)realloc(l->ids, cap * sizeof(*t));
    if (t == NULL) {
      l->failed = 1;
      return 0;
    }
    l->ids = t;
    l->cap = cap;
  }
  l->ids[l->n++] = (pid_t)pgrp;
  return 1;
}

int tether__live_groups(const pid_t *want, size_t nwant, pid_t **ids, size_t *n) {
  tether__group_list l = {NULL, 0, 0, 0};
  size_t i, k = 0;
  if (tether__each_process(want, nwant, tether__collect_group, &l) < 0 || l.failed) {
    free(l.ids);
    return -1;
  }
  /* None of the groups asked about may be alive: still an array (the
   * callers bsearch it; C leaves NULL with 0 elements undefined). */
  if (l.ids == NULL && (l.ids = (pid_t *)malloc(sizeof(*l.ids))) == NULL)
    return -1;
  if (l.n > 1)
    qsort(l.ids, l.n, sizeof(*l.ids), tether__cmp_pid);
  for (i = 0; i < l.n; i++)
    if (k == 0 || l.ids[k - 1] != l.ids[i])
      l.ids[k++] = l.ids[i];
  *ids = l.ids;
  *n = k;
  return 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* The keeper                                                               */
/* ------------------------------------------------------------------------ */

static struct tether__os_child *tether__find_locked(pid_t pid) {
  struct tether__os_child *o;
  for (o = K.children; o != NULL; o = o->next)
    if (o->owner->pid == pid && o->gen == K.gen)
      return o;
  return NULL;
}

static void tether__unlink_locked(struct tether__os_child *o) {
  struct tether__os_child **pp = &K.children;
  while (*pp != NULL && *pp != o)
    pp = &(*pp)->next;
  if (*pp == o)
    *pp = o->next;
  o->next = NULL;
}

/* The reader thread: everything the keeper says. */
static void tether__reader_main(void *arg) {
  unsigned gen = (unsigned)(uintptr_t)arg;
  for (;;) {
    tether__kmsg m;
    ssize_t n = recv(K.sock, &m, sizeof(m), 0);
    struct tether__os_child *o;
    if (n < 0 && errno == EINTR)
      continue;
    if (n != (ssize_t)sizeof(m))
      break; /* the keeper is gone */
    tether__mutex_lock(K.lock);
    switch (m.type) {
    case TETHER__K_SPAWNED:
      K.reply_id = m.id;
      K.reply_pid = (pid_t)m.pid;
      K.reply_err = m.err;
      K.reply_ready = 1;
      /* Enter it in the table now: its exit may be the very next message. */
      if (m.pid > 0 && K.pending != NULL) {
        K.pending->owner->pid = m.pid;
#if defined(TETHER_LINUX) && defined(SYS_pidfd_open)
        /* The keeper holds it unreaped: the number is still its. Kept so
         * that its group can be named if the keeper dies. */
        K.pending->pidfd = tether__pidfd_open((pid_t)m.pid);
#endif
        K.pending->gen = K.gen;
        K.pending->next = K.children;
        K.children = K.pending;
        K.pending = NULL;
      }
      tether__cond_broadcast(K.cond);
      tether__mutex_unlock(K.lock);
      break;
    case TETHER__K_EXITED:
      o = tether__find_locked((pid_t)m.pid);
      tether__mutex_unlock(K.lock);
      /* The release of this child waits for K_RELEASED, which the keeper
       * sends after this message: o stays valid while we report. */
      if (o != NULL)
        tether__child_exited(o->owner, m.status);
      break;
    case TETHER__K_RELEASED:
      o = tether__find_locked((pid_t)m.pid);
      if (o != NULL) {
        o->release_done = 1;
        tether__unlink_locked(o);
      }
      tether__cond_broadcast(K.cond);
      tether__mutex_unlock(K.lock);
      break;
    default:
      tether__mutex_unlock(K.lock);
      break;
    }
  }
  /* The keeper died (it only exits on its own when this process ends).
   * Its children die with it on Linux (parent-death signal), but not their
   * children: each group is killed here, through the leader's pidfd
   * (Linux 6.9+: that very group, whoever reaped the leader; before, by
   * group id while the leader still exists). Then they are reported as
   * killed and let go of. (setsid() escapees the keeper held as a
   * subreaper are not reachable any more: docs/children.md.) */
  for (;;) {
    struct tether__os_child *o;
    tether__mutex_lock(K.lock);
    if (K.gen == gen)
      K.dead = 1;
    o = K.children;
    while (o != NULL && o->gen != gen)
      o = o->next;
    if (o != NULL) {
      o->release_done = 1;
      tether__unlink_locked(o);
    }
    tether__cond_broadcast(K.cond);
    tether__mutex_unlock(K.lock);
    if (o == NULL)
      break;
#if defined(TETHER_LINUX) && defined(SYS_pidfd_send_signal)
    if (o->pidfd >= 0 &&
        syscall(SYS_pidfd_send_signal, o->pidfd, SIGKILL, NULL,
                4u /* PIDFD_SIGNAL_PROCESS_GROUP */) != 0 &&
        errno == EINVAL && syscall(SYS_pidfd_send_signal, o->pidfd, 0, NULL, 0) == 0)
      (void)kill(-(pid_t)o->owner->pid, SIGKILL);
#endif
    tether__child_exited(o->owner, (uint32_t)SIGKILL); /* "killed by 9" */
  }
}

/* In a fork()ed child of the program (including the keeper itself, which
 * closes everything anyway): the keeper and the children belong to the
 * parent. Close our copies of its descriptors, so that the keeper still
 * sees EOF when the parent ends, and start from nothing: a spawn in this
 * process starts a keeper of its own. The locks may have been held by
 * threads that do not exist here: make new ones (the old ones are left). */
void tether__spawn_after_fork(void) {
  tether__guard_after_fork();
  tether__direct_after_fork();
  if (K.started) {
    (void)close(K.sock);
    (void)close(K.lifeline);
  }
  K.started = 0;
  K.dead = 0;
  K.reader = NULL;
  K.children = NULL;
  K.lock = NULL;
  K.cond = NULL;
  K.spawn_lock = NULL;
  K.gen++;
  {
    /* Held by a thread that does not exist here, possibly. */
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&tether__k_start, &fresh, sizeof(fresh));
  }
}

/* tether__k_start held: the locks shared by every child. */
static int tether__k_sync_init(void) {
  int r;
  if (K.lock == NULL && (r = tether__mutex_new(&K.lock)) < 0)
    return r;
  if (K.cond == NULL && (r = tether__cond_new(&K.cond)) < 0)
    return r;
  if (K.spawn_lock == NULL && (r = tether__mutex_new(&K.spawn_lock)) < 0)
    return r;
  return 0;
}

/* tether__k_start held, the locks made: if the keeper died, release what
 * the library kept for it (its reader thread, which has ended or is ending,
 * descriptors, shared memory, the zombie), once no request uses its socket
 * any more. */
static void tether__keeper_cleanup(void) {
  int dead;
  if (!K.started)
    return;
  /* K.dead is the reader's (and a waiting spawn's) to set, under K.lock. */
  tether__mutex_lock(K.lock);
  dead = K.dead;
  tether__mutex_unlock(K.lock);
  if (!dead)
    return;
  tether__mutex_lock(K.spawn_lock);
  tether__thread_join(K.reader);
  K.reader = NULL;
  close(K.sock);
  close(K.lifeline);
  (void)munmap(K.shm, TETHER__K_SHM_SIZE);
  (void)waitpid(K.pid, NULL, WNOHANG);
  K.started = 0;
  tether__mutex_unlock(K.spawn_lock);
}

/* tether__k_start held. */
static int tether__keeper_start(void) {
  int sv[2] = {-1, -1}, life[2] = {-1, -1}, r, err;
  void *shm;
  pid_t pid;
  sigset_t all, old;

  if ((r = tether__k_sync_init()) < 0)
    return r;
  /* The previous keeper died: clean up after it, then start anew. */
  tether__keeper_cleanup();
  if (K.started)
    return 0;

  shm = mmap(NULL, TETHER__K_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shm == MAP_FAILED)
    return tether__translate_os_error(errno);
  if (tether__socketpair_cloexec(TETHER__K_SOCK_TYPE, sv) < 0 || tether__pipe_cloexec(life) < 0) {
    err = errno;
    goto fail;
  }
  /* No signal handler of the program may run in the keeper before it has
   * reset them all. */
  sigfillset(&all);
  (void)pthread_sigmask(SIG_SETMASK, &all, &old);
  pid = fork();
  if (pid == 0) {
    /* The keeper: never returns. */
    tether__keeper_main(life[0], sv[1], shm);
  }
  err = errno;
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0)
    goto fail;
  close(sv[1]);
  close(life[0]);
  tether__mutex_lock(K.lock);
  K.pid = pid;
  K.sock = sv[0];
  K.lifeline = life[1];
  K.shm = shm;
  K.gen++;
  K.dead = 0;
  K.started = 1;
  tether__mutex_unlock(K.lock);
  r = tether__thread_start(&K.reader, tether__reader_main, (void *)(uintptr_t)K.gen);
  if (r < 0) {
    /* Without a reader the keeper is useless: end it (EOF) and reap it. */
    close(K.sock);
    close(K.lifeline);
    (void)waitpid(pid, NULL, 0);
    (void)munmap(shm, TETHER__K_SHM_SIZE);
    K.started = 0;
    K.sock = K.lifeline = -1;
    return r;
  }
  return 0;
fail:
  if (sv[0] >= 0)
    close(sv[0]);
  if (sv[1] >= 0)
    close(sv[1]);
  if (life[0] >= 0)
    close(life[0]);
  if (life[1] >= 0)
    close(life[1]);
  (void)munmap(shm, TETHER__K_SHM_SIZE);
  return tether__translate_os_error(err);
}

/* ------------------------------------------------------------------------ */
/* Program lookup and environment                                          */
/* ------------------------------------------------------------------------ */

/* path made absolute against this process's current directory; malloc'ed,
 * or NULL with *err set. */
static char *tether__absolute(const char *path, int *err) {
  char dir[PATH_MAX], *r;
  if (path[0] == '/') {
    r = strdup(path);
  } else if (getcwd(dir, sizeof(dir)) == NULL) {
    *err = errno;
    return NULL;
  } else {
    r = (char *)malloc(strlen(dir) + strlen(path) + 2);
    if (r != NULL)
      sprintf(r, "%s/%s", dir, path);
  }
  if (r == NULL)
    *err = ENOMEM;
  return r;
}

/* Resolve argv[0] like execvp(), in this process's PATH, without running a
 * shell. Returns a malloc'ed path or NULL with *err set. */
static char *tether__resolve(const char *prog, unsigned flags, int *err) {
  const char *path, *p;
  char *cand = NULL;
  size_t plen = strlen(prog);
  int saw_eacces = 0;
  /* A relative program path is relative to this process's directory (as
   * on Windows), not to the child's cwd. */
  if ((flags & TETHER_SPAWN_NO_SEARCH) || strchr(prog, '/') != NULL)
    return tether__absolute(prog, err);
  path = getenv("PATH");
  if (path == NULL)
    path = "/usr/local/bin:/bin:/usr/bin"; /* glibc's default */
  for (p = path;; p++) {
    const char *end = strchr(p, ':');
    size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
    struct stat st;
    free(cand);
    cand = (char *)malloc(dlen + plen + 3);
    if (cand == NULL) {
      *err = ENOMEM;
      return NULL;
    }
    if (dlen == 0) {
      memcpy(cand, "./", 2); /* an empty entry means the current directory */
      memcpy(cand + 2, prog, plen + 1);
    } else {
      memcpy(cand, p, dlen);
      cand[dlen] = '/';
      memcpy(cand + dlen + 1, prog, plen + 1);
    }
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(cand, X_OK) == 0)
        break;
      saw_eacces = 1;
    }
    if (end == NULL) {
      free(cand);
      *err = saw_eacces ? EACCES : ENOENT;
      return NULL;
    }
    p = end;
  }
  /* A relative PATH entry is relative to this process's directory, but
   * the child may run elsewhere (cwd option): make it absolute. */
  {
    char *abs = tether__absolute(cand, err);
    free(cand);
    return abs;
  }
}

static int tether__name_matches(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* The child's environment as an array of pointers (into environ and
 * opts->env_set; not copies). malloc'ed; NULL on ENOMEM. */
static const char **tether__build_env(const tether_spawn_options *opts) {
  size_t n = 0, k = 0, i;
  const char **env;
  char **e;
  const char *const *s;
  if (!(opts->flags & TETHER_SPAWN_CLEAR_ENV))
    for (e = environ; e != NULL && *e != NULL; e++)
      n++;
  for (s = opts->env_set; s != NULL && *s != NULL; s++)
    n++;
  env = (const char **)malloc((n + 1) * sizeof(*env));
  if (env == NULL)
    return NULL;
  if (!(opts->flags & TETHER_SPAWN_CLEAR_ENV))
    for (e = environ; e != NULL && *e != NULL; e++) {
      int drop = 0;
      for (s = opts->env_unset; !drop && s != NULL && *s != NULL; s++)
        drop = tether__name_matches(*e, *s);
      for (s = opts->env_set; !drop && s != NULL && *s != NULL; s++) {
        size_t len = (size_t)(strchr(*s, '=') - *s);
        drop = strncmp(*e, *s, len + 1) == 0; /* replaced below */
      }
      if (!drop)
        env[k++] = *e;
    }
  /* env_set wins over env_unset; a later entry with the same name replaces
   * an earlier one. */
  for (s = opts->env_set; s != NULL && *s != NULL; s++) {
    for (i = 0; i < k; i++) {
      size_t len = (size_t)(strchr(*s, '=') - *s);
      if (strncmp(env[i], *s, len + 1) == 0)
        break;
    }
    if (i < k)
      env[i] = *s;
    else
      env[k++] = *s;
  }
  env[k] = NULL;
  return env;
}

/* Copy a request into the shared region (pointers valid in the keeper:
 * the mapping has the same address there). */
static int tether__write_request(void *shm, const char *path, const char *const *argv,
                                 const char **envp, const char *cwd,
                                 const tether_spawn_options *opts) {
  tether__kreq *req = (tether__kreq *)shm;
  char *base = (char *)shm, *p;
  size_t argc = 0, envc = 0, need, i;
  char **av, **ev;
  int *xt;
  while (argv[argc] != NULL)
    argc++;
  while (envp[envc] != NULL)
    envc++;
  need = sizeof(*req) + (argc + envc + 2) * sizeof(char *) + opts->nextra * sizeof(int) +
         strlen(path) + 1 + (cwd != NULL ? strlen(cwd) + 1 : 0);
  for (i = 0; i < argc; i++)
    need += strlen(argv[i]) + 1;
  for (i = 0; i < envc; i++)
    need += strlen(envp[i]) + 1;
  if (need > TETHER__K_SHM_SIZE)
    return TETHER_E2BIG;
  av = (char **)(base + sizeof(*req));
  ev = av + argc + 1;
  xt = (int *)(void *)(ev + envc + 1); /* pointer-aligned, so int-aligned */
  for (i = 0; i < opts->nextra; i++)
    xt[i] = opts->extra[i].target;
  req->nextra = (int)opts->nextra;
  req->extra_target = xt;
  p = (char *)(xt + opts->nextra);
#define TETHER__PUT(dst, src)    \
  do {                           \
    size_t l_ = strlen(src) + 1; \
    memcpy(p, (src), l_);        \
    (dst) = p;                   \
    p += l_;                     \
  } while (0)
  for (i = 0; i < argc; i++)
    TETHER__PUT(av[i], argv[i]);
  av[argc] = NULL;
  for (i = 0; i < envc; i++)
    TETHER__PUT(ev[i], envp[i]);
  ev[envc] = NULL;
  TETHER__PUT(req->path, path);
  if (cwd != NULL)
    TETHER__PUT(req->cwd, cwd);
  else
    req->cwd = NULL;
#undef TETHER__PUT
  req->argv = av;
  req->envp = ev;
  {
    static const int resources[] = {
        RLIMIT_CORE,       RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_STACK,
#ifdef RLIMIT_AS
        RLIMIT_AS,
#endif
#ifdef RLIMIT_NPROC
        RLIMIT_NPROC,
#endif
#ifdef RLIMIT_MEMLOCK
        RLIMIT_MEMLOCK,
#endif
#ifdef RLIMIT_NICE
        RLIMIT_NICE,
#endif
#ifdef RLIMIT_RTPRIO
        RLIMIT_RTPRIO,
#endif
#ifdef RLIMIT_MSGQUEUE
        RLIMIT_MSGQUEUE,
#endif
#ifdef RLIMIT_SIGPENDING
        RLIMIT_SIGPENDING,
#endif
    };
    req->nlimits = 0;
    for (i = 0; i < sizeof(resources) / sizeof(resources[0]) && i < TETHER__K_NLIMITS; i++)
      if (getrlimit(resources[i], &req->limit[req->nlimits]) == 0)
        req->resource[req->nlimits++] = resources[i];
  }
  req->ruid = getuid();
  req->euid = geteuid();
  req->rgid = getgid();
  req->egid = getegid();
  req->ngroups = getgroups((int)(sizeof(req->groups) / sizeof(req->groups[0])), req->groups);
  errno = 0;
  req->nice_value = getpriority(PRIO_PROCESS, 0);
  if (errno != 0)
    req->nice_value = 0;
  return 0;
}

/* The child's end of each stdio stream (-1: closed in the child) and, for
 * pipes, the parent's end. Every fd here is close-on-exec. */
static int tether__stdio_fds(const tether_spawn_options *opts, int child[3], int parent[3],
                             int owned[3]) {
  int i;
  for (i = 0; i < 3; i++) {
    child[i] = parent[i] = -1;
    owned[i] = 0;
  }
  for (i = 0; i < 3; i++) {
    const tether_stdio *s = &opts->stdio[i];
    int p[2];
    switch (s->mode) {
    case TETHER_STDIO_INHERIT:
      child[i] = fcntl(i, F_GETFD) < 0 ? -1 : i; /* closed stays closed */
      break;
    case TETHER_STDIO_NULL:
      child[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (child[i] < 0)
        return tether__translate_os_error(errno);
      owned[i] = 1;
      break;
    case TETHER_STDIO_PIPE:
      if (tether__pipe_cloexec(p) < 0)
        return tether__translate_os_error(errno);
      child[i] = i == 0 ? p[0] : p[1];
      parent[i] = i == 0 ? p[1] : p[0];
      owned[i] = 1;
      break;
    case TETHER_STDIO_HANDLE:
      if (s->handle < 0 || fcntl(s->handle, F_GETFD) < 0)
        return TETHER_EINVAL;
      child[i] = s->handle;
      break;
    default:
      return TETHER_EINVAL;
    }
  }
  return 0;
}

/* The extra descriptors: each source open, each target below the
 * descriptor limit the child will have (this process's, sent with the
 * request). Checked before anything is created. */
static int tether__extra_check(const tether_spawn_options *opts) {
  struct rlimit rl;
  size_t i;
  if (opts->nextra == 0)
    return 0;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    rl.rlim_cur = RLIM_INFINITY;
  for (i = 0; i < opts->nextra; i++) {
    const tether_extra_fd *x = &opts->extra[i];
    if (x->handle < 0 || fcntl(x->handle, F_GETFD) < 0)
      return TETHER_EINVAL;
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)x->target >= rl.rlim_cur)
      return TETHER_EINVAL;
  }
  return 0;
}

static void tether__close_owned(const int child[3], const int owned[3]) {
  int i;
  for (i = 0; i < 3; i++)
    if (owned[i] && child[i] >= 0)
      close(child[i]);
}

/* K.lock held, K.started: has the keeper died? A datagram socket says
 * nothing when its peer goes away, so the reader would wait for ever: mark
 * it dead and shut the socket down, which ends the reader's recv() (its
 * clean-up then lets go of the keeper's children). The keeper stays
 * unreaped (WNOWAIT) until the next start reaps it. Returns 0 while it
 * lives, else the error for a request it took with it: TETHER_EMFILE when
 * it could not set up its descriptors (exit codes 120, 123), else
 * TETHER_EIO. force: it is known to be gone (the socket refused). */
static int tether__keeper_gone_locked(int force) {
  siginfo_t si;
  int code = 0;
  memset(&si, 0, sizeof(si));
  if (waitid(P_PID, (id_t)K.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
    if (si.si_pid != K.pid && !force)
      return 0;
    if (si.si_pid == K.pid && si.si_code == CLD_EXITED)
      code = si.si_status;
  } else if (errno != ECHILD && !force) {
    return 0;
  }
  K.dead = 1;
  (void)shutdown(K.sock, SHUT_RDWR);
  tether__cond_broadcast(K.cond);
  tether__set_last_os_error(code == 120 || code == 123 ? EMFILE : EPIPE);
  return code == 120 || code == 123 ? TETHER_EMFILE : TETHER_EIO;
}

/* Send one message to the keeper with n descriptors (at most
 * TETHER__K_FDS_PER_MSG) attached. 0 or an error. */
static int tether__send_msg(const tether__kmsg *msg, const int *fds, int n) {
  tether__kmsg m = *msg;
  struct msghdr mh;
  struct iovec iov;
  TETHER__CTL(CMSG_SPACE(TETHER__K_FDS_PER_MSG * sizeof(int))) ctl;
  int busy = 0;
  tether__msg_init(&mh, &iov, &m, sizeof(m), NULL, 0);
  if (n > 0)
    tether__msg_put_fds(&mh, ctl.buf, fds, n);
  for (;;) {
    if (sendmsg(K.sock, &mh, 0) >= 0)
      return 0;
    if ((errno == ENOBUFS || errno == EAGAIN
#if defined(ETOOMANYREFS)
         || errno == ETOOMANYREFS
#endif
         ) &&
        busy < 2000) {
      /* Too many descriptors in flight (Linux: more than RLIMIT_NOFILE),
       * or a full receiver (macOS): the keeper is reading; try again. */
      struct timespec ts = {0, 1000000L};
      busy++;
      (void)nanosleep(&ts, NULL);
      continue;
    }
#if defined(ETOOMANYREFS)
    if (errno == ETOOMANYREFS) {
      tether__set_last_os_error(errno);
      return TETHER_EMFILE;
    }
#endif
    if (errno != EINTR) {
      /* Linux says ECONNREFUSED once the keeper is gone; other systems may
       * say something else: ask whether it still lives. */
      int e = errno, r;
      tether__mutex_lock(K.lock);
      r = tether__keeper_gone_locked(e == ECONNREFUSED);
      tether__mutex_unlock(K.lock);
      return r < 0 ? r : tether__translate_os_error(e);
    }
  }
}

static int tether__send_spawn(uint32_t id, const int child[3]) {
  tether__kmsg m;
  int fds[3], n = 0, i;
  memset(&m, 0, sizeof(m));
  m.type = TETHER__K_SPAWN;
  m.id = id;
  for (i = 0; i < 3; i++)
    if (child[i] >= 0) {
      fds[n++] = child[i];
      m.arg |= TETHER__KF_STDIO(i);
    }
  return tether__send_msg(&m, fds, n);
}

/* The extra descriptors of request id, in messages of at most
 * TETHER__K_FDS_PER_MSG, before its TETHER__K_SPAWN. When one cannot be
 * sent after others were, the keeper is told to drop them. */
static int tether__send_extra(uint32_t id, const tether_spawn_options *opts) {
  int fds[TETHER__K_FDS_PER_MSG], r;
  size_t done = 0;
  while (done < opts->nextra) {
    tether__kmsg m;
    int n = 0;
    memset(&m, 0, sizeof(m));
    m.type = TETHER__K_EXTRA;
    m.id = id;
    while (n < TETHER__K_FDS_PER_MSG && done + (size_t)n < opts->nextra) {
      fds[n] = opts->extra[done + (size_t)n].handle;
      n++;
    }
    m.arg = (uint32_t)n;
    if ((r = tether__send_msg(&m, fds, n)) < 0) {
      if (done > 0) {
        memset(&m, 0, sizeof(m));
        m.type = TETHER__K_DROP;
        m.id = id;
        (void)tether__send_msg(&m, NULL, 0);
      }
      return r;
    }
    done += (size_t)n;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Detached children: posix_spawn here, a thread waits for each            */
/* ------------------------------------------------------------------------ */

static void tether__waiter_main(void *arg) {
  struct tether__os_child *o = (struct tether__os_child *)arg;
  int st = 0;
  pid_t pid = o->pid; /* not o->owner: it may be freed by now */
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  tether__mutex_lock(K.lock);
  if (o->released) {
    /* Released while it ran: this thread owns o now. */
    tether__mutex_unlock(K.lock);
    free(o);
    return;
  }
  o->in_callback = 1;
  tether__mutex_unlock(K.lock);
  tether__child_exited(o->owner, (uint32_t)st);
  tether__mutex_lock(K.lock);
  o->in_callback = 0;
  o->done = 1;
  tether__cond_broadcast(K.cond);
  tether__mutex_unlock(K.lock);
}

static int tether__spawn_detached(tether_child *c, const char *path, const char *const *argv,
                                  const char **envp, const tether_spawn_options *opts,
                                  const int child[3]) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  sigset_t none, all;
  pid_t pid;
  int r, i, top = 2, *copy = NULL;
  size_t x, ncopy = 0;
  short fl = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  struct tether__os_child *o;
#if defined(POSIX_SPAWN_SETSID)
  fl |= POSIX_SPAWN_SETSID;
#else
  fl |= POSIX_SPAWN_SETPGROUP; /* no setsid in posix_spawn: a group of its own */
#endif
  /* Extra descriptors: each source is copied above the highest target
   * (close-on-exec), so that no dup2 action can overwrite a source that a
   * later one needs, in whatever order the targets come. */
  if (opts->nextra > 0) {
    copy = (int *)malloc(opts->nextra * sizeof(*copy));
    if (copy == NULL)
      return TETHER_ENOMEM;
    for (x = 0; x < opts->nextra; x++)
      if (opts->extra[x].target > top)
        top = opts->extra[x].target;
    for (ncopy = 0; ncopy < opts->nextra; ncopy++) {
#if defined(F_DUPFD_CLOEXEC)
      copy[ncopy] = fcntl(opts->extra[ncopy].handle, F_DUPFD_CLOEXEC, top + 1);
#else
      copy[ncopy] = fcntl(opts->extra[ncopy].handle, F_DUPFD, top + 1);
      if (copy[ncopy] >= 0)
        (void)tether__cloexec(copy[ncopy]);
#endif
      if (copy[ncopy] < 0) {
        int e = errno == EINVAL ? EMFILE : errno; /* above the limit */
        while (ncopy > 0)
          close(copy[--ncopy]);
        free(copy);
        tether__set_last_os_error(e);
        return tether__translate_os_error(e);
      }
    }
  }
#define TETHER__FREE_COPIES() \
  do {                        \
    while (ncopy > 0)         \
      close(copy[--ncopy]);   \
    free(copy);               \
  } while (0)
  o = (struct tether__os_child *)calloc(1, sizeof(*o));
  if (o == NULL) {
    TETHER__FREE_COPIES();
    return TETHER_ENOMEM;
  }
  o->owner = c;
  o->via = TETHER__VIA_DETACHED;
  o->detached = 1;
  if ((r = posix_spawnattr_init(&attr)) != 0) {
    TETHER__FREE_COPIES();
    free(o);
    return tether__translate_os_error(r);
  }
  if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
    posix_spawnattr_destroy(&attr);
    TETHER__FREE_COPIES();
    free(o);
    return tether__translate_os_error(r);
  }
  sigemptyset(&none);
  sigfillset(&all);
  r = posix_spawnattr_setflags(&attr, fl);
  if (r == 0)
    r = posix_spawnattr_setsigmask(&attr, &none);
  if (r == 0)
    r = posix_spawnattr_setsigdefault(&attr, &all);
  for (i = 0; i < 3 && r == 0; i++) {
    if (child[i] < 0)
      continue; /* closed here, so closed in the child: no close action
                 * (xnu fails posix_spawn with EBADF on one, glibc ignores) */
    if (child[i] != i)
      r = posix_spawn_file_actions_adddup2(&fa, child[i], i);
    /* else: the parent's own stdio, inherited as it is */
  }
  for (x = 0; x < ncopy && r == 0; x++)
    r = posix_spawn_file_actions_adddup2(&fa, copy[x], opts->extra[x].target);
  if (r == 0 && opts->cwd != NULL)
    r = posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
  if (r == 0) {
    tether__cloexec_fork_lock(1);
    r = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, (char *const *)envp);
    tether__cloexec_fork_lock(0);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  TETHER__FREE_COPIES();
#undef TETHER__FREE_COPIES
  if (r != 0) {
    free(o);
    return tether__translate_os_error(r);
  }
  c->pid = pid;
  c->os = o;
  o->pid = pid;
  r = tether__thread_start(&o->waiter, tether__waiter_main, o);
  if (r < 0) {
    /* Cannot watch it: it keeps running detached, but tether cannot
     * report it; refuse honestly (it is already running, so kill it). */
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    c->os = NULL;
    free(o);
    return r;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The backend contract                                                     */
/* ------------------------------------------------------------------------ */

int tether__os_spawn(tether_child *c, const char *const *argv, const tether_spawn_options *opts) {
  int child[3], parent[3], owned[3], r, err = 0, i;
  char *path = NULL;
  const char **envp = NULL;
  struct tether__os_child *o = NULL;
  uint32_t id;

  /* A tethered child always has a process group of its own here; terminal
   * signals reach it when it is given the terminal (tcsetpgrp). */
  if (opts->flags & TETHER_SPAWN_CONSOLE_GROUP)
    return TETHER_ENOTSUP;
#if !defined(TETHER_LINUX)
  if (opts->flags & TETHER_SPAWN_CATCH_ESCAPEES)
    return TETHER_ENOTSUP; /* no subreaper */
#endif
  for (i = 0; i < 3; i++)
    child[i] = parent[i] = -1, owned[i] = 0;
  r = tether__extra_check(opts);
  if (r == 0)
    r = tether__stdio_fds(opts, child, parent, owned);
  if (r < 0)
    goto finish;
  path = tether__resolve(argv[0], opts->flags, &err);
  if (path == NULL) {
    r = tether__translate_os_error(err);
    goto finish;
  }
  envp = tether__build_env(opts);
  if (envp == NULL) {
    r = TETHER_ENOMEM;
    goto finish;
  }
  if (opts->flags & TETHER_SPAWN_DETACHED) {
    (void)pthread_mutex_lock(&tether__k_start);
    r = tether__k_sync_init();
    (void)pthread_mutex_unlock(&tether__k_start);
    if (r == 0)
      r = tether__spawn_detached(c, path, argv, envp, opts, child);
    goto finish;
  }
  if (!(opts->flags & TETHER_SPAWN_CATCH_ESCAPEES)) {
    tether__spawn_plan plan;
    plan.path = path;
    plan.argv = (char *const *)argv;
    plan.envp = (char *const *)envp;
    plan.cwd = opts->cwd;
    for (i = 0; i < 3; i++)
      plan.stdio[i] = child[i];
    plan.opts = opts;
    r = tether__direct_spawn(c, &plan);
    goto finish;
  }

  o = (struct tether__os_child *)calloc(1, sizeof(*o));
  if (o == NULL) {
    r = TETHER_ENOMEM;
    goto finish;
  }
  o->pidfd = -1;
  o->owner = c;
  (void)pthread_mutex_lock(&tether__k_start);
  r = tether__keeper_start();
  (void)pthread_mutex_unlock(&tether__k_start);
  if (r < 0)
    goto finish;

  tether__mutex_lock(K.spawn_lock);
  r = tether__write_request(K.shm, path, argv, envp, opts->cwd, opts);
  if (r == 0) {
    tether__mutex_lock(K.lock);
    id = ++K.next_id;
    K.reply_ready = 0;
    K.pending = o;
    tether__mutex_unlock(K.lock);
    r = tether__send_extra(id, opts);
    if (r == 0)
      r = tether__send_spawn(id, child);
    if (r == 0) {
      tether__mutex_lock(K.lock);
      int gone = 0;
      /* Every 50 ms without a reply: is the keeper still there? */
      while (!(K.reply_ready && K.reply_id == id) && !K.dead)
        if (tether__cond_wait(K.cond, K.lock, 50) == 0 && !(K.reply_ready && K.reply_id == id) &&
            !K.dead)
          gone = tether__keeper_gone_locked(0);
      if (K.reply_ready && K.reply_id == id && K.reply_pid > 0) {
        c->os = o; /* the reader entered it in the table */
        o = NULL;
      } else if (K.reply_ready && K.reply_id == id) {
        r = tether__translate_os_error(K.reply_err);
      } else {
        r = gone < 0 ? gone : TETHER_EIO; /* the keeper died during the request */
      }
      K.pending = NULL;
      tether__mutex_unlock(K.lock);
    } else {
      tether__mutex_lock(K.lock);
      K.pending = NULL;
      tether__mutex_unlock(K.lock);
    }
  }
  tether__mutex_unlock(K.spawn_lock);
  {
    /* A keeper that died during this request is released now, not at the
     * next spawn (its reader thread would wait unjoined till then). */
    int dead;
    tether__mutex_lock(K.lock);
    dead = K.dead;
    tether__mutex_unlock(K.lock);
    if (dead) {
      (void)pthread_mutex_lock(&tether__k_start);
      tether__keeper_cleanup();
      (void)pthread_mutex_unlock(&tether__k_start);
    }
  }

finish:
  if (r == 0)
    for (i = 0; i < 3; i++)
      c->stdio[i] = parent[i];
  else
    for (i = 0; i < 3; i++)
      if (parent[i] >= 0)
        close(parent[i]);
  tether__close_owned(child, owned);
  free(o);
  free(envp);
  free(path);
  return r;
}

/* Signal the tree. Tethered: the leader is unreaped (the keeper keeps it
 * until release), so the group id is ours. Detached: its own session id,
 * valid while it has not exited. */
static int tether__signal_tree(tether_child *c, int signo) {
  pid_t pgid = (pid_t)c->pid;
  if (c->os->via == TETHER__VIA_DIRECT)
    return tether__direct_signal(c, signo);
  if (c->os->detached) {
    if (tether__locked_read(c->lock, &c->exited))
      return TETHER_ESRCH;
    return kill(-pgid, signo) == 0 ? 0 : tether__translate_os_error(errno);
  }
  if (!tether__group_alive(pgid))
    return TETHER_ESRCH;
  if (kill(-pgid, signo) == 0)
    return 0;
  return tether__translate_os_error(errno);
}

int tether__os_child_signal(tether_child *c, int kind) {
  int signo; /* POSIX sources are signal numbers (source.c) */
  if (tether__os_kind_sources(kind, &signo, 1) != 1)
    return TETHER_EINVAL;
  return tether__signal_tree(c, signo);
}

int tether__os_child_signal_native(tether_child *c, int signo) {
  if (tether__os_signal_name(signo) == NULL)
    return TETHER_EINVAL;
  return tether__signal_tree(c, signo);
}

int tether__os_child_kill(tether_child *c) { return tether__signal_tree(c, SIGKILL); }

/* Is the process pid stopped by job control (state T)? 1, 0, or 1 when
 * this system cannot tell (a SIGCONT too many is harmless). Only the
 * leader is looked at: one read, not a scan of the process table. */
static int tether__stopped(pid_t pid) {
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, 0};
  struct kinfo_proc kp;
  size_t len = sizeof(kp);
  mib[3] = (int)pid;
  if (sysctl(mib, 4, &kp, &len, NULL, 0) < 0)
    return 1;
  if (len == 0)
    return 0; /* gone */
#if defined(__APPLE__)
  return kp.kp_proc.p_stat == SSTOP;
#else
  return kp.ki_stat == SSTOP;
#endif
#else
  char name[24], state;
  long ppid, pgrp;
  snprintf(name, sizeof(name), "%ld", (long)pid);
  if (tether__proc_stat(name, &state, &ppid, &pgrp) < 0)
    return 1; /* gone (then harmless), or no /proc */
  return state == 'T';
#endif
}

int tether__os_child_continue(tether_child *c) {
  int stopped = tether__stopped((pid_t)c->pid);
  int r = tether__signal_tree(c, SIGCONT);
  return r < 0 ? r : stopped;
}

int tether__os_child_wait_tree(tether_child *c, int timeout_ms) {
  uint64_t deadline = 0;
  if (c->os != NULL && c->os->via == TETHER__VIA_DIRECT)
    return tether__direct_wait_tree(c, timeout_ms);
  long pause_us = 200;
  if (timeout_ms > 0)
    deadline = tether__now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    struct timespec ts;
    if (!tether__group_alive((pid_t)c->pid))
      return 1;
    if (timeout_ms == 0 || (timeout_ms > 0 && tether__now_ns() >= deadline))
      return 0;
    ts.tv_sec = 0;
    ts.tv_nsec = pause_us * 1000L;
    (void)nanosleep(&ts, NULL);
    if (pause_us < 1000) /* at most 1 ms late; a scan costs ~0.2 ms */
      pause_us *= 2;
  }
}

void tether__os_child_forget(tether_child *c) {
  struct tether__os_child *o = c->os;
  if (o != NULL && o->via == TETHER__VIA_DIRECT) {
    tether__direct_forget(c);
    return;
  }
  c->os = NULL;
  if (o == NULL)
    return;
  if (o->detached && o->waiter != NULL)
    tether__thread_forget(o->waiter); /* that thread is the parent's */
  free(o);
}

void tether__os_child_release(tether_child *c) {
  struct tether__os_child *o = c->os;
  if (o == NULL)
    return;
  if (o->via == TETHER__VIA_DIRECT) {
    tether__direct_release(c);
    return;
  }
  c->os = NULL;
  if (o->detached) {
    int join;
    tether__thread *w;
    tether__mutex_lock(K.lock);
    o->released = 1;
    while (o->in_callback)
      tether__cond_wait(K.cond, K.lock, -1);
    join = o->done;
    w = o->waiter; /* once unlocked, o belongs to the waiter unless done */
    tether__mutex_unlock(K.lock);
    if (join) {
      tether__thread_join(w);
      free(o);
    } else {
      tether__thread_detach(w); /* it frees o when the child exits */
    }
    return;
  }
  tether__mutex_lock(K.lock);
  if (!o->release_done && o->gen == K.gen && !K.dead) {
    tether__kmsg m;
    memset(&m, 0, sizeof(m));
    m.type = TETHER__K_RELEASE;
    m.pid = (int32_t)c->pid;
    tether__mutex_unlock(K.lock);
    while (send(K.sock, &m, sizeof(m), 0) < 0 && errno == EINTR) {
    }
    tether__mutex_lock(K.lock);
    while (!o->release_done && !K.dead)
      tether__cond_wait(K.cond, K.lock, -1);
  }
  tether__unlink_locked(o);
  tether__mutex_unlock(K.lock);
  if (o->pidfd >= 0)
    (void)close(o->pidfd);
  free(o);
}
