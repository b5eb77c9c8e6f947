/* SPDX-License-Identifier: MIT */
/*
 * Tethered children started by the calling thread (docs/children.md,
 * "POSIX: the child is the caller's"): vfork() + execve() like glibc's
 * posix_spawn, so the child is this process's own child with everything
 * the calling thread has at that moment (directory, umask, limits,
 * credentials, capabilities, seccomp filters, namespaces, cgroup, affinity,
 * ignored signals...), except what tethering needs: a process group of its
 * own, an empty signal mask, handled signals at their default, no
 * descriptor but stdio and the chosen extra ones.
 *
 * Between vfork and execve the child registers its group with tether-guard
 * through this process's guard socket (posix/guard.c): a program killed at
 * any instant leaves no unregistered child, because the child's copy of the
 * socket keeps the guard from seeing EOF until the child has registered
 * and exec'd.
 *
 * Exits are seen by one thread watching every child's pidfd (Linux), or
 * by one thread per child blocked in waitid(WEXITED | WNOWAIT): no signal
 * handler, no polling; the leader stays unreaped (a zombie) until
 * tether_child_free(), so its process-group id cannot be recycled while
 * tether may signal the group. If the program reaps it itself, tether
 * signals and reaps only through the pidfd, never by a number that may
 * have been recycled (elsewhere: only while the number is still a child
 * of this process; docs/children.md).
 */
#if defined(__linux__)
#define _GNU_SOURCE /* vfork, close_range, pidfd */
#else
#define _DARWIN_C_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/syscall.h>
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) || \
    defined(__OpenBSD__)
#include <sys/event.h>
#define TETHER__D_KQUEUE 1
#endif

#include "guard.h"
#include "keeper.h" /* tether__wait_status */
#include "spawn.h"

#if defined(NSIG)
#define TETHER__D_NSIG NSIG
#else
#define TETHER__D_NSIG 65
#endif

#if defined(TETHER_LINUX) && defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
#define TETHER__D_PIDFD 1
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2)
#endif
#endif
#if defined(TETHER__D_PIDFD) && !defined(P_PIDFD)
#define P_PIDFD 3 /* Linux 5.4 */
#endif
#if defined(TETHER_LINUX) && defined(SYS_close_range)
#define TETHER__D_CLOSE_RANGE 1
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#endif
#endif

/* The raw status reported when someone else reaped the child (the program's
 * own waitpid(-1), SIGCHLD ignored): tether_status_decode gives
 * TETHER_STATUS_UNKNOWN. */
#define TETHER__RAW_UNKNOWN 0xFFFFFFFFu

static pthread_mutex_t tether__d_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tether__d_cond = PTHREAD_COND_INITIALIZER;

/* Steps of the child, reported with errno through the error pipe. */
enum { TETHER__D_SETUP = 1, TETHER__D_REGISTER = 2, TETHER__D_EXEC = 3 };

/* Everything the child does, prepared by the parent: the child only makes
 * system calls with it (it shares the parent's memory under vfork). */
typedef struct tether__d_child {
  const tether__spawn_plan *plan;
  int src[3]; /* what becomes 0..2; -1: closed */
  int nextra;
  const int *xsrc; /* parent-side sources, moved out of the way */
  const int *xtgt;
  int err_fd;          /* write end of the error pipe (close-on-exec) */
  int guard_fd;        /* the guard's socket (close-on-exec) */
  int reset_ignored;   /* TETHER_SPAWN_RESET_SIGNALS */
  const int *open_fds; /* descriptors >= 3 to make close-on-exec, when */
  int n_open;          /* close_range cannot */
  int use_close_range;
} tether__d_child;

