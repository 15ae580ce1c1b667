// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: the `completion` and `thread` modules of kernel Lua.
 *
 *   local completion = require "completion"
 *   local c = completion.new()             -- anonymous (Lunatik's API)
 *   c:complete(); local ok, err = c:wait(1000)  -- true | nil, "timeout" | "interrupt" | "unknown"
 *   local n = completion.new("job", 384)   -- named (mode 0600; created or opened), the same
 *   local o = completion.open("job")       -- object userspace opens through /dev/kcompletion
 *   completion.unlink("job")
 *   c:complete_all(); c:reinit(); c:trywait(); c:done(); n:name()
 *   a:complete_and_wait(b [, ms])          -- completes a, then waits on b: returns as wait
 *   completion.wait_any({a, b} [, ms])     -- 1-based index | nil, "timeout" | ... | "removed"
 *   completion.wait_all({a, b} [, ms])     -- true | the same failures; c:revoke() -> true
 *
 *   local thread = require "thread"
 *   thread.shouldstop(); thread.sleep(ms); thread.name()
 *
 * Objects live in the driver's registry (driver/lua_objects.rs gives C a reference per
 * userdata, released by __gc or __close). Argument errors are raised here, in C, after the
 * Rust call has returned (see kclua_vm.c on unwinding).
 */
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"

#include "kclua.h"

#define KCLUA_COMPLETION_MT "kcompletion.completion"
#define KCLUA_DEFAULT_MODE 0600

struct kclua_completion {
	const void *obj; /* NULL once closed */
};

static const void *kclua_check(lua_State *L)
{
	struct kclua_completion *c = luaL_checkudata(L, 1, KCLUA_COMPLETION_MT);

	if (!c->obj)
		luaL_error(L, "attempt to use a closed completion");
	return c->obj;
}

/* Pushes nil, strerror-like text, errno: the usual failure triple. */
static int kclua_fail(lua_State *L, int err)
{
	const char *what;

	switch (-err) {
	case ENOENT: what = "no such completion"; break;
	case EEXIST: what = "completion exists"; break;
	case EACCES: what = "permission denied"; break;
	case EINVAL: what = "invalid argument"; break;
	case ENAMETOOLONG: what = "name too long"; break;
	case ENOSPC: what = "too many completions"; break;
	case EDQUOT: what = "too many completions for this user"; break;
	case ENOMEM: what = "not enough memory"; break;
	case EIDRM: what = "removed"; break;
	default: what = "error"; break;
	}
	lua_pushnil(L);
	lua_pushstring(L, what);
	lua_pushinteger(L, -err);
	return 3;
}

/*
 * A closed userdata, made before the object exists: if Lua raises "not enough memory" here,
 * no reference is owned yet, and once one is stored, __gc gives it back.
 */
static struct kclua_completion *kclua_new_udata(lua_State *L)
{
	struct kclua_completion *c = lua_newuserdatauv(L, sizeof(*c), 0);

	c->obj = NULL;
	luaL_setmetatable(L, KCLUA_COMPLETION_MT);
	return c;
}

/* Stores @obj in the userdata on top of the stack, or replaces it with the failure triple. */
static int kclua_push_object(lua_State *L, struct kclua_completion *c, const void *obj, int err)
{
	if (!obj) {
		lua_pop(L, 1);
		return kclua_fail(L, err);
	}
	c->obj = obj;
	return 1;
}

static u32 kclua_mode_arg(lua_State *L, int idx)
{
	lua_Integer mode = KCLUA_DEFAULT_MODE;

	if (lua_type(L, idx) == LUA_TSTRING) {
		const char *s = lua_tostring(L, idx);
		unsigned int m;

		if (kstrtouint(s, 8, &m) || m > 0777)
			luaL_argerror(L, idx, "mode must be octal digits such as \"600\"");
		return m;
	}
	mode = luaL_optinteger(L, idx, KCLUA_DEFAULT_MODE);
	luaL_argcheck(L, mode >= 0 && mode <= 0777, idx, "mode must be 0 to 0777 (511)");
	return mode;
}

/* completion.new([name [, mode]]) */
static int kclua_new(lua_State *L)
{
	size_t len;
	const char *name;
	u32 mode;
	int err = 0;
	const void *obj;

	struct kclua_completion *c;

	if (lua_isnoneornil(L, 1)) {
		c = kclua_new_udata(L);
		obj = kcompletion_lua_create_anonymous(kclua_vm_of(L)->registry, &err);
		return kclua_push_object(L, c, obj, err);
	}
	name = luaL_checklstring(L, 1, &len);
	mode = kclua_mode_arg(L, 2);
	c = kclua_new_udata(L);
	obj = kcompletion_lua_create(kclua_vm_of(L)->registry, name, len, mode, false, &err);
	return kclua_push_object(L, c, obj, err);
}

/* completion.open(name) */
static int kclua_open(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	struct kclua_completion *c = kclua_new_udata(L);
	int err = 0;
	const void *obj = kcompletion_lua_open(kclua_vm_of(L)->registry, name, len, &err);

	return kclua_push_object(L, c, obj, err);
}

