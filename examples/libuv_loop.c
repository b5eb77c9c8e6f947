/* SPDX-License-Identifier: MIT */
/*
 * libuv_loop: a tether channel inside a libuv loop through uv_poll_t.
 * libuv's own uv_signal_t cannot see Windows LOGOFF/SHUTDOWN, never restores
 * the previous handler and cannot tell who sent a signal; tether can, and
 * the loop integration is five lines.
 *
 *   example_libuv_loop              run until terminate (kill PID)
 *   example_libuv_loop --self-test  send SIGTERM to itself and check
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "tether.h"

static tether_channel *channel;
static int saw_terminate;

static void on_channel_ready(uv_poll_t *handle, int status, int events) {
  tether_event ev;
  (void)events;
  if (status < 0)
    return;
  /* Drain: the descriptor stays readable while events are pending. */
  while (tether_channel_poll(channel, &ev) == 1) {
    printf("event: %s (%s) from pid %lld\n", tether_kind_name(ev.kind), ev.native,
           (long long)ev.pid);
    if (ev.kind == TETHER_EVENT_TERMINATE) {
      saw_terminate = 1;
      uv_close((uv_handle_t *)handle, NULL); /* loop ends */
    }
  }
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  uv_poll_t poll_handle;
  int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
  int r = tether_channel_new(&channel, NULL);
  if (r == 0)
    r = tether_channel_watch(channel, TETHER_EVENT_TERMINATE, 0);
  if (r < 0) {
    fprintf(stderr, "tether: %s\n", tether_strerror(r));
    return 1;
  }
  uv_poll_init(loop, &poll_handle, tether_channel_handle(channel));
  uv_poll_start(&poll_handle, UV_READABLE, on_channel_ready);
  if (self_test && kill(getpid(), SIGTERM) != 0)
    return 1;
  uv_run(loop, UV_RUN_DEFAULT);
  tether_channel_free(channel);
  uv_loop_close(loop);
  return saw_terminate ? 0 : 1;
}
