// SPDX-License-Identifier: GPL-2.0
//! Completion objects for kernel Lua: the functions `driver/lua/kclua_completion.c` calls.
//!
//! A Lua userdata owns one [`Handle`], handed to C as an opaque pointer
//! ([`ForeignSlot::fill`]) and given back by `kcompletion_lua_put` (from `__gc`/`__close`).
//! The constructors get the registry from the script's state (`struct kclua_vm`, set by
//! `vm.rs`). Every function here returns normally with a status; raising the Lua error, if
//! any, is left to the C caller. No Lua error ever unwinds through these frames (see
//! `driver/lua/kclua_vm.c`).

use crate::api::{self, Mode};
use crate::handle::{ForeignSlot, Handle};
use crate::object::{Deadline, Object, WaitError};
use crate::registry::Registry;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// `enum kclua_wait_result` of `driver/lua/kclua.h`.
const WAIT_OK: c_int = 0;
const WAIT_TIMEOUT: c_int = 1;
const WAIT_INTERRUPT: c_int = 2;
const WAIT_UNKNOWN: c_int = 3;
const WAIT_REMOVED: c_int = 4;
const WAIT_INVALID: c_int = 5;

extern "C" {
    /// True once the running script's kernel thread was asked to stop (`kclua_vm.c`).
    fn kclua_should_stop() -> bool;
}

/// Makes a handle with `make` into the opaque pointer a userdata keeps; the room for it is
/// allocated first, so that nothing fails once an object is created or opened.
///
/// # Safety
///
/// `registry` is a `struct kclua_vm`'s, alive during the call (the script's `Vm` holds it);
/// `err` must be valid for writing an `int`.
unsafe fn foreign(
    registry: *const c_void,
    err: *mut c_int,
    make: impl FnOnce(&Arc<Registry>) -> Result<Handle>,
) -> *const c_void {
    // SAFETY: Per the contract, `registry` points into an `Arc<Registry>` alive during the
    // call; `ArcBorrow` does not give back its reference.
    let registry = unsafe { ArcBorrow::<Registry>::from_raw(registry.cast()) };
    let registry: Arc<Registry> = registry.into();
    match ForeignSlot::new().and_then(|slot| Ok(slot.fill(make(&registry)?))) {
        Ok(ptr) => ptr,
        Err(e) => {
            // SAFETY: Per the contract.
            unsafe { *err = e.to_errno() };
            core::ptr::null()
        }
    }
}

/// # Safety
///
/// `obj` came from one of the constructors below and was not given back yet.
unsafe fn borrow<'a>(obj: *const c_void) -> &'a Object {
    // SAFETY: Per the contract.
    unsafe { borrow_handle(obj) }
}

/// As [`borrow`], the handle itself (it knows its registry).
///
/// # Safety
///
/// As for [`borrow`].
unsafe fn borrow_handle<'a>(obj: *const c_void) -> &'a Handle {
    // SAFETY: Per the contract, `obj` is a live handle owned by a Lua userdata, which
    // outlives this call.
    unsafe { Handle::borrow_foreign(obj) }
}

/// # Safety
///
/// `name` must be valid for reading `len` bytes.
unsafe fn name_slice<'a>(name: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: Per the contract (a Lua string, alive during the call).
    unsafe { core::slice::from_raw_parts(name, len) }
}

/// # Safety
///
/// `registry` is the calling script's `struct kclua_vm`'s; `err` must be valid for writing an
/// `int`.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_create_anonymous(
    registry: *const c_void,
    err: *mut c_int,
) -> *const c_void {
    // SAFETY: Per the contract.
    unsafe { foreign(registry, err, api::create_anonymous) }
}

/// # Safety
///
/// As for [`kcompletion_lua_create_anonymous`]; `name` must be valid for reading `len` bytes.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_create(
    registry: *const c_void,
    name: *const u8,
    len: usize,
    mode: u32,
    exclusive: bool,
    err: *mut c_int,
) -> *const c_void {
    // SAFETY: Per the function's contract.
    let name = unsafe { name_slice(name, len) };
    let mode = u16::try_from(mode).unwrap_or(u16::MAX);
    // SAFETY: Per the function's contract.
    unsafe { foreign(registry, err, |r| api::create(r, name, mode, exclusive)) }
}

/// # Safety
///
/// As for [`kcompletion_lua_create`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_open(
    registry: *const c_void,
    name: *const u8,
    len: usize,
    err: *mut c_int,
) -> *const c_void {
    // SAFETY: Per the function's contract.
    let name = unsafe { name_slice(name, len) };
    // SAFETY: Per the function's contract.
    unsafe { foreign(registry, err, |r| api::open(r, name)) }
}

/// # Safety
///
/// `registry` is the calling script's `struct kclua_vm`'s; `name` must be valid for reading
/// `len` bytes.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_unlink(
    registry: *const c_void,
    name: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: Per the function's contract.
    let name = unsafe { name_slice(name, len) };
    // SAFETY: Per the function's contract, `registry` points into a live `Arc<Registry>`.
    let registry = unsafe { &*registry.cast::<Registry>() };
    match api::unlink(registry, name) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `obj` came from a constructor above and is given back exactly once.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_put(obj: *const c_void) {
    // SAFETY: Per the contract, this is the handle `foreign` made.
    drop(unsafe { Handle::from_foreign(obj) });
}

/// # Safety
///
/// `obj` is a live reference from a constructor above (so are the functions below).
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_complete(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    errno_of(unsafe { borrow(obj) }.complete())
}

/// 0, or the negative errno of a failed operation (`-EIDRM`: revoked).
fn errno_of(r: core::result::Result<(), WaitError>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => kernel::error::Error::from(e).to_errno(),
    }
}

