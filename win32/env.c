/* SPDX-License-Identifier: MIT */
/*
 * Windows backend, children: the child's environment block (UTF-16,
 * sorted as Windows expects) from this process's environment and the
 * spawn options' env_set, env_unset and TETHER_SPAWN_CLEAR_ENV.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cmdline.h"
#include "spawn_internal.h"

typedef struct tether__env_entry {
  const wchar_t *s; /* "NAME=value" */
  size_t name_len;
} tether__env_entry;

/* The name ends at the first '=' after the first character: the hidden
 * per-drive variables are named "=C:" ("Changing Environment Variables",
 * MS docs). */
static size_t tether__env_name_len(const wchar_t *s) {
  const wchar_t *eq = wcschr(s[0] != L'\0' ? s + 1 : s, L'=');
  return eq != NULL ? (size_t)(eq - s) : wcslen(s);
}

/* Environment names compare case-insensitively, ordinally (upper-cased
 * UTF-16 code units, no locale): what CompareStringOrdinal(..., TRUE) does,
 * and the order Windows expects in a block ("Changing Environment
 * Variables": sorted "case-insensitive, Unicode order, without regard to
 * locale"). */
static int tether__env_cmp_names(const wchar_t *a, size_t na, const wchar_t *b, size_t nb) {
  int r = CompareStringOrdinal(a, (int)na, b, (int)nb, TRUE);
  return r == CSTR_LESS_THAN ? -1 : (r == CSTR_GREATER_THAN ? 1 : 0);
}

static int tether__env_entry_cmp(const void *pa, const void *pb) {
  const tether__env_entry *a = (const tether__env_entry *)pa;
  const tether__env_entry *b = (const tether__env_entry *)pb;
  return tether__env_cmp_names(a->s, a->name_len, b->s, b->name_len);
}

typedef struct tether__env {
  tether__env_entry *e;
  size_t n, cap;
  wchar_t **owned; /* converted strings, freed at the end */
  size_t nowned;
} tether__env;

/* Remove every entry named name[0..len). */
static void tether__env_remove(tether__env *env, const wchar_t *name, size_t len) {
  size_t i, j = 0;
  for (i = 0; i < env->n; i++)
    if (tether__env_cmp_names(env->e[i].s, env->e[i].name_len, name, len) != 0)
      env->e[j++] = env->e[i];
  env->n = j;
}

static int tether__env_push(tether__env *env, const wchar_t *s) {
  if (env->n == env->cap) {
    size_t cap = env->cap ? env->cap * 2 : 64;
    tether__env_entry *p = (tether__env_entry *)realloc(env->e, cap * sizeof(*p));
    if (p == NULL)
      return TETHER_ENOMEM;
    env->e = p;
    env->cap = cap;
  }
  env->e[env->n].s = s;
  env->e[env->n].name_len = tether__env_name_len(s);
  env->n++;
  return 0;
}

/* Convert and remember a UTF-8 string. */
static int tether__env_own(tether__env *env, const char *s, wchar_t **out) {
  wchar_t **p, *w;
  int r = tether__win32_utf8_to_wide(s, &w);
  if (r < 0)
    return r;
  p = (wchar_t **)realloc(env->owned, (env->nowned + 1) * sizeof(*p));
  if (p == NULL) {
    free(w);
    return TETHER_ENOMEM;
  }
  env->owned = p;
  env->owned[env->nowned++] = w;
  *out = w;
  return 0;
}

static void tether__env_free(tether__env *env) {
  size_t i;
  for (i = 0; i < env->nowned; i++)
    free(env->owned[i]);
  free(env->owned);
  free(env->e);
}

/*
 * The child's environment block (UTF-16, for CREATE_UNICODE_ENVIRONMENT):
 * this process's variables (GetEnvironmentStringsW, including the hidden
 * "=C:" ones) unless TETHER_SPAWN_CLEAR_ENV, minus every env_unset name,
 * then each env_set entry replacing any variable of the same name; names
 * compare case-insensitively. Sorted as Windows expects. *out is NULL when
 * nothing changes (the child then inherits this process's environment).
 */
int tether__build_env(const char *const *env_set, const char *const *env_unset, unsigned flags,
                      wchar_t **out) {
  tether__env env;
  wchar_t *parent = NULL, *w;
  tether__wbuf b = {NULL, 0, 0, 0};
  size_t i;
  int r = 0;
  *out = NULL;
  if (!(flags & TETHER_SPAWN_CLEAR_ENV) && (env_set == NULL || env_set[0] == NULL) &&
      (env_unset == NULL || env_unset[0] == NULL))
    return 0;
  memset(&env, 0, sizeof(env));
  if (!(flags & TETHER_SPAWN_CLEAR_ENV)) {
    const wchar_t *p;
    parent = GetEnvironmentStringsW();
    if (parent == NULL)
      return tether__os_err();
    for (p = parent; *p != L'\0' && r == 0; p += wcslen(p) + 1)
      r = tether__env_push(&env, p);
  }
  for (; r == 0 && env_unset != NULL && *env_unset != NULL; env_unset++)
    if ((r = tether__env_own(&env, *env_unset, &w)) == 0)
      tether__env_remove(&env, w, wcslen(w));
  for (; r == 0 && env_set != NULL && *env_set != NULL; env_set++) {
    if ((r = tether__env_own(&env, *env_set, &w)) < 0)
      break;
    tether__env_remove(&env, w, tether__env_name_len(w));
    r = tether__env_push(&env, w);
  }
  if (r == 0) {
    qsort(env.e, env.n, sizeof(env.e[0]), tether__env_entry_cmp);
    /* Each "NAME=value" with its NUL, then one more NUL; an empty block
     * is two NULs. */
    for (i = 0; i < env.n; i++)
      tether__wbuf_add(&b, env.e[i].s, wcslen(env.e[i].s) + 1);
    tether__wbuf_add(&b, L"\0", env.n == 0 ? 2 : 1);
    if (b.oom) {
      free(b.p);
      r = TETHER_ENOMEM;
    } else {
      *out = b.p;
    }
  }
  tether__env_free(&env);
  if (parent != NULL)
    FreeEnvironmentStringsW(parent);
  return r;
}
