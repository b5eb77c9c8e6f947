/* SPDX-License-Identifier: MIT */
/* Shared test support. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* setgroups (glibc) */
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE /* sysctl, KERN_PROCARGS2, struct kinfo_proc */
#endif
#include "support.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <dirent.h>
#elif defined(__APPLE__)
#include <sys/proc.h>   /* SZOMB */
#include <sys/sysctl.h> /* sysctl, KERN_PROC_ALL, KERN_PROCARGS2 */
#endif
#endif

static const char *tt_self_path;

void tt_assert_ok(int rc, const char *expr, const char *file, int line) {
  if (rc < 0) {
    print_error("%s failed: %s (%s), last OS error %ld\n", expr, tether_err_name(rc),
                tether_strerror(rc), tether_last_os_error());
    _fail(file, line);
  }
}

void tt_assert_err(int rc, int expected, const char *expr, const char *file, int line) {
  if (rc != expected) {
    print_error("%s returned %d (%s), expected %s\n", expr, rc,
                rc < 0 ? tether_err_name(rc) : "not an error", tether_err_name(expected));
    _fail(file, line);
  }
}

void tt_spawn_refuses_bad_input(const char *const *argv) {
  const char *empty[] = {NULL};
  const char *blank[] = {"", NULL};
  const char *bad_env[] = {"NOEQUALS", NULL};
  const char *bad_env2[] = {"=value", NULL};
  const char *bad_unset[] = {"A=B", NULL};
  static const int bad_modes[] = {9, -1};
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_channel *ch;
  size_t i;
  assert_tether_err(tether_spawn(NULL, argv, NULL), TETHER_EINVAL);
  assert_tether_err(tether_spawn(&c, NULL, NULL), TETHER_EINVAL);
  assert_tether_err(tether_spawn(&c, empty, NULL), TETHER_EINVAL);
  assert_tether_err(tether_spawn(&c, blank, NULL), TETHER_EINVAL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = 1u << 30;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    o.stdio[1 + i].mode = bad_modes[i];
    assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  }
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.env_set = bad_env;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  o.env_set = bad_env2;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  o.env_set = NULL;
  o.env_unset = bad_unset;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.cwd = "";
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_tether_ok(tether_channel_new(&ch, NULL));
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.channel = ch;
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_EINVAL);
  assert_tether_ok(tether_channel_close(ch));
  assert_tether_err(tether_spawn(&c, argv, &o), TETHER_ECLOSED);
  tether_channel_free(ch);
  assert_null(c);
  /* NULL children. */
  assert_int_equal(tether_child_pid(NULL), -1);
#ifdef _WIN32
  assert_null(tether_child_stdio(NULL, 1));
#else
  assert_int_equal(tether_child_stdio(NULL, 1), -1);
#endif
  assert_tether_err(tether_child_close_stdio(NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_child_signal(NULL, TETHER_EVENT_TERMINATE), TETHER_EINVAL);
  assert_tether_err(tether_child_signal_native(NULL, 15), TETHER_EINVAL);
  assert_tether_err(tether_child_kill(NULL), TETHER_EINVAL);
  assert_tether_err(tether_child_wait(NULL, 0, NULL), TETHER_EINVAL);
  assert_tether_err(tether_child_wait_tree(NULL, 0), TETHER_EINVAL);
  assert_tether_err(tether_child_stop(NULL, NULL, 0, NULL), TETHER_EINVAL);
  tether_child_free(NULL);
}

const char *tt_self(void) { return tt_self_path; }

#ifndef _WIN32
static sigset_t tt_start_mask;

/* Signals a thread can block: 1..31 but SIGKILL and SIGSTOP, and the
 * real-time ones (glibc's reserved 32 and 33 excluded). */
static int tt_blockable(int s) {
  if (s == SIGKILL || s == SIGSTOP)
    return 0;
  if (s < 32)
    return 1;
#if defined(SIGRTMIN) && defined(SIGRTMAX)
  return s >= SIGRTMIN && s <= SIGRTMAX;
#else
  return 0;
#endif
}

#define TT_MAXSIG 64

