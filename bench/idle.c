/* SPDX-License-Identifier: MIT */
/*
 * idle.c: the idle cost of an open channel (a child blocked in tether_channel_wait: context
 * switches, CPU time, state) and the memory each channel adds.
 */
#include "bench.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Idle cost                                                                */
/* ------------------------------------------------------------------------ */

static int64_t proc_cpu_ns(pid_t pid) {
  clockid_t cid;
  struct timespec ts;
  if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) != 0)
    return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child: open a channel watching interrupt and terminate, say ready
 * (one byte on res_fd), wait; then write what the wait cost. */
static int idle_child(void *arg, int res_fd) {
  bench_idle_child_report rep;
  struct rusage r0, r1;
  struct timespec c0, c1;
  tether_channel *ch = NULL;
  tether_event ev;
  char c = 'r';
  (void)arg;
  memset(&rep, 0, sizeof(rep));
  if (tether_channel_new(&ch, NULL) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0) < 0)
    return 30;
  if (bench_write_all(res_fd, &c, 1) < 0)
    return 31;
  (void)getrusage(RUSAGE_SELF, &r0);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  rep.rc = tether_channel_wait(ch, &ev, -1);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  (void)getrusage(RUSAGE_SELF, &r1);
  rep.vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
  rep.ivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
  rep.cpu_ns = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec);
  rep.kind = rep.rc == 1 ? ev.kind : 0;
  return bench_write_all(res_fd, &rep, sizeof(rep)) < 0 ? 32 : 0;
}

static bench_idle_result run_idle(int idle_ms) {
  bench_idle_result out;
  int fd;
  pid_t pid;
  char c, path[64], sc[128];
  bench_proc_status s0, s1;
  int64_t cpu0, cpu1;
  memset(&out, 0, sizeof(out));
  out.window_s = idle_ms / 1000.0;
  fd = bench_fork_worker(idle_child, NULL, -1, &pid);
  if (fd < 0)
    return out;
  if (bench_read_all(fd, &c, 1) < 0)
    goto fail;
  bench_sleep_us(100000L); /* let it enter the wait */
  if (bench_read_status(pid, &s0) < 0 || (cpu0 = proc_cpu_ns(pid)) < 0)
    goto fail;
  bench_sleep_us((long)idle_ms * 1000L);
  if (bench_read_status(pid, &s1) < 0 || (cpu1 = proc_cpu_ns(pid)) < 0)
    goto fail;
  (void)snprintf(path, sizeof(path), "/proc/%ld/wchan", (long)pid);
  if (bench_read_text(path, out.wchan, sizeof(out.wchan)) < 0)
    out.wchan[0] = '\0';
  (void)snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
  if (bench_read_text(path, sc, sizeof(sc)) == 0)
    bench_copy_until(out.syscall_nr, sizeof(out.syscall_nr), sc, " ");
  out.win_vcsw = s1.vcsw - s0.vcsw;
  out.win_ivcsw = s1.ivcsw - s0.ivcsw;
  out.win_cpu_ns = cpu1 - cpu0;
  out.threads = s1.threads;
  memcpy(out.state, s1.state, sizeof(out.state));
  if (kill(pid, SIGTERM) < 0 || bench_read_all(fd, &out.child, sizeof(out.child)) < 0)
    goto fail;
  out.ok = out.child.rc == 1 && out.child.kind == TETHER_EVENT_TERMINATE;
  (void)close(fd);
  bench_report_child("idle", "child", pid);
  return out;
fail:
  (void)kill(pid, SIGKILL);
  (void)close(fd);
  (void)waitpid(pid, NULL, 0);
  out.ok = 0;
  return out;
}

/* ------------------------------------------------------------------------ */
/* Memory per channel                                                       */
/* ------------------------------------------------------------------------ */

/* The child: memory before and after opening 1, then 100 channels. */
static int mem_child(void *arg, int res_fd) {
  bench_mem_result r;
  tether_channel *ch[100];
  int i;
  (void)arg;
  memset(&r, 0, sizeof(r));
  (void)bench_mem_now(); /* warm up opendir/readdir's own allocations */
  r.base = bench_mem_now();
  if (tether_channel_new(&ch[0], NULL) < 0)
    return 40;
  r.one = bench_mem_now();
  for (i = 1; i < 100; i++)
    if (tether_channel_new(&ch[i], NULL) < 0)
      return 41;
  r.hundred = bench_mem_now();
  r.ok = 1;
  for (i = 0; i < 100; i++)
    tether_channel_free(ch[i]);
  return bench_write_all(res_fd, &r, sizeof(r)) < 0 ? 42 : 0;
}

static bench_mem_result run_mem(void) {
  bench_mem_result r;
  int fd;
  pid_t pid;
  memset(&r, 0, sizeof(r));
  fd = bench_fork_worker(mem_child, NULL, -1, &pid);
  if (fd < 0)
    return r;
  if (bench_read_all(fd, &r, sizeof(r)) < 0)
    r.ok = 0;
  (void)close(fd);
  bench_report_child("memory", "child", pid);
  return r;
}

/* Step 2: the idle channel, then the memory per channel. 0, or 1 when
 * either failed. */
int bench_idle_step(const bench_options *o, bench_results *r) {
  int failed = 0;
  fprintf(stderr, "tether_bench: idle window %d ms\n", o->idle_ms);
  r->idle = run_idle(o->idle_ms);
  r->idle_done = 1;
  if (!r->idle.ok) {
    fprintf(stderr, "tether_bench: idle measurement failed\n");
    failed = 1;
  }
  r->mem = run_mem();
  if (!r->mem.ok) {
    fprintf(stderr, "tether_bench: memory measurement failed\n");
    failed = 1;
  }
  return failed;
}
