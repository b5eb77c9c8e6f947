/*
 * tether: one portable channel for every termination and control event,
 * and children that die with their parent.
 *
 * This is the only public header. It includes no operating-system header and
 * may be compiled as C99, C11 or C++.
 *
 * Conventions (they hold for every function below unless it says otherwise):
 *   - Functions that can fail return an int: >= 0 on success, or a negative
 *     TETHER_E* code. tether_strerror() turns a code into a sentence,
 *     tether_err_name() into its symbol name, and tether_last_os_error()
 *     returns the raw errno / GetLastError() value behind the last failure
 *     in the calling thread.
 *   - Arguments are checked in release builds too: a bad argument returns
 *     TETHER_EINVAL and changes nothing.
 *   - Objects are opaque, created by tether_X_new() and released by
 *     tether_X_free(); tether_X_free(NULL) does nothing.
 *   - Options structs are optional (NULL) and a zeroed struct means
 *     "defaults".
 */
#ifndef TETHER_H
#define TETHER_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Export macro                                                             */
/* ------------------------------------------------------------------------ */

/*
 * TETHER_SHARED is defined (by CMake's exported target and by tether.pc) when
 * tether is consumed as a shared library. TETHER_BUILDING is defined only
 * while tether itself is being compiled.
 */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(TETHER_SHARED) && defined(TETHER_BUILDING)
#    define TETHER_API __declspec(dllexport)
#  elif defined(TETHER_SHARED)
#    define TETHER_API __declspec(dllimport)
#  else
#    define TETHER_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TETHER_API __attribute__((visibility("default")))
#else
#  define TETHER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define TETHER_VERSION_MAJOR 0
#define TETHER_VERSION_MINOR 1
#define TETHER_VERSION_PATCH 0
/** The version as one comparable number: 0xMMmmpp. */
#define TETHER_VERSION_HEX \
  ((TETHER_VERSION_MAJOR << 16) | (TETHER_VERSION_MINOR << 8) | TETHER_VERSION_PATCH)

/**
 * The version of the tether library the program runs with.
 *
 * @return TETHER_VERSION_HEX of the library that was linked or loaded, which
 *         can differ from the header's when tether is a shared library.
 *         Never fails.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API unsigned tether_version(void);

/**
 * The version as a string, such as "0.1.0".
 *
 * @return a static string; the caller must not free it. Never NULL.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API const char *tether_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The one list of error codes. Each entry is XX(NAME, value, message). Values
 * are stable across versions; new codes are only ever appended.
 */
#define TETHER_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENOMEM, -2, "out of memory")                                              \
  XX(ENOTSUP, -3, "not supported on this platform")                            \
  XX(ECLOSED, -4, "object is already closed")                                  \
  XX(EFORBIDDEN, -5,                                                           \
     "signal cannot be watched (SIGKILL, SIGSTOP, a synchronous fault, or "    \
     "reserved by the C library)")                                             \
  XX(EIGNORED, -6,                                                             \
     "signal was ignored when the program started; pass "                      \
     "TETHER_WATCH_IGNORED to watch it anyway")                                \
  XX(ELIMIT, -7, "a tether limit was reached (too many open channels)")        \
  XX(EMFILE, -8, "too many open files in this process")                        \
  XX(ENFILE, -9, "too many open files in the system")                          \
  XX(EAGAIN, -10, "resource temporarily unavailable")                          \
  XX(ETIMEDOUT, -11, "timed out")                                              \
  XX(EINTR, -12, "interrupted")                                                \
  XX(ENOENT, -13, "no such file or directory")                                 \
  XX(EACCES, -14, "permission denied")                                         \
  XX(EPERM, -15, "operation not permitted")                                    \
  XX(ESRCH, -16, "no such process")                                            \
  XX(ECHILD, -17, "no such child process")                                     \
  XX(EBUSY, -18, "resource busy")                                              \
  XX(EEXIST, -19, "already exists")                                            \
  XX(ENOEXEC, -20, "not an executable")                                        \
  XX(ENOTDIR, -21, "not a directory")                                          \
  XX(ENAMETOOLONG, -22, "name too long")                                       \
  XX(E2BIG, -23, "argument list too long")                                     \
  XX(EPIPE, -24, "broken pipe")                                                \
  XX(EIO, -25, "input/output error")                                           \
  XX(EUNKNOWN, -26, "unknown system error")

