/* SPDX-License-Identifier: MIT */
/*
 * Tethered children, portable part: argument checks, the exit record and
 * waiting, the graceful stop sequence, reporting to a channel. The OS work
 * (keeper process / Job Objects) is in posix/spawn.c and win32/spawn.c.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "deadline.h"
#include "stop.h"

static int tether__valid_stdio(const tether_stdio *s) {
  return s->mode >= TETHER_STDIO_INHERIT && s->mode <= TETHER_STDIO_HANDLE;
}

static int tether__valid_env_set(const char *const *env) {
  for (; env != NULL && *env != NULL; env++) {
    const char *eq = strchr(*env, '=');
    if (eq == NULL || eq == *env)
      return 0; /* "NAME=value" with a non-empty name */
  }
  return 1;
}

static int tether__valid_env_unset(const char *const *names) {
  for (; names != NULL && *names != NULL; names++)
    if ((*names)[0] == '\0' || strchr(*names, '=') != NULL)
      return 0;
  return 1;
}

static int tether__int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return x < y ? -1 : x > y;
}

/* The shape of the extra descriptors, the same on every OS: a list when
 * nextra > 0, not too many, targets >= 3 and distinct. (Whether each
 * handle is open, and the descriptor limit, are the backend's to check.)
 * 0, TETHER_EINVAL or TETHER_ENOMEM. */
static int tether__valid_extra(const tether_spawn_options *opts) {
  int *t, r = 0;
  size_t i;
  if (opts->nextra == 0)
    return 0;
  if (opts->extra == NULL || opts->nextra > TETHER_SPAWN_MAX_EXTRA)
    return TETHER_EINVAL;
  for (i = 0; i < opts->nextra; i++)
    if (opts->extra[i].target < 3)
      return TETHER_EINVAL;
  t = (int *)malloc(opts->nextra * sizeof(*t));
  if (t == NULL)
    return TETHER_ENOMEM;
  for (i = 0; i < opts->nextra; i++)
    t[i] = opts->extra[i].target;
  qsort(t, opts->nextra, sizeof(*t), tether__int_cmp);
  for (i = 1; i < opts->nextra && r == 0; i++)
    if (t[i] == t[i - 1])
      r = TETHER_EINVAL;
  free(t);
  return r;
}

static void tether__child_destroy(tether_child *c) {
  if (c->cond != NULL)
    tether__cond_free(c->cond);
  if (c->lock != NULL)
    tether__mutex_free(c->lock);
  free(c);
}