static void tether__d_report(int fd, int step, int err) {
  int msg[2];
  ssize_t w;
  msg[0] = step;
  msg[1] = err != 0 ? err : EINVAL;
  w = write(fd, msg, sizeof(msg));
  (void)w;
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void
tether__d_child_main(const tether__d_child *d) {
  const tether__spawn_plan *p = d->plan;
  struct sigaction dfl;
  sigset_t none;
  int i, s;

  if (setpgid(0, 0) < 0)
    goto setup_failed;
    /* Nothing but stdio and the extra descriptors crosses the exec. */
#if defined(TETHER__D_CLOSE_RANGE)
  if (d->use_close_range) {
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
      goto setup_failed;
  } else
#endif
  {
    for (i = 0; i < d->n_open; i++)
      (void)fcntl(d->open_fds[i], F_SETFD, FD_CLOEXEC);
  }
  for (i = 0; i < 3; i++) {
    if (d->src[i] < 0)
      (void)close(i);
    else if (d->src[i] != i && dup2(d->src[i], i) < 0) /* clears FD_CLOEXEC */
      goto setup_failed;
  }
  for (i = 0; i < d->nextra; i++) {
    if (d->xsrc[i] == d->xtgt[i]) {
      if (fcntl(d->xtgt[i], F_SETFD, 0) < 0)
        goto setup_failed;
    } else if (dup2(d->xsrc[i], d->xtgt[i]) < 0) {
      goto setup_failed;
    }
  }
  if (p->cwd != NULL && chdir(p->cwd) < 0)
    goto setup_failed;
  /* Handled signals back to their default (a handler of the program must
   * never run here); ignored ones stay ignored, as across any exec, unless
   * asked. Every signal is blocked until just before execve. */
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (s = 1; s < TETHER__D_NSIG; s++) {
    struct sigaction cur;
    if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &cur) != 0)
      continue;
    if (cur.sa_handler == SIG_DFL)
      continue;
    if (cur.sa_handler == SIG_IGN && !d->reset_ignored)
      continue;
    (void)sigaction(s, &dfl, NULL);
  }
  /* Last, when nothing else can fail but execve: from here on the guard
   * kills this group if the program ends. */
  if ((s = tether__guard_register_self(d->guard_fd)) != 0) {
    tether__d_report(d->err_fd, TETHER__D_REGISTER, s);
    _exit(127);
  }
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  execve(p->path, p->argv, p->envp);
  tether__d_report(d->err_fd, TETHER__D_EXEC, errno);
  _exit(127);
setup_failed:
  tether__d_report(d->err_fd, TETHER__D_SETUP, errno);
  _exit(127);
}

/* vfork in a function of its own: nothing of the caller's frame is live
 * across it (-Wclobbered), and the child never returns from here. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static pid_t
tether__d_start(const tether__d_child *d) {
  pid_t pid;
#if defined(__APPLE__)
  tether__cloexec_fork_lock(1); /* no pipe of tether's half made */
  pid = fork();                 /* macOS 12+ deprecates vfork, which is a fork there */
  if (pid != 0)
    tether__cloexec_fork_lock(0);
#else
  pid = vfork();
#endif
  if (pid == 0)
    tether__d_child_main(d);
  return pid;
}

/* ---- the parent's preparation ---- */

static int tether__d_is_target(int fd, const int *tgt, int n, int top3) {
  int i;
  if (fd >= 0 && fd < top3)
    return 1;
  for (i = 0; i < n; i++)
    if (tgt[i] == fd)
      return 1;
  return 0;
}

/* A close-on-exec copy of fd above min. */
static int tether__d_dup_above(int fd, int min) {
#if defined(F_DUPFD_CLOEXEC)
  int d = fcntl(fd, F_DUPFD_CLOEXEC, min);
#else
  int d = fcntl(fd, F_DUPFD, min);
  if (d >= 0)
    (void)fcntl(d, F_SETFD, FD_CLOEXEC);
#endif
  if (d < 0 && errno == EINVAL)
    errno = EMFILE; /* min is at or above the limit */
  return d;
}

/* The child's error pipe, close-on-exec, both ends where no dup2 of the
 * child can overwrite them (above top when at a target). 0 or an error;
 * ep[] holds -1 for what does not exist. */
static int tether__d_error_pipe(int ep[2], const int *xtgt, int nextra, int top) {
  int i;
  ep[0] = ep[1] = -1;
  if (tether__pipe_cloexec(ep) < 0) {
    ep[0] = ep[1] = -1;
    return tether__translate_os_error(errno);
  }
  for (i = 0; i < 2; i++) {
    if (tether__d_is_target(ep[i], xtgt, nextra, 3)) {
      int m = tether__d_dup_above(ep[i], top + 1);
      if (m < 0)
        return tether__translate_os_error(errno);
      (void)close(ep[i]);
      ep[i] = m;
    }
  }
  return 0;
}

/* The descriptors >= 3 open in this process (for systems without
 * close_range): malloc'ed, *n set; NULL with *n = 0 when they cannot be
 * listed. */
