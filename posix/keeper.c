/* SPDX-License-Identifier: MIT */
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

#include "backend.h"
#include "keeper.h"
#include "msg.h"
#include "spawn.h" /* tether__read_file */

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
/* The keeper's own resource limits, as set up at its start (by resource
 * number), and those it has changed for the fork of a child (bits): they
 * come back right after that fork. */
#if defined(RLIM_NLIMITS) && RLIM_NLIMITS <= 64
#define TETHER__K_NRES RLIM_NLIMITS
#else
#define TETHER__K_NRES 64
#endif
static struct rlimit k_own[TETHER__K_NRES];
static unsigned char k_own_ok[TETHER__K_NRES];
static unsigned long long k_changed;
static pid_t k_self;
/* The extra descriptors received for request k_xid (TETHER__K_EXTRA), in
 * order; k_xerr: an errno when some were lost (the next spawn of that
 * request fails with it). */
static int k_xfd[TETHER__K_MAX_EXTRA];
static int k_xn, k_xerr;
static uint32_t k_xid;

/* ---- small async-signal-safe helpers ---- */

static void k_send(uint32_t type, uint32_t id, pid_t pid, int err, uint32_t status) {
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
#if defined(TETHER__TSAN)
#define TETHER__K_POLL_MS 100
#else
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
 * WIFEXITED/WIFSIGNALED/WCOREDUMP decode (Linux, macOS, BSDs). Pure, so
 * async-signal-safe; posix/direct.c uses it too. */
uint32_t tether__wait_status(const siginfo_t *si) {
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
/* ---- orphans: the keeper's own children that it did not start ----
 *
 * The keeper is a child subreaper: descendants of its children that are
 * orphaned (including those that left their group with setsid()) are
 * re-parented to it. It finds them in /proc/self/task/<keeper>/children
 * and must never act on anything else: a pid read wrongly (a number cut
 * off at the end of a read, a pid recycled since the list was read) may
 * be any process of the system. So:
 *  - the list is read in chunks of any number, a number that runs across
 *    two reads is carried over, and only numbers ended by a separator are
 *    used (the kernel ends each with a space; one cut off by an error or
 *    an early EOF is dropped);
 *  - before a kill, the process must be the keeper's own child, as the
 *    kernel says (waitid on that pid, see k_is_own_child), checked on a
 *    pidfd opened first, and the signal goes through that pidfd, so that
 *    it reaches the process that was checked or nobody;
 *  - /proc must describe the keeper's own pid namespace (a program in a
 *    pid namespace of its own may still see its parent namespace's /proc,
 *    where every number is another process), and have the children list
 *    (CONFIG_PROC_CHILDREN): otherwise the orphans are found without it
 *    (see "orphans without /proc" below).
 * Reaping needs no check: waitpid() only ever reaps the keeper's own
 * children (the leaders it keeps as zombies are skipped: they are in the
 * table). */

static char k_children_path[64]; /* /proc/self/task/<keeper>/children */
static char k_chunk[4096];       /* one read of that list */
static char k_procbuf[4096];     /* /proc/<pid>/stat, /proc/self/status */
static int k_no_pidfd;           /* pidfd_open/pidfd_send_signal: ENOSYS */
static int k_acted;              /* orphans reaped or signalled by a pass */
/* Orphans already sent SIGKILL (one is enough), by pid, so that a sweep
 * does not check and signal them again while they die. A bit is cleared
 * when the keeper reaps that pid; since nobody else can reap the keeper's
 * children, a set bit for a pid still listed as the keeper's child means
 * the very process that was killed. Pids up to PID_MAX_LIMIT (2^22). */
#define TETHER__K_PID_LIMIT (1L << 22)
static unsigned char k_killed[TETHER__K_PID_LIMIT / 8];

static int k_was_killed(pid_t p) {
  return (long)p < TETHER__K_PID_LIMIT && (k_killed[p >> 3] & (1u << (p & 7))) != 0;
}

static void k_mark_killed(pid_t p, int on) {
  if ((long)p >= TETHER__K_PID_LIMIT)
    return;
  if (on)
    k_killed[p >> 3] = (unsigned char)(k_killed[p >> 3] | (1u << (p & 7)));
  else
    k_killed[p >> 3] = (unsigned char)(k_killed[p >> 3] & ~(1u << (p & 7)));
}

/* Writes the decimal digits of v (>= 0) at dst; returns their number. */
static int k_utoa(char *dst, long v) {
  char digits[24];
  int nd = 0, i;
  do {
    digits[nd++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (i = 0; i < nd; i++)
    dst[i] = digits[nd - 1 - i];
  return nd;
}

/* "<pre><v><post>" into dst (at most 64 bytes). */
static void k_path(char *dst, const char *pre, long v, const char *post) {
  size_t a = strlen(pre), b = strlen(post);
  int n;
  memcpy(dst, pre, a);
  n = k_utoa(dst + a, v);
  memcpy(dst + a + (size_t)n, post, b + 1);
}

/* Parses the decimal number at *s (skipping blanks first); returns it, or
 * -1 when there is none or it is too long for a pid. */
static long k_number(const char **s) {
  const char *p = *s;
  long v = 0;
  int nd = 0;
  while (*p == ' ' || *p == '\t')
    p++;
  while (*p >= '0' && *p <= '9') {
    if (++nd > 9) /* pids have at most 7 digits; stays within a long */
      return -1;
    v = v * 10 + (*p++ - '0');
  }
  *s = p;
  return nd > 0 ? v : -1;
}

/* Does /proc number processes as the keeper does (its own pid namespace)?
 * NSpid of /proc/self/status lists this process's pid in every namespace
 * from /proc's down to its own: one number, equal to getpid(). Kernels
 * without NSpid (before 4.1): /proc/self must be the keeper. */
static int k_proc_is_ours(void) {
  const char *s;
  ssize_t n = tether__read_file("/proc/self/status", k_procbuf, sizeof(k_procbuf));
  if (n <= 0)
    return 0;
  s = strstr(k_procbuf, "\nNSpid:");
  if (s != NULL) {
    s += 7;
    if (k_number(&s) != (long)k_self)
      return 0;
    while (*s == ' ' || *s == '\t')
      s++;
    return *s == '\n' || *s == '\0'; /* no deeper namespace */
  }
  {
    char link[32];
    const char *l = link;
    n = readlink("/proc/self", link, sizeof(link) - 1);
    if (n <= 0)
      return 0;
    link[n] = '\0';
    return k_number(&l) == (long)k_self && *l == '\0';
  }
}

/* Is p the keeper's own child? The kernel says so: waitid(P_PID) looks
 * at the caller's children only and fails with ECHILD for any other pid,
 * and WNOWAIT with WNOHANG changes nothing (a child without news gives 0
 * and si_pid 0). __WALL: also a child whose exit signal is not SIGCHLD
 * (clone()); kernels before 4.7 refuse it in waitid (EINVAL) and are
 * asked without it. Needs no /proc, and means the keeper's own pid
 * namespace whatever /proc shows. */
#if defined(__WALL)
static int k_wall = __WALL;
#else
static int k_wall = 0;
#endif

static int k_is_own_child(pid_t p) {
  siginfo_t si;
  int r;
  for (;;) {
    memset(&si, 0, sizeof(si));
    r = waitid(P_PID, (id_t)p, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | k_wall);
    if (r == 0)
      return 1;
    if (errno == EINTR)
      continue;
    if (errno == EINVAL && k_wall != 0) {
      k_wall = 0;
      continue;
    }
    return 0;
  }
}

/* SIGKILL p when, and only when, it is the keeper's own child; returns 1
 * when it did. */
static int k_kill_own(pid_t p) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
  if (!k_no_pidfd) {
    /* The pidfd pins the process: if p ends and its number is reused, the
     * pidfd still means the old process and a signal to it goes nowhere.
     * The check (waitid) runs after the pidfd exists, so a process it
     * approves is either the pidfd's or a child of the keeper anyway
     * (a pid is only recycled once reaped, and the keeper's children are
     * reaped by nobody but the keeper). */
    int fd = (int)syscall(SYS_pidfd_open, p, 0);
    if (fd >= 0) {
      if (k_is_own_child(p)) {
        int r = (int)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
        if (r != 0 && errno == ENOSYS) {
          k_no_pidfd = 1;       /* pidfd_open without pidfd_send_signal: kill() */
          r = kill(p, SIGKILL); /* checked just above; see below */
        }
        (void)close(fd);
        return r == 0;
      }
      (void)close(fd);
      return 0;
    }
    if (errno == ESRCH)
      return 0; /* gone (or reaped) since the list was read */
    if (errno == ENOSYS)
      k_no_pidfd = 1;
    /* else (EMFILE, ENOMEM...): the check alone, as below */
  }
#endif
  /* No pidfd (Linux before 5.3, or a sandbox that refuses it): check the
   * parent, then kill(). The race left is between the check and the kill:
   * p could end and its number go to another process in between. That
   * cannot happen to a process whose parent is the keeper, since its
   * number stays reserved until the keeper reaps it, and the keeper is
   * single-threaded and reaps nothing in between (SIGCHLD has a handler
   * without SA_NOCLDWAIT: nothing is reaped automatically). It would
   * matter only if the keeper's children could be reaped behind its back
   * (SIGCHLD ignored, another thread in waitpid). */
  return k_is_own_child(p) && kill(p, SIGKILL) == 0;
}

/* Without the children list (no /proc): the orphans that have ended, as
 * waitid(P_ALL) names them, one by one. A tracked child that has ended
 * (kept as a zombie until its release) hides the others: they wait for
 * the next look after it is released. Returns the number seen. */
static int k_each_zombie(void (*fn)(pid_t)) {
  int seen = 0;
  while (seen < 4096) {
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | k_wall) != 0 || si.si_pid <= 0 ||
        k_find(si.si_pid) != NULL)
      break;
    seen++;
    k_acted = 0;
    fn(si.si_pid);
    if (k_acted == 0)
      break; /* not reaped: it would be named again */
  }
  return seen;
}

/* Calls fn for each orphan: each complete pid of the keeper's children
 * list that is not in the table (its leaders, kept as zombies, must not be
 * reaped before their release). fn may reap, which shortens the list while
 * it is read (the kernel resumes by position: an entry may be skipped);
 * callers pass again while anything was done. Returns the number of
 * orphans seen, or -1 when the list cannot be read. */
static int k_each_orphan(void (*fn)(pid_t)) {
  int fd, seen = 0, nd = 0;
  long p = 0;
  ssize_t n, i;
  fd = open(k_children_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return k_each_zombie(fn);
  for (;;) {
    n = read(fd, k_chunk, sizeof(k_chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* EOF (or an error): a number not ended by a separator is dropped */
    for (i = 0; i < n; i++) {
      char ch = k_chunk[i];
      if (ch >= '0' && ch <= '9') {
        if (nd < 9) /* carried over to the next read when the chunk ends */
          p = p * 10 + (ch - '0');
        nd++; /* more than 9 digits: not a pid, dropped */
        continue;
      }
      if (nd > 0 && nd <= 9 && p > 1 && p != (long)k_self && k_find((pid_t)p) == NULL) {
        seen++;
        fn((pid_t)p);
      }
      p = 0;
      nd = 0;
    }
  }
  (void)close(fd);
  return seen;
}

static void k_reap_orphan(pid_t p) {
  if (waitpid(p, NULL, WNOHANG) > 0) {
    k_mark_killed(p, 0);
    k_acted++;
  }
}

static void k_kill_reap_orphan(pid_t p) {
  if (waitpid(p, NULL, WNOHANG) > 0) {
    k_mark_killed(p, 0);
    k_acted++;
  } else if (!k_was_killed(p) && k_kill_own(p)) {
    k_mark_killed(p, 1);
    k_acted++;
  }
}

/* ---- orphans without /proc ----
 *
 * Without /proc (a chroot, a container or a mount namespace without it)
 * or with the /proc of another pid namespace, the children list cannot be
 * read; the kernel still answers "is pid p my child?" (k_is_own_child:
 * waitid on p, ECHILD for anything else), one pid at a time, in the
 * keeper's own namespace. A pass asks:
 *  1. the pids handed out since the keeper started, which is where the
 *     program's descendants are (pids are handed out in increasing order,
 *     wrapping at pid_max): from the keeper's pid to the newest one (the
 *     pid of a child forked and reaped for the purpose), or, when the
 *     numbers have wrapped, from the keeper's pid to the highest pid seen
 *     and from 2 to the newest;
 *  2. when that found none and the keeper tracks no child of its own,
 *     waitid(P_ALL) says whether it has any child at all: ECHILD, none is
 *     left; a zombie is named and reaped; a live one that step 1 missed
 *     (the numbers went round more than once) is looked for among every
 *     pid up to PID_MAX_LIMIT (2^22, about 1 us each: seconds, only then).
 * Only pids the kernel calls the keeper's children are killed (through a
 * pidfd where there is one, as with /proc). */
static pid_t k_pid_top; /* the highest pid the keeper has seen */

static void k_saw_pid(pid_t p) {
  if (p > k_pid_top)
    k_pid_top = p;
}

/* The newest pid: a child that exits at once (reaped here), or -1. */
static pid_t k_newest_pid(void) {
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  if (p < 0)
    return -1;
  while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
  }
  k_saw_pid(p);
  return p;
}

/* Calls fn for each of the keeper's untracked children in [lo, hi]. */
static int k_probe_range(long lo, long hi, void (*fn)(pid_t)) {
  long p;
  int seen = 0;
  if (lo < 2)
    lo = 2;
  if (hi >= TETHER__K_PID_LIMIT)
    hi = TETHER__K_PID_LIMIT - 1;
  for (p = lo; p <= hi; p++)
    if (p != (long)k_self && k_is_own_child((pid_t)p) && k_find((pid_t)p) == NULL) {
      k_saw_pid((pid_t)p);
      seen++;
      fn((pid_t)p);
    }
  return seen;
}

static int k_tracks_any(void) {
  int i;
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE)
      return 1;
  return 0;
}

static int k_each_orphan_probe(void (*fn)(pid_t)) {
  pid_t newest = k_newest_pid();
  int seen;
  siginfo_t si;
  if (newest > k_self) {
    seen = k_probe_range((long)k_self + 1, (long)newest, fn);
  } else if (newest > 0) { /* wrapped at pid_max */
    seen = k_probe_range((long)k_self + 1, (long)k_pid_top, fn);
    seen += k_probe_range(2, (long)newest, fn);
  } else { /* cannot fork: every pid */
    return k_probe_range(2, TETHER__K_PID_LIMIT - 1, fn);
  }
  if (seen > 0 || k_tracks_any())
    return seen;
  memset(&si, 0, sizeof(si));
  if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | k_wall) != 0)
    return 0; /* ECHILD: no child at all */
  if (si.si_pid > 0) {
    fn(si.si_pid); /* a zombie, or a child that stopped or went on */
    return 1;
  }
  return k_probe_range(2, TETHER__K_PID_LIMIT - 1, fn); /* missed: all */
}