int tether_spawn(tether_child **out, const char *const *argv, const tether_spawn_options *opts) {
  static const tether_spawn_options none = TETHER_SPAWN_OPTIONS_INIT;
  tether_child *c;
  int r, i, post;
  if (out != NULL)
    *out = NULL;
  if (out == NULL || argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
    return TETHER_EINVAL;
  if (opts == NULL)
    opts = &none;
  /* Version 1 is the only one so far: a later version would be read here
   * field by field up to what opts->version has (docs/abi.md). */
  if (!TETHER__VERSION_KNOWN(opts->version, TETHER_SPAWN_OPTIONS_VERSION))
    return TETHER_EINVAL;
  if ((opts->flags &
       ~(unsigned)(TETHER_SPAWN_DETACHED | TETHER_SPAWN_CLEAR_ENV | TETHER_SPAWN_NO_SEARCH |
                   TETHER_SPAWN_CONSOLE_GROUP | TETHER_SPAWN_CATCH_ESCAPEES |
                   TETHER_SPAWN_RESET_SIGNALS | TETHER_SPAWN_ALLOW_BREAKAWAY)) != 0)
    return TETHER_EINVAL;
  /* Letting descendants leave contradicts catching them, and a detached
   * child has no tree to leave. */
  if ((opts->flags & TETHER_SPAWN_ALLOW_BREAKAWAY) &&
      (opts->flags & (TETHER_SPAWN_CATCH_ESCAPEES | TETHER_SPAWN_DETACHED)))
    return TETHER_EINVAL;
  /* A detached child is nobody's to catch. */
  if ((opts->flags & TETHER_SPAWN_DETACHED) && (opts->flags & TETHER_SPAWN_CATCH_ESCAPEES))
    return TETHER_EINVAL;
  /* A detached child leaves the console (Windows) or the session (POSIX):
   * it cannot share this process's console group. */
  if ((opts->flags & TETHER_SPAWN_DETACHED) && (opts->flags & TETHER_SPAWN_CONSOLE_GROUP))
    return TETHER_EINVAL;
  for (i = 0; i < 3; i++)
    if (!tether__valid_stdio(&opts->stdio[i]))
      return TETHER_EINVAL;
  if (!tether__valid_env_set(opts->env_set) || !tether__valid_env_unset(opts->env_unset))
    return TETHER_EINVAL;
  if (opts->cwd != NULL && opts->cwd[0] == '\0')
    return TETHER_EINVAL;
  if ((r = tether__valid_extra(opts)) < 0)
    return r;

  tether__os_fork_init();
  c = (tether_child *)calloc(1, sizeof(*c));
  if (c == NULL)
    return TETHER_ENOMEM;
  c->pid = -1;
  c->fork_gen = tether__fork_generation();
  c->flags = opts->flags;
  for (i = 0; i < 3; i++)
    c->stdio[i] = tether__bell_handle(NULL); /* the invalid handle */
  if ((r = tether__mutex_new(&c->lock)) < 0 || (r = tether__cond_new(&c->cond)) < 0) {
    tether__child_destroy(c);
    return r;
  }
  /* Bind before starting, so that an exit cannot be missed. */
  if (opts->channel != NULL) {
    tether__global_lock();
    r = tether__channel_bind_child(opts->channel, c);
    tether__global_unlock();
    if (r < 0) {
      tether__child_destroy(c);
      return r;
    }
  }
  r = tether__os_spawn(c, argv, opts);
  if (r < 0) {
    tether__global_lock();
    tether__channel_unbind_child(c);
    tether__global_unlock();
    tether__child_destroy(c);
    return r;
  }
  /* Only now may the child be handed out by a CHILD event: an exit that
   * came while the backend was still filling c in was held back. After the
   * post, another thread may free c: nothing below touches it. */
  *out = c;
  tether__mutex_lock(c->lock);
  c->published = 1;
  post = c->post_deferred;
  tether__mutex_unlock(c->lock);
  if (post) {
    tether__global_lock();
    tether__channel_post_child(c);
    tether__global_unlock();
  }
  return 0;
}

void tether__child_exited(tether_child *c, uint32_t raw) {
  int post;
  tether__mutex_lock(c->lock);
  if (c->exited) {
    tether__mutex_unlock(c->lock);
    return;
  }
  c->raw = raw;
  c->exit_ns = tether__now_ns();
  c->exited = 1;
  post = c->published;
  if (!post)
    c->post_deferred = 1; /* tether_spawn() posts it when it is done */
  tether__cond_broadcast(c->cond);
  tether__mutex_unlock(c->lock);
  if (post) {
    tether__global_lock();
    tether__channel_post_child(c);
    tether__global_unlock();
  }
  tether__token_child_exited(c);
}

/* Every public call that may block or touch backend state counts itself as
 * a user, so that tether_child_free() can wait until they have left. A call
 * that starts after the free began gets TETHER_ECLOSED. */
/* Made before a fork() without exec: the process is the parent's child,
 * and nothing in this process will ever report its exit. */
static int tether__child_inherited(const tether_child *c) {
  return c->fork_gen != tether__fork_generation();
}

static int tether__child_enter(tether_child *c) {
  int r = 0;
  if (tether__child_inherited(c))
    return TETHER_ECLOSED;
  tether__mutex_lock(c->lock);
  if (c->freeing)
    r = TETHER_ECLOSED;
  else
    c->users++;
  tether__mutex_unlock(c->lock);
  return r;
}

static void tether__child_leave(tether_child *c) {
  tether__mutex_lock(c->lock);
  if (--c->users == 0 && c->freeing)
    tether__cond_broadcast(c->cond);
  tether__mutex_unlock(c->lock);
}

int64_t tether_child_pid(const tether_child *c) { return c == NULL ? -1 : c->pid; }

tether_os_handle tether_child_stdio(const tether_child *c, int index) {
  if (c == NULL || index < 0 || index > 2)
    return tether__bell_handle(NULL);
  return c->stdio[index];
}

int tether_child_close_stdio(tether_child *c, int index) {
  tether_os_handle h, invalid = tether__bell_handle(NULL);
  if (c == NULL || index < 0 || index > 2)
    return TETHER_EINVAL;
  tether__mutex_lock(c->lock);
  if (c->freeing) {
    tether__mutex_unlock(c->lock);
    return TETHER_ECLOSED;
  }
  h = c->stdio[index];
  c->stdio[index] = invalid;
  tether__mutex_unlock(c->lock);
  if (h == invalid)
    return TETHER_EINVAL;
  tether__os_close_handle(h);
  return 0;
}

static int tether__child_signal(tether_child *c, int kind) {
  if (!tether__kind_has(kind, TETHER__K_CHILD_SIGNAL))
    return TETHER_EINVAL;
  return tether__os_child_signal(c, kind);
}

/* fn(c, arg) as a user of c, which is then not freed meanwhile. */
static int tether__child_call(tether_child *c, int (*fn)(tether_child *, int), int arg) {
  int r;
  if (c == NULL)
    return TETHER_EINVAL;
  if ((r = tether__child_enter(c)) < 0)
    return r;
  r = fn(c, arg);
  tether__child_leave(c);
  return r;
}

int tether_child_signal(tether_child *c, int kind) {
  return tether__child_call(c, tether__child_signal, kind);
}

int tether_child_signal_native(tether_child *c, int signo) {
  if (signo <= 0)
    return TETHER_EINVAL;
  return tether__child_call(c, tether__os_child_signal_native, signo);
}

int tether__child_kill(tether_child *c) {
  tether__mutex_lock(c->lock);
  if (!c->exited)
    c->kill_sent = 1;
  tether__mutex_unlock(c->lock);
  return tether__os_child_kill(c);
}

static int tether__child_kill_call(tether_child *c, int unused) {
  (void)unused;
  return tether__child_kill(c);
}

int tether_child_kill(tether_child *c) { return tether__child_call(c, tether__child_kill_call, 0); }

void tether__child_exit_status(const tether_child *c, tether_status *st) {
  (void)tether_status_decode(c->raw, st);
  /* KILLED only when tether sent the kill and the status is the kill's
   * (the child may have exited on its own just before). */
  if (c->kill_sent && tether__os_is_kill_status(c->raw))
    st->kind = TETHER_STATUS_KILLED;
}

/* Wait for the exit record; the caller is a user of c. A detached child
 * does not end when it is freed: its waiters get TETHER_ECLOSED then. */
int tether__child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  uint64_t deadline = tether__deadline(timeout_ms);
  int r = 1;
  tether__mutex_lock(c->lock);
  while (!c->exited) {
    int left;
    if (c->freeing && (c->flags & TETHER_SPAWN_DETACHED)) {
      r = TETHER_ECLOSED;
      break;
    }
    left = tether__ms_left(timeout_ms, deadline);
    if (left == 0) {
      r = 0;
      break;
    }
    (void)tether__cond_wait(c->cond, c->lock, left);
  }
  if (r == 1 && st != NULL)
    tether__child_exit_status(c, st);
  tether__mutex_unlock(c->lock);
  return r;
}

