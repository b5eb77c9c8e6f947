/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: the command line of a spawned child (see cmdline.h).
 *
 * The rules the line must satisfy (MS docs "Parsing C++ command-line
 * arguments" and "CommandLineToArgvW"; the UCRT and CommandLineToArgvW
 * agree on them, msvcrt.dll differs only on "" inside quotes, which is
 * never produced here):
 *   - arguments are separated by spaces and tabs outside double quotes;
 *   - a double quote opens or closes a quoted part and is not copied;
 *   - 2n backslashes followed by a double quote give n backslashes, and the
 *     quote delimits; 2n+1 backslashes followed by a double quote give n
 *     backslashes and a literal quote; backslashes not followed by a double
 *     quote are literal;
 *   - the program name (the first argument) follows other rules: if it
 *     starts with a double quote it ends at the next one, and backslashes
 *     never escape anything in it.
 *
 * The line is first written in UTF-8 and converted once at the end: the
 * only bytes the encoder looks at or inserts are ASCII, which never occur
 * inside a multi-byte UTF-8 sequence, so encoding bytes or code units gives
 * the same result.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmdline.h"

/* Every UTF-16 code unit comes from at most 3 UTF-8 bytes (U+0800..U+FFFF;
 * 4-byte sequences give 2 units), so a UTF-8 line (NUL excluded) longer
 * than this cannot fit. */
#define TETHER__CMDLINE_MAX_UTF8 (3u * (TETHER__WIN32_CMDLINE_MAX - 1u))

/* 1 if s[0..n) is well-formed UTF-8 (RFC 3629: shortest form, no UTF-16
 * surrogates, at most U+10FFFF). Checked here rather than left to
 * MultiByteToWideChar so that every Windows version (and Wine) agrees. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0, k, len;
  unsigned long cp, min;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80u) {
      i++;
      continue;
    }
    if (c >= 0xC2u && c <= 0xDFu) {
      len = 2;
      cp = c & 0x1Fu;
      min = 0x80u;
    } else if (c >= 0xE0u && c <= 0xEFu) {
      len = 3;
      cp = c & 0x0Fu;
      min = 0x800u;
    } else if (c >= 0xF0u && c <= 0xF4u) {
      len = 4;
      cp = c & 0x07u;
      min = 0x10000u;
    } else {
      return 0; /* continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (n - i < len)
      return 0;
    for (k = 1; k < len; k++) {
      unsigned cc = s[i + k];
      if ((cc & 0xC0u) != 0x80u)
        return 0;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFFul || (cp >= 0xD800ul && cp <= 0xDFFFul))
      return 0;
    i += len;
  }
  return 1;
}

int tether__win32_utf8_to_wide(const char *s, wchar_t **out) {
  size_t n;
  int wn;
  wchar_t *w;
  if (out != NULL)
    *out = NULL;
  if (s == NULL || out == NULL)
    return TETHER_EINVAL;
  n = strlen(s);
  if (n >= (size_t)INT_MAX)
    return TETHER_E2BIG;
  if (!utf8_valid((const unsigned char *)s, n))
    return TETHER_EINVAL;
  /* n + 1: the NUL is converted too. */
  wn = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n + 1, NULL, 0);
  if (wn <= 0) {
    DWORD err = GetLastError();
    return err == ERROR_NO_UNICODE_TRANSLATION ? TETHER_EINVAL
                                               : tether__translate_os_error((long)err);
  }
  w = (wchar_t *)malloc((size_t)wn * sizeof(wchar_t));
  if (w == NULL)
    return TETHER_ENOMEM;
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n + 1, w, wn) != wn) {
    DWORD err = GetLastError();
    free(w);
    return err == ERROR_NO_UNICODE_TRANSLATION ? TETHER_EINVAL
                                               : tether__translate_os_error((long)err);
  }
  *out = w;
  return 0;
}

/* Does argument a need surrounding quotes? Empty arguments do (else they
 * vanish), and so does any argument with a separator. Only space and tab
 * separate for both parsers; newline and vertical tab are quoted too, which
 * costs nothing and protects against parsers that split on any white
 * space. */
