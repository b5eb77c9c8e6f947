/* SPDX-License-Identifier: MIT */
/*
 * tether-guard: kills a program's tethered process groups when the program
 * ends, however it ends (docs/children.md, "POSIX: the guard").
 *
 * The library starts it from this file's own image (execve of the installed
 * tether-guard), never as a fork of the program: it holds none of the
 * program's memory, runs none of its code, and starts none of its children
 * (the program starts them itself). It only
 *
 *   - reads registrations from its descriptor 3 (one socket per program):
 *     each tethered child registers its process group between fork and
 *     exec, through the program's socket, so a program killed at any
 *     instant of a spawn leaves no unregistered child;
 *   - drops to the program's credentials when the program has dropped its
 *     own (every message carries them): it is never more privileged than
 *     the program it guards;
 *   - when the socket reports EOF (every copy of the program's end closed:
 *     the program died, exited or exec'd), sends SIGKILL to every group
 *     still registered, and exits.
 *
 * It is not the program's child (it forks once and its first process
 * exits), ignores every signal it can, runs in a process group of its own
 * and has no RLIMIT_CPU below the hard limit.
 */
#if defined(__linux__)
#define _GNU_SOURCE
#else
#define _DARWIN_C_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#if defined(__APPLE__)
#include <sys/sysctl.h> /* sysctlbyname: kern.maxfilesperproc */
#if !defined(OPEN_MAX)
#error "OPEN_MAX (<limits.h> with _DARWIN_C_SOURCE) is needed to clamp RLIMIT_NOFILE"
#endif
#endif
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "guard.h"
#include "msg.h" /* TETHER__CTL */

#if defined(NSIG)
#define G_NSIG NSIG
#else
#define G_NSIG 65
#endif

#if defined(__linux__) && defined(SYS_pidfd_send_signal)
#define G_PIDFD 1
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2)
#endif
#endif

typedef struct g_entry {
  pid_t pid;
  int pidfd; /* -1: none (portable) */
  int live;  /* g_kill_all: the group still had members at the last round */
} g_entry;

static g_entry *g_tab;
static size_t g_n, g_cap;
#if defined(__linux__)
static pid_t g_program;       /* the program's pid (SO_PEERCRED) */
static int g_program_fd = -1; /* a pidfd of it: readable once it has ended */
#endif

static void g_forget(size_t i) {
  if (g_tab[i].pidfd >= 0)
    (void)close(g_tab[i].pidfd);
  g_tab[i] = g_tab[--g_n];
}

static size_t g_find(pid_t pid) {
  size_t i;
  for (i = 0; i < g_n; i++)
    if (g_tab[i].pid == pid)
      return i;
  return (size_t)-1;
}

#if defined(G_PIDFD)
/* The start of a small /proc file, NUL-terminated: 1, or 0. */
static int g_read(const char *path, char *buf, size_t cap) {
  ssize_t n;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0)
    return 0;
  n = read(f, buf, cap - 1);
  (void)close(f);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return 1;
}

/* The pid a pidfd refers to (its fdinfo "Pid:" line), or -1. */
static pid_t g_pidfd_pid(int fd) {
  char path[64], buf[512], *p;
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  if (!g_read(path, buf, sizeof(buf)) || (p = strstr(buf, "\nPid:")) == NULL)
    return -1;
  return (pid_t)strtol(p + 5, NULL, 10);
}

/* The parent of pid (/proc/<pid>/stat, after the last ')'), or -1. */
static pid_t g_parent_of(pid_t pid) {
  char path[64], buf[1024], *p;
  long ppid;
  char state;
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  if (!g_read(path, buf, sizeof(buf)) || (p = strrchr(buf, ')')) == NULL ||
      sscanf(p + 1, " %c %ld", &state, &ppid) != 2)
    return -1;
  return (pid_t)ppid;
}
#endif

#if defined(G_PIDFD)
/* Has the program ended? (A re-registration it sent for a child it held
 * may be read only after its death, when the child's parent is no longer
 * the program: the program's own pidfd says it is gone.) */
