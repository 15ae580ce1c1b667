/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcompletion: overrides appended to Lua 5.4's own luaconf.h (driver/lua/prepare-sources.sh
 * writes driver/lua/core/luaconf.h as the original followed by this file). Everything Lua
 * lets a port configure is configured here; not one line of Lua's sources is changed.
 *
 * The kernel has no floating point. As in Lunatik, lua_Number is the integer type, so the
 * "float" subtype of Lua 5.4 can hold only integers and no floating-point instruction or
 * soft-float helper is ever emitted. Lua code can never produce a value of that subtype:
 *  - the lexer rejects float literals (lua_str2number fails: "malformed number"; the
 *    loader explains it, see kclua_vm.c);
 *  - '/' and '^' (luai_numdiv, luai_numpow, also met by constant folding) raise an error
 *    that names '//';
 *  - the float formats of string.format and string.pack are refused by wrappers in
 *    kclua_vm.c before the library code is reached; lua_number2strx raises as well.
 */
/* Appended after luaconf.h's include guard, so it has its own. */
#ifndef KCLUA_CONF_H
#define KCLUA_CONF_H

/* ---- integers only ---------------------------------------------------------------- */
#undef LUA_NUMBER
#define LUA_NUMBER		long long
#undef LUAI_UACNUMBER
#define LUAI_UACNUMBER		long long
#undef LUA_NUMBER_FRMLEN
#define LUA_NUMBER_FRMLEN	"ll"
#undef LUA_NUMBER_FMT
#define LUA_NUMBER_FMT		"%lld"
#undef l_floatatt
/* Only the preprocessor tests of lvm.c and dead code of lstrlib.c/lcode.c read these. */
#define l_floatatt(n)		(KCLUA_INT_##n)
#define KCLUA_INT_MANT_DIG	64
#define KCLUA_INT_MAX_10_EXP	19
#undef l_mathop
/* l_mathop(floor) and friends: integer stand-ins from the <math.h> shim; l_mathop(1.0) is a
 * constant cast to an integer at compile time. */
#define l_mathop(op)		(lua_Number)op
#undef l_floor
#define l_floor(x)		(x)
#undef lua_str2number
#define lua_str2number(s, p)	kclua_str2number((s), (p))
#undef lua_strx2number
#define lua_strx2number(s, p)	kclua_str2number((s), (p))
#undef lua_numbertointeger
#define lua_numbertointeger(n, p)	((*(p) = (LUA_INTEGER)(n)), 1)
#undef lua_number2strx
#define lua_number2strx(L, b, sz, f, n) \
	((void)(b), (void)(sz), (void)(f), (void)(n), kclua_float_error((L), "%a format"))
#undef LUAI_MAXALIGN
#define LUAI_MAXALIGN		long long n; void *s; long l

/* The integer type spelled as a literal: the preprocessor tests of lvm.c shift it. */
#undef LUA_MAXINTEGER
#define LUA_MAXINTEGER		0x7fffffffffffffffLL
#undef LUA_MININTEGER
#define LUA_MININTEGER		(-LUA_MAXINTEGER - 1LL)

#define luai_numdiv(L, a, b)	((void)(a), (void)(b), kclua_float_error((L), "'/'"))
#define luai_numpow(L, a, b)	((void)(a), (void)(b), kclua_float_error((L), "'^'"))
#define luai_numidiv(L, a, b)	kclua_int_idiv((L), (a), (b))
#define luai_nummod(L, a, b, m)	((m) = kclua_int_mod((L), (a), (b)))
/* llimits.h defines these as a group; numbers are integers, so none is ever NaN. */
#define luai_numadd(L, a, b)	((a) + (b))
#define luai_numsub(L, a, b)	((a) - (b))
#define luai_nummul(L, a, b)	((a) * (b))
#define luai_numunm(L, a)	(-(a))
#define luai_numeq(a, b)	((a) == (b))
#define luai_numlt(a, b)	((a) < (b))
#define luai_numle(a, b)	((a) <= (b))
#define luai_numgt(a, b)	((a) > (b))
#define luai_numge(a, b)	((a) >= (b))
#define luai_numisnan(a)	((void)(a), 0)
#define HUGE_VAL		LUA_MAXINTEGER

struct lua_State;
long long kclua_str2number(const char *s, char **endptr);
__attribute__((noreturn)) long long kclua_float_error(struct lua_State *L, const char *what);
long long kclua_int_idiv(struct lua_State *L, long long a, long long b);
long long kclua_int_mod(struct lua_State *L, long long a, long long b);

/* ---- errors: setjmp/longjmp as compiler builtins ------------------------------------ */
/*
 * __builtin_setjmp/__builtin_longjmp save and restore only the frame, stack pointer and
 * resume address (5 words); callee-saved registers are spilled by the compiler around the
 * setjmp. A longjmp unwinds C frames of the Lua core and of our C library functions only:
 * no Rust frame ever lies between a LUAI_TRY and a LUAI_THROW (see kclua_vm.c).
 */