/** Error codes: every failure is one of these negative values. */
typedef enum tether_error {
  TETHER_OK = 0,
#define TETHER__ERR_ENUM(name, value, msg) TETHER_##name = (value),
  TETHER_ERRNO_MAP(TETHER__ERR_ENUM)
#undef TETHER__ERR_ENUM
  TETHER__ERR_LAST = -27
} tether_error;

/**
 * Describe an error code in one sentence.
 *
 * @param err  a value returned by a tether function (0 or a TETHER_E* code).
 * @return a static, never NULL string. Unknown codes give "unknown error".
 *
 * Platform notes: POSIX / Windows: identical; the raw OS cause, when there
 * was one, is available from tether_last_os_error().
 */
TETHER_API const char *tether_strerror(int err);

/**
 * The symbol name of an error code, such as "TETHER_EINVAL".
 *
 * @param err  a value returned by a tether function.
 * @return a static, never NULL string: "TETHER_OK" for 0 and
 *         "TETHER_E_UNKNOWN_CODE" for values that are not in the list.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API const char *tether_err_name(int err);

/**
 * The raw operating-system error behind the most recent tether failure in
 * the calling thread.
 *
 * Every tether call that fails because of the OS records the OS value before
 * returning its TETHER_E* code; calls that succeed, or fail on argument
 * checks, leave it unchanged.
 *
 * @return errno (POSIX) or GetLastError() (Windows) of the last OS failure in
 *         this thread, or 0 if there was none.
 *
 * Platform notes: POSIX: an errno value. Windows: a GetLastError() value
 * (or a Winsock error). The value is thread-local.
 */
TETHER_API long tether_last_os_error(void);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Portable event kinds. Each delivered event also keeps its native code.
 *
 * | kind      | POSIX          | Windows                                   |
 * |-----------|----------------|-------------------------------------------|
 * | INTERRUPT | SIGINT         | CTRL_C_EVENT                              |
 * | QUIT      | SIGQUIT        | CTRL_BREAK_EVENT                          |
 * | TERMINATE | SIGTERM        | WM_CLOSE to tether's hidden window        |
 * | HANGUP    | SIGHUP         | CTRL_CLOSE_EVENT                          |
 * | LOGOFF    | (not produced) | CTRL_LOGOFF_EVENT, WM_ENDSESSION (logoff) |
 * | SHUTDOWN  | (not produced) | CTRL_SHUTDOWN_EVENT, WM_ENDSESSION        |
 * | USER1/2   | SIGUSR1/2      | (not produced)                            |
 * | RESIZE    | SIGWINCH       | (not produced)                            |
 * | CHILD     | a tethered child changed state (both)                      |
 * | SIGNAL    | any other catchable signal, by number (POSIX only)         |
 */
typedef enum tether_kind {
  TETHER_EVENT_NONE = 0,
  TETHER_EVENT_INTERRUPT = 1,
  TETHER_EVENT_QUIT = 2,
  TETHER_EVENT_TERMINATE = 3,
  TETHER_EVENT_HANGUP = 4,
  TETHER_EVENT_LOGOFF = 5,
  TETHER_EVENT_SHUTDOWN = 6,
  TETHER_EVENT_USER1 = 7,
  TETHER_EVENT_USER2 = 8,
  TETHER_EVENT_RESIZE = 9,
  TETHER_EVENT_CHILD = 10,
  TETHER_EVENT_SIGNAL = 11,
  TETHER_EVENT_KIND_COUNT = 12
} tether_kind;

