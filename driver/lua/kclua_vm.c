// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: the host of one in-kernel Lua script (a "vm"): its capped allocator, the
 * libraries it gets, compiling its source and running it in the calling kernel thread.
 * driver/script.rs owns vms and their threads; driver/lua/README.md describes the dialect.
 *
 * Error unwinding. Lua raises errors with __builtin_longjmp (kclua_conf.h). The only
 * functions that call into Lua are in this file and kclua_completion.c, all C, and they
 * enter Lua through protected calls (lua_pcall, luaL_loadbufferx) or run inside one. The
 * Rust code calls kclua_vm_new/kclua_vm_run/kclua_vm_free, which return normally, and the
 * Lua libraries call Rust (driver/lua_objects.rs) only for leaf operations that return a
 * status; the error, if any, is raised here in C afterwards. So a longjmp never crosses a
 * Rust frame, and no Rust value with a destructor can be skipped.
 */
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/objtool.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "kclua.h"

static unsigned long lua_max_memory = 16UL << 20;
module_param(lua_max_memory, ulong, 0644);
MODULE_PARM_DESC(lua_max_memory,
		 "Most bytes one kernel Lua script may allocate (\"not enough memory\" beyond)");

/* Instructions between two runs of the hook that yields the CPU and checks for STOP. */
#define KCLUA_HOOK_COUNT 1000
/*
 * Allocator calls between two cond_resched()s. Lua frees a whole heap in one go (lua_close,
 * a full collection after a memory bomb): 400000 small objects took minutes with KASAN and
 * kmemleak, with no VM instruction (so no count hook) in between, and the watchdog saw a
 * soft lockup. The allocator always runs in a sleepable context (it sleeps in kvrealloc).
 */
#define KCLUA_ALLOC_RESCHED 64
/* Longest warning line (warn() pieces and "error in __gc" are joined up to this). */
#define KCLUA_WARN_MAX 160

int kclua_errno;

/*
 * The functions of ldo.c that hold LUAI_TRY or LUAI_THROW (kclua_conf.h) are the ones objtool
 * is told not to validate, as the kernel does for its own non-standard frames:
 * luaD_throw ends in __builtin_longjmp, which reloads the frame and stack pointers from the
 * jump buffer and jumps indirectly (objtool reads a sibling call from a modified frame), and
 * the second return of __builtin_setjmp in luaD_rawrunprotected (inlined into
 * luaD_closeprotected) is reached only by that jump (objtool reads unreachable code).
 * Every other function of the Lua core is validated: Kbuild compiles it with
 * -trap-unreachable, so each call to a noreturn error function is followed by a ud2 that
 * shows objtool where the path ends.
 */
void luaD_throw(lua_State *L, int errcode);
int luaD_rawrunprotected(lua_State *L, void (*f)(lua_State *L, void *ud), void *ud);
int luaD_closeprotected(lua_State *L, ptrdiff_t level, int status);
STACK_FRAME_NON_STANDARD(luaD_throw);
STACK_FRAME_NON_STANDARD(luaD_rawrunprotected);
STACK_FRAME_NON_STANDARD(luaD_closeprotected);

struct kclua_vm {
	lua_State *L;
	size_t used; /* bytes allocated now; written by the script's thread only */
	size_t cap;
	unsigned int calls; /* allocator calls, to yield the CPU every KCLUA_ALLOC_RESCHED */
	/* log lines of print() and of warnings, per script */
	struct ratelimit_state print_rs;
	struct ratelimit_state warn_rs;
	size_t warn_len; /* bytes of a warning being pieced together in warn[] */
	bool warn_cont; /* the next piece continues a warning */
	bool warn_off; /* warn("@off") */
	char warn[KCLUA_WARN_MAX + 1];
	char name[KCLUA_NAME_MAX + 1];
};

size_t kclua_memory_cap(void)
{
	return READ_ONCE(lua_max_memory);
}

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

/* ---- allocator ---------------------------------------------------------------------- */

static void *kclua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct kclua_vm *vm = ud;
	size_t old = ptr ? osize : 0;
	void *p;

	if (++vm->calls % KCLUA_ALLOC_RESCHED == 0)
		cond_resched();
	if (nsize == 0) {
		kvfree(ptr);
		WRITE_ONCE(vm->used, vm->used - old);
		return NULL;
	}
	/* vm->used >= old; written so that no huge nsize can wrap around */
	if (nsize > old && (nsize > vm->cap || vm->used - old > vm->cap - nsize))
		return NULL; /* Lua collects garbage, retries, then raises "not enough memory" */
	/* charged to the memory cgroup of the RUN caller (compile) or of the script thread */
	p = kvrealloc(ptr, nsize, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!p)
		return NULL;
	WRITE_ONCE(vm->used, vm->used - old + nsize);
	return p;
}

static int kclua_panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);

	pr_err("kcompletion: lua: unprotected error: %s\n", msg ? msg : "?");
	return 0; /* Lua then aborts (BUG); every entry here is protected, so it never happens */
}

struct kclua_vm *kclua_vm_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

const char *kclua_vm_name(lua_State *L)
{
	return kclua_vm_of(L)->name;
}

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
static void kclua_warnf(void *ud, const char *msg, int tocont)
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
static void kclua_explain_load_error(lua_State *L, int idx)
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
static int kclua_open_libs(lua_State *L)
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

/* The error on top of the stack as text; never calls a metamethod (__tostring may fail). */
static void kclua_copy_error(lua_State *L, char *err, size_t errlen)
{
	const char *msg = lua_tostring(L, -1);

	if (!errlen)
		return;
	if (msg)
		strscpy(err, msg, errlen);
	else
		snprintf(err, errlen, "(error object is a %s value)", luaL_typename(L, -1));
}