int tt_signal_mask_check(const char *where) {
  sigset_t cur;
  int s, same = 1, all = 1;
  if (pthread_sigmask(SIG_SETMASK, NULL, &cur) != 0)
    return -1;
  for (s = 1; s <= TT_MAXSIG; s++) {
    if (!tt_blockable(s))
      continue;
    if (sigismember(&cur, s) != sigismember(&tt_start_mask, s))
      same = 0;
    if (sigismember(&cur, s) != 1)
      all = 0;
  }
  if (same)
    return 0;
  (void)pthread_sigmask(SIG_SETMASK, &tt_start_mask, NULL);
#if defined(TT_TSAN)
  if (all) {
    print_message("[   NOTE   ] %s: ThreadSanitizer left every signal blocked "
                  "in this thread (google/sanitizers#1855, nested signal "
                  "handling); mask restored\n",
                  where);
    return 1;
  }
#else
  (void)all;
#endif
  print_error("%s: this thread's signal mask differs from the one at start "
              "(blocked now:",
              where);
  for (s = 1; s <= TT_MAXSIG; s++)
    if (tt_blockable(s) && sigismember(&cur, s) == 1)
      print_error(" %d", s);
  print_error(")\n");
  return -1;
}

/* A test program starts as ctest starts it (CMake spawns through libuv,
 * which resets the child's signals): every signal at its default and none
 * blocked. Run another way (the valgrind lane runs the programs from bash),
 * it may inherit SIG_IGN for SIGINT and SIGQUIT (a non-interactive shell's
 * background job, nohup) or a blocked signal, and then the tests of
 * Ctrl+C, of "dies like SIGINT" and of what a child inherits would test the
 * caller's environment instead of tether: set back here, with a note. */
static void tt_default_signals(void) {
  sigset_t none, cur;
  char changed[256] = "";
  size_t len = 0;
  int s;
  for (s = 1; s <= TT_MAXSIG; s++) {
    struct sigaction sa;
    if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &sa) != 0)
      continue;
    if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) {
      sa.sa_handler = SIG_DFL;
      if (sigaction(s, &sa, NULL) == 0 && len + 8 < sizeof(changed))
        len += (size_t)snprintf(changed + len, sizeof(changed) - len, " %d", s);
    }
  }
  if (changed[0] != '\0')
    print_message("[   NOTE   ] signals ignored at start set back to their default:%s\n", changed);
  sigemptyset(&none);
  if (pthread_sigmask(SIG_SETMASK, NULL, &cur) == 0) {
    for (s = 1; s <= TT_MAXSIG; s++)
      if (tt_blockable(s) && sigismember(&cur, s) == 1)
        break;
    if (s <= TT_MAXSIG) {
      (void)pthread_sigmask(SIG_SETMASK, &none, NULL);
      print_message("[   NOTE   ] signals blocked at start unblocked\n");
    }
  }
}

/* Before any other initializer of the program (priority 101; tether's own
 * load-time snapshot of the dispositions has none), so that tether sees
 * the program start as under ctest. glibc and Darwin pass argc and argv to
 * initializers; a --child scenario keeps what it was started with (tests
 * start some with signals ignored on purpose). A shared libtether's
 * initializers run before the program's: there, tt_main's call is the
 * first (ctest runs those lanes). */
#if defined(__GNUC__)
__attribute__((constructor(101))) static void tt_default_signals_at_load(int argc, char **argv,
                                                                         char **envp) {
  (void)envp;
  if (argc >= 2 && argv != NULL && argv[1] != NULL && strcmp(argv[1], "--child") == 0)
    return;
  tt_default_signals();
}
#endif

static int tt_mask_teardown(void **state) {
  (void)state;
  return tt_signal_mask_check("after the test") < 0 ? -1 : 0;
}
#endif

