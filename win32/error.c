/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: the one place where a GetLastError() value (or a Winsock
 * error, which shares the same number space) becomes a TETHER_E* code.
 *
 * Error numbers: "System Error Codes (0-499)", "(500-999)", "(1300-1699)"
 * and "Windows Sockets Error Codes" (MS docs).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "backend.h"

/* Winsock error numbers, spelled out so that no Winsock header is needed
 * ("Windows Sockets Error Codes": WSABASEERR is 10000). */
#define TETHER__WSAEINTR 10004L
#define TETHER__WSAEACCES 10013L
#define TETHER__WSAEINVAL 10022L
#define TETHER__WSAEMFILE 10024L
#define TETHER__WSAEWOULDBLOCK 10035L
#define TETHER__WSAENOBUFS 10055L
#define TETHER__WSAESHUTDOWN 10058L
#define TETHER__WSAETIMEDOUT 10060L

/* Map os_code to a TETHER_E* code and record it as this thread's last OS
 * error (tether_last_os_error()). Unknown values give TETHER_EUNKNOWN. */
int tether__translate_os_error(long os_code) {
  tether__set_last_os_error(os_code);
  switch (os_code) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_PATHNAME:
  case ERROR_MOD_NOT_FOUND:
  case ERROR_NOT_FOUND:
  case ERROR_ENVVAR_NOT_FOUND:
    return TETHER_ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_INVALID_ACCESS:
  case ERROR_SHARING_VIOLATION:
  case TETHER__WSAEACCES:
    return TETHER_EACCES;
  case ERROR_PRIVILEGE_NOT_HELD:
    return TETHER_EPERM;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_NOT_ENOUGH_QUOTA:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_NO_SYSTEM_RESOURCES:
  case TETHER__WSAENOBUFS:
    return TETHER_ENOMEM;
  case ERROR_TOO_MANY_OPEN_FILES:
  case TETHER__WSAEMFILE:
    return TETHER_EMFILE;
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_HANDLE:
  case ERROR_INVALID_FLAGS:
  case ERROR_INVALID_NAME:
  case ERROR_INVALID_FUNCTION:
  case TETHER__WSAEINVAL:
    return TETHER_EINVAL;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
  case ERROR_PROC_NOT_FOUND:
    return TETHER_ENOTSUP;
  case ERROR_TIMEOUT:
  case WAIT_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
  case TETHER__WSAETIMEDOUT:
    return TETHER_ETIMEDOUT;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_NOT_CONNECTED:
  case TETHER__WSAESHUTDOWN:
    return TETHER_EPIPE;
  case ERROR_BAD_EXE_FORMAT:
  case ERROR_BAD_FORMAT:
  case ERROR_EXE_MACHINE_TYPE_MISMATCH:
    return TETHER_ENOEXEC;
  case ERROR_DIRECTORY:
    return TETHER_ENOTDIR;
  case ERROR_FILENAME_EXCED_RANGE:
    return TETHER_ENAMETOOLONG;
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS:
    return TETHER_EEXIST;
  case ERROR_BUSY:
  case ERROR_LOCK_VIOLATION:
  case ERROR_PIPE_BUSY:
    return TETHER_EBUSY;
  case ERROR_NO_PROC_SLOTS:
  case ERROR_MAX_THRDS_REACHED:
  case TETHER__WSAEWOULDBLOCK:
    return TETHER_EAGAIN;
  case ERROR_OPERATION_ABORTED:
  case TETHER__WSAEINTR:
    return TETHER_EINTR;
  case ERROR_WAIT_NO_CHILDREN:
    return TETHER_ECHILD;
  case ERROR_IO_DEVICE:
  case ERROR_CRC:
  case ERROR_GEN_FAILURE:
    return TETHER_EIO;
  default:
    return TETHER_EUNKNOWN;
  }
}
