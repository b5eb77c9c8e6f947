/* SPDX-License-Identifier: MIT */
/* Message headers for AF_UNIX sockets with SCM_RIGHTS descriptors
 * (posix/msg.h): what the library and the keeper send and receive. */
#define _DEFAULT_SOURCE /* CMSG_SPACE, CMSG_LEN */
#define _DARWIN_C_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "msg.h"

void tether__msg_init(struct msghdr *mh, struct iovec *iov, void *buf, size_t len, void *ctl,
                      size_t ctllen) {
  memset(mh, 0, sizeof(*mh));
  iov->iov_base = buf;
  iov->iov_len = len;
  mh->msg_iov = iov;
  mh->msg_iovlen = 1;
  mh->msg_control = ctl;
  mh->msg_controllen = ctllen;
}

void tether__msg_put_fds(struct msghdr *mh, void *ctl, const int *fds, int n) {
  struct cmsghdr *cm;
  size_t size = (size_t)n * sizeof(int);
  memset(ctl, 0, CMSG_SPACE(size));
  mh->msg_control = ctl;
  mh->msg_controllen = CMSG_SPACE(size);
  cm = CMSG_FIRSTHDR(mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(size);
  memcpy(CMSG_DATA(cm), fds, size);
}
