/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kcompletion: named kernel completions shared by userspace and the kernel.
 *
 * The C view of the ABI defined in ../abi.rs (driver/uapi/abi.rs, the source of truth; the host
 * test driver/uapi/tests/c_header.rs checks that sizes, offsets and ioctl numbers agree).
 * Semantics: driver/ABI.md. Build with -I driver/uapi.
 */
#ifndef _UAPI_LINUX_KCOMPLETION_H
#define _UAPI_LINUX_KCOMPLETION_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KC_ABI_VERSION		1
#define KC_IOC_MAGIC		0xC7
#define KC_NAME_MAX		63
#define KC_DONE_ALL		0xffffffffU
#define KC_DEADLINE_NEVER	0xffffffffffffffffULL
#define KC_LIST_MAX		256

#define KC_CREATE_EXCL		(1U << 0)
#define KC_CREATE_ANONYMOUS	(1U << 1)
#define KC_ACCESS_READ		(1U << 0)
#define KC_ACCESS_WRITE		(1U << 1)
#define KC_WAIT_REALTIME	(1U << 0)
#define KC_COMPLETE_AND_WAIT_ALL	(1U << 1)
#define KC_WAIT_ALL		(1U << 1)
#define KC_WAIT_MANY_MAX	128
#define KC_NO_ALERT		(-1)
#define KC_INFO_LINKED		(1U << 0)
#define KC_STATE_LINKED		(1U << 0)
#define KC_STATE_GONE		(1U << 1)
#define KC_STATE_REVOKED	(1U << 2)

#define KC_SCRIPT_SOURCE_MAX	(1U << 20)
#define KC_SCRIPTS_MAX		64
#define KC_SCRIPT_ERROR_MAX	256
#define KC_SCRIPT_RUNNING	1
#define KC_SCRIPT_FINISHED	2
#define KC_SCRIPT_FAILED	3

struct kc_name {
	__u64 ptr;		/* user address of the bytes */
	__u32 len;		/* 1..KC_NAME_MAX */
	__u32 reserved;		/* must be 0 */
};

struct kc_version {
	__u32 version;
	__u32 reserved;
};

struct kc_create {
	struct kc_name name;
	__u32 mode;		/* 0..0777 */
	__u32 flags;		/* KC_CREATE_EXCL or KC_CREATE_ANONYMOUS */
};

struct kc_open {
	struct kc_name name;
	__u32 access;		/* KC_ACCESS_READ | KC_ACCESS_WRITE */
	__u32 reserved;		/* must be 0 */
};

struct kc_wait {
	__u64 deadline_ns;	/* absolute; KC_DEADLINE_NEVER waits forever */
	__u32 flags;		/* KC_WAIT_REALTIME */
	__u32 reserved;		/* must be 0 */
};

struct kc_complete_and_wait {
	__u64 deadline_ns;	/* as kc_wait's */
	__u32 flags;		/* KC_WAIT_REALTIME | KC_COMPLETE_AND_WAIT_ALL */
	__s32 complete_fd;	/* object fd with write access: completed first */
};

/*
 * Wait for any (or with KC_WAIT_ALL all) of count objects; index out: the object consumed
 * (any), 0 (all), or count when the alert ended the wait. See ABI.md, "Waiting for many".
 */
struct kc_wait_many {
	__u64 deadline_ns;	/* as kc_wait's */
	__u64 fds;		/* user address of count __s32 object fds */
	__u32 count;		/* 1 to KC_WAIT_MANY_MAX */
	__u32 flags;		/* KC_WAIT_REALTIME | KC_WAIT_ALL */
	__s32 alert_fd;		/* object fd, or KC_NO_ALERT */
	__u32 index;		/* out */
	__u64 reserved;		/* 0 */
};

/*
 * A wait set (KC_IOC_WAIT_SET returns its fd): pollable while any (or with KC_WAIT_ALL all)
 * of its objects are done; KC_IOC_WAIT on it consumes as KC_IOC_WAIT_MANY and returns the index.
 */
struct kc_wait_set {
	__u64 fds;		/* user address of count __s32 object fds */
	__u32 count;		/* 1 to KC_WAIT_MANY_MAX */
	__u32 flags;		/* KC_WAIT_ALL */
	__u64 reserved;		/* 0 */
};