static int *tether__d_list_fds(int *n) {
  DIR *dir;
  struct dirent *de;
  int *v = NULL, cap = 0, self;
  *n = 0;
  dir = opendir("/dev/fd");
  if (dir == NULL)
    return NULL;
  self = dirfd(dir);
  while ((de = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(de->d_name, &end, 10);
    if (*end != '\0' || de->d_name[0] == '\0' || fd < 3 || fd == self)
      continue;
    if (*n == cap) {
      int *t = (int *)realloc(v, (size_t)(cap = cap ? cap * 2 : 64) * sizeof(int));
      if (t == NULL)
        break;
      v = t;
    }
    v[(*n)++] = (int)fd;
  }
  closedir(dir);
  return v;
}

#if defined(TETHER__D_CLOSE_RANGE)
/* close_range(CLOSE_RANGE_CLOEXEC) needs Linux 5.11: 1 yes, 0 no. */
static int tether__d_have_close_range(void) {
  static int known; /* 0 unknown, 1 yes, 2 no */
  if (known == 0) {
    /* A range that holds no descriptor changes nothing. */
    int r = (int)syscall(SYS_close_range, ~0u - 1, ~0u, CLOSE_RANGE_CLOEXEC);
    known = r == 0 ? 1 : 2;
  }
  return known == 1;
}
#endif

/* ---- the leader, by pidfd where there is one ---- */

#if defined(TETHER__LIVE_GROUPS)
/* One scan answers for every child: the token's stop thread asks about
 * hundreds of trees per round. The scan looks only at the groups of the
 * children tracked when it began (want): a group asked about later is
 * looked up on its own. */
static struct {
  pthread_mutex_t lock;
  pid_t *ids; /* the live groups among want */
  size_t n;
  pid_t *want;
  size_t nwant;
  uint64_t at;   /* when the scan began; 0: none */
  uint64_t cost; /* how long it took */
} G = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL, 0, 0, 0};

static int tether__d_group_alive_recent(pid_t pgid, uint64_t max_age_ns) {
  uint64_t now = tether__now_ns();
  int alive = -1;
  (void)pthread_mutex_lock(&G.lock);
  /* A scan of a big process table takes milliseconds: then a new one is
   * made at most every 4 scan lengths (the thread scans at most 20% of the
   * time). The list is what the table held at some moment after `at`. */
  if (max_age_ns < 4 * G.cost)
    max_age_ns = 4 * G.cost;
  if (G.at == 0 || now - G.at > max_age_ns) {
    pid_t *ids, *want;
    size_t n, nwant;
    free(G.ids);
    free(G.want);
    G.ids = G.want = NULL;
    G.at = 0;
    if (tether__guard_tracked(&want, &nwant) == 0) {
      if (tether__live_groups(want, nwant, &ids, &n) == 0) {
        G.ids = ids;
        G.n = n;
        G.want = want;
        G.nwant = nwant;
        G.at = now;
        G.cost = tether__now_ns() - now;
      } else {
        free(want);
      }
    }
  }
  if (G.at != 0 && bsearch(&pgid, G.want, G.nwant, sizeof(pid_t), tether__cmp_pid) != NULL)
    alive = bsearch(&pgid, G.ids, G.n, sizeof(pid_t), tether__cmp_pid) != NULL;
  (void)pthread_mutex_unlock(&G.lock);
  return alive >= 0 ? alive : tether__group_alive(pgid);
}
#endif

/* Test seam (tests/test_spawn.c): behave as on a kernel older than 6.9,
 * whose pidfds cannot signal a process group. */
int tether__direct_no_group_pidfd = 0;

/* waitid(WEXITED | WNOHANG | WNOWAIT) on o's leader: 0 (si says whether it
 * has exited: si_pid 0 while it runs), or -1 with errno (ECHILD: no longer
 * this process's to wait for: someone else reaped it). Linux asks its
 * pidfd, which names that very process even after its pid number is
 * recycled; elsewhere the pid number is all there is. */
