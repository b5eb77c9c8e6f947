/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE contract between the portable core (core/) and the OS backends
 * (posix/, win32/). Never installed. Every backend implements every function
 * declared here, in files with the same names in posix/ and win32/:
 *
 *   error.c   tether__translate_os_error
 *   sync.c    mutex, condition, thread, global lock, monotonic clock
 *   bell.c    the channel doorbell (eventfd / pipe / event object)
 *   source.c  native event sources (signals / console events / window)
 *   exit.c    tether_status_decode (public, per OS)
 *   spawn.c   tethered children (keeper process / Job Objects)
 *   send.c    events to any process (tether_send)
 *
 * Conventions:
 *   - functions return >= 0 on success, or a negative TETHER_E* already
 *     translated (by tether__translate_os_error, which also records the raw
 *     OS value for tether_last_os_error());
 *   - arguments were validated by the core.
 */
#ifndef TETHER_CORE_BACKEND_H
#define TETHER_CORE_BACKEND_H

#include "tether.h"

/* Built with ThreadSanitizer (gcc's __SANITIZE_THREAD__, clang's feature):
 * the few places that work around its runtime test this. */
#if defined(__SANITIZE_THREAD__)
#define TETHER__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TETHER__TSAN 1
#endif
#endif

/* ---- counting constants and options versions (kept out of tether.h) ---- */

/* One past the last kind: kinds are numbered densely from 1, and the kind
 * table (core/kinds.c) has one row per kind, so its size is the count. */
#define TETHER__KIND_COUNT tether__kind_count

/* ---- the kind table (core/kinds.c): one row per kind ---- */

/* What a kind may be used for (tether__kind_row.flags). */
enum {
  TETHER__K_SEND = 1u << 0,           /* tether_send() and stop steps send it */
  TETHER__K_POLICY = 1u << 1,         /* tether_shutdown_options.kinds may name it, */
  TETHER__K_POLICY_DEFAULT = 1u << 2, /* and kinds 0 means it (where the OS has it) */
  TETHER__K_EXIT_LIKE = 1u << 3,      /* tether_exit_like_kind() ends the process like it
                                         (where the OS has it: else TETHER_ENOTSUP) */
  TETHER__K_WATCH = 1u << 4,          /* tether_channel_watch() takes it (SIGNAL: by number) */
  TETHER__K_CHILD_SIGNAL = 1u << 5    /* tether_child_signal() sends it (SEND kinds, RESIZE) */
};

typedef struct tether__kind_row {
  const char *name; /* tether_kind_name() */
  unsigned flags;   /* TETHER__K_* */
} tether__kind_row;

/* Indexed by kind; row 0 (TETHER_EVENT_NONE) is empty. */
extern const tether__kind_row tether__kinds[];
extern const int tether__kind_count; /* rows in tether__kinds */

/* 1 when kind is a kind (1 .. TETHER__KIND_COUNT - 1) whose row has every
 * bit of flags, else 0 (flags 0: is it a kind at all). */
int tether__kind_has(int kind, unsigned flags);

/* How many error codes TETHER_ERRNO_MAP has; they are -1 .. -COUNT (core/
 * error.c checks at compile time that they are dense). */
#define TETHER__ERR_PLUS_ONE(name, value, msg) +1
enum { TETHER__ERR_COUNT = 0 TETHER_ERRNO_MAP(TETHER__ERR_PLUS_ONE) };
#undef TETHER__ERR_PLUS_ONE

/* True when an options version is one this library knows (1 .. current):
 * the public functions give TETHER_EINVAL for any other. */
#define TETHER__VERSION_KNOWN(version, current) \
  ((version) >= 1u && (version) <= (unsigned)(current))

/* The body of every tether_X_options_init(): opts (of `size` bytes, its
 * first field the unsigned version) becomes a copy of defaults with the
 * given version; 0, or TETHER_EINVAL for NULL or a version that is not
 * TETHER__VERSION_KNOWN (opts unchanged). */
int tether__options_init(void *opts, size_t size, const void *defaults, unsigned version,
                         unsigned current);

/* ---- errors (core/error.c owns the thread-local; backends translate) ---- */

/* Map a raw OS error (errno / GetLastError()) to a TETHER_E* code and record
 * it as the calling thread's last OS error. Exactly one per backend. */
int tether__translate_os_error(long os_code);

/* Record the raw OS error of the calling thread (core/error.c). */
void tether__set_last_os_error(long os_code);

