/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <limits.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_LIMITS_H
#define KCLUA_SHIM_LIMITS_H
#include <linux/limits.h>
#include <linux/types.h>
#ifndef CHAR_BIT
#define CHAR_BIT 8
#endif
#ifndef UCHAR_MAX
#define UCHAR_MAX 255
#endif
#ifndef SCHAR_MAX
#define SCHAR_MAX 127
#endif
/* Lua tests these in #if: the kernel's (~0U) would be 64-bit wide in the preprocessor. */
#undef UINT_MAX
#define UINT_MAX 0xffffffffU
#undef INT_MAX
#define INT_MAX 0x7fffffff
#undef INT_MIN
#define INT_MIN (-INT_MAX - 1)
#endif
