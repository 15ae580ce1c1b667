/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <stdlib.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STDLIB_H
#define KCLUA_SHIM_STDLIB_H
#include <linux/bug.h>
#include <linux/slab.h>
#define abort() BUG()
/* lauxlib.c's default allocator (never used: every state gets kclua_vm.c's). */
#define free(p) kfree(p)
#define realloc(p, n) krealloc((p), (n), GFP_KERNEL)
#endif
