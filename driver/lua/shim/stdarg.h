/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <stdarg.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STDARG_H
#define KCLUA_SHIM_STDARG_H
#include <linux/stdarg.h>
#endif
