/* SPDX-License-Identifier: MIT */
/*
 * The error lists in tether.h against what the functions return. The
 * installed header is read as text: for each function that returns an int,
 * the TETHER_E* names its comment mentions (with those of a function it
 * refers to "as for"). Then each function is driven into its errors (bad
 * arguments, closed and freed objects, a dead child, a missing program, an
 * inherited object after fork()...), and every error returned must be one
 * its comment lists; where a scenario's error is known, it must be that
 * one. Every int-returning public function must be driven at least once.
 * All mismatches are reported together at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "tether.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#ifndef TT_TETHER_H
#error "TT_TETHER_H: the path of include/tether.h (tests/CMakeLists.txt)"
#endif

typedef struct fn_doc {
  char name[64];
  char codes[400];  /* " EINVAL ECLOSED ..." */
  char refs[4][64]; /* "as for tether_x()", "See tether_x()"...: x's too */
  int nrefs;
  int resource; /* "or an error": resource errors may come too */
  int driven;
} fn_doc;

static fn_doc docs[96];
static int ndocs;
static int nproblems;

/* One mismatch: said at once (one line each), counted for the verdict. */
TT_PRINTF(1, 2)
static void problem(const char *fmt, ...) {
  char line[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  print_message("MISMATCH %s\n", line);
  nproblems++;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long len;
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char *)malloc((size_t)len + 1);
  if (buf != NULL && fread(buf, 1, (size_t)len, f) == (size_t)len)
    buf[len] = '\0';
  else {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

/* 1 when TETHER_<code> is in the error list (TETHER_ERRNO_MAP). */
static int is_error_code(const char *code) {
  int e;
  for (e = -1; e > -100; e--)
    if (strcmp(tether_err_name(e), "TETHER_E_UNKNOWN_CODE") != 0 &&
        strcmp(tether_err_name(e) + strlen("TETHER_"), code) == 0)
      return 1;
  return 0;
}

static int is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The comment that ends right before `decl` (only blanks between). */
static void doc_of(const char *text, const char *decl, const char **from, const char **to) {
  const char *p = decl, *end, *start;
  *from = *to = NULL;
  while (p > text && (p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\r' || p[-1] == '\t'))
    p--;
  if (p - text < 2 || p[-1] != '/' || p[-2] != '*')
    return;
  end = p - 2;
  for (start = end; start > text + 2; start--)
    if (start[0] == '*' && start[-1] == '*' && start[-2] == '/')
      break;
  *from = start - 2; /* at the slash that opens the comment */
  *to = end;
}

static void parse_header(const char *text) {
  const char *p = text;
  while ((p = strstr(p, "\nTETHER_API ")) != NULL) {
    const char *decl = p + 1, *q = decl + strlen("TETHER_API "), *name, *from, *to, *c;
    fn_doc *d;
    size_t n;
    p = q;
    if (strncmp(q, "int ", 4) == 0)
      q += 4;
    else if (strncmp(q, "int64_t tether_child_pid(", 25) == 0)
      continue; /* a pid, -1 for NULL: not an error code */
    else if (strncmp(q, "int64_t ", 8) == 0)
      q += 8;
    else
      continue;
    name = q;
    while (is_ident(*q))
      q++;
    if (*q != '(' || ndocs == (int)(sizeof(docs) / sizeof(docs[0])))
      continue;
    d = &docs[ndocs++];
    n = (size_t)(q - name) < sizeof(d->name) ? (size_t)(q - name) : sizeof(d->name) - 1;
    memcpy(d->name, name, n);
    strcpy(d->codes, " ");
    doc_of(text, decl, &from, &to);
    if (from == NULL) {
      problem("%s: no comment right before its declaration", d->name);
      continue;
    }
    for (c = from; c < to; c++) {
      if (strncmp(c, "TETHER_E", 8) == 0 && (c == from || !is_ident(c[-1]))) {
        const char *e = c + 7;
        char code[32];
        size_t k = 0;
        while (is_ident(e[k]) && k + 1 < sizeof(code)) {
          code[k] = e[k];
          k++;
        }
        code[k] = '\0';
        if (is_error_code(code) && strlen(d->codes) + k + 2 < sizeof(d->codes) &&
            strstr(d->codes, code) == NULL) {
          strcat(d->codes, code);
          strcat(d->codes, " ");
        }
      }
      if (strncmp(c, "or an error", 11) == 0)
        d->resource = 1;
      {
        /* Another function's errors named by reference: "as for
         * tether_x()", "as tether_x()", "See tether_x()", "the error of
         * tether_x()", or a comment that starts "tether_x() with...". */
        static const char *const by[] = {"as for ", "as ", "See ", "error of ", "/**\n * "};
        size_t b;
        for (b = 0; b < sizeof(by) / sizeof(by[0]); b++) {
          size_t bl = strlen(by[b]);
          if (strncmp(c, by[b], bl) == 0 && strncmp(c + bl, "tether_", 7) == 0 && d->nrefs < 4) {
            const char *e = c + bl;
            size_t k = 0;
            char *ref = d->refs[d->nrefs++];
            while (is_ident(e[k]) && k + 1 < sizeof(d->refs[0])) {
              ref[k] = e[k];
              k++;
            }
            ref[k] = '\0';
          }
        }
      }
    }
  }
}

static fn_doc *find_doc(const char *name) {
  int i;
  for (i = 0; i < ndocs; i++)
    if (strcmp(docs[i].name, name) == 0)
      return &docs[i];
  return NULL;
}

static int lists(const fn_doc *d, const char *code, int depth) {
  char word[40];
  const fn_doc *other;
  int i;
  snprintf(word, sizeof(word), " %s ", code);
  if (strstr(d->codes, word) != NULL)
    return 1;
  if (d->resource &&
      (strcmp(code, "ENOMEM") == 0 || strcmp(code, "EUNKNOWN") == 0 ||
       strcmp(code, "EMFILE") == 0 || strcmp(code, "ENFILE") == 0 || strcmp(code, "EAGAIN") == 0))
    return 1;
  for (i = 0; i < d->nrefs && depth < 3; i++)
    if ((other = find_doc(d->refs[i])) != NULL && other != d && lists(other, code, depth + 1))
      return 1;
  return 0;
}

/* r from fn: an error must be listed; want (0: any) must be what came. */
static void judge(const char *fn, int64_t r, int64_t want, const char *call, int line) {
  fn_doc *d = find_doc(fn);
  const char *name;
  if (d == NULL) {
    problem("line %d: %s is not a documented int-returning function of tether.h", line, fn);
    return;
  }
  d->driven = 1;
  if (want != 0 && r != want) {
    problem("line %d: %s gave %s (%lld), the scenario expects %s: %s", line, fn,
            tether_err_name((int)r), (long long)r, tether_err_name((int)want), call);
    return;
  }
  if (r >= 0)
    return;
  name = tether_err_name((int)r);
  if (strcmp(name, "TETHER_E_UNKNOWN_CODE") == 0) {
    problem("line %d: %s returned %lld, not a tether error: %s", line, fn, (long long)r, call);
    return;
  }
  if (!lists(d, name + strlen("TETHER_"), 0))
    problem("line %d: %s returned %s, which its comment in tether.h does not list "
            "(it lists:%s): %s",
            line, fn, name, d->codes, call);
}

/* CHECK(fn, call): any result, errors must be documented. EXPECT: also
 * exactly `want`. */
#define CHECK(fn, call) judge(#fn, (int64_t)(call), 0, #call, __LINE__)
#define EXPECT(fn, want, call) judge(#fn, (int64_t)(call), (int64_t)(want), #call, __LINE__)

#ifdef _WIN32
static const char *const quick_argv[] = {"cmd.exe", "/c", "exit 0", NULL};
static const char *const long_argv[] = {"cmd.exe", "/c", "ping -n 30 127.0.0.1 >NUL", NULL};
#else
static const char *const quick_argv[] = {"/bin/sh", "-c", "exit 0", NULL};
static const char *const long_argv[] = {"/bin/sh", "-c", "sleep 30", NULL};
#endif

static int64_t self_pid(void) {
#ifdef _WIN32
  return (int64_t)GetCurrentProcessId();
#else
  return (int64_t)getpid();
#endif
}

static void drive_misc(void) {
  tether_status st;
  EXPECT(tether_status_decode, TETHER_EINVAL, tether_status_decode(0, NULL));
#ifndef _WIN32
  EXPECT(tether_status_decode, TETHER_EINVAL, tether_status_decode(0x137f /* stopped */, &st));
#endif
  EXPECT(tether_status_decode, 0, tether_status_decode(0, &st));
  EXPECT(tether_kind_from_name, TETHER_EINVAL, tether_kind_from_name(NULL));
  EXPECT(tether_kind_from_name, TETHER_EINVAL, tether_kind_from_name("no-such-kind"));
  EXPECT(tether_kind_supported, TETHER_EINVAL, tether_kind_supported(999));
  EXPECT(tether_kind_supported, TETHER_EINVAL, tether_kind_supported(-1));
#ifdef _WIN32
  EXPECT(tether_signal_ignored_at_start, TETHER_ENOTSUP, tether_signal_ignored_at_start(2));
#else
  EXPECT(tether_signal_ignored_at_start, TETHER_EINVAL, tether_signal_ignored_at_start(0));
  EXPECT(tether_signal_ignored_at_start, TETHER_EINVAL, tether_signal_ignored_at_start(100000));
#endif
  /* The calls that end the process, with what they refuse (they return). */
#ifdef _WIN32
  EXPECT(tether_exit_like_signal, TETHER_ENOTSUP, tether_exit_like_signal(2));
#else
  EXPECT(tether_exit_like_signal, TETHER_EINVAL, tether_exit_like_signal(0));
  EXPECT(tether_exit_like_signal, TETHER_EINVAL, tether_exit_like_signal(-5));
#endif
  EXPECT(tether_exit_like_kind, TETHER_EINVAL, tether_exit_like_kind(999));
  EXPECT(tether_exit_like_kind, TETHER_EINVAL, tether_exit_like_kind(TETHER_EVENT_CHILD));
  EXPECT(tether_exit_with, TETHER_EINVAL, tether_exit_with(NULL));
  EXPECT(tether_send, TETHER_EINVAL, tether_send(0, TETHER_EVENT_TERMINATE, 0));
  EXPECT(tether_send, TETHER_EINVAL, tether_send(-4, TETHER_EVENT_TERMINATE, 0));
  /* Refused before anything is sent; aimed at this process, so that a
   * check that let them through shows as this test dying. */
  EXPECT(tether_send, TETHER_EINVAL, tether_send(self_pid(), 999, 0));
  EXPECT(tether_send, TETHER_EINVAL, tether_send(self_pid(), TETHER_EVENT_TERMINATE, 0x100));
  EXPECT(tether_send, TETHER_EINVAL, tether_send((int64_t)1 << 40, TETHER_EVENT_TERMINATE, 0));
}

static void drive_channel(void) {
  tether_channel_options o = TETHER_CHANNEL_OPTIONS_INIT;
  tether_channel *ch = NULL;
  tether_event ev;
  EXPECT(tether_channel_options_init, TETHER_EINVAL,
         tether_channel_options_init(NULL, TETHER_CHANNEL_OPTIONS_VERSION));
  EXPECT(tether_channel_options_init, TETHER_EINVAL, tether_channel_options_init(&o, 0));
  EXPECT(tether_channel_options_init, TETHER_EINVAL, tether_channel_options_init(&o, 9999));
  EXPECT(tether_channel_options_init, 0,
         tether_channel_options_init(&o, TETHER_CHANNEL_OPTIONS_VERSION));
  EXPECT(tether_channel_new, TETHER_EINVAL, tether_channel_new(NULL, NULL));
  o.version = 0;
  EXPECT(tether_channel_new, TETHER_EINVAL, tether_channel_new(&ch, &o));
  EXPECT(tether_channel_new, 0, tether_channel_new(&ch, NULL));
  assert_non_null(ch);
  EXPECT(tether_channel_watch, TETHER_EINVAL, tether_channel_watch(NULL, 1, 0));
  EXPECT(tether_channel_watch, TETHER_EINVAL, tether_channel_watch(ch, 999, 0));
  EXPECT(tether_channel_watch, TETHER_EINVAL, tether_channel_watch(ch, TETHER_EVENT_SIGNAL, 0));
  EXPECT(tether_channel_watch, TETHER_EINVAL,
         tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0x4000));
#ifdef _WIN32
  EXPECT(tether_channel_watch, TETHER_ENOTSUP, tether_channel_watch(ch, TETHER_EVENT_USER1, 0));
  CHECK(tether_channel_watch_signal, tether_channel_watch_signal(ch, 2, 0));
  CHECK(tether_channel_unwatch_signal, tether_channel_unwatch_signal(ch, 2));
#else
  EXPECT(tether_channel_watch, TETHER_ENOTSUP, tether_channel_watch(ch, TETHER_EVENT_LOGOFF, 0));
  EXPECT(tether_channel_watch_signal, TETHER_EFORBIDDEN,
         tether_channel_watch_signal(ch, SIGKILL, 0));
  EXPECT(tether_channel_watch_signal, TETHER_EFORBIDDEN,
         tether_channel_watch_signal(ch, SIGSEGV, 0));
  EXPECT(tether_channel_watch_signal, TETHER_EINVAL, tether_channel_watch_signal(ch, 0, 0));
  EXPECT(tether_channel_watch_signal, TETHER_EINVAL, tether_channel_watch_signal(ch, 100000, 0));
  EXPECT(tether_channel_watch_signal, TETHER_EINVAL, tether_channel_watch_signal(NULL, SIGUSR1, 0));
  EXPECT(tether_channel_unwatch_signal, TETHER_EINVAL, tether_channel_unwatch_signal(ch, 0));
  EXPECT(tether_channel_unwatch_signal, TETHER_EINVAL,
         tether_channel_unwatch_signal(NULL, SIGUSR1));
#endif
  EXPECT(tether_channel_unwatch, TETHER_EINVAL, tether_channel_unwatch(NULL, 1));
  EXPECT(tether_channel_unwatch, TETHER_EINVAL, tether_channel_unwatch(ch, 999));
  EXPECT(tether_channel_wait, TETHER_EINVAL, tether_channel_wait(NULL, &ev, 0));
  EXPECT(tether_channel_wait, TETHER_EINVAL, tether_channel_wait(ch, NULL, 0));
  EXPECT(tether_channel_wait, 0, tether_channel_wait(ch, &ev, 0));
  EXPECT(tether_channel_poll, TETHER_EINVAL, tether_channel_poll(NULL, &ev));
  EXPECT(tether_channel_poll, TETHER_EINVAL, tether_channel_poll(ch, NULL));
  EXPECT(tether_channel_ack, TETHER_EINVAL, tether_channel_ack(NULL, &ev));
  EXPECT(tether_channel_ack, TETHER_EINVAL, tether_channel_ack(ch, NULL));
  EXPECT(tether_channel_close, TETHER_EINVAL, tether_channel_close(NULL));
  EXPECT(tether_channel_close, 0, tether_channel_close(ch));
  /* Closed: every call says so. */
  EXPECT(tether_channel_close, TETHER_ECLOSED, tether_channel_close(ch));
  EXPECT(tether_channel_watch, TETHER_ECLOSED, tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0));
#ifndef _WIN32
  EXPECT(tether_channel_watch_signal, TETHER_ECLOSED, tether_channel_watch_signal(ch, SIGUSR1, 0));
  EXPECT(tether_channel_unwatch_signal, TETHER_ECLOSED, tether_channel_unwatch_signal(ch, SIGUSR1));
#endif
  EXPECT(tether_channel_unwatch, TETHER_ECLOSED,
         tether_channel_unwatch(ch, TETHER_EVENT_TERMINATE));
  EXPECT(tether_channel_wait, TETHER_ECLOSED, tether_channel_wait(ch, &ev, 0));
  EXPECT(tether_channel_poll, TETHER_ECLOSED, tether_channel_poll(ch, &ev));
  CHECK(tether_channel_ack, tether_channel_ack(ch, &ev));
  tether_channel_free(ch);
}

#ifndef _WIN32
/* A file that is there but is not a program. */
static void make_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}
#endif

static void drive_spawn(void) {
  tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;
  tether_child *c = NULL;
  const char *const empty[] = {NULL};
  const char *const missing[] = {"tether-no-such-program-4711", NULL};
  EXPECT(tether_spawn_options_init, TETHER_EINVAL,
         tether_spawn_options_init(NULL, TETHER_SPAWN_OPTIONS_VERSION));
  EXPECT(tether_spawn_options_init, TETHER_EINVAL, tether_spawn_options_init(&o, 0));
  EXPECT(tether_spawn_options_init, TETHER_EINVAL, tether_spawn_options_init(&o, 9999));
  EXPECT(tether_spawn_options_init, 0, tether_spawn_options_init(&o, TETHER_SPAWN_OPTIONS_VERSION));
  EXPECT(tether_spawn, TETHER_EINVAL, tether_spawn(NULL, quick_argv, NULL));
  EXPECT(tether_spawn, TETHER_EINVAL, tether_spawn(&c, NULL, NULL));
  EXPECT(tether_spawn, TETHER_EINVAL, tether_spawn(&c, empty, NULL));
  o.version = 0;
  EXPECT(tether_spawn, TETHER_EINVAL, tether_spawn(&c, quick_argv, &o));
  o.version = TETHER_SPAWN_OPTIONS_VERSION;
  o.flags = 0x40000000u;
  EXPECT(tether_spawn, TETHER_EINVAL, tether_spawn(&c, quick_argv, &o));
  o.flags = 0;
  EXPECT(tether_spawn, TETHER_ENOENT, tether_spawn(&c, missing, NULL));
  o.cwd = "/tether/no/such/dir/4711";
  CHECK(tether_spawn, tether_spawn(&c, quick_argv, &o));
  if (c != NULL) {
    tether_child_free(c);
    c = NULL;
  }
  o.cwd = NULL;
#ifndef _WIN32
  {
    char dir[] = "/tmp/tt-errdoc-XXXXXX", file[64], text[64];
    const char *argv[2];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/notes", dir);
    snprintf(text, sizeof(text), "%s/text", dir);
    make_file(file, "not a program\n", 0644);
    make_file(text, "\x01\x02 no format at all\n", 0755);
    argv[1] = NULL;
    argv[0] = file; /* not executable */
    EXPECT(tether_spawn, TETHER_EACCES, tether_spawn(&c, argv, NULL));
    argv[0] = dir; /* a directory */
    EXPECT(tether_spawn, TETHER_EACCES, tether_spawn(&c, argv, NULL));
    argv[0] = text; /* executable, no format: ENOEXEC or run by sh, as execvp */
    CHECK(tether_spawn, tether_spawn(&c, argv, NULL));
    if (c != NULL) {
      tether_child_free(c);
      c = NULL;
    }
    o.cwd = file; /* not a directory */
    EXPECT(tether_spawn, TETHER_ENOTDIR, tether_spawn(&c, quick_argv, &o));
    o.cwd = NULL;
    o.flags = TETHER_SPAWN_CONSOLE_GROUP;
    EXPECT(tether_spawn, TETHER_ENOTSUP, tether_spawn(&c, quick_argv, &o));
    o.flags = 0;
    remove(file);
    remove(text);
    remove(dir);
  }
#endif
}

#ifndef _WIN32
/* In a fork()ed child: every call on the parent's child c says
 * TETHER_ECLOSED. Returns how many did not. */
static int inherited_calls_closed(void *arg) {
  tether_child *c = (tether_child *)arg;
  int bad = 0;
  bad += tether_child_signal(c, TETHER_EVENT_TERMINATE) != TETHER_ECLOSED;
  bad += tether_child_signal_native(c, SIGTERM) != TETHER_ECLOSED;
  bad += tether_child_kill(c) != TETHER_ECLOSED;
  bad += tether_child_wait(c, 0, NULL) != TETHER_ECLOSED;
  bad += tether_child_wait_tree(c, 0) != TETHER_ECLOSED;
  bad += tether_child_stop(c, NULL, 0, NULL) != TETHER_ECLOSED;
  return bad;
}
#endif

static void drive_child(void) {
  tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;
  tether_stop_step bad = {TETHER_EVENT_LOGOFF, 10};
  tether_child *c = NULL, *d = NULL;
  tether_status st;
  EXPECT(tether_child_close_stdio, TETHER_EINVAL, tether_child_close_stdio(NULL, 0));
  EXPECT(tether_child_signal, TETHER_EINVAL, tether_child_signal(NULL, TETHER_EVENT_TERMINATE));
  EXPECT(tether_child_signal_native, TETHER_EINVAL, tether_child_signal_native(NULL, 15));
  EXPECT(tether_child_kill, TETHER_EINVAL, tether_child_kill(NULL));
  EXPECT(tether_child_wait, TETHER_EINVAL, tether_child_wait(NULL, 0, &st));
  EXPECT(tether_child_wait_tree, TETHER_EINVAL, tether_child_wait_tree(NULL, 0));
  EXPECT(tether_child_stop, TETHER_EINVAL, tether_child_stop(NULL, NULL, 0, NULL));

  /* A live child: bad arguments. */
  EXPECT(tether_spawn, 0, tether_spawn(&c, long_argv, NULL));
  EXPECT(tether_child_close_stdio, TETHER_EINVAL, tether_child_close_stdio(c, 0));
  EXPECT(tether_child_close_stdio, TETHER_EINVAL, tether_child_close_stdio(c, 7));
  EXPECT(tether_child_signal, TETHER_EINVAL, tether_child_signal(c, 999));
  EXPECT(tether_child_signal, TETHER_EINVAL, tether_child_signal(c, TETHER_EVENT_CHILD));
  EXPECT(tether_child_signal_native, TETHER_EINVAL, tether_child_signal_native(c, 0));
#ifdef _WIN32
  EXPECT(tether_child_signal_native, TETHER_ENOTSUP, tether_child_signal_native(c, 15));
  EXPECT(tether_child_signal, TETHER_ENOTSUP, tether_child_signal(c, TETHER_EVENT_USER1));
#else
  EXPECT(tether_child_signal_native, TETHER_EINVAL, tether_child_signal_native(c, 100000));
#endif
  EXPECT(tether_child_stop, TETHER_EINVAL, tether_child_stop(c, &bad, 1, NULL));
  EXPECT(tether_child_stop, TETHER_EINVAL, tether_child_stop(c, NULL, 3, NULL));
  EXPECT(tether_child_wait, 0, tether_child_wait(c, 0, &st));
  EXPECT(tether_child_wait_tree, 0, tether_child_wait_tree(c, 0));

#ifndef _WIN32
  /* Made before a fork() without exec: the copy in the new process cannot
   * use it (TETHER_ECLOSED). */
  {
    tt_in_forked_child(inherited_calls_closed, c, "the calls on a child made before fork()");
    /* The same codes, judged against the docs here. */
    judge("tether_child_signal", TETHER_ECLOSED, 0, "after fork()", __LINE__);
    judge("tether_child_signal_native", TETHER_ECLOSED, 0, "after fork()", __LINE__);
    judge("tether_child_kill", TETHER_ECLOSED, 0, "after fork()", __LINE__);
    judge("tether_child_wait", TETHER_ECLOSED, 0, "after fork()", __LINE__);
    judge("tether_child_wait_tree", TETHER_ECLOSED, 0, "after fork()", __LINE__);
    judge("tether_child_stop", TETHER_ECLOSED, 0, "after fork()", __LINE__);
  }
#endif

  /* The child is gone (killed and reaped): the tree calls say ESRCH. */
  EXPECT(tether_child_kill, 0, tether_child_kill(c));
  EXPECT(tether_child_wait, 1, tether_child_wait(c, 30000, &st));
  EXPECT(tether_child_wait_tree, 1, tether_child_wait_tree(c, 30000));
  EXPECT(tether_child_kill, TETHER_ESRCH, tether_child_kill(c));
  EXPECT(tether_child_signal, TETHER_ESRCH, tether_child_signal(c, TETHER_EVENT_TERMINATE));
#ifndef _WIN32
  EXPECT(tether_child_signal_native, TETHER_ESRCH, tether_child_signal_native(c, SIGTERM));
#endif
  CHECK(tether_child_stop, tether_child_stop(c, NULL, 0, &st));
  tether_child_free(c);

  /* A detached child has no tree of its own. */
  o.flags = TETHER_SPAWN_DETACHED;
  EXPECT(tether_spawn, 0, tether_spawn(&d, quick_argv, &o));
  EXPECT(tether_child_wait_tree, TETHER_ENOTSUP, tether_child_wait_tree(d, 0));
  EXPECT(tether_child_stop, TETHER_ENOTSUP, tether_child_stop(d, NULL, 0, NULL));
  CHECK(tether_child_wait, tether_child_wait(d, 30000, &st));
  tether_child_free(d);
}

static void drive_token(void) {
  tether_token *t = NULL, *child_token = NULL;
  tether_child *c = NULL, *d = NULL;
  tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;
  tether_stop_step bad = {TETHER_EVENT_TERMINATE, -1};
  tether_cause cause;
  tether_event ev;
  memset(&ev, 0, sizeof(ev));
  EXPECT(tether_token_new, TETHER_EINVAL, tether_token_new(NULL, NULL));
  EXPECT(tether_token_cancel, TETHER_EINVAL, tether_token_cancel(NULL, 1, "x"));
  EXPECT(tether_token_cancel_event, TETHER_EINVAL, tether_token_cancel_event(NULL, &ev));
  EXPECT(tether_token_cancelled, TETHER_EINVAL, tether_token_cancelled(NULL));
  EXPECT(tether_token_cause, TETHER_EINVAL, tether_token_cause(NULL, &cause));
  EXPECT(tether_token_wait, TETHER_EINVAL, tether_token_wait(NULL, 0));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(NULL, NULL, NULL, 0));
  EXPECT(tether_token_wait_stopped, TETHER_EINVAL, tether_token_wait_stopped(NULL, 0));
  EXPECT(tether_token_close, TETHER_EINVAL, tether_token_close(NULL));
  EXPECT(tether_token_new, 0, tether_token_new(&t, NULL));
  EXPECT(tether_token_cancel_event, TETHER_EINVAL, tether_token_cancel_event(t, NULL));
  EXPECT(tether_token_cause, TETHER_EINVAL, tether_token_cause(t, NULL));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(t, NULL, NULL, 0));
  EXPECT(tether_spawn, 0, tether_spawn(&c, long_argv, NULL));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(t, c, &bad, 1));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(t, c, NULL, 2));
  EXPECT(tether_token_attach, 0, tether_token_attach(t, c, NULL, 0));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(t, c, NULL, 0));
  o.flags = TETHER_SPAWN_DETACHED;
  EXPECT(tether_spawn, 0, tether_spawn(&d, quick_argv, &o));
  EXPECT(tether_token_attach, TETHER_EINVAL, tether_token_attach(t, d, NULL, 0));
  EXPECT(tether_token_wait, 0, tether_token_wait(t, 0));
  EXPECT(tether_token_wait_stopped, 0, tether_token_wait_stopped(t, 0));
  EXPECT(tether_token_cancelled, 0, tether_token_cancelled(t));
  EXPECT(tether_token_cause, 0, tether_token_cause(t, &cause));
  EXPECT(tether_token_cancel, 0, tether_token_cancel(t, 3, "first"));
  EXPECT(tether_token_cancel, TETHER_ECANCELED, tether_token_cancel(t, 4, "second"));
  ev.kind = TETHER_EVENT_TERMINATE;
  EXPECT(tether_token_cancel_event, TETHER_ECANCELED, tether_token_cancel_event(t, &ev));
  EXPECT(tether_token_wait_stopped, 1, tether_token_wait_stopped(t, 60000));
  EXPECT(tether_token_close, 0, tether_token_close(t));
  /* Closed. */
  EXPECT(tether_token_close, TETHER_ECLOSED, tether_token_close(t));
  EXPECT(tether_token_new, TETHER_ECLOSED, tether_token_new(&child_token, t));
  EXPECT(tether_token_cancel, TETHER_ECLOSED, tether_token_cancel(t, 1, "x"));
  EXPECT(tether_token_cancel_event, TETHER_ECLOSED, tether_token_cancel_event(t, &ev));
  EXPECT(tether_token_cancelled, TETHER_ECLOSED, tether_token_cancelled(t));
  CHECK(tether_token_cause, tether_token_cause(t, &cause));
  EXPECT(tether_token_wait, TETHER_ECLOSED, tether_token_wait(t, 0));
  EXPECT(tether_token_wait_stopped, TETHER_ECLOSED, tether_token_wait_stopped(t, 0));
  CHECK(tether_token_attach, tether_token_attach(t, c, NULL, 0));
  tether_token_free(t);
  tether_child_free(c);
  tether_child_free(d);
}

