// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: the base library as kernel scripts see it: print and warn to the kernel log
 * (ratelimited per script), load for text only, integer collectgarbage, string.format and
 * string.pack without floats, require of the built-in modules only.
 */
#include <linux/kernel.h>
#include <linux/ratelimit.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "kclua.h"

/* ---- base library changes --------------------------------------------------------------- */

/* print(...): one kernel log line, prefixed with the script's name. */
static int kclua_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	size_t len;
	const char *s;
	int i;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	if (__ratelimit(&kclua_vm_of(L)->print_rs))
		pr_info("kcompletion: [%s] %.*s\n", kclua_vm_name(L), (int)len, s);
	return 0;
}

/*
 * Warnings (warn(), and Lua's own "error in __gc" for an error a finalizer raised): pieces
 * are joined into one kernel log line, cut at KCLUA_WARN_MAX bytes, ratelimited per script.
 * On by default; warn("@off") / warn("@on") as in stock Lua. Called by Lua with no
 * allocation and no error possible: it only copies bytes.
 */
void kclua_warnf(void *ud, const char *msg, int tocont)
{
	struct kclua_vm *vm = ud;
	size_t n;

	if (!vm->warn_cont && !tocont && msg[0] == '@') {
		if (strcmp(msg, "@off") == 0)
			vm->warn_off = true;
		else if (strcmp(msg, "@on") == 0)
			vm->warn_off = false;
		return; /* unknown control messages are ignored, as in stock Lua */
	}
	n = min(strlen(msg), KCLUA_WARN_MAX - vm->warn_len);
	memcpy(vm->warn + vm->warn_len, msg, n);
	vm->warn_len += n;
	vm->warn_cont = tocont;
	if (tocont)
		return;
	vm->warn[vm->warn_len] = '\0';
	if (!vm->warn_off && __ratelimit(&vm->warn_rs))
		pr_warn("kcompletion: [%s] warning: %s\n", vm->name, vm->warn);
	vm->warn_len = 0;
}

/* A "malformed number" from the lexer is, here, almost always a float literal: say so. */
void kclua_explain_load_error(lua_State *L, int idx)
{
	const char *msg;

	idx = lua_absindex(L, idx);
	msg = lua_tostring(L, idx);
	if (msg && strstr(msg, "malformed number near")) {
		lua_pushfstring(L, "%s (kernel Lua has integers only: no float literals; "
				"use '//' for integer division)", msg);
		lua_replace(L, idx);
	}
}

/* load(chunk [, chunkname [, mode [, env]]]): text chunks only, errors explained. */
static int kclua_load(lua_State *L)
{
	int n = lua_gettop(L);

	if (n < 3)
		lua_settop(L, 3);
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	if (lua_gettop(L) == 2 && lua_isnil(L, 1))
		kclua_explain_load_error(L, 2);
	return lua_gettop(L);
}

/* Calls the original function (upvalue 1) with every argument. */
static int kclua_call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * collectgarbage: "count" answers with lua_pushnumber, i.e. the float subtype (integer
 * valued here, but it would print as "123.0"); hand back plain integers.
 */
static int kclua_collectgarbage(lua_State *L)
{
	int n = kclua_call_original(L);
	int i;

	for (i = 1; i <= n; i++) {
		if (lua_type(L, i) == LUA_TNUMBER && !lua_isinteger(L, i)) {
			lua_pushinteger(L, lua_tointeger(L, i));
			lua_replace(L, i);
		}
	}
	return n;
}

/* string.format without %a %e %f %g. */
static int kclua_format(lua_State *L)
{
	size_t len;
	const char *f = luaL_checklstring(L, 1, &len);
	const char *end = f + len;

	while (f < end) {
		if (*f++ != '%')
			continue;
		if (f < end && *f == '%') {
			f++;
			continue;
		}
		while (f < end && *f && strchr("-+ #0123456789.", *f))
			f++;
		if (f < end && *f && strchr("aAeEfFgG", *f))
			return kclua_float_error(L, "string.format's float formats (a, e, f, g)");
	}
	return kclua_call_original(L);
}

/* string.pack/unpack/packsize without the float options f, d, n. */
static int kclua_pack_format(lua_State *L)
{
	size_t len, i;
	const char *f = luaL_checklstring(L, 1, &len);

	for (i = 0; i < len; i++)
		if (f[i] == 'f' || f[i] == 'd' || f[i] == 'n')
			return kclua_float_error(L, "string.pack's float options (f, d, n)");
	return kclua_call_original(L);
}

static void kclua_wrap(lua_State *L, int table, const char *field, lua_CFunction wrapper)
{
	lua_getfield(L, table, field);
	lua_pushcclosure(L, wrapper, 1);
	lua_setfield(L, table, field);
}

/* The built-in modules `require` finds. */
static const luaL_Reg kclua_modules[] = {
	{ LUA_COLIBNAME, luaopen_coroutine },
	{ LUA_TABLIBNAME, luaopen_table },
	{ LUA_STRLIBNAME, luaopen_string },
	{ LUA_UTF8LIBNAME, luaopen_utf8 },
	{ "completion", kclua_open_completion },
	{ "thread", kclua_open_thread },
	{ NULL, NULL },
};

/* require(name): built-in modules only; there is no package library. */
static int kclua_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const luaL_Reg *m;

	lua_settop(L, 1);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, 2, name) != LUA_TNIL)
		return 1;
	for (m = kclua_modules; m->name; m++) {
		if (strcmp(m->name, name) == 0) {
			luaL_requiref(L, name, m->func, 0);
			return 1;
		}
	}
	return luaL_error(L, "module '%s' not found: kernel Lua has only its built-in modules "
			  "(completion, thread, coroutine, string, table, utf8)", name);
}

/* Runs protected: opens the libraries of the dialect. */
int kclua_open_libs(lua_State *L)
{
	const luaL_Reg *m;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	lua_pushnil(L);
	lua_setfield(L, -2, "dofile");
	lua_pushnil(L);
	lua_setfield(L, -2, "loadfile");
	lua_pushcfunction(L, kclua_print);
	lua_setfield(L, -2, "print");
	lua_pushcfunction(L, kclua_require);
	lua_setfield(L, -2, "require");
	kclua_wrap(L, lua_gettop(L), "load", kclua_load);
	kclua_wrap(L, lua_gettop(L), "collectgarbage", kclua_collectgarbage);
	lua_pop(L, 1);
	/* The standard libraries are globals, as in stock Lua; ours come through `require`. */
	for (m = kclua_modules; m->name; m++) {
		if (m->func == kclua_open_completion)
			break;
		luaL_requiref(L, m->name, m->func, 1);
		if (m->func == luaopen_string) {
			int t = lua_gettop(L);

			kclua_wrap(L, t, "format", kclua_format);
			kclua_wrap(L, t, "pack", kclua_pack_format);
			kclua_wrap(L, t, "unpack", kclua_pack_format);
			kclua_wrap(L, t, "packsize", kclua_pack_format);
		}
		lua_pop(L, 1);
	}
	return 0;
}
