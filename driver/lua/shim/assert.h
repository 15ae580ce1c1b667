/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <assert.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_ASSERT_H
#define KCLUA_SHIM_ASSERT_H
#include <linux/bug.h>
#define assert(e) WARN_ON(!(e))
#endif
