/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <stddef.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STDDEF_H
#define KCLUA_SHIM_STDDEF_H
#include <linux/stddef.h>
#include <linux/types.h>
#endif
