/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <float.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_FLOAT_H
#define KCLUA_SHIM_FLOAT_H
/* No floating point in the kernel: see kclua_conf.h. */
#ifdef KCLUA_NO_FLOAT_TYPES
/*
 * lstrlib.c only: string.pack/unpack's float options (f, d, n) hold C floats and doubles.
 * kclua_vm.c refuses those options before the library runs, so that code is dead; typing it
 * as integers keeps the compiler from emitting soft-float calls for it.
 */
#define float long long
#define double long long
#endif
#endif
