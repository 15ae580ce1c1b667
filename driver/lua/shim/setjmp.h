/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <setjmp.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_SETJMP_H
#define KCLUA_SHIM_SETJMP_H
/* LUAI_TRY/LUAI_THROW use compiler builtins: see kclua_conf.h. */
#endif