struct kclua_vm *kclua_vm_new(const char *name, size_t name_len, const char *source,
			      size_t source_len, char *err, size_t errlen, int *errcode)
{
	struct kclua_vm *vm;
	char chunkname[KCLUA_NAME_MAX + 2];
	int rc;

	*errcode = -ENOMEM;
	if (errlen)
		err[0] = '\0';
	if (name_len > KCLUA_NAME_MAX)
		return NULL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return NULL;
	memcpy(vm->name, name, name_len);
	vm->cap = kclua_memory_cap();
	ratelimit_state_init(&vm->print_rs, 5 * HZ, 200);
	ratelimit_state_init(&vm->warn_rs, 5 * HZ, 10);
	ratelimit_set_flags(&vm->print_rs, RATELIMIT_MSG_ON_RELEASE);
	ratelimit_set_flags(&vm->warn_rs, RATELIMIT_MSG_ON_RELEASE);
	vm->L = lua_newstate(kclua_alloc, vm);
	if (!vm->L) {
		strscpy(err, "not enough memory", errlen);
		kfree(vm);
		return NULL;
	}
	lua_atpanic(vm->L, kclua_panic);
	lua_setwarnf(vm->L, kclua_warnf, vm);
	lua_pushcfunction(vm->L, kclua_open_libs);
	rc = lua_pcall(vm->L, 0, 0, 0);
	if (rc == LUA_OK) {
		chunkname[0] = '=';
		memcpy(chunkname + 1, name, name_len);
		chunkname[1 + name_len] = '\0';
		rc = luaL_loadbufferx(vm->L, source, source_len, chunkname, "t");
		if (rc == LUA_ERRSYNTAX)
			kclua_explain_load_error(vm->L, -1);
	}
	if (rc != LUA_OK) {
		kclua_copy_error(vm->L, err, errlen);
		*errcode = rc == LUA_ERRMEM ? -ENOMEM : -ENOEXEC;
		lua_close(vm->L);
		kfree(vm);
		return NULL;
	}
	*errcode = 0;
	return vm;
}

/* Yields the CPU now and then; once STOP asked, fails at every instruction until the
 * script is unwound (a pcall cannot keep a stopped script alive). */
static void kclua_hook(lua_State *L, lua_Debug *ar)
{
	cond_resched();
	if (kthread_should_stop()) {
		lua_sethook(L, kclua_hook, LUA_MASKCOUNT, 1);
		luaL_error(L, "interrupt: the script was stopped");
	}
}

bool kclua_should_stop(void)
{
	return (get_current()->flags & PF_KTHREAD) && kthread_should_stop();
}

/*
 * Called by the VM on every backward jump and tail call while hooks are off, i.e. in __gc
 * finalizers (kclua_jumptab.h), where kclua_hook never runs: yields the CPU and raises the
 * STOP error, which Lua turns into a warning ("error in __gc") before going on with the
 * script, whose count hook then ends it.
 */
void kclua_nohook_check(lua_State *L)
{
	cond_resched();
	if (kclua_should_stop()) {
		/* as kclua_hook: fail every instruction from now on, once the hooks are back */
		lua_sethook(L, kclua_hook, LUA_MASKCOUNT, 1);
		luaL_error(L, "interrupt: the script was stopped");
	}
}

/*
 * Deepest use of this thread's kernel stack so far, in bytes: kernel stacks start zeroed
 * (THREADINFO_GFP has __GFP_ZERO; a cached vmap stack is cleared before reuse), so the
 * lowest word ever written marks the high-water mark. The lowest word is the stack-end
 * magic. Interrupts run on their own stacks on x86-64.
 */
static __no_sanitize_address unsigned long kclua_stack_deepest(void)
{
	unsigned long *p = (unsigned long *)task_stack_page(get_current()) + 1;
	unsigned long *end = (unsigned long *)task_stack_page(get_current()) +
			     THREAD_SIZE / sizeof(long);

	while (p < end && !READ_ONCE(*p))
		p++;
	return (unsigned long)end - (unsigned long)p;
}

int kclua_vm_run(struct kclua_vm *vm, char *err, size_t errlen)
{
	unsigned long deepest;
	int rc;

	if (errlen)
		err[0] = '\0';
	lua_sethook(vm->L, kclua_hook, LUA_MASKCOUNT, KCLUA_HOOK_COUNT);
	rc = lua_pcall(vm->L, 0, 0, 0);
	if (rc != LUA_OK) {
		kclua_copy_error(vm->L, err, errlen);
		lua_pop(vm->L, 1);
	}
	deepest = kclua_stack_deepest();
	if (deepest > THREAD_SIZE / 2)
		pr_info("kcompletion: [%s] used up to %lu of %lu bytes of kernel stack\n", vm->name,
			deepest, (unsigned long)THREAD_SIZE);
	return rc;
}

void kclua_vm_close(struct kclua_vm *vm)
{
	if (vm->L) {
		lua_close(vm->L);
		vm->L = NULL;
		/* the ratelimits' flag RATELIMIT_MSG_ON_RELEASE keeps them quiet until here */
		if (vm->print_rs.missed || vm->warn_rs.missed)
			pr_info("kcompletion: [%s] ratelimited: %d print and %d warning lines suppressed\n",
				vm->name, vm->print_rs.missed, vm->warn_rs.missed);
	}
}

void kclua_vm_free(struct kclua_vm *vm)
{
	if (!vm)
		return;
	kclua_vm_close(vm);
	kfree(vm);
}

size_t kclua_vm_memory(const struct kclua_vm *vm)
{
	return READ_ONCE(vm->used);
}
