// SPDX-License-Identifier: GPL-2.0
/*
 * kcompletion: the host of one in-kernel Lua script (a "vm"): its capped allocator, compiling
 * its source with the dialect's libraries (kclua_baselib.c) and running it in the calling
 * kernel thread, with the hook that yields the CPU and ends a stopped script.
 * driver/lua/vm.rs owns vms, driver/lua/script.rs their threads; driver/lua/README.md
 * describes the dialect.
 *
 * Error unwinding. Lua raises errors with __builtin_longjmp (kclua_conf.h). The only
 * functions that call into Lua are in this file, kclua_baselib.c and kclua_completion.c, all
 * C, and they
 * enter Lua through protected calls (lua_pcall, luaL_loadbufferx) or run inside one. The
 * Rust code calls kclua_vm_new/kclua_vm_run/kclua_vm_free, which return normally, and the
 * Lua libraries call Rust (driver/lua/completion.rs) only for leaf operations that return a
 * status; the error, if any, is raised here in C afterwards. So a longjmp never crosses a
 * Rust frame, and no Rust value with a destructor can be skipped.
 */
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/objtool.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>

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

size_t kclua_memory_cap(void)
{
	return READ_ONCE(lua_max_memory);
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

struct kclua_vm *kclua_vm_new(const void *registry, const char *name, size_t name_len,
			      const char *source, size_t source_len, char *err, size_t errlen,
			      int *errcode)
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
	vm->registry = registry;
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

/* Lines a ratelimit suppressed: a plain int until 6.15, an atomic_t with an accessor since. */
static int kclua_ratelimit_missed(struct ratelimit_state *rs)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
	return ratelimit_state_get_miss(rs);
#else
	return rs->missed;
#endif
}

void kclua_vm_close(struct kclua_vm *vm)
{
	int print_missed, warn_missed;

	if (vm->L) {
		lua_close(vm->L);
		vm->L = NULL;
		/* the ratelimits' flag RATELIMIT_MSG_ON_RELEASE keeps them quiet until here */
		print_missed = kclua_ratelimit_missed(&vm->print_rs);
		warn_missed = kclua_ratelimit_missed(&vm->warn_rs);
		if (print_missed || warn_missed)
			pr_info("kcompletion: [%s] ratelimited: %d print and %d warning lines suppressed\n",
				vm->name, print_missed, warn_missed);
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
