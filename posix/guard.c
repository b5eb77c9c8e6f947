/* SPDX-License-Identifier: MIT */
/*
 * The library's side of tether-guard (posix/guard_main.c, protocol in
 * posix/guard.h): find and start the guard, register children with it,
 * and start a new one when it dies (every child it guarded is registered
 * again; one that cannot be is killed, never left unguarded).
 */
#if defined(__linux__)
#define _GNU_SOURCE /* secure_getenv, dladdr, SCM_CREDENTIALS */
#else
#define _DARWIN_C_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "backend.h"
#include "guard.h"
#include "msg.h"
#include "spawn.h" /* tether__pipe_cloexec, tether__socketpair_cloexec, tether__pidfd_open */

#if defined(TETHER_LINUX) && defined(SYS_pidfd_open)
#define TETHER__G_PIDFD 1
#if !defined(P_PIDFD)
#define P_PIDFD 3 /* Linux 5.4 */
#endif
#endif

#if defined(MSG_NOSIGNAL)
#define TETHER__G_SEND_FLAGS MSG_NOSIGNAL
#else
#define TETHER__G_SEND_FLAGS 0 /* SO_NOSIGPIPE is set on the socket */
#endif

#if defined(TETHER_GUARD_STATIC)
#define TETHER__G_NO_HELLO_WAIT 1
#else
#define TETHER__G_NO_HELLO_WAIT 0
#endif

/* How long a message may wait for room in the guard's socket. */
#define TETHER__G_SEND_MS 5000

/* How long the start of a guard may take (exec, dynamic loading, fork),
 * from its exec to its hello. */
#define TETHER__G_START_MS 10000

typedef struct tether__gconn {
  int sock;
  pid_t pid;   /* the guard's, once it said hello (tether__g_lock) */
  pid_t first; /* the process we started (it forks the guard and exits) */
  int first_reaped;
  int first_pending; /* started for a spawn: reaped when it releases c */
  int first_fd;      /* a pidfd of first while unreaped, or -1 */
  unsigned gen;
  int users; /* spawns using sock right now */
  int dead;
  int hello;    /* tether__g_lock: it said hello (it runs and reads) */
  int is_child; /* first could not fork: first is the guard (reap it) */
} tether__gconn;

typedef struct tether__gtrack {
  pid_t pid;
  int pidfd; /* borrowed from posix/direct.c, or -1 */
} tether__gtrack;

static pthread_mutex_t tether__g_lock = PTHREAD_MUTEX_INITIALIZER;
/* Broadcast when a guard says hello or dies. */
static pthread_cond_t tether__g_cond = PTHREAD_COND_INITIALIZER;
static struct {
  tether__gconn *cur;
  unsigned gen;
  tether__gtrack *tab;
  size_t n, cap;
  char *path; /* the guard program, once found */
} G;

/* ---- finding tether-guard ---- */

#if !defined(TETHER_GUARD_NAME)
#define TETHER_GUARD_NAME "tether-guard"
#endif

/* Only a file that nobody else could have planted: owned by root or by us,
 * not writable by group or others. */
static int tether__g_trusted(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  if (st.st_uid != 0 && st.st_uid != geteuid())
    return 0;
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return 0;
  return access(path, X_OK) == 0;
}

static char *tether__g_join(const char *dir, size_t dlen, const char *rest) {
  char *p = (char *)malloc(dlen + strlen(rest) + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, dir, dlen);
  p[dlen] = '/';
  strcpy(p + dlen + 1, rest);
  return p;
}

static const char *tether__g_env(void) {
#if defined(__GLIBC__)
  return secure_getenv("TETHER_GUARD");
#else
  if (getuid() != geteuid() || getgid() != getegid())
    return NULL;
  return getenv("TETHER_GUARD");
#endif
}

/* Where tether-guard is (malloc'ed), or NULL: $TETHER_GUARD (not in
 * set-id programs); next to the object holding this library (a shared
 * library's directory, or the executable's when linked statically); the
 * install's libexec directory relative to it; the configured install path;
 * the build tree. */
static const char tether__g_anchor = 0; /* an address in this object */

