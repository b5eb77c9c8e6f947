/*
 * The keeper: a process forked from the program at its first tethered
 * spawn. It starts the children, keeps their process-group leaders unreaped
 * until the program releases them, reports their exits, and kills every
 * tethered tree when the program ends (EOF on the lifeline), however it
 * ends. docs/children.md has the design.
 *
 * It is a fork of a possibly multi-threaded program that never calls exec,
 * so from its first instruction it uses only async-signal-safe system calls
 * on static memory: no malloc, no stdio, no locks, no atexit.
 */
#define _DEFAULT_SOURCE /* vfork, NSIG */
#define _DARWIN_C_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(TETHER_LINUX)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "keeper.h"

#if defined(NSIG)
#define TETHER__K_NSIG NSIG
#else
#define TETHER__K_NSIG 65
#endif

enum { K_FREE = 0, K_RUNNING, K_EXITED, K_RELEASING };

typedef struct tether__kchild {
  pid_t pid;
  unsigned char state;
} tether__kchild;

static tether__kchild k_children[TETHER__K_MAX_CHILDREN];
static int k_nchildren; /* high-water mark of used entries */
static int k_sock, k_lifeline, k_sig_r, k_sig_w;
/* The keeper's own descriptor limit: a request sets the program's limits
 * for the fork of its child, and this one comes back right after, so that
 * the next request's descriptors can be received. */
static struct rlimit k_nofile;
static pid_t k_self;
/* The extra descriptors received for request k_xid (TETHER__K_EXTRA), in
 * order; k_xerr: an errno when some were lost (the next spawn of that
 * request fails with it). */
static int k_xfd[TETHER__K_MAX_EXTRA];
static int k_xn, k_xerr;
static uint32_t k_xid;

/* ---- small async-signal-safe helpers ---- */

#if defined(TETHER_LINUX)
static void k_sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
#endif

static void k_send(uint32_t type, uint32_t id, pid_t pid, int err,
                   uint32_t status) {
  tether__kmsg m;
  memset(&m, 0, sizeof(m));
  m.type = type;
  m.id = id;
  m.pid = (int32_t)pid;
  m.err = err;
  m.status = status;
  while (send(k_sock, &m, sizeof(m), 0) < 0 && errno == EINTR) {
  }
}

/* How long the keeper's poll may sleep: for ever, except under
 * ThreadSanitizer. The keeper is a fork that never execs; when the program
 * had threads at that moment, TSan's runtime in the keeper does not run the
 * SIGCHLD handler while poll() blocks (seen as exits reported only much
 * later), so a TSan build also looks at its children every 100 ms. */
#if defined(__SANITIZE_THREAD__)
#define TETHER__K_POLL_MS 100
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TETHER__K_POLL_MS 100
#endif
#endif
#ifndef TETHER__K_POLL_MS
#define TETHER__K_POLL_MS (-1)
#endif

static void k_on_sigchld(int signo) {
  int saved = errno;
  char c = 0;
  ssize_t n;
  (void)signo;
  n = write(k_sig_w, &c, 1);
  (void)n;
  errno = saved;
}

/* A wait status from waitid's siginfo, in the traditional encoding that
 * WIFEXITED/WIFSIGNALED/WCOREDUMP decode (Linux, macOS, BSDs). */
static uint32_t k_status(const siginfo_t *si) {
  switch (si->si_code) {
  case CLD_EXITED:
    return (uint32_t)((si->si_status & 0xff) << 8);
  case CLD_DUMPED:
    return (uint32_t)((si->si_status & 0x7f) | 0x80);
  default: /* CLD_KILLED */
    return (uint32_t)(si->si_status & 0x7f);
  }
}

static tether__kchild *k_find(pid_t pid) {
  int i;
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE && k_children[i].pid == pid)
      return &k_children[i];
  return NULL;
}

static tether__kchild *k_alloc(void) {
  int i;
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state == K_FREE)
      return &k_children[i];
  if (k_nchildren < TETHER__K_MAX_CHILDREN)
    return &k_children[k_nchildren++];
  return NULL;
}

