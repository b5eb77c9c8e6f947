/* SPDX-License-Identifier: MIT */
/*
 * tether_probe_attrs: prints the process attributes a spawned child takes
 * from its parent, one "name=value" line each, sorted by name, for
 * tests/test_spawn_attrs.c, which runs it once with tether_spawn() and once
 * with posix_spawn() and compares the two outputs line by line.
 *
 * Every line describes something a child inherits (working directory,
 * umask, resource limits, priority and scheduling, identity, capabilities,
 * no_new_privs and seccomp, namespaces, cgroup, root directory, signal
 * dispositions and mask...). Nothing that differs between any two processes
 * is printed: no pid, ppid or process group. A line whose name starts with
 * '~' is per-process (not the parent's attribute), and the comparison
 * ignores it: only the dispositions of the signals the C library reserves
 * (see put_sigset). A value that cannot be read is printed as "error:<errno>", so that
 * the two runs still compare.
 *
 * Linux-only attributes are guarded by __linux__ (the OS, not tether's
 * backend: the portable lane runs this same probe on Linux); elsewhere the
 * portable subset is printed.
 *
 *   tether_probe_attrs           the attributes
 *   tether_probe_attrs --libs    Linux: the shared objects it was loaded
 *                                with (the ELF interpreter included), one
 *                                path a line, for building a chroot
 */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_getaffinity, CPU_*, dl_iterate_phdr, syscall */
#endif
/* No feature macro on Apple: the full namespace (NSIG), and getgroups()
 * stays the kernel's list (_DARWIN_C_SOURCE would bind it to a variant
 * that returns the user's directory groups). */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <dirent.h>
#include <link.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#else
#include <pthread.h>
#include <sched.h>
#endif

/* ---------------------------------------------------------------------- */
/* Lines, sorted before printing                                            */
/* ---------------------------------------------------------------------- */

static char **lines;
static size_t nlines, caplines;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(const char *name, const char *fmt, ...) {
  char value[4096], *line;
  size_t len;
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(value, sizeof(value), fmt, ap);
  va_end(ap);
  len = strlen(name) + 1 + strlen(value) + 1;
  line = (char *)malloc(len);
  if (line == NULL)
    exit(3);
  (void)snprintf(line, len, "%s=%s", name, value);
  if (nlines == caplines) {
    char **n;
    caplines = caplines ? caplines * 2 : 128;
    n = (char **)realloc(lines, caplines * sizeof(*lines));
    if (n == NULL)
      exit(3);
    lines = n;
  }
  lines[nlines++] = line;
}

static void put_err(const char *name, int err) { put(name, "error:%d", err); }