/* completion.unlink(name) */
static int kclua_unlink(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	int err = kcompletion_lua_unlink(kclua_vm_of(L)->registry, name, len);

	if (err)
		return kclua_fail(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

/* complete, complete_all, reinit: nothing (as Lunatik), or nil, "removed", EIDRM once revoked. */
static int kclua_nothing_or_fail(lua_State *L, int err)
{
	return err ? kclua_fail(L, err) : 0;
}

static int kclua_complete(lua_State *L)
{
	return kclua_nothing_or_fail(L, kcompletion_lua_complete(kclua_check(L)));
}

static int kclua_complete_all(lua_State *L)
{
	return kclua_nothing_or_fail(L, kcompletion_lua_complete_all(kclua_check(L)));
}

static int kclua_reinit(lua_State *L)
{
	return kclua_nothing_or_fail(L, kcompletion_lua_reinit(kclua_check(L)));
}

/* c:revoke(): true, or nil, "removed", EIDRM if it was revoked already. */
static int kclua_revoke(lua_State *L)
{
	int err = kcompletion_lua_revoke(kclua_check(L));

	if (err)
		return kclua_fail(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

/* trywait, done: a boolean, or nil, "removed", EIDRM once revoked. */
static int kclua_bool_or_fail(lua_State *L, int r)
{
	if (r < 0)
		return kclua_fail(L, r);
	lua_pushboolean(L, r);
	return 1;
}

static int kclua_trywait(lua_State *L)
{
	return kclua_bool_or_fail(L, kcompletion_lua_try_wait(kclua_check(L)));
}

static int kclua_done(lua_State *L)
{
	return kclua_bool_or_fail(L, kcompletion_lua_done(kclua_check(L)));
}

/* Pushes what a wait returns: true | nil, "timeout" | nil, "interrupt" | nil, "unknown". */
static int kclua_wait_result(lua_State *L, int result)
{
	switch (result) {
	case KCLUA_WAIT_OK:
		lua_pushboolean(L, 1);
		return 1;
	case KCLUA_WAIT_TIMEOUT:
		lua_pushnil(L);
		lua_pushliteral(L, "timeout");
		return 2;
	case KCLUA_WAIT_INTERRUPT:
		lua_pushnil(L);
		lua_pushliteral(L, "interrupt");
		return 2;
	case KCLUA_WAIT_REMOVED:
		lua_pushnil(L);
		lua_pushliteral(L, "removed");
		return 2;
	default:
		lua_pushnil(L);
		lua_pushliteral(L, "unknown");
		return 2;
	}
}

/* The optional timeout argument of the waits: milliseconds, -1 or nil for none. */
static lua_Integer kclua_opt_timeout(lua_State *L, int arg)
{
	lua_Integer ms = luaL_optinteger(L, arg, -1);

	luaL_argcheck(L, ms >= -1, arg, "timeout must be milliseconds (>= 0), or -1/nil for none");
	return ms;
}

/* c:wait([timeout_ms]) */
static int kclua_wait(lua_State *L)
{
	const void *obj = kclua_check(L);

	return kclua_wait_result(L, kcompletion_lua_wait(obj, kclua_opt_timeout(L, 2)));
}

/* Most completions one wait_any or wait_all takes (KC_WAIT_MANY_MAX). */
#define KCLUA_WAIT_MANY_MAX 128

/*
 * completion.wait_any(list [, ms]) -> index (1-based) | nil, "timeout" | "interrupt" | "removed"
 * completion.wait_all(list [, ms]) -> true | the same failures
 * The references go into a userdata buffer (not the kernel stack), collected with it.
 */
static int kclua_wait_many(lua_State *L, bool all)
{
	const void **objs;
	lua_Integer n, i, ms;
	size_t index = 0;
	int r;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = luaL_len(L, 1);
	luaL_argcheck(L, n >= 1 && n <= KCLUA_WAIT_MANY_MAX, 1,
		      "a list of 1 to 128 completions expected");
	ms = kclua_opt_timeout(L, 2);
	objs = lua_newuserdatauv(L, n * sizeof(*objs), 0);
	for (i = 1; i <= n; i++) {
		struct kclua_completion *c;

		lua_geti(L, 1, i);
		c = luaL_testudata(L, -1, KCLUA_COMPLETION_MT);
		if (!c)
			return luaL_error(L, "bad argument #1 (item %d is not a completion)", (int)i);
		if (!c->obj)
			return luaL_error(L, "bad argument #1 (item %d is a closed completion)", (int)i);
		objs[i - 1] = c->obj;
		lua_pop(L, 1);
	}
	r = kcompletion_lua_wait_many(objs, n, all, ms, &index);
	if (r == KCLUA_WAIT_INVALID)
		return luaL_argerror(L, 1, "a completion appears twice in wait_all");
	if (r != KCLUA_WAIT_OK)
		return kclua_wait_result(L, r);
	if (all)
		lua_pushboolean(L, 1);
	else
		lua_pushinteger(L, (lua_Integer)index + 1);
	return 1;
}

static int kclua_wait_any(lua_State *L)
{
	return kclua_wait_many(L, false);
}

static int kclua_wait_all(lua_State *L)
{
	return kclua_wait_many(L, true);
}

/* a:complete_and_wait(b [, timeout_ms]): completes a, then waits on b (returns as wait). */
static int kclua_complete_and_wait(lua_State *L)
{
	const void *obj = kclua_check(L);
	struct kclua_completion *then_wait = luaL_checkudata(L, 2, KCLUA_COMPLETION_MT);
	lua_Integer ms;

	luaL_argcheck(L, then_wait->obj, 2, "the completion to wait on is closed");
	ms = kclua_opt_timeout(L, 3);
	return kclua_wait_result(L, kcompletion_lua_complete_and_wait(obj, then_wait->obj, ms));
}

static int kclua_name(lua_State *L)
{
	size_t len;
	const u8 *name = kcompletion_lua_name(kclua_check(L), &len);

	if (len == 0)
		lua_pushnil(L); /* anonymous */
	else
		lua_pushlstring(L, (const char *)name, len);
	return 1;
}

/* __gc and __close: gives the reference back (idempotent). */
static int kclua_release(lua_State *L)
{
	struct kclua_completion *c = luaL_checkudata(L, 1, KCLUA_COMPLETION_MT);
	const void *obj = c->obj;

	c->obj = NULL;
	if (obj)
		kcompletion_lua_put(obj);
	return 0;
}

static int kclua_tostring(lua_State *L)
{
	struct kclua_completion *c = luaL_checkudata(L, 1, KCLUA_COMPLETION_MT);
	size_t len = 0;
	const u8 *name = c->obj ? kcompletion_lua_name(c->obj, &len) : NULL;

	if (!c->obj)
		lua_pushliteral(L, "completion (closed)");
	else if (len == 0)
		lua_pushfstring(L, "completion (anonymous): %p", c->obj);
	else
		lua_pushfstring(L, "completion: %s", lua_pushlstring(L, (const char *)name, len));
	return 1;
}

static const luaL_Reg kclua_methods[] = {
	{ "complete", kclua_complete },
	{ "complete_all", kclua_complete_all },
	{ "reinit", kclua_reinit },
	{ "revoke", kclua_revoke },
	{ "trywait", kclua_trywait },
	{ "done", kclua_done },
	{ "wait", kclua_wait },
	{ "complete_and_wait", kclua_complete_and_wait },
	{ "name", kclua_name },
	{ "close", kclua_release },
	{ NULL, NULL },
};

static const luaL_Reg kclua_meta[] = {
	{ "__gc", kclua_release },
	{ "__close", kclua_release },
	{ "__tostring", kclua_tostring },
	{ NULL, NULL },
};

static const luaL_Reg kclua_completion_funcs[] = {
	{ "new", kclua_new },
	{ "open", kclua_open },
	{ "unlink", kclua_unlink },
	{ "wait_any", kclua_wait_any },
	{ "wait_all", kclua_wait_all },
	{ NULL, NULL },
};

int kclua_open_completion(lua_State *L)
{
	luaL_newmetatable(L, KCLUA_COMPLETION_MT);
	luaL_setfuncs(L, kclua_meta, 0);
	luaL_newlib(L, kclua_methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_newlib(L, kclua_completion_funcs);
	return 1;
}

/* thread.shouldstop(): true once STOP (or module unload) asked this script to end. */
static int kclua_thread_shouldstop(lua_State *L)
{
	lua_pushboolean(L, kclua_should_stop());
	return 1;
}

/* thread.sleep(ms): true, or nil, "interrupt" if STOP came first. */
static int kclua_thread_sleep(lua_State *L)
{
	lua_Integer ms = luaL_checkinteger(L, 1);
	unsigned long deadline;

	luaL_argcheck(L, ms >= 0, 1, "milliseconds must be >= 0");
	deadline = jiffies + msecs_to_jiffies(ms > UINT_MAX ? UINT_MAX : (unsigned int)ms);
	for (;;) {
		long left;

		set_current_state(TASK_INTERRUPTIBLE);
		if (kclua_should_stop()) {
			__set_current_state(TASK_RUNNING);
			lua_pushnil(L);
			lua_pushliteral(L, "interrupt");
			return 2;
		}
		left = (long)(deadline - jiffies);
		if (left <= 0) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		schedule_timeout(left);
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int kclua_thread_name(lua_State *L)
{
	lua_pushstring(L, kclua_vm_name(L));
	return 1;
}

static const luaL_Reg kclua_thread_funcs[] = {
	{ "shouldstop", kclua_thread_shouldstop },
	{ "sleep", kclua_thread_sleep },
	{ "name", kclua_thread_name },
	{ NULL, NULL },
};

int kclua_open_thread(lua_State *L)
{
	luaL_newlib(L, kclua_thread_funcs);
	return 1;
}
