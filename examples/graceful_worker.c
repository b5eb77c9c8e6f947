/* SPDX-License-Identifier: MIT */
/*
 * graceful_worker: transform input files into output files, and end well.
 *
 *   graceful_worker [--delay-ms N] --out DIR FILE...
 *   graceful_worker --self-test
 *
 * Each FILE is copied upper-cased to DIR/<its base name> through a
 * temporary file and a rename, so an output file is either complete or
 * absent. On the first Ctrl+C (or terminate, or hangup) the worker finishes
 * the file in hand and then exits like the signal (a shell sees death by
 * SIGINT); on the second it exits at once, removing the temporary file, so
 * no partial output is left.
 *
 * Everything shutdown-related is tether_main(): the policy (graceful first,
 * forced second), the token checked between files, and the exit status.
 * --delay-ms slows the work down (per KiB) so that a test can interrupt it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether.h"

#ifdef _WIN32
#include <windows.h>
static void sleep_ms(int ms) { Sleep((DWORD)ms); }
static int replace_file(const char *from, const char *to) {
  return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
}
#define PATH_SEP '\\'
#else
#include <time.h>
static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
}
static int replace_file(const char *from, const char *to) { return rename(from, to); }
#define PATH_SEP '/'
#endif

typedef struct job {
  const char *out_dir;
  int delay_ms;
  char **files;
  int nfiles;
} job;

/* The temporary file being written, for the forced-exit callback (which runs
 * on tether's thread just before the process ends). */
static char current_tmp[4096];
static volatile int writing;

static void on_shutdown(int action, const tether_event *ev, void *userdata) {
  (void)userdata;
  if (action == TETHER_SHUTDOWN_STARTED)
    fprintf(stderr, "graceful_worker: %s: finishing the file in hand (again to quit now)\n",
            tether_kind_name(ev->kind));
  if ((action == TETHER_SHUTDOWN_FORCED || action == TETHER_SHUTDOWN_GRACE_EXPIRED) && writing)
    (void)remove(current_tmp); /* never leave a partial file behind */
}

static const char *base_name(const char *path) {
  const char *b = path, *p;
  for (p = path; *p != '\0'; p++)
    if (*p == '/' || *p == '\\')
      b = p + 1;
  return b;
}

/* Transform one file; 0 on success. */
static int transform(const job *j, const char *in_path) {
  char out_path[4096], buf[1024];
  FILE *in, *out;
  size_t n, i;
  int ok = 1;
  snprintf(out_path, sizeof(out_path), "%s%c%s", j->out_dir, PATH_SEP, base_name(in_path));
  snprintf(current_tmp, sizeof(current_tmp), "%s%c.%s.tmp", j->out_dir, PATH_SEP,
           base_name(in_path));
  if ((in = fopen(in_path, "rb")) == NULL) {
    perror(in_path);
    return -1;
  }
  writing = 1;
  if ((out = fopen(current_tmp, "wb")) == NULL) {
    perror(current_tmp);
    writing = 0;
    fclose(in);
    return -1;
  }
  printf("working on %s\n", base_name(in_path));
  fflush(stdout);
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
    for (i = 0; i < n; i++)
      if (buf[i] >= 'a' && buf[i] <= 'z')
        buf[i] = (char)(buf[i] - 'a' + 'A');
    if (fwrite(buf, 1, n, out) != n)
      ok = 0;
    if (j->delay_ms > 0)
      sleep_ms(j->delay_ms);
  }
  if (ferror(in) || fclose(out) != 0)
    ok = 0;
  fclose(in);
  if (!ok || replace_file(current_tmp, out_path) != 0) {
    fprintf(stderr, "graceful_worker: cannot write %s\n", out_path);
    (void)remove(current_tmp);
    writing = 0;
    return -1;
  }
  writing = 0;
  printf("done %s\n", base_name(in_path));
  fflush(stdout);
  return 0;
}

static int run(tether_token *token, void *userdata) {
  const job *j = (const job *)userdata;
  int i;
  for (i = 0; i < j->nfiles; i++) {
    if (tether_token_cancelled(token)) {
      printf("stopping before %s\n", base_name(j->files[i]));
      return 0; /* tether_main then exits like the event */
    }
    if (transform(j, j->files[i]) != 0)
      return 1;
  }
  return 0;
}

int self_test(const char *self); /* graceful_worker_test.c */

int main(int argc, char **argv) {
  job j;
  tether_shutdown_options o;
  int i, r;
  memset(&j, 0, sizeof(j));
  if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
    return self_test(argv[0]);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
      j.delay_ms = atoi(argv[++i]);
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      j.out_dir = argv[++i];
    else
      break;
  }
  j.files = argv + i;
  j.nfiles = argc - i;
  if (j.out_dir == NULL || j.nfiles == 0) {
    fprintf(stderr, "usage: graceful_worker [--delay-ms N] --out DIR FILE...\n"
                    "       graceful_worker --self-test\n");
    return 2;
  }
  tether_shutdown_options_init(&o, TETHER_SHUTDOWN_OPTIONS_VERSION);
  o.notify = on_shutdown;
  r = tether_main(&o, run, &j);
  fprintf(stderr, "graceful_worker: cannot install the shutdown policy: %s\n", tether_strerror(r));
  return 1;
}