static char *tether__g_find(void) {
  const char *env = tether__g_env();
  char *cand;
  if (env != NULL && env[0] != '\0')
    return access(env, X_OK) == 0 ? strdup(env) : NULL;
  {
    Dl_info info;
    char real[PATH_MAX];
    if (dladdr(&tether__g_anchor, &info) != 0 && info.dli_fname != NULL &&
        info.dli_fname[0] != '\0' && realpath(info.dli_fname, real) != NULL) {
      const char *slash = strrchr(real, '/');
      size_t dlen = slash != NULL ? (size_t)(slash - real) : 0;
      cand = tether__g_join(real, dlen, TETHER_GUARD_NAME);
      if (cand != NULL && tether__g_trusted(cand))
        return cand;
      free(cand);
#if defined(TETHER_GUARD_REL)
      cand = tether__g_join(real, dlen, TETHER_GUARD_REL);
      if (cand != NULL && tether__g_trusted(cand))
        return cand;
      free(cand);
#endif
    }
  }
#if defined(TETHER_GUARD_INSTALL_PATH)
  if (tether__g_trusted(TETHER_GUARD_INSTALL_PATH))
    return strdup(TETHER_GUARD_INSTALL_PATH);
#endif
#if defined(TETHER_GUARD_BUILD_PATH)
  if (tether__g_trusted(TETHER_GUARD_BUILD_PATH))
    return strdup(TETHER_GUARD_BUILD_PATH);
#endif
  return NULL;
}

/* ---- messages ---- */

static void tether__g_fill(tether__gmsg *m, uint32_t type, pid_t pid) {
  memset(m, 0, sizeof(*m));
  m->type = type;
  m->pid = (int32_t)pid;
  m->ruid = (uint32_t)getuid();
  m->euid = (uint32_t)geteuid();
  m->rgid = (uint32_t)getgid();
  m->egid = (uint32_t)getegid();
}

/* Send m with fd attached (or none: -1). Async-signal-safe. 0 or errno. */
static int tether__g_send(int sock, const tether__gmsg *m, int fd) {
  int waited = 0;
  struct msghdr mh;
  struct iovec iov;
  TETHER__CTL(CMSG_SPACE(sizeof(int))) ctl;
  tether__msg_init(&mh, &iov, (void *)m, sizeof(*m), NULL, 0);
  if (fd >= 0)
    tether__msg_put_fds(&mh, ctl.buf, &fd, 1);
  for (;;) {
    ssize_t n = sendmsg(sock, &mh, TETHER__G_SEND_FLAGS | MSG_DONTWAIT);
    if (n == (ssize_t)sizeof(*m))
      return 0;
    if (n >= 0)
      return EIO; /* a stream cut short: only when the guard is gone */
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      /* The guard is not reading (stopped, or far behind on a loaded
       * machine): give it TETHER__G_SEND_MS, then say so rather than block
       * for ever. */
      struct pollfd pf;
      int r;
      if (waited)
        return EAGAIN;
      waited = 1;
      pf.fd = sock;
      pf.events = POLLOUT;
      pf.revents = 0;
      while ((r = poll(&pf, 1, TETHER__G_SEND_MS)) < 0 && errno == EINTR) {
      }
      if (r <= 0)
        return EAGAIN;
      continue;
    }
    if (errno != EINTR)
      return errno;
  }
}

int tether__guard_register_self(int sock) {
  tether__gmsg m;
  int fd = -1, r;
  tether__g_fill(&m, TETHER__G_REGISTER, getpid());
#if defined(TETHER__G_PIDFD)
  fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  /* ENOSYS (before Linux 5.3): the guard signals by group id alone. */
#endif
  r = tether__g_send(sock, &m, fd);
  if (fd >= 0)
    (void)close(fd);
  return r;
}

/* ---- the guard's life ---- */

/* c's pidfd of its first process is no longer needed. */
static void tether__g_first_fd_drop(tether__gconn *c) {
  if (c->first_fd >= 0) {
    (void)close(c->first_fd);
    c->first_fd = -1;
  }
}

static void tether__g_conn_free(tether__gconn *c) {
  tether__g_first_fd_drop(c);
  free(c);
}

static void tether__g_conn_unref_locked(tether__gconn *c) {
  if (--c->users == 0 && c->dead) {
    (void)close(c->sock);
    tether__g_conn_free(c);
  }
}

static int tether__g_start_locked(int for_spawn);

/* Lock held: the guard of c died. Register every tracked child with a new
 * one; kill those that cannot be (the program holds them unreaped, so
 * their group ids are theirs). */