/* Reap the orphans that have ended. */
static void k_reap_orphans(void) {
  int pass;
  for (pass = 0; pass < 16; pass++) {
    k_acted = 0;
    if (k_each_orphan(k_reap_orphan) <= 0 || k_acted == 0)
      break; /* nothing reaped: nothing was skipped either */
  }
}
#endif

/* Look at every running child without reaping it (a released one that
 * died is reaped). Returns how many ended. */
static int k_check_tracked(void) {
  int i, ended = 0;
  for (i = 0; i < k_nchildren; i++) {
    tether__kchild *k = &k_children[i];
    siginfo_t si;
    if (k->state != K_RUNNING && k->state != K_RELEASING)
      continue;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != k->pid)
      continue;
    ended++;
    if (k->state == K_RELEASING) {
      k_reap(k); /* the library is done with it: nobody to tell */
    } else {
      k->state = K_EXITED; /* zombie kept: its group id stays reserved */
      k_send(TETHER__K_EXITED, 0, k->pid, 0, tether__wait_status(&si));
    }
  }
  return ended;
}

/* SIGCHLD: the children, then the orphans that ended. */
static void k_check_children(void) {
  (void)k_check_tracked();
#if defined(TETHER_LINUX)
  k_reap_orphans();
#endif
}

#if defined(TETHER_LINUX)
/* ---- sweeps: the escapees die ---- */

