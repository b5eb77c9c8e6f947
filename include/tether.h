/* SPDX-License-Identifier: MIT */
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
 *   - Options structs are optional (NULL means defaults). One that is
 *     passed starts with a `version` field: initialize it with its _INIT
 *     macro (`tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;`) or its
 *     tether_X_options_init() function, then set the fields wanted; the
 *     other fields are the defaults. A struct with version 0 (such as a
 *     memset or `{0}`) or a version this library does not know gives
 *     TETHER_EINVAL.
 *   - ABI (docs/abi.md): options structs grow only at their end, with a
 *     new version; the structs tether writes into (tether_event,
 *     tether_status, tether_cause) keep their size and grow into their
 *     `reserved` space, which tether zeroes and the caller never uses;
 *     arrays of structs (tether_stop_step, tether_extra_fd) and embedded
 *     ones (tether_stdio) never change. Enum values and error codes are
 *     stable; new ones are appended. Nothing here counts them: kinds and
 *     errors are numbered densely (tether_kind_name() and
 *     tether_err_name() say when a value is past the last).
 *
 * Threads, callbacks, signals, fork (the whole contract, with the tests that
 * hold the library to it: docs/concurrency.md):
 *   - Every function may be called from any thread. Calls on different
 *     objects never wait for each other, except where a function says so.
 *   - Calls on one object may run concurrently, with one exception: free.
 *     tether_channel_free() / tether_child_free() / tether_token_free() /
 *     tether_shutdown_free() wake the calls blocked on that object in other
 *     threads (channel and token waits return TETHER_ECLOSED; a child's
 *     waits return its real status, TETHER_STATUS_KILLED since free kills the
 *     tree, or TETHER_ECLOSED for a detached child) and return only after
 *     they have left. A call that *starts* after free has returned is
 *     undefined (use after free), as everywhere in C.
 *   - Inside a channel's callback any function may be called, including
 *     tether_child_free(ev->child) and tether_channel_close/free() of that
 *     channel; a CHILD event never hands out a child before tether_spawn()
 *     has finished with it.
 *   - In a signal handler: none of these functions (tether's own handler
 *     is the async-signal-safe part). tether_now_ns() excepted.
 *   - fork() without exec: one handler keeps every tether lock consistent.
 *     In the child, objects made before the fork are "inherited": channels
 *     keep working (fresh doorbells; their callback threads and blocked
 *     waiters stayed in the parent, so close/free never wait for them);
 *     children and tokens may only be freed (a child's other calls return
 *     TETHER_ECLOSED; free forgets it without touching the parent's
 *     processes). New objects work as in any process.
 *   - The exit helpers (tether_exit_like_signal(), tether_main()) never hang
 *     on a stdio stream another thread holds locked.
 *   - Windows, tether as a DLL: the first call that leaves code of tether's
 *     where Windows or a thread calls it later (a console handler, the
 *     hidden window, a thread, a child's exit callback) pins the DLL for the
 *     rest of the process (GET_MODULE_HANDLE_EX_FLAG_PIN): FreeLibrary then
 *     leaves it loaded instead of letting a Ctrl+C or a window message run
 *     unmapped code.
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
#if defined(TETHER_SHARED) && defined(TETHER_BUILDING)
#define TETHER_API __declspec(dllexport)
#elif defined(TETHER_SHARED)
#define TETHER_API __declspec(dllimport)
#else
#define TETHER_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define TETHER_API __attribute__((visibility("default")))
#else
#define TETHER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The options structs' _INIT macros: a designated initializer in C (no
 * -Wmissing-field-initializers warning), a value-initialized copy in C++
 * (before C++20 there are no designated initializers).
 */