static int g_program_gone(void) {
  struct pollfd pf;
  if (g_program_fd < 0)
    return 0;
  pf.fd = g_program_fd;
  pf.events = POLLIN;
  pf.revents = 0;
  return poll(&pf, 1, 0) == 1;
}
#endif

/* Never more privileged than the program: when it has dropped its
 * credentials, drop ours to them (only ever downwards: an unprivileged
 * guard cannot change them, and a message cannot raise them). */
static void g_follow(const tether__gmsg *m) {
  if (geteuid() != 0 || (m->euid == 0 && m->ruid == 0))
    return;
  {
    gid_t g = (gid_t)m->egid;
    (void)setgroups(1, &g);
  }
#if defined(__linux__)
  (void)setresgid((gid_t)m->rgid, (gid_t)m->egid, (gid_t)m->egid);
  (void)setresuid((uid_t)m->ruid, (uid_t)m->euid, (uid_t)m->euid);
#else
  (void)setregid((gid_t)m->rgid, (gid_t)m->egid);
  (void)setreuid((uid_t)m->ruid, (uid_t)m->euid);
#endif
}

static void g_register(const tether__gmsg *m, int pidfd, pid_t sender) {
  size_t i;
  (void)sender;
#if defined(G_PIDFD)
  /* Kills only its own: a registration comes either from the child itself
   * (between fork and exec; the kernel vouches for the sender's pid) or
   * from the program re-registering a child it holds unreaped; the
   * attached pidfd must be that process. */
  if (pidfd >= 0) {
    if (g_pidfd_pid(pidfd) != (pid_t)m->pid ||
        (sender != (pid_t)m->pid &&
         !(sender == g_program && (g_parent_of((pid_t)m->pid) == g_program || g_program_gone())))) {
      (void)close(pidfd);
      return;
    }
  } else if (sender == (pid_t)m->pid ||
             (sender == g_program && g_parent_of((pid_t)m->pid) == g_program)) {
    /* No descriptor came (a library without pidfds, or our limit): the
     * child itself, alive and waiting in its send, or the program's
     * unreaped child: either way the pid is still that process's. */
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)m->pid, 0);
  } else if (!(sender == g_program && g_program_gone())) {
    return;
  }
  /* else: the program re-registered a child it held, and has ended since:
   * by its group id alone, as a library without pidfds would. */
#endif
  if (m->pid <= 0) {
    if (pidfd >= 0)
      (void)close(pidfd);
    return;
  }
  i = g_find((pid_t)m->pid);
  if (i != (size_t)-1)
    g_forget(i); /* a newer registration of the same process */
  if (g_n == g_cap) {
    size_t cap = g_cap != 0 ? g_cap * 2 : 64;
    g_entry *t = (g_entry *)realloc(g_tab, cap * sizeof(*t));
    if (t == NULL) {
      if (pidfd >= 0)
        (void)close(pidfd);
      return;
    }
    g_tab = t;
    g_cap = cap;
  }
  g_tab[g_n].pid = (pid_t)m->pid;
  g_tab[g_n].pidfd = pidfd;
  g_tab[g_n].live = 0;
  g_n++;
}

/* SIGKILL to entry i's group: 1 when the group still had members (zombies
 * count: their parent, init or a subreaper, has not reaped them yet), 0 when
 * it is gone or can no longer be named safely. */
static int g_kill_group(size_t i) {
  pid_t pid = g_tab[i].pid;
#if defined(G_PIDFD)
  int fd = g_tab[i].pidfd;
  if (fd >= 0) {
    /* Linux 6.9+: the group of that very process, whatever happened to
     * its pid number. */
    if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, PIDFD_SIGNAL_PROCESS_GROUP) == 0)
      return 1;
    if (errno == ESRCH)
      return 0;
    /* Older kernels: the group id is still that group's while its
     * leader exists (alive, or a zombie not yet reaped). */
    if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0)
      return kill(-pid, SIGKILL) == 0;
    return 0;
  }
#endif
  return kill(-pid, SIGKILL) == 0;
}