int tether_child_wait(tether_child *c, int timeout_ms, tether_status *st) {
  int r;
  if (c == NULL)
    return TETHER_EINVAL;
  if ((r = tether__child_enter(c)) < 0)
    return r;
  r = tether__child_wait(c, timeout_ms, st);
  tether__child_leave(c);
  return r;
}

int tether_child_wait_tree(tether_child *c, int timeout_ms) {
  if (c != NULL && (c->flags & TETHER_SPAWN_DETACHED))
    return TETHER_ENOTSUP;
  return tether__child_call(c, tether__os_child_wait_tree, timeout_ms);
}

/* tether_child_stop(): the engine (core/stop.c) driven to its end from
 * this thread, which sleeps in the backend's tree wait between looks. */
static int tether__child_stop(tether_child *c, const tether_stop_step *steps, size_t nsteps,
                              tether_status *st) {
  tether__stop s;
  tether__stop_begin(&s, c, steps, nsteps);
  for (;;) {
    (void)tether__stop_work(&s, tether__now_ns());
    if (s.done)
      break;
    if (s.killed) {
      (void)tether__os_child_wait_tree(c, -1);
    } else {
      /* Up to the step's deadline (its timeout is an int of ms). */
      (void)tether__os_child_wait_tree(c, tether__ms_left(1, s.deadline));
    }
  }
  if (s.gave_up)
    return s.error;
  (void)tether__child_wait(c, -1, st);
  return (int)s.step;
}

int tether_child_stop(tether_child *c, const tether_stop_step *steps, size_t nsteps,
                      tether_status *st) {
  int r;
  if (c == NULL || tether__stop_steps(&steps, &nsteps) < 0)
    return TETHER_EINVAL;
  if (c->flags & TETHER_SPAWN_DETACHED)
    return TETHER_ENOTSUP;
  if ((r = tether__child_enter(c)) < 0)
    return r;
  r = tether__child_stop(c, steps, nsteps, st);
  tether__child_leave(c);
  return r;
}

void tether_child_free(tether_child *c) {
  int i, detached, busy;
  tether_os_handle invalid;
  if (c == NULL)
    return;
  invalid = tether__bell_handle(NULL);
  detached = (c->flags & TETHER_SPAWN_DETACHED) != 0;
  tether__token_disown(c);
  if (tether__child_inherited(c)) {
    /* In a fork()ed child: forget the parent's child without touching the
     * process, its keeper or any thread; calls that were blocked on it in
     * the parent are not here. Its pipe ends here are our copies: closed
     * below. */
    tether__os_child_forget(c);
  } else {
    /* Calls blocked in other threads: a tethered tree is killed now, so
     * their waits end with its real status (KILLED); a detached child's
     * waiters get TETHER_ECLOSED. Then wait until every call has left. */
    tether__mutex_lock(c->lock);
    c->freeing = 1;
    if (!c->exited && !detached)
      c->kill_sent = 1;
    busy = c->users > 0;
    tether__cond_broadcast(c->cond);
    tether__mutex_unlock(c->lock);
    if (busy && !detached)
      (void)tether__os_child_kill(c); /* else the release below kills it */
    tether__mutex_lock(c->lock);
    while (c->users > 0)
      (void)tether__cond_wait(c->cond, c->lock, -1);
    tether__mutex_unlock(c->lock);
    tether__os_child_release(c);
  }
  tether__global_lock();
  tether__channel_unbind_child(c);
  tether__global_unlock();
  for (i = 0; i < 3; i++)
    if (c->stdio[i] != invalid)
      tether__os_close_handle(c->stdio[i]);
  tether__child_destroy(c);
}

int tether__child_users(tether_child *c) { return tether__locked_read(c->lock, &c->users); }