/* ---- synchronisation (sync.c) ---- */

typedef struct tether__mutex tether__mutex;
typedef struct tether__cond tether__cond;
typedef struct tether__thread tether__thread;

int tether__mutex_new(tether__mutex **out);
void tether__mutex_free(tether__mutex *m);
void tether__mutex_lock(tether__mutex *m);
void tether__mutex_unlock(tether__mutex *m);
/* *v, read under m: a flag or count that m guards. */
static __inline int tether__locked_read(tether__mutex *m, const int *v) {
  int x;
  tether__mutex_lock(m);
  x = *v;
  tether__mutex_unlock(m);
  return x;
}

int tether__cond_new(tether__cond **out);
void tether__cond_free(tether__cond *c);
/* Wait with m held; returns 1 when woken (possibly spuriously), 0 on timeout.
 * timeout_ms < 0 waits forever. */
int tether__cond_wait(tether__cond *c, tether__mutex *m, int timeout_ms);
void tether__cond_broadcast(tether__cond *c);

/* The process-wide registry lock. Statically initialised; the POSIX backend
 * also holds it across fork() so that a child never inherits it locked. */
void tether__global_lock(void);
void tether__global_unlock(void);

/* Start a thread running fn(arg). */
int tether__thread_start(tether__thread **out, void (*fn)(void *), void *arg);
/* Wait for the thread to end and release it. */
void tether__thread_join(tether__thread *t);
/* Release the thread without waiting; it frees its own resources on exit. */
void tether__thread_detach(tether__thread *t);
/* Is the calling thread t? */
int tether__thread_is_self(const tether__thread *t);
/* Release the memory of a thread that no longer exists (in a forked child). */
void tether__thread_forget(tether__thread *t);
/* Let other threads run (used while waiting for signal handlers to leave). */
void tether__yield(void);

/* Monotonic nanoseconds. Async-signal-safe on POSIX. */
uint64_t tether__now_ns(void);

/* ---- doorbell (bell.c) ---- */

typedef struct tether__bell tether__bell;

int tether__bell_open(tether__bell **out);
void tether__bell_free(tether__bell *b);
/* Make the bell ready. Async-signal-safe, never blocks, never fails visibly
 * (a full pipe is already readable). */
void tether__bell_ring(tether__bell *b);
/* Make the bell not ready (consume every ring so far). */
void tether__bell_drain(tether__bell *b);
/* Wait until ready: 1 ready, 0 timeout, < 0 error. timeout_ms < 0: forever. */
int tether__bell_wait(tether__bell *b, int timeout_ms);
/* The native handle; for b == NULL the invalid handle (-1 / NULL). */
tether_os_handle tether__bell_handle(const tether__bell *b);

/* ---- native sources (source.c) ---- */

/* Source indices: POSIX uses the signal number (1..64); Windows uses its own
 * small numbers. TETHER__SRC_CHILD belongs to the core. */
#define TETHER__NSRC 128
#define TETHER__SRC_CHILD 127

/* Source flags. */
#define TETHER__SRC_NEEDS_ACK 1u /* OS ends the process after the handler */

typedef struct tether__src_info {
  int kind;         /* tether_kind */
  int code;         /* native code */
  const char *name; /* native name, static */
  unsigned flags;   /* TETHER__SRC_* */
} tether__src_info;

/* Describe a backend source; TETHER_EINVAL if src is not one. */
int tether__os_src_info(int src, tether__src_info *out);

/* The sources behind a kind (never TETHER_EVENT_SIGNAL or CHILD): stores up
 * to max indices and returns how many, or TETHER_ENOTSUP. */
int tether__os_kind_sources(int kind, int *srcs, int max);

/* The source for a signal number: 0 and *src, or TETHER_EINVAL (not a
 * signal), TETHER_EFORBIDDEN, TETHER_ENOTSUP (Windows). */
int tether__os_signal_source(int signo, int *src);

/* May a new watcher with these flags watch src? (TETHER_EIGNORED ...).
 * Called with the global lock held, for every watch. */
int tether__os_src_check(int src, unsigned flags);

/* First watcher arrived / last watcher left (global lock held). */
int tether__os_src_install(int src);
void tether__os_src_uninstall(int src);

/* 1 if signo was SIG_IGN at start, 0 if not, TETHER_EINVAL, TETHER_ENOTSUP. */
int tether__os_ignored_at_start(int signo);

/* Native signal name, or NULL (always NULL on Windows). */
const char *tether__os_signal_name(int signo);