static void tether__g_died_locked(tether__gconn *c) {
  size_t i;
  if (c->dead)
    return;
  c->dead = 1;
  (void)pthread_cond_broadcast(&tether__g_cond);
  if (G.cur == c)
    G.cur = NULL;
  if (c->is_child)
    (void)waitpid(c->first, NULL, WNOHANG);
  if (G.n == 0)
    return;
  /* A guard that ended before its hello cannot start here (a broken
   * install): starting another would fail alike, for ever. */
  if (c->hello && tether__g_start_locked(0) == 0) {
    for (i = 0; i < G.n; i++) {
      tether__gmsg m;
      tether__g_fill(&m, TETHER__G_REGISTER, G.tab[i].pid);
      if (tether__g_send(G.cur->sock, &m, G.tab[i].pidfd) != 0)
        break;
    }
    if (i == G.n)
      return;
  }
  for (i = 0; i < G.n; i++)
    (void)kill(-G.tab[i].pid, SIGKILL);
}

/* Reap the process we started for c: the guard forks at once and that
 * first process exits. Never blocking on a number that the program's own
 * waitpid(-1) may have reaped and the system given to another child: at
 * most 2 s of looking. 1 when it is gone (reaped here or by someone
 * else), 0 when it still runs (it could not fork: it is the guard). */
static int tether__g_reap_first(tether__gconn *c) {
  int i, gone = 0;
  if (c->first_reaped)
    return 1;
  for (i = 0; i < 20000; i++) {
    struct timespec ts = {0, 100000};
    pid_t r = 0;
#if defined(TETHER__G_PIDFD)
    /* Through its pidfd: never a process that took its number after the
     * program's own waitpid(-1) reaped it (ECHILD: gone). */
    if (c->first_fd >= 0) {
      siginfo_t si;
      memset(&si, 0, sizeof(si));
      if (waitid((idtype_t)P_PIDFD, (id_t)c->first_fd, &si, WEXITED | WNOHANG) == 0) {
        gone = si.si_pid != 0;
        r = 0;
      } else if (errno == EINVAL) { /* no P_PIDFD (Linux < 5.4) */
        tether__g_first_fd_drop(c);
        continue;
      } else {
        r = -1;
      }
    } else
#endif
    {
      r = waitpid(c->first, NULL, WNOHANG);
      gone = r == c->first;
    }
    if (gone || (r < 0 && errno == ECHILD)) {
      gone = 1;
      break;
    }
    if (r < 0 && errno == EINTR)
      continue;
    (void)nanosleep(&ts, NULL);
  }
  if (!gone)
    return 0;
  c->first_reaped = 1;
  tether__g_first_fd_drop(c);
  return 1;
}

/* Lock held: c's first process could not fork: it is the guard itself,
 * this process's child until it dies, reaped then by its number (which
 * stays its while it is unreaped). Its pidfd is not kept: a descriptor
 * held for the program's life. */
static void tether__g_first_is_guard_locked(tether__gconn *c) {
  c->is_child = 1;
  tether__g_first_fd_drop(c);
}

/* The reader: first the guard's hello (its pid: it runs and reads), then
 * nothing; its end of the socket closing is how this process learns that
 * it died. */