/**
 * One delivered event.
 *
 * Deliveries of the same native source (one signal number, one console
 * event) that arrive before the channel reports them are coalesced into one
 * event whose `count` says how many there were.
 */
typedef struct tether_event {
  /** A tether_kind. */
  int kind;
  /** The native code: the signal number (POSIX) or the CTRL_*_EVENT value /
   *  window message (Windows). */
  int code;
  /** The native name, e.g. "SIGINT", "CTRL_CLOSE_EVENT", "WM_CLOSE". Static. */
  const char *native;
  /** How many deliveries were coalesced into this event (>= 1). */
  uint64_t count;
  /** Process id of the sender of the most recent delivery, or -1 when the OS
   *  does not say (terminal-generated signals, all Windows events). */
  int64_t pid;
  /** Real user id of that sender, or -1 when unknown. */
  int64_t uid;
  /** Monotonic time of the most recent delivery, in nanoseconds (same clock
   *  as tether_now_ns()). */
  uint64_t time_ns;
  /** Windows HANGUP/LOGOFF/SHUTDOWN: milliseconds left, when the event was
   *  read, before the OS ends the process unless the event is acknowledged
   *  with tether_channel_ack() earlier. -1 for every other event. */
  int64_t time_left_ms;
} tether_event;

/**
 * The name of a kind: "interrupt", "quit", "terminate", "hangup", "logoff",
 * "shutdown", "user1", "user2", "resize", "child", "signal".
 *
 * @return a static string, or NULL for a value that is not a kind.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API const char *tether_kind_name(int kind);

/**
 * Parse a kind name as printed by tether_kind_name() (case-insensitive).
 *
 * @return the tether_kind (> 0), or TETHER_EINVAL if name is NULL or unknown.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_kind_from_name(const char *name);

/**
 * Can this OS deliver the given kind to this process?
 *
 * @param kind  a tether_kind.
 * @return 1 if it can, 0 if it cannot (tether_channel_watch() would return
 *         TETHER_ENOTSUP), TETHER_EINVAL if kind is not a kind.
 *
 * Platform notes: POSIX: LOGOFF and SHUTDOWN are 0. Windows: USER1, USER2,
 * RESIZE and SIGNAL are 0.
 */
TETHER_API int tether_kind_supported(int kind);

/**
 * The native name of a signal number, e.g. "SIGINT".
 *
 * @return a static string, or NULL when signo is not a signal of this OS.
 *
 * Platform notes: POSIX: real-time signals are named "SIGRTMIN+N".
 * Windows: always NULL (Windows has no signals in this sense).
 */
TETHER_API const char *tether_signal_name(int signo);

/**
 * Was this signal ignored (SIG_IGN) when tether first looked at it?
 *
 * tether records the disposition of every signal the first time the library
 * is used (at load time with GCC and Clang), before it changes anything. A
 * program started with `nohup` has SIGHUP ignored; a background job of a
 * non-interactive shell has SIGINT and SIGQUIT ignored.
 *
 * @param signo  a signal number.
 * @return 1 if ignored, 0 if not, TETHER_EINVAL for a number that is not a
 *         signal, TETHER_ENOTSUP on Windows.
 *
 * Platform notes: POSIX: as described (Go's signal.Ignored). Windows:
 * TETHER_ENOTSUP.
 */
TETHER_API int tether_signal_ignored_at_start(int signo);

/**
 * Current monotonic time in nanoseconds (the clock of tether_event.time_ns).
 *
 * Platform notes: POSIX: CLOCK_MONOTONIC. Windows: QueryPerformanceCounter.
 */
TETHER_API uint64_t tether_now_ns(void);

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */
/* ------------------------------------------------------------------------ */

/** A native handle: a file descriptor on POSIX, a HANDLE on Windows. */
#ifdef _WIN32
typedef void *tether_os_handle;
#else
typedef int tether_os_handle;
#endif

