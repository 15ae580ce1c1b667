/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <errno.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_ERRNO_H
#define KCLUA_SHIM_ERRNO_H
#include <linux/errno.h>
/* Only lauxlib.c's file functions (never called here) read and write errno. */
extern int kclua_errno;
#define errno kclua_errno
#endif
