/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <time.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_TIME_H
#define KCLUA_SHIM_TIME_H

#endif
