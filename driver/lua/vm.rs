// SPDX-License-Identifier: GPL-2.0
//! A Lua state of `kclua_vm.c`, owned: the Rust side of `kclua.h`'s `kclua_vm_*` functions.
//! The state reaches the module's registry (for `completion.new` and the like) through a
//! reference the `Vm` holds for as long as the state lives.

use crate::registry::Registry;
use kernel::error::code::ENOMEM;
use kernel::error::Error;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

/// A Lua state of `kclua_vm.c` (opaque here).
#[repr(C)]
struct KcluaVm {
    _opaque: [u8; 0],
}

extern "C" {
    fn kclua_vm_new(
        registry: *const c_void,
        name: *const u8,
        name_len: usize,
        source: *const u8,
        source_len: usize,
        err: *mut u8,
        errlen: usize,
        errcode: *mut c_int,
    ) -> *mut KcluaVm;
    fn kclua_vm_run(vm: *mut KcluaVm, err: *mut u8, errlen: usize) -> c_int;
    fn kclua_vm_close(vm: *mut KcluaVm);
    fn kclua_vm_free(vm: *mut KcluaVm);
    fn kclua_vm_memory(vm: *const KcluaVm) -> usize;
}

/// A compiled script in a Lua state of its own; freed on drop.
pub(super) struct Vm {
    raw: *mut KcluaVm,
    /// What the state's `registry` points at; dropped after the state is freed.
    _registry: Arc<Registry>,
}

// SAFETY: The state is used by one thread at a time (the `run` / `close` contracts); `memory`
// is an atomic read.
unsafe impl Send for Vm {}
// SAFETY: See `Send`.
unsafe impl Sync for Vm {}

impl Vm {
    /// Compiles `source` in a new Lua state named `name`; a compile error comes back in
    /// `err` (NUL-terminated text) with `EINVAL` or `ENOMEM`.
    pub(super) fn new(
        registry: Arc<Registry>,
        name: &[u8],
        source: &[u8],
        err: &mut [u8],
    ) -> Result<Vm> {
        let mut errcode: c_int = 0;
        // SAFETY: `name` and `source` are valid for their lengths; `err` is writable; the
        // registry outlives the state (the `Vm` holds it and frees the state first).
        let raw = unsafe {
            kclua_vm_new(
                core::ptr::from_ref::<Registry>(&registry).cast(),
                name.as_ptr(),
                name.len(),
                source.as_ptr(),
                source.len(),
                err.as_mut_ptr(),
                err.len(),
                &mut errcode,
            )
        };
        if raw.is_null() {
            return Err(if errcode < 0 {
                Error::from_errno(errcode)
            } else {
                ENOMEM
            });
        }
        Ok(Vm {
            raw,
            _registry: registry,
        })
    }

    /// Runs the compiled chunk; non-zero with the error text in `err` if it failed.
    ///
    /// # Safety
    ///
    /// No other thread runs or closes this state at the same time.
    pub(super) unsafe fn run(&self, err: &mut [u8]) -> c_int {
        // SAFETY: The state is live (owned by `self`) and, per the contract, ours alone.
        unsafe { kclua_vm_run(self.raw, err.as_mut_ptr(), err.len()) }
    }

    /// Closes the Lua state (its objects go, `__gc` runs); the memory is freed on drop.
    /// Closing again does nothing.
    ///
    /// # Safety
    ///
    /// No other thread runs or closes this state at the same time.
    pub(super) unsafe fn close(&self) {
        // SAFETY: As for `run`.
        unsafe { kclua_vm_close(self.raw) }
    }

    /// Bytes the Lua state holds now.
    pub(super) fn memory(&self) -> usize {
        // SAFETY: The state is live; this is an atomic read.
        unsafe { kclua_vm_memory(self.raw) }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: `self.raw` came from `kclua_vm_new` and nothing else uses it any more (`&mut`);
        // a state not closed yet is closed first, giving back the objects it held.
        unsafe { kclua_vm_free(self.raw) };
    }
}

/// The bytes of a NUL-terminated buffer before the NUL.
pub(super) fn c_text(buf: &[u8]) -> &[u8] {
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    &buf[..n]
}