static int never_run(tether_token *token, void *userdata) {
  (void)token;
  (void)userdata;
  return 1;
}

static void drive_shutdown(void) {
  tether_shutdown_options o = TETHER_SHUTDOWN_OPTIONS_INIT;
  tether_shutdown *s = NULL;
  EXPECT(tether_shutdown_options_init, TETHER_EINVAL,
         tether_shutdown_options_init(NULL, TETHER_SHUTDOWN_OPTIONS_VERSION));
  EXPECT(tether_shutdown_options_init, TETHER_EINVAL, tether_shutdown_options_init(&o, 0));
  EXPECT(tether_shutdown_options_init, TETHER_EINVAL, tether_shutdown_options_init(&o, 9999));
  EXPECT(tether_shutdown_new, TETHER_EINVAL, tether_shutdown_new(NULL, NULL));
  o.version = 0;
  EXPECT(tether_shutdown_new, TETHER_EINVAL, tether_shutdown_new(&s, &o));
  o.version = TETHER_SHUTDOWN_OPTIONS_VERSION;
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_CHILD);
  EXPECT(tether_shutdown_new, TETHER_EINVAL, tether_shutdown_new(&s, &o));
  o.kinds = 0;
  o.flags = 0x8000u;
  EXPECT(tether_shutdown_new, TETHER_EINVAL, tether_shutdown_new(&s, &o));
  o.flags = 0;
  EXPECT(tether_shutdown_done, TETHER_EINVAL, tether_shutdown_done(NULL));
  EXPECT(tether_shutdown_time_left_ms, TETHER_EINVAL, tether_shutdown_time_left_ms(NULL));
  EXPECT(tether_main, TETHER_EINVAL, tether_main(NULL, NULL, NULL));
  /* Options the policy refuses: tether_main() returns before running. */
  o.kinds = TETHER_KIND_BIT(TETHER_EVENT_CHILD);
  EXPECT(tether_main, TETHER_EINVAL, tether_main(&o, never_run, NULL));
}

static void test_errors_match_the_header(void **state) {
  char *text = read_file(TT_TETHER_H);
  int i, nint = 0;
  (void)state;
  if (text == NULL) {
    print_message("cannot read %s\n", TT_TETHER_H);
    skip();
  }
  parse_header(text);
  free(text);
  assert_true(ndocs > 30);
  drive_misc();
  drive_channel();
  drive_spawn();
  drive_child();
  drive_token();
  drive_shutdown();
  for (i = 0; i < ndocs; i++) {
    nint++;
    if (!docs[i].driven)
      problem("%s: not driven by this test (add its errors here)", docs[i].name);
  }
  print_message("%d int-returning functions of tether.h, %d mismatches\n", nint, nproblems);
  if (nproblems > 0)
    fail_msg("%d mismatch(es) between tether.h and the code (MISMATCH lines above)", nproblems);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors_match_the_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