static int cmp_lines(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------------- */
/* Portable attributes                                                     */
/* ---------------------------------------------------------------------- */

static void probe_cwd(void) {
  char buf[PATH_MAX + 1];
  if (getcwd(buf, sizeof(buf)) == NULL)
    put_err("cwd", errno);
  else
    put("cwd", "%s", buf);
}

/* The umask without /proc: set and restore (this probe has one thread). */
static void probe_umask_portable(void) {
  mode_t m = umask(022);
  (void)umask(m);
  put("umask", "%04o", (unsigned)m);
}

static void put_rlim(char *buf, size_t cap, rlim_t v) {
  if (v == RLIM_INFINITY)
    (void)snprintf(buf, cap, "inf");
  else
    (void)snprintf(buf, cap, "%llu", (unsigned long long)v);
}

static void probe_rlimits(void) {
  static const struct {
    int resource;
    const char *name;
  } r[] = {
#ifdef RLIMIT_AS
      {RLIMIT_AS, "rlimit.as"},
#endif
      {RLIMIT_CORE, "rlimit.core"},
      {RLIMIT_CPU, "rlimit.cpu"},
      {RLIMIT_DATA, "rlimit.data"},
      {RLIMIT_FSIZE, "rlimit.fsize"},
#ifdef RLIMIT_LOCKS
      {RLIMIT_LOCKS, "rlimit.locks"},
#endif
#ifdef RLIMIT_MEMLOCK
      {RLIMIT_MEMLOCK, "rlimit.memlock"},
#endif
#ifdef RLIMIT_MSGQUEUE
      {RLIMIT_MSGQUEUE, "rlimit.msgqueue"},
#endif
#ifdef RLIMIT_NICE
      {RLIMIT_NICE, "rlimit.nice"},
#endif
      {RLIMIT_NOFILE, "rlimit.nofile"},
#ifdef RLIMIT_NPROC
      {RLIMIT_NPROC, "rlimit.nproc"},
#endif
#ifdef RLIMIT_RSS
      {RLIMIT_RSS, "rlimit.rss"},
#endif
#ifdef RLIMIT_RTPRIO
      {RLIMIT_RTPRIO, "rlimit.rtprio"},
#endif
#ifdef RLIMIT_RTTIME
      {RLIMIT_RTTIME, "rlimit.rttime"},
#endif
#ifdef RLIMIT_SIGPENDING
      {RLIMIT_SIGPENDING, "rlimit.sigpending"},
#endif
      {RLIMIT_STACK, "rlimit.stack"},
  };
  size_t i;
  for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
    struct rlimit rl;
    char cur[32], max[32];
    if (getrlimit(r[i].resource, &rl) != 0) {
      put_err(r[i].name, errno);
      continue;
    }
    put_rlim(cur, sizeof(cur), rl.rlim_cur);
    put_rlim(max, sizeof(max), rl.rlim_max);
    put(r[i].name, "%s/%s", cur, max);
  }
}

static void probe_nice(void) {
  int n;
  errno = 0;
  n = getpriority(PRIO_PROCESS, 0);
  if (n == -1 && errno != 0)
    put_err("nice", errno);
  else
    put("nice", "%d", n);
}

static const char *policy_name(int p) {
  switch (p) {
  case SCHED_OTHER:
    return "SCHED_OTHER";
  case SCHED_FIFO:
    return "SCHED_FIFO";
  case SCHED_RR:
    return "SCHED_RR";
#ifdef SCHED_BATCH
  case SCHED_BATCH:
    return "SCHED_BATCH";
#endif
#ifdef SCHED_IDLE
  case SCHED_IDLE:
    return "SCHED_IDLE";
#endif
  default:
    return NULL;
  }
}

static void put_policy(int p) {
  const char *n;
  int reset = 0;
#ifdef SCHED_RESET_ON_FORK
  reset = (p & SCHED_RESET_ON_FORK) != 0;
  p &= ~SCHED_RESET_ON_FORK;
#endif
  n = policy_name(p);
  if (n != NULL)
    put("sched.policy", "%s%s", n, reset ? "|SCHED_RESET_ON_FORK" : "");
  else
    put("sched.policy", "%d%s", p, reset ? "|SCHED_RESET_ON_FORK" : "");
}

static void probe_sched(void) {
#if defined(__linux__)
  struct sched_param sp;
  int p = sched_getscheduler(0);
  if (p < 0)
    put_err("sched.policy", errno);
  else
    put_policy(p);
  if (sched_getparam(0, &sp) != 0)
    put_err("sched.priority", errno);
  else
    put("sched.priority", "%d", sp.sched_priority);
#else
  /* macOS has no sched_getscheduler(): the main thread's. */
  struct sched_param sp;
  int p, r = pthread_getschedparam(pthread_self(), &p, &sp);
  if (r != 0) {
    put_err("sched.policy", r);
    put_err("sched.priority", r);
  } else {
    put_policy(p);
    put("sched.priority", "%d", sp.sched_priority);
  }
#endif
}

static int cmp_gid(const void *a, const void *b) {
  gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
  return x < y ? -1 : x > y;
}

static void probe_creds(void) {
  gid_t *g;
  int n, i;
  char buf[4096];
  size_t len = 0;
#if defined(__linux__)
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) == 0) {
    put("cred.ruid", "%lu", (unsigned long)ru);
    put("cred.euid", "%lu", (unsigned long)eu);
    put("cred.suid", "%lu", (unsigned long)su);
  } else {
    put_err("cred.uid", errno);
  }
  if (getresgid(&rg, &eg, &sg) == 0) {
    put("cred.rgid", "%lu", (unsigned long)rg);
    put("cred.egid", "%lu", (unsigned long)eg);
    put("cred.sgid", "%lu", (unsigned long)sg);
  } else {
    put_err("cred.gid", errno);
  }
