/* SPDX-License-Identifier: GPL-2.0 */
/* kcompletion: <math.h> for the Lua core, onto the kernel (driver/lua/shim). */
#ifndef KCLUA_SHIM_MATH_H
#define KCLUA_SHIM_MATH_H
/* No floating point in the kernel (kclua_conf.h): integer stand-ins for the math functions
 * that dead float paths of lcode.c, ltable.c and lstrlib.c still name. */
static inline long long kclua_int_floor(long long x) { return x; }
static inline long long kclua_int_fabs(long long x) { return x < 0 ? -x : x; }
static inline long long kclua_int_ldexp(long long x, int e) { return e >= 0 && e < 62 ? x << e : 0; }
static inline long long kclua_int_frexp(long long x, int *e) { *e = 0; return x; }
#define floor(x) kclua_int_floor(x)
#define fabs(x) kclua_int_fabs(x)
#define ldexp(x, e) kclua_int_ldexp((x), (e))
#define frexp(x, e) kclua_int_frexp((x), (e))
#endif
