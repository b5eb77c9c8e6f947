/* SPDX-License-Identifier: MIT */
/*
 * poll_loop: plug a tether channel into an event loop that also waits for
 * other things. POSIX: poll() on the channel's descriptor and a pipe.
 * Windows: WaitForMultipleObjects on the channel's event and another event.
 *
 *   example_poll_loop              run until terminate (kill PID / taskkill)
 *   example_poll_loop --self-test  deliver the events to itself and check
 */
#include <stdio.h>
#include <string.h>

#include "tether.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#endif

/* Read every pending event; returns 1 once terminate was seen. */
static int drain(tether_channel *ch) {
  tether_event ev;
  int stop = 0;
  while (tether_channel_poll(ch, &ev) == 1) {
    printf("event: %s (%s), count %llu\n", tether_kind_name(ev.kind), ev.native,
           (unsigned long long)ev.count);
    if (ev.kind == TETHER_EVENT_TERMINATE)
      stop = 1;
  }
  return stop;
}

#ifdef _WIN32
static BOOL CALLBACK find_own_window(HWND w, LPARAM out) {
  DWORD pid = 0;
  GetWindowThreadProcessId(w, &pid);
  if (pid == GetCurrentProcessId()) {
    *(HWND *)out = w;
    return FALSE;
  }
  return TRUE;
}

/* What `taskkill /PID n` (without /F) does: WM_CLOSE to the top-level
 * windows of the process. tether's hidden window receives it. */
static int send_terminate_to_self(void) {
  HWND w = NULL;
  int i;
  for (i = 0; i < 100 && w == NULL; i++) {
    EnumWindows(find_own_window, (LPARAM)&w);
    if (w == NULL)
      Sleep(20);
  }
  return w != NULL && PostMessageW(w, WM_CLOSE, 0, 0);
}
#endif

int main(int argc, char **argv) {
  tether_channel *ch;
  int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
  int r, other = 0, stop = 0;

  r = tether_channel_new(&ch, NULL);
  if (r == 0)
    r = tether_channel_watch(ch, TETHER_EVENT_TERMINATE, 0);
  if (r < 0) {
    fprintf(stderr, "tether: %s\n", tether_strerror(r));
    return 1;
  }
#ifdef _WIN32
  {
    HANDLE handles[2];
    handles[0] = (HANDLE)tether_channel_handle(ch);
    handles[1] = CreateEventW(NULL, TRUE, FALSE, NULL); /* "other work" */
    if (self_test) {
      SetEvent(handles[1]);
      if (!send_terminate_to_self()) {
        fprintf(stderr, "could not post WM_CLOSE to tether's window\n");
        return 1;
      }
    }
    /* In the self-test both are ready at once: keep going until both
     * were handled (WaitForMultipleObjects reports the lowest index). */
    while (!stop || (self_test && other == 0)) {
      DWORD w = WaitForMultipleObjects(2, handles, FALSE, self_test ? 10000 : INFINITE);
      if (w == WAIT_OBJECT_0)
        stop = drain(ch);
      else if (w == WAIT_OBJECT_0 + 1) {
        ResetEvent(handles[1]);
        other++;
        printf("other work\n");
      } else
        break;
    }
    CloseHandle(handles[1]);
  }
#else
  {
    int p[2];
    struct pollfd fds[2];
    if (pipe(p) != 0)
      return 1;
    fds[0].fd = tether_channel_handle(ch);
    fds[0].events = POLLIN;
    fds[1].fd = p[0];
    fds[1].events = POLLIN;
    if (self_test) {
      if (write(p[1], "x", 1) != 1 || kill(getpid(), SIGTERM) != 0)
        return 1;
    }
    while (!stop || (self_test && other == 0)) {
      int n = poll(fds, 2, self_test ? 10000 : -1);
      if (n <= 0)
        break;
      if (fds[0].revents & POLLIN)
        stop = drain(ch);
      if (fds[1].revents & POLLIN) {
        char c;
        if (read(p[0], &c, 1) == 1) {
          other++;
          printf("other work\n");
        }
      }
    }
    close(p[0]);
    close(p[1]);
  }
#endif
  tether_channel_free(ch);
  if (self_test && !(stop && other == 1)) {
    fprintf(stderr, "self-test failed: terminate %s, other work %d\n", stop ? "seen" : "not seen",
            other);
    return 1;
  }
  return 0;
}
