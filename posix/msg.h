/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to the POSIX backend: the message header of one datagram or
 * record over an AF_UNIX socket, with descriptors attached (SCM_RIGHTS), as
 * the library sends them to the keeper (posix/spawn.c) and to tether-guard
 * (posix/guard.c) and as the keeper receives them (posix/keeper.c).
 *
 * Async-signal-safe (they only write the caller's memory): the keeper, a
 * fork that never calls exec, and children between vfork and execve use
 * them.
 */
#ifndef TETHER_POSIX_MSG_H
#define TETHER_POSIX_MSG_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* The type of a control buffer of `bytes` bytes aligned for a struct
 * cmsghdr, as recvmsg() and sendmsg() want it:
 *   TETHER__CTL(CMSG_SPACE(n * sizeof(int))) ctl;   (ctl.buf, sizeof ctl) */
#define TETHER__CTL(bytes) \
  union {                  \
    struct cmsghdr h;      \
    char buf[bytes];       \
  }

/* Point *mh at one data buffer (buf, len; described by *iov) and at a
 * control buffer of ctllen bytes (or none: NULL, 0); every other field
 * zero. */
void tether__msg_init(struct msghdr *mh, struct iovec *iov, void *buf, size_t len, void *ctl,
                      size_t ctllen);

/* Attach n > 0 descriptors to *mh as one SCM_RIGHTS message written into
 * ctl: at least CMSG_SPACE(n * sizeof(int)) bytes aligned for a struct
 * cmsghdr (a union with one), which are zeroed first. */
void tether__msg_put_fds(struct msghdr *mh, void *ctl, const int *fds, int n);

#endif
