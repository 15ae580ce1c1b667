// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: what kclua_conf.h asks of the kernel: no float parsing, float operators
 * and integer division errors raised as Lua errors, the C-call and pattern-matching depth
 * limits from the kernel stack left, and the hooks of string matching, seeding and logging.
 */
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "kclua.h"

/* ---- configuration hooks of kclua_conf.h ---------------------------------------------- */

long long kclua_str2number(const char *s, char **endptr)
{
	/* No floats: every numeral that is not an integer is malformed. */
	*endptr = (char *)s;
	return 0;
}

long long kclua_float_error(lua_State *L, const char *what)
{
	lua_Debug ar;

	/* Constant folding meets '/' and '^' while compiling: no Lua function runs yet. */
	if (!lua_getstack(L, 0, &ar))
		luaL_error(L, "%s in a constant expression needs floating point; kernel Lua has "
			   "integers only (use '//' for integer division)", what);
	luaL_error(L, "%s needs floating point; kernel Lua has integers only "
		   "(use '//' for integer division)", what);
}

long long kclua_int_idiv(lua_State *L, long long a, long long b)
{
	long long q;

	if (b == 0)
		return luaL_error(L, "attempt to perform 'n//0'");
	if (b == -1)
		return (long long)(0ULL - (unsigned long long)a);
	q = a / b;
	if ((a % b != 0) && ((a ^ b) < 0))
		q -= 1;
	return q;
}

long long kclua_int_mod(lua_State *L, long long a, long long b)
{
	long long m;

	if (b == 0)
		return luaL_error(L, "attempt to perform 'n%%%%0'");
	if (b == -1)
		return 0;
	m = a % b;
	if (m != 0 && ((m ^ b) < 0))
		m += b;
	return m;
}

/* ---- kernel stack budget (LUAI_MAXCCALLS and MAXCCALLS of kclua_conf.h) ---------------- */

/*
 * Below KCLUA_STACK_SOFT bytes of stack left, a new C level raises "C stack overflow" (a
 * normal Lua error); below KCLUA_STACK_HARD, while that error is being handled, Lua gives up
 * handling ("error in error handling") and unwinds. The hard reserve covers the deepest
 * kernel path a Lua C function takes at the bottom (allocation with KASAN and kmemleak,
 * printk), the soft one also Lua's error path.
 */
#define KCLUA_STACK_SOFT (8 * 1024)
/*
 * Measured (lua/tests/kernel_lua_attack_test.lua, deepest use at the end of each script):
 * an error raised in a message handler that errors again and again goes ~2.4 KiB below the
 * hard reserve before Lua gives up; with KASAN that left 2.6 KiB of a 5 KiB reserve, so
 * KASAN builds keep 6 KiB. Release: 12.1 KiB of 16 KiB at most (4.2 KiB never touched).
 */
#define KCLUA_STACK_HARD ((IS_ENABLED(CONFIG_KASAN) ? 6 : 5) * 1024)
/* Stock Lua's count limit, kept as a ceiling. */
#define KCLUA_MAXCCALLS 200
/* Stack per level of string pattern matching (lstrlib.c's match(), KASAN build). */
#define KCLUA_MATCH_FRAME 160

static unsigned long kclua_stack_left(void)
{
	return (unsigned long)__builtin_frame_address(0) -
	       (unsigned long)task_stack_page(get_current());
}

int kclua_ccall_limit(int ccalls)
{
	unsigned long left = kclua_stack_left();

	if (left < KCLUA_STACK_HARD)
		return ccalls * 10 / 11; /* below ccalls, and ccalls >= it / 10 * 11: give up */
	if (left < KCLUA_STACK_SOFT)
		return ccalls; /* ccalls == the limit: "C stack overflow" */
	return KCLUA_MAXCCALLS;
}

int kclua_match_depth(void)
{
	unsigned long left = kclua_stack_left();
	unsigned long depth;

	if (left < KCLUA_STACK_SOFT)
		return 1;
	depth = (left - KCLUA_STACK_SOFT) / KCLUA_MATCH_FRAME;
	return depth > KCLUA_MAXCCALLS ? KCLUA_MAXCCALLS : (int)depth + 1;
}

/* String pattern matching: see KCLUA_STRLIB in kclua_conf.h. */
unsigned int kclua_strlib_ticks;

_Bool kclua_strlib_yield(void)
{
	cond_resched();
	return kclua_should_stop();
}

unsigned int kclua_random_seed(void)
{
	return get_random_u32();
}

void kclua_log_error(const char *fmt, const char *arg)
{
	pr_err("kcompletion: lua: %s\n", arg);
}