/// 1 or 0 for a boolean outcome, or the negative errno.
fn bool_or_errno(r: core::result::Result<bool, WaitError>) -> c_int {
    match r {
        Ok(b) => c_int::from(b),
        Err(e) => kernel::error::Error::from(e).to_errno(),
    }
}

/// # Safety
///
/// See [`kcompletion_lua_complete`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_complete_all(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    errno_of(unsafe { borrow(obj) }.complete_all())
}

/// # Safety
///
/// See [`kcompletion_lua_complete`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_reinit(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    errno_of(unsafe { borrow(obj) }.reinit())
}

/// Revokes the object (unlinks its name and kills it): 0, or `-EIDRM` if it was revoked
/// already.
///
/// # Safety
///
/// See [`kcompletion_lua_complete`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_revoke(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    let handle = unsafe { borrow_handle(obj) };
    match handle.registry().revoke(handle) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// See [`kcompletion_lua_complete`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_try_wait(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    bool_or_errno(unsafe { borrow(obj) }.try_wait())
}

/// # Safety
///
/// See [`kcompletion_lua_complete`].
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_done(obj: *const c_void) -> c_int {
    // SAFETY: Per the function's contract.
    bool_or_errno(unsafe { borrow(obj) }.done())
}

/// The deadline `timeout_ms` milliseconds from now (negative: none).
fn deadline_in(timeout_ms: i64) -> Deadline {
    if timeout_ms < 0 {
        return Deadline::Never;
    }
    // SAFETY: `ktime_get` may be called from any context.
    let now = unsafe { bindings::ktime_get() };
    Deadline::Monotonic(now.saturating_add(timeout_ms.saturating_mul(1_000_000)))
}

/// A wait's outcome as a `kclua_wait_result`.
fn wait_result(r: core::result::Result<(), WaitError>) -> c_int {
    match r {
        Ok(()) => WAIT_OK,
        Err(WaitError::TimedOut) => WAIT_TIMEOUT,
        Err(WaitError::Interrupted) => WAIT_INTERRUPT,
        Err(WaitError::Removed) => WAIT_REMOVED,
    }
}

/// The stop check of a script's waits: a stop request of its thread interrupts them.
fn stop_requested() -> bool {
    // SAFETY: `kclua_should_stop` may be called from any process context.
    unsafe { kclua_should_stop() }
}

/// Waits up to `timeout_ms` milliseconds (negative: no limit). Returns a
/// `kclua_wait_result`; a stop request of the script's thread interrupts the wait.
///
/// # Safety
///
/// See [`kcompletion_lua_complete`]; process context, no spinlock held.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_wait(obj: *const c_void, timeout_ms: i64) -> c_int {
    // SAFETY: Per the function's contract.
    let obj = unsafe { borrow(obj) };
    wait_result(obj.wait_until(deadline_in(timeout_ms), stop_requested))
}

/// Waits for any (`all` false: `*index` gets the 0-based index consumed) or all of the `n`
/// objects at `objs`, up to `timeout_ms` milliseconds (negative: no limit), as
/// [`kcompletion_lua_wait`] does. `KCLUA_WAIT_INVALID` for a duplicate in a wait-all (or a
/// count out of range: the C caller checks it first).
///
/// # Safety
///
/// `objs` points to `n` live references (as for [`kcompletion_lua_complete`]), `index` is
/// valid for writing; process context, no spinlock held.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_wait_many(
    objs: *const *const c_void,
    n: usize,
    all: bool,
    timeout_ms: i64,
    index: *mut usize,
) -> c_int {
    let mut objects = KVec::new();
    // SAFETY: Per the contract, `objs` holds `n` pointers.
    for &obj in unsafe { core::slice::from_raw_parts(objs, n) } {
        // SAFETY: Per the contract, each is a live reference.
        if objects.push(unsafe { borrow(obj) }, GFP_KERNEL).is_err() {
            return WAIT_UNKNOWN;
        }
    }
    let mode = if all { Mode::All } else { Mode::Any };
    match api::wait_many(&objects, deadline_in(timeout_ms), mode, stop_requested) {
        Ok(i) => {
            // SAFETY: Per the contract.
            unsafe { *index = i };
            WAIT_OK
        }
        Err(e) => match e.to_errno().unsigned_abs() {
            bindings::ETIMEDOUT => WAIT_TIMEOUT,
            bindings::EINTR => WAIT_INTERRUPT,
            bindings::EIDRM => WAIT_REMOVED,
            bindings::EINVAL => WAIT_INVALID,
            _ => WAIT_UNKNOWN,
        },
    }
}

/// Completes `obj`, then waits on `then_wait` as [`kcompletion_lua_wait`] does.
///
/// # Safety
///
/// As for [`kcompletion_lua_wait`], for both objects.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_complete_and_wait(
    obj: *const c_void,
    then_wait: *const c_void,
    timeout_ms: i64,
) -> c_int {
    // SAFETY: Per the function's contract.
    let (obj, then_wait) = unsafe { (borrow(obj), borrow(then_wait)) };
    let deadline = deadline_in(timeout_ms);
    wait_result(obj.complete_and_wait(false, then_wait, deadline, stop_requested))
}

/// The object's name (empty for an anonymous one); valid while the reference is.
///
/// # Safety
///
/// See [`kcompletion_lua_complete`]; `len` must be valid for writing.
#[no_mangle]
unsafe extern "C" fn kcompletion_lua_name(obj: *const c_void, len: *mut usize) -> *const u8 {
    // SAFETY: Per the function's contract: the object outlives the returned pointer's use.
    let obj = unsafe { borrow(obj) };
    let name = obj.name_bytes();
    // SAFETY: Per the function's contract.
    unsafe { *len = name.len() };
    name.as_ptr()
}