static void tether__g_reader(void *arg) {
  tether__gconn *c = (tether__gconn *)arg;
  tether__gmsg m;
  size_t got = 0;
  int hello = 0;
  for (;;) {
    ssize_t n;
    if (!hello)
      n = recv(c->sock, (char *)&m + got, sizeof(m) - got, 0);
    else
      n = recv(c->sock, &m, sizeof(m), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (hello)
      continue;
    got += (size_t)n;
    if (got < sizeof(m))
      continue; /* a stream socket may cut it */
    if (m.type != TETHER__G_HELLO || m.pid <= 0)
      break; /* not a guard of ours */
    hello = 1;
    (void)pthread_mutex_lock(&tether__g_lock);
    c->pid = (pid_t)m.pid;
    if (c->pid == c->first)
      tether__g_first_is_guard_locked(c);
    c->hello = 1;
    (void)pthread_cond_broadcast(&tether__g_cond);
    (void)pthread_mutex_unlock(&tether__g_lock);
  }
  (void)pthread_mutex_lock(&tether__g_lock);
  tether__g_died_locked(c);
  tether__g_conn_unref_locked(c); /* the reader's reference */
  (void)pthread_mutex_unlock(&tether__g_lock);
}

/* Lock held: wait until c said hello (1) or died, or the start limit
 * passed (0). */
static int tether__g_wait_hello_locked(tether__gconn *c) {
  struct timespec until;
  (void)clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += TETHER__G_START_MS / 1000;
  while (!c->hello && !c->dead) {
    if (pthread_cond_timedwait(&tether__g_cond, &tether__g_lock, &until) == ETIMEDOUT)
      break;
  }
  return c->hello;
}

/* In the process about to exec the guard: an empty signal mask but for
 * glibc's two reserved signals (32, 33), which cannot be ignored through
 * glibc and whose default would end the guard: blocked with the system
 * call itself until the guard blocks them for good. */
static void tether__g_exec_mask(void) {
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
#if defined(__linux__) && defined(SYS_rt_sigprocmask) && defined(_NSIG) && _NSIG > 33
  {
    unsigned long long
        set[(_NSIG / 8 + sizeof(unsigned long long) - 1) / sizeof(unsigned long long)];
    int s;
    memset(set, 0, sizeof(set));
    for (s = 32; s <= 33; s++)
      set[(s - 1) / 64] |= 1ull << ((s - 1) % 64);
    (void)syscall(SYS_rt_sigprocmask, SIG_BLOCK, set, NULL, (size_t)(_NSIG / 8));
  }
#endif
}

/* Lock held: c's first process, left running by a spawn's start of the
 * guard, is reaped now (unless it is the guard itself). */
static void tether__g_settle_first_locked(tether__gconn *c) {
  if (!c->first_pending)
    return;
  c->first_pending = 0;
  if (!c->is_child && !tether__g_reap_first(c))
    tether__g_first_is_guard_locked(c);
}

/* Lock held: start a guard and make it G.cur. for_spawn: the caller is a
 * spawn that releases the guard (tether__guard_release) once its child is
 * made; the guard's first process, which forks the guard and exits, is
 * reaped then, so that its fork and exit overlap the child's vfork and
 * exec instead of adding to the first spawn (1-2 ms of a 3.6 ms first
 * spawn on this machine, docs/performance.md). Otherwise at once. */
static int tether__g_start_locked(int for_spawn) {
  int sv[2], ep[2], r, err = 0;
  pid_t pid;
  sigset_t all, old;
  tether__gconn *c;
  tether__thread *reader;
  ssize_t n;
  char *const gargv[] = {(char *)TETHER_GUARD_NAME, NULL};
  char *const genv[] = {NULL};

  if (G.path == NULL && (G.path = tether__g_find()) == NULL) {
    tether__set_last_os_error(ENOENT);
    return TETHER_EHELPER;
  }
  c = (tether__gconn *)calloc(1, sizeof(*c));
  if (c == NULL)
    return TETHER_ENOMEM;
  c->first_fd = -1;
  if (tether__socketpair_cloexec(TETHER__G_SOCK_TYPE, sv) < 0) {
    r = tether__translate_os_error(errno);
    free(c);
    return r;
  }
  /* The exec's error, if any, comes back through ep (closed on exec). */
  if (tether__pipe_cloexec(ep) < 0) {
    r = tether__translate_os_error(errno);
    (void)close(sv[0]);
    (void)close(sv[1]);
    free(c);
    return r;
  }
#if defined(SO_PASSCRED)
  {
    /* Set on the guard's end now: registrations sent before the guard has
     * started reading carry the sender's credentials too. */
    int on = 1;
    (void)setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
  }
#endif
#if defined(SO_NOSIGPIPE)
  {
    int on = 1;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
  }
#endif
  sigfillset(&all);
  (void)pthread_sigmask(SIG_SETMASK, &all, &old);
#if defined(__APPLE__)
  pid = fork(); /* vfork is deprecated there (and is a fork) */
#else
  pid = vfork();
#endif
  if (pid == 0) {
    /* System calls only: this may share the program's memory. (A nested
     * vfork here, so that the guard would never be our child, breaks the
     * sanitizers' vfork: the guard forks itself instead, and its first
     * process is reaped before tether_spawn() returns.) */
    struct sigaction ign;
    int s, e;
    if (sv[1] == TETHER__G_FD) {
      if (fcntl(TETHER__G_FD, F_SETFD, 0) < 0)
        goto fail;
    } else if (dup2(sv[1], TETHER__G_FD) < 0) { /* not close-on-exec */
      goto fail;
    }
    /* Every catchable signal ignored before the exec (an ignored signal
     * stays ignored across it): from its first instruction on, the guard
     * cannot be ended by a signal to the program's group (a terminal's
     * Ctrl+C) or by a handler of the program's. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (s = 1; s < 65; s++)
      if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
        (void)sigaction(s, &ign, NULL); /* glibc refuses 32, 33: see the guard */
    (void)setpgid(0, 0);                /* a group of its own from the start */
    tether__g_exec_mask();
    execve(G.path, gargv, genv);
  fail:
    e = errno;
    (void)write(ep[1], &e, sizeof(e));
    _exit(127);
  }
  err = errno;
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  (void)close(sv[1]);
  (void)close(ep[1]);
  if (pid < 0) {
    (void)close(ep[0]);
    (void)close(sv[0]);
    free(c);
    return tether__translate_os_error(err);
  }
  c->first = pid;
#if defined(TETHER__G_PIDFD)
  /* Ours and unreaped: the number is still its. */
  c->first_fd = tether__pidfd_open(pid);
#endif
  /* Only its exec is waited for here (EOF on ep, close-on-exec; or the
   * exec's errno), then its first process, which forks the guard and
   * exits at once (for a spawn: when the spawn releases the guard, after
   * its child is made): the guard loads and says hello while the caller
   * goes on. A first process still running 2 s later could not fork: it
   * is the guard (our child, reaped when it ends). */
  err = 0;
  for (;;) {
    int v;
    n = read(ep[0], &v, sizeof(v));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != (ssize_t)sizeof(v))
      break;
    err = v;
  }
  (void)close(ep[0]);
  if (err != 0 || !for_spawn) {
    if (!tether__g_reap_first(c))
      tether__g_first_is_guard_locked(c);
  } else {
    c->first_pending = 1;
  }
  if (err != 0) {
    (void)close(sv[0]);
    tether__g_conn_free(c);
    tether__set_last_os_error(err);
    return TETHER_EHELPER;
  }
  c->sock = sv[0];
  c->gen = ++G.gen;
  c->users = 1; /* the reader's */
  r = tether__thread_start(&reader, tether__g_reader, c);
  if (r < 0) {
    (void)close(sv[0]); /* EOF: it ends */
    c->first_pending = 0;
    tether__g_reap_first(c);
    tether__g_conn_free(c);
    return r;
  }
  tether__thread_detach(reader);
  G.cur = c;
  return 0;
}