/* One object's state in the page an object fd maps read-only (see ABI.md, "State pages"). */
struct kc_state {
	__u32 seq;		/* odd while the driver writes; +2 per change */
	__u32 done;		/* as kc_info.done */
	__u32 id;		/* the object's id; 0 once it is gone */
	__u32 flags;		/* KC_STATE_LINKED | KC_STATE_GONE | KC_STATE_REVOKED */
};

struct kc_map_info {
	__u32 offset;		/* of this object's kc_state in the mapped page */
	__u32 id;
	__u32 slot_size;	/* sizeof(struct kc_state) */
	__u32 reserved;		/* 0 */
};

struct kc_info {
	__u32 id;
	__u32 done;
	__u32 waiters;
	__u32 handles;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 flags;		/* KC_INFO_LINKED */
	__u32 name_len;
	__u32 reserved;
	char name[KC_NAME_MAX + 1];
};

struct kc_list {
	__u64 entries;		/* user address of struct kc_info[capacity] */
	__u32 capacity;		/* 1..KC_LIST_MAX */
	__u32 count;		/* out */
	__u32 cursor;		/* in: first id; out: next cursor */
	__u32 reserved;		/* must be 0 */
};

/* On /dev/kcompletion */
struct kc_run {
	struct kc_name name;	/* script (and kernel thread) name */
	__u64 source;		/* user address of the Lua source */
	__u32 source_len;	/* bytes, at most KC_SCRIPT_SOURCE_MAX */
	__u32 error_size;	/* room at error */
	__u64 error;		/* user buffer for the compile error text */
	__u32 error_len;	/* out: length of the whole error text */
	__u32 reserved;		/* must be 0 */
};

struct kc_script_info {
	__u32 name_len;
	__u32 state;		/* KC_SCRIPT_* */
	__u64 memory;		/* bytes held by the script's Lua state */
	__u32 error_len;
	__u32 reserved;
	char name[KC_NAME_MAX + 1];
	char error[KC_SCRIPT_ERROR_MAX];
};

struct kc_scripts {
	__u64 entries;		/* user address of struct kc_script_info[capacity] */
	__u32 capacity;
	__u32 count;		/* out: number of scripts */
};

#define KC_IOC_VERSION		_IOR(KC_IOC_MAGIC, 0x00, struct kc_version)
#define KC_IOC_CREATE		_IOW(KC_IOC_MAGIC, 0x01, struct kc_create)
#define KC_IOC_OPEN		_IOW(KC_IOC_MAGIC, 0x02, struct kc_open)
#define KC_IOC_UNLINK		_IOW(KC_IOC_MAGIC, 0x03, struct kc_name)
#define KC_IOC_LIST		_IOWR(KC_IOC_MAGIC, 0x04, struct kc_list)
#define KC_IOC_WAIT_MANY	_IOWR(KC_IOC_MAGIC, 0x05, struct kc_wait_many)
#define KC_IOC_WAIT_SET		_IOW(KC_IOC_MAGIC, 0x06, struct kc_wait_set)

/* In-kernel Lua scripts (0x20-0x2f reserved for them) */
#define KC_IOC_RUN		_IOWR(KC_IOC_MAGIC, 0x20, struct kc_run)
#define KC_IOC_STOP		_IOW(KC_IOC_MAGIC, 0x21, struct kc_name)
#define KC_IOC_SCRIPTS		_IOWR(KC_IOC_MAGIC, 0x22, struct kc_scripts)

/* On an object fd */
#define KC_IOC_COMPLETE		_IO(KC_IOC_MAGIC, 0x10)
#define KC_IOC_COMPLETE_ALL	_IO(KC_IOC_MAGIC, 0x11)
#define KC_IOC_WAIT		_IOW(KC_IOC_MAGIC, 0x12, struct kc_wait)
#define KC_IOC_TRY_WAIT		_IO(KC_IOC_MAGIC, 0x13)
#define KC_IOC_DONE		_IO(KC_IOC_MAGIC, 0x14)
#define KC_IOC_REINIT		_IO(KC_IOC_MAGIC, 0x15)
#define KC_IOC_INFO		_IOR(KC_IOC_MAGIC, 0x16, struct kc_info)
#define KC_IOC_COMPLETE_AND_WAIT	_IOW(KC_IOC_MAGIC, 0x17, struct kc_complete_and_wait)
#define KC_IOC_MAP_INFO		_IOR(KC_IOC_MAGIC, 0x18, struct kc_map_info)
#define KC_IOC_REVOKE		_IO(KC_IOC_MAGIC, 0x19)

#endif /* _UAPI_LINUX_KCOMPLETION_H */