/** An open notification channel (opaque). */
typedef struct tether_channel tether_channel;

/**
 * Callback for callback-mode channels. It runs on a thread that tether
 * created for this channel, one event at a time, never concurrently with
 * itself. The event is only valid during the call.
 */
typedef void (*tether_event_cb)(tether_channel *ch, const tether_event *ev,
                                void *userdata);

/** Options for tether_channel_new(). A zeroed struct means defaults. */
typedef struct tether_channel_options {
  /** When set, tether starts a thread that delivers every event to this
   *  function; tether_channel_wait()/poll() then return TETHER_EBUSY. */
  tether_event_cb callback;
  /** Passed to callback unchanged. */
  void *userdata;
} tether_channel_options;

/** Flags for tether_channel_watch() and tether_channel_watch_signal(). */
enum tether_watch_flags {
  /** Watch a signal even though it was ignored when the program started
   *  (see tether_signal_ignored_at_start()). */
  TETHER_WATCH_IGNORED = 1u << 0
};

/**
 * Open a notification channel. It watches nothing until
 * tether_channel_watch() is called.
 *
 * @param out   receives the channel. On failure *out is set to NULL.
 * @param opts  NULL, or options (only read during the call).
 * @return 0, or an error. Actionable errors:
 *         - TETHER_EINVAL: out is NULL.
 *         - TETHER_ELIMIT: too many channels are open in this process (the
 *           limit is 128); close some.
 *         - TETHER_EMFILE / TETHER_ENFILE: no descriptors/handles left.
 *         - TETHER_ENOMEM, TETHER_EAGAIN (thread creation for callback mode).
 *
 * Ownership: the caller owns the channel and releases it with
 * tether_channel_free().
 *
 * Platform notes: POSIX: the channel owns a close-on-exec, non-blocking
 * eventfd (Linux) or pipe (other systems). After fork() without exec, a
 * channel inherited by the child gets a fresh descriptor in the child under
 * the same number: it receives only the child's events. Windows: the channel
 * owns a non-inheritable manual-reset event object.
 */
TETHER_API int tether_channel_new(tether_channel **out,
                                  const tether_channel_options *opts);

/**
 * Start receiving events of a kind.
 *
 * Watching an already watched kind succeeds and changes nothing. Any number of
 * channels may watch the same kind; each receives every event.
 *
 * @param ch     the channel.
 * @param kind   a tether_kind other than TETHER_EVENT_SIGNAL (use
 *               tether_channel_watch_signal() for signals by number).
 * @param flags  0 or TETHER_WATCH_IGNORED.
 * @return 0, or an error. Actionable errors:
 *         - TETHER_EINVAL: ch is NULL, kind is not a kind, or unknown flags.
 *         - TETHER_ECLOSED: the channel was closed.
 *         - TETHER_ENOTSUP: this OS cannot deliver the kind
 *           (tether_kind_supported() says 0).
 *         - TETHER_EIGNORED: the signal behind the kind was ignored when the
 *           program started (SIGHUP, SIGINT, SIGQUIT only); pass
 *           TETHER_WATCH_IGNORED to take it over anyway.
 *         On failure nothing changed: no handler was installed.
 *
 * Platform notes: POSIX: the first watcher of a signal installs tether's
 * handler with sigaction (SA_SIGINFO | SA_RESTART | SA_ONSTACK) and keeps the
 * previous action, which tether's handler calls after recording the event
 * when it was a function. Windows: INTERRUPT, QUIT, HANGUP, LOGOFF and
 * SHUTDOWN use one console control handler; TERMINATE, LOGOFF and SHUTDOWN
 * also create a hidden top-level window on a thread of tether's, which
 * receives WM_CLOSE and WM_QUERYENDSESSION/WM_ENDSESSION.
 */
TETHER_API int tether_channel_watch(tether_channel *ch, int kind,
                                    unsigned flags);

