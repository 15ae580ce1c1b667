/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <locale.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_LOCALE_H
#define KCLUA_SHIM_LOCALE_H

#endif