static pid_t k_pg[TETHER__K_MAX_CHILDREN]; /* the groups a sweep waits for */

static long k_now_ms(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Kill (and reap) the orphans, and those that keep arriving, until none is
 * left and the process groups k_pg[0..npg) have no member left (a member
 * that dies later would orphan its own escaped children after the sweep).
 * It gives up only when nothing has been killed or reaped for idle_ms, or
 * after max_ms in all: dying trees can take long on a loaded machine, and
 * escapees re-parented after the keeper is gone would go to init. In
 * between, the keeper waits for SIGCHLD on its self-pipe (1 ms at first,
 * up to 16 ms while nothing happens) and looks at its children as the main
 * loop does. Without /proc, or with the /proc of another pid namespace,
 * the orphans are found by asking the kernel pid by pid (see "orphans
 * without /proc"). */
static void k_sweep(int npg, long idle_ms, long max_ms) {
  long start = k_now_ms(), last = start, now;
  int i, busy, seen, wait_ms = 1, probe;
  for (;;) {
    int ended = k_check_tracked(); /* reaps the released leaders that died */
    busy = 0;
    for (i = 0; i < npg && !busy; i++)
      busy = kill(-k_pg[i], 0) == 0; /* EPERM: members it may not kill anyway */
    /* /proc is looked at on each pass: it may come or go (umount). */
    probe = !k_proc_is_ours() || access(k_children_path, R_OK) != 0;
    k_acted = 0;
    seen = probe ? k_each_orphan_probe(k_kill_reap_orphan) : k_each_orphan(k_kill_reap_orphan);
    now = k_now_ms();
    if (k_acted > 0 || ended > 0)
      last = now;
    if ((seen <= 0 && !busy) || now - last >= idle_ms || now - start >= max_ms)
      break;
    wait_ms = k_acted > 0 ? 1 : (wait_ms < 16 ? wait_ms * 2 : 16);
    {
      struct pollfd pf;
      char buf[64];
      pf.fd = k_sig_r;
      pf.events = POLLIN;
      pf.revents = 0;
      if (poll(&pf, 1, wait_ms) > 0)
        while (read(k_sig_r, buf, sizeof(buf)) > 0) {
        }
    }
  }
}

/* After a release: when the program holds no other child (running, or
 * exited and not yet released), every orphan descends from released
 * children, and dies now with the released trees (CATCH_ESCAPEES: the
 * escapees die with their child); tether_child_free() returns once they
 * are dead (it waits at most 2 s without progress, 10 s in all; what is
 * left then stays the keeper's, for the next sweep). While the program
 * holds other children, orphans cannot be told from theirs, so they wait
 * for the release of the last one or the program's end. */
static void k_release_sweep(pid_t pg) {
  int i, n = 0, have_pg = 0;
  for (i = 0; i < k_nchildren; i++) {
    if (k_children[i].state == K_RUNNING || k_children[i].state == K_EXITED)
      return;
    if (k_children[i].state == K_RELEASING) {
      k_pg[n++] = k_children[i].pid;
      have_pg |= k_children[i].pid == pg;
    }
  }
  if (!have_pg)
    k_pg[n++] = pg; /* its leader is reaped already; members may remain */
  k_sweep(n, 2000, 10000);
}
#endif

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
    if (k_xfd[i] <= top && k_xfd[i] != req->extra_target[i] && k_is_target(req, k_xfd[i], i) &&
        (e = k_move_above(&k_xfd[i], top + 1)) != 0)
      return e;
  if (*err_fd <= top && k_is_target(req, *err_fd, -1) && (e = k_move_above(err_fd, top + 1)) != 0)
    return e;
  return 0;
}

/* The program's resource limits of the moment reach the child, which sets
 * them for itself before execve (k_spawn's child side): the keeper never
 * runs under them. A CPU time limit, say, that the long-lived keeper has
 * used up already would end it (SIGXCPU, then SIGKILL at the hard limit),
 * and a lowered hard limit could never come back. The exception is
 * RLIMIT_NPROC, which binds fork() itself through the forking process's
 * soft limit: the keeper takes the program's soft value for the fork
 * (its own hard limit stays) and gets its own back right after. */
static void k_limits_for_fork(const tether__kreq *req) {
#if defined(RLIMIT_NPROC)
  int i;
  for (i = 0; i < req->nlimits && i < TETHER__K_NLIMITS; i++) {
    int r = req->resource[i];
    struct rlimit l;
    if (r != RLIMIT_NPROC || r >= TETHER__K_NRES || !k_own_ok[r])
      continue;
    l = k_own[r];
    l.rlim_cur = req->limit[i].rlim_cur < l.rlim_max ? req->limit[i].rlim_cur : l.rlim_max;
    if (l.rlim_cur != k_own[r].rlim_cur && setrlimit(r, &l) == 0)
      k_changed |= 1ull << r;
  }
#else
  (void)req;
#endif
}

/* Every limit of the keeper's own that was changed comes back. */
static void k_limits_restore(void) {
  int r;
  for (r = 0; k_changed != 0 && r < TETHER__K_NRES; r++)
    if (k_changed & (1ull << r)) {
      (void)setrlimit(r, &k_own[r]);
      k_changed &= ~(1ull << r);
    }
}

static void k_spawn(const tether__kmsg *m, const int *fds, int nfds, void *shm) {
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
  /* The fork below is checked against the program's RLIMIT_NPROC; the
   * child sets the program's limits for itself. */
  k_limits_for_fork(req);
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
    /* The program's resource limits of this moment, for the child alone
     * (k_limits_for_fork): before the identity, since raising a hard
     * limit may need the privileges that setreuid drops, and before the
     * priority (RLIMIT_NICE). */
    for (i = 0; i < req->nlimits && i < TETHER__K_NLIMITS; i++)
      (void)setrlimit(req->resource[i], &req->limit[i]);
    /* Priority, then identity (groups first: they need the privileges that
     * setuid may drop). Nothing is done when nothing differs. */
    if (getpriority(PRIO_PROCESS, 0) != req->nice_value)
      (void)setpriority(PRIO_PROCESS, 0, req->nice_value);
    if (req->ngroups >= 0 && geteuid() == 0 && (req->euid != 0 || req->ruid != 0) &&
        setgroups((size_t)req->ngroups, req->groups) < 0)
      goto fail;
    if ((getgid() != req->rgid || getegid() != req->egid) && setregid(req->rgid, req->egid) < 0)
      goto fail;
    if ((getuid() != req->ruid || geteuid() != req->euid) && setreuid(req->ruid, req->euid) < 0)
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
  fail : {
    int e = errno != 0 ? errno : EINVAL;
    ssize_t w = write(ep[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  }
  fork_errno = errno;
  k_limits_restore();
  (void)close(ep[1]);
  if (pid > 0) {
    ssize_t n;
    while ((n = read(ep[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR) {
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
#if defined(TETHER_LINUX)
    k_saw_pid(pid);
#endif
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
    pid_t pg = k->pid;
    /* The whole group, while the leader (ours, unreaped) keeps its id. */
    (void)kill(-pg, SIGKILL);
    if (k->state == K_EXITED)
      k_reap(k);
    else
      k->state = K_RELEASING; /* reaped when SIGCHLD says it died */
#if defined(TETHER_LINUX)
    k_release_sweep(pg);
#endif
  }
  k_send(TETHER__K_RELEASED, 0, pid, 0, 0);
}

static int k_receive(void *shm) {
  tether__kmsg m;
  struct msghdr mh;
  struct iovec iov;
  TETHER__CTL(CMSG_SPACE(TETHER__K_FDS_PER_MSG * sizeof(int))) ctl;
  int fds[TETHER__K_FDS_PER_MSG], nfds = 0, trunc, k;
  ssize_t n;
  struct cmsghdr *cm;
  tether__msg_init(&mh, &iov, &m, sizeof(m), ctl.buf, sizeof(ctl.buf));
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

static void k_shutdown(void) {
  int i, n = 0;
  /* One SIGKILL to each group kills every member: a member forking at the
   * same moment either is in the group already or its fork fails because
   * a fatal signal is pending. The leaders are still unreaped, so every
   * group id is still ours. */
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE) {
      (void)kill(-k_children[i].pid, SIGKILL);
      (void)kill(k_children[i].pid, SIGKILL);
#if defined(TETHER_LINUX)
      k_pg[n++] = k_children[i].pid;
#endif
    }
  for (i = 0; i < k_nchildren; i++)
    if (k_children[i].state != K_FREE)
      k_reap(&k_children[i]);
#if defined(TETHER_LINUX)
  /* Descendants orphaned by those deaths come to the keeper (subreaper),
   * including those that left their group with setsid(): kill and reap
   * them until none is left and the groups are empty. Nobody waits for
   * the keeper now: it gives up only after 10 s without progress (a
   * process that cannot die), 2 minutes in all. */
  k_sweep(n, 10000, 120000);
#else
  (void)n;
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
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
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

#if defined(TETHER_LINUX)
  /* Its own name (comm, what ps, top, pkill and killall match without
   * -f): a pkill or killall of the program's name must not end it. */
  (void)prctl(PR_SET_NAME, "tether-keeper", 0, 0, 0);
  k_path(k_children_path, "/proc/self/task/", (long)k_self, "/children");
#endif

  /* Every signal that can be ignored is, whatever the program did with it
   * (tether's handlers included): the keeper must outlive the program, so
   * nothing but SIGKILL may end it. Not a terminal's signals (hang-up, ^C,
   * ^\, ^Z, background reads and writes), not the SIGTERM a service
   * manager's stop sends to every process of the service, not a stray
   * SIGUSR1, SIGALRM, SIGPWR, SIGXCPU or real-time signal, and SIGPIPE
   * (the socket may be closed). SIGCHLD is the exception: at its default
   * until its handler is set below (ignoring it would make the kernel reap
   * children behind the keeper's back). SIGKILL and SIGSTOP cannot be
   * ignored, nor the C library's internal signals; faults (SIGSEGV...)
   * still kill, the kernel forces them. Every signal stays blocked, as the
   * keeper was forked, until the handler is set and the mask emptied
   * below. Children get every disposition back at its default before
   * execve (k_spawn), ignored ones included. */
  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  for (s = 1; s < TETHER__K_NSIG; s++) {
    sa.sa_handler = s == SIGCHLD ? SIG_DFL : SIG_IGN;
    (void)sigaction(s, &sa, NULL);
  }

  /* Limits of its own, whatever the program's soft limits were when it
   * started: descriptors up to the hard limit (it needs a few), CPU time up
   * to the hard limit (a long-lived keeper must not reach a soft limit
   * meant for the program). They are what k_limits_restore() restores. */
  {
    static const int up[] = {RLIMIT_NOFILE, RLIMIT_CPU};
    struct rlimit rl;
    int r;
    for (r = 0; r < (int)(sizeof(up) / sizeof(up[0])); r++)
      if (getrlimit(up[r], &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(up[r], &rl);
      }
    for (r = 0; r < TETHER__K_NRES; r++)
      k_own_ok[r] = getrlimit(r, &k_own[r]) == 0;
  }

  /* Descriptors: 0..2 /dev/null, 3 lifeline, 4 socket, nothing else of
   * the program's (it must not keep the program's pipes or sockets). */
  {
    /* Without a spare descriptor where possible (a program may start it
     * under a hard descriptor limit that its own descriptors fill): only
     * the socket, when it sits at 3, is moved out of the way first. */
    int l = lifeline_fd, k = sock_fd;
    if (k == 3) {
      k = l == 4 ? fcntl(k, F_DUPFD, 0) /* a swap: the lowest free number */
                 : dup2(k, 4);
      if (k < 0)
        _exit(120);
    }
    if ((l != 3 && dup2(l, 3) < 0) || (k != 4 && dup2(k, 4) < 0))
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
