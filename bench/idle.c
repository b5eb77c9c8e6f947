/* SPDX-License-Identifier: MIT */
/*
 * idle.c: the idle cost of an open channel (a child blocked in tether_channel_wait: context
 * switches, CPU time, state) and the memory each channel adds.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
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

static void idle_child(int ready_fd, int res_fd) {
  bench_idle_child_report rep;
  struct rusage r0, r1;
  struct timespec c0, c1;
  tether_channel *ch = NULL;
  tether_event ev;
  char c = 'r';
  memset(&rep, 0, sizeof(rep));
  if (tether_channel_new(&ch, NULL) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_INTERRUPT, TETHER_WATCH_IGNORED) < 0 ||
      tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0) < 0)
    _exit(30);
  if (bench_write_all(ready_fd, &c, 1) < 0)
    _exit(31);
  (void)getrusage(RUSAGE_SELF, &r0);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  rep.rc = tether_channel_wait(ch, &ev, -1);
  (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  (void)getrusage(RUSAGE_SELF, &r1);
  rep.vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
  rep.ivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
  rep.cpu_ns = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec);
  rep.kind = rep.rc == 1 ? ev.kind : 0;
  _exit(bench_write_all(res_fd, &rep, sizeof(rep)) < 0 ? 32 : 0);
}

bench_idle_result bench_run_idle(int idle_ms) {
  bench_idle_result out;
  int ready[2], res[2];
  pid_t pid;
  char c, path[64];
  bench_proc_status s0, s1;
  int64_t cpu0, cpu1;
  memset(&out, 0, sizeof(out));
  out.window_s = idle_ms / 1000.0;
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
    return out;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return out;
  if (pid == 0) {
    (void)close(ready[0]);
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    idle_child(ready[1], res[1]);
  }
  (void)close(ready[1]);
  (void)close(res[1]);
  if (bench_read_all(ready[0], &c, 1) < 0)
    goto fail;
  bench_sleep_ms(100); /* let it enter the wait */
  if (bench_read_status(pid, &s0) < 0 || (cpu0 = proc_cpu_ns(pid)) < 0)
    goto fail;
  bench_sleep_ms(idle_ms);
  if (bench_read_status(pid, &s1) < 0 || (cpu1 = proc_cpu_ns(pid)) < 0)
    goto fail;
  (void)snprintf(path, sizeof(path), "/proc/%ld/wchan", (long)pid);
  if (bench_read_text(path, out.wchan, sizeof(out.wchan)) < 0)
    out.wchan[0] = '\0';
  (void)snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
  {
    char sc[128];
    if (bench_read_text(path, sc, sizeof(sc)) == 0) {
      size_t i = 0;
      while (sc[i] != '\0' && sc[i] != ' ' && i + 1 < sizeof(out.syscall_nr)) {
        out.syscall_nr[i] = sc[i];
        i++;
      }
      out.syscall_nr[i] = '\0';
    }
  }
  out.win_vcsw = s1.vcsw - s0.vcsw;
  out.win_ivcsw = s1.ivcsw - s0.ivcsw;
  out.win_cpu_ns = cpu1 - cpu0;
  out.threads = s1.threads;
  memcpy(out.state, s1.state, sizeof(out.state));
  if (kill(pid, SIGTERM) < 0 || bench_read_all(res[0], &out.child, sizeof(out.child)) < 0)
    goto fail;
  out.ok = out.child.rc == 1 && out.child.kind == TETHER_EVENT_TERMINATE;
  (void)close(ready[0]);
  (void)close(res[0]);
  bench_report_child("idle", "child", pid);
  return out;
fail:
  (void)kill(pid, SIGKILL);
  (void)close(ready[0]);
  (void)close(res[0]);
  (void)waitpid(pid, NULL, 0);
  out.ok = 0;
  return out;
}

/* ------------------------------------------------------------------------ */
/* Memory per channel                                                       */
/* ------------------------------------------------------------------------ */

static void mem_child(int res_fd) {
  bench_mem_result r;
  tether_channel *ch[100];
  int i;
  memset(&r, 0, sizeof(r));
  (void)bench_mem_now(); /* warm up opendir/readdir's own allocations */
  r.base = bench_mem_now();
  if (tether_channel_new(&ch[0], NULL) < 0)
    _exit(40);
  r.one = bench_mem_now();
  for (i = 1; i < 100; i++)
    if (tether_channel_new(&ch[i], NULL) < 0)
      _exit(41);
  r.hundred = bench_mem_now();
  r.ok = 1;
  for (i = 0; i < 100; i++)
    tether_channel_free(ch[i]);
  _exit(bench_write_all(res_fd, &r, sizeof(r)) < 0 ? 42 : 0);
}

bench_mem_result bench_run_mem(void) {
  bench_mem_result r;
  int res[2];
  pid_t pid;
  memset(&r, 0, sizeof(r));
  if (pipe2(res, O_CLOEXEC) < 0)
    return r;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return r;
  if (pid == 0) {
    (void)close(res[0]);
    (void)alarm(CHILD_TIMEOUT_S);
    mem_child(res[1]);
  }
  (void)close(res[1]);
  if (bench_read_all(res[0], &r, sizeof(r)) < 0)
    r.ok = 0;
  (void)close(res[0]);
  bench_report_child("memory", "child", pid);
  return r;
}
