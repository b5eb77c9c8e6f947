/* SPDX-License-Identifier: MIT */
/*
 * Windows command-line builder (win32/cmdline.c), checked against the real
 * parsers:
 *   - CommandLineToArgvW (shell32), in process: fixed cases and 100,000
 *     random argv vectors;
 *   - the C runtimes' own argv parsers, in a child process started with
 *     CreateProcessW and the built line: msvcrt.dll (__wgetmainargs, the
 *     CRT this MinGW build uses) and, when it loads, ucrtbase.dll
 *     (_configure_wide_argv, the Universal CRT of MSVC 2015 and later).
 *
 * The child is this executable. It is recognised by an environment variable
 * rather than by `--child <name>` arguments, because its command line is
 * the thing under test: a wrong parse must be reported, not make the child
 * run the whole suite.
 *
 * Random vectors use a seeded generator; the seed is printed and can be
 * forced with TETHER_CMDLINE_SEED=<number>.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <shellapi.h>

#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "support_win32.h"

#include "backend.h"
#include "cmdline.h"

#define ECHO_ENV L"TETHER_CMDLINE_ECHO"
#define ECHO_MAGIC 0x54434d44u /* "TCMD" */

#define RANDOM_SHELL_VECTORS 100000
#define RANDOM_CRT_VECTORS 300

/* UTF-8 spelled in hex so the source stays ASCII. */
#define E_ACUTE "\xc3\xa9"               /* U+00E9, 2 bytes */
#define EURO "\xe2\x82\xac"              /* U+20AC, 3 bytes */
#define NIHON "\xe6\x97\xa5\xe6\x9c\xac" /* U+65E5 U+672C */
#define GRIN "\xf0\x9f\x98\x80"          /* U+1F600, surrogate pair */

/* ------------------------------------------------------------------------ */
/* Printing and comparing                                                   */
/* ------------------------------------------------------------------------ */

/* Print label and the n UTF-16 units of w (n < 0: up to the NUL), with C
 * escapes for everything that is not printable ASCII. */
static void show_w(const char *label, const wchar_t *w, long n) {
  size_t cap, len = 0;
  long i;
  char *buf;
  if (w == NULL) {
    print_error("  %s: (null)\n", label);
    return;
  }
  if (n < 0)
    n = (long)wcslen(w);
  cap = (size_t)n * 6 + 1;
  buf = (char *)malloc(cap);
  if (buf == NULL)
    return;
  for (i = 0; i < n; i++) {
    unsigned c = (unsigned)w[i];
    if (c == '\\' || c == '"') {
      buf[len++] = '\\';
      buf[len++] = (char)c;
    } else if (c == '\t') {
      memcpy(buf + len, "\\t", 2);
      len += 2;
    } else if (c == '\n') {
      memcpy(buf + len, "\\n", 2);
      len += 2;
    } else if (c >= 0x20 && c < 0x7f) {
      buf[len++] = (char)c;
    } else {
      static const char hex[] = "0123456789abcdef";
      buf[len++] = '\\';
      buf[len++] = 'u';
      buf[len++] = hex[(c >> 12) & 15];
      buf[len++] = hex[(c >> 8) & 15];
      buf[len++] = hex[(c >> 4) & 15];
      buf[len++] = hex[c & 15];
    }
  }
  buf[len] = '\0';
  print_error("  %s: \"%s\"\n", label, buf);
  free(buf);
}

static wchar_t *wide(const char *s) {
  wchar_t *w = NULL;
  assert_tether_ok(tether__win32_utf8_to_wide(s, &w));
  return w;
}

static size_t argv_count(const char *const *argv) {
  size_t n = 0;
  while (argv[n] != NULL)
    n++;
  return n;
}

/* 1 if the parsed vector (n, got[i] of len[i] units; len NULL: NUL
 * terminated) equals argv; otherwise prints both and returns 0. */
static int same_argv(const char *const *argv, long n, wchar_t *const *got, const long *len,
                     const char *who, const wchar_t *line) {
  size_t want = argv_count(argv), i;
  int ok = (long)want == n;
  for (i = 0; ok && i < want; i++) {
    wchar_t *w = wide(argv[i]);
    long gl = len != NULL ? len[i] : (long)wcslen(got[i]);
    ok = (long)wcslen(w) == gl && memcmp(w, got[i], (size_t)gl * sizeof(wchar_t)) == 0;
    free(w);
  }
  if (!ok) {
    char label[64];
    print_error("%s: argv does not round-trip\n", who);
    show_w("line", line, -1);
    for (i = 0; i < want; i++) {
      wchar_t *w = wide(argv[i]);
      snprintf(label, sizeof(label), "want[%lu]", (unsigned long)i);
      show_w(label, w, -1);
      free(w);
    }
    for (i = 0; (long)i < n; i++) {
      snprintf(label, sizeof(label), "got[%lu]", (unsigned long)i);
      show_w(label, got[i], len != NULL ? len[i] : -1);
    }
  }
  return ok;
}

