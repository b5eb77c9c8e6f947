/* SPDX-License-Identifier: MIT */
/*
 * A property of ThreadSanitizer's runtime (gcc 12's libtsan), not of tether:
 * two different asynchronous signals arriving close together can leave the
 * receiving thread with every signal blocked, for good. TSan queues an
 * asynchronous signal and runs the program's handler later, from
 * ProcessPendingSignals(), with all signals blocked and the thread's mask
 * saved in one per-thread slot. A second kind queued in the window before
 * that block is handled by a nested ProcessPendingSignals() (entered from
 * the first handler's write()), which overwrites the saved slot with the
 * all-blocked mask; the outer one then "restores" that. Reported as
 * google/sanitizers#1855, fixed in LLVM by llvm/llvm-project#138599 (2025);
 * gcc 12 has the old code.
 *
 * This program shows it without tether: handlers for SIGUSR1 and SIGUSR2
 * that write() a byte to a pipe, four children sending 5000 of each kind,
 * and after each round the main thread's mask is read. Measured here: the
 * mask was left all-blocked after 5 of 100 rounds (8 of 100 with 25000 per
 * child); built without TSan, 0 of 100.
 *
 * Built and run in the tsan lane only (ctest `tsan_nested_signals`). It
 * passes when some round within MAX_ROUNDS shows the bug, which the test
 * suite works around (tests/support.c: tt_signal_mask_check restores the
 * mask, prints a note, and fails a test for any other change of the mask).
 * When a future TSan fixes it, this fails: then remove the work-around.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUNDS 300 /* at ~5% per round, all 300 clean is ~2e-7 */
#define SENDERS 4
#define PER_SENDER 5000

static int bell[2];

static void on_signal(int s) {
  char c = (char)s;
  int saved = errno;
  (void)!write(bell[1], &c, 1);
  errno = saved;
}

/* One round; 1 when it left SIGUSR1 blocked in this thread. */
static int round_blocks(void) {
  pid_t pids[SENDERS], me = getpid();
  int i, alive = SENDERS;
  sigset_t cur, none;
  for (i = 0; i < SENDERS; i++) {
    pids[i] = fork();
    if (pids[i] < 0) {
      perror("fork");
      exit(2);
    }
    if (pids[i] == 0) {
      int k;
      for (k = 0; k < PER_SENDER; k++)
        (void)kill(me, i % 2 ? SIGUSR2 : SIGUSR1);
      _exit(0);
    }
  }
  while (alive > 0) {
    struct pollfd p;
    char buf[256];
    p.fd = bell[0];
    p.events = POLLIN;
    p.revents = 0;
    (void)poll(&p, 1, 50);
    (void)!read(bell[0], buf, sizeof(buf));
    for (i = 0; i < SENDERS; i++)
      if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
        pids[i] = 0;
        alive--;
      }
  }
  (void)pthread_sigmask(SIG_SETMASK, NULL, &cur);
  if (sigismember(&cur, SIGUSR1) != 1)
    return 0;
  sigemptyset(&none);
  (void)pthread_sigmask(SIG_SETMASK, &none, NULL);
  return 1;
}

int main(void) {
  struct sigaction sa;
  int r;
  if (pipe(bell) != 0 || fcntl(bell[0], F_SETFL, O_NONBLOCK) != 0 ||
      fcntl(bell[1], F_SETFL, O_NONBLOCK) != 0) {
    perror("pipe");
    return 2;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, NULL) != 0 || sigaction(SIGUSR2, &sa, NULL) != 0) {
    perror("sigaction");
    return 2;
  }
  for (r = 1; r <= MAX_ROUNDS; r++) {
    if (round_blocks()) {
      printf("round %d of at most %d left every signal blocked in the main "
             "thread: ThreadSanitizer's nested-signal bug is still there, "
             "keep tests/support.c's work-around\n",
             r, MAX_ROUNDS);
      return 0;
    }
  }
  printf("%d rounds, the mask never left blocked: this ThreadSanitizer has "
         "fixed google/sanitizers#1855; remove the work-around in "
         "tests/support.c (tt_signal_mask_check) and this test\n",
         MAX_ROUNDS);
  return 1;
}