/* ---- core services for backends (core/channel.c) ---- */

/* Sender not known. */
#define TETHER__UNKNOWN_ID (-1)

/* Record one delivery of src and ring every channel watching it.
 * Async-signal-safe: only lock-free atomics, the clock and bell rings. */
void tether__deliver(int src, int64_t pid, int64_t uid);

/* Number of channels watching src right now (lock-free read). */
int tether__src_watchers(int src);

/* For sources with TETHER__SRC_NEEDS_ACK (not async-signal-safe; Windows
 * handler threads): deliver, then block until every channel that watched src
 * at delivery time acknowledged it or was closed, or until deadline_ns
 * (tether__now_ns clock). Returns 1 if all acknowledged, 0 on deadline. */
int tether__deliver_and_wait_ack(int src, uint64_t deadline_ns);

/* ---- children (spawn.c; the portable part is core/child.c) ---- */

typedef struct tether__os_child tether__os_child;

/* The portable part of a child; backends read and set the marked fields. */
struct tether_child {
  /* Set by the backend's spawn: */
  int64_t pid;               /* process id (POSIX: also the group id) */
  tether_os_handle stdio[3]; /* parent ends of TETHER_STDIO_PIPE streams,
                                else the invalid handle */
  tether__os_child *os;      /* backend state */
  /* Core-owned (read-only for backends): */
  unsigned flags; /* tether_spawn_flags */
  tether__mutex *lock;
  tether__cond *cond;
  int exited;                           /* lock */
  uint32_t raw;                         /* lock: raw status once exited */
  uint64_t exit_ns;                     /* lock */
  int kill_sent;                        /* lock: tether killed the tree */
  int published;                        /* lock: tether_spawn() has finished */
  int post_deferred;                    /* lock: exited before it was published */
  int freeing;                          /* lock: tether_child_free() has begun */
  int users;                            /* lock: public calls in progress */
  unsigned fork_gen;                    /* tether__fork_generation() when made */
  tether_channel *channel;              /* global lock: where CHILD events go */
  struct tether_child *b_prev, *b_next; /* global lock: channel's bound list */
  struct tether_child *q_next;          /* channel's lock: event queue link */
  int q_state;                          /* channel's lock: 0 none, 1 queued, 2 taken */
  void *owner;                          /* token lock: its entry in the owning token
                                           (core/token.c), or NULL */
};

/* Start the child described by argv/opts (already validated by the core:
 * argv non-empty, stdio modes valid). On success set c->pid, c->stdio and
 * c->os; the backend then calls tether__child_exited(c, raw) exactly once,
 * from any thread, when the child process (not the tree) has exited. On
 * failure nothing is running and nothing leaks. */
int tether__os_spawn(tether_child *c, const char *const *argv, const tether_spawn_options *opts);

/* Send kind (INTERRUPT, QUIT, TERMINATE, HANGUP, USER1, USER2, RESIZE;
 * validated)
 * to the whole tree. TETHER_ESRCH when the tree is gone. */
int tether__os_child_signal(tether_child *c, int kind);

/* Send a native signal (any number tether_signal_name() knows, SIGSTOP and
 * SIGCONT included) to the whole tree: POSIX; Windows: TETHER_ENOTSUP.
 * TETHER_EINVAL for a number that is not a signal, TETHER_ESRCH when the
 * tree is gone. */
int tether__os_child_signal_native(tether_child *c, int signo);

/* Resume a stopped tree (POSIX: SIGCONT to the group), so that a graceful
 * step reaches a tree stopped by job control. 1 when the tree's leader was
 * stopped (or the backend cannot tell), 0 when it was not (Windows has no
 * such state: always 0), TETHER_ESRCH when the tree is gone. */
int tether__os_child_continue(tether_child *c);

/* Kill the whole tree now. TETHER_ESRCH when the tree is already gone. */
int tether__os_child_kill(tether_child *c);

/* Wait up to timeout_ms (< 0: forever) until no process of the tree is
 * alive: 1 gone, 0 timeout, < 0 error. Not called for detached children. */
int tether__os_child_wait_tree(tether_child *c, int timeout_ms);

/* Close a parent-side stdio handle. */
void tether__os_close_handle(tether_os_handle h);

/* Release the child: unless TETHER_SPAWN_DETACHED, kill the tree if it is
 * still there; reap; free c->os. After it returns the backend never calls
 * tether__child_exited(c) again. */
