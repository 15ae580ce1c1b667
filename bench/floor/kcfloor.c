/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * kcfloor: the measurement floor of P6 (issue 16). A plain Lua C module that does nothing but
 * the two ioctls of `c:complete(); c:trywait()` behind userdata methods, with no argument
 * checks beyond not crashing: what any Lua C module called with method syntax costs. Not a
 * binding: the real one is userlib/lua (`require "kcompletion"`).
 *
 * One source for Lua 5.4 and Lua 5.1 (LuaJIT loads the 5.1 build); built by
 * `cargo xtask bench` (xtask/src/bench/floor.rs) against the pinned lua-src headers and
 * installed in the guest as /usr/lib/kcompletion/floor/<5.4|5.1>/kcfloor.so.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kcompletion.h>

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 504
#define kcf_newuserdata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define kcf_newuserdata(L, size) lua_newuserdata((L), (size))
#define lua_rawlen(L, idx) lua_objlen((L), (idx))
#endif

/* c:complete(): KC_IOC_COMPLETE on the object fd; returns nothing. */
static int kcf_complete(lua_State *L)
{
	int *fd = lua_touserdata(L, 1);

	if (!fd)
		return luaL_error(L, "kcfloor: complete needs a handle");
	ioctl(*fd, KC_IOC_COMPLETE);
	return 0;
}

/* c:trywait(): KC_IOC_TRY_WAIT on the object fd; true if it consumed one. */
static int kcf_trywait(lua_State *L)
{
	int *fd = lua_touserdata(L, 1);

	if (!fd)
		return luaL_error(L, "kcfloor: trywait needs a handle");
	lua_pushboolean(L, ioctl(*fd, KC_IOC_TRY_WAIT) == 0);
	return 1;
}

/*
 * For `kc-bench --only profile` only (P6 uses the plain handles above): handles whose methods
 * check `self` as userlib/lua's do (metatable compared with upvalue 1, then popped; fd >= 0)
 * and whose complete returns true, the same check without the pop, and a check by a tag in the
 * payload instead of the metatable.
 */

/* The binding's self check: self's metatable is upvalue 1 and its fd is open; else raises. */
static inline int kcf_check(lua_State *L, int pop)
{
	int *fd = lua_touserdata(L, 1);

	if (fd && lua_getmetatable(L, 1)) {
		int same = lua_rawequal(L, -1, lua_upvalueindex(1));

		if (pop)
			lua_pop(L, 1);
		if (same && *fd >= 0)
			return *fd;
	}
	return luaL_error(L, "kcfloor: bad self");
}

/* Checked c:complete(): the binding's check, KC_IOC_COMPLETE, true. */
static int kcf_checked_complete(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check(L, 1), KC_IOC_COMPLETE) == 0);
	return 1;
}

/* Checked c:trywait(): the binding's check, KC_IOC_TRY_WAIT, whether it consumed one. */
static int kcf_checked_trywait(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check(L, 1), KC_IOC_TRY_WAIT) == 0);
	return 1;
}

/* c:complete() checked without popping the metatable (Lua drops it with the frame). */
static int kcf_nopop_complete(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check(L, 0), KC_IOC_COMPLETE) == 0);
	return 1;
}

/* c:trywait() checked without popping the metatable. */
static int kcf_nopop_trywait(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check(L, 0), KC_IOC_TRY_WAIT) == 0);
	return 1;
}

/*
 * A check without the metatable: the payload starts with the address of kcf_tag, and its size
 * (lua_rawlen: 0 for anything but a full userdata) says the read is in bounds.
 */
static const char kcf_tag;

/* A "tagged" handle's payload. */
struct kcf_tagged {
	const void *tag;
	int fd;
};

/* The tag check: self is a full userdata of our size starting with kcf_tag, fd open. */
static inline int kcf_check_tag(lua_State *L)
{
	struct kcf_tagged *h = lua_touserdata(L, 1);

	if (h && lua_rawlen(L, 1) == sizeof(*h) && h->tag == &kcf_tag && h->fd >= 0)
		return h->fd;
	return luaL_error(L, "kcfloor: bad self");
}

/* c:complete() with the tag check, returning true. */
static int kcf_tagged_complete(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check_tag(L), KC_IOC_COMPLETE) == 0);
	return 1;
}

/* c:trywait() with the tag check. */
static int kcf_tagged_trywait(lua_State *L)
{
	lua_pushboolean(L, ioctl(kcf_check_tag(L), KC_IOC_TRY_WAIT) == 0);
	return 1;
}

/* kcfloor.new's second argument, and the registry names of the metatables it picks. */
static const char *const kcf_options[] = { "plain", "checked", "nopop", "tagged", NULL };
static const char *const kcf_kinds[] = { "kcfloor.handle", "kcfloor.checked", "kcfloor.nopop",
					 "kcfloor.tagged" };

/* kcfloor.new(name [, "checked" | "nopop" | "tagged"]): creates (or opens) the object, unlinks
 * the name, returns a handle (plain unless asked). */
static int kcf_new(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	int kind = luaL_checkoption(L, 2, "plain", kcf_options);
	struct kc_create req;
	struct kc_name unlink_req;
	int dev, fd, *ud;

	dev = open("/dev/kcompletion", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return luaL_error(L, "kcfloor: open /dev/kcompletion failed");
	memset(&req, 0, sizeof(req));
	req.name.ptr = (__u64)(unsigned long)name;
	req.name.len = (__u32)len;
	req.mode = 0600;
	fd = ioctl(dev, KC_IOC_CREATE, &req);
	/* The fd keeps the object alive; the name is not needed after this. */
	unlink_req = req.name;
	ioctl(dev, KC_IOC_UNLINK, &unlink_req);
	close(dev);
	if (fd < 0)
		return luaL_error(L, "kcfloor: KC_IOC_CREATE failed");
	if (kind == 3) {
		struct kcf_tagged *h = kcf_newuserdata(L, sizeof(*h));

		h->tag = &kcf_tag;
		h->fd = fd;
	} else {
		ud = kcf_newuserdata(L, sizeof(*ud));
		*ud = fd;
	}
	luaL_getmetatable(L, kcf_kinds[kind]);
	lua_setmetatable(L, -2);
	return 1;
}

/* Makes the metatable `tname` with __index = {complete, trywait}, each a closure over it. */
static void kcf_metatable(lua_State *L, const char *tname, lua_CFunction complete,
			  lua_CFunction trywait)
{
	luaL_newmetatable(L, tname);
	lua_newtable(L);
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, complete, 1);
	lua_setfield(L, -2, "complete");
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, trywait, 1);
	lua_setfield(L, -2, "trywait");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

/* require "kcfloor": the handle metatables and the module table {new = ...}. */
int luaopen_kcfloor(lua_State *L)
{
	luaL_newmetatable(L, kcf_kinds[0]);
	lua_newtable(L);
	lua_pushcfunction(L, kcf_complete);
	lua_setfield(L, -2, "complete");
	lua_pushcfunction(L, kcf_trywait);
	lua_setfield(L, -2, "trywait");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	kcf_metatable(L, kcf_kinds[1], kcf_checked_complete, kcf_checked_trywait);
	kcf_metatable(L, kcf_kinds[2], kcf_nopop_complete, kcf_nopop_trywait);
	kcf_metatable(L, kcf_kinds[3], kcf_tagged_complete, kcf_tagged_trywait);
	lua_newtable(L);
	lua_pushcfunction(L, kcf_new);
	lua_setfield(L, -2, "new");
	return 1;
}
