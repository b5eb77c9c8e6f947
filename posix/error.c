/* SPDX-License-Identifier: MIT */
/* The one place where errno values become TETHER_E* codes. */
#include <errno.h>

#include "backend.h"

int tether__translate_os_error(long os_code) {
  tether__set_last_os_error(os_code);
  switch (os_code) {
  case 0:
    return TETHER_EUNKNOWN;
  case EINVAL:
    return TETHER_EINVAL;
  case ENOMEM:
    return TETHER_ENOMEM;
#if defined(ENOTSUP)
  case ENOTSUP:
#endif
#if defined(EOPNOTSUPP) && (!defined(ENOTSUP) || EOPNOTSUPP != ENOTSUP)
  case EOPNOTSUPP:
#endif
  case ENOSYS:
    return TETHER_ENOTSUP;
  case EMFILE:
    return TETHER_EMFILE;
  case ENFILE:
    return TETHER_ENFILE;
  case EAGAIN:
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
    return TETHER_EAGAIN;
  case ETIMEDOUT:
    return TETHER_ETIMEDOUT;
  case EINTR:
    return TETHER_EINTR;
  case ENOENT:
    return TETHER_ENOENT;
  case EACCES:
    return TETHER_EACCES;
  case EPERM:
    return TETHER_EPERM;
  case ESRCH:
    return TETHER_ESRCH;
  case ECHILD:
    return TETHER_ECHILD;
  case EBUSY:
    return TETHER_EBUSY;
  case EEXIST:
    return TETHER_EEXIST;
  case ENOEXEC:
    return TETHER_ENOEXEC;
  case ENOTDIR:
    return TETHER_ENOTDIR;
  case ENAMETOOLONG:
    return TETHER_ENAMETOOLONG;
  case E2BIG:
    return TETHER_E2BIG;
  case EPIPE:
    return TETHER_EPIPE;
  case EIO:
    return TETHER_EIO;
  default:
    return TETHER_EUNKNOWN;
  }
}