/* The program is gone: every registered group dies. One SIGKILL per group
 * is not always enough: on xnu a fork in progress is not stopped by a
 * pending SIGKILL, so a grandchild being forked at that moment survives
 * (Linux's fork is stopped), and on any system a process of the session
 * may join the group with setpgid() while it is being killed. So the
 * groups are killed again, after 1, 2, 4... ms (at most 20 ms apart),
 * while they have members, for up to 2 s. A group id that answered is
 * still that group's (an id cannot be reused while a process, zombie or
 * not, has it); once a group is gone it is not named again. */
static void g_kill_all(void) {
  struct timespec nap;
  long waited_ms = 0, step_ms = 1;
  size_t i;
  int any = 0;
  for (i = 0; i < g_n; i++)
    any |= g_tab[i].live = g_kill_group(i);
  while (any && waited_ms < 2000) {
    nap.tv_sec = 0;
    nap.tv_nsec = step_ms * 1000000L;
    (void)nanosleep(&nap, NULL);
    waited_ms += step_ms;
    step_ms = step_ms * 2 > 20 ? 20 : step_ms * 2;
    any = 0;
    for (i = 0; i < g_n; i++)
      if (g_tab[i].live)
        any |= g_tab[i].live = g_kill_group(i);
  }
}

/* One message; 1 read, 0 EOF, -1 error. */
static int g_receive(tether__gmsg *m, int *pidfd, pid_t *sender) {
  struct msghdr mh;
  struct iovec iov;
  TETHER__CTL(CMSG_SPACE(4 * sizeof(int)) + 64 * 4) ctl;
  struct cmsghdr *cm;
  ssize_t n;
  size_t got = 0;
  *pidfd = -1;
  *sender = -1;
  for (;;) {
    memset(&mh, 0, sizeof(mh));
    iov.iov_base = (char *)m + got;
    iov.iov_len = sizeof(*m) - got;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(TETHER__G_FD, &mh, 0);
    if (n < 0) {
      /* ECONNRESET: the program ended with something of ours unread in
       * its end (our hello, when its reader thread had not read it yet).
       * Reported once; what the program's side sent is still queued here
       * and is read next, then EOF. */
      if (errno == EINTR || errno == ECONNRESET)
        continue;
      return -1;
    }
    if (n == 0)
      return 0;
    for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level != SOL_SOCKET)
        continue;
      if (cm->cmsg_type == SCM_RIGHTS) {
        size_t k, cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (k = 0; k < cnt; k++) {
          int fd;
          memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
          (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
          if (*pidfd < 0)
            *pidfd = fd;
          else
            (void)close(fd);
        }
      }
#if defined(__linux__)
      else if (cm->cmsg_type == SCM_CREDENTIALS) {
        struct ucred uc;
        memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
        *sender = uc.pid;
      }
#endif
    }
    got += (size_t)n;
#if defined(__linux__)
    return got == sizeof(*m) ? 1 : 2; /* records: a short one is ignored */
#else
    if (got == sizeof(*m))
      return 1;
#endif
  }
}

