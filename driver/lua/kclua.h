/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcompletion: what the C files of the in-kernel Lua host share, and the functions the Rust
 * side (driver/lua/vm.rs, driver/lua/completion.rs) and the C side call across.
 */
#ifndef KCLUA_H
#define KCLUA_H

#include <linux/ratelimit.h>
#include <linux/types.h>

struct lua_State;
struct kclua_vm;

/* Longest script name (the ABI's KC_NAME_MAX). */
#define KCLUA_NAME_MAX 63

/* kclua_vm.c, called from Rust. */
struct kclua_vm *kclua_vm_new(const void *registry, const char *name, size_t name_len,
			      const char *source, size_t source_len, char *err, size_t errlen,
			      int *errcode);
int kclua_vm_run(struct kclua_vm *vm, char *err, size_t errlen);
void kclua_vm_close(struct kclua_vm *vm);
void kclua_vm_free(struct kclua_vm *vm);
size_t kclua_vm_memory(const struct kclua_vm *vm);
size_t kclua_memory_cap(void);

/* kclua_vm.c, for the libraries. */
struct kclua_vm *kclua_vm_of(struct lua_State *L);
const char *kclua_vm_name(struct lua_State *L);
bool kclua_should_stop(void);

/* Longest warning line (warn() pieces and "error in __gc" are joined up to this). */
#define KCLUA_WARN_MAX 160

/* One script's Lua state and what the host keeps beside it (kclua_vm.c; kclua_baselib.c
 * logs through it). */
struct kclua_vm {
	struct lua_State *L;
	const void *registry; /* the module's registry, for the completion module (Rust's) */
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

/* kclua_baselib.c, for kclua_vm.c. */
int kclua_open_libs(struct lua_State *L);
void kclua_warnf(void *ud, const char *msg, int tocont);
void kclua_explain_load_error(struct lua_State *L, int idx);

/* kclua_completion.c: the `completion` and `thread` modules. */
int kclua_open_completion(struct lua_State *L);
int kclua_open_thread(struct lua_State *L);

/* driver/lua/completion.rs: completion objects for Lua (an object is an opaque reference). */
enum kclua_wait_result {
	KCLUA_WAIT_OK = 0,
	KCLUA_WAIT_TIMEOUT = 1,
	KCLUA_WAIT_INTERRUPT = 2,
	KCLUA_WAIT_UNKNOWN = 3,
	KCLUA_WAIT_REMOVED = 4,
	KCLUA_WAIT_INVALID = 5,
};
const void *kcompletion_lua_create_anonymous(const void *registry, int *err);
const void *kcompletion_lua_create(const void *registry, const char *name, size_t len, u32 mode,
				   bool exclusive, int *err);
const void *kcompletion_lua_open(const void *registry, const char *name, size_t len, int *err);
int kcompletion_lua_unlink(const void *registry, const char *name, size_t len);
void kcompletion_lua_put(const void *obj);
/* 0 or a negative errno (-EIDRM: revoked); try_wait and done: 1, 0 or a negative errno. */
int kcompletion_lua_complete(const void *obj);
int kcompletion_lua_complete_all(const void *obj);
int kcompletion_lua_reinit(const void *obj);
int kcompletion_lua_revoke(const void *obj);
int kcompletion_lua_try_wait(const void *obj);
int kcompletion_lua_done(const void *obj);
int kcompletion_lua_wait(const void *obj, s64 timeout_ms);
int kcompletion_lua_wait_many(const void *const *objs, size_t n, bool all, s64 timeout_ms,
			      size_t *index);
int kcompletion_lua_complete_and_wait(const void *obj, const void *then_wait, s64 timeout_ms);
const u8 *kcompletion_lua_name(const void *obj, size_t *len);

#endif