/**
 * Start receiving one signal by number (POSIX). Events carry the kind that
 * the signal maps to (SIGINT gives INTERRUPT) or TETHER_EVENT_SIGNAL.
 *
 * @return 0, or an error. Actionable errors:
 *         - TETHER_EINVAL: ch is NULL, signo is not a signal, unknown flags.
 *         - TETHER_EFORBIDDEN: SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE,
 *           SIGILL, or a real-time signal reserved by the C library.
 *         - TETHER_EIGNORED, TETHER_ECLOSED: as for tether_channel_watch().
 *
 * Platform notes: POSIX: as described. Windows: TETHER_ENOTSUP.
 */
TETHER_API int tether_channel_watch_signal(tether_channel *ch, int signo,
                                           unsigned flags);

/**
 * Stop receiving a kind. Deliveries not yet read are discarded.
 *
 * When the last channel stops watching a signal, tether restores the exact
 * action that was installed before it (if tether's handler is still the
 * installed one; if somebody replaced it since, tether leaves theirs alone).
 *
 * @return 0 (also when the kind was not watched), or TETHER_EINVAL,
 *         TETHER_ECLOSED, TETHER_ENOTSUP (as for tether_channel_watch()).
 *
 * Platform notes: POSIX: as described. Windows: the console handler stays
 * registered for the life of the process but returns FALSE for events that
 * nobody watches, so the next handler (or the default) runs.
 */
TETHER_API int tether_channel_unwatch(tether_channel *ch, int kind);

/**
 * Stop receiving one signal by number. See tether_channel_unwatch().
 *
 * Platform notes: Windows: TETHER_ENOTSUP.
 */
TETHER_API int tether_channel_unwatch_signal(tether_channel *ch, int signo);

/**
 * Wait for the next event.
 *
 * Pending events of different sources are returned one per call, in round
 * robin; after one is returned the native handle stays readable while more
 * are pending, so level-triggered poll loops work.
 *
 * @param ch          the channel.
 * @param ev          receives the event when 1 is returned.
 * @param timeout_ms  0 returns at once, < 0 waits forever.
 * @return 1 if an event was stored in *ev, 0 if none arrived in time, or an
 *         error. Actionable errors:
 *         - TETHER_EINVAL: ch or ev is NULL.
 *         - TETHER_ECLOSED: the channel was closed (also when it is closed
 *           by another thread while this one waits).
 *         - TETHER_EBUSY: the channel is in callback mode.
 *
 * Platform notes: POSIX: poll() on the channel's descriptor. Windows:
 * WaitForSingleObject on the channel's event.
 */
TETHER_API int tether_channel_wait(tether_channel *ch, tether_event *ev,
                                   int timeout_ms);

/**
 * tether_channel_wait() with a timeout of 0.
 */
TETHER_API int tether_channel_poll(tether_channel *ch, tether_event *ev);

/**
 * The native handle that becomes ready when an event may be pending; for
 * poll/epoll/kqueue, libuv's uv_poll_t, or WaitForMultipleObjects. After it
 * is ready, call tether_channel_poll() until it returns 0. Do not read from,
 * write to or close the handle.
 *
 * @return the handle (owned by the channel, valid until the channel is
 *         closed). For NULL or a closed channel: -1 (POSIX) or NULL
 *         (Windows).
 *
 * Platform notes: POSIX: a file descriptor that polls readable (POLLIN).
 * Windows: an event HANDLE that becomes signalled.
 */
TETHER_API tether_os_handle tether_channel_handle(const tether_channel *ch);

/**
 * Tell tether that the program has finished its cleanup for an event that
 * the OS ends the process after (Windows CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT,
 * CTRL_SHUTDOWN_EVENT, WM_ENDSESSION).
 *
 * tether keeps the OS's handler blocked, so the process is not ended, until
 * every channel that received such an event acknowledged it (or was closed),
 * or until shortly before the OS deadline (see tether_event.time_left_ms).
 *
 * @param ch  the channel that received ev.
 * @param ev  the event from tether_channel_wait() or the callback.
 * @return 0, or TETHER_EINVAL (NULL argument), TETHER_ECLOSED.
 *         Acknowledging an event that needs no acknowledgement, or twice,
 *         returns 0 and does nothing.
 *
 * Platform notes: POSIX: no POSIX event waits for an acknowledgement;
 * returns 0. Windows: as described; once released, Windows ends the process
 * immediately.
 */
