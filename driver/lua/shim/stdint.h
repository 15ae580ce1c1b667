/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <stdint.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_STDINT_H
#define KCLUA_SHIM_STDINT_H
#include <linux/types.h>
#endif