static void k_free(tether__kchild *k) {
  k->state = K_FREE;
  k->pid = 0;
  while (k_nchildren > 0 && k_children[k_nchildren - 1].state == K_FREE)
    k_nchildren--;
}

/* Reap a zombie leader for good. */
static void k_reap(tether__kchild *k) {
  while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  k_free(k);
}

#if defined(TETHER_LINUX)
/* Processes re-parented to the keeper (it is a subreaper) that it did not
 * start: orphaned descendants of the children. Calls fn for each child pid
 * listed in /proc/self/task/<tid>/children that is not in the table. */
static void k_each_orphan(void (*fn)(pid_t)) {
  char path[64], buf[4096];
  int fd, n, len = 0;
  pid_t p = 0;
  int in_num = 0;
  /* "/proc/self/task/<k_self>/children", built by hand. */
  {
    const char *pre = "/proc/self/task/";
    char digits[16];
    int nd = 0, v = (int)k_self;
    size_t off = strlen(pre);
    memcpy(path, pre, off);
    do {
      digits[nd++] = (char)('0' + v % 10);
      v /= 10;
    } while (v > 0);
    while (nd > 0)
      path[off++] = digits[--nd];
    memcpy(path + off, "/children", 10);
  }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  for (;;) {
    n = (int)read(fd, buf + len, sizeof(buf) - 1 - (size_t)len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += n;
    if ((size_t)len >= sizeof(buf) - 1)
      break;
  }
  close(fd);
  for (n = 0; n <= len; n++) {
    char ch = n < len ? buf[n] : ' ';
    if (ch >= '0' && ch <= '9') {
      p = p * 10 + (ch - '0');
      in_num = 1;
    } else if (in_num) {
      if (k_find(p) == NULL)
        fn(p);
      p = 0;
      in_num = 0;
    }
  }
}

static void k_reap_orphan(pid_t p) { (void)waitpid(p, NULL, WNOHANG); }
static void k_kill_orphan(pid_t p) {
  (void)kill(p, SIGKILL);
  (void)waitpid(p, NULL, WNOHANG);
}
#endif

/* SIGCHLD: look at every running child without reaping it. */
static void k_check_children(void) {
  int i;
  for (i = 0; i < k_nchildren; i++) {
    tether__kchild *k = &k_children[i];
    siginfo_t si;
    if (k->state != K_RUNNING && k->state != K_RELEASING)
      continue;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != k->pid)
      continue;
    if (k->state == K_RELEASING) {
      k_reap(k); /* the library is done with it: nobody to tell */
    } else {
      k->state = K_EXITED; /* zombie kept: its group id stays reserved */
      k_send(TETHER__K_EXITED, 0, k->pid, 0, k_status(&si));
    }
  }
#if defined(TETHER_LINUX)
  k_each_orphan(k_reap_orphan);
#endif
}

/* ---- spawning ---- */

/* Forget the extra descriptors received so far. */
static void k_xdrop(void) {
  int i;
  for (i = 0; i < k_xn; i++)
    (void)close(k_xfd[i]);
  k_xn = 0;
  k_xerr = 0;
}

/* TETHER__K_EXTRA: the next descriptors of request m->id. A message of
 * another request first drops what an abandoned one left. */
static void k_extra(const tether__kmsg *m, const int *fds, int nfds, int trunc) {
  int i;
  if (m->id != k_xid) {
    k_xdrop();
    k_xid = m->id;
  }
  if (trunc || (uint32_t)nfds != m->arg)
    k_xerr = EMFILE; /* the kernel could not give us all of them */
  for (i = 0; i < nfds; i++) {
    if (k_xn < TETHER__K_MAX_EXTRA) {
      k_xfd[k_xn++] = fds[i];
    } else {
      (void)close(fds[i]);
      k_xerr = EINVAL;
    }
  }
}

/* Is fd the target of an entry other than `except`? */
static int k_is_target(const tether__kreq *req, int fd, int except) {
  int i;
  for (i = 0; i < req->nextra; i++)
    if (i != except && req->extra_target[i] == fd)
      return 1;
  return 0;
}

