/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (never installed): the Windows command line of a spawned child
 * (issue 4 item 7), and UTF-8 to UTF-16 conversion.
 *
 * A Windows process receives one string, not an argv; every program splits
 * it itself. The line built here splits back into exactly the argv it was
 * built from with CommandLineToArgvW (shell32) and with the Microsoft C
 * runtimes (msvcrt.dll and the Universal CRT, MSVC 2008 and later), the
 * convention of nearly every Windows program. Programs that parse their
 * command line differently (cmd.exe, and so .bat/.cmd files; some scripting
 * hosts) are not covered; see tether__win32_spawn_cmdline for .bat/.cmd.
 *
 * All functions return >= 0 on success or a negative TETHER_E* code. Invalid
 * arguments do not touch tether_last_os_error().
 */
#ifndef TETHER_WIN32_CMDLINE_H
#define TETHER_WIN32_CMDLINE_H

#include <wchar.h>

/* Longest command line CreateProcessW accepts, in UTF-16 code units,
 * terminating NUL included ("CreateProcessW", lpCommandLine, MS docs). */
#define TETHER__WIN32_CMDLINE_MAX 32767

/* Convert the NUL-terminated UTF-8 string s to a malloc'ed NUL-terminated
 * UTF-16 string in *out (the caller frees it).
 * Errors: TETHER_EINVAL (s or out NULL; s is not valid UTF-8: RFC 3629, so
 * no overlong forms, no surrogates, nothing above U+10FFFF),
 * TETHER_E2BIG (s is INT_MAX bytes or longer: the Windows API counts in
 * int), TETHER_ENOMEM. On error *out is NULL (when out is not). */
int tether__win32_utf8_to_wide(const char *s, wchar_t **out);

/* Build the command line for argv (UTF-8, NULL-terminated, argv[0] is the
 * program name) into a malloc'ed UTF-16 string in *out (the caller frees
 * it).
 *
 * Encoding (arguments are separated by one space):
 *   - argv[0] is always written between double quotes, unchanged: both
 *     parsers end a quoted program name at the next double quote and give
 *     backslashes no meaning there, so argv[0] may not contain one;
 *   - any other argument that is empty or holds a space, tab, newline or
 *     vertical tab is written between double quotes, others bare;
 *   - a double quote is written as \" and the n backslashes before it as
 *     2n; the n backslashes before a closing quote as 2n; other backslashes
 *     unchanged. The "" form is never emitted: it is read differently by
 *     msvcrt.dll (before 2008) and the UCRT.
 *
 * Errors:
 *   - TETHER_EINVAL: argv or out NULL, argv empty (argv[0] NULL), argv[0]
 *     contains a double quote, or an argument is not valid UTF-8;
 *   - TETHER_E2BIG: the line, NUL included, would exceed
 *     TETHER__WIN32_CMDLINE_MAX (32767) UTF-16 code units. When the UTF-8
 *     form alone is already too long this is reported without checking the
 *     UTF-8;
 *   - TETHER_ENOMEM.
 * Embedded NULs cannot occur: each argument ends at its first NUL.
 * On error *out is NULL (when out is not). */
int tether__win32_build_cmdline(const char *const *argv, wchar_t **out);

/* 1 if program_path names a batch file (.bat or .cmd extension, any case,
 * after removing the trailing dots and spaces Windows strips from a file
 * name), else 0 (also for NULL). */
int tether__win32_is_batch(const wchar_t *program_path);

/* What spawn calls: the command line for running program_path (the resolved
 * path passed as lpApplicationName) with argv.
 *
 * Policy for batch files: refused with TETHER_ENOTSUP. CreateProcessW runs a
 * .bat/.cmd through cmd.exe, which re-parses the whole line with its own
 * rules: it ignores backslash escapes, toggles its quote state on every
 * double quote, and expands %VAR% (also inside quotes) and, with delayed
 * expansion, !VAR!; &, |, <, >, ^ and ( ) act outside its quote state. So an
 * argument that is safe for the CRT can run other commands under cmd.exe
 * (the "BatBadBut" class, CVE-2024-24576). Escaping for cmd.exe exists but
 * cannot express every argument (a %VAR% whose variable exists, or a
 * newline, has no faithful spelling), so tether does not try: a caller
 * that must run one starts cmd.exe itself and owns the quoting for it.
 *
 * Errors: those of tether__win32_build_cmdline, TETHER_EINVAL for a NULL
 * program_path, TETHER_ENOTSUP for a batch file. */
int tether__win32_spawn_cmdline(const wchar_t *program_path, const char *const *argv,
                                wchar_t **out);

#endif /* TETHER_WIN32_CMDLINE_H */
