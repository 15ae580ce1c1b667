/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcompletion: installed as driver/lua/core/ljumptab.h by prepare-sources.sh, in place of
 * Lua's own (the one file of Lua's we replace; luaconf.h gets our overrides appended).
 * lvm.c includes it at the top of luaV_execute when LUA_USE_JUMPTABLE is 1 (kclua_conf.h).
 *
 * The VM still dispatches with a switch (objtool cannot follow Lua's computed gotos). What
 * this adds is a check on the instructions every endless loop goes through (backward jumps
 * and tail calls) while Lua runs code with hooks off: Lua 5.4 runs __gc finalizers with
 * hooks disabled (lgc.c GCTM, `L->allowhook = 0`), so the count hook, which yields the CPU
 * and raises the STOP error, never runs in them, and `__gc = function() while true do end
 * end` held the CPU forever (soft lockup, unkillable: STOP and rmmod waited for ever).
 * With hooks on, the test is one byte load and a branch that is never taken.
 *
 * On those instructions the state is saved as the count hook would find it
 * (luaG_traceexec: pc saved, top corrected unless in use), so kclua_nohook_check() may
 * raise a normal Lua error; when it returns, nothing on the Lua stack has moved.
 */
#undef vmdispatch
#undef vmcase
#undef vmbreak

#define KCLUA_LOOP_OP(o) \
	((o) == OP_JMP || (o) == OP_FORLOOP || (o) == OP_TFORLOOP || (o) == OP_TAILCALL)

#define vmdispatch(o)	switch (o)
#define vmcase(l)							\
	case l:								\
		if (KCLUA_LOOP_OP(l) && l_unlikely(!L->allowhook)) {	\
			savepc(L);					\
			if (!isIT(i))					\
				L->top.p = ci->top.p;			\
			kclua_nohook_check(L);				\
		}
#define vmbreak		break