#else
  /* No getresuid(): the saved ids cannot be read. */
  put("cred.ruid", "%lu", (unsigned long)getuid());
  put("cred.euid", "%lu", (unsigned long)geteuid());
  put("cred.rgid", "%lu", (unsigned long)getgid());
  put("cred.egid", "%lu", (unsigned long)getegid());
#endif
  n = getgroups(0, NULL);
  if (n < 0) {
    put_err("cred.groups", errno);
    return;
  }
  g = (gid_t *)calloc((size_t)n + 1, sizeof(*g));
  if (g == NULL)
    exit(3);
  n = getgroups(n, g);
  if (n < 0) {
    put_err("cred.groups", errno);
    free(g);
    return;
  }
  qsort(g, (size_t)n, sizeof(*g), cmp_gid);
  buf[0] = '\0';
  for (i = 0; i < n && len + 24 < sizeof(buf); i++)
    len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lu", i ? "," : "", (unsigned long)g[i]);
  put("cred.groups", "%s", n == 0 ? "(none)" : buf);
  free(g);
}

static void probe_root_inode(void) {
  struct stat st;
  if (stat("/", &st) != 0)
    put_err("root.inode", errno);
  else
    put("root.inode", "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

static void probe_session(void) {
  /* The same session for both children of one caller (a tethered child is
   * a group of the caller's session): a number, but not per-process. */
  pid_t s = getsid(0);
  if (s < 0)
    put_err("session", errno);
  else
    put("session", "%ld", (long)s);
}

#if defined(NSIG)
#define PROBE_NSIG NSIG
#else
#define PROBE_NSIG 65
#endif

/* The three signal sets as /proc/self/status shows them: 64 bits, bit
 * (n - 1) for signal n, in hex. */
static void probe_signals_portable(void) {
  unsigned long long ign = 0, cgt = 0, blk = 0;
  sigset_t mask;
  int s, mask_ok = sigprocmask(SIG_SETMASK, NULL, &mask) == 0;
  for (s = 1; s < PROBE_NSIG && s <= 64; s++) {
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) == 0) {
      if (sa.sa_handler == SIG_IGN)
        ign |= 1ull << (s - 1);
      else if (sa.sa_handler != SIG_DFL)
        cgt |= 1ull << (s - 1);
    }
    if (mask_ok && sigismember(&mask, s) == 1)
      blk |= 1ull << (s - 1);
  }
  put("sig.ign", "%016llx", ign);
  put("sig.cgt", "%016llx", cgt);
  if (mask_ok)
    put("sig.blk", "%016llx", blk);
  else
    put_err("sig.blk", errno);
}

/* ---------------------------------------------------------------------- */
/* Linux                                                                    */
/* ---------------------------------------------------------------------- */

