/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE: the few lock-free atomic operations tether needs, for GCC/Clang
 * (including MinGW) and MSVC. Selected by compiler, not by OS. Every
 * operation is sequentially consistent; all are lock-free on the supported
 * targets, so they may be used inside POSIX signal handlers.
 */
#ifndef TETHER_CORE_ATOMIC_H
#define TETHER_CORE_ATOMIC_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#if defined(_M_IX86)
/*
 * 32-bit x86: of the 64-bit interlocked functions only
 * _InterlockedCompareExchange64 (cmpxchg8b) is an intrinsic, and there is
 * no _BitScanForward64 ("Compiler intrinsics", x86 column, MS docs). Every
 * 64-bit operation is a compare-exchange loop; pointers are 32 bits wide,
 * so the pointer operations are the long ones.
 */
#pragma intrinsic(_InterlockedCompareExchange64, _InterlockedExchangeAdd, \
                  _InterlockedCompareExchange, _InterlockedExchange, _BitScanForward)

static __inline uint64_t tether__load64(volatile uint64_t *p) {
  return (uint64_t)_InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
}
/* One compare-exchange loop for every read-modify-write: op 0 store v,
 * 1 add v, 2 or v, 3 and v. Returns the new value. */
static __inline uint64_t tether__rmw64(volatile uint64_t *p, uint64_t v, int op) {
  __int64 old = _InterlockedCompareExchange64((volatile __int64 *)p, 0, 0), seen;
  uint64_t want;
  for (;;) {
    switch (op) {
    case 0:
      want = v;
      break;
    case 1:
      want = (uint64_t)old + v;
      break;
    case 2:
      want = (uint64_t)old | v;
      break;
    default:
      want = (uint64_t)old & v;
      break;
    }
    seen = _InterlockedCompareExchange64((volatile __int64 *)p, (__int64)want, old);
    if (seen == old)
      return want;
    old = seen;
  }
}
static __inline void tether__store64(volatile uint64_t *p, uint64_t v) {
  (void)tether__rmw64(p, v, 0);
}
static __inline uint64_t tether__add64(volatile uint64_t *p, uint64_t v) {
  return tether__rmw64(p, v, 1);
}
static __inline void tether__or64(volatile uint64_t *p, uint64_t v) {
  (void)tether__rmw64(p, v, 2);
}
static __inline void tether__and64(volatile uint64_t *p, uint64_t v) {
  (void)tether__rmw64(p, v, 3);
}
static __inline void *tether__load_ptr(void *volatile *p) {
  return (void *)_InterlockedCompareExchange((volatile long *)p, 0, 0);
}
static __inline void tether__store_ptr(void *volatile *p, void *v) {
  _InterlockedExchange((volatile long *)p, (long)v);
}
/* Index of the lowest set bit; v must not be 0. */
static __inline int tether__ctz64(uint64_t v) {
  unsigned long i;
  if (_BitScanForward(&i, (unsigned long)v))
    return (int)i;
  _BitScanForward(&i, (unsigned long)(v >> 32));
  return (int)i + 32;
}
#else /* x64, ARM64 */
#pragma intrinsic(_InterlockedExchangeAdd64, _InterlockedExchange64,                  \
                  _InterlockedCompareExchange64, _InterlockedOr64, _InterlockedAnd64, \
                  _InterlockedExchangeAdd, _InterlockedCompareExchangePointer,        \
                  _InterlockedExchangePointer, _BitScanForward64)

static __inline uint64_t tether__load64(volatile uint64_t *p) {
  return (uint64_t)_InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
}
static __inline void tether__store64(volatile uint64_t *p, uint64_t v) {
  _InterlockedExchange64((volatile __int64 *)p, (__int64)v);
}
static __inline uint64_t tether__add64(volatile uint64_t *p, uint64_t v) {
  return (uint64_t)_InterlockedExchangeAdd64((volatile __int64 *)p, (__int64)v) + v;
}
static __inline void tether__or64(volatile uint64_t *p, uint64_t v) {
  _InterlockedOr64((volatile __int64 *)p, (__int64)v);
}
static __inline void tether__and64(volatile uint64_t *p, uint64_t v) {
  _InterlockedAnd64((volatile __int64 *)p, (__int64)v);
}
static __inline void *tether__load_ptr(void *volatile *p) {
  return _InterlockedCompareExchangePointer(p, 0, 0);
}
static __inline void tether__store_ptr(void *volatile *p, void *v) {
  _InterlockedExchangePointer(p, v);
}
/* Index of the lowest set bit; v must not be 0. */
static __inline int tether__ctz64(uint64_t v) {
  unsigned long i;
  _BitScanForward64(&i, v);
  return (int)i;
}
#endif
/* Both: the int operations. */
static __inline int tether__load_int(volatile int *p) {
  return (int)_InterlockedExchangeAdd((volatile long *)p, 0);
}
static __inline int tether__add_int(volatile int *p, int v) {
  return (int)_InterlockedExchangeAdd((volatile long *)p, (long)v) + v;
}
#else
#define tether__load64(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define tether__store64(p, v) __atomic_store_n((p), (uint64_t)(v), __ATOMIC_SEQ_CST)
#define tether__add64(p, v) __atomic_add_fetch((p), (uint64_t)(v), __ATOMIC_SEQ_CST)
#define tether__or64(p, v) ((void)__atomic_fetch_or((p), (uint64_t)(v), __ATOMIC_SEQ_CST))
#define tether__and64(p, v) ((void)__atomic_fetch_and((p), (uint64_t)(v), __ATOMIC_SEQ_CST))
#define tether__load_int(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define tether__add_int(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define tether__load_ptr(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define tether__store_ptr(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
/* Index of the lowest set bit; v must not be 0. */
#define tether__ctz64(v) __builtin_ctzll((unsigned long long)(v))
#endif

#endif /* TETHER_CORE_ATOMIC_H */