int tether__guard_acquire(void **conn, int *sock) {
  int r = 0;
  (void)pthread_mutex_lock(&tether__g_lock);
  if (G.cur == NULL)
    r = tether__g_start_locked(1);
  if (r == 0) {
    G.cur->users++;
    *sock = G.cur->sock;
    *conn = G.cur;
  }
  (void)pthread_mutex_unlock(&tether__g_lock);
  return r;
}

void tether__guard_abandon(void *conn) {
  tether__gconn *c = (tether__gconn *)conn;
  (void)pthread_mutex_lock(&tether__g_lock);
  /* Its socket stays open for ever (one more user that never leaves):
   * closing it would make that guard, once it runs again, kill every
   * group it holds, which a new guard now holds too. */
  c->users++;
  tether__g_died_locked(c);
  (void)pthread_mutex_unlock(&tether__g_lock);
}

void tether__guard_dead(void *conn) {
  (void)pthread_mutex_lock(&tether__g_lock);
  tether__g_died_locked((tether__gconn *)conn);
  (void)pthread_mutex_unlock(&tether__g_lock);
}

void tether__guard_release(void *conn) {
  (void)pthread_mutex_lock(&tether__g_lock);
  tether__g_settle_first_locked((tether__gconn *)conn);
  tether__g_conn_unref_locked((tether__gconn *)conn);
  (void)pthread_mutex_unlock(&tether__g_lock);
}

