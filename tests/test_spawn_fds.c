/* SPDX-License-Identifier: MIT */
/*
 * Extra descriptors for children (tether_spawn_options.extra, POSIX): the
 * child gets exactly the chosen descriptors at the chosen numbers, not
 * close-on-exec, and nothing else; permutations (swaps, cycles) of sources
 * and targets; 300 descriptors (more than one SCM_RIGHTS message); a source
 * that is also the child's stdout; bad input changes nothing; and the same
 * request through posix_spawn_file_actions_adddup2 gives the same set of
 * descriptors (differential).
 *
 * Child scenarios re-run this executable: `test_spawn_fds --child NAME ...`.
 */
#define _DEFAULT_SOURCE /* dirfd */
#define _DARWIN_C_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

/* ---------------------------------------------------------------------- */
/* The child: do the operations, then list every open descriptor above 2  */
/* ---------------------------------------------------------------------- */

static void list_one(int fd) {
  struct stat st;
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fstat(fd, &st) != 0)
    return;
  printf("fd %d %llu %llu %d\n", fd, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
         (fl & FD_CLOEXEC) ? 1 : 0);
}

/* Args: "w:N" writes "N\n" to descriptor N; "r:N" reads a line from N and
 * prints "read N <line>". Then "fd N DEV INO CLOEXEC" for each open
 * descriptor >= 3. */
