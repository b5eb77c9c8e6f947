/* SPDX-License-Identifier: MIT */
/*
 * The channel doorbell: an eventfd on Linux, a pipe elsewhere (macOS has no
 * eventfd and no pipe2). Both ends are close-on-exec and non-blocking. The
 * doorbell carries no payload: a full pipe is already readable, so a failed
 * write loses nothing.
 *
 * fork(): a child that keeps running without exec must not share doorbells
 * with its parent (a signal to the child would wake the parent's channel, and
 * the child's drain would eat the parent's wakeups). An atfork child handler
 * gives every open doorbell fresh descriptors under the same numbers.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(TETHER_LINUX)
#include <sys/eventfd.h>
#endif

#include "backend.h"
#include "keeper.h" /* tether__spawn_after_fork */

struct tether__bell {
  int rfd;
  int wfd; /* == rfd for an eventfd */
  struct tether__bell *prev, *next;
};

static pthread_mutex_t tether__bells_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tether__bell *tether__bells;
static pthread_once_t tether__atfork_once = PTHREAD_ONCE_INIT;

#if !defined(TETHER_LINUX)
/* Make fd non-blocking and close-on-exec. FD_CLOEXEC is a descriptor flag
 * (F_SETFD); O_NONBLOCK is a status flag (F_SETFL). */
static int tether__fd_setup(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    return -1;
  return 0;
}
#endif

/* Create the descriptors of a doorbell. */
static int tether__bell_fds(int *rfd, int *wfd) {
#if defined(TETHER_LINUX)
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0)
    return -1;
  *rfd = *wfd = fd;
  return 0;
#else
  /* No pipe2 on macOS: there is a short window in which a concurrent
   * fork+exec in another thread could inherit these descriptors. tether's
   * own spawns close every descriptor they were not asked to pass. */
  int p[2];
  if (pipe(p) < 0)
    return -1;
  if (tether__fd_setup(p[0]) < 0 || tether__fd_setup(p[1]) < 0) {
    int e = errno;
    (void)close(p[0]);
    (void)close(p[1]);
    errno = e;
    return -1;
  }
  *rfd = p[0];
  *wfd = p[1];
  return 0;
#endif
}

/* The one fork handler of the library (tether__os_fork_init registers it
 * when the first object is made). Lock order: the global lock, the core's
 * locks (tether__fork_prepare), the doorbell list. */
static void tether__atfork_prepare(void) {
  tether__global_lock();
  tether__fork_prepare();
  (void)pthread_mutex_lock(&tether__bells_lock);
}

static void tether__atfork_parent(void) {
  (void)pthread_mutex_unlock(&tether__bells_lock);
  tether__fork_parent();
  tether__global_unlock();
}

/* Move a fresh descriptor onto an old number (dup2 clears FD_CLOEXEC, so
 * set it again). On failure the old descriptor is left as it was. */
static void tether__replace_fd(int oldfd, int newfd) {
  if (dup2(newfd, oldfd) >= 0)
    (void)fcntl(oldfd, F_SETFD, FD_CLOEXEC);
  (void)close(newfd);
}

static void tether__atfork_child(void) {
  struct tether__bell *b;
  for (b = tether__bells; b != NULL; b = b->next) {
    int r, w;
    if (tether__bell_fds(&r, &w) < 0)
      continue; /* out of descriptors: keep sharing (documented) */
    tether__replace_fd(b->rfd, r);
    if (w != r)
      tether__replace_fd(b->wfd, w);
  }
  (void)pthread_mutex_unlock(&tether__bells_lock);
  tether__spawn_after_fork();
  tether__after_fork_child();
  tether__global_unlock();
}

static void tether__atfork_register(void) {
  (void)pthread_atfork(tether__atfork_prepare, tether__atfork_parent, tether__atfork_child);
}

void tether__os_fork_init(void) {
  (void)pthread_once(&tether__atfork_once, tether__atfork_register);
}

int tether__bell_open(tether__bell **out) {
  tether__bell *b;
  tether__os_fork_init();
  b = (tether__bell *)calloc(1, sizeof(*b));
  if (b == NULL)
    return TETHER_ENOMEM;
  if (tether__bell_fds(&b->rfd, &b->wfd) < 0) {
    int r = tether__translate_os_error(errno);
    free(b);
    return r;
  }
  (void)pthread_mutex_lock(&tether__bells_lock);
  b->next = tether__bells;
  if (tether__bells != NULL)
    tether__bells->prev = b;
  tether__bells = b;
  (void)pthread_mutex_unlock(&tether__bells_lock);
  *out = b;
  return 0;
}

void tether__bell_free(tether__bell *b) {
  if (b == NULL)
    return;
  (void)pthread_mutex_lock(&tether__bells_lock);
  if (b->prev != NULL)
    b->prev->next = b->next;
  else
    tether__bells = b->next;
  if (b->next != NULL)
    b->next->prev = b->prev;
  (void)pthread_mutex_unlock(&tether__bells_lock);
  if (b->wfd != b->rfd)
    (void)close(b->wfd);
  (void)close(b->rfd);
  free(b);
}

/* Async-signal-safe: one write, errno preserved, EAGAIN (full) ignored. */
void tether__bell_ring(tether__bell *b) {
  int saved = errno;
  ssize_t n;
#if defined(TETHER_LINUX)
  uint64_t one = 1;
  n = write(b->wfd, &one, sizeof(one));
#else
  char c = 0;
  n = write(b->wfd, &c, 1);
#endif
  (void)n;
  errno = saved;
}

void tether__bell_drain(tether__bell *b) {
  int saved = errno;
#if defined(TETHER_LINUX)
  /* One read empties an eventfd (it holds a counter, not bytes). */
  uint64_t v;
  ssize_t n = read(b->rfd, &v, sizeof(v));
  (void)n;
#else
  /* A pipe: read until a short read says it is empty (no EAGAIN round). */
  char buf[256];
  while (read(b->rfd, buf, sizeof(buf)) == (ssize_t)sizeof(buf)) {
  }
#endif
  errno = saved;
}

int tether__bell_wait(tether__bell *b, int timeout_ms) {
  struct pollfd p;
  int r;
  p.fd = b->rfd;
  p.events = POLLIN;
  p.revents = 0;
  r = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
  if (r < 0) {
    if (errno == EINTR)
      return 1; /* the caller re-checks and recomputes its timeout */
    return tether__translate_os_error(errno);
  }
  return r > 0 ? 1 : 0;
}

tether_os_handle tether__bell_handle(const tether__bell *b) { return b == NULL ? -1 : b->rfd; }