/* Move *fd to the lowest free number >= min, close-on-exec. */
static int k_move_above(int *fd, int min) {
  int d = fcntl(*fd, F_DUPFD_CLOEXEC, min);
  if (d < 0)
    return errno == EINVAL ? EMFILE : errno; /* EINVAL: min >= the limit */
  (void)close(*fd);
  *fd = d;
  return 0;
}

/* Before the fork: make the child's dup2s safe in any order. A received
 * source that is another entry's target would be overwritten before its
 * own dup2, and so would the exec-error pipe: move them above the highest
 * target (the "shuffle" of Go's forkAndExecInChild, done here where memory
 * may be written). Returns 0 or an errno. */
static int k_place_extra(const tether__kreq *req, int *err_fd) {
  int i, top = 2, e;
  for (i = 0; i < req->nextra; i++)
    if (req->extra_target[i] > top)
      top = req->extra_target[i];
  for (i = 0; i < req->nextra; i++)
    if (k_xfd[i] <= top && k_xfd[i] != req->extra_target[i] &&
        k_is_target(req, k_xfd[i], i) && (e = k_move_above(&k_xfd[i], top + 1)) != 0)
      return e;
  if (*err_fd <= top && k_is_target(req, *err_fd, -1) &&
      (e = k_move_above(err_fd, top + 1)) != 0)
    return e;
  return 0;
}