int tether__guard_track(pid_t pid, int pidfd, void *conn) {
  tether__gconn *c = (tether__gconn *)conn;
  int r = 0;
  (void)pthread_mutex_lock(&tether__g_lock);
  /* The first spawn of a guard: its start runs alongside the child's. A
   * statically linked guard cannot fail after its exec but by being killed
   * (then the reader thread kills what it guarded, as for any guard's
   * death): the spawn goes on. A dynamic one may still fail to load: the
   * spawn waits for its hello, so that a broken install is a synchronous
   * TETHER_EHELPER. A guard that died before its hello guards nothing. */
  if (!c->hello && (c->dead || !TETHER__G_NO_HELLO_WAIT) && !tether__g_wait_hello_locked(c)) {
    if (!c->dead) {
      /* Hung in its start: left as it is (its socket too, as a stopped
       * guard's), and never used again. */
      c->users++;
      tether__g_died_locked(c);
    }
    (void)pthread_mutex_unlock(&tether__g_lock);
    tether__set_last_os_error(EIO);
    return TETHER_EHELPER;
  }
  if (G.n == G.cap) {
    size_t cap = G.cap != 0 ? G.cap * 2 : 32;
    tether__gtrack *t = (tether__gtrack *)realloc(G.tab, cap * sizeof(*t));
    if (t == NULL) {
      (void)pthread_mutex_unlock(&tether__g_lock);
      return TETHER_ENOMEM;
    }
    G.tab = t;
    G.cap = cap;
  }
  G.tab[G.n].pid = pid;
  G.tab[G.n].pidfd = pidfd;
  G.n++;
  /* The guard the child registered with died meanwhile, and the new one
   * (if any) was started without it. */
  if (G.cur != (tether__gconn *)conn) {
    if (G.cur == NULL)
      r = tether__g_start_locked(0);
    if (r == 0) {
      tether__gmsg m;
      tether__g_fill(&m, TETHER__G_REGISTER, pid);
      r = tether__g_send(G.cur->sock, &m, pidfd);
      if (r != 0)
        r = TETHER_EHELPER;
    }
    if (r != 0)
      G.n--;
  }
  (void)pthread_mutex_unlock(&tether__g_lock);
  return r;
}

int tether__guard_tracked(pid_t **ids, size_t *n) {
  size_t i;
  pid_t *t;
  (void)pthread_mutex_lock(&tether__g_lock);
  t = (pid_t *)malloc((G.n > 0 ? G.n : 1) * sizeof(*t));
  if (t != NULL) {
    for (i = 0; i < G.n; i++)
      t[i] = G.tab[i].pid;
    *n = G.n;
  }
  (void)pthread_mutex_unlock(&tether__g_lock);
  if (t == NULL)
    return -1;
  qsort(t, *n, sizeof(*t), tether__cmp_pid);
  *ids = t;
  return 0;
}

void tether__guard_untrack(pid_t pid) {
  size_t i;
  (void)pthread_mutex_lock(&tether__g_lock);
  for (i = 0; i < G.n; i++)
    if (G.tab[i].pid == pid) {
      G.tab[i] = G.tab[--G.n];
      break;
    }
  if (G.cur != NULL) {
    tether__gmsg m;
    tether__g_fill(&m, TETHER__G_UNREGISTER, pid);
    (void)tether__g_send(G.cur->sock, &m, -1);
  }
  (void)pthread_mutex_unlock(&tether__g_lock);
}

int64_t tether__guard_pid(void) {
  int64_t p;
  (void)pthread_mutex_lock(&tether__g_lock);
  if (G.cur != NULL)
    (void)tether__g_wait_hello_locked(G.cur);
  p = G.cur != NULL && G.cur->hello ? (int64_t)G.cur->pid : -1;
  (void)pthread_mutex_unlock(&tether__g_lock);
  return p;
}

/* In a fork()ed child: the guard and the children are the parent's. Close
 * our copy of its socket (so that it still sees EOF when the parent ends)
 * and start from nothing; a dead connection still in use by a spawn of
 * another thread (which does not exist here) is left as it is. */
/* Set by a thread around its vfork of a child. Sanitizers and valgrind run
 * vfork as a fork, which runs the fork handlers in the child: that child
 * must keep the guard's socket to register through. */
static __thread int tether__g_spawning;

void tether__guard_spawning(int on) { tether__g_spawning = on; }

void tether__guard_after_fork(void) {
  static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  static const pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
  if (tether__g_spawning)
    return;
  if (G.cur != NULL)
    (void)close(G.cur->sock);
  G.cur = NULL;
  G.n = 0; /* the table's memory is kept for this process */
  memcpy(&tether__g_lock, &fresh, sizeof(fresh));
  memcpy(&tether__g_cond, &fresh_cond, sizeof(fresh_cond));
}