#ifndef _WIN32
const char *tt_cannot_run_as(uid_t uid, gid_t gid) {
  static char why[4096 + 512];
  char path[4096];
  pid_t p;
  int st = 0;
  if (geteuid() != 0)
    return NULL;
  /* As tether_spawn() runs it: a relative name from this process's
   * current directory, through every directory above it. */
  path[0] = '\0';
  if (tt_self_path[0] != '/' && getcwd(path, sizeof(path) - 1) != NULL)
    strcat(path, "/");
  if (strlen(path) + strlen(tt_self_path) >= sizeof(path))
    path[0] = '\0';
  strcat(path, tt_self_path);
  p = fork();
  if (p < 0) {
    snprintf(why, sizeof(why), "cannot fork to ask whether uid %ld can run %s: %s", (long)uid, path,
             strerror(errno));
    return why;
  }
  if (p == 0) {
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
      _exit(200);
    _exit(access(path, X_OK) == 0 ? 0 : errno > 0 && errno < 200 ? errno : 199);
  }
  while (waitpid(p, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return NULL;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 200)
    snprintf(why, sizeof(why), "root cannot become uid %ld gid %ld here", (long)uid, (long)gid);
  else if (WIFEXITED(st) && WEXITSTATUS(st) < 199)
    snprintf(why, sizeof(why),
             "uid %ld cannot run this test executable (%s: %s): a directory on its "
             "path is closed to other users (a checkout under a 0700 directory, "
             "as mktemp -d makes?)",
             (long)uid, path, strerror(WEXITSTATUS(st)));
  else
    snprintf(why, sizeof(why), "cannot ask whether uid %ld can run %s (status 0x%x)", (long)uid,
             path, (unsigned)st);
  return why;
}

const char *tt_nobody_cannot_run(void) {
  struct passwd *pw;
  if (geteuid() != 0)
    return NULL;
  pw = getpwnam("nobody");
  if (pw == NULL)
    return "running as root and there is no user \"nobody\" to drop to";
  return tt_cannot_run_as(pw->pw_uid, pw->pw_gid);
}
#endif

int tt_main(int argc, char **argv, const tt_scenario *scenarios, const char *group,
            const struct CMUnitTest *tests, size_t ntests) {
  tt_self_path = argv[0];
#ifdef _WIN32
  {
    static char buf[MAX_PATH * 2];
    DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)sizeof(buf));
    if (n > 0 && n < sizeof(buf))
      tt_self_path = buf;
  }
#endif
  if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
    const tt_scenario *s;
    for (s = scenarios; s != NULL && s->name != NULL; s++)
      if (strcmp(s->name, argv[2]) == 0)
        return s->run(argc - 3, argv + 3);
    fprintf(stderr, "unknown child scenario %s\n", argv[2]);
    return 99;
  }
  /* Unbuffered output so that nothing is lost if a test crashes. */
  setvbuf(stdout, NULL, _IONBF, 0);
  /* TT_FILTER=test_name (wildcards * and ?) runs only matching tests. */
  if (getenv("TT_FILTER") != NULL)
    cmocka_set_test_filter(getenv("TT_FILTER"));
#ifndef _WIN32
  tt_default_signals();
  {
    /* Every test without a teardown of its own gets the signal-mask check
     * (tt_signal_mask_check) as its teardown. */
    struct CMUnitTest *run;
    size_t i;
    int rc;
    (void)pthread_sigmask(SIG_SETMASK, NULL, &tt_start_mask);
    run = (struct CMUnitTest *)malloc(ntests * sizeof(*run));
    if (run == NULL)
      return 99;
    for (i = 0; i < ntests; i++) {
      run[i] = tests[i];
      if (run[i].teardown_func == NULL)
        run[i].teardown_func = tt_mask_teardown;
    }
    rc = _cmocka_run_group_tests(group, run, ntests, NULL, NULL);
    free(run);
    return rc;
  }
#else
  return _cmocka_run_group_tests(group, tests, ntests, NULL, NULL);
#endif
}

void tt_child_argv(const char **v, const char *scenario, const char *a1, const char *a2,
                   const char *a3) {
  v[0] = tt_self();
  v[1] = "--child";
  v[2] = scenario;
  v[3] = a1;
  v[4] = a1 != NULL ? a2 : NULL;
  v[5] = a1 != NULL && a2 != NULL ? a3 : NULL;
  v[6] = NULL;
}