#if defined(__linux__)
static int read_text(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n;
  if (f == NULL)
    return -errno;
  n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  (void)fclose(f);
  return (int)n;
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

/* /proc/self/status fields: name in the file -> line name. */
static const struct {
  const char *field;
  const char *name;
} status_fields[] = {
    {"Umask", "umask"},           {"CapInh", "cap.inh"},  {"CapPrm", "cap.prm"},
    {"CapEff", "cap.eff"},        {"CapBnd", "cap.bnd"},  {"CapAmb", "cap.amb"},
    {"NoNewPrivs", "nonewprivs"}, {"Seccomp", "seccomp"}, {"Seccomp_filters", "seccomp_filters"},
    {"SigIgn", "sig.ign"},        {"SigCgt", "sig.cgt"},  {"SigBlk", "sig.blk"},
};
#define NSTATUS (sizeof(status_fields) / sizeof(status_fields[0]))

/* The signals the C library keeps for itself (glibc: 32 and 33, musl: 32
 * to 34; sigaction() refuses them): not the caller's dispositions but the
 * spawning code's. glibc's posix_spawn() leaves them SIG_IGN in its child
 * (it sets SIG_IGN on its internal signals in the vfork child so that no
 * handler can run there, and SIG_IGN survives execve), which no caller can
 * ask for or prevent. They are printed apart, as per-process lines ('~'),
 * which the comparison leaves out; the sets keep every other signal. */
static void put_sigset(const char *name, const char *hex) {
  unsigned long long v, reserved = 0;
  char *end, rname[64];
  int s;
  errno = 0;
  v = strtoull(hex, &end, 16);
  if (errno != 0 || *end != '\0' || strlen(hex) > 16) {
    put(name, "%s", hex); /* not the 64-bit layout: as shown */
    return;
  }
#if defined(SIGRTMIN)
  for (s = 32; s < SIGRTMIN && s <= 64; s++)
    reserved |= 1ull << (s - 1);
#else
  (void)s;
#endif
  put(name, "%016llx", v & ~reserved);
  (void)snprintf(rname, sizeof(rname), "~%s.libc_reserved", name);
  put(rname, "%016llx", v & reserved);
}

static void probe_status(void) {
  static char buf[16384];
  int found[NSTATUS];
  size_t i;
  int n = read_text("/proc/self/status", buf, sizeof(buf));
  if (n < 0) {
    /* No /proc (a chroot): the portable readings, the rest as errors. */
    probe_umask_portable();
    probe_signals_portable();
    for (i = 0; i < NSTATUS; i++)
      if (strcmp(status_fields[i].name, "umask") != 0 &&
          strncmp(status_fields[i].name, "sig.", 4) != 0)
        put_err(status_fields[i].name, -n);
    return;
  }
  memset(found, 0, sizeof(found));
  {
    char *line = buf, *next;
    for (; line != NULL && *line != '\0'; line = next) {
      char *colon;
      next = strchr(line, '\n');
      if (next != NULL)
        *next++ = '\0';
      colon = strchr(line, ':');
      if (colon == NULL)
        continue;
      *colon = '\0';
      for (i = 0; i < NSTATUS; i++)
        if (strcmp(line, status_fields[i].field) == 0) {
          char *v = colon + 1;
          while (*v == ' ' || *v == '\t')
            v++;
          chomp(v);
          if (strncmp(status_fields[i].name, "sig.", 4) == 0)
            put_sigset(status_fields[i].name, v);
          else
            put(status_fields[i].name, "%s", v);
          found[i] = 1;
        }
    }
  }
  for (i = 0; i < NSTATUS; i++)
    if (!found[i]) {
      if (strcmp(status_fields[i].name, "umask") == 0)
        probe_umask_portable(); /* kernels before 4.7 */
      else
        put(status_fields[i].name, "absent");
    }
}

static void probe_affinity(void) {
  cpu_set_t *set;
  size_t size;
  int ncpu = 1024, c, first = -1, prev = -2;
  char buf[4096];
  size_t len = 0;
  for (;;) {
    set = CPU_ALLOC((size_t)ncpu);
    if (set == NULL)
      exit(3);
    size = CPU_ALLOC_SIZE((size_t)ncpu);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0)
      break;
    CPU_FREE(set);
    if (errno != EINVAL || ncpu > (1 << 20)) {
      put_err("affinity", errno);
      return;
    }
    ncpu *= 2;
  }
  buf[0] = '\0';
  /* As a list of ranges: 0-3,6 */
  for (c = 0; c <= ncpu; c++) {
    int in = c < ncpu && CPU_ISSET_S((size_t)c, size, set);
    if (in && first < 0)
      first = c;
    if (!in && first >= 0 && len + 32 < sizeof(buf)) {
      prev = c - 1;
      if (prev == first)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d", len ? "," : "", first);
      else
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d-%d", len ? "," : "", first, prev);
      first = -1;
    }
  }
  CPU_FREE(set);
  put("affinity", "%s", buf);
}

