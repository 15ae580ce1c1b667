/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcompletion: what the C files of the in-kernel Lua host share, and the functions the Rust
 * side (driver/script.rs, driver/lua_objects.rs) and the C side call across.
 */
#ifndef KCLUA_H
#define KCLUA_H

#include <linux/types.h>

struct lua_State;
struct kclua_vm;

/* Longest script name (the ABI's KC_NAME_MAX). */
#define KCLUA_NAME_MAX 63

/* kclua_vm.c, called from Rust. */
struct kclua_vm *kclua_vm_new(const char *name, size_t name_len, const char *source,
			      size_t source_len, char *err, size_t errlen, int *errcode);
int kclua_vm_run(struct kclua_vm *vm, char *err, size_t errlen);
void kclua_vm_close(struct kclua_vm *vm);
void kclua_vm_free(struct kclua_vm *vm);
size_t kclua_vm_memory(const struct kclua_vm *vm);
size_t kclua_memory_cap(void);

/* kclua_vm.c, for the libraries. */
struct kclua_vm *kclua_vm_of(struct lua_State *L);
const char *kclua_vm_name(struct lua_State *L);
bool kclua_should_stop(void);

/* kclua_completion.c: the `completion` and `thread` modules. */
int kclua_open_completion(struct lua_State *L);
int kclua_open_thread(struct lua_State *L);

/* driver/lua_objects.rs: completion objects for Lua (an object is an opaque reference). */
enum kclua_wait_result {
	KCLUA_WAIT_OK = 0,
	KCLUA_WAIT_TIMEOUT = 1,
	KCLUA_WAIT_INTERRUPT = 2,
	KCLUA_WAIT_UNKNOWN = 3,
};
const void *kcompletion_lua_create_anonymous(int *err);
const void *kcompletion_lua_create(const char *name, size_t len, u32 mode, bool exclusive,
				   int *err);
const void *kcompletion_lua_open(const char *name, size_t len, int *err);
int kcompletion_lua_unlink(const char *name, size_t len);
void kcompletion_lua_put(const void *obj);
void kcompletion_lua_complete(const void *obj);
void kcompletion_lua_complete_all(const void *obj);
void kcompletion_lua_reinit(const void *obj);
bool kcompletion_lua_try_wait(const void *obj);
bool kcompletion_lua_done(const void *obj);
int kcompletion_lua_wait(const void *obj, s64 timeout_ms);
const u8 *kcompletion_lua_name(const void *obj, size_t *len);

#endif
