/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (never installed): keeping tether's module mapped (win32/sync.c).
 */
#ifndef TETHER_WIN32_MODULE_H
#define TETHER_WIN32_MODULE_H

/* Pin the module that holds tether (its DLL, or the executable it is
 * linked into) for the rest of the process: GetModuleHandleExW(
 * GET_MODULE_HANDLE_EX_FLAG_PIN | FROM_ADDRESS). Called before tether
 * leaves code of its own where Windows or another thread may call it
 * later (a console control handler, the hidden window's procedure and
 * thread, any thread of tether's, a child's exit callback), so that a
 * FreeLibrary by the host cannot unmap it under them. Once; 0 or an
 * error. */
int tether__win32_pin_module(void);

#endif /* TETHER_WIN32_MODULE_H */