#ifdef __cplusplus
}
template <typename T> inline T tether__options_init_cxx(unsigned version) {
  T opts = T();
  opts.version = version;
  return opts;
}
extern "C" {
#define TETHER__OPTIONS_INIT(type_, v_) (tether__options_init_cxx<type_>(v_))
#else
#define TETHER__OPTIONS_INIT(type_, v_) \
  { .version = (v_) }
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define TETHER_VERSION_MAJOR 1
#define TETHER_VERSION_MINOR 0
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
 * The version as a string, such as "1.0.0".
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
#define TETHER_ERRNO_MAP(XX)                                                      \
  XX(EINVAL, -1, "invalid argument")                                              \
  XX(ENOMEM, -2, "out of memory")                                                 \
  XX(ENOTSUP, -3, "not supported on this platform")                               \
  XX(ECLOSED, -4, "object is already closed")                                     \
  XX(EFORBIDDEN, -5,                                                              \
     "signal cannot be watched (SIGKILL, SIGSTOP, a synchronous fault, or "       \
     "reserved by the C library)")                                                \
  XX(EIGNORED, -6,                                                                \
     "signal was ignored when the program started; pass "                         \
     "TETHER_WATCH_IGNORED to watch it anyway")                                   \
  XX(ELIMIT, -7, "a tether limit was reached (too many open channels)")           \
  XX(EMFILE, -8, "too many open files in this process")                           \
  XX(ENFILE, -9, "too many open files in the system")                             \
  XX(EAGAIN, -10, "resource temporarily unavailable")                             \
  XX(ETIMEDOUT, -11, "timed out")                                                 \
  XX(EINTR, -12, "interrupted")                                                   \
  XX(ENOENT, -13, "no such file or directory")                                    \
  XX(EACCES, -14, "permission denied")                                            \
  XX(EPERM, -15, "operation not permitted")                                       \
  XX(ESRCH, -16, "no such process")                                               \
  XX(ECHILD, -17, "no such child process")                                        \
  XX(EBUSY, -18, "resource busy")                                                 \
  XX(EEXIST, -19, "already exists")                                               \
  XX(ENOEXEC, -20, "not an executable")                                           \
  XX(ENOTDIR, -21, "not a directory")                                             \
  XX(ENAMETOOLONG, -22, "name too long")                                          \
  XX(E2BIG, -23, "argument list too long")                                        \
  XX(EPIPE, -24, "broken pipe")                                                   \
  XX(EIO, -25, "input/output error")                                              \
  XX(EUNKNOWN, -26, "unknown system error")                                       \
  XX(ECANCELED, -27, "the token was already cancelled (the first cause is kept)") \
  XX(EHELPER, -28,                                                                \
     "tether's helper program (tether-guard, tether-ctrl.exe) is missing or could not start")

/** Error codes: every failure is one of these negative values. */
typedef enum tether_error {
#define TETHER__ERR_ENUM(name, value, msg) TETHER_##name = (value),
  TETHER_ERRNO_MAP(TETHER__ERR_ENUM)
#undef TETHER__ERR_ENUM
      TETHER_OK = 0 /* last: C++98 allows no comma after the last value */
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
/* Exit statuses                                                            */
/* ------------------------------------------------------------------------ */

/** A spawned child and its process tree (opaque; see tether_spawn()). */
typedef struct tether_child tether_child;

/** How a process ended. */
typedef enum tether_status_kind {
  TETHER_STATUS_NONE = 0,        /**< not an exit (e.g. a stop status) */
  TETHER_STATUS_CODE = 1,        /**< exited with `code` */
  TETHER_STATUS_SIGNAL = 2,      /**< POSIX: killed by signal `signo` */
  TETHER_STATUS_INTERRUPTED = 3, /**< Windows: STATUS_CONTROL_C_EXIT */
  TETHER_STATUS_CRASHED = 4,     /**< Windows: an NTSTATUS error code */
  TETHER_STATUS_KILLED = 5,      /**< killed by tether (tracked by tether's
                                    children code, never decoded) */
  TETHER_STATUS_UNKNOWN = 6      /**< POSIX: the child has exited but its
                                    status was taken by someone else: this
                                    process reaped it itself (its own
                                    waitpid(-1) loop, or SIGCHLD set to
                                    SIG_IGN). raw is 0xFFFFFFFF, which
                                    tether_status_decode() maps to this kind;
                                    shell_code is 255. */
} tether_status_kind;

/** A normalized exit status that keeps the raw value. */
typedef struct tether_status {
  /** A tether_status_kind. */
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
  /** Room for later fields (the struct keeps its size): zeroed by tether;
   *  do not use. */
  uint64_t reserved[4];
} tether_status;

/**
 * Decode a raw exit status into a normalized tether_status.
 *
 * @param raw  POSIX: a status from waitpid()/wait() (the int, as uint32_t).
 *             Windows: an exit code from GetExitCodeProcess().
 * @param out  receives the result (kind TETHER_STATUS_NONE on error).
 * @return 0, or TETHER_EINVAL: out is NULL, or (POSIX) raw is a stop or
 *         continue status rather than an exit.
 *
 * Platform notes: POSIX: WIFEXITED gives CODE, WIFSIGNALED gives SIGNAL
 * (with WCOREDUMP where the system has it). Windows: 0xC000013A
 * (STATUS_CONTROL_C_EXIT, the default Ctrl+C/Ctrl+Break/close handling) gives
 * INTERRUPTED; any other value with both top bits set (NTSTATUS error
 * severity, e.g. 0xC0000005 access violation, 0xC00000FD stack overflow,
 * 0xC0000409 fail-fast/abort) gives CRASHED; everything else is CODE.
 * (Wine differs: docs/platforms.md.)
 */
TETHER_API int tether_status_decode(uint32_t raw, tether_status *out);

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
 * | TERMINATE | SIGTERM        | WM_CLOSE to tether's hidden window;       |
 * |           |                | WM_ENDSESSION with ENDSESSION_CLOSEAPP    |
 * |           |                | (Restart Manager asks the program to end) |
 * | HANGUP    | SIGHUP         | CTRL_CLOSE_EVENT                          |
 * | LOGOFF    | (not produced) | CTRL_LOGOFF_EVENT, WM_ENDSESSION (logoff) |
 * | SHUTDOWN  | (not produced) | CTRL_SHUTDOWN_EVENT, WM_ENDSESSION (other)|
 * | USER1/2   | SIGUSR1/2      | (not produced)                            |
 * | RESIZE    | SIGWINCH       | (not produced)                            |
 * | CHILD     | a tethered child changed state (both)                      |
 * | SIGNAL    | any other catchable signal, by number (POSIX only)         |
 */
typedef enum tether_kind {
  /** Not an event; as the kind of a stop step or of tether_send(): the kill
   *  (spelled TETHER_KILL there). */
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
  TETHER_EVENT_SIGNAL = 11
} tether_kind;

/** The kill, as the kind of a stop step (tether_stop_step) or of
 *  tether_send(): the same value as TETHER_EVENT_NONE, named for what it
 *  does there. */
#define TETHER_KILL TETHER_EVENT_NONE

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
   *  does not say (terminal-generated signals, all Windows events).
   *  macOS: kill() leaves si_code 0 there; a non-zero si_pid is taken as the
   *  sender (xnu keeps one per process: two senders close together may
   *  show as one). */
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
  /** CHILD events: the child that exited (valid until it is freed), its pid
   *  in `pid`, and its status. Child events are never coalesced: one event
   *  per exited child, `count` 1. NULL for every other event. */
  struct tether_child *child;
  /** CHILD events: how the child ended. Zeroed for every other event. */
  tether_status exit;
  /** Room for later fields (the struct keeps its size): zeroed by tether;
   *  do not use. */
  uint64_t reserved[6];
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
typedef void (*tether_event_cb)(tether_channel *ch, const tether_event *ev, void *userdata);

/** The version of tether_channel_options this header describes. */
#define TETHER_CHANNEL_OPTIONS_VERSION 1

/** Options for tether_channel_new(). Initialize with
 *  TETHER_CHANNEL_OPTIONS_INIT or tether_channel_options_init(). */
typedef struct tether_channel_options {
  /** TETHER_CHANNEL_OPTIONS_VERSION (set by the initializers). */
  unsigned version;
  /** When set, tether starts a thread that delivers every event to this
   *  function; tether_channel_wait()/poll() then return TETHER_EBUSY. */
  tether_event_cb callback;
  /** Passed to callback unchanged. */
  void *userdata;
} tether_channel_options;

/** Defaults: `tether_channel_options o = TETHER_CHANNEL_OPTIONS_INIT;` */
#define TETHER_CHANNEL_OPTIONS_INIT \
  TETHER__OPTIONS_INIT(tether_channel_options, TETHER_CHANNEL_OPTIONS_VERSION)

/**
 * Set opts to the defaults of the given version (for callers that cannot
 * use TETHER_CHANNEL_OPTIONS_INIT, e.g. bindings or a struct in a heap
 * object).
 *
 * @param opts     the struct to fill.
 * @param version  TETHER_CHANNEL_OPTIONS_VERSION.
 * @return 0, or TETHER_EINVAL: opts is NULL, or version is 0 or newer than
 *         this library knows (opts is then left unchanged).
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_channel_options_init(tether_channel_options *opts, unsigned version);

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
 *         - TETHER_EINVAL: out is NULL, or opts->version is 0 or newer
 *           than this library.
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
TETHER_API int tether_channel_new(tether_channel **out, const tether_channel_options *opts);

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
 *           program started (SIGHUP, SIGINT, SIGQUIT only; Windows:
 *           INTERRUPT while this process ignores Ctrl+C, as a process
 *           created with CREATE_NEW_PROCESS_GROUP does); pass
 *           TETHER_WATCH_IGNORED to take it over anyway (Windows: tether
 *           then calls SetConsoleCtrlHandler(NULL, FALSE), and swallows a
 *           Ctrl+C that nobody watches any more).
 *         On failure nothing changed: no handler was installed.
 *
 * Platform notes: POSIX: the first watcher of a signal installs tether's
 * handler (SA_SIGINFO | SA_RESTART | SA_ONSTACK) and chains to the previous
 * action. Windows: one console control handler; TERMINATE, LOGOFF and
 * SHUTDOWN also use a hidden window (WM_CLOSE, WM_ENDSESSION).
 * docs/events.md, "Kinds and native codes", has every rule.
 */
TETHER_API int tether_channel_watch(tether_channel *ch, int kind, unsigned flags);

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
TETHER_API int tether_channel_watch_signal(tether_channel *ch, int signo, unsigned flags);

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
TETHER_API int tether_channel_wait(tether_channel *ch, tether_event *ev, int timeout_ms);

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
 * pointer is invalid afterwards. Calls blocked on the channel in other
 * threads are woken (TETHER_ECLOSED) and have left when it returns; a call
 * that starts afterwards is a use after free. A second free of the same
 * channel is undefined; tether tries to abort with a message rather than
 * hang.
 */
TETHER_API void tether_channel_free(tether_channel *ch);

/* ------------------------------------------------------------------------ */
/* Tethered children                                                        */
/* ------------------------------------------------------------------------ */

/** What a child's stdin, stdout or stderr is connected to. */
enum tether_stdio_mode {
  /** The parent's own descriptor/handle (the default). POSIX: one that is
   *  closed in the parent is closed in the child (also detached on macOS). */
  TETHER_STDIO_INHERIT = 0,
  /** The null device (/dev/null, NUL). */
  TETHER_STDIO_NULL = 1,
  /** A new pipe; the parent's end is returned by tether_child_stdio(). */
  TETHER_STDIO_PIPE = 2,
  /** The given descriptor/HANDLE (tether_stdio.handle); the caller keeps
   *  ownership of it. */
  TETHER_STDIO_HANDLE = 3
};

/** One standard stream of a child. Zeroed: inherit. */
typedef struct tether_stdio {
  int mode;                /**< a tether_stdio_mode */
  tether_os_handle handle; /**< for TETHER_STDIO_HANDLE */
} tether_stdio;

/** Flags for tether_spawn_options.flags. */
enum tether_spawn_flags {
  /** Not tethered: the child gets its own session (POSIX) or no job
   *  (Windows) and survives the parent. tether still reports its exit while
   *  the parent lives, but never kills it on close or at exit. */
  TETHER_SPAWN_DETACHED = 1u << 0,
  /** Start from an empty environment instead of the parent's (env_set is
   *  then the whole environment). */
  TETHER_SPAWN_CLEAR_ENV = 1u << 1,
  /** Run argv[0] exactly as given: no PATH search. */
  TETHER_SPAWN_NO_SEARCH = 1u << 2,
  /** Windows: keep the child in this process's console process group (no
   *  CREATE_NEW_PROCESS_GROUP), so that console Ctrl+C and Ctrl+Break reach
   *  it directly, exactly as they reach this process. Its Ctrl+C state
   *  (ignored or not) is inherited from this process, as for any console
   *  child. tether_child_signal() of INTERRUPT and QUIT then gives
   *  TETHER_ENOTSUP (they would reach this process too); TERMINATE, HANGUP
   *  and the kill work as usual. When this process has no console the
   *  child still gets a console of its own (CREATE_NO_WINDOW). What
   *  `tether run` uses so that a console Ctrl+C is delivered once. POSIX:
   *  tether_spawn() gives TETHER_ENOTSUP (a tethered child always has a
   *  process group of its own, a background group of this process's
   *  session and controlling terminal; give it the terminal with
   *  tcsetpgrp(fd, tether_child_pid(child)) to let the terminal's signals
   *  and input reach it, and take it back when it ends, as `tether run
   *  --foreground` does). With TETHER_SPAWN_DETACHED: TETHER_EINVAL (on
   *  both). */
  TETHER_SPAWN_CONSOLE_GROUP = 1u << 3,
  /** Linux: descendants that leave the child's process group with
   *  setsid() or setpgid() die with it too. The child is then started by
   *  tether's keeper process (a child subreaper), not by the calling
   *  thread: it is not this process's child, and it gets the attributes of
   *  the keeper (this process as it was when the keeper was forked, at the
   *  first such spawn; docs/children.md lists what still follows the
   *  program). What `tether run` uses: it spawns once, at its start.
   *  Windows: accepted, and always the case (the Job Object holds every
   *  descendant). Other POSIX systems (macOS, the portable backend):
   *  TETHER_ENOTSUP (no subreaper). With TETHER_SPAWN_DETACHED:
   *  TETHER_EINVAL. */
  TETHER_SPAWN_CATCH_ESCAPEES = 1u << 4,
  /** Reset every signal this process ignores (SIG_IGN) to its default in
   *  the child. Without it an ignored signal stays ignored in the child, as
   *  with posix_spawn(), fork() + exec and `nohup`. Handled signals always
   *  start at their default. Windows: no effect. */
  TETHER_SPAWN_RESET_SIGNALS = 1u << 5,
  /** Windows: let descendants leave the child's tree. The child's Job
   *  Object gets JOB_OBJECT_LIMIT_BREAKAWAY_OK, so a process of the tree
   *  that creates a process with CREATE_BREAKAWAY_FROM_JOB starts it
   *  outside the job: that process no longer dies with the tree (nor with
   *  this process). Without the flag such a CreateProcess fails with
   *  ERROR_ACCESS_DENIED, by design: the job does not allow breakaway
   *  (programs such as some installers and `start`-like launchers rely on
   *  breakaway and then fail inside a tethered tree). POSIX: accepted, and
   *  already the case: a descendant that calls setsid() (or setpgid())
   *  leaves the child's process group and survives it, unless
   *  TETHER_SPAWN_CATCH_ESCAPEES. With TETHER_SPAWN_CATCH_ESCAPEES or
   *  TETHER_SPAWN_DETACHED: TETHER_EINVAL (on both). */
  TETHER_SPAWN_ALLOW_BREAKAWAY = 1u << 6
};

/**
 * One descriptor passed to a child beyond stdio (tether_spawn_options.extra):
 * the child gets a copy of `handle` as descriptor number `target`, not
 * close-on-exec (Go's cmd.ExtraFiles, Python's pass_fds, posix_spawn's
 * adddup2). POSIX only: tether_spawn() gives TETHER_ENOTSUP on Windows,
 * where a HANDLE cannot be placed at a number.
 */
typedef struct tether_extra_fd {
  /** An open descriptor of this process; the caller keeps it (tether only
   *  reads it during tether_spawn() and never closes or changes it). It
   *  may be close-on-exec, equal `target`, another entry's source or
   *  target, or a descriptor also given as a stdio handle. */
  tether_os_handle handle;
  /** The descriptor number in the child: >= 3, below this process's
   *  RLIMIT_NOFILE soft limit (the child's), distinct across entries. */
  int target;
} tether_extra_fd;

/** The most entries tether_spawn_options.nextra may hold. */
#define TETHER_SPAWN_MAX_EXTRA 4096

/** The version of tether_spawn_options this header describes. */
#define TETHER_SPAWN_OPTIONS_VERSION 1

/** Options for tether_spawn(). Initialize with TETHER_SPAWN_OPTIONS_INIT or
 *  tether_spawn_options_init(). */
typedef struct tether_spawn_options {
  /** TETHER_SPAWN_OPTIONS_VERSION (set by the initializers). */
  unsigned version;
  /** NULL-terminated "NAME=value" entries added to (or replacing in) the
   *  environment; NULL for none. */
  const char *const *env_set;
  /** NULL-terminated names removed from the environment; NULL for none. */
  const char *const *env_unset;
  /** Working directory of the child; NULL for the parent's. */
  const char *cwd;
  /** stdin, stdout, stderr. */
  tether_stdio stdio[3];
  /** tether_spawn_flags. */
  unsigned flags;
  /** NULL, or a channel that gets a TETHER_EVENT_CHILD event when the
   *  child exits (it must watch TETHER_EVENT_CHILD). */
  tether_channel *channel;
  /** Descriptors the child gets beyond stdio, at chosen numbers (see
   *  tether_extra_fd); NULL for none. Only read during the call. POSIX
   *  only (Windows: TETHER_ENOTSUP when nextra > 0). */
  const tether_extra_fd *extra;
  /** Number of entries in extra (0..TETHER_SPAWN_MAX_EXTRA). */
  size_t nextra;
} tether_spawn_options;

/** Defaults: `tether_spawn_options o = TETHER_SPAWN_OPTIONS_INIT;` (every
 *  stream inherited, no flags). */
#define TETHER_SPAWN_OPTIONS_INIT \
  TETHER__OPTIONS_INIT(tether_spawn_options, TETHER_SPAWN_OPTIONS_VERSION)

/**
 * Set opts to the defaults of the given version (see
 * tether_channel_options_init()).
 *
 * @return 0, or TETHER_EINVAL: opts is NULL, or version is 0 or newer than
 *         this library knows (opts is then left unchanged).
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_spawn_options_init(tether_spawn_options *opts, unsigned version);

/**
 * Start a tethered child: argv[0] is run with the arguments argv[1..],
 * never through a shell, in its own process group (POSIX) or Job Object
 * (Windows). The child and every descendant that stays in its group/job
 * die when the child is closed or when this process ends in any way
 * (docs/children.md has the guarantee and the design per OS).
 *
 * @param out   receives the child; NULL on failure.
 * @param argv  NULL-terminated, at least argv[0]; UTF-8. Only read during
 *              the call.
 * @param opts  NULL or options (only read during the call).
 * @return 0, or an error; on failure nothing is left running and nothing
 *         leaks. Actionable errors:
 *         - TETHER_EINVAL: out/argv NULL, argv empty, bad options (a
 *           version that is 0 or newer than this library, unknown flags, TETHER_SPAWN_DETACHED with
 * TETHER_SPAWN_CONSOLE_GROUP), a channel that is NULL-but-required or not watching CHILD; extra
 *           descriptors: nextra > 0 with extra NULL, nextra above
 *           TETHER_SPAWN_MAX_EXTRA, a target below 3 or given twice, and
 *           (POSIX) a handle that is not an open descriptor or a target at
 *           or above this process's RLIMIT_NOFILE soft limit. Nothing is
 *           changed then: the caller's descriptors stay open, unchanged.
 *         - TETHER_ENOENT: the program (or cwd) does not exist / is not on
 *           PATH.
 *         - TETHER_EACCES: the program is not executable (or cwd not
 *           searchable).
 *         - TETHER_ENOEXEC: not an executable format.
 *         - TETHER_ENOTDIR: cwd (or a path component) is not a directory.
 *         - TETHER_ENOTSUP: Windows: a .bat/.cmd program (cmd.exe re-parses
 *           its command line; see docs/children.md), or nextra > 0 (a
 *           HANDLE has no number to be placed at; as Go's ExtraFiles).
 *           POSIX: TETHER_SPAWN_CONSOLE_GROUP.
 *         - TETHER_EAGAIN: process limit reached (RLIMIT_NPROC).
 *         - TETHER_EMFILE / TETHER_ENFILE / TETHER_ENOMEM. POSIX: also
 *           when the extra descriptors cannot be carried (this process, or
 *           with TETHER_SPAWN_CATCH_ESCAPEES the keeper, needs a free
 *           number above the highest target for each source that is
 *           another entry's target; a detached spawn copies every source
 *           there).
 *         - TETHER_EHELPER: POSIX: tether-guard was not found or could not
 *           start (tether_last_os_error() says why: ENOENT when it is not
 *           installed); nothing was started.
 *         - TETHER_EIO: POSIX, TETHER_SPAWN_CATCH_ESCAPEES: tether's keeper
 *           process died (it was killed, or could not set itself up) while
 *           handling this request; the next tether_spawn() starts a new one.
 *         - TETHER_EPERM: Windows: this process is in a job that forbids the
 *           child's own job (nesting refused); the child was not started.
 *
 * Ownership: the caller owns the child and must tether_child_free() it.
 *
 * Platform notes: POSIX: started by the calling thread (vfork + execve),
 * so it is this process's own child with everything the calling thread has
 * (cwd, umask, limits, credentials, ignored signals...), in a process group
 * of its own registered with tether-guard; a bare argv[0] is searched in
 * PATH as execvp() does. Windows: in a Job Object and a console process
 * group of its own; a bare argv[0] is never searched in the current
 * directory; only the three standard handles are inherited. Every detail,
 * per platform: docs/children.md, "What tether_spawn() gives the child".
 */
TETHER_API int tether_spawn(tether_child **out, const char *const *argv,
                            const tether_spawn_options *opts);

/**
 * The child's process id (its process-group id on POSIX).
 *
 * @return the pid, or -1 for NULL.
 */
TETHER_API int64_t tether_child_pid(const tether_child *c);

/**
 * The parent's end of a TETHER_STDIO_PIPE stream.
 *
 * @param index  0 (stdin: write to it), 1 (stdout) or 2 (stderr: read).
 * @return the descriptor/HANDLE, owned by the child object (closed by
 *         tether_child_free(), or earlier by the caller with
 *         tether_child_close_stdio()); -1 / NULL if the stream is not a pipe.
 */
TETHER_API tether_os_handle tether_child_stdio(const tether_child *c, int index);

/**
 * Close the parent's end of a pipe early (e.g. stdin, to send EOF).
 *
 * @return 0, TETHER_EINVAL (NULL, bad index, not a pipe or already closed).
 */
TETHER_API int tether_child_close_stdio(tether_child *c, int index);

/**
 * Send an event to the child's whole tree.
 *
 * @param kind  TETHER_EVENT_INTERRUPT, QUIT, TERMINATE or HANGUP; on POSIX
 *              also USER1, USER2 and RESIZE (SIGWINCH, as a terminal sends
 *              when it is resized).
 * @return 0, or TETHER_EINVAL (NULL, other kinds), TETHER_ESRCH (the child
 *         has exited and was reaped; Windows: no process of the tree is
 *         left), TETHER_ENOTSUP (Windows: USER1/2, RESIZE, or the event cannot reach
 *         this child, see below; tether_last_os_error() may say why),
 *         TETHER_EHELPER (Windows: INTERRUPT or QUIT needed the console
 *         helper tether-ctrl.exe, which is missing or could not start),
 *         TETHER_ETIMEDOUT (Windows: the helper took more than 10 s),
 *         TETHER_ECLOSED (being freed by another thread, or made before a
 *         fork()), TETHER_EPERM (POSIX: not allowed to signal it, after a
 *         privilege drop; docs/children.md).
 *
 * Platform notes: POSIX: killpg() of the child's group with the signal.
 * Windows: INTERRUPT is CTRL_C_EVENT through tether-ctrl.exe, only to a
 * child with a console of its own that re-enabled Ctrl+C; QUIT is
 * CTRL_BREAK_EVENT to its console process group; TERMINATE and HANGUP are
 * WM_CLOSE to the windows of its job (none: TETHER_ENOTSUP). Every detail:
 * docs/children.md, "Events to a child on Windows".
 */
TETHER_API int tether_child_signal(tether_child *c, int kind);

/**
 * Send a native signal to the child's whole tree (POSIX): any signal
 * number, SIGSTOP and SIGCONT included, for what the portable kinds do not
 * name (job control, SIGALRM, real-time signals), as `tether run` forwards
 * them.
 *
 * @param signo  a signal number of this system (tether_signal_name() knows
 *               it).
 * @return 0, or TETHER_EINVAL (NULL, not a signal), TETHER_ESRCH (the tree
 *         is gone), TETHER_ECLOSED (being freed, or made before a fork()),
 *         TETHER_EPERM (not allowed to signal it), TETHER_ENOTSUP (Windows).
 *
 * Platform notes: POSIX: killpg() of the child's group, as
 * tether_child_signal() (a detached child: its session's group). Windows:
 * TETHER_ENOTSUP.
 */
TETHER_API int tether_child_signal_native(tether_child *c, int signo);

/**
 * Kill the child's whole tree at once (SIGKILL to the group /
 * TerminateJobObject). If the child was still running, its exit status
 * then says TETHER_STATUS_KILLED.
 *
 * @return 0, TETHER_EINVAL, TETHER_ESRCH (the tree is already gone),
 *         TETHER_ECLOSED (being freed by another thread, or made before a
 *         fork()), TETHER_EPERM (not allowed: a privilege drop, see
 *         docs/children.md).
 *
 * Platform notes: POSIX: the status keeps signo SIGKILL. Windows: the job's
 * processes exit with code 137 (128 + 9, what shells show for SIGKILL); a
 * detached child has no job: TerminateProcess of the child alone.
 */
TETHER_API int tether_child_kill(tether_child *c);

/**
 * Wait for the child process itself to exit.
 *
 * @param timeout_ms  0 polls, < 0 waits forever.
 * @param st          NULL, or receives the status when 1 is returned.
 * @return 1 if it exited, 0 on timeout, or TETHER_EINVAL (NULL),
 *         TETHER_ECLOSED (being freed by another thread, or made before a
 *         fork(); a detached child: also when it is freed while waiting).
 */
TETHER_API int tether_child_wait(tether_child *c, int timeout_ms, tether_status *st);

/**
 * Wait until every process of the child's tree (its group / job) is gone,
 * not only the child itself. Does not rely on job messages alone.
 *
 * @return 1 when the tree is empty, 0 on timeout, or TETHER_EINVAL (NULL),
 *         TETHER_ECLOSED (being freed by another thread, or made before a
 *         fork()). A detached child's tree: TETHER_ENOTSUP (it has no
 *         group/job of its own that tether tracks).
 *
 * Platform notes: POSIX: first the child's own exit (a notification, not a
 * poll), then the process table shows no living member of the child's
 * process group (Linux: /proc; macOS and BSDs: sysctl KERN_PROC_PGRP),
 * looked at again after 0.5, 1, 2 ... up to 20 ms while descendants outlive
 * the child. The group leader stays unreaped until the child is freed, so
 * the group id cannot be reused meanwhile. Windows: the
 * job's active process count is 0 (QueryInformationJobObject), not job
 * messages.
 */
TETHER_API int tether_child_wait_tree(tether_child *c, int timeout_ms);

/** The most steps a stop sequence may have (tether_child_stop(),
 *  tether_token_attach()). */
#define TETHER_STOP_MAX_STEPS 16

/** One step of a graceful stop sequence. */
typedef struct tether_stop_step {
  /** TETHER_EVENT_INTERRUPT, QUIT, TERMINATE, HANGUP, USER1 or USER2 to
   *  send, or TETHER_KILL to kill. */
  int kind;
  /** How long to wait for the tree to be gone after this step (>= 0). */
  int timeout_ms;
} tether_stop_step;

/**
 * Stop the child's tree gracefully: run the steps in order, each sending
 * its event and waiting up to its timeout for the whole tree to be gone;
 * if it is still there after the last step, kill it. A step whose event
 * cannot be sent (tether_child_signal() would say TETHER_ENOTSUP, or fail
 * otherwise) is passed over at once, without waiting. POSIX: each graceful
 * step also sends SIGCONT to the group just before its signal, and again
 * after it when the child was stopped (a background reader stops again on
 * its read before the signal arrives), so a tree stopped by job control
 * acts on it at once (systemd and coreutils timeout send it after).
 * The same engine stops the trees a cancelled token owns
 * (tether_token_attach()): same steps, limit and errors.
 *
 * @param steps  the steps, or NULL for the default: interrupt, 5 s;
 *               terminate, 2 s; then kill.
 * @param nsteps number of steps (0 with steps NULL; at most
 *               TETHER_STOP_MAX_STEPS).
 * @param st     NULL or receives the child's exit status.
 * @return the index of the step after which the tree was gone (nsteps for
 *         the final kill), or an error:
 *         - TETHER_EINVAL: c NULL, steps NULL with nsteps > 0, more than
 *           TETHER_STOP_MAX_STEPS steps, a kind a step cannot send, a
 *           negative timeout.
 *         - TETHER_ENOTSUP: a detached child (it has no tree to stop).
 *         - TETHER_ECLOSED: the child is being freed by another thread, or
 *           was made before a fork() without exec.
 *         - the error of the final kill, when even that failed (the tree
 *           may still be there; TETHER_EPERM, for instance).
 */
TETHER_API int tether_child_stop(tether_child *c, const tether_stop_step *steps, size_t nsteps,
                                 tether_status *st);

/**
 * Release the child: unless it is detached, kill its whole tree (if still
 * there) and reap it; close the pipes. Then free the memory. NULL does
 * nothing. Returns once the child itself has been reaped (its resources,
 * ports, locks are released), as Go's Kill + Wait (not a child this
 * process may no longer signal after dropping privileges; docs/children.md).
 * Freeing many live children: tether_child_kill() each first, then free
 * each: the kills return at once and the exits overlap, where frees one
 * after another wait for one exit at a time (1500 children on a 2-core
 * machine: ~150-200 ms instead of ~0.5-3 s; docs/performance.md).
 *
 * Platform notes: POSIX: if this process reaped the child itself, nothing
 * is signalled or reaped by its old pid (Linux: through its pidfd; without
 * pidfds only while the pid is still a child of this process). Windows:
 * the job is terminated (exit code 137) and the call returns once the job
 * has no process left, waiting at most 10 s (a process blocked in a driver
 * can take longer to end; it is ended when it can).
 */
TETHER_API void tether_child_free(tether_child *c);

/* ------------------------------------------------------------------------ */
/* Sending events to any process                                            */
/* ------------------------------------------------------------------------ */

/** Flags for tether_send(). */
enum tether_send_flags {
  /** POSIX: pid is a process-group id; send to the whole group (killpg).
   *  Windows: pid is a console process group (the pid of a process created
   *  with CREATE_NEW_PROCESS_GROUP); only QUIT can target one. */
  TETHER_SEND_GROUP = 1u << 0
};

/**
 * Deliver an event to a process (or process group) that tether did not
 * start: what `tether send` does.
 *
 * @param pid    the target process (or group with TETHER_SEND_GROUP); > 0
 *               and at most 0x7FFFFFFF (never truncated).
 * @param kind   TETHER_EVENT_INTERRUPT, QUIT, TERMINATE, HANGUP, USER1,
 *               USER2, or TETHER_KILL to kill (as in tether_stop_step).
 * @param flags  0 or TETHER_SEND_GROUP.
 * @return 0, or an error. Actionable errors:
 *         - TETHER_EINVAL: pid out of range, unknown kind or flags. Nothing
 *           is sent and tether_last_os_error() is left alone.
 *         - TETHER_ESRCH: no such process (group), or it has exited.
 *         - TETHER_EPERM: not allowed to signal / open it.
 *         - TETHER_ENOTSUP: this OS cannot deliver the kind to that target
 *           (see below); tether_last_os_error() may say why.
 *         - TETHER_EHELPER: Windows, INTERRUPT and QUIT: the console helper
 *           tether-ctrl.exe is missing or could not start.
 *
 * Platform notes: POSIX: kill() (kill(-pid) with TETHER_SEND_GROUP); a
 * zombie still accepts signals (0). Windows: INTERRUPT and QUIT are
 * Ctrl+C / Ctrl+Break on the target's whole console (this process too when
 * it shares it; generated by tether-ctrl.exe), TERMINATE and HANGUP are
 * WM_CLOSE to its top-level windows, kill is TerminateProcess (137).
 * docs/events.md, "Sending an event to another process", has every rule.
 */
TETHER_API int tether_send(int64_t pid, int kind, unsigned flags);

/* ------------------------------------------------------------------------ */
/* Exiting like a signal                                                    */
/* ------------------------------------------------------------------------ */

/**
 * End this process the way an unhandled signal ends it, so that the parent
 * (a shell, a supervisor) sees the truth: death by SIGINT, not exit(130).
 * Flushes C stdio first: stdout, stderr, then every stream, waiting at
 * most 500 ms for each, so a stream that another thread holds locked (a
 * reader blocked in fgets()) cannot hang the exit; what it could not flush
 * in time is lost. atexit() handlers do not run. Returns only on error.
 *
 * @param signo  the signal number.
 * @return only on error: TETHER_EINVAL (not a signal, or SIGSTOP/SIGTSTP/
 *         SIGTTIN/SIGTTOU, which stop rather than end), TETHER_ENOTSUP
 *         (Windows).
 *
 * Platform notes: POSIX: restores SIG_DFL, unblocks the signal in the
 * calling thread and raises it. A signal whose default action is to be
 * ignored (SIGCHLD, SIGWINCH, SIGURG, SIGCONT) cannot end a process; then,
 * and if the process otherwise survives, it ends with _exit(128 + signo).
 * SIGQUIT and SIGABRT may write a core file (RLIMIT_CORE decides).
 * Windows: TETHER_ENOTSUP; use tether_exit_like_kind().
 */
TETHER_API int tether_exit_like_signal(int signo);

/**
 * End this process the way an unhandled event of this kind ends it. Flushes
 * C stdio streams first; atexit() handlers do not run. Returns only on
 * error.
 *
 * @param kind  INTERRUPT, QUIT, TERMINATE, HANGUP, LOGOFF, SHUTDOWN; on
 *              POSIX also USER1, USER2, RESIZE.
 * @return only on error: TETHER_EINVAL (not such a kind), TETHER_ENOTSUP
 *         (a kind this OS does not have).
 *
 * Platform notes: POSIX: tether_exit_like_signal() of SIGINT, SIGQUIT,
 * SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH (LOGOFF and SHUTDOWN:
 * TETHER_ENOTSUP). Windows: INTERRUPT, QUIT, HANGUP, LOGOFF and SHUTDOWN
 * exit with STATUS_CONTROL_C_EXIT (0xC000013A, what the default console
 * handler does); TERMINATE exits with 143 (128 + SIGTERM, as tether's kill
 * uses 137); USER1, USER2, RESIZE: TETHER_ENOTSUP.
 */
TETHER_API int tether_exit_like_kind(int kind);

/**
 * End this process with a child's status: what a wrapper does so that its
 * caller sees the child's ending. Flushes C stdio streams first. Returns
 * only on error.
 *
 * @param st  a status from tether_child_wait(), a CHILD event or
 *            tether_status_decode().
 * @return only on error: TETHER_EINVAL (NULL, kind TETHER_STATUS_NONE, or a
 *         status of another OS's kind).
 *
 * Platform notes: POSIX: CODE exits with the code (exit(), so atexit()
 * handlers run; a code outside 0..255 is TETHER_EINVAL); SIGNAL and KILLED
 * die by that signal (tether_exit_like_signal()). Windows: exit() with the
 * raw 32-bit exit code (CODE, INTERRUPTED, CRASHED, KILLED alike), so the
 * parent reads exactly the child's code.
 */
TETHER_API int tether_exit_with(const tether_status *st);

/* ------------------------------------------------------------------------ */
/* Cancellation tokens                                                      */
/* ------------------------------------------------------------------------ */

/** A cancellation token (opaque): a flag set once, with its cause. */
typedef struct tether_token tether_token;

/** Where a cancellation came from. */
typedef enum tether_cause_source {
  TETHER_CAUSE_NONE = 0,   /**< not cancelled */
  TETHER_CAUSE_EVENT = 1,  /**< an event (tether_token_cancel_event()) */
  TETHER_CAUSE_PROGRAM = 2 /**< the program (tether_token_cancel()) */
} tether_cause_source;

/** Why a token was cancelled. */
typedef struct tether_cause {
  /** A tether_cause_source. */
  int source;
  /** 1 when the token was cancelled because an ancestor was (the rest of
   *  the cause is then the ancestor's), else 0. */
  int inherited;
  /** EVENT: the event (kind, native code, sender pid and uid, time; child
   *  is always NULL). Zeroed for PROGRAM. */
  tether_event event;
  /** PROGRAM: the program's code. 0 for EVENT. */
  int code;
  /** PROGRAM: the program's reason (a copy owned by the token, valid until
   *  the token is freed), or NULL. NULL for EVENT. */
  const char *reason;
  /** Room for later fields (the struct keeps its size): zeroed by tether;
   *  do not use. */
  uint64_t reserved[4];
} tether_cause;

/**
 * Create a token, not cancelled.
 *
 * @param out     receives the token; NULL on failure.
 * @param parent  NULL, or a token whose cancellation also cancels this one
 *                (with the parent's cause and `inherited` set). A parent
 *                that is already cancelled gives a cancelled token.
 * @return 0, TETHER_EINVAL (out NULL), TETHER_ECLOSED (parent closed),
 *         TETHER_ENOMEM.
 *
 * Ownership: the caller frees it with tether_token_free(). Freeing a parent
 * first detaches its children (they stay as they are, now without parent).
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_token_new(tether_token **out, tether_token *parent);

/**
 * Cancel a token on the program's behalf, then every descendant token; the
 * children it owns start their stop sequence (tether_token_attach()).
 *
 * @param code    the program's code, reported in the cause.
 * @param reason  NULL or a text, copied.
 * @return 0, TETHER_EINVAL (NULL token), TETHER_ECLOSED, TETHER_ECANCELED
 *         (already cancelled: nothing changes, the first cause is kept),
 *         TETHER_ENOMEM (copying reason; the token is still cancelled, with
 *         reason NULL).
 *
 * Platform notes: POSIX / Windows: identical. Any thread; not from a
 * signal handler.
 */
TETHER_API int tether_token_cancel(tether_token *t, int code, const char *reason);

/**
 * Cancel a token because of an event (usually one read from a channel):
 * the cause then holds the event's kind, native code and sender.
 *
 * @return as tether_token_cancel(); TETHER_EINVAL also for ev NULL or an
 *         event of kind TETHER_EVENT_NONE.
 */
TETHER_API int tether_token_cancel_event(tether_token *t, const tether_event *ev);

/**
 * Is the token cancelled? One atomic load: cheap enough for every loop
 * iteration.
 *
 * @return 1 if cancelled, 0 if not, TETHER_EINVAL for NULL, TETHER_ECLOSED
 *         for a closed token (both non-zero, so `if
 *         (tether_token_cancelled(t))` stops work on bad input too).
 */
TETHER_API int tether_token_cancelled(const tether_token *t);

/**
 * The cause of a cancelled token.
 *
 * @param out  receives the cause (zeroed, source NONE, if not cancelled).
 * @return 1 if cancelled (cause stored), 0 if not, TETHER_EINVAL (NULL),
 *         TETHER_ECLOSED.
 */
TETHER_API int tether_token_cause(const tether_token *t, tether_cause *out);

/**
 * Wait until the token is cancelled.
 *
 * @param timeout_ms  0 polls, < 0 waits forever.
 * @return 1 cancelled, 0 timeout, TETHER_EINVAL, TETHER_ECLOSED (also when
 *         closed while waiting).
 */
TETHER_API int tether_token_wait(tether_token *t, int timeout_ms);

/**
 * A native handle that becomes ready (and stays ready) once the token is
 * cancelled, for poll()/WaitForMultipleObjects next to other handles. It
 * is created on the first call. Do not read, write or close it.
 *
 * @return the handle, valid until the token is closed; -1 (POSIX) / NULL
 *         (Windows) for NULL, a closed token, or when it cannot be created
 *         (tether_last_os_error() says why).
 *
 * Platform notes: POSIX: a descriptor that polls readable (eventfd on
 * Linux, a pipe elsewhere), close-on-exec. Windows: a manual-reset event.
 */
TETHER_API tether_os_handle tether_token_handle(tether_token *t);

/**
 * Let the token own a tethered child (Go's exec.CommandContext): when the
 * token is cancelled, tether stops the child's tree with the given stop
 * sequence on a thread of its own, all owned children in parallel (step 1
 * to every child, wait for all, step 2 to those left, ... then kill). A
 * child attached to an already-cancelled token is stopped at once.
 *
 * @param steps   the stop sequence (copied), or NULL for the default of
 *                tether_child_stop(): interrupt, 5 s; terminate, 2 s; kill.
 * @param nsteps  number of steps (0 with steps NULL; at most
 *                TETHER_STOP_MAX_STEPS). The sequence is checked as by
 *                tether_child_stop() and run by the same engine (a tree
 *                whose final kill fails is given up: its stop is over).
 * @return 0, TETHER_EINVAL (NULL, bad steps, a detached child, a child
 *         already owned by a token), TETHER_ECLOSED, TETHER_ENOMEM,
 *         TETHER_EAGAIN (the stop thread could not be started).
 *
 * Ownership: the caller still owns the child. tether_child_free() on an
 * owned child first removes it from its token (waiting for a stop step in
 * progress); tether_token_free() leaves its children alone.
 *
 * Platform notes: as tether_child_stop().
 */
TETHER_API int tether_token_attach(tether_token *t, tether_child *c, const tether_stop_step *steps,
                                   size_t nsteps);

/**
 * Wait until the stop sequences started by the token's cancellation have
 * finished (every owned tree gone or killed).
 *
 * @return 1 when finished (or the token owns no child), 0 on timeout or
 *         when the token is not cancelled yet, TETHER_EINVAL,
 *         TETHER_ECLOSED.
 */
TETHER_API int tether_token_wait_stopped(tether_token *t, int timeout_ms);

/**
 * Close a token: detach it from its parent and its children tokens, stop
 * its stop thread (waiting for the current step), disown its children
 * (left running) and release its handle. The memory stays valid so that
 * later calls return TETHER_ECLOSED.
 *
 * @return 0, TETHER_EINVAL (NULL), TETHER_ECLOSED (already closed).
 */
TETHER_API int tether_token_close(tether_token *t);

/** Close the token if it is open, then free it. NULL does nothing. */
TETHER_API void tether_token_free(tether_token *t);

/* ------------------------------------------------------------------------ */
/* Shutdown policy                                                          */
/* ------------------------------------------------------------------------ */

/** The process-wide shutdown policy (opaque). */
typedef struct tether_shutdown tether_shutdown;

/** The bit of a kind in tether_shutdown_options.kinds. */
#define TETHER_KIND_BIT(kind) (1u << (unsigned)(kind))

/** What the policy did with an event (tether_shutdown_options.notify). */
typedef enum tether_shutdown_action {
  /** The first event: the token is cancelled, graceful shutdown starts. */
  TETHER_SHUTDOWN_STARTED = 1,
  /** A later event that does not force the exit (yet, or never with
   *  TETHER_SHUTDOWN_SWALLOW). */
  TETHER_SHUTDOWN_REPEATED = 2,
  /** The force_count-th event: the process exits now, like this event. */
  TETHER_SHUTDOWN_FORCED = 3,
  /** The grace period ran out: the process exits now, like the first
   *  event (which is the one passed). */
  TETHER_SHUTDOWN_GRACE_EXPIRED = 4
} tether_shutdown_action;

/** Called on tether's shutdown thread; for FORCED and GRACE_EXPIRED just
 *  before the process ends (keep it short: remove a temporary file, write
 *  a line with write()). */
typedef void (*tether_shutdown_cb)(int action, const tether_event *ev, void *userdata);

/** Flags for tether_shutdown_options.flags. */
enum tether_shutdown_flags {
  /** Never force the exit on a repeated event: they are reported
   *  (REPEATED) and otherwise swallowed (for programs that must not be cut
   *  short, such as databases). force_count must then be 0. */
  TETHER_SHUTDOWN_SWALLOW = 1u << 0
};

/** The version of tether_shutdown_options this header describes. */
#define TETHER_SHUTDOWN_OPTIONS_VERSION 1

/** Options for tether_shutdown_new() and tether_main(). Initialize with
 *  TETHER_SHUTDOWN_OPTIONS_INIT or tether_shutdown_options_init(). */
typedef struct tether_shutdown_options {
  /** TETHER_SHUTDOWN_OPTIONS_VERSION (set by the initializers). */
  unsigned version;
  /** TETHER_KIND_BIT() of each kind that starts the shutdown. 0: interrupt,
   *  terminate and hangup, plus logoff and shutdown where the OS has them.
   *  Allowed: INTERRUPT, QUIT, TERMINATE, HANGUP, LOGOFF, SHUTDOWN, USER1,
   *  USER2. */
  unsigned kinds;
  /** The event number (counting the first) that forces the exit: 0 means
   *  2 (a second Ctrl+C); 1 forces on the first. */
  int force_count;
  /** > 0: exit like the first event this many milliseconds after it if
   *  the program has not finished. 0: no grace timer. */
  int grace_ms;
  /** tether_shutdown_flags. */
  unsigned flags;
  /** NULL, or told about each event (see tether_shutdown_cb). */
  tether_shutdown_cb notify;
  /** Passed to notify unchanged. */
  void *userdata;
} tether_shutdown_options;

/** Defaults: `tether_shutdown_options o = TETHER_SHUTDOWN_OPTIONS_INIT;` */
#define TETHER_SHUTDOWN_OPTIONS_INIT \
  TETHER__OPTIONS_INIT(tether_shutdown_options, TETHER_SHUTDOWN_OPTIONS_VERSION)

/**
 * Set opts to the defaults of the given version (see
 * tether_channel_options_init()).
 *
 * @return 0, or TETHER_EINVAL: opts is NULL, or version is 0 or newer than
 *         this library knows (opts is then left unchanged).
 *
 * Platform notes: POSIX / Windows: identical.
 */
TETHER_API int tether_shutdown_options_init(tether_shutdown_options *opts, unsigned version);

/**
 * Install the shutdown policy: tether watches the chosen kinds on a thread
 * of its own; the first event cancels the policy's token with that event
 * as the cause; the force_count-th event (or the grace timer) ends the
 * process at once, like the event (tether_exit_like_kind() semantics
 * without flushing stdio, which another thread may hold locked). Children
 * tethered with tether_spawn() die with the process as always.
 *
 * @param out   receives the policy; NULL on failure.
 * @param opts  NULL or options (read during the call only).
 * @return 0, or an error. Actionable errors:
 *         - TETHER_EINVAL: out NULL, opts->version 0 or newer than this
 *           library, kinds outside the allowed set,
 *           force_count < 0, grace_ms < 0, unknown flags, SWALLOW with a
 *           force_count.
 *         - TETHER_ENOTSUP: a kind in kinds that this OS cannot deliver.
 *         - TETHER_EIGNORED: a kind whose signal was ignored at start (a
 *           background job's SIGINT, nohup's SIGHUP) was asked for
 *           explicitly; with kinds 0 such kinds are left out instead.
 *         - TETHER_EBUSY: a policy already exists in this process.
 *         - TETHER_EMFILE, TETHER_ENOMEM, TETHER_EAGAIN, TETHER_ELIMIT.
 *
 * Ownership: the caller frees it with tether_shutdown_free().
 *
 * Platform notes: POSIX: a forced exit dies by the signal of the forcing
 * event (its native code). Windows: a forced exit is TerminateProcess with
 * the code of tether_exit_like_kind(). HANGUP (console close), LOGOFF and
 * SHUTDOWN events keep the console handler blocked — Windows does not end
 * the process — until tether_shutdown_done(), tether_shutdown_free(), or
 * shortly before Windows' deadline (tether_shutdown_time_left_ms()).
 */
TETHER_API int tether_shutdown_new(tether_shutdown **out, const tether_shutdown_options *opts);

/**
 * The policy's token (owned by the policy, valid until it is freed):
 * check it in work loops, wait on its handle, hang tokens and children on
 * it.
 *
 * @return the token, or NULL for NULL.
 */
TETHER_API tether_token *tether_shutdown_token(tether_shutdown *s);

/**
 * Milliseconds left before the OS ends the process on its own: Windows,
 * when the shutdown was started by a console close, logoff or shutdown
 * (about 5 s for a close, ~20 s for logoff/shutdown of a console program).
 *
 * @return the time left (>= 0), or -1 when no such deadline runs (POSIX;
 *         every other event; not shut down), TETHER_EINVAL for NULL.
 */
TETHER_API int64_t tether_shutdown_time_left_ms(const tether_shutdown *s);

/**
 * The program has finished its cleanup: acknowledge every event that the
 * OS waits for, so that Windows ends the process at once instead of at its
 * deadline. Call it as the last thing (the process may end during the
 * call).
 *
 * @return 0, TETHER_EINVAL (NULL).
 *
 * Platform notes: POSIX: no event waits for an acknowledgement: returns 0
 * and the program exits when it chooses. Windows: releases the console
 * handler (tether_channel_ack()).
 */
TETHER_API int tether_shutdown_done(tether_shutdown *s);

/**
 * Stop the policy thread, unwatch its kinds (restoring the previous
 * signal actions) and free the policy and its token. NULL does nothing.
 */
TETHER_API void tether_shutdown_free(tether_shutdown *s);

/** The program's work for tether_main(): check the token, return an exit
 *  code. */
typedef int (*tether_main_fn)(tether_token *token, void *userdata);

/**
 * Run a program inside a shutdown policy and decide its exit status in one
 * place: create the policy (opts), call run(token, userdata), then end the
 * process:
 *   - token cancelled by an event: like that event
 *     (tether_exit_like_kind(); POSIX: its native signal), so that a
 *     shell sees death by SIGINT after a graceful Ctrl+C;
 *   - otherwise: exit(run's return value).
 * Usage: `int main(void) { return tether_main(NULL, run, NULL); }`.
 *
 * @return only when it cannot start, and then run was not called:
 *         TETHER_EINVAL (run NULL, or options that tether_shutdown_new()
 *         refuses), or another error as for tether_shutdown_new().
 */
TETHER_API int tether_main(const tether_shutdown_options *opts, tether_main_fn run, void *userdata);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_H */