static void k_spawn(const tether__kmsg *m, const int *fds, int nfds,
                    void *shm) {
  const tether__kreq *req = (const tether__kreq *)shm;
  tether__kchild *volatile k = k_alloc(); /* survives vfork (-Wclobbered) */
  int stdio_fd[3], i, used = 0, ep[2], child_errno = 0, fork_errno;
  sigset_t all, old;
  pid_t pid;
  for (i = 0; i < 3; i++)
    stdio_fd[i] = (m->arg & TETHER__KF_STDIO(i)) && used < nfds ? fds[used++] : -1;
  /* Extra descriptors: exactly the request's, all received. */
  if (k_xid != m->id)
    k_xdrop(); /* left by an abandoned request */
  if (k_xerr == 0 && k_xn != req->nextra)
    k_xerr = EIO;
  if (k == NULL || k_xerr != 0) {
    k_send(TETHER__K_SPAWNED, m->id, -1, k == NULL ? EAGAIN : k_xerr, 0);
    for (i = 0; i < nfds; i++)
      (void)close(fds[i]);
    k_xdrop();
    return;
  }
  /* The exec error comes back through a close-on-exec pipe: EOF means the
   * exec happened. (Not through shared memory: sanitizers and valgrind run
   * vfork as a plain fork.) Reading it also keeps the keeper from touching
   * the shared request region until the child has exec'd. */
  if (pipe(ep) < 0) {
    k_send(TETHER__K_SPAWNED, m->id, -1, errno, 0);
    for (i = 0; i < nfds; i++)
      (void)close(fds[i]);
    k_xdrop();
    return;
  }
  (void)fcntl(ep[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(ep[1], F_SETFD, FD_CLOEXEC);
  /* With the keeper's own descriptor limit, before the program's. */
  if (req->nextra > 0 && (child_errno = k_place_extra(req, &ep[1])) != 0) {
    k_send(TETHER__K_SPAWNED, m->id, -1, child_errno, 0);
    (void)close(ep[0]);
    (void)close(ep[1]);
    for (i = 0; i < nfds; i++)
      (void)close(fds[i]);
    k_xdrop();
    return;
  }
  /* The program's resource limits of this moment: the child inherits them,
   * and the fork below is checked against them (RLIMIT_NPROC). The
   * keeper's own descriptor limit comes back after the fork. */
  for (i = 0; i < req->nlimits && i < TETHER__K_NLIMITS; i++)
    (void)setrlimit(req->resource[i], &req->limit[i]);
  sigfillset(&all);
  (void)sigprocmask(SIG_SETMASK, &all, &old);
#if defined(__APPLE__)
  /* The macOS 12+ SDK deprecates vfork (there it is a plain fork): fork.
   * The child below writes no shared memory either way. */
  pid = fork();
#else
  pid = vfork();
#endif
  if (pid == 0) {
    /* The child, sharing the keeper's memory until execve: system calls
     * only, nothing written to memory. */
    int s;
    struct sigaction dfl;
    sigset_t none;
    if (setpgid(0, 0) < 0)
      goto fail;
    for (i = 0; i < 3; i++) {
      if (stdio_fd[i] < 0)
        (void)close(i);
      else if (dup2(stdio_fd[i], i) < 0) /* clears FD_CLOEXEC on i */
        goto fail;
    }
    /* Extra descriptors: no source is another's target any more
     * (k_place_extra), so the order does not matter. A source already at
     * its target only loses FD_CLOEXEC (dup2 of a descriptor onto itself
     * changes nothing). */
    for (i = 0; i < req->nextra; i++) {
      if (k_xfd[i] == req->extra_target[i]) {
        if (fcntl(k_xfd[i], F_SETFD, 0) < 0)
          goto fail;
      } else if (dup2(k_xfd[i], req->extra_target[i]) < 0) {
        goto fail;
      }
    }
    if (req->cwd != NULL && chdir(req->cwd) < 0)
      goto fail;
    /* Priority, then identity (groups first: they need the privileges that
     * setuid may drop). Nothing is done when nothing differs. */
    if (getpriority(PRIO_PROCESS, 0) != req->nice_value)
      (void)setpriority(PRIO_PROCESS, 0, req->nice_value);
    if (req->ngroups >= 0 && geteuid() == 0 &&
        (req->euid != 0 || req->ruid != 0) &&
        setgroups((size_t)req->ngroups, req->groups) < 0)
      goto fail;
    if ((getgid() != req->rgid || getegid() != req->egid) &&
        setregid(req->rgid, req->egid) < 0)
      goto fail;
    if ((getuid() != req->ruid || geteuid() != req->euid) &&
        setreuid(req->ruid, req->euid) < 0)
      goto fail;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (s = 1; s < TETHER__K_NSIG; s++)
      (void)sigaction(s, &dfl, NULL);
#if defined(TETHER_LINUX)
    /* Backup for a killed keeper. Its parent is the single-threaded
     * keeper, so the thread trap of PR_SET_PDEATHSIG cannot apply. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
      goto fail;
    if (getppid() != k_self) {
      errno = ESRCH;
      goto fail;
    }
#endif
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(req->path, req->argv, req->envp);
  fail: {
    int e = errno != 0 ? errno : EINVAL;
    ssize_t w = write(ep[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  }
  fork_errno = errno;
  (void)setrlimit(RLIMIT_NOFILE, &k_nofile);
  (void)close(ep[1]);
  if (pid > 0) {
    ssize_t n;
    while ((n = read(ep[0], &child_errno, sizeof(child_errno))) < 0 &&
           errno == EINTR) {
    }
    if (n != (ssize_t)sizeof(child_errno))
      child_errno = 0; /* EOF: execve succeeded */
  }
  (void)close(ep[0]);
  if (pid > 0 && child_errno != 0) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    k_send(TETHER__K_SPAWNED, m->id, -1, child_errno, 0);
  } else if (pid < 0) {
    k_send(TETHER__K_SPAWNED, m->id, -1, fork_errno, 0);
  } else {
    (void)setpgid(pid, pid); /* both sides; EACCES after exec is fine */
    k->pid = pid;
    k->state = K_RUNNING;
    k_send(TETHER__K_SPAWNED, m->id, pid, 0, 0);
  }
  (void)sigprocmask(SIG_SETMASK, &old, NULL);
  for (i = 0; i < nfds; i++)
    (void)close(fds[i]);
  k_xdrop();
  /* A child that exited at once is noticed through SIGCHLD as usual. */
}

static void k_release(pid_t pid) {
  tether__kchild *k = k_find(pid);
  if (k != NULL) {
    /* The whole group, while the leader (ours, unreaped) keeps its id. */
    (void)kill(-k->pid, SIGKILL);
    if (k->state == K_EXITED)
      k_reap(k);
    else
      k->state = K_RELEASING; /* reaped when SIGCHLD says it died */
  }
  k_send(TETHER__K_RELEASED, 0, pid, 0, 0);
}

static int k_receive(void *shm) {
  tether__kmsg m;
  struct msghdr mh;
  struct iovec iov;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(TETHER__K_FDS_PER_MSG * sizeof(int))];
  } ctl;
  int fds[TETHER__K_FDS_PER_MSG], nfds = 0, trunc, k;
  ssize_t n;
  struct cmsghdr *cm;
  memset(&mh, 0, sizeof(mh));
  iov.iov_base = &m;
  iov.iov_len = sizeof(m);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof(ctl.buf);
  n = recvmsg(k_sock, &mh, 0);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN ? 0 : -1;
  if (n == 0)
    return -1; /* the library's end is gone */
  for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      int cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (k = 0; k < cnt && nfds < TETHER__K_FDS_PER_MSG; k++) {
        memcpy(&fds[nfds], CMSG_DATA(cm) + (size_t)k * sizeof(int), sizeof(int));
        (void)fcntl(fds[nfds], F_SETFD, FD_CLOEXEC);
        nfds++;
      }
    }
  }
  trunc = (mh.msg_flags & MSG_CTRUNC) != 0; /* descriptors were lost */
  if ((size_t)n == sizeof(m) && m.type == TETHER__K_EXTRA) {
    k_extra(&m, fds, nfds, trunc);
    return 0;
  }
  if ((size_t)n == sizeof(m) && m.type == TETHER__K_SPAWN && !trunc) {
    k_spawn(&m, fds, nfds, shm);
    return 0;
  }
  for (k = 0; k < nfds; k++)
    (void)close(fds[k]);
  if ((size_t)n != sizeof(m))
    return 0;
  if (m.type == TETHER__K_SPAWN) {
    /* Its stdio descriptors could not all be received (the keeper's
     * descriptor limit): refuse it rather than leave the library waiting. */
    if (m.id == k_xid)
      k_xdrop();
    k_send(TETHER__K_SPAWNED, m.id, -1, EMFILE, 0);
  } else if (m.type == TETHER__K_DROP) {
    if (m.id == k_xid)
      k_xdrop();
  } else if (m.type == TETHER__K_RELEASE) {
    k_release((pid_t)m.pid);
  }
  return 0;
}

