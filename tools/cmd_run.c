/* SPDX-License-Identifier: MIT */
/*
 * tether run [OPTIONS] -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM as a tethered child (it and its group/job die with tether,
 * SIGKILL included), forwards termination and control events to its tree
 * exactly once, runs the stop sequence (terminate, --kill-after, kill)
 * when --grace or --timeout runs out, and ends like the child ended.
 * Built only on the public API (tether.h); docs/cli.md is the manual.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE /* SIGWINCH */
#endif

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run_terminal.h"
#include "tether.h"

#ifndef _WIN32
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#else
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif

static void run_usage(FILE *f) {
  fputs("usage: tether run [OPTIONS] -- PROGRAM [ARGS...]\n"
        "\n"
        "Run PROGRAM as a tethered child: it and every descendant that stays in\n"
        "its process group (Windows: job) die with tether, even when tether is\n"
        "killed with SIGKILL. Interrupt, quit, terminate, hangup, user1, user2\n"
        "and resize, and every other catchable signal (see docs/cli.md), are\n"
        "forwarded to the child's tree exactly once. tether ends the way PROGRAM\n"
        "ended: its exit code, or death by the same signal; when the run ended\n"
        "because of Ctrl+C, it dies by SIGINT (so a calling script stops).\n"
        "\n"
        "  --grace DURATION       after a forwarded interrupt, quit, terminate or\n"
        "                         hangup, wait this long for PROGRAM to end, then\n"
        "                         run the stop sequence (default 10s)\n"
        "  --kill-after DURATION  stop sequence: send terminate, wait this long,\n"
        "                         then kill the tree (default 5s)\n"
        "  --timeout DURATION     run the stop sequence after DURATION\n"
        "                         (default 0: no timeout)\n"
        "  --timeout-status N     when --timeout ran out, exit with N (0-255;\n"
        "                         124 is coreutils timeout's) whatever PROGRAM\n"
        "                         did; default: end like PROGRAM\n"
        "  --exit-code            if tether would die by signal N, exit 128+N\n"
        "                         instead\n"
        "  --foreground           give PROGRAM the terminal even when stdin or\n"
        "                         stdout is not the terminal, and leave Ctrl+C\n"
        "                         to it (no second-Ctrl+C kill)\n"
        "  -v, --verbose          log each event and decision to stderr\n"
        "  -h, --help             show this help\n"
        "\n"
        "DURATION: a number with an optional unit ms, s, m, h, d (500ms, 10s,\n"
        "1.5m); a bare number is seconds; \"inf\" never runs out. --grace 0 and\n"
        "--kill-after 0 act at once; --timeout 0 means no timeout.\n"
        "A second interrupt (Ctrl+C) kills the tree at once. In a terminal\n"
        "(stdin and stdout), PROGRAM gets the terminal as under timeout, so\n"
        "interactive programs work; otherwise it is a background job of the\n"
        "terminal: reading from it stops PROGRAM (SIGTTIN).\n"
        "\n"
        "Exit status: PROGRAM's; 125 tether failed (bad usage included), 126\n"
        "PROGRAM found but not executable, 127 PROGRAM not found.\n",
        f);
}

/* ------------------------------------------------------------------------ */
/* Options and logging                                                      */
/* ------------------------------------------------------------------------ */

typedef struct run_opts {
  int64_t grace_ms;      /* CLI_DURATION_INFINITE: never */
  int64_t kill_after_ms; /* CLI_DURATION_INFINITE: never */
  int64_t timeout_ms;    /* CLI_DURATION_INFINITE or 0: none */
  int exit_code;
  int timeout_status; /* -1: end like PROGRAM */
  int foreground;
  int verbose;
  char **argv; /* PROGRAM [ARGS...], NULL-terminated */
} run_opts;

static int g_verbose;
static uint64_t g_start_ns;

CLI_PRINTF(1, 2)
void run_log(const char *fmt, ...) {
  va_list ap;
  uint64_t t;
  if (!g_verbose)
    return;
  t = tether_now_ns() - g_start_ns;
  fprintf(stderr, "tether run [%4llu.%03llu] ", (unsigned long long)(t / 1000000000u),
          (unsigned long long)(t / 1000000u % 1000u));
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

static const char *fmt_dur(int64_t ms, char *buf, size_t n) {
  cli_format_duration(ms, buf, n);
  return buf;
}

/* "--name VALUE" or "--name=VALUE": the value, or NULL when argv[*i] is not
 * this option. Sets *missing when the value is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

/* Returns 0 and fills o, 1 for --help (printed), or -1 (error printed). */
static int parse_args(int argc, char **argv, run_opts *o) {
  int i;
  o->grace_ms = 10000;
  o->kill_after_ms = 5000;
  o->timeout_ms = 0;
  o->exit_code = o->foreground = o->verbose = 0;
  o->timeout_status = -1;
  o->argv = NULL;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    int64_t *target = NULL;
    const char *names[3] = {"--grace", "--kill-after", "--timeout"};
    int64_t *targets[3];
    int k;
    targets[0] = &o->grace_ms;
    targets[1] = &o->kill_after_ms;
    targets[2] = &o->timeout_ms;
    if (strcmp(a, "--") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "tether run: no program after '--' (try 'tether run --help')\n");
        return -1;
      }
      o->argv = argv + i + 1;
      return 0;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      run_usage(stdout);
      return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o->verbose = 1;
      continue;
    }
    if (strcmp(a, "--exit-code") == 0) {
      o->exit_code = 1;
      continue;
    }
    if (strcmp(a, "--foreground") == 0) {
      o->foreground = 1;
      continue;
    }
    v = opt_value(argc, argv, &i, "--timeout-status", &missing);
    if (v != NULL || missing) {
      char *end = NULL;
      long n = v != NULL ? strtol(v, &end, 10) : -1;
      if (v == NULL || end == v || *end != '\0' || n < 0 || n > 255) {
        fprintf(stderr, "tether run: --timeout-status needs an exit status from 0 to 255%s%s%s\n",
                v != NULL ? " ('" : "", v != NULL ? v : "", v != NULL ? "' is not)" : "");
        return -1;
      }
      o->timeout_status = (int)n;
      continue;
    }
    v = NULL;
    for (k = 0; k < 3 && target == NULL; k++) {
      v = opt_value(argc, argv, &i, names[k], &missing);
      if (v != NULL || missing) {
        target = targets[k];
        break;
      }
    }
    if (missing) {
      fprintf(stderr, "tether run: %s needs a duration (such as 500ms, 10s, 2m)\n", names[k]);
      return -1;
    }
    if (target != NULL) {
      if (cli_parse_duration(v, target) < 0) {
        fprintf(stderr,
                "tether run: %s: '%s' is not a duration (a non-negative "
                "number with an optional unit ms, s, m, h, d, or inf)\n",
                names[k], v);
        return -1;
      }
      continue;
    }
    if (a[0] == '-') {
      fprintf(stderr, "tether run: unknown option '%s' (try 'tether run --help')\n", a);
      return -1;
    }
    fprintf(stderr,
            "tether run: '--' missing before the program: use 'tether run "
            "[OPTIONS] -- %s ...'\n",
            a);
    return -1;
  }
  fprintf(stderr, "tether run: no program given: use 'tether run [OPTIONS] "
                  "-- PROGRAM [ARGS...]'\n");
  return -1;
}

