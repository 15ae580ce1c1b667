/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <string.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STRING_H
#define KCLUA_SHIM_STRING_H
#include <linux/string.h>
#define strcoll(a, b) strcmp((a), (b))
/* Only lauxlib.c's file error messages (never reached here) use it. */
static inline const char *strerror(int e) { return "I/O error"; }
#endif