static int child_fds(int argc, char **argv) {
  int i;
  for (i = 0; i < argc; i++) {
    int fd = atoi(argv[i] + 2);
    if (strncmp(argv[i], "w:", 2) == 0) {
      char b[32];
      int n = snprintf(b, sizeof(b), "%d\n", fd);
      if (write(fd, b, (size_t)n) != n)
        printf("write %d failed %d\n", fd, errno);
    } else if (strncmp(argv[i], "r:", 2) == 0) {
      char b[128];
      size_t len = 0;
      while (len + 1 < sizeof(b)) {
        ssize_t n = read(fd, b + len, 1);
        if (n <= 0 || b[len] == '\n')
          break;
        len++;
      }
      b[len] = '\0';
      printf("read %d %s\n", fd, b);
    }
  }
  fflush(stdout);
#if defined(TETHER_TEST_LINUX)
  {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int self;
    if (d == NULL)
      return 3;
    self = dirfd(d);
    while ((de = readdir(d)) != NULL) {
      int fd;
      if (de->d_name[0] < '0' || de->d_name[0] > '9')
        continue;
      fd = atoi(de->d_name);
      if (fd > 2 && fd != self)
        list_one(fd);
    }
    closedir(d);
  }
#else
  {
    long max = sysconf(_SC_OPEN_MAX), fd;
    if (max < 0 || max > 65536)
      max = 65536;
    for (fd = 3; fd < max; fd++)
      list_one((int)fd);
  }
#endif
  fflush(stdout);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                  */
/* ---------------------------------------------------------------------- */

typedef struct seen {
  int fd;
  unsigned long long dev, ino;
  int cloexec;
} seen;

typedef struct ident {
  unsigned long long dev, ino;
  int fdflags, flflags;
} ident;

static ident ident_of(int fd) {
  ident id;
  struct stat st;
  memset(&id, 0, sizeof(id));
  assert_int_equal(fstat(fd, &st), 0);
  id.dev = (unsigned long long)st.st_dev;
  id.ino = (unsigned long long)st.st_ino;
  id.fdflags = fcntl(fd, F_GETFD);
  id.flflags = fcntl(fd, F_GETFL);
  return id;
}

static void assert_same_ident(int fd, const ident *before) {
  ident now = ident_of(fd);
  assert_true(now.dev == before->dev && now.ino == before->ino);
  assert_int_equal(now.fdflags, before->fdflags);
  assert_int_equal(now.flflags, before->flflags);
}

/* The "fd ..." lines of a child's output, sorted by number as listed
 * (/proc order is ascending; so is the probe). Returns the count. */
static int parse_listing(const char *out, seen *s, int cap) {
  int n = 0;
  const char *p = out;
  while (p != NULL && *p != '\0') {
    if (strncmp(p, "fd ", 3) == 0 && n < cap) {
      if (sscanf(p, "fd %d %llu %llu %d", &s[n].fd, &s[n].dev, &s[n].ino, &s[n].cloexec) == 4)
        n++;
    }
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  return n;
}

/* Argv for `self --child fds OPS...` (ops NULL-terminated). malloc'ed. */
static const char **fds_argv(const char *const *ops) {
  size_t n = 0, i;
  const char **v;
  while (ops != NULL && ops[n] != NULL)
    n++;
  v = (const char **)calloc(n + 4, sizeof(*v));
  assert_non_null(v);
  v[0] = tt_self();
  v[1] = "--child";
  v[2] = "fds";
  for (i = 0; i < n; i++)
    v[3 + i] = ops[i];
  return v;
}

/* Spawn the fds scenario with these extras (stdout a pipe unless opts
 * says otherwise), read its whole output, wait for it. */
static char *run_fds(tether_spawn_options *o, const char *const *ops) {
  const char **v = fds_argv(ops);
  tether_child *c = NULL;
  tether_status e;
  size_t cap = 1 << 17;
  char *out = (char *)malloc(cap);
  assert_non_null(out);
  if (o->stdio[1].mode == TETHER_STDIO_INHERIT)
    o->stdio[1].mode = TETHER_STDIO_PIPE;
  assert_tether_ok(tether_spawn(&c, v, o));
  if (o->stdio[1].mode == TETHER_STDIO_PIPE)
    tt_read_all(tether_child_stdio(c, 1), out, cap);
  else
    out[0] = '\0';
  assert_int_equal(tether_child_wait(c, 30000, &e), 1);
  assert_int_equal(e.kind, TETHER_STATUS_CODE);
  assert_int_equal(e.code, 0);
  tether_child_free(c);
  free(v);
  return out;
}

/* Spawn `<self> --child scen a1 a2` with its stdout on a pipe, read that
 * to its end into out, wait up to ms for its end (*e). */
static void run_read(const char *scen, const char *a1, const char *a2, char *out, size_t cap,
                     int ms, tether_status *e) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c = NULL;
  tt_child_argv(v, scen, a1, a2, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  assert_tether_ok(tether_spawn(&c, v, &o));
  tt_read_all(tether_child_stdio(c, 1), out, cap);
  assert_int_equal(tether_child_wait(c, ms, e), 1);
  tether_child_free(c);
}

/* The child's listing is exactly the targets, each the file of its
 * source, none close-on-exec. */
static void assert_exactly(const char *out, const tether_extra_fd *x, size_t n, const ident *src) {
  seen *s = (seen *)calloc(n + 64, sizeof(*s));
  int got, i;
  size_t k;
  assert_non_null(s);
  got = parse_listing(out, s, (int)n + 64);
  if ((size_t)got != n)
    print_message("child listing (%d, want %d):\n%s\n", got, (int)n, out);
  assert_int_equal(got, (int)n);
  for (k = 0; k < n; k++) {
    int found = 0;
    for (i = 0; i < got; i++)
      if (s[i].fd == x[k].target) {
        found = 1;
        assert_true(s[i].dev == src[k].dev && s[i].ino == src[k].ino);
        assert_int_equal(s[i].cloexec, 0);
      }
    if (!found)
      print_message("target %d missing in:\n%s\n", x[k].target, out);
    assert_true(found);
  }
  free(s);
}

static void pipe_cloexec(int p[2]) {
  assert_int_equal(pipe(p), 0);
  assert_int_equal(fcntl(p[0], F_SETFD, FD_CLOEXEC), 0);
  assert_int_equal(fcntl(p[1], F_SETFD, FD_CLOEXEC), 0);
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                    */
/* ---------------------------------------------------------------------- */

/* Chosen descriptors at chosen numbers, written and read through; a
 * close-on-exec source at its own number loses FD_CLOEXEC in the child;
 * the caller's descriptors are unchanged and still its own. */
static void test_exact_set_and_io(void **state) {
  int a[2], b[2], in[2];
  tether_extra_fd x[3];
  ident src[3], keep[6];
  tether_spawn_options o;
  char line[64], want[64], *out;
  const char *ops[5];
  char w1[16], w2[16], r3[16];
  (void)state;
  pipe_cloexec(a);
  pipe_cloexec(b);
  pipe_cloexec(in);
  assert_int_equal(write(in[1], "hello child\n", 12), 12);
  x[0].handle = a[1];
  x[0].target = 3;
  x[1].handle = b[1];
  x[1].target = b[1]; /* at its own number */
  x[2].handle = in[0];
  x[2].target = 40;
  src[0] = ident_of(a[1]);
  src[1] = ident_of(b[1]);
  src[2] = ident_of(in[0]);
  keep[0] = ident_of(a[0]);
  keep[1] = ident_of(a[1]);
  keep[2] = ident_of(b[0]);
  keep[3] = ident_of(b[1]);
  keep[4] = ident_of(in[0]);
  keep[5] = ident_of(in[1]);
  snprintf(w1, sizeof(w1), "w:%d", 3);
  snprintf(w2, sizeof(w2), "w:%d", b[1]);
  snprintf(r3, sizeof(r3), "r:%d", 40);
  ops[0] = w1;
  ops[1] = w2;
  ops[2] = r3;
  ops[3] = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.extra = x;
  o.nextra = 3;
  out = run_fds(&o, ops);
  assert_non_null(strstr(out, "read 40 hello child\n"));
  assert_exactly(out, x, 3, src);
  free(out);
  /* What the child wrote arrived. */
  tt_read_line(a[0], line, sizeof(line));
  assert_string_equal(line, "3");
  tt_read_line(b[0], line, sizeof(line));
  snprintf(want, sizeof(want), "%d", b[1]);
  assert_string_equal(line, want);
  /* The caller's descriptors: open, same files, same flags. */
  assert_same_ident(a[0], &keep[0]);
  assert_same_ident(a[1], &keep[1]);
  assert_same_ident(b[0], &keep[2]);
  assert_same_ident(b[1], &keep[3]);
  assert_same_ident(in[0], &keep[4]);
  assert_same_ident(in[1], &keep[5]);
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  close(in[0]);
  close(in[1]);
}

/* One request: spawn the fds scenario writing to every target, check the
 * exact set (tethered only: a detached child also inherits what this
 * process has open without FD_CLOEXEC), and that each pipe received its
 * target's number. readers[k]: the read end of entry k's pipe. */
static void check_request(const tether_extra_fd *x, int n, const int *readers, int detached) {
  tether_spawn_options o;
  ident src[8];
  char ops_buf[8][16], *out, line[32], want[32];
  const char *ops[9];
  int k;
  for (k = 0; k < n; k++) {
    src[k] = ident_of(x[k].handle);
    snprintf(ops_buf[k], sizeof(ops_buf[k]), "w:%d", x[k].target);
    ops[k] = ops_buf[k];
  }
  ops[n] = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  if (detached)
    o.flags = TETHER_SPAWN_DETACHED;
  o.extra = x;
  o.nextra = (size_t)n;
  out = run_fds(&o, ops);
  if (!detached)
    assert_exactly(out, x, (size_t)n, src);
  free(out);
  for (k = 0; k < n; k++) {
    tt_read_line(readers[k], line, sizeof(line));
    snprintf(want, sizeof(want), "%d", x[k].target);
    assert_string_equal(line, want);
  }
}

/* Sources that are each other's targets, tethered and detached: targets
 * 3 and 4 swapped between two spawns; two sources swapping numbers; a
 * cycle of three. */
static void test_swaps(void **state) {
  int p[3][2], i, detached, A, B, C, r[3];
  tether_extra_fd x[3];
  (void)state;
  for (i = 0; i < 3; i++)
    pipe_cloexec(p[i]);
  A = p[0][1];
  B = p[1][1];
  C = p[2][1];
  for (detached = 0; detached < 2; detached++) {
    /* A -> 3, B -> 4; then A -> 4, B -> 3. */
    x[0].handle = A;
    x[0].target = 3;
    x[1].handle = B;
    x[1].target = 4;
    r[0] = p[0][0];
    r[1] = p[1][0];
    check_request(x, 2, r, detached);
    x[0].target = 4;
    x[1].target = 3;
    check_request(x, 2, r, detached);
    /* A -> B's number, B -> A's number. */
    x[0].target = B;
    x[1].target = A;
    check_request(x, 2, r, detached);
    /* A -> B's, B -> C's, C -> A's. */
    x[0].target = B;
    x[1].target = C;
    x[2].handle = C;
    x[2].target = A;
    r[2] = p[2][0];
    check_request(x, 3, r, detached);
  }
  for (i = 0; i < 3; i++) {
    close(p[i][0]);
    close(p[i][1]);
  }
}

/* The literal swap 3 -> 4, 4 -> 3 needs sources at 3 and 4, which this
 * process's own descriptors may hold: a fresh process (this executable,
 * started with stdio only) puts two pipes there and spawns with
 * {3 -> 4, 4 -> 3}. argv[0]: "detached" or "tethered". Prints "swap34 ok"
 * or what went wrong. */
static int child_swap34(int argc, char **argv) {
  int p[2], q[2], pr, qr, pw, qw;
  tether_extra_fd x[2];
  tether_spawn_options o;
  tether_child *c;
  tether_status e;
  char out[4096], line[32];
  const char *v[] = {NULL, "--child", "fds", "w:3", "w:4", NULL};
  seen s[16];
  struct stat st3, st4;
  int n, k, ok34 = 0;
  if (fcntl(3, F_GETFD) != -1 || fcntl(4, F_GETFD) != -1) {
    printf("3 or 4 already open\n");
    return 1;
  }
  if (pipe(p) != 0 || pipe(q) != 0)
    return 2;
  /* Park everything at 10 and above, then the write ends at 3 and 4. */
  pr = fcntl(p[0], F_DUPFD_CLOEXEC, 10);
  pw = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
  qr = fcntl(q[0], F_DUPFD_CLOEXEC, 10);
  qw = fcntl(q[1], F_DUPFD_CLOEXEC, 10);
  close(p[0]);
  close(p[1]);
  close(q[0]);
  close(q[1]);
  if (dup2(pw, 3) != 3 || dup2(qw, 4) != 4 || fcntl(3, F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(4, F_SETFD, FD_CLOEXEC) != 0)
    return 3;
  close(pw);
  close(qw);
  if (fstat(3, &st3) != 0 || fstat(4, &st4) != 0)
    return 4;
  v[0] = tt_self();
  x[0].handle = 3;
  x[0].target = 4;
  x[1].handle = 4;
  x[1].target = 3;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  if (argc > 0 && strcmp(argv[0], "detached") == 0)
    o.flags = TETHER_SPAWN_DETACHED;
  o.stdio[1].mode = TETHER_STDIO_PIPE;
  o.extra = x;
  o.nextra = 2;
  if (tether_spawn(&c, v, &o) != 0) {
    printf("spawn failed\n");
    return 5;
  }
  tt_read_all(tether_child_stdio(c, 1), out, sizeof(out));
  if (tether_child_wait(c, 30000, &e) != 1 || e.code != 0)
    return 6;
  tether_child_free(c);
  /* The child's 4 is our 3 (pipe p), its 3 is our 4 (pipe q). */
  n = parse_listing(out, s, 16);
  for (k = 0; k < n; k++) {
    if (s[k].fd == 4 && s[k].ino == (unsigned long long)st3.st_ino && !s[k].cloexec)
      ok34 |= 1;
    if (s[k].fd == 3 && s[k].ino == (unsigned long long)st4.st_ino && !s[k].cloexec)
      ok34 |= 2;
  }
  if (ok34 != 3 || (o.flags == 0 && n != 2)) {
    printf("listing:\n%s", out);
    return 7;
  }
  tt_read_line(pr, line, sizeof(line));
  if (strcmp(line, "4") != 0) {
    printf("pipe at 3 got '%s'\n", line);
    return 8;
  }
  tt_read_line(qr, line, sizeof(line));
  if (strcmp(line, "3") != 0) {
    printf("pipe at 4 got '%s'\n", line);
    return 9;
  }
  printf("swap34 ok\n");
  return 0;
}

static void test_swap_3_4(void **state) {
  int detached;
  (void)state;
  for (detached = 0; detached < 2; detached++) {
    const char *how = detached ? "detached" : "tethered";
    tether_status e;
    char out[8192];
    run_read("swap34", how, NULL, out, sizeof(out), 60000, &e);
    if (strcmp(out, "swap34 ok\n") != 0)
      print_message("swap34 (%s, exit %d):\n%s\n", how, e.code, out);
    assert_string_equal(out, "swap34 ok\n");
    assert_int_equal(e.code, 0);
  }
}

/* 300 descriptors: more than one SCM_RIGHTS message (at most 253 on
 * Linux), targets 3..302 overlapping the sources' own numbers. */
static void test_three_hundred(void **state) {
  enum { N = 300 };
  int(*p)[2];
  tether_extra_fd *x;
  ident *src;
  const char **ops;
  char(*ops_buf)[16];
  struct rlimit rl;
  tether_spawn_options o;
  char *out, line[32], want[32];
  int k;
  long before;
  (void)state;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * N + 400)
    tt_skip("RLIMIT_NOFILE below 1000");
  p = (int(*)[2])calloc(N, sizeof(*p));
  x = (tether_extra_fd *)calloc(N, sizeof(*x));
  src = (ident *)calloc(N, sizeof(*src));
  ops = (const char **)calloc(N + 1, sizeof(*ops));
  ops_buf = (char(*)[16])calloc(N, sizeof(*ops_buf));
  assert_true(p != NULL && x != NULL && src != NULL && ops != NULL && ops_buf != NULL);
  before = tt_open_fd_count();
  for (k = 0; k < N; k++) {
    pipe_cloexec(p[k]);
    /* Reverse order: the first source goes to the highest target. */
    x[k].handle = p[k][1];
    x[k].target = 3 + (N - 1 - k);
    src[k] = ident_of(p[k][1]);
    snprintf(ops_buf[k], sizeof(ops_buf[k]), "w:%d", x[k].target);
    ops[k] = ops_buf[k];
  }
  ops[N] = NULL;
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.extra = x;
  o.nextra = N;
  out = run_fds(&o, ops);
  assert_exactly(out, x, N, src);
  free(out);
  for (k = 0; k < N; k++) {
    tt_read_line(p[k][0], line, sizeof(line));
    snprintf(want, sizeof(want), "%d", x[k].target);
    assert_string_equal(line, want);
  }
  for (k = 0; k < N; k++) {
    close(p[k][0]);
    close(p[k][1]);
  }
  assert_int_equal(tt_open_fd_count(), before); /* nothing kept */
  free(p);
  free(x);
  free(src);
  free(ops);
  free(ops_buf);
}

/* A source that is also the child's stdout: the same pipe at 1 and at 9. */
static void test_source_is_stdout(void **state) {
  int p[2];
  tether_extra_fd x[1];
  ident src[1];
  tether_spawn_options o;
  const char *ops[] = {"w:9", NULL};
  char out[4096];
  seen s[8];
  int n, i, at9 = -1;
  (void)state;
  pipe_cloexec(p);
  x[0].handle = p[1];
  x[0].target = 9;
  src[0] = ident_of(p[1]);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.stdio[1].mode = TETHER_STDIO_HANDLE;
  o.stdio[1].handle = p[1];
  o.extra = x;
  o.nextra = 1;
  {
    const char **v = fds_argv(ops);
    tether_child *c;
    tether_status e;
    assert_tether_ok(tether_spawn(&c, v, &o));
    assert_int_equal(tether_child_wait(c, 30000, &e), 1);
    assert_int_equal(e.code, 0);
    tether_child_free(c);
    free(v);
  }
  close(p[1]);
  tt_read_all(p[0], out, sizeof(out));
  close(p[0]);
  /* "9\n" written at 9, then the listing written at 1: one pipe. */
  assert_true(strncmp(out, "9\n", 2) == 0);
  n = parse_listing(out, s, 8);
  assert_int_equal(n, 1);
  for (i = 0; i < n; i++)
    if (s[i].fd == 9)
      at9 = i;
  assert_true(at9 >= 0);
  assert_true(s[at9].dev == src[0].dev && s[at9].ino == src[0].ino);
  assert_int_equal(s[at9].cloexec, 0);
}

/* Every bad input: TETHER_EINVAL, nothing started, nothing opened or
 * closed, the caller's descriptors unchanged; tethered and detached. */
static void test_bad_input(void **state) {
  int p[2], closed_fd, detached;
  ident keep[2];
  struct rlimit rl;
  const char *v[] = {NULL, "--child", "fds", NULL};
  (void)state;
  v[0] = tt_self();
  pipe_cloexec(p);
  /* A number that is surely closed. */
  closed_fd = dup(p[0]);
  assert_true(closed_fd >= 0);
  close(closed_fd);
  keep[0] = ident_of(p[0]);
  keep[1] = ident_of(p[1]);
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  /* Start the keeper first, so that the count below is steady. */
  {
    tether_child *c;
    const char *t[] = {"true", NULL};
    assert_tether_ok(tether_spawn(&c, t, NULL));
    assert_int_equal(tether_child_wait(c, 10000, NULL), 1);
    tether_child_free(c);
  }
  for (detached = 0; detached < 2; detached++) {
    long before = tt_open_fd_count();
    tether_spawn_options o;
    tether_extra_fd x[2];
    tether_extra_fd *many;
    tether_child *c = (tether_child *)&o;
    int k;
    tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
    if (detached)
      o.flags = TETHER_SPAWN_DETACHED;
    /* nextra without a list */
    o.nextra = 1;
    assert_tether_err(tether_spawn(&c, v, &o), TETHER_EINVAL);
    assert_null(c);
    /* Each bad second entry, after a good first one. */
    for (k = 0; k < 7; k++) {
      x[0].handle = p[1];
      x[0].target = 5;
      x[1].handle = p[0];
      x[1].target = 6;
      switch (k) {
      case 0:
        x[1].target = 2;
        break; /* stdio */
      case 1:
        x[1].target = 0;
        break;
      case 2:
        x[1].target = -1;
        break;
      case 3:
        x[1].target = 5;
        break; /* given twice */
      case 4:
        x[1].handle = -1;
        break; /* not a descriptor */
      case 5:
        x[1].handle = closed_fd;
        break; /* closed */
      case 6:  /* the child's limit */
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 0x7fffffff)
          continue;
        x[1].target = (int)rl.rlim_cur;
        break;
      }
      o.extra = x;
      o.nextra = 2;
      c = (tether_child *)&o;
      assert_tether_err(tether_spawn(&c, v, &o), TETHER_EINVAL);
      assert_null(c);
    }
    /* More than TETHER_SPAWN_MAX_EXTRA. */
    many = (tether_extra_fd *)calloc(TETHER_SPAWN_MAX_EXTRA + 1, sizeof(*many));
    assert_non_null(many);
    for (k = 0; k <= TETHER_SPAWN_MAX_EXTRA; k++) {
      many[k].handle = p[1];
      many[k].target = 3 + k;
    }
    o.extra = many;
    o.nextra = TETHER_SPAWN_MAX_EXTRA + 1;
    assert_tether_err(tether_spawn(&c, v, &o), TETHER_EINVAL);
    free(many);
    /* Nothing opened, nothing closed, nothing changed. */
    assert_int_equal(tt_open_fd_count(), before);
    assert_same_ident(p[0], &keep[0]);
    assert_same_ident(p[1], &keep[1]);
  }
  close(p[0]);
  close(p[1]);
}

/* The same request through posix_spawn_file_actions_adddup2 (everything
 * else this process has open and inheritable closed by addclose): the
 * child sees the same set of descriptors, the same files, the same
 * close-on-exec state. Sources sit below their targets, so that adddup2
 * in request order is a correct reference. */
static void test_differential_posix_spawn(void **state) {
  int a[2], b[2], f, g, top = 0, k, fd;
  tether_extra_fd x[5];
  ident src[5];
  tether_spawn_options o;
  char *mine, *ref;
  const char **v;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  pid_t pid;
  int out[2], st = 0;
  long max;
  seen s1[64], s2[64];
  int n1, n2;
  (void)state;
  pipe_cloexec(a);
  pipe_cloexec(b);
  f = open("/dev/null", O_RDWR | O_CLOEXEC);
  assert_true(f >= 0);
  g = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  assert_true(g >= 0);
  memset(s1, 0, sizeof(s1));
  memset(s2, 0, sizeof(s2));
  x[0].handle = a[1];
  x[1].handle = b[0];
  x[2].handle = f;
  x[3].handle = a[1]; /* the same source twice */
  x[4].handle = g;
  for (k = 0; k < 5; k++)
    if (x[k].handle > top)
      top = x[k].handle;
  x[0].target = top + 3;
  x[1].target = top + 1;
  x[2].target = top + 7;
  x[3].target = top + 2;
  x[4].target = g; /* at its own number: it loses FD_CLOEXEC in both */
  for (k = 0; k < 5; k++)
    src[k] = ident_of(x[k].handle);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.extra = x;
  o.nextra = 5;
  mine = run_fds(&o, NULL);
  assert_exactly(mine, x, 5, src);

  /* The reference. */
  {
    const char *none_ops[] = {NULL};
    v = fds_argv(none_ops);
  }
  pipe_cloexec(out);
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawnattr_init(&attr), 0);
  sigemptyset(&none);
  assert_int_equal(posix_spawnattr_setsigmask(&attr, &none), 0);
  assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out[1], 1), 0);
  for (k = 0; k < 5; k++)
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, x[k].handle, x[k].target), 0);
  max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536)
    max = 65536;
  for (fd = 3; fd < max; fd++) {
    int fl = fcntl(fd, F_GETFD), is_target = 0;
    for (k = 0; k < 5; k++)
      is_target |= x[k].target == fd;
    if (fl != -1 && !(fl & FD_CLOEXEC) && !is_target)
      assert_int_equal(posix_spawn_file_actions_addclose(&fa, fd), 0);
  }
  assert_int_equal(posix_spawn(&pid, v[0], &fa, &attr, (char *const *)v, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  ref = (char *)malloc(1 << 16);
  assert_non_null(ref);
  tt_read_all(out[0], ref, 1 << 16);
  close(out[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  n1 = parse_listing(mine, s1, 64);
  n2 = parse_listing(ref, s2, 64);
  if (n1 != n2 || memcmp(s1, s2, (size_t)n1 * sizeof(s1[0])) != 0)
    print_message("tether:\n%s\nposix_spawn:\n%s\n", mine, ref);
  assert_int_equal(n1, n2);
  for (k = 0; k < n1; k++) {
    assert_int_equal(s1[k].fd, s2[k].fd);
    assert_true(s1[k].dev == s2[k].dev && s1[k].ino == s2[k].ino);
    assert_int_equal(s1[k].cloexec, s2[k].cloexec);
  }
  free(v);
  free(mine);
  free(ref);
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  close(f);
  close(g);
}

/* ---- a detached child of a program whose stdio is closed ---- */

/* Print "std N open|closed" for descriptors 0..2. */
static int child_std(int argc, char **argv) {
  int fd;
  char b[32];
  (void)argc;
  (void)argv;
  for (fd = 0; fd < 3; fd++) {
    int n = snprintf(b, sizeof(b), "std %d %s\n", fd, fcntl(fd, F_GETFD) < 0 ? "closed" : "open");
    if (fcntl(1, F_GETFD) >= 0 && write(1, b, (size_t)n) != n)
      return 2;
  }
  return 0;
}

/* Close the descriptors named by the arguments (0 and/or 2), then spawn
 * `std` detached with every stdio stream inherited; exit with its code. */
static int child_closed_std(int argc, char **argv) {
  const char *v[7];
  tether_spawn_options o;
  tether_child *c = NULL;
  tether_status e;
  int i, r;
  for (i = 0; i < argc; i++)
    (void)close(atoi(argv[i]));
  tt_child_argv(v, "std", NULL, NULL, NULL);
  tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION);
  o.flags = TETHER_SPAWN_DETACHED;
  r = tether_spawn(&c, v, &o);
  if (r != 0) {
    printf("spawn failed: %s\n", tether_strerror(r));
    fflush(stdout);
    return 1;
  }
  r = tether_child_wait(c, 10000, &e); /* watchdog */
  tether_child_free(c);
  return r == 1 && e.kind == TETHER_STATUS_CODE ? e.code : 3;
}

/* xnu's posix_spawn fails a close action on a closed descriptor with EBADF
 * (glibc ignores it): a detached spawn from a program whose stdin or
 * stderr is closed must still start the child, with them closed. */
static void test_detached_with_closed_stdio(void **state) {
  static const char *const cases[][3] = {{"0", NULL, NULL}, {"0", "2", NULL}};
  size_t k;
  (void)state;
  for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    tether_status e;
    char out[512];
    run_read("closed-std", cases[k][0], cases[k][1], out, sizeof(out), 20000, &e);
    if (e.kind != TETHER_STATUS_CODE || e.code != 0)
      fail_msg("case %zu: exit %d/%d, output: %s", k, e.kind, e.code, out);
    assert_non_null(strstr(out, "std 0 closed\n"));
    assert_non_null(strstr(out, "std 1 open\n"));
    assert_non_null(strstr(out, cases[k][1] != NULL ? "std 2 closed\n" : "std 2 open\n"));
  }
}

int main(int argc, char **argv) {
  static const tt_scenario scenarios[] = {
      {"fds", child_fds}, {"swap34", child_swap34},
      {"std", child_std}, {"closed-std", child_closed_std},
      {NULL, NULL},
  };
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_set_and_io),
      cmocka_unit_test(test_swaps),
      cmocka_unit_test(test_swap_3_4),
      cmocka_unit_test(test_three_hundred),
      cmocka_unit_test(test_source_is_stdout),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_differential_posix_spawn),
      cmocka_unit_test(test_detached_with_closed_stdio),
  };
  return tt_main(argc, argv, scenarios, "spawn_fds", tests, TT_COUNT(tests));
}