/* Build argv's line and split it with CommandLineToArgvW. */
static int shell_roundtrip(const char *const *argv) {
  wchar_t *line = NULL;
  LPWSTR *got;
  int n = 0, ok;
  assert_tether_ok(tether__win32_build_cmdline(argv, &line));
  got = CommandLineToArgvW(line, &n);
  if (got == NULL) {
    show_w("line", line, -1);
    free(line);
    fail_msg("CommandLineToArgvW failed: %lu", (unsigned long)GetLastError());
  }
  ok = same_argv(argv, n, got, NULL, "CommandLineToArgvW", line);
  LocalFree(got);
  free(line);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct fixed_case {
  const char *argv[8];
} fixed_case;

static const fixed_case fixed_cases[] = {
    {{"prog", NULL}},
    {{"prog", "", NULL}},
    {{"prog", "", "", NULL}},
    {{"prog", "", "a", "", NULL}},
    {{"prog", "a b", "c\td", "a  b", NULL}},
    {{"prog", "\"", NULL}},
    {{"prog", "\"\"", NULL}},
    {{"prog", "\"\"\"", "\"\"\"\"", NULL}},
    {{"prog", "\"a b\"", "\"a", "b\"", NULL}},
    {{"prog", "a\"b c\"d", "a\"b", NULL}},
    {{"prog", "\\", NULL}},
    {{"prog", "\\\\", "\\\\\\", NULL}},
    {{"prog", "a\\", "b\\\\", "c\\\\\\", NULL}},
    {{"prog", "a b\\", "a b\\\\", "\\ \\", " \\\\\\", NULL}},
    {{"prog", "a\\\"b", "a\\\\\"b", "a\\\\\\\"b", NULL}},
    {{"prog", "\\\"", "\\\\\"\\\\", "\"\\", NULL}},
    {{"prog", "\\\" \\\"", "\\\\\" \\\\", NULL}},
    {{"prog", " ", "\t", "  \t ", " \" ", NULL}},
    {{"prog", "\n", "a\nb", "\v", "\r", "\f", NULL}},
    {{"prog", E_ACUTE, NIHON, GRIN, "a " GRIN " b", GRIN "\\\"", NULL}},
    {{"prog", EURO "\\", EURO " \\", "\"" EURO "\"", NULL}},
    {{"prog", "^&|<>%PATH%!x!()", "a&b", NULL}},
    {{"prog", "*", "?", "*.c", "[a]", NULL}},
    {{"prog", "a\"\" b", "\"\" \"\"", "x\"\"", NULL}},
    {{"prog", "-x=\"quoted value\"", "/flag:\\\"x\\\"", NULL}},
    {{"C:\\Program Files\\x\\", "x", NULL}},
    {{"C:\\dir\\prog.exe", "\\\\server\\share\\", "\\\\server\\share dir\\", NULL}},
    {{"C:\\dir\\", "\\", NULL}},
    {{"", "a", NULL}},
    {{"", "", NULL}},
    {{"", NULL}},
    {{"prog with  spaces\tand tab", "a", NULL}},
    {{"p\\\\", "\\", "", NULL}},
    {{"prog" GRIN " " E_ACUTE, E_ACUTE " \\", NULL}},
    {{"\\", "a b", NULL}},
    {{" ", " ", NULL}},
};

/* Golden lines: the exact encoding (minimal quoting). */
static void test_golden_lines(void **state) {
  static const char *const a1[] = {"prog",  "a b",   "",     "x\"y", "c\\",
                                   "d e\\", "f\\\"", "g\\h", NULL};
  static const wchar_t l1[] = L"\"prog\" \"a b\" \"\" x\\\"y c\\ \"d e\\\\\" f\\\\\\\" g\\h";
  static const char *const a2[] = {"C:\\Program Files\\t.exe", NULL};
  static const wchar_t l2[] = L"\"C:\\Program Files\\t.exe\"";
  static const char *const a3[] = {"", "\t", "a\\\\\"", GRIN, NULL};
  static const wchar_t l3[] = L"\"\" \"\t\" a\\\\\\\\\\\" \xD83D\xDE00";
  const char *const *argv[3];
  const wchar_t *lines[3];
  size_t i;
  (void)state;
  argv[0] = a1;
  argv[1] = a2;
  argv[2] = a3;
  lines[0] = l1;
  lines[1] = l2;
  lines[2] = l3;
  for (i = 0; i < 3; i++) {
    wchar_t *line = NULL;
    assert_tether_ok(tether__win32_build_cmdline(argv[i], &line));
    if (wcscmp(line, lines[i]) != 0) {
      show_w("want", lines[i], -1);
      show_w("got ", line, -1);
      free(line);
      fail_msg("golden line %lu differs", (unsigned long)i);
    }
    free(line);
  }
}

static void test_fixed_shell(void **state) {
  size_t i;
  int bad = 0;
  (void)state;
  for (i = 0; i < TT_COUNT(fixed_cases); i++)
    if (!shell_roundtrip(fixed_cases[i].argv)) {
      print_error("  (fixed case %lu)\n", (unsigned long)i);
      bad++;
    }
  assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------ */
/* Random vectors                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n) { return (unsigned)(rng_next() % n); }

/* The seed: TETHER_CMDLINE_SEED, else the clock. Printed either way. */
static unsigned long seed_rng(const char *what) {
  unsigned long seed;
  char env[32];
  DWORD n = GetEnvironmentVariableA("TETHER_CMDLINE_SEED", env, sizeof(env));
  if (n > 0 && n < sizeof(env))
    seed = strtoul(env, NULL, 0);
  else
    seed = (unsigned long)(GetTickCount() ^ (GetCurrentProcessId() << 16));
  rng_state = seed;
  print_message("[   INFO   ] %s: seed %lu (TETHER_CMDLINE_SEED=%lu repeats it)\n", what, seed,
                seed);
  return seed;
}

/* Alphabet, biased towards what the encoder must get right. */
static const struct {
  const char *s;
  unsigned weight;
} alphabet[] = {
    {" ", 14}, {"\t", 6},    {"\"", 14}, {"\\", 22}, {"a", 12}, {"b", 8},
    {"Z", 6},  {E_ACUTE, 5}, {EURO, 5},  {GRIN, 5},  {"\n", 3},
};

#define MAX_RANDOM_ARGS 7
#define MAX_RANDOM_LEN 14

typedef struct random_vector {
  char buf[MAX_RANDOM_ARGS][MAX_RANDOM_LEN * 4 + 1];
  const char *argv[MAX_RANDOM_ARGS + 1];
} random_vector;

static void random_arg(char *dst, int allow_quote) {
  unsigned len = rng_below(8) == 0 ? 0u : rng_below(MAX_RANDOM_LEN + 1);
  unsigned i, total = 0, k;
  for (k = 0; k < TT_COUNT(alphabet); k++)
    total += alphabet[k].weight;
  for (i = 0; i < len; i++) {
    const char *s;
    do {
      unsigned r = rng_below(total);
      for (k = 0; r >= alphabet[k].weight; k++)
        r -= alphabet[k].weight;
      s = alphabet[k].s;
    } while (!allow_quote && *s == '"');
    memcpy(dst, s, strlen(s));
    dst += strlen(s);
  }
  *dst = '\0';
}

static void random_vector_fill(random_vector *v) {
  unsigned n = 1 + rng_below(MAX_RANDOM_ARGS), i;
  for (i = 0; i < n; i++) {
    random_arg(v->buf[i], i > 0);
    v->argv[i] = v->buf[i];
  }
  v->argv[n] = NULL;
}

static void test_random_shell(void **state) {
  random_vector v;
  unsigned long seed = seed_rng("CommandLineToArgvW");
  long i;
  (void)state;
  for (i = 0; i < RANDOM_SHELL_VECTORS; i++) {
    random_vector_fill(&v);
    if (!shell_roundtrip(v.argv))
      fail_msg("random vector %ld of seed %lu", i, seed);
  }
  print_message("[   INFO   ] %d random vectors round-tripped\n", RANDOM_SHELL_VECTORS);
}

/* ------------------------------------------------------------------------ */
/* The child: report what the C runtimes parse                              */
/* ------------------------------------------------------------------------ */

typedef int(__cdecl *wgetmainargs_fn)(int *, wchar_t ***, wchar_t ***, int, int *);
typedef int(__cdecl *configure_wide_argv_fn)(int);
typedef int *(__cdecl *p_argc_fn)(void);
typedef wchar_t ***(__cdecl *p_wargv_fn)(void);

/* _crt_argv_unexpanded_arguments of the UCRT's _crt_argv_mode. */
#define TT_CRT_ARGV_UNEXPANDED 1

static int put(HANDLE h, const void *p, DWORD n) {
  const char *c = (const char *)p;
  while (n > 0) {
    DWORD done = 0;
    if (!WriteFile(h, c, n, &done, NULL) || done == 0)
      return 0;
    c += done;
    n -= done;
  }
  return 1;
}

/* One record: int32 count (-1: parser unavailable), then per string a
 * uint32 length in UTF-16 units and the units. */
static int put_vector(HANDLE h, int n, wchar_t *const *v) {
  int32_t count = (int32_t)n;
  int i;
  if (!put(h, &count, sizeof(count)))
    return 0;
  for (i = 0; i < n; i++) {
    uint32_t len = (uint32_t)wcslen(v[i]);
    if (!put(h, &len, sizeof(len)) || !put(h, v[i], (DWORD)(len * sizeof(wchar_t))))
      return 0;
  }
  return 1;
}

static void (*tt_proc(HMODULE m, const char *name))(void) {
  return m == NULL ? NULL : (void (*)(void))GetProcAddress(m, name);
}

static int child_echo(void) {
  HANDLE h = GetStdHandle(STD_OUTPUT_HANDLE);
  uint32_t magic = ECHO_MAGIC;
  wchar_t *line = GetCommandLineW();
  HMODULE msvcrt, ucrt;
  wgetmainargs_fn wgetmainargs;
  configure_wide_argv_fn configure;
  p_argc_fn p_argc;
  p_wargv_fn p_wargv;
  int argc = -1, newmode = 0;
  wchar_t **wargv = NULL, **wenv = NULL;

  if (!put(h, &magic, sizeof(magic)) || !put_vector(h, 1, &line))
    return 2;

  /* msvcrt.dll: already loaded (MinGW's CRT). */
  msvcrt = GetModuleHandleW(L"msvcrt.dll");
  if (msvcrt == NULL)
    msvcrt = LoadLibraryW(L"msvcrt.dll");
  wgetmainargs = (wgetmainargs_fn)tt_proc(msvcrt, "__wgetmainargs");
  if (wgetmainargs != NULL)
    wgetmainargs(&argc, &wargv, &wenv, 0, &newmode);
  if (!put_vector(h, wargv != NULL ? argc : -1, wargv))
    return 3;

  /* ucrtbase.dll: loaded on demand; it parses when configured. */
  ucrt = LoadLibraryW(L"ucrtbase.dll");
  configure = (configure_wide_argv_fn)tt_proc(ucrt, "_configure_wide_argv");
  p_argc = (p_argc_fn)tt_proc(ucrt, "__p___argc");
  p_wargv = (p_wargv_fn)tt_proc(ucrt, "__p___wargv");
  if (configure != NULL && p_argc != NULL && p_wargv != NULL &&
      configure(TT_CRT_ARGV_UNEXPANDED) == 0 && *p_wargv() != NULL) {
    if (!put_vector(h, *p_argc(), *p_wargv()))
      return 4;
  } else if (!put_vector(h, -1, NULL)) {
    return 4;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The parent: spawn the child with a built line and read its report       */
/* ------------------------------------------------------------------------ */

#define NPARSED 3 /* GetCommandLineW, msvcrt, ucrtbase */

typedef struct parsed {
  long n;            /* -1: unavailable */
  wchar_t *args[64]; /* pointers into the report buffer (not terminated) */
  long len[64];
} parsed;

typedef struct report {
  unsigned char *data;
  size_t size;
  parsed p[NPARSED];
} report;

static const char *const parser_names[NPARSED] = {"GetCommandLineW", "msvcrt.dll __wgetmainargs",
                                                  "ucrtbase.dll _configure_wide_argv"};

static int ucrt_missing_reported;

static int take(report *r, size_t *pos, void *dst, size_t n) {
  if (r->size - *pos < n)
    return 0;
  memcpy(dst, r->data + *pos, n);
  *pos += n;
  return 1;
}

static int parse_report(report *r) {
  size_t pos = 0;
  uint32_t magic;
  int k;
  if (!take(r, &pos, &magic, sizeof(magic)) || magic != ECHO_MAGIC)
    return 0;
  for (k = 0; k < NPARSED; k++) {
    int32_t n;
    long i;
    if (!take(r, &pos, &n, sizeof(n)) || n > 64)
      return 0;
    r->p[k].n = n;
    for (i = 0; i < n; i++) {
      uint32_t len;
      if (!take(r, &pos, &len, sizeof(len)) || r->size - pos < (size_t)len * sizeof(wchar_t))
        return 0;
      /* The buffer is malloc'ed, and every field before is 4 bytes. */
      r->p[k].args[i] = (wchar_t *)(void *)(r->data + pos);
      r->p[k].len[i] = (long)len;
      pos += (size_t)len * sizeof(wchar_t);
    }
  }
  return pos == r->size;
}

/* Run this executable with `line`, collect its report. */
static void spawn_echo(wchar_t *line, report *r) {
  PROCESS_INFORMATION pi;
  HANDLE rd = NULL;
  wchar_t self[MAX_PATH * 2];
  size_t cap = 4096;
  DWORD code = 0;

  memset(r, 0, sizeof(*r));
  tt_win32_self_w(self, (DWORD)TT_COUNT(self));
  assert_true(self[0] != L'\0');
  assert_true(SetEnvironmentVariableW(ECHO_ENV, L"1"));
  /* Retried: Wine 8 occasionally fails CreateProcessW with
   * ERROR_INTERNAL_ERROR when other Wine processes start at the same moment
   * (ctest -j). */
  if (!tt_win32_create_piped(self, line, CREATE_NO_WINDOW, TT_WIN32_ERR_NONE, 4, &pi, &rd)) {
    DWORD err = GetLastError();
    SetEnvironmentVariableW(ECHO_ENV, NULL);
    show_w("line", line, -1);
    fail_msg("CreateProcessW failed: %lu", (unsigned long)err);
  }
  SetEnvironmentVariableW(ECHO_ENV, NULL);
  r->data = (unsigned char *)malloc(cap);
  assert_non_null(r->data);
  for (;;) {
    DWORD got = 0;
    if (r->size == cap) {
      unsigned char *bigger = (unsigned char *)realloc(r->data, cap * 2);
      assert_non_null(bigger);
      r->data = bigger;
      cap *= 2;
    }
    if (!ReadFile(rd, r->data + r->size, (DWORD)(cap - r->size), &got, NULL) || got == 0)
      break; /* ERROR_BROKEN_PIPE: the child is done */
    r->size += got;
  }
  CloseHandle(rd);
  assert_int_equal(WaitForSingleObject(pi.hProcess, 60000), WAIT_OBJECT_0);
  assert_true(GetExitCodeProcess(pi.hProcess, &code));
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  if (code != 0 || !parse_report(r)) {
    show_w("line", line, -1);
    free(r->data);
    r->data = NULL;
    fail_msg("echo child: exit code %lu, report of %lu bytes unreadable", (unsigned long)code,
             (unsigned long)r->size);
  }
}

/* Wine's msvcrt.dll and ucrtbase.dll (one parser, dlls/msvcrt/data.c)
 * treat the program name like any other argument, so backslashes before its
 * closing quote escape it; Windows' CRTs (and CommandLineToArgvW, also
 * Wine's) take the program name literally up to the next quote, which is
 * what the builder encodes. Only a program name that ends in a backslash
 * tells the two apart; under Wine those are not compared with the CRTs. */
static int argv0_wine_divergent(const char *const *argv) {
  size_t n = strlen(argv[0]);
  return n > 0 && argv[0][n - 1] == '\\';
}

static int on_wine = -1;

static int is_wine(void) {
  if (on_wine < 0)
    on_wine = tt_is_wine();
  return on_wine;
}

/* Spawn with argv's line; 1 if every available CRT parser gave argv back
 * (2: the line arrived intact, the parsers were not compared, see
 * argv0_wine_divergent). */
static int crt_roundtrip(const char *const *argv) {
  wchar_t *line = NULL;
  report r;
  int ok = 1, k, skip_parsers = is_wine() && argv0_wine_divergent(argv);
  assert_tether_ok(tether__win32_build_cmdline(argv, &line));
  spawn_echo(line, &r);
  /* The line must arrive unchanged, or the parsers test something else. */
  if (r.p[0].n != 1 || (size_t)r.p[0].len[0] != wcslen(line) ||
      memcmp(r.p[0].args[0], line, wcslen(line) * sizeof(wchar_t)) != 0) {
    show_w("sent", line, -1);
    if (r.p[0].n == 1)
      show_w("seen", r.p[0].args[0], r.p[0].len[0]);
    ok = 0;
  }
  for (k = 1; !skip_parsers && k < NPARSED; k++) {
    if (r.p[k].n < 0) {
      if (k == 2 && !ucrt_missing_reported) {
        print_message("[   INFO   ] ucrtbase.dll unavailable: only msvcrt.dll checked\n");
        ucrt_missing_reported = 1;
      }
      assert_true(k == 2); /* msvcrt.dll is always there */
      continue;
    }
    if (!same_argv(argv, r.p[k].n, r.p[k].args, r.p[k].len, parser_names[k], line))
      ok = 0;
  }
  free(r.data);
  free(line);
  return ok && skip_parsers ? 2 : ok;
}

static void test_fixed_crt(void **state) {
  size_t i;
  int bad = 0, skipped = 0, rc;
  (void)state;
  for (i = 0; i < TT_COUNT(fixed_cases); i++) {
    rc = crt_roundtrip(fixed_cases[i].argv);
    if (rc == 0) {
      print_error("  (fixed case %lu)\n", (unsigned long)i);
      bad++;
    } else if (rc == 2) {
      skipped++;
    }
  }
  if (skipped > 0)
    print_message("[   INFO   ] Wine: %d of %lu cases (program name ending in "
                  "a backslash) checked for transport only, not against "
                  "Wine's CRT parsers\n",
                  skipped, (unsigned long)TT_COUNT(fixed_cases));
  assert_int_equal(bad, 0);
}

static void test_random_crt(void **state) {
  random_vector v;
  unsigned long seed = seed_rng("C runtimes (child processes)");
  uint64_t start = tether_now_ns();
  long i, trimmed = 0;
  (void)state;
  for (i = 0; i < RANDOM_CRT_VECTORS; i++) {
    random_vector_fill(&v);
    if (is_wine() && argv0_wine_divergent(v.argv)) {
      /* See argv0_wine_divergent: keep the vector comparable. */
      size_t n = strlen(v.buf[0]);
      while (n > 0 && v.buf[0][n - 1] == '\\')
        v.buf[0][--n] = '\0';
      trimmed++;
    }
    if (!crt_roundtrip(v.argv))
      fail_msg("random vector %ld of seed %lu", i, seed);
  }
  if (trimmed > 0)
    print_message("[   INFO   ] Wine: trailing backslashes dropped from the "
                  "program name of %ld vectors\n",
                  trimmed);
  print_message("[   INFO   ] %d child processes in %lu ms\n", RANDOM_CRT_VECTORS,
                (unsigned long)((tether_now_ns() - start) / 1000000u));
}

/* ------------------------------------------------------------------------ */
/* Length limit                                                             */
/* ------------------------------------------------------------------------ */

/* A string of n copies of unit (a UTF-8 string), malloc'ed. */
static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit), i;
  char *s = (char *)malloc(u * n + 1);
  assert_non_null(s);
  for (i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

/* Length in units of the line for {argv0, arg} (which must fit). */
static size_t line_len(const char *argv0, const char *arg) {
  const char *argv[3];
  wchar_t *line = NULL;
  size_t n;
  argv[0] = argv0;
  argv[1] = arg;
  argv[2] = NULL;
  assert_tether_ok(tether__win32_build_cmdline(argv, &line));
  n = wcslen(line);
  free(line);
  return n;
}

/* {argv0, unit x n}: 0 or the error, and the line when it fits. */
static int build_repeat(const char *argv0, const char *unit, size_t n, wchar_t **line) {
  const char *argv[3];
  char *arg = repeat(unit, n);
  int rc;
  argv[0] = argv0;
  argv[1] = arg;
  argv[2] = NULL;
  rc = tether__win32_build_cmdline(argv, line);
  free(arg);
  return rc;
}

static void test_length_limit(void **state) {
  const size_t max = TETHER__WIN32_CMDLINE_MAX - 1; /* units, NUL excluded */
  /* Each unit of the argument costs (in line units): */
  static const struct {
    const char *unit;
    size_t cost;
  } units[] = {
      {"a", 1},    /* ASCII */
      {EURO, 1},   /* 3 UTF-8 bytes, 1 unit */
      {GRIN, 2},   /* 4 UTF-8 bytes, a surrogate pair */
      {"\\\"", 4}, /* \" becomes \\\" */
  };
  size_t i;
  wchar_t *line = NULL;
  /* The line for {"prog", arg} without arg: `"prog" ` (no unit needs
   * quotes, so arg appears as it is encoded). */
  size_t base = line_len("prog", "") - 2;
  (void)state;
  for (i = 0; i < TT_COUNT(units); i++) {
    /* arg = pad x 'p' + n x unit, exactly max units in all. */
    size_t n = (max - base) / units[i].cost;
    size_t pad = (max - base) - n * units[i].cost, len;
    char *tail = repeat(units[i].unit, n), *arg, *longer;
    const char *argv[3];
    len = pad + strlen(tail);
    arg = (char *)malloc(len + 1);
    assert_non_null(arg);
    memset(arg, 'p', pad);
    memcpy(arg + pad, tail, strlen(tail) + 1);
    free(tail);
    assert_int_equal(line_len("prog", arg), max);
    argv[0] = "prog";
    argv[1] = arg;
    argv[2] = NULL;
    assert_true(shell_roundtrip(argv));
    /* One unit more does not fit. */
    longer = (char *)malloc(len + strlen(units[i].unit) + 1);
    assert_non_null(longer);
    memcpy(longer, arg, len);
    memcpy(longer + len, units[i].unit, strlen(units[i].unit) + 1);
    argv[1] = longer;
    line = (wchar_t *)1;
    assert_tether_err(tether__win32_build_cmdline(argv, &line), TETHER_E2BIG);
    assert_null(line);
    free(longer);
    free(arg);
  }
  /* Far too long, in argv[0] and in an argument; many short arguments. */
  assert_tether_err(build_repeat("prog", "a", 1000000, &line), TETHER_E2BIG);
  assert_tether_err(build_repeat("prog", "\"", 20000, &line), TETHER_E2BIG);
  {
    char *big = repeat("a", 40000);
    const char *argv[2];
    const char **many;
    argv[0] = big;
    argv[1] = NULL;
    assert_tether_err(tether__win32_build_cmdline(argv, &line), TETHER_E2BIG);
    free(big);
    many = (const char **)malloc(12000 * sizeof(*many));
    assert_non_null(many);
    for (i = 0; i < 11999; i++)
      many[i] = ""; /* 3 units each: `""` and a space */
    many[11999] = NULL;
    assert_tether_err(tether__win32_build_cmdline(many, &line), TETHER_E2BIG);
    free(many);
  }
}

/* The longest line CreateProcessW takes reaches the child intact. */
static void test_length_limit_spawn(void **state) {
  const size_t max = TETHER__WIN32_CMDLINE_MAX - 1;
  size_t base = line_len("prog", "") - 2; /* without the "" */
  char *arg = repeat("a", max - base);
  const char *argv[3];
  (void)state;
  assert_int_equal(line_len("prog", arg), max);
  argv[0] = "prog";
  argv[1] = arg;
  argv[2] = NULL;
  assert_true(crt_roundtrip(argv));
  free(arg);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const bad_utf8[] = {
    "\xff",             /* never valid */
    "\x80",             /* stray continuation */
    "a\xc3",            /* truncated */
    "\xc3(",            /* bad continuation */
    "\xe2\x82",         /* truncated 3-byte */
    "\xc0\xaf",         /* overlong '/' */
    "\xe0\x80\xaf",     /* overlong, 3 bytes */
    "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
    "\xed\xa0\x80",     /* U+D800, a surrogate */
    "\xed\xbf\xbf",     /* U+DFFF */
    "\xf4\x90\x80\x80", /* U+110000 */
    "\xf8\x88\x80\x80\x80",
};

static void test_errors(void **state) {
  static const char *const empty[] = {NULL};
  static const char *const ok[] = {"prog", "a", NULL};
  static const char *const quote0[] = {"a\"b", "x", NULL};
  static const char *const quote0_only[] = {"\"", NULL};
  static const char *const quote0_end[] = {"C:\\x\\\"", NULL};
  const char *argv[4];
  wchar_t *line;
  size_t i;
  (void)state;

  tether__set_last_os_error(1234);
  line = (wchar_t *)1;
  assert_tether_err(tether__win32_build_cmdline(NULL, &line), TETHER_EINVAL);
  assert_null(line);
  assert_tether_err(tether__win32_build_cmdline(ok, NULL), TETHER_EINVAL);
  line = (wchar_t *)1;
  assert_tether_err(tether__win32_build_cmdline(empty, &line), TETHER_EINVAL);
  assert_null(line);
  assert_tether_err(tether__win32_build_cmdline(quote0, &line), TETHER_EINVAL);
  assert_tether_err(tether__win32_build_cmdline(quote0_only, &line), TETHER_EINVAL);
  assert_tether_err(tether__win32_build_cmdline(quote0_end, &line), TETHER_EINVAL);
  for (i = 0; i < TT_COUNT(bad_utf8); i++) {
    /* In argv[0], in an argument, in a later argument. */
    argv[0] = bad_utf8[i];
    argv[1] = NULL;
    line = (wchar_t *)1;
    assert_tether_err(tether__win32_build_cmdline(argv, &line), TETHER_EINVAL);
    assert_null(line);
    argv[0] = "prog";
    argv[1] = bad_utf8[i];
    assert_tether_err(tether__win32_build_cmdline(argv, &line), TETHER_EINVAL);
    argv[1] = "a b";
    argv[2] = bad_utf8[i];
    argv[3] = NULL;
    assert_tether_err(tether__win32_build_cmdline(argv, &line), TETHER_EINVAL);
  }
  /* Argument errors leave the last OS error alone. */
  assert_int_equal(tether_last_os_error(), 1234);
  tether__set_last_os_error(0);
}

static void test_utf8_to_wide(void **state) {
  static const struct {
    const char *in;
    const wchar_t *out;
  } good[] = {
      {"", L""},
      {"abc", L"abc"},
      {E_ACUTE, L"\x00e9"},
      {EURO, L"\x20ac"},
      {GRIN, L"\xd83d\xde00"},
      {"\xef\xbf\xbf", L"\xffff"},           /* U+FFFF */
      {"\xf4\x8f\xbf\xbf", L"\xdbff\xdfff"}, /* U+10FFFF */
      {"\xee\x80\x80", L"\xe000"},           /* first after surrogates */
      {"\xed\x9f\xbf", L"\xd7ff"},           /* last before them */
  };
  wchar_t *w;
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(good); i++) {
    w = NULL;
    assert_tether_ok(tether__win32_utf8_to_wide(good[i].in, &w));
    assert_non_null(w);
    if (wcscmp(w, good[i].out) != 0) {
      show_w("want", good[i].out, -1);
      show_w("got ", w, -1);
      fail_msg("utf8_to_wide case %lu", (unsigned long)i);
    }
    free(w);
  }
  for (i = 0; i < TT_COUNT(bad_utf8); i++) {
    w = (wchar_t *)1;
    assert_tether_err(tether__win32_utf8_to_wide(bad_utf8[i], &w), TETHER_EINVAL);
    assert_null(w);
  }
  w = (wchar_t *)1;
  assert_tether_err(tether__win32_utf8_to_wide(NULL, &w), TETHER_EINVAL);
  assert_null(w);
  assert_tether_err(tether__win32_utf8_to_wide("a", NULL), TETHER_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Batch files                                                              */
/* ------------------------------------------------------------------------ */

static void test_is_batch(void **state) {
  static const struct {
    const wchar_t *path;
    int batch;
  } cases[] = {
      {L"a.bat", 1},
      {L"A.CMD", 1},
      {L"x.bat.", 1},
      {L"x.bat ", 1},
      {L"x.bat. . ..", 1},
      {L"C:\\dir\\run.Bat", 1},
      {L"\\\\srv\\s\\r.cMd", 1},
      {L".bat", 1},
      {L"C:/d/x.cmd", 1},
      {L"x.exe", 0},
      {L"bat", 0},
      {L"cmd", 0},
      {L"dir.bat\\x.exe", 0},
      {L"x.bat.exe", 0},
      {L"x.batch", 0},
      {L"x.cmdx", 0},
      {L"xbat", 0},
      {L"x.ba", 0},
      {L"", 0},
      {L".", 0},
      {L"x.com", 0},
  };
  size_t i;
  (void)state;
  for (i = 0; i < TT_COUNT(cases); i++) {
    if (tether__win32_is_batch(cases[i].path) != cases[i].batch) {
      show_w("path", cases[i].path, -1);
      fail_msg("is_batch should be %d", cases[i].batch);
    }
  }
  assert_int_equal(tether__win32_is_batch(NULL), 0);
}

static void test_spawn_cmdline_policy(void **state) {
  static const char *const argv[] = {"prog", "a b", NULL};
  wchar_t *line = (wchar_t *)1, *plain = NULL;
  (void)state;
  assert_tether_err(tether__win32_spawn_cmdline(L"C:\\t\\a.bat", argv, &line), TETHER_ENOTSUP);
  assert_null(line);
  assert_tether_err(tether__win32_spawn_cmdline(L"C:\\t\\A.CMD. ", argv, &line), TETHER_ENOTSUP);
  assert_tether_err(tether__win32_spawn_cmdline(NULL, argv, &line), TETHER_EINVAL);
  assert_tether_err(tether__win32_spawn_cmdline(L"C:\\t\\a.exe", NULL, &line), TETHER_EINVAL);
  assert_tether_ok(tether__win32_spawn_cmdline(L"C:\\t\\a.exe", argv, &line));
  assert_tether_ok(tether__win32_build_cmdline(argv, &plain));
  assert_true(wcscmp(line, plain) == 0);
  free(line);
  free(plain);
}

int main(int argc, char **argv) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_lines),         cmocka_unit_test(test_fixed_shell),
      cmocka_unit_test(test_random_shell),         cmocka_unit_test(test_fixed_crt),
      cmocka_unit_test(test_random_crt),           cmocka_unit_test(test_length_limit),
      cmocka_unit_test(test_length_limit_spawn),   cmocka_unit_test(test_errors),
      cmocka_unit_test(test_utf8_to_wide),         cmocka_unit_test(test_is_batch),
      cmocka_unit_test(test_spawn_cmdline_policy),
  };
  if (GetEnvironmentVariableW(ECHO_ENV, NULL, 0) > 0)
    return child_echo();
  return tt_main(argc, argv, NULL, "cmdline", tests, TT_COUNT(tests));
}