void tether__os_child_release(tether_child *c);

/* Is raw the status of a process killed by tether__os_child_kill (POSIX:
 * SIGKILL; Windows: exit code 137)? */
int tether__os_is_kill_status(uint32_t raw);

/* End this process at once, like an unhandled event of this kind (code:
 * the event's native code; POSIX uses it when it is a signal). Flushes
 * nothing and takes no lock, so any thread may call it (exit.c). */
void tether__os_exit_now(int kind, int code);

/* Core (core/shutdown.c): what the exit helpers flush before the process
 * ends: stdout, then stderr, then every stream (fflush(NULL)), each on a
 * thread of its own that the caller waits for at most timeout_ms. fflush
 * takes the stream's lock, and a thread blocked in fgets() holds its
 * stream's lock for as long as it reads: the exit must not hang on that.
 * What cannot be flushed in time is lost, as with _exit(); nothing is
 * flushed if no thread can be started. */
void tether__flush_all(int timeout_ms);

/* How long the exit helpers wait for each of those flushes. */
#define TETHER__EXIT_FLUSH_MS 500

/* Backends: the child process exited with raw status (core/child.c). */
void tether__child_exited(tether_child *c, uint32_t raw);

/* The normalized status of an exited child (core/child.c; c->lock held or
 * c known to have exited). */
void tether__child_exit_status(const tether_child *c, tether_status *st);

/* Core (core/channel.c), global lock held by the caller: bind a child to a
 * channel (0, TETHER_ECLOSED, or TETHER_EINVAL if the channel does not watch
 * TETHER_EVENT_CHILD), unbind it (drops a queued event), queue its exit
 * event. */
int tether__channel_bind_child(tether_channel *ch, tether_child *c);
void tether__channel_unbind_child(tether_child *c);
void tether__channel_post_child(tether_child *c);

/* Core (core/token.c): remove a child from the token that owns it, waiting
 * while the token's stop thread works on it. No lock held. */
void tether__token_disown(tether_child *c);

/* Core (core/token.c): c's exit was recorded; the stop thread of a token
 * that owns it looks at once. No lock held. */
void tether__token_child_exited(tether_child *c);

/* Core (core/token.c), for tests: threads blocked in tether_token_wait*()
 * on t right now. */
int tether__token_waiters(tether_token *t);

/* Core (core/child.c), for tests: public calls on c in progress. */
int tether__child_users(tether_child *c);

/* ---- sending to any process (send.c; the portable part is core/send.c) ---- */

/* Deliver kind (INTERRUPT, QUIT, TERMINATE, HANGUP, USER1, USER2, or NONE
 * for the kill; validated) to process pid, or with TETHER_SEND_GROUP to
 * process group pid (0 < pid <= 0x7FFFFFFF; flags validated). */
int tether__os_send(int64_t pid, int kind, unsigned flags);

/* ---- fork() (POSIX; the Windows backend has nothing to do) ---- */

/* Register the backend's one fork handler; called by the core whenever an
 * object is made (channel, child, token), so it is in place before any
 * tether lock can be held across a fork(). Cheap after the first call. */
void tether__os_fork_init(void);

/* The core's part of that handler (core/channel.c). Lock order, taken in
 * prepare and released in parent/child in reverse: the global lock (the
 * backend's), the acknowledgement lock, the token lock, every channel's
 * lock in slot order, then the backend's own (the doorbell list).
 *   tether__fork_prepare: after the global lock was taken.
 *   tether__fork_parent:  before the global lock is released.
 *   tether__after_fork_child: in the child, only the forking thread alive,
 *     before the global lock is released: forget what other threads were
 *     doing (handlers in flight, callback threads, blocked waiters, the
 *     token stop threads), mark every object made before as inherited, and
 *     release the core's locks. */
void tether__fork_prepare(void);
void tether__fork_parent(void);
void tether__after_fork_child(void);

/* How many fork()s without exec this process is away from the one that
 * made an object: objects remember it, and an object made in an ancestor
 * process is "inherited" (core/channel.c). */
unsigned tether__fork_generation(void);

/* Core (core/token.c): the token lock, for the fork handler. */
void tether__tok_fork_prepare(void);
void tether__tok_fork_parent(void);
void tether__tok_fork_child(void);

/* Forget an inherited child's backend state without touching any process
 * or thread (they belong to the parent): spawn.c. */
void tether__os_child_forget(tether_child *c);

#endif /* TETHER_CORE_BACKEND_H */