void tt_fill_steps(tether_stop_step *steps, size_t n, int kind, int timeout_ms) {
  size_t i;
  for (i = 0; i < n; i++) {
    steps[i].kind = kind;
    steps[i].timeout_ms = timeout_ms;
  }
}

int tt_is_wine(void) {
#ifdef _WIN32
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
#else
  return 0;
#endif
}

void tt_sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0) {
  }
#endif
}

void tt_spawn_options_stdio(tether_spawn_options *o, int mode) {
  int i;
  tether_spawn_options_init(o, TETHER_SPAWN_OPTIONS_VERSION);
  for (i = 0; i < 3; i++)
    o->stdio[i].mode = mode;
}

void tt_child_channel(tether_channel **ch, const tether_channel_options *co,
                      tether_spawn_options *o) {
  assert_tether_ok(tether_channel_new(ch, co));
  assert_tether_ok(tether_channel_watch(*ch, TETHER_EVENT_CHILD, 0));
  tether_spawn_options_init(o, TETHER_SPAWN_OPTIONS_VERSION);
  o->channel = *ch;
}

int tt_child_exit(int argc, char **argv) { return argc > 0 ? atoi(argv[0]) : 0; }

int tt_child_sleep(int argc, char **argv) {
  (void)argc;
  (void)argv;
  tt_sleep_ms(60000);
  return 0;
}

long tt_open_fd_count(void) {
#ifdef _WIN32
  DWORD n = 0;
  if (!GetProcessHandleCount(GetCurrentProcess(), &n))
    return -1;
  return (long)n;
#else
  /* Portable: probe every descriptor below the soft limit (no /proc). */
  long max = sysconf(_SC_OPEN_MAX), fd, n = 0;
  if (max < 0 || max > 65536)
    max = 65536;
  for (fd = 0; fd < max; fd++)
    if (fcntl((int)fd, F_GETFD) != -1)
      n++;
  return n;
#endif
}

struct tt_thread {
#ifdef _WIN32
  HANDLE h;
#else
  pthread_t t;
#endif
};

/* What a new thread runs; freed by the thread itself (tt_thread_detach may
 * free the tt_thread before the thread starts). */
typedef struct tt_start {
  void (*fn)(void *);
  void *arg;
} tt_start;

#ifdef _WIN32
static DWORD WINAPI tt_thread_main(LPVOID p)
#else
static void *tt_thread_main(void *p)
#endif
{
  tt_start s = *(tt_start *)p;
  free(p);
  s.fn(s.arg);
  return 0;
}

tt_thread *tt_thread_start(void (*fn)(void *), void *arg) {
  tt_thread *t = (tt_thread *)malloc(sizeof(*t));
  tt_start *s = (tt_start *)malloc(sizeof(*s));
  int started;
  if (t == NULL || s == NULL) {
    free(t);
    free(s);
    return NULL;
  }
  s->fn = fn;
  s->arg = arg;
#ifdef _WIN32
  t->h = CreateThread(NULL, 0, tt_thread_main, s, 0, NULL);
  started = t->h != NULL;
#else
  started = pthread_create(&t->t, NULL, tt_thread_main, s) == 0;
#endif
  if (!started) {
    free(s);
    free(t);
    return NULL;
  }
  return t;
}

void tt_thread_join(tt_thread *t) {
#ifdef _WIN32
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
#else
  (void)pthread_join(t->t, NULL);
#endif
  free(t);
}

void tt_thread_detach(tt_thread *t) {
#ifdef _WIN32
  CloseHandle(t->h);
#else
  (void)pthread_detach(t->t);
#endif
  free(t);
}

int tt_handle_ready(tether_os_handle h, int ms) {
#ifdef _WIN32
  return WaitForSingleObject((HANDLE)h, (DWORD)ms) == WAIT_OBJECT_0;
#else
  struct pollfd p;
  p.fd = h;
  p.events = POLLIN;
  p.revents = 0;
  return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
#endif
}