static int needs_quotes(const char *a) {
  if (*a == '\0')
    return 1;
  for (; *a != '\0'; a++)
    if (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\v')
      return 1;
  return 0;
}

/* Length in bytes of the encoded form of a (no separator, no NUL). */
static size_t encoded_len(const char *a, int quote) {
  size_t n = quote ? 2u : 0u, bs = 0;
  for (; *a != '\0'; a++) {
    if (*a == '\\') {
      bs++;
    } else if (*a == '"') {
      n += bs + 1; /* the backslashes doubled, plus one for the quote */
      bs = 0;
    } else {
      bs = 0;
    }
    n++;
  }
  if (quote)
    n += bs; /* backslashes before the closing quote are doubled */
  return n;
}

/* Write the encoded form of a at dst; returns the end. */
static char *encode_arg(char *dst, const char *a, int quote) {
  size_t bs = 0;
  if (quote)
    *dst++ = '"';
  for (; *a != '\0'; a++) {
    if (*a == '\\') {
      bs++;
    } else if (*a == '"') {
      /* bs backslashes are already out: add bs + 1 more, so 2bs + 1 in
       * all, then the quote is literal. */
      memset(dst, '\\', bs + 1);
      dst += bs + 1;
      bs = 0;
    } else {
      bs = 0;
    }
    *dst++ = *a;
  }
  if (quote) {
    memset(dst, '\\', bs);
    dst += bs;
    *dst++ = '"';
  }
  return dst;
}

int tether__win32_build_cmdline(const char *const *argv, wchar_t **out) {
  size_t total, i, n;
  char *buf, *p;
  wchar_t *w;
  int rc;

  if (out != NULL)
    *out = NULL;
  if (argv == NULL || out == NULL || argv[0] == NULL)
    return TETHER_EINVAL;
  /* The program name is always quoted and cannot escape a quote. */
  if (strchr(argv[0], '"') != NULL)
    return TETHER_EINVAL;

  /* Size of the UTF-8 line (NUL excluded), stopping as soon as it cannot
   * fit: no size_t overflow, and no work on absurd inputs. */
  n = strlen(argv[0]);
  if (n > TETHER__CMDLINE_MAX_UTF8)
    return TETHER_E2BIG;
  total = n + 2;
  if (total > TETHER__CMDLINE_MAX_UTF8)
    return TETHER_E2BIG;
  for (i = 1; argv[i] != NULL; i++) {
    n = strlen(argv[i]);
    if (n > TETHER__CMDLINE_MAX_UTF8)
      return TETHER_E2BIG;
    total += 1 + encoded_len(argv[i], needs_quotes(argv[i]));
    if (total > TETHER__CMDLINE_MAX_UTF8)
      return TETHER_E2BIG;
  }
  for (i = 0; argv[i] != NULL; i++)
    if (!utf8_valid((const unsigned char *)argv[i], strlen(argv[i])))
      return TETHER_EINVAL;

  buf = (char *)malloc(total + 1);
  if (buf == NULL)
    return TETHER_ENOMEM;
  p = buf;
  *p++ = '"';
  n = strlen(argv[0]);
  memcpy(p, argv[0], n);
  p += n;
  *p++ = '"';
  for (i = 1; argv[i] != NULL; i++) {
    *p++ = ' ';
    p = encode_arg(p, argv[i], needs_quotes(argv[i]));
  }
  *p = '\0';

  rc = tether__win32_utf8_to_wide(buf, &w);
  free(buf);
  if (rc < 0)
    return rc;
  if (wcslen(w) + 1 > (size_t)TETHER__WIN32_CMDLINE_MAX) {
    free(w);
    return TETHER_E2BIG;
  }
  *out = w;
  return 0;
}

static wchar_t ascii_lower(wchar_t c) {
  return (c >= L'A' && c <= L'Z') ? (wchar_t)(c - L'A' + L'a') : c;
}

int tether__win32_is_batch(const wchar_t *program_path) {
  size_t n;
  const wchar_t *ext;
  if (program_path == NULL)
    return 0;
  n = wcslen(program_path);
  /* Windows drops trailing dots and spaces from a file name ("Naming
   * Files, Paths, and Namespaces"): "x.bat. " opens x.bat. */
  while (n > 0 && (program_path[n - 1] == L'.' || program_path[n - 1] == L' '))
    n--;
  if (n < 4 || program_path[n - 4] != L'.')
    return 0;
  ext = program_path + n - 3;
  if (ascii_lower(ext[0]) == L'b' && ascii_lower(ext[1]) == L'a' && ascii_lower(ext[2]) == L't')
    return 1;
  if (ascii_lower(ext[0]) == L'c' && ascii_lower(ext[1]) == L'm' && ascii_lower(ext[2]) == L'd')
    return 1;
  return 0;
}

/*
 * Batch files are refused (TETHER_ENOTSUP), a deliberate decision:
 * CreateProcessW starts cmd.exe /c for them, and cmd.exe parses the line
 * again with rules that have nothing to do with the CRT's (no backslash
 * escapes, %VAR% and !VAR! expansion even inside quotes, & | < > ^ ( )
 * outside its own quote state, which a \" desynchronises). An argument that
 * is inert for a CRT program can then run arbitrary commands: the
 * "BatBadBut" class of bugs (CVE-2024-24576 and its siblings in other
 * languages' runtimes). A safe escaping would have to refuse some
 * arguments anyway (newlines; %NAME% of an existing variable cannot be
 * written literally in a cmd /c line) and could only be proven against a
 * real cmd.exe, so tether does not offer one.
 */
int tether__win32_spawn_cmdline(const wchar_t *program_path, const char *const *argv,
                                wchar_t **out) {
  if (out != NULL)
    *out = NULL;
  if (program_path == NULL)
    return TETHER_EINVAL;
  if (tether__win32_is_batch(program_path))
    return TETHER_ENOTSUP;
  return tether__win32_build_cmdline(argv, out);
}