/* ------------------------------------------------------------------------ */
/* POSIX: descriptors inherited above 2 go to the program                  */
/* ------------------------------------------------------------------------ */

#ifndef _WIN32
/*
 * Like env, timeout and tini, which exec or fork: every descriptor tether
 * inherited above 2 reaches PROGRAM at the same number (`cmd 3>log`,
 * systemd's LISTEN_FDS, make's jobserver pipe). Taken at the start, before
 * tether opens anything: an inherited descriptor is one that is open and
 * not close-on-exec then (the exec that started tether closed the others).
 * Linux: /proc/self/fd; macOS: /dev/fd; elsewhere (and in the portable
 * build) every number below the descriptor limit, at most 65536, is asked.
 */
static tether_extra_fd *g_inherited;
static size_t g_ninherited;

static void inherit_one(int fd, rlim_t limit, size_t *cap) {
  int fl = fcntl(fd, F_GETFD);
  tether_extra_fd *grown;
  if (fd < 3 || fl < 0 || (fl & FD_CLOEXEC))
    return;
  if (limit != RLIM_INFINITY && (rlim_t)fd >= limit) {
    fprintf(stderr,
            "tether run: descriptor %d is above the descriptor limit; "
            "not passed to the program\n",
            fd);
    return;
  }
  if (g_ninherited >= TETHER_SPAWN_MAX_EXTRA) {
    fprintf(stderr,
            "tether run: more than %d inherited descriptors; "
            "descriptor %d not passed to the program\n",
            TETHER_SPAWN_MAX_EXTRA, fd);
    return;
  }
  if (g_ninherited == *cap) {
    *cap = *cap == 0 ? 16 : *cap * 2;
    grown = (tether_extra_fd *)realloc(g_inherited, *cap * sizeof(*grown));
    if (grown == NULL) {
      fprintf(stderr, "tether run: out of memory; descriptor %d not passed\n", fd);
      return;
    }
    g_inherited = grown;
  }
  g_inherited[g_ninherited].handle = fd;
  g_inherited[g_ninherited].target = fd;
  g_ninherited++;
}

static void collect_inherited(void) {
  struct rlimit rl;
  size_t cap = 0;
  long fd, max = 65536;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    rl.rlim_cur = RLIM_INFINITY;
#if !defined(TETHER_CLI_PROBE_FDS) && (defined(__linux__) || defined(__APPLE__))
  {
#if defined(__linux__)
    DIR *d = opendir("/proc/self/fd");
#else
    DIR *d = opendir("/dev/fd");
#endif
    if (d != NULL) {
      struct dirent *de;
      int self = dirfd(d);
      while ((de = readdir(d)) != NULL)
        if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && atoi(de->d_name) != self)
          inherit_one(atoi(de->d_name), rl.rlim_cur, &cap);
      closedir(d);
      return;
    }
  }
#endif
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max)
    max = (long)rl.rlim_cur;
  for (fd = 3; fd < max; fd++)
    inherit_one((int)fd, rl.rlim_cur, &cap);
}
#endif

/* ------------------------------------------------------------------------ */
/* POSIX: signals, descriptors 0-2, cores (issue 13)                        */
/* ------------------------------------------------------------------------ */

#ifndef _WIN32
/* Signals tether does not forward by number: the ones it watches as kinds
 * (INT, QUIT, TERM, HUP, USR1, USR2, WINCH) or acts on (TSTP, CONT),
 * SIGCHLD (tether's own children; reaped as PID 1), those that cannot be
 * caught (KILL, STOP), synchronous faults (SEGV, BUS, FPE, ILL, ABRT,
 * TRAP, SYS: as tini), SIGPIPE (ignored, for tether's own logging) and
 * SIGTTIN/SIGTTOU (left at their defaults: they stop tether like any job,
 * and tether blocks SIGTTOU where it changes the terminal). */
static int not_forwarded(int sig) {
  static const int list[] = {SIGINT,   SIGQUIT, SIGTERM, SIGHUP,  SIGUSR1, SIGUSR2,
                             SIGWINCH, SIGTSTP, SIGCONT, SIGCHLD, SIGKILL, SIGSTOP,
                             SIGSEGV,  SIGBUS,  SIGFPE,  SIGILL,  SIGABRT, SIGTRAP,
                             SIGSYS,   SIGPIPE, SIGTTIN, SIGTTOU};
  size_t i;
  for (i = 0; i < sizeof list / sizeof list[0]; i++)
    if (list[i] == sig)
      return 1;
  return 0;
}

/* Watch every other signal, to forward it. Signals the C library reserves
 * or tether cannot watch (TETHER_EFORBIDDEN, TETHER_EINVAL) are skipped;
 * one ignored when tether started stays ignored. */
static void watch_others(tether_channel *ch) {
  int sig, r, n = 0;
  for (sig = 1; sig <= 64; sig++) {
    if (not_forwarded(sig))
      continue;
    r = tether_channel_watch_signal(ch, sig, 0);
    if (r == 0)
      n++;
    else if (r != TETHER_EFORBIDDEN && r != TETHER_EINVAL)
      run_log("not forwarding signal %d: %s", sig, tether_strerror(r));
  }
  run_log("forwarding %d more signals by number", n);
}

static void on_sigpipe(int sig) { (void)sig; }

/* Descriptors 0, 1, 2 closed when tether started: /dev/null goes there
 * before anything else, so that none of tether's own descriptors (the
 * channel, the keeper's socket) takes the slot and is handed to the
 * program as its stdin, stdout or stderr. The program then sees /dev/null
 * there, not a closed descriptor (the library cannot spawn with a closed
 * slot). */
static int g_closed_std[3];