/* The watchdog: one thread per armed step, waiting (no polling) until the
 * step is disarmed or its time is up. The armed step's fields are written
 * before its thread starts and by the test thread only. */
static const char *tt_wd_what;
static int tt_wd_secs;
static tt_thread *tt_wd_thread; /* the armed step's, NULL when none */
#ifdef _WIN32
static HANDLE tt_wd_disarmed; /* a manual-reset event, set by the disarm */
#else
static pthread_mutex_t tt_wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tt_wd_cond = PTHREAD_COND_INITIALIZER;
static int tt_wd_armed;
#endif

/* 1 when the step was disarmed within tt_wd_secs, else 0. */
static int tt_wd_wait(void) {
#ifdef _WIN32
  return WaitForSingleObject(tt_wd_disarmed, (DWORD)tt_wd_secs * 1000u) == WAIT_OBJECT_0;
#else
  struct timespec dl;
  int disarmed;
  (void)clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += tt_wd_secs;
  (void)pthread_mutex_lock(&tt_wd_lock);
  while (tt_wd_armed && pthread_cond_timedwait(&tt_wd_cond, &tt_wd_lock, &dl) != ETIMEDOUT) {
  }
  disarmed = !tt_wd_armed;
  (void)pthread_mutex_unlock(&tt_wd_lock);
  return disarmed;
#endif
}

static void tt_wd_main(void *arg) {
  (void)arg;
  if (!tt_wd_wait()) {
    fprintf(stderr, "WATCHDOG: '%s' hangs (more than %d s)\n", tt_wd_what, tt_wd_secs);
    abort();
  }
}

void tt_watchdog_arm(const char *what, int secs) {
  /* A step left armed by a failed assertion ends here, not later in the
   * name of this one. */
  tt_watchdog_disarm();
  tt_wd_what = what;
  tt_wd_secs = secs;
#ifdef _WIN32
  tt_wd_disarmed = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (tt_wd_disarmed == NULL)
    fail_msg("cannot make the watchdog's event");
#else
  (void)pthread_mutex_lock(&tt_wd_lock);
  tt_wd_armed = 1;
  (void)pthread_mutex_unlock(&tt_wd_lock);
#endif
  tt_wd_thread = tt_thread_start(tt_wd_main, NULL);
  if (tt_wd_thread == NULL)
    fail_msg("cannot start the watchdog thread");
}

void tt_watchdog_disarm(void) {
  if (tt_wd_thread == NULL)
    return;
#ifdef _WIN32
  (void)SetEvent(tt_wd_disarmed);
#else
  (void)pthread_mutex_lock(&tt_wd_lock);
  tt_wd_armed = 0;
  (void)pthread_cond_broadcast(&tt_wd_cond);
  (void)pthread_mutex_unlock(&tt_wd_lock);
#endif
  tt_thread_join(tt_wd_thread);
  tt_wd_thread = NULL;
#ifdef _WIN32
  (void)CloseHandle(tt_wd_disarmed);
#endif
}

int tt_watchdog_teardown(void **state) {
  (void)state;
  tt_watchdog_disarm();
  return 0;
}

#ifndef _WIN32
static int tt_has(const char *buf, size_t len, const char *m, size_t mlen) {
  size_t i;
  for (i = 0; i + mlen <= len; i++)
    if (memcmp(buf + i, m, mlen) == 0)
      return 1;
  return 0;
}

#if defined(__linux__)
/* The bytes of /proc/<pid>/cmdline into buf: the length, or -1. */
static long tt_args(const char *pid, char *buf, size_t cap) {
  char path[300];
  ssize_t n;
  int fd;
  snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read(fd, buf, cap);
  (void)close(fd);
  return (long)n;
}