int main(int argc, char **argv) {
  struct stat st;
  struct rlimit rl;
  struct sigaction sa;
  sigset_t none;
  tether__gmsg m;
  pid_t pid;
  int s, null_fd;
  (void)argc;
  (void)argv;

  if (fstat(TETHER__G_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    fprintf(stderr, "tether-guard: started by the tether library only\n");
    return 2;
  }
  /* Not the program's child: a waitpid(-1) loop of the program never sees
   * us. The library reaps our first process before its spawn returns.
   * Every catchable signal is already ignored (set before our exec). */
  pid = fork();
  if (pid > 0)
    _exit(0);
  /* pid < 0 (a process limit): stay the program's child rather than fail;
   * the library sees it in the hello (our pid is the one it started). */
  (void)setpgid(0, 0); /* a kill aimed at the program's group misses us */

  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;
  for (s = 1; s < G_NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
      (void)sigaction(s, &sa, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
#if defined(__linux__) && defined(SYS_rt_sigprocmask) && defined(_NSIG)
  {
    /* glibc's sigaction() and sigprocmask() refuse its two reserved
     * signals (32, 33), whose default action would end us: block them
     * with the system call itself (blocked, they are never acted on). */
    unsigned long long
        set[(_NSIG / 8 + sizeof(unsigned long long) - 1) / sizeof(unsigned long long)];
    memset(set, 0, sizeof(set));
    for (s = 32; s <= 33 && s < G_NSIG; s++)
      set[(s - 1) / 64] |= 1ull << ((s - 1) % 64);
    (void)syscall(SYS_rt_sigprocmask, SIG_BLOCK, set, NULL, (size_t)(_NSIG / 8));
  }
#endif

  if (getrlimit(RLIMIT_CPU, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_CPU, &rl);
  }
  /* One pidfd per registered child: as many as the hard limit allows. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
#if defined(__APPLE__)
    {
      /* macOS refuses a soft limit above kern.maxfilesperproc, and older
       * ones above OPEN_MAX, RLIM_INFINITY included (EINVAL): as Go's
       * syscall package, clamp to kern.maxfilesperproc, then to OPEN_MAX
       * if that is refused. */
      int per = 0;
      size_t len = sizeof(per);
      if (sysctlbyname("kern.maxfilesperproc", &per, &len, NULL, 0) == 0 && per > 0 &&
          rl.rlim_cur > (rlim_t)per)
        rl.rlim_cur = (rlim_t)per;
      if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) != 0 && errno == EINVAL &&
          rl.rlim_cur > (rlim_t)OPEN_MAX) {
        rl.rlim_cur = (rlim_t)OPEN_MAX;
        if (rl.rlim_cur > was)
          (void)setrlimit(RLIMIT_NOFILE, &rl);
      }
    }
#else
    if (rl.rlim_cur > was)
      (void)setrlimit(RLIMIT_NOFILE, &rl);
#endif
  }
  /* Nothing of the program's: stdio on /dev/null, no other descriptor, no
   * directory kept busy. */
  null_fd = open("/dev/null", O_RDWR);
  for (s = 0; s < 3; s++)
    if (null_fd >= 0 && null_fd != s)
      (void)dup2(null_fd, s);
  if (null_fd > TETHER__G_FD)
    (void)close(null_fd);
  (void)fcntl(TETHER__G_FD, F_SETFD, FD_CLOEXEC);
  {
    int fd, top = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
      top = (int)rl.rlim_cur;
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, TETHER__G_FD + 1, ~0u, 0) != 0)
#endif
      for (fd = TETHER__G_FD + 1; fd < top; fd++)
        (void)close(fd);
  }
  (void)chdir("/");
#if defined(__linux__)
  {
    int on = 1;
    struct ucred uc;
    socklen_t len = sizeof(uc);
    (void)setsockopt(TETHER__G_FD, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
    if (getsockopt(TETHER__G_FD, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
      g_program = uc.pid;
#if defined(G_PIDFD)
      g_program_fd = (int)syscall(SYS_pidfd_open, g_program, 0);
#endif
    }
  }
#endif
#if defined(SO_NOSIGPIPE)
  {
    int on = 1;
    (void)setsockopt(TETHER__G_FD, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
  }
#endif

  memset(&m, 0, sizeof(m));
  m.type = TETHER__G_HELLO;
  m.pid = (int32_t)getpid();
  while (send(TETHER__G_FD, &m, sizeof(m), 0) < 0 && errno == EINTR) {
  }

  for (;;) {
    int pidfd, r;
    pid_t sender;
    r = g_receive(&m, &pidfd, &sender);
    if (r <= 0)
      break;
    if (r != 1) {
      if (pidfd >= 0)
        (void)close(pidfd);
      continue;
    }
    g_follow(&m);
    if (m.type == TETHER__G_REGISTER) {
      g_register(&m, pidfd, sender);
    } else {
      size_t i;
      if (pidfd >= 0)
        (void)close(pidfd);
      if (m.type == TETHER__G_UNREGISTER && (i = g_find((pid_t)m.pid)) != (size_t)-1)
        g_forget(i);
    }
  }
  g_kill_all();
  _exit(0);
}