static int tether__d_peek(const struct tether__os_child *o, siginfo_t *si) {
  int r;
  memset(si, 0, sizeof(*si));
#if defined(TETHER__D_PIDFD)
  if (o->pidfd >= 0) {
    do
      r = waitid((idtype_t)P_PIDFD, (id_t)o->pidfd, si, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    if (r == 0 || errno != EINVAL) /* EINVAL: no P_PIDFD (Linux < 5.4) */
      return r;
    memset(si, 0, sizeof(*si));
  }
#endif
  do
    r = waitid(P_PID, (id_t)o->pid, si, WEXITED | WNOHANG | WNOWAIT);
  while (r < 0 && errno == EINTR);
  return r;
}

/* Is o's leader still this process's unreaped child, so that its pid and
 * its process-group id cannot have been recycled? */
static int tether__d_unreaped(const struct tether__os_child *o) {
  siginfo_t si;
  return tether__d_peek(o, &si) == 0;
}

/* Send signo (0: only ask) to o's process group: 0, or -1 with errno.
 * Linux 6.9+: through the leader's pidfd (PIDFD_SIGNAL_PROCESS_GROUP),
 * which names the group itself, whoever reaped the leader. Otherwise by
 * group id, and only while the unreaped leader reserves that id: a group
 * whose leader someone else reaped can no longer be named (ESRCH). */
static int tether__d_kill_group(const struct tether__os_child *o, int signo) {
#if defined(TETHER__D_PIDFD)
  if (o->pidfd >= 0 && !tether__direct_no_group_pidfd) {
    if (syscall(SYS_pidfd_send_signal, o->pidfd, signo, NULL, PIDFD_SIGNAL_PROCESS_GROUP) == 0)
      return 0;
    if (errno != EINVAL && errno != ENOSYS)
      return -1;
  }
#endif
  if (!tether__d_unreaped(o)) {
    errno = ESRCH;
    return -1;
  }
  return kill(-o->pid, signo);
}

/* Reap o's leader (it has exited, or was just killed: block is then set).
 * Never another process: a leader someone else reaped is left alone. */
static void tether__d_reap(const struct tether__os_child *o, int block) {
  int r;
#if defined(TETHER__D_PIDFD)
  if (o->pidfd >= 0) {
    siginfo_t si;
    do
      r = waitid((idtype_t)P_PIDFD, (id_t)o->pidfd, &si, WEXITED | (block ? 0 : WNOHANG));
    while (r < 0 && errno == EINTR);
    if (r == 0 || errno != EINVAL)
      return;
  }
#endif
  /* By number: only while it is ours (a recycled number is then another
   * child of this process; docs/children.md). */
  if (!tether__d_unreaped(o))
    return;
  do
    r = waitpid(o->pid, NULL, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
}

/* ---- exits ---- */

/* Test seam (tests/test_spawn.c): waitid(WEXITED) here also returns
 * stopped children, as xnu's does (Go #19314), on any system. */
int tether__direct_waitid_stops = 0;

/* Block until o's leader has exited; its status, without reaping it, or
 * TETHER__RAW_UNKNOWN when someone else reaped it. */
static uint32_t tether__d_wait_exit(const struct tether__os_child *o) {
  siginfo_t si;
  struct timespec nap = {0, 500000};
  pid_t pid = o->pid;
  idtype_t type = P_PID;
  id_t id = (id_t)pid;
#if defined(TETHER__D_PIDFD)
  if (o->pidfd >= 0) {
    type = (idtype_t)P_PIDFD;
    id = (id_t)o->pidfd;
  }
#endif
#if defined(TETHER__D_KQUEUE)
  /* xnu's waitid(WEXITED) also returns stopped children (and so may other
   * BSD-derived kernels): wait for the exit itself first. */
  int kq = kqueue();
  if (kq >= 0) {
    struct kevent ev;
    EV_SET(&ev, (uintptr_t)pid, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
    if (kevent(kq, &ev, 1, NULL, 0, NULL) == 0) {
      while (kevent(kq, NULL, 0, &ev, 1, NULL) < 0 && errno == EINTR) {
      }
    }
    /* ESRCH at EV_ADD: it has exited already. */
    (void)close(kq);
  }
#endif
  for (;;) {
    memset(&si, 0, sizeof(si));
    if (waitid(type, id, &si, WEXITED | WNOWAIT | (tether__direct_waitid_stops ? WSTOPPED : 0)) ==
        0) {
      if (si.si_pid == pid &&
          (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED))
        return tether__wait_status(&si);
      /* A stop, which stays reported (xnu, when kqueue failed above):
       * asking again at once would spin; ask again in 1 ms, up to 50. */
      nap.tv_nsec = nap.tv_nsec < 25000000 ? 2 * nap.tv_nsec : 50000000;
      (void)nanosleep(&nap, NULL);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EINVAL && type != P_PID) { /* no P_PIDFD: Linux < 5.4 */
      type = P_PID;
      id = (id_t)pid;
      continue;
    }
    return TETHER__RAW_UNKNOWN; /* ECHILD: reaped by someone else */
  }
}

/* tether__d_lock held: report o's exit, the lock dropped meanwhile; a
 * release waits while in_callback is set. Returns with the lock held. */
static void tether__d_deliver_locked(struct tether__os_child *o, uint32_t raw) {
  o->done = 1;
  o->in_callback = 1;
  (void)pthread_mutex_unlock(&tether__d_lock);
  tether__child_exited(o->owner, raw);
  (void)pthread_mutex_lock(&tether__d_lock);
  o->in_callback = 0;
  (void)pthread_cond_broadcast(&tether__d_cond);
}

static void tether__d_waiter(void *arg) {
  struct tether__os_child *o = (struct tether__os_child *)arg;
  uint32_t raw = tether__d_wait_exit(o);
  (void)pthread_mutex_lock(&tether__d_lock);
  if (o->released) {
    /* tether_child_free() has begun: it joins this thread. */
    o->done = 1;
    (void)pthread_cond_broadcast(&tether__d_cond);
    (void)pthread_mutex_unlock(&tether__d_lock);
    return;
  }
  tether__d_deliver_locked(o, raw);
  (void)pthread_mutex_unlock(&tether__d_lock);
}

#if defined(TETHER__D_PIDFD)
/* Linux: one thread for every child. Each child's pidfd is in an epoll set;
 * a pidfd becomes readable when its process exits. The thread then reads
 * the status (waitid WNOHANG | WNOWAIT: the child stays unreaped), takes
 * the pidfd out of the set and reports. Children whose pidfd cannot be
 * had or watched get a thread of their own (tether__d_waiter). */
static struct {
  int ep;                          /* -1: not started (tether__d_lock) */
  int failed;                      /* could not start: threads instead */
  struct tether__os_child **by_fd; /* watched children, by pidfd */
  int cap;
} W = {-1, 0, NULL, 0};

static void tether__d_watcher(void *arg) {
  int ep = (int)(intptr_t)arg;
  for (;;) {
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, -1), i;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return; /* only if ep was closed: a fork()ed child's copy */
    }
    for (i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      struct tether__os_child *o;
      siginfo_t si;
      uint32_t raw;
      (void)pthread_mutex_lock(&tether__d_lock);
      o = fd >= 0 && fd < W.cap ? W.by_fd[fd] : NULL;
      if (o == NULL || o->done || o->released) {
        (void)pthread_mutex_unlock(&tether__d_lock);
        continue;
      }
      if (tether__d_peek(o, &si) == 0) {
        if (si.si_pid != o->pid) {
          (void)pthread_mutex_unlock(&tether__d_lock); /* not yet */
          continue;
        }
        raw = tether__wait_status(&si);
      } else {
        raw = TETHER__RAW_UNKNOWN;
      }
      (void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      W.by_fd[fd] = NULL;
      tether__d_deliver_locked(o, raw);
      (void)pthread_mutex_unlock(&tether__d_lock);
    }
  }
}

/* Watch o through its pidfd: 0, or -1 (give it a thread of its own). */
static int tether__d_watch(struct tether__os_child *o) {
  struct epoll_event ev;
  int r = -1;
  if (o->pidfd < 0)
    return -1;
  (void)pthread_mutex_lock(&tether__d_lock);
  if (W.ep < 0 && !W.failed) {
    tether__thread *t;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep >= 0 && tether__thread_start(&t, tether__d_watcher, (void *)(intptr_t)ep) == 0) {
      tether__thread_detach(t);
      W.ep = ep;
    } else {
      if (ep >= 0)
        (void)close(ep);
      W.failed = 1;
    }
  }
  if (W.ep >= 0) {
    if (o->pidfd >= W.cap) {
      int cap = W.cap, i;
      struct tether__os_child **t;
      while (cap <= o->pidfd)
        cap = cap != 0 ? cap * 2 : 256;
      t = (struct tether__os_child **)realloc(W.by_fd, (size_t)cap * sizeof(*t));
      if (t != NULL) {
        for (i = W.cap; i < cap; i++)
          t[i] = NULL;
        W.by_fd = t;
        W.cap = cap;
      }
    }
    if (o->pidfd < W.cap) {
      memset(&ev, 0, sizeof(ev));
      ev.events = EPOLLIN;
      ev.data.fd = o->pidfd;
      W.by_fd[o->pidfd] = o;
      if (epoll_ctl(W.ep, EPOLL_CTL_ADD, o->pidfd, &ev) == 0)
        r = 0;
      else
        W.by_fd[o->pidfd] = NULL;
    }
  }
  (void)pthread_mutex_unlock(&tether__d_lock);
  return r;
}

/* o no longer watched (its release). tether__d_lock held. */
static void tether__d_unwatch_locked(struct tether__os_child *o) {
  if (o->waiter == NULL && o->pidfd >= 0 && o->pidfd < W.cap && W.by_fd[o->pidfd] == o) {
    W.by_fd[o->pidfd] = NULL;
    (void)epoll_ctl(W.ep, EPOLL_CTL_DEL, o->pidfd, NULL);
  }
}
#endif

void tether__direct_after_fork(void) {
  static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  static const pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
  memcpy(&tether__d_lock, &fresh, sizeof(fresh));
  memcpy(&tether__d_cond, &fresh_cond, sizeof(fresh_cond));
#if defined(TETHER__LIVE_GROUPS)
  memcpy(&G.lock, &fresh, sizeof(fresh));
  G.at = 0; /* G.ids may be half made: leaked, not freed */
  G.ids = NULL;
#endif
#if defined(TETHER__D_PIDFD)
  /* The watcher thread is the parent's; its children too. */
  if (W.ep >= 0)
    (void)close(W.ep);
  W.ep = -1;
  W.failed = 0;
  if (W.by_fd != NULL)
    memset(W.by_fd, 0, (size_t)W.cap * sizeof(*W.by_fd));
#endif
}

/* ---- spawn ---- */

int tether__direct_spawn(tether_child *c, const tether__spawn_plan *plan) {
  const tether_spawn_options *opts = plan->opts;
  tether__d_child d;
  struct tether__os_child *o;
  int top = 2, ep[2] = {-1, -1}, moved[3] = {-1, -1, -1};
  int *xsrc = NULL, *xtgt = NULL, *open_fds = NULL, n_open = 0;
  int guard_fd = -1, guard_copy = -1, r = 0, i, attempt;
  void *conn = NULL;
  size_t x;

  memset(&d, 0, sizeof(d));
  o = (struct tether__os_child *)calloc(1, sizeof(*o));
  if (o == NULL)
    return TETHER_ENOMEM;
  o->owner = c;
  o->via = TETHER__VIA_DIRECT;
  o->pidfd = -1;

  /* Extra descriptors: a source that some dup2 of the child could
   * overwrite before it is used is copied above the highest target (the
   * "shuffle" of Go's forkAndExecInChild), and so are the error pipe and
   * the guard's socket. */
  for (x = 0; x < opts->nextra; x++)
    if (opts->extra[x].target > top)
      top = opts->extra[x].target;
  if (opts->nextra > 0) {
    xsrc = (int *)malloc(opts->nextra * sizeof(int));
    xtgt = (int *)malloc(opts->nextra * sizeof(int));
    if (xsrc == NULL || xtgt == NULL) {
      r = TETHER_ENOMEM;
      goto out;
    }
    for (x = 0; x < opts->nextra; x++) {
      xtgt[x] = opts->extra[x].target;
      xsrc[x] = -1;
    }
    for (x = 0; x < opts->nextra; x++) {
      int h = opts->extra[x].handle;
      if (h != xtgt[x] && tether__d_is_target(h, xtgt, (int)opts->nextra, 3)) {
        if ((xsrc[x] = tether__d_dup_above(h, top + 1)) < 0) {
          r = tether__translate_os_error(errno);
          goto out;
        }
      }
    }
  }
  for (i = 0; i < 3; i++) {
    int h = plan->stdio[i];
    d.src[i] = h;
    if (h >= 0 && h != i && tether__d_is_target(h, xtgt, (int)opts->nextra, 3)) {
      if ((moved[i] = tether__d_dup_above(h, top + 1)) < 0) {
        r = tether__translate_os_error(errno);
        goto out;
      }
      d.src[i] = moved[i];
    }
  }
  if ((r = tether__d_error_pipe(ep, xtgt, (int)opts->nextra, top)) < 0)
    goto out;
  d.plan = plan;
  d.nextra = (int)opts->nextra;
  d.xtgt = xtgt;
  d.err_fd = ep[1];
  d.reset_ignored = (opts->flags & TETHER_SPAWN_RESET_SIGNALS) != 0;
#if defined(TETHER__D_CLOSE_RANGE)
  d.use_close_range = tether__d_have_close_range();
#endif
  if (!d.use_close_range) {
    open_fds = tether__d_list_fds(&n_open);
    d.open_fds = open_fds;
    d.n_open = n_open;
  }

  for (attempt = 0;; attempt++) {
    sigset_t all, old;
    pid_t pid;
    int msg[2], fork_err;
    ssize_t n;

    r = tether__guard_acquire(&conn, &guard_fd);
    if (r < 0)
      goto out;
    d.guard_fd = guard_fd;
    if (tether__d_is_target(guard_fd, xtgt, (int)opts->nextra, 3)) {
      if ((guard_copy = tether__d_dup_above(guard_fd, top + 1)) < 0) {
        r = tether__translate_os_error(errno);
        goto out;
      }
      d.guard_fd = guard_copy;
    }
    /* The sources that need no move are used as they are. */
    if (xsrc != NULL) {
      for (x = 0; x < opts->nextra; x++)
        if (xsrc[x] < 0)
          xsrc[x] = opts->extra[x].handle;
      d.xsrc = xsrc;
    }

    /* No handler of the program may run in the child before it has reset
     * them: every signal blocked across vfork. */
    sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    tether__guard_spawning(1);
    pid = tether__d_start(&d);
    fork_err = errno;
    tether__guard_spawning(0);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (guard_copy >= 0) {
      (void)close(guard_copy);
      guard_copy = -1;
    }
    if (pid < 0) {
      r = tether__translate_os_error(fork_err);
      goto out;
    }
    (void)close(ep[1]);
    ep[1] = -1;
    /* EOF: execve succeeded (the pipe closed on exec). */
    while ((n = read(ep[0], msg, sizeof(msg))) < 0 && errno == EINTR) {
    }
    if (n == (ssize_t)sizeof(msg)) {
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
      if (msg[0] == TETHER__D_REGISTER && attempt == 0 &&
          (msg[1] == EPIPE || msg[1] == ECONNRESET || msg[1] == ECONNREFUSED ||
           msg[1] == ENOTCONN || msg[1] == EAGAIN)) {
        /* The guard died under us, or does not read (stopped): once more,
         * with a new one. */
        if (msg[1] == EAGAIN)
          tether__guard_abandon(conn);
        else
          tether__guard_dead(conn);
        tether__guard_release(conn);
        conn = NULL;
        /* A fresh pipe: the old write end is closed. */
        (void)close(ep[0]);
        ep[0] = -1;
        if ((r = tether__d_error_pipe(ep, xtgt, (int)opts->nextra, top)) < 0)
          goto out;
        d.err_fd = ep[1];
        continue;
      }
      if (msg[0] == TETHER__D_REGISTER) {
        tether__set_last_os_error(msg[1]);
        r = TETHER_EHELPER;
      } else {
        r = tether__translate_os_error(msg[1]);
      }
      tether__guard_untrack(pid); /* it may have registered */
      goto out;
    }
    /* Running. */
    o->pid = pid;
#if defined(TETHER__D_PIDFD)
    /* Ours and unreaped, so the pid is still its. */
    o->pidfd = tether__pidfd_open(pid);
#endif
    r = tether__guard_track(pid, o->pidfd, conn);
#if defined(TETHER__D_PIDFD)
    if (r == 0 && tether__d_watch(o) == 0)
      ; /* the watcher thread reports it */
    else
#endif
        if (r == 0)
      r = tether__thread_start(&o->waiter, tether__d_waiter, o);
    if (r < 0) {
      /* Not guarded, or not watched: it must not run. */
      (void)kill(-pid, SIGKILL);
      (void)kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
      tether__guard_untrack(pid);
      if (o->pidfd >= 0)
        (void)close(o->pidfd);
      goto out;
    }
    c->pid = pid;
    c->os = o;
    o = NULL;
    break;
  }

out:
  if (conn != NULL)
    tether__guard_release(conn);
  if (guard_copy >= 0)
    (void)close(guard_copy);
  for (i = 0; i < 2; i++)
    if (ep[i] >= 0)
      (void)close(ep[i]);
  for (i = 0; i < 3; i++)
    if (moved[i] >= 0)
      (void)close(moved[i]);
  if (xsrc != NULL)
    for (x = 0; x < opts->nextra; x++)
      if (xsrc[x] >= 0 && xsrc[x] != opts->extra[x].handle)
        (void)close(xsrc[x]);
  free(xsrc);
  free(xtgt);
  free(open_fds);
  free(o);
  return r;
}

/* ---- signals, the tree, release ---- */

int tether__direct_signal(tether_child *c, int signo) {
  struct tether__os_child *o = c->os;
  int exited = tether__locked_read(c->lock, &c->exited);
  /* A group whose leader has exited may hold nothing but that zombie; the
   * unreaped leader reserves the group id, so the process table says. */
  if (exited && tether__d_unreaped(o) && !tether__group_alive((pid_t)c->pid))
    return TETHER_ESRCH;
  if (tether__d_kill_group(o, signo) == 0)
    return 0;
  return tether__translate_os_error(errno);
}

/* Is anything of c's group alive (not a zombie)? max_age_ns > 0: an answer
 * from a scan of the process table made at most that long ago will do. */

static int tether__d_tree_alive(tether_child *c, uint64_t max_age_ns) {
  struct tether__os_child *o = c->os;
  if (tether__d_unreaped(o)) {
    /* Its id is still the group's. */
#if defined(TETHER__LIVE_GROUPS)
    if (max_age_ns > 0)
      return tether__d_group_alive_recent((pid_t)c->pid, max_age_ns);
#endif
    (void)max_age_ns;
    return tether__group_alive((pid_t)c->pid);
  }
  /* Someone else reaped the leader: only a pidfd still names the group. */
  if (tether__d_kill_group(o, 0) == 0)
    return 1;
  return errno == EPERM;
}

int tether__direct_wait_tree(tether_child *c, int timeout_ms) {
  uint64_t deadline = 0, now;
  long pause_us = 500;
  int exited;
  if (timeout_ms > 0)
    deadline = tether__now_ns() + (uint64_t)timeout_ms * 1000000u;
  /* First the leader: its exit is a notification, not a poll. */
  tether__mutex_lock(c->lock);
  while (!c->exited) {
    int left = -1;
    if (timeout_ms == 0)
      break;
    if (timeout_ms > 0) {
      now = tether__now_ns();
      if (now >= deadline)
        break;
      left = (int)((deadline - now + 999999u) / 1000000u);
    }
    (void)tether__cond_wait(c->cond, c->lock, left);
  }
  exited = c->exited;
  tether__mutex_unlock(c->lock);
  if (!exited)
    return 0; /* the leader lives: so does the tree */
  /* Then what is left of the group (descendants that outlive the leader
   * are not ours to be told about): the process table. A caller that asks
   * without waiting, again and again (the token's stop thread, for each of
   * its trees), shares one scan per 2 ms with every other child. */
  if (timeout_ms == 0)
    return !tether__d_tree_alive(c, 2000000u);
  for (;;) {
    struct timespec ts;
    if (!tether__d_tree_alive(c, 0))
      return 1;
    now = tether__now_ns();
    if (timeout_ms > 0 && now >= deadline)
      return 0;
    ts.tv_sec = 0;
    ts.tv_nsec = pause_us * 1000L;
    if (timeout_ms > 0 && (uint64_t)pause_us * 1000u > deadline - now)
      ts.tv_nsec = (long)(deadline - now);
    (void)nanosleep(&ts, NULL);
    if (pause_us < 20000)
      pause_us *= 2;
  }
}

void tether__direct_release(tether_child *c) {
  struct tether__os_child *o = c->os;
  if (o == NULL)
    return;
  c->os = NULL;
  (void)pthread_mutex_lock(&tether__d_lock);
  o->released = 1;
  while (o->in_callback)
    (void)pthread_cond_wait(&tether__d_cond, &tether__d_lock);
#if defined(TETHER__D_PIDFD)
  tether__d_unwatch_locked(o);
#endif
  (void)pthread_mutex_unlock(&tether__d_lock);
  /* The whole group: through the pidfd, or by id while the unreaped leader
   * reserves it. Never by a number that may have been recycled. */
  if (tether__d_kill_group(o, SIGKILL) != 0 && errno == EPERM) {
    /* No longer ours to kill: this process dropped its privileges after
     * starting it (a root child of a program that is now "nobody"). It
     * runs on; waiting for it would hang. Reap it if it is done, else
     * leave it (a zombie of this process once it exits; its waiter
     * thread, if any, keeps o). docs/children.md. */
    tether__guard_untrack(o->pid);
    tether__d_reap(o, 0);
    if (o->waiter != NULL && tether__d_unreaped(o)) {
      tether__thread_detach(o->waiter); /* it ends at the exit; o leaks */
      return;
    }
    if (o->waiter != NULL)
      tether__thread_join(o->waiter);
    if (o->pidfd >= 0)
      (void)close(o->pidfd);
    free(o);
    return;
  }
  if (o->waiter != NULL)
    tether__thread_join(o->waiter);
  tether__guard_untrack(o->pid);
  /* A waiter thread has seen the exit: the zombie is there, or someone
   * else reaped it (then a blocking wait by number could hang on a new
   * child that got the number). */
  tether__d_reap(o, o->waiter == NULL);
  if (o->pidfd >= 0)
    (void)close(o->pidfd);
  free(o);
}

void tether__direct_forget(tether_child *c) {
  struct tether__os_child *o = c->os;
  c->os = NULL;
  if (o == NULL)
    return;
  if (o->waiter != NULL)
    tether__thread_forget(o->waiter); /* that thread is the parent's */
  if (o->pidfd >= 0)
    (void)close(o->pidfd);
  free(o);
}