static void probe_file_line(const char *name, const char *path) {
  char buf[256];
  int n = read_text(path, buf, sizeof(buf));
  if (n < 0) {
    put_err(name, -n);
    return;
  }
  chomp(buf);
  put(name, "%s", buf);
}

static void probe_prctl(void) {
  int r;
  r = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  if (r < 0)
    put_err("timerslack", errno);
  else
    put("timerslack", "%d", r);
#ifdef PR_GET_THP_DISABLE
  r = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  if (r < 0)
    put_err("thp_disable", errno);
  else
    put("thp_disable", "%d", r);
#endif
  r = personality(0xffffffff);
  if (r < 0)
    put_err("personality", errno);
  else
    put("personality", "0x%08x", (unsigned)r);
}

static void probe_ioprio(void) {
#if defined(SYS_ioprio_get)
  /* IOPRIO_WHO_PROCESS = 1; the value: class << 13 | data. */
  long r = syscall(SYS_ioprio_get, 1, 0);
  if (r < 0)
    put_err("ioprio", errno);
  else
    put("ioprio", "class %ld data %ld", r >> 13, r & ((1L << 13) - 1));
#endif
}

static void probe_namespaces(void) {
  DIR *d = opendir("/proc/self/ns");
  struct dirent *de;
  if (d == NULL) {
    put_err("ns", errno);
    return;
  }
  while ((de = readdir(d)) != NULL) {
    char path[512], target[512], name[300];
    ssize_t n;
    if (de->d_name[0] == '.')
      continue;
    (void)snprintf(path, sizeof(path), "/proc/self/ns/%s", de->d_name);
    (void)snprintf(name, sizeof(name), "ns.%s", de->d_name);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0) {
      put_err(name, errno);
      continue;
    }
    target[n] = '\0';
    put(name, "%s", target);
  }
  (void)closedir(d);
}

/* One line per hierarchy: "cgroup.<id>=<controllers>:<path>". */
static void probe_cgroup(void) {
  static char buf[16384];
  char *line, *next;
  int n = read_text("/proc/self/cgroup", buf, sizeof(buf));
  if (n < 0) {
    put_err("cgroup", -n);
    return;
  }
  for (line = buf; line != NULL && *line != '\0'; line = next) {
    char *colon, name[64];
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    colon = strchr(line, ':');
    if (colon == NULL)
      continue;
    *colon = '\0';
    (void)snprintf(name, sizeof(name), "cgroup.%.40s", line);
    put(name, "%s", colon + 1);
  }
}

static void probe_root_link(void) {
  char target[PATH_MAX + 1];
  ssize_t n = readlink("/proc/self/root", target, sizeof(target) - 1);
  if (n < 0) {
    put_err("root", errno);
    return;
  }
  target[n] = '\0';
  put("root", "%s", target);
}

static int print_lib(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  if (info->dlpi_name != NULL && info->dlpi_name[0] == '/')
    printf("%s\n", info->dlpi_name);
  return 0;
}
#endif /* __linux__ */

int main(int argc, char **argv) {
  size_t i;
  if (argc > 1 && strcmp(argv[1], "--libs") == 0) {
#if defined(__linux__)
    (void)dl_iterate_phdr(print_lib, NULL);
    return fflush(stdout) == 0 ? 0 : 1;
#else
    fprintf(stderr, "--libs: Linux only\n");
    return 2;
#endif
  }
  probe_cwd();
  probe_rlimits();
  probe_nice();
  probe_sched();
  probe_creds();
  probe_root_inode();
  probe_session();
#if defined(__linux__)
  probe_status();
  probe_affinity();
  probe_file_line("oom_score_adj", "/proc/self/oom_score_adj");
  probe_prctl();
  probe_ioprio();
  probe_namespaces();
  probe_cgroup();
  probe_root_link();
#else
  probe_umask_portable();
  probe_signals_portable();
#endif
  qsort(lines, nlines, sizeof(*lines), cmp_lines);
  for (i = 0; i < nlines; i++) {
    fputs(lines[i], stdout);
    fputc('\n', stdout);
    free(lines[i]);
  }
  free(lines);
  return fflush(stdout) == 0 ? 0 : 1;
}