static void fill_closed_stdio(void) {
  int fd;
  for (fd = 0; fd < 3; fd++) {
    int n;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (n < 0)
      continue;
    if (n != fd) { /* cannot happen: the lowest free slot is fd */
      (void)dup2(n, fd);
      close(n);
    }
    g_closed_std[fd] = 1;
  }
}

/* Before tether dies by a signal: never write a core of its own, which
 * would overwrite the program's (same directory, same name "core"), as
 * coreutils timeout does. */
static void no_core(void) {
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = 0;
  (void)setrlimit(RLIMIT_CORE, &rl);
#if defined(__linux__)
  /* A piped core_pattern (systemd-coredump, apport) ignores RLIMIT_CORE 0;
   * a process that is not dumpable writes no core at all. */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}
#endif

/* ------------------------------------------------------------------------ */
/* Linux PID 1: orphans (no-ops elsewhere, Windows included)                */
/* ------------------------------------------------------------------------ */

/* Linux PID 1 (a container's init): orphans that enter the namespace from
 * outside the program's tree (docker exec) come to tether when their
 * parent dies; reap every child that is not the keeper (the library's, the
 * program's parent: it waits for that one itself). The program's own
 * orphans go to the keeper, a subreaper, which reaps them. */
static void reap_orphans(long keeper, long child) {
#if defined(__linux__)
  DIR *d;
  struct dirent *e;
  if (getpid() != 1 || keeper <= 0)
    return;
  d = opendir("/proc/self/task");
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    char path[96], buf[4096], *p, *end;
    ssize_t n;
    int fd;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/self/task/%.40s/children", e->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (p = buf; *p != '\0'; p = end) {
      long pid = strtol(p, &end, 10);
      int st;
      if (end == p)
        break;
      if (pid > 0 && pid != keeper && pid != child && !run_term_is_sentinel(pid) &&
          waitpid((pid_t)pid, &st, WNOHANG) == (pid_t)pid)
        run_log("PID 1: reaped orphan %ld", pid);
    }
  }
  closedir(d);
#else
  (void)keeper;
  (void)child;
#endif
}

/* The program's parent: the keeper (Linux, from /proc), or -1. */
static long parent_of(long pid) {
#if defined(__linux__)
  char buf[512];
  const char *f = run_proc_stat_fields(pid, buf, sizeof buf); /* "S PPID ..." */
  if (f == NULL || f[0] == '\0' || f[1] != ' ')
    return -1;
  return atol(f + 2);
#else
  (void)pid;
  return -1;
#endif
}

/* ------------------------------------------------------------------------ */
/* Starting the program: exec failures as env and timeout report them      */
/* ------------------------------------------------------------------------ */

#ifndef _WIN32
/* The file tether_spawn() runs for NAME: NAME itself when it holds a '/'
 * (if it exists), else the first regular, executable file along PATH (an
 * empty entry is the current directory; no PATH: glibc's default), as the
 * library resolves it. malloc'ed, or NULL. */
static char *find_program(const char *name) {
  const char *path, *p;
  size_t nlen = strlen(name);
  struct stat st;
  if (strchr(name, '/') != NULL) {
    char *c;
    if (stat(name, &st) != 0)
      return NULL;
    c = (char *)malloc(nlen + 1);
    if (c != NULL)
      memcpy(c, name, nlen + 1);
    return c;
  }
  path = getenv("PATH");
  if (path == NULL)
    path = "/usr/local/bin:/bin:/usr/bin";
  for (p = path;; p++) {
    const char *end = strchr(p, ':');
    size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
    char *c = (char *)malloc(dlen + nlen + 3);
    if (c == NULL)
      return NULL;
    if (dlen == 0) {
      memcpy(c, "./", 2);
      memcpy(c + 2, name, nlen + 1);
    } else {
      memcpy(c, p, dlen);
      c[dlen] = '/';
      memcpy(c + dlen + 1, name, nlen + 1);
    }
    if (stat(c, &st) == 0 && S_ISREG(st.st_mode) && access(c, X_OK) == 0)
      return c;
    free(c);
    if (end == NULL)
      return NULL;
    p = end;
  }
}

/* What the first bytes of a file say: HEAD_SHEBANG (the interpreter's name,
 * up to the first blank, goes to interp), HEAD_BINARY (ELF magic, or a NUL
 * byte in the first line of its first 80 bytes: bash's test for "cannot
 * execute binary file"), HEAD_TEXT, or HEAD_UNREADABLE. */
enum { HEAD_UNREADABLE, HEAD_TEXT, HEAD_BINARY, HEAD_SHEBANG };

static int read_head(const char *path, char *interp, size_t n) {
  char buf[256];
  ssize_t got;
  size_t i, k = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return HEAD_UNREADABLE;
  got = read(fd, buf, sizeof buf);
  close(fd);
  if (got < 0)
    return HEAD_UNREADABLE;
  if (got >= 4 && memcmp(buf, "\177ELF", 4) == 0)
    return HEAD_BINARY;
  if (got >= 2 && buf[0] == '#' && buf[1] == '!') {
    for (i = 2; i < (size_t)got && (buf[i] == ' ' || buf[i] == '\t'); i++)
      ;
    for (; i < (size_t)got && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && k + 1 < n; i++)
      interp[k++] = buf[i];
    interp[k] = '\0';
    return HEAD_SHEBANG;
  }
  for (i = 0; i < (size_t)got && i < 80 && buf[i] != '\n'; i++)
    if (buf[i] == '\0')
      return HEAD_BINARY;
  return HEAD_TEXT;
}

/* execve()'s own errors that tether_strerror() calls "unknown system
 * error" (TETHER_EUNKNOWN; the OS's code is tether_last_os_error()). */
static int exec_errno(long os) {
  return os == ELOOP || os == ETXTBSY || os == EISDIR
#if defined(ELIBBAD)
         || os == ELIBBAD
#endif
#if defined(ELIBACC)
         || os == ELIBACC
#endif
      ;
}
#endif

/* NAME for a message: bytes that a terminal would act on (the '\r' of a
 * "#!/bin/sh\r" line written on Windows) are shown as \r, \xNN. */
static const char *visible(const char *name, char *buf, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (; *name != '\0' && k + 5 < n; name++) {
    unsigned char ch = (unsigned char)*name;
    if (ch == '\r' || ch == '\t') {
      buf[k++] = '\\';
      buf[k++] = ch == '\r' ? 'r' : 't';
    } else if (ch < 0x20 || ch == 0x7f) {
      buf[k++] = '\\';
      buf[k++] = 'x';
      buf[k++] = hex[ch >> 4];
      buf[k++] = hex[ch & 15];
    } else {
      buf[k++] = (char)ch;
    }
  }
  buf[k] = '\0';
  return buf;
}