typedef void *kclua_jmpbuf[5];
#define luai_jmpbuf		kclua_jmpbuf
#define LUAI_THROW(L, c)	__builtin_longjmp((c)->b, 1)
#define LUAI_TRY(L, c, a)	if (__builtin_setjmp((c)->b) == 0) { a }

/*
 * The VM dispatches with a switch (objtool cannot follow computed gotos), but through
 * lvm.c's jump-table hook: core/ljumptab.h is our kclua_jumptab.h, which keeps the switch
 * and makes loops that run with hooks off (__gc finalizers) check for STOP and yield the
 * CPU (kclua_nohook_check in kclua_vm.c).
 */
#define LUA_USE_JUMPTABLE	1
void kclua_nohook_check(struct lua_State *L);

/*
 * Lua stack slots per coroutine (stock: 1000000, i.e. 16 MB, the whole default
 * lua_max_memory, so deep Lua recursion ended in "not enough memory" instead of "stack
 * overflow"). 100000 slots are 1.6 MB: `local function f() return 1 + f() end` overflows
 * at about 33000 frames, with 1.6 MB of stack and 2 MB of CallInfo.
 */
#undef LUAI_MAXSTACK
#define LUAI_MAXSTACK		100000

#undef LUAL_BUFFERSIZE
/* luaL_Buffer lives on the (kernel) stack: 1 KiB by default, too much per frame (str_gsub also holds a MatchState). */
#define LUAL_BUFFERSIZE		128

/*
 * The error raisers never return. lua.h and lauxlib.h do not say so; objtool works it out
 * and then requires that the compiler knew it too (no code after the calls).
 */
__attribute__((noreturn)) int lua_error(struct lua_State *L);
__attribute__((noreturn)) int luaL_error(struct lua_State *L, const char *fmt, ...);
__attribute__((noreturn)) int luaL_argerror(struct lua_State *L, int arg, const char *extramsg);
__attribute__((noreturn)) int luaL_typeerror(struct lua_State *L, int arg, const char *tname);

/*
 * Nesting of C calls and parser levels, bounded by the kernel stack actually left rather
 * than by a count: a level costs about 1.1 KiB of stack through pcall with KASAN (less
 * without), and the kernel stack is 16 KiB (32 KiB with KASAN), so no fixed count fits
 * both deep-but-cheap parser nesting and costly pcall nesting. Every test Lua makes,
 * `getCcalls(L) >= LUAI_MAXCCALLS` and `getCcalls(L) == LUAI_MAXCCALLS` (raise "C stack
 * overflow") and `getCcalls(L) >= LUAI_MAXCCALLS / 10 * 11` ("error in error handling"), is
 * answered by kclua_ccall_limit() in kclua_vm.c from the stack left (L is in scope at each).
 */
#define LUAI_MAXCCALLS		kclua_ccall_limit(getCcalls(L))
int kclua_ccall_limit(int ccalls);
/* Likewise for the recursion depth of string pattern matching (lstrlib.c). */
#define MAXCCALLS		kclua_match_depth()
int kclua_match_depth(void);

/*
 * String pattern matching runs in C (lstrlib.c's match()), where no hook runs: a pattern
 * that backtracks (`("a"):rep(30000):find(".-.-.-b")`, O(n^3)) held the CPU for hours (soft
 * lockup, RCU stall) and STOP waited. match() tests `l_unlikely(ms->matchdepth-- == 0)` on
 * each call, so for lstrlib.c only (Kbuild: -DKCLUA_STRLIB) l_unlikely also counts calls:
 * every 4096th yields the CPU and, once STOP came, makes the test true, i.e. raises that
 * branch's error ("pattern too complex"; every l_unlikely of lstrlib.c guards an error).
 * The counter is shared and updated without atomics: a lost update only delays a yield.
 */
#if defined(KCLUA_STRLIB)
extern unsigned int kclua_strlib_ticks;
_Bool kclua_strlib_yield(void);
#undef luai_unlikely
#define luai_unlikely(x)	(__builtin_expect(((x) != 0) ||			\
				 ((++kclua_strlib_ticks & 4095) == 0 &&		\
				  kclua_strlib_yield()), 0))
#endif

/* ---- the rest of libc ---------------------------------------------------------------- */
#define l_signalT		int
#undef lua_getlocaledecpoint
#define lua_getlocaledecpoint()	'.'
#define luai_makeseed(L)	kclua_random_seed()
#define l_randomizePivot()	kclua_random_seed()
unsigned int kclua_random_seed(void);

#undef lua_writestring
#define lua_writestring(s, l)	((void)(s), (void)(l))
#undef lua_writeline
#define lua_writeline()		((void)0)
#undef lua_writestringerror
#define lua_writestringerror(s, p)	kclua_log_error((s), (p))
void kclua_log_error(const char *fmt, const char *arg);

/*
 * Kernel names that clash with Lua's: the macro `current` (a field of llex.h's LexState)
 * and the function `panic` (a static function of lauxlib.c). Every system header was
 * included before this point, so renaming here touches only Lua's own code.
 */
#if defined(LUA_CORE) || defined(LUA_LIB)
#undef current
#define panic kclua_lauxlib_panic
#endif

#endif /* KCLUA_CONF_H */