/* ---- the end: the program is gone ---- */

#if defined(TETHER_LINUX)
static int k_orphans;
static void k_kill_and_count_orphan(pid_t p) {
  k_kill_orphan(p);
  k_orphans++;
}
#endif

static void k_shutdown(void) {
  int i, round;
  /* One SIGKILL to each group kills every member: a member forking at the
   * same moment either is in the group already or its fork fails because
   * a fatal signal is pending. The leaders are still unreaped, so every
   * group id is still ours. */
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE) {
      (void)kill(-k_children[i].pid, SIGKILL);
      (void)kill(k_children[i].pid, SIGKILL);
    }
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE)
      k_reap(&k_children[i]);
#if defined(TETHER_LINUX)
  /* Descendants orphaned by those deaths come to the keeper (subreaper),
   * including those that left their group with setsid(): kill and reap
   * until none has arrived for a few rounds (at most about 2 s). */
  for (round = 0, i = 0; round < 400 && i < 4; round++) {
    k_orphans = 0;
    k_each_orphan(k_kill_and_count_orphan);
    i = k_orphans == 0 ? i + 1 : 0;
    k_sleep_ms(2);
  }
#else
  (void)round;
#endif
}

/* ---- setup ---- */

static void k_close_others(void) {
  struct rlimit rl;
  long fd, max = 65536;
#if defined(TETHER_LINUX) && defined(SYS_close_range)
  /* Keep 0..4 (stdio, lifeline, socket after the dup2s below). */
  if (syscall(SYS_close_range, 5u, ~0u, 0u) == 0)
    return;
#endif
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (long)rl.rlim_cur < max)
    max = (long)rl.rlim_cur;
  for (fd = 5; fd < max; fd++)
    (void)close((int)fd);
}