int tt_count_marked(const char *marker, int kill_them) {
  static char buf[1 << 16];
  DIR *d;
  struct dirent *de;
  int n = 0;
  size_t mlen = strlen(marker);
  if (tt_args("self", buf, sizeof(buf)) <= 0)
    return -1; /* no /proc here */
  d = opendir("/proc");
  if (d == NULL)
    return -1;
  while ((de = readdir(d)) != NULL) {
    long len;
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    len = tt_args(de->d_name, buf, sizeof(buf)); /* a zombie's is empty */
    if (len > 0 && tt_has(buf, (size_t)len, marker, mlen)) {
      n++;
      if (kill_them)
        (void)kill((pid_t)atol(de->d_name), SIGKILL);
    }
  }
  (void)closedir(d);
  return n;
}
#elif defined(__APPLE__)
/* KERN_PROCARGS2 of pid (argc, the executable's path, argv, environ) into
 * buf: the length, or -1 (a zombie, another user's process, gone). */
static long tt_args(pid_t pid, char *buf, size_t cap) {
  int mib[3] = {CTL_KERN, KERN_PROCARGS2, 0};
  size_t len = cap;
  mib[2] = (int)pid;
  if (sysctl(mib, 3, buf, &len, NULL, 0) != 0)
    return -1;
  return (long)len;
}

int tt_count_marked(const char *marker, int kill_them) {
  static char buf[1 << 20]; /* >= kern.argmax (1 MiB by default) */
  int mib[3] = {CTL_KERN, KERN_PROC, KERN_PROC_ALL};
  struct kinfo_proc *kp = NULL;
  size_t len = 0, i, mlen = strlen(marker);
  int n = 0, tries;
  if (tt_args(getpid(), buf, sizeof(buf)) <= 0)
    return -1;
  for (tries = 0; tries < 8; tries++) { /* the table may grow meanwhile */
    if (sysctl(mib, 3, NULL, &len, NULL, 0) != 0)
      return -1;
    len += len / 4 + 64 * sizeof(*kp);
    free(kp);
    kp = (struct kinfo_proc *)malloc(len);
    if (kp == NULL)
      return -1;
    if (sysctl(mib, 3, kp, &len, NULL, 0) == 0)
      break;
    if (errno != ENOMEM) {
      free(kp);
      return -1;
    }
  }
  if (tries == 8) {
    free(kp);
    return -1;
  }
  for (i = 0; i < len / sizeof(*kp); i++) {
    pid_t pid = kp[i].kp_proc.p_pid;
    long alen;
    if (pid <= 0 || kp[i].kp_proc.p_stat == SZOMB)
      continue;
    alen = tt_args(pid, buf, sizeof(buf));
    if (alen > 0 && tt_has(buf, (size_t)alen, marker, mlen)) {
      n++;
      if (kill_them)
        (void)kill(pid, SIGKILL);
    }
  }
  free(kp);
  return n;
}
#else
int tt_count_marked(const char *marker, int kill_them) {
  (void)marker;
  (void)kill_them;
  return -1; /* no way to list processes written for this system */
}
#endif

/* A NULL pipe leaves that descriptor as inherited; the child closes both
 * ends of each pipe after the dup2, the parent its ends (out_pipe[1],
 * in_pipe[0]) whether the fork worked or not; a failed exec exits 127. */
pid_t tt_fork_child(const int *out_pipe, const int *in_pipe, const char *const *args) {
  pid_t pid = fork();
  if (pid == 0) {
    const char *v[16];
    size_t i;
    if (out_pipe != NULL) {
      (void)dup2(out_pipe[1], 1);
      (void)close(out_pipe[0]);
      (void)close(out_pipe[1]);
    }
    if (in_pipe != NULL) {
      (void)dup2(in_pipe[0], 0);
      (void)close(in_pipe[0]);
      (void)close(in_pipe[1]);
    }
    v[0] = tt_self();
    v[1] = "--child";
    for (i = 0; args[i] != NULL && i + 3 < TT_COUNT(v); i++)
      v[i + 2] = args[i];
    v[i + 2] = NULL;
    execv(tt_self(), (char *const *)v);
    _exit(127);
  }
  if (out_pipe != NULL)
    (void)close(out_pipe[1]);
  if (in_pipe != NULL)
    (void)close(in_pipe[0]);
  return pid;
}

