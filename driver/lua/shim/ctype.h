/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <ctype.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_CTYPE_H
#define KCLUA_SHIM_CTYPE_H
#include <linux/ctype.h>
#endif