void tether__keeper_main(int lifeline_fd, int sock_fd, void *shm) {
  struct sigaction sa;
  sigset_t none;
  int s, null_fd, p[2];

  k_self = getpid();
  /* A process group of its own in the program's session (not a session of
   * its own): a kill aimed at the program's group does not reach it, and
   * its children are process groups of the program's session, so that the
   * program can give one of them the terminal (tcsetpgrp) and they have
   * the program's controlling terminal. docs/children.md. */
  (void)setpgid(0, 0);

  /* Every disposition the program had (tether's handlers included) goes
   * back to the default; SIGPIPE is ignored (the socket may be closed), and
   * so are the signals a terminal sends or causes: the keeper must never
   * be stopped or killed by the terminal (hang-up included). Children get
   * every disposition back at its default before execve (k_spawn). */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (s = 1; s < TETHER__K_NSIG; s++)
    (void)sigaction(s, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  (void)sigaction(SIGPIPE, &sa, NULL);
  (void)sigaction(SIGINT, &sa, NULL);
  (void)sigaction(SIGQUIT, &sa, NULL);
  (void)sigaction(SIGTSTP, &sa, NULL);
  (void)sigaction(SIGTTIN, &sa, NULL);
  (void)sigaction(SIGTTOU, &sa, NULL);
  (void)sigaction(SIGHUP, &sa, NULL);

  /* The keeper needs a few descriptors of its own whatever the program's
   * soft limit was when it started: up to the hard limit. */
  if (getrlimit(RLIMIT_NOFILE, &k_nofile) == 0 && k_nofile.rlim_cur < k_nofile.rlim_max) {
    k_nofile.rlim_cur = k_nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &k_nofile);
  }
  (void)getrlimit(RLIMIT_NOFILE, &k_nofile);

  /* Descriptors: 0..2 /dev/null, 3 lifeline, 4 socket, nothing else of
   * the program's (it must not keep the program's pipes or sockets). */
  {
    /* Park both above 9 first, so that neither dup2 clobbers the other. */
    int l = fcntl(lifeline_fd, F_DUPFD, 10), k = fcntl(sock_fd, F_DUPFD, 10);
    if (l < 0 || k < 0 || dup2(l, 3) < 0 || dup2(k, 4) < 0)
      _exit(120);
  }
  k_close_others();
  null_fd = open("/dev/null", O_RDWR);
  for (s = 0; s < 3; s++)
    if (null_fd >= 0 && null_fd != s)
      (void)dup2(null_fd, s);
  if (null_fd > 2)
    (void)close(null_fd);
  k_lifeline = 3;
  k_sock = 4;
  (void)fcntl(3, F_SETFD, FD_CLOEXEC);
  (void)fcntl(4, F_SETFD, FD_CLOEXEC);
  if (pipe(p) < 0)
    _exit(123);
  k_sig_r = p[0];
  k_sig_w = p[1];
  (void)fcntl(k_sig_r, F_SETFD, FD_CLOEXEC);
  (void)fcntl(k_sig_w, F_SETFD, FD_CLOEXEC);
  (void)fcntl(k_sig_r, F_SETFL, O_NONBLOCK);
  (void)fcntl(k_sig_w, F_SETFL, O_NONBLOCK);

#if defined(TETHER_LINUX)
  /* Orphaned descendants come to the keeper, not to init. */
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
  sa.sa_handler = k_on_sigchld;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  (void)sigaction(SIGCHLD, &sa, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);

  for (;;) {
    struct pollfd pf[3];
    int n;
    pf[0].fd = k_lifeline;
    pf[0].events = POLLIN;
    pf[1].fd = k_sock;
    pf[1].events = POLLIN;
    pf[2].fd = k_sig_r;
    pf[2].events = POLLIN;
    pf[0].revents = pf[1].revents = pf[2].revents = 0;
    n = poll(pf, 3, TETHER__K_POLL_MS);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (pf[2].revents || n == 0) {
      char buf[64];
      while (read(k_sig_r, buf, sizeof(buf)) > 0) {
      }
      k_check_children();
    }
    if (pf[1].revents & POLLIN) {
      if (k_receive(shm) < 0)
        break;
    } else if (pf[1].revents & (POLLHUP | POLLERR)) {
      break;
    }
    if (pf[0].revents) /* EOF (or an error): the program has ended */
      break;
  }
  k_shutdown();
  _exit(0);
}