/* All len bytes through write (out) or read: 0, or -1 (an error, or EOF first). */
static int tt_io_all(int fd, char *p, size_t len, int out) {
  while (len > 0) {
    ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int tt_write_all(int fd, const void *buf, size_t len) { return tt_io_all(fd, (char *)buf, len, 1); }

int tt_read_full(int fd, void *buf, size_t len) { return tt_io_all(fd, (char *)buf, len, 0); }

void tt_in_forked_child(int (*fn)(void *), void *arg, const char *what) {
  pid_t pid;
  int st, p[2];
  unsigned char res = 0xFF;
  tt_watchdog_arm(what, 30);
  assert_int_equal(pipe(p), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    unsigned char r;
    (void)close(p[0]);
    (void)alarm(10); /* a hang ends as SIGALRM */
    r = (unsigned char)fn(arg);
    if (write(p[1], &r, 1) != 1)
      _exit(97);
    _exit(r);
  }
  (void)close(p[1]);
  if (read(p[0], &res, 1) != 1)
    res = 0xFF;
  (void)close(p[0]);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  tt_watchdog_disarm();
  if (res != 0)
    fail_msg("%s: the forked child %s %d (result %d)", what,
             WIFEXITED(st) ? "exited with" : "died by signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), (int)res);
}

size_t tt_read_all(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t n;
  while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    len += (size_t)n;
  }
  buf[len] = '\0';
  return len;
}

/* One line without its newline: poll waits up to ms for each byte, or (whole)
 * for the whole line. */
static int tt_line(int fd, char *buf, size_t cap, long ms, int whole) {
  uint64_t t0 = tether_now_ns();
  size_t len = 0;
  while (len + 1 < cap) {
    char ch;
    ssize_t n;
    struct pollfd pf;
    long left = whole ? ms - (long)((tether_now_ns() - t0) / 1000000u) : ms;
    if (left <= 0)
      break;
    pf.fd = fd;
    pf.events = POLLIN;
    pf.revents = 0;
    if (poll(&pf, 1, (int)left) == 0)
      break;
    n = read(fd, &ch, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || ch == '\n')
      break;
    buf[len++] = ch;
  }
  buf[len] = '\0';
  return (int)len;
}

int tt_read_line(int fd, char *buf, size_t cap) { return tt_line(fd, buf, cap, 20000, 0); }

int tt_read_line_within(int fd, char *buf, size_t cap, long ms) {
  return tt_line(fd, buf, cap, ms, 1);
}
void tt_sleep_forever(void) {
  for (;;)
    pause();
}

int tt_child_ready(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("ready %ld\n", (long)getpid());
  fflush(stdout);
  tt_sleep_forever();
  return 0;
}

int tt_child_cat(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tt_copy_stdin() == 1 ? 1 : 0;
}

int tt_copy_stdin(void) {
  char buf[256];
  ssize_t n;
  while ((n = read(0, buf, sizeof(buf))) > 0)
    if (write(1, buf, (size_t)n) != n)
      return 1;
  return n == 0 ? 0 : -1;
}

char tt_proc_state(pid_t p, long *ppid, long *pgrp) {
  char path[64], buf[1024], *q, st;
  long pp, pg;
  int fd;
  ssize_t n;
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)p);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kill(p, 0) == 0 ? '?' : 0;
  n = read(fd, buf, sizeof(buf) - 1);
  (void)close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  q = strrchr(buf, ')');
  if (q == NULL || sscanf(q + 1, " %c %ld %ld", &st, &pp, &pg) != 3)
    return '?';
  if (ppid != NULL)
    *ppid = pp;
  if (pgrp != NULL)
    *pgrp = pg;
  return st;
}

int tt_alive(pid_t p) {
  char st;
  if (p <= 0)
    return 0;
  st = tt_proc_state(p, NULL, NULL);
  return st != 0 && st != 'Z' && st != 'X';
}

long tt_gone_within(pid_t p, long ms) {
  uint64_t t0 = tether_now_ns();
  for (;;) {
    uint64_t dt = (tether_now_ns() - t0) / 1000000u;
    if (!tt_alive(p))
      return (long)dt;
    if ((long)dt > ms)
      return -1;
    tt_sleep_ms(1);
  }
}
#endif