/* tether_spawn(), then again without TETHER_SPAWN_CATCH_ESCAPEES where this
 * system has no way to catch escapees (TETHER_ENOTSUP). */
static int spawn_program(tether_child **c, char **argv, tether_spawn_options *so) {
  int r = tether_spawn(c, (const char *const *)argv, so);
#ifndef _WIN32
  if (r == TETHER_ENOTSUP && (so->flags & TETHER_SPAWN_CATCH_ESCAPEES)) {
    so->flags &= ~(unsigned)TETHER_SPAWN_CATCH_ESCAPEES;
    r = tether_spawn(c, (const char *const *)argv, so);
  }
#endif
  return r;
}

/* One line on stderr for a program that could not be started, and the
 * exit status, as env and timeout decide it: 127 not found (ENOENT), 126
 * found but the system would not execute it (execve's errors, with the
 * OS's reason), 125 tether's own failure (no memory, no descriptors, its
 * helper...). r is tether_spawn()'s code, os tether_last_os_error() right
 * after it, sh the shell an ENOEXEC script was retried with (or NULL). */
static int spawn_failed(const char *name, int r, long os, const char *sh) {
  int code = CLI_EXIT_FAILURE;
  const char *why = tether_strerror(r);
  char vis[512];
#ifndef _WIN32
  char reason[768];
  if (r == TETHER_EUNKNOWN && os != 0) {
    why = strerror((int)os);
    if (exec_errno(os))
      code = CLI_EXIT_CANNOT_RUN;
  }
#else
  (void)os;
#endif
  if (r == TETHER_ENOENT) {
    code = CLI_EXIT_NOT_FOUND;
    why = "program not found";
#ifndef _WIN32
    if (sh == NULL) {
      /* The file is there, so execve()'s ENOENT was about what it names:
       * the interpreter of its #! line, or an ELF program's loader. */
      char *path = find_program(name), interp[256], iv[300];
      int head = path != NULL ? read_head(path, interp, sizeof interp) : HEAD_UNREADABLE;
      if (head == HEAD_SHEBANG) {
        snprintf(reason, sizeof reason, "its interpreter '%s' (on its #! line) was not found",
                 visible(interp, iv, sizeof iv));
        why = reason;
      } else if (head == HEAD_BINARY) {
        why = "the program exists, but its ELF interpreter (the dynamic loader it "
              "names) was not found";
      }
      free(path);
    }
#endif
  } else if (r == TETHER_EACCES) {
    code = CLI_EXIT_CANNOT_RUN;
    why = "permission denied (not executable, or a directory)";
  } else if (r == TETHER_ENOEXEC) {
    code = CLI_EXIT_CANNOT_RUN;
    why = "not an executable format";
  } else if (r == TETHER_E2BIG || r == TETHER_ENOTDIR || r == TETHER_ENAMETOOLONG ||
             r == TETHER_EPERM) {
    code = CLI_EXIT_CANNOT_RUN; /* execve() said so; env exits 126 too */
  }
#ifdef _WIN32
  else if (r == TETHER_ENOTSUP) {
    code = CLI_EXIT_CANNOT_RUN;
    why = "batch files (.bat, .cmd) cannot be run directly; use cmd /c";
  }
#endif
  if (sh != NULL)
    fprintf(stderr, "tether run: cannot run '%s' with %s: %s\n", visible(name, vis, sizeof vis), sh,
            why);
  else
    fprintf(stderr, "tether run: cannot run '%s': %s\n", visible(name, vis, sizeof vis), why);
  return code;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                  */
/* ------------------------------------------------------------------------ */

enum phase {
  PH_RUNNING,     /* nothing asked yet */
  PH_GRACE,       /* a termination request was forwarded; grace timer runs */
  PH_TERMINATING, /* stop sequence: the engine sends terminate, kills later */
  PH_KILLED       /* the tree was killed; waiting for the child's status */
};

/* Why the run is ending (see "How tether ends" in docs/cli.md). */
enum cause {
  CAUSE_NONE,      /* the program ends on its own (so far) */
  CAUSE_INTERRUPT, /* a user's interrupt (Ctrl+C, SIGINT): always wins */
  CAUSE_SIGNAL,    /* terminate, hangup, quit from outside: cause_kind */
  CAUSE_TIMEOUT    /* --timeout ran out */
};

typedef struct run_state {
  run_opts *o;
  tether_child *child;
  long pid;
  long keeper; /* the program's parent (Linux, for PID 1), or -1 */
  int phase;
  int cause, cause_kind;
  int escalated; /* tether itself sent terminate or kill to the tree */
  int timed_out;
  uint64_t interrupts;
  uint64_t hups;                 /* SIGHUP events received */
  uint64_t tty_interrupts;       /* the terminal's Ctrl+C, told by the sentinel */
  uint64_t grace_at, timeout_at; /* 0: not armed */
  tether_token *stopper;         /* runs the stop sequence (the library's engine) */
  uint64_t stop_at;              /* when the stop sequence started */
  int ack_pending;               /* Windows: a close, logoff or shutdown holds its handler */
} run_state;

/* Record why the run ends: an interrupt overrides anything (the user wants
 * the calling script stopped); otherwise the first cause stays. */
static void set_cause(run_state *s, int cause, int kind) {
  if (cause == CAUSE_INTERRUPT || s->cause == CAUSE_NONE) {
    s->cause = cause;
    s->cause_kind = kind;
  }
}

static uint64_t deadline_after(int64_t ms) { return tether_now_ns() + (uint64_t)ms * 1000000u; }

static void kill_tree(run_state *s, const char *why) {
  int r;
  if (s->phase == PH_KILLED)
    return;
  r = tether_child_kill(s->child);
  s->escalated = 1;
  run_log("%s: killing the tree (%s)", why, r == 0 ? "sent" : tether_strerror(r));
  s->phase = PH_KILLED;
  s->grace_at = s->timeout_at = 0;
}

/* Stop sequence: terminate, then kill after --kill-after. It is run by the
 * library's stop engine, as tether_child_stop() and tokens run theirs: a
 * token that owns the tree with one step (terminate, --kill-after), then
 * the kill, cancelled now. The engine continues a stopped tree before the
 * terminate, passes over a terminate that cannot reach the program
 * (Windows: a console program has no window) to the kill at once, and
 * kills when --kill-after runs out; what happened is told when the
 * program has ended (stop_outcome). --kill-after inf is no sequence: the
 * terminate alone. */
static void start_stop_sequence(run_state *s, const char *why) {
  char b[32];
  tether_stop_step step;
  int r;
  if (s->phase == PH_TERMINATING || s->phase == PH_KILLED)
    return;
  s->grace_at = s->timeout_at = 0;
  s->escalated = 1;
  s->phase = PH_TERMINATING;
  s->stop_at = tether_now_ns();
  if (s->o->kill_after_ms < 0) {
    run_term_continue(s->child); /* a stopped program could not act on it */
    r = tether_child_signal(s->child, TETHER_EVENT_TERMINATE);
    if (r < 0 && r != TETHER_ESRCH) {
      run_log("%s: terminate cannot reach the program (%s)", why, tether_strerror(r));
      kill_tree(s, "no way to ask politely");
      return;
    }
    run_log("%s: sent terminate to the tree; no kill (--kill-after inf)", why);
    return;
  }
  step.kind = TETHER_EVENT_TERMINATE;
  step.timeout_ms = s->o->kill_after_ms > 0x7fffffff ? 0x7fffffff : (int)s->o->kill_after_ms;
  r = tether_token_new(&s->stopper, NULL);
  if (r == 0 && (r = tether_token_attach(s->stopper, s->child, &step, 1)) == 0)
    r = tether_token_cancel(s->stopper, 0, why);
  if (r < 0) {
    run_log("%s: cannot start the stop sequence (%s)", why, tether_strerror(r));
    kill_tree(s, "no stop sequence");
    return;
  }
  run_log("%s: stop sequence started: terminate to the tree, kill in %s", why,
          fmt_dur(s->o->kill_after_ms, b, sizeof b));
}

/* The program ended during the stop sequence: say how, as the engine does
 * not report its steps. Killed by tether (not by a second interrupt,
 * which logs its own kill) before --kill-after ran out: the terminate
 * could not reach it; after: it did not obey in time. */
static void stop_outcome(const run_state *s, const tether_status *st) {
  uint64_t ms;
  if (s->phase != PH_TERMINATING || s->stopper == NULL || st->kind != TETHER_STATUS_KILLED)
    return;
  ms = (tether_now_ns() - s->stop_at) / 1000000u;
  if ((int64_t)ms < s->o->kill_after_ms)
    run_log("terminate cannot reach the program (or failed): the tree was killed at once");
  else
    run_log("kill-after over, the program still ran: the tree was killed after %llu ms",
            (unsigned long long)ms);
}

/* A termination request (interrupt, quit, terminate, hangup...) arrived
 * and was forwarded (or delivered by the console): arm the grace timer. */
static void start_grace(run_state *s) {
  char b[32];
  if (s->phase != PH_RUNNING)
    return;
  if (s->o->grace_ms == 0) {
    start_stop_sequence(s, "grace 0");
    return;
  }
  s->phase = PH_GRACE;
  if (s->o->grace_ms > 0)
    s->grace_at = deadline_after(s->o->grace_ms);
  run_log("grace period %s started", fmt_dur(s->o->grace_ms, b, sizeof b));
}

/* Forward one event kind to the child's tree, with a log line. */
static void forward(run_state *s, const tether_event *ev) {
  int r = tether_child_signal(s->child, ev->kind);
  run_log("%s (%s%s, sender pid %lld): %s", tether_kind_name(ev->kind),
          ev->native != NULL ? ev->native : "?", ev->count > 1 ? ", coalesced" : "",
          (long long)ev->pid, r == 0 ? "forwarded to the program's tree" : tether_strerror(r));
}

static int is_termination(int kind) {
  return kind == TETHER_EVENT_INTERRUPT || kind == TETHER_EVENT_QUIT ||
         kind == TETHER_EVENT_TERMINATE || kind == TETHER_EVENT_HANGUP ||
         kind == TETHER_EVENT_LOGOFF || kind == TETHER_EVENT_SHUTDOWN;
}

#ifndef _WIN32
/* A terminal's hang-up reaches the program once, as at a bare prompt
 * (issue 13, item 3). When the terminal hangs up, the kernel sends SIGHUP
 * to the session leader (the shell), which sends SIGHUP to each of its
 * jobs (tether's group) and exits; at that exit the kernel sends SIGHUP to
 * the group that was the terminal's foreground group. ev->pid is -1 for a
 * signal the kernel sent (si_code SI_KERNEL), the sender's pid for a
 * kill(). Not forwarded:
 *  - a SIGHUP the kernel sent after tether already forwarded one: the
 *    shell's SIGHUP (forwarded) and the kernel's at the shell's exit (to
 *    tether's group, the foreground one) are the same hang-up;
 *  - --foreground: any SIGHUP once the terminal has hung up while the
 *    program's group held it: the kernel sends its SIGHUP to that group
 *    itself (at the shell's exit); the shell's SIGHUP to tether's group is
 *    the same hang-up.
 * A SIGHUP sent with kill() while the terminal is up (a reload, a service
 * manager) is always forwarded, each time. */
static int hangup_delivered(const run_state *s, const tether_event *ev) {
  if (run_term_handed() && run_term_hung_up()) {
    run_log("hangup (SIGHUP, sender pid %lld): the terminal hung up while the program's "
            "group held it; the kernel sends SIGHUP to that group itself: not forwarded",
            (long long)ev->pid);
    return 1;
  }
  if (ev->pid < 0 && s->hups > 0) {
    run_log("hangup (SIGHUP from the kernel: the terminal hung up, or its session "
            "leader exited) after a SIGHUP already forwarded: the same hang-up, not "
            "forwarded");
    return 1;
  }
  return 0;
}
#endif

/* One event from the channel (not CHILD). */
static void handle_event(run_state *s, const tether_event *ev) {
  int k = ev->kind;
#ifdef _WIN32
  if (ev->time_left_ms >= 0)
    s->ack_pending = 1;
#else
  if (k == TETHER_EVENT_SIGNAL && ev->code == SIGTSTP) {
    run_term_on_stop(s->child);
    return;
  }
  if (k == TETHER_EVENT_SIGNAL && ev->code == SIGCONT) {
    run_term_on_continue(s->child);
    return;
  }
  if (k == TETHER_EVENT_SIGNAL && ev->code == SIGCHLD) {
    reap_orphans(s->keeper, (long)s->pid); /* PID 1 only */
    return;
  }
  if (k == TETHER_EVENT_SIGNAL) {
    /* Any other catchable signal (SIGALRM, SIGPWR, SIGXCPU, SIGRTMIN+n...):
     * forwarded to the program's group, as tini does. */
    int r = tether_child_signal_native(s->child, ev->code);
    const char *name = tether_signal_name(ev->code);
    run_log("%s (%d%s, sender pid %lld): %s", name != NULL ? name : "signal", ev->code,
            ev->count > 1 ? ", coalesced" : "", (long long)ev->pid,
            r == 0 ? "forwarded to the program's tree" : tether_strerror(r));
    return;
  }
  if (k == TETHER_EVENT_RESIZE) {
    int r = tether_child_signal(s->child, TETHER_EVENT_RESIZE);
    run_log("resize (SIGWINCH): %s",
            r == 0 ? "forwarded to the program's tree" : tether_strerror(r));
    return;
  }
#endif
  if ((k == TETHER_EVENT_INTERRUPT || k == TETHER_EVENT_QUIT) && run_term_is_sentinel(ev->pid)) {
    /* The terminal's Ctrl+C or Ctrl+\ reached the program's group (it
     * holds the terminal); the sentinel told tether. Not forwarded, no
     * grace timer (the program decides, as at a bare prompt); a second
     * Ctrl+C kills the tree. */
    if (k == TETHER_EVENT_INTERRUPT) {
      set_cause(s, CAUSE_INTERRUPT, k);
      s->interrupts += ev->count;
      s->tty_interrupts += ev->count;
      run_log("interrupt from the terminal (%llu so far): it reached the program's group "
              "directly; not forwarded",
              (unsigned long long)s->interrupts);
      if (s->interrupts >= 2)
        kill_tree(s, "second interrupt");
    } else {
      set_cause(s, CAUSE_SIGNAL, k);
      run_log("quit from the terminal: it reached the program's group directly; not forwarded");
    }
    return;
  }
  if (k == TETHER_EVENT_INTERRUPT)
    set_cause(s, CAUSE_INTERRUPT, k);
  else if (is_termination(k))
    set_cause(s, CAUSE_SIGNAL, k);
  if (k == TETHER_EVENT_INTERRUPT) {
    s->interrupts += ev->count;
    if (s->interrupts >= 2) {
      run_log("interrupt (%s, %llu so far)", ev->native != NULL ? ev->native : "?",
              (unsigned long long)s->interrupts);
      kill_tree(s, "second interrupt");
      return;
    }
  }
#ifdef _WIN32
  /* The child shares tether's console and console process group
   * (TETHER_SPAWN_CONSOLE_GROUP): the console delivered Ctrl+C, Ctrl+Break,
   * close, logoff and shutdown to it directly. Forwarding would be twice. */
  if (k == TETHER_EVENT_INTERRUPT || k == TETHER_EVENT_QUIT || k == TETHER_EVENT_HANGUP ||
      k == TETHER_EVENT_LOGOFF || k == TETHER_EVENT_SHUTDOWN) {
    run_log("%s (%s): the console delivered it to the program too; not forwarded",
            tether_kind_name(k), ev->native != NULL ? ev->native : "?");
  } else {
    forward(s, ev);
  }
#else
  if (k == TETHER_EVENT_HANGUP && hangup_delivered(s, ev))
    ; /* the program's group has (or gets) this hang-up from the kernel */
  else
    forward(s, ev);
  if (k == TETHER_EVENT_HANGUP)
    s->hups++;
#endif
  if (is_termination(k))
    start_grace(s);
}

/* Milliseconds to the nearest armed deadline, or -1. */
static int next_wait_ms(const run_state *s) {
  uint64_t now = tether_now_ns(), at[2];
  int64_t best = -1;
  int i;
  at[0] = s->grace_at;
  at[1] = s->timeout_at;
  for (i = 0; i < 2; i++) {
    int64_t left;
    if (at[i] == 0)
      continue;
    left = at[i] <= now ? 0 : (int64_t)((at[i] - now + 999999u) / 1000000u);
    if (best < 0 || left < best)
      best = left;
  }
  if (best > 0x7fffffff)
    best = 0x7fffffff;
  return (int)best;
}

static void check_timers(run_state *s) {
  uint64_t now = tether_now_ns();
  if (s->timeout_at != 0 && now >= s->timeout_at) {
    s->timeout_at = 0;
    s->timed_out = 1;
    set_cause(s, CAUSE_TIMEOUT, 0);
    start_stop_sequence(s, "timeout");
  }
  if (s->grace_at != 0 && now >= s->grace_at) {
    s->grace_at = 0;
    start_stop_sequence(s, "grace period over, the program still runs");
  }
}

static void describe_exit(const tether_status *st, char *buf, size_t n) {
  switch (st->kind) {
  case TETHER_STATUS_CODE:
    snprintf(buf, n, "exited with code %d", st->code);
    break;
  case TETHER_STATUS_SIGNAL:
  case TETHER_STATUS_KILLED:
    if (st->signo > 0)
      snprintf(buf, n, "%s (%s)",
               st->kind == TETHER_STATUS_KILLED ? "killed by tether" : "killed by a signal",
               tether_signal_name(st->signo) != NULL ? tether_signal_name(st->signo) : "a signal");
    else
      snprintf(buf, n, "killed by tether (exit code %d)", st->code);
    break;
  case TETHER_STATUS_INTERRUPTED:
    snprintf(buf, n, "ended by Ctrl+C (0x%08lX)", (unsigned long)st->raw);
    break;
  case TETHER_STATUS_CRASHED:
    snprintf(buf, n, "crashed (0x%08lX)", (unsigned long)st->raw);
    break;
  default:
    snprintf(buf, n, "ended (raw status %lu)", (unsigned long)st->raw);
  }
}

/* What delivers a kind to tether, for messages. */
static const char *event_source(int kind) {
#ifdef _WIN32
  if (kind == TETHER_EVENT_TERMINATE)
    return "a hidden window that receives WM_CLOSE";
  if (kind == TETHER_EVENT_LOGOFF || kind == TETHER_EVENT_SHUTDOWN)
    return "the console control handler and a hidden window that receives "
           "WM_QUERYENDSESSION/WM_ENDSESSION";
  if (kind == TETHER_EVENT_CHILD)
    return "the child's exit watch";
  return "the console control handler";
#else
  return kind == TETHER_EVENT_CHILD ? "the child's exit watch" : "a signal handler";
#endif
}

/* Watch a kind; EIGNORED (nohup, background job) leaves it alone. On
 * Windows, terminate, logoff and shutdown are optional: they need a hidden
 * window, which a headless session (a service, a container, Wine without
 * a display driver) may not allow; tether then runs the program without
 * them (-v says so). */
static int watch(tether_channel *ch, int kind) {
  int r;
  if (tether_kind_supported(kind) != 1)
    return 0;
  r = tether_channel_watch(ch, kind, 0);
  if (r == TETHER_EIGNORED) {
    run_log("not watching %s: it was ignored when tether started", tether_kind_name(kind));
    return 0;
  }
#ifdef _WIN32
  if (r < 0 && (kind == TETHER_EVENT_TERMINATE || kind == TETHER_EVENT_LOGOFF ||
                kind == TETHER_EVENT_SHUTDOWN)) {
    run_log("warning: cannot watch %s (%s: %s); running the program without it",
            tether_kind_name(kind), event_source(kind), tether_strerror(r));
    return 0;
  }
#endif
  if (r < 0)
    fprintf(stderr, "tether run: cannot watch %s (%s): %s\n", tether_kind_name(kind),
            event_source(kind), tether_strerror(r));
  return r;
}

int cli_run(int argc, char **argv) {
  static const int kinds[] = {TETHER_EVENT_INTERRUPT, TETHER_EVENT_QUIT,   TETHER_EVENT_TERMINATE,
                              TETHER_EVENT_HANGUP,    TETHER_EVENT_LOGOFF, TETHER_EVENT_SHUTDOWN,
                              TETHER_EVENT_USER1,     TETHER_EVENT_USER2,  TETHER_EVENT_RESIZE,
                              TETHER_EVENT_CHILD};
  run_opts o;
  run_state s;
  tether_channel *ch = NULL;
  tether_spawn_options so;
  tether_status st;
  tether_event ev;
  char desc[96], b1[32], b2[32], b3[32];
  size_t i;
  int r, done = 0, timeout_exit;
  long os_err;
  const char *sh = NULL;
  int fg_interrupt = 0;

#ifndef _WIN32
  collect_inherited(); /* first: before tether opens anything */
  /* Before anything else (issue 13): no descriptor of tether's may take a
   * closed 0-2 slot, and a reader that went away (`tether run -v ... 2>&1 |
   * head -1`) must not kill tether through SIGPIPE; write() then fails with
   * EPIPE, which the logging ignores. The program still starts with SIGPIPE
   * at its default: a handled signal starts at its default in a child, an
   * ignored one stays ignored, so tether handles it (doing nothing) rather
   * than ignoring it; one ignored by whoever started tether stays ignored,
   * for the program too, as with timeout and env. */
  fill_closed_stdio();
  {
    struct sigaction sa, old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_sigpipe;
      sa.sa_flags = SA_RESTART;
      sigemptyset(&sa.sa_mask);
      (void)sigaction(SIGPIPE, &sa, NULL);
    }
  }
#endif
  r = parse_args(argc, argv, &o);
  if (r != 0)
    return r > 0 ? 0 : CLI_EXIT_FAILURE;
  g_verbose = o.verbose;
  g_start_ns = tether_now_ns();
  memset(&s, 0, sizeof s);
  memset(&st, 0, sizeof st);
  s.o = &o;
  s.phase = PH_RUNNING;

  r = tether_channel_new(&ch, NULL);
  if (r < 0) {
    fprintf(stderr, "tether run: cannot open a channel: %s\n", tether_strerror(r));
    return CLI_EXIT_FAILURE;
  }
  for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (watch(ch, kinds[i]) < 0)
      goto fail;
  if (run_term_watch(ch) < 0)
    goto fail;
#ifndef _WIN32
  watch_others(ch);
  if (getpid() == 1) {
    /* A container's init: reap the orphans that come to tether. */
    r = tether_channel_watch_signal(ch, SIGCHLD, 0);
    run_log("PID 1: %s", r == 0 ? "reaping orphans re-parented to tether" : tether_strerror(r));
  }
  for (i = 0; i < 3; i++)
    if (g_closed_std[i])
      run_log("descriptor %d was closed: the program gets /dev/null there", (int)i);
#endif
  run_term_open(o.foreground);

  tether_spawn_options_init(&so, TETHER_SPAWN_OPTIONS_VERSION);
  so.channel = ch;
#ifdef _WIN32
  so.flags = TETHER_SPAWN_CONSOLE_GROUP;
#else
  so.extra = g_inherited;
  so.nextra = g_ninherited;
  /* Descendants that leave the group (setsid) die with the run too: Linux
   * (the keeper is a subreaper); elsewhere that cannot be had. */
  so.flags = TETHER_SPAWN_CATCH_ESCAPEES;
#endif
  r = o.argv[0][0] != '\0' ? spawn_program(&s.child, o.argv, &so) : TETHER_ENOENT;
  os_err = tether_last_os_error();
#ifndef _WIN32
  if (r == TETHER_ENOEXEC) {
    /* A file without #! that the system does not know as a program: run it
     * with /bin/sh, as execvp() does (and env, timeout, nice, a shell),
     * the script's path as $0 and the arguments after it. Not a binary one
     * (ELF magic, a NUL in its first line, bash's test): sh would report
     * nonsense ("ELF: not found", 127) for what is a wrong-machine or
     * damaged program, and 126 "not an executable format" is the truth. */
    char *path = find_program(o.argv[0]), interp[8];
    if (path != NULL && read_head(path, interp, sizeof interp) == HEAD_TEXT) {
      size_t n = 0;
      char **shv;
      while (o.argv[n] != NULL)
        n++;
      shv = (char **)calloc(n + 2, sizeof *shv);
      if (shv != NULL) {
        shv[0] = (char *)"/bin/sh";
        shv[1] = path;
        memcpy(shv + 2, o.argv + 1, (n - 1) * sizeof *shv);
        run_log("'%s' has no #! line and is not a binary: running it with /bin/sh, "
                "as execvp() does",
                path);
        r = spawn_program(&s.child, shv, &so);
        os_err = tether_last_os_error();
        if (r < 0)
          sh = "/bin/sh";
        free(shv);
      }
    }
    free(path);
  }
#endif
  if (r < 0) {
    int code = spawn_failed(o.argv[0], r, os_err, sh);
    tether_channel_free(ch);
    run_term_restore();
    return code;
  }
  s.pid = (long)tether_child_pid(s.child);
  s.keeper = cli_getpid() == 1 ? parent_of(s.pid) : -1;
  if (o.timeout_ms > 0)
    s.timeout_at = deadline_after(o.timeout_ms);
  run_log("started '%s' as pid %ld (grace %s, kill-after %s, timeout %s)", o.argv[0], s.pid,
          fmt_dur(o.grace_ms, b1, sizeof b1), fmt_dur(o.kill_after_ms, b2, sizeof b2),
          fmt_dur(o.timeout_ms > 0 ? o.timeout_ms : CLI_DURATION_INFINITE, b3, sizeof b3));

  run_term_give(s.child);
  while (!done) {
    int wait_ms = run_term_wait_ms(next_wait_ms(&s));
    r = tether_channel_wait(ch, &ev, wait_ms);
    if (r < 0) {
      fprintf(stderr, "tether run: waiting for events: %s\n", tether_strerror(r));
      goto fail;
    }
    if (r == 1) {
      if (ev.kind == TETHER_EVENT_CHILD) {
        if (ev.child == s.child) {
          st = ev.exit;
          done = 1;
          stop_outcome(&s, &st);
        }
      } else {
        handle_event(&s, &ev);
      }
    }
    if (!done)
      check_timers(&s);
    if (!done)
      run_term_check_stopped(s.child);
  }
  /* --foreground: a Ctrl+C typed while the program's group held the
   * terminal reached that group only, not tether's (the calling script's)
   * group. When the program died of SIGINT then, the run ended by a user's
   * interrupt: tether passes the SIGINT on to its own group below, so that
   * the calling shell stops as it would have without --foreground. (A
   * SIGINT sent to tether itself was forwarded; it reached tether alone,
   * not the shell, and is not passed on.) */
  fg_interrupt = run_term_handed() && st.kind == TETHER_STATUS_SIGNAL && st.signo == SIGINT &&
                 s.interrupts == 0; /* not a `kill -INT` of tether's own */
  if (fg_interrupt)
    set_cause(&s, CAUSE_INTERRUPT, TETHER_EVENT_INTERRUPT);
  /* The terminal's Ctrl+C went to the program's group only (the sentinel
   * told tether): tether's own group (a calling script) gets it too. */
  if (s.tty_interrupts > 0 && s.cause == CAUSE_INTERRUPT)
    fg_interrupt = 1;
  run_term_stop_sentinel();
  /* The program ended: the terminal is tether's again before anything
   * else (the rest of the tree dies below). */
  run_term_take_back();
  reap_orphans(s.keeper, (long)s.pid);

  describe_exit(&st, desc, sizeof desc);
  run_log("pid %ld %s", s.pid, desc);
  if (st.kind == TETHER_STATUS_SIGNAL && st.core_dumped)
    run_log("the program dumped core");
  /* Descendants still in the program's group/job die here (the run ends
   * with the program, as with tini). */
  if (tether_child_wait_tree(s.child, 0) == 0)
    run_log("killing what is left of the tree");
  tether_child_free(s.child);
  tether_token_free(s.stopper);
  timeout_exit = s.timed_out && o.timeout_status >= 0 && s.cause == CAUSE_TIMEOUT;
  run_term_restore();
#ifdef _WIN32
  /* A console close, logoff or shutdown is pending: tether's handler holds
   * it until the channel acknowledges it (freeing does), and Windows ends
   * the process with STATUS_CONTROL_C_EXIT as soon as that handler returns.
   * exit() would race that: ExitProcess ends the other threads, the
   * handler's among them, before the process itself ends (DLL detach in
   * between). TerminateProcess ends every thread and sets the status in one
   * step, so the status is the program's (issue 14, item 13). */
  if (s.ack_pending && (st.kind == TETHER_STATUS_CODE || st.kind == TETHER_STATUS_INTERRUPTED ||
                        st.kind == TETHER_STATUS_CRASHED || st.kind == TETHER_STATUS_KILLED)) {
    UINT code = timeout_exit ? (UINT)o.timeout_status : (UINT)st.raw;
    run_log("a close, logoff or shutdown is pending: ending at once with 0x%lx",
            (unsigned long)code);
    fflush(NULL);
    (void)TerminateProcess(GetCurrentProcess(), code);
  }
#endif
  /* Acknowledges pending Windows close/logoff/shutdown events and restores
   * every signal action. */
  tether_channel_free(ch);
  if (timeout_exit) {
    run_log("the timeout ran out: exiting with %d (--timeout-status)", o.timeout_status);
    fflush(NULL);
    exit(o.timeout_status);
  }
#ifndef _WIN32
  {
    int by_signal =
        (st.kind == TETHER_STATUS_SIGNAL || st.kind == TETHER_STATUS_KILLED) && st.signo > 0;
    int sig = by_signal ? st.signo : 0;
    /* The run was ended by an interrupt, or a terminate, hangup or quit
     * from outside, and the program died of a signal or tether stopped it:
     * tether dies of that cause, not of what ended the program (SIGKILL
     * after a second Ctrl+C, SIGTERM from the stop sequence). A program that
     * exited with a code decided for itself: its code is passed on. */
    if ((s.cause == CAUSE_INTERRUPT || s.cause == CAUSE_SIGNAL) && (by_signal || s.escalated)) {
      sig = s.cause == CAUSE_INTERRUPT            ? SIGINT
            : s.cause_kind == TETHER_EVENT_QUIT   ? SIGQUIT
            : s.cause_kind == TETHER_EVENT_HANGUP ? SIGHUP
                                                  : SIGTERM;
      run_log("the run was ended by %s: tether %s %s", tether_signal_name(sig),
              o.exit_code ? "exits with 128 +" : "dies by", tether_signal_name(sig));
    }
    if (sig > 0 && o.exit_code) {
      fflush(NULL);
      exit(128 + sig);
    }
    if (sig > 0) {
      no_core();
      if (fg_interrupt) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
        (void)kill(0, SIGINT); /* tether's group; tether dies of it below */
      }
      r = tether_exit_like_signal(sig);
      fprintf(stderr, "tether run: cannot end like the program (%s)\n", tether_strerror(r));
      return CLI_EXIT_FAILURE;
    }
  }
#endif
  r = tether_exit_with(&st);
  fprintf(stderr, "tether run: cannot end like the program (%s)\n", tether_strerror(r));
  return CLI_EXIT_FAILURE;

fail:
  run_term_stop_sentinel();
  tether_child_free(s.child);
  tether_token_free(s.stopper);
  tether_channel_free(ch);
  run_term_restore();
  return CLI_EXIT_FAILURE;
}
