// SPDX-License-Identifier: GPL-2.0
//! Declarations of the C helpers in `glue.c` (each says there why it is C).

use kernel::bindings;
use kernel::ffi::{c_int, c_ulong, c_void};

/// `struct kcompletion_device` of `glue.c` (opaque here).
#[repr(C)]
pub(crate) struct KcompletionDevice {
    _opaque: [u8; 0],
}

// `struct file` transitively contains an empty struct (`uprobes_state` in this config), which
// rustc flags as not FFI-safe; only pointers to it cross here, which is fine.
#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn kcompletion_param_max_objects() -> u32;
    pub(crate) fn kcompletion_param_max_per_user() -> u32;
    pub(crate) fn kcompletion_param_selftest() -> bool;

    pub(crate) fn kcompletion_misc_register(context: *const c_void) -> *mut KcompletionDevice;
    pub(crate) fn kcompletion_misc_deregister(dev: *mut KcompletionDevice);

    pub(crate) fn kcompletion_obj_file_prepare(
        readable: bool,
        writable: bool,
        file: *mut *mut bindings::file,
    ) -> c_int;
    pub(crate) fn kcompletion_obj_file_install(
        file: *mut bindings::file,
        fd: c_int,
        obj: *const c_void,
    );
    pub(crate) fn kcompletion_obj_file_discard(file: *mut bindings::file, fd: c_int);
    pub(crate) fn kcompletion_is_object_file(file: *const bindings::file) -> bool;
    pub(crate) fn kcompletion_set_file_create(set: *mut c_void) -> c_int;

    /// `<linux/file.h>`, which 6.12's bindings do not include (its `LocalFile` stand-in).
    #[cfg(not(kc_rust_7))]
    pub(crate) fn fget(fd: kernel::ffi::c_uint) -> *mut bindings::file;
    #[cfg(not(kc_rust_7))]
    pub(crate) fn fput(file: *mut bindings::file);
    #[cfg(not(kc_rust_7))]
    pub(crate) fn kcompletion_get_file(file: *mut bindings::file);

    pub(crate) fn kcompletion_poll_wait(
        file: *mut bindings::file,
        wq: *mut bindings::wait_queue_head,
        pt: *mut bindings::poll_table_struct,
    );

    pub(crate) fn kcompletion_wait_queue_locked(
        wq: *mut bindings::wait_queue_head,
        entry: *mut bindings::wait_queue_entry,
    );
    pub(crate) fn kcompletion_cond_resched();
    pub(crate) fn kcompletion_set_current_interruptible();
    pub(crate) fn kcompletion_set_current_running();
    pub(crate) fn kcompletion_wait_queue_add_locked(
        wq: *mut bindings::wait_queue_head,
        entry: *mut bindings::wait_queue_entry,
    );
    pub(crate) fn kcompletion_wait_dequeue_locked(
        wq: *mut bindings::wait_queue_head,
        entry: *mut bindings::wait_queue_entry,
    );
    pub(crate) fn kcompletion_all_lock_irqsave() -> c_ulong;
    pub(crate) fn kcompletion_all_unlock_irqrestore(flags: c_ulong);
    pub(crate) fn kcompletion_wq_lock_nested(wq: *mut bindings::wait_queue_head);
    pub(crate) fn kcompletion_wq_unlock_nested(wq: *mut bindings::wait_queue_head);
    pub(crate) fn kcompletion_page_address(page: *mut bindings::page) -> *mut c_void;
    pub(crate) fn kcompletion_vma_own_file(vma: *mut bindings::vm_area_struct) -> c_int;
    pub(crate) fn kcompletion_init_waitqueue(wq: *mut bindings::wait_queue_head);
    pub(crate) fn kcompletion_init_set_waitqueue(wq: *mut bindings::wait_queue_head);
    pub(crate) fn kcompletion_wq_lock(wq: *mut bindings::wait_queue_head) -> c_ulong;
    pub(crate) fn kcompletion_wq_unlock(wq: *mut bindings::wait_queue_head, flags: c_ulong);

    pub(crate) fn kcompletion_xa_init(xa: *mut bindings::xarray);
    pub(crate) fn kcompletion_xa_alloc(
        xa: *mut bindings::xarray,
        id: *mut u32,
        entry: *mut c_void,
        max: u32,
    ) -> c_int;

    pub(crate) fn kcompletion_proc_register(
        ops: *const bindings::seq_operations,
        data: *const c_void,
    ) -> c_int;
    pub(crate) fn kcompletion_proc_data(m: *mut bindings::seq_file) -> *const c_void;
    pub(crate) fn kcompletion_proc_unregister();

    pub(crate) fn kcompletion_current_fsuid() -> u32;
    pub(crate) fn kcompletion_current_fsgid() -> u32;
    pub(crate) fn kcompletion_in_group(kgid: u32) -> bool;
    pub(crate) fn kcompletion_uid_to_user(kuid: u32) -> u32;
    pub(crate) fn kcompletion_gid_to_user(kgid: u32) -> u32;
}