TETHER_API int tether_channel_ack(tether_channel *ch, const tether_event *ev);

/**
 * Close a channel: stop watching everything, release its handle and stop
 * its callback thread. The memory stays valid so that later calls return
 * TETHER_ECLOSED; release it with tether_channel_free().
 *
 * @return 0, or TETHER_EINVAL (NULL), TETHER_ECLOSED (already closed).
 *         Called from the channel's own callback, the callback thread is
 *         stopped after the callback returns.
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_channel_close(tether_channel *ch);

/**
 * Close the channel if it is open, then free it. NULL does nothing. The
 * pointer is invalid afterwards. Do not call it while another thread still
 * uses the channel (close it first).
 */
TETHER_API void tether_channel_free(tether_channel *ch);


/* ------------------------------------------------------------------------ */
/* Exit statuses                                                            */
/* ------------------------------------------------------------------------ */

/** How a process ended. */
typedef enum tether_exit_kind {
  TETHER_EXIT_NONE = 0,        /**< not an exit (e.g. a stop status) */
  TETHER_EXIT_CODE = 1,        /**< exited with `code` */
  TETHER_EXIT_SIGNAL = 2,      /**< POSIX: killed by signal `signo` */
  TETHER_EXIT_INTERRUPTED = 3, /**< Windows: STATUS_CONTROL_C_EXIT */
  TETHER_EXIT_CRASHED = 4,     /**< Windows: an NTSTATUS error code */
  TETHER_EXIT_KILLED = 5       /**< killed by tether (tracked by tether's
                                    children code, never decoded) */
} tether_exit_kind;

/** A normalized exit status that keeps the raw value. */
typedef struct tether_exit {
  /** A tether_exit_kind. */
  int kind;
  /** CODE: the exit code (0..255 on POSIX). INTERRUPTED, CRASHED: the
   *  NTSTATUS as a signed int (what cmd.exe's %ERRORLEVEL% shows). */
  int code;
  /** SIGNAL: the signal number; otherwise 0. */
  int signo;
  /** POSIX SIGNAL: 1 if a core file was written. */
  int core_dumped;
  /** The raw value: a wait status (POSIX) or an exit code (Windows). */
  uint32_t raw;
  /** What a shell reports: `code`, or 128 + `signo` (POSIX). */
  int shell_code;
} tether_exit;

/**
 * Decode a raw exit status into a normalized tether_exit.
 *
 * @param raw  POSIX: a status from waitpid()/wait() (the int, as uint32_t).
 *             Windows: an exit code from GetExitCodeProcess().
 * @param out  receives the result (kind TETHER_EXIT_NONE on error).
 * @return 0, or TETHER_EINVAL: out is NULL, or (POSIX) raw is a stop or
 *         continue status rather than an exit.
 *
 * Platform notes: POSIX: WIFEXITED gives CODE, WIFSIGNALED gives SIGNAL
 * (with WCOREDUMP where the system has it). Windows: 0xC000013A
 * (STATUS_CONTROL_C_EXIT, the default Ctrl+C/Ctrl+Break/close handling) gives
 * INTERRUPTED; any other value with both top bits set (NTSTATUS error
 * severity, e.g. 0xC0000005 access violation, 0xC00000FD stack overflow,
 * 0xC0000409 fail-fast/abort) gives CRASHED; everything else is CODE.
 * Under Wine 8 a process ended by Ctrl+C exits with 0, not 0xC000013A.
 */
TETHER_API int tether_exit_decode(uint32_t raw, tether_exit *out);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_H */
