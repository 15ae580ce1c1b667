//! `kc.wait_any(list [, ms])` and `kc.wait_all(list [, ms])`: one `KC_IOC_WAIT_MANY` over the
//! handles of `list` (1 to 128). Any: the 1-based index of the handle consumed; all: true,
//! having consumed one from each at once. Or nil, "timeout" / "interrupt" / "removed", errno,
//! having consumed nothing (the kernel module's `completion.wait_any` and `wait_all` return
//! the same). Argument errors raise.

use crate::args::{check_handle_list, check_uint};
use crate::ret::{push_errno_fail, push_true};
use crate::State;
use kcompletion::abi::KC_WAIT_MANY_MAX;
use kcompletion::{Deadline, Woken};
use mlua_sys as ffi;
use std::ffi::c_int;
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// The whole call; the arguments are checked (and may raise) before anything is owned, and
/// nothing raises after.
unsafe fn wait_many(l: State, all: bool) -> c_int {
    let func: &[u8] = if all { b"wait_all" } else { b"wait_any" };
    // SAFETY: `l` is valid; the checks raise before anything is owned.
    unsafe {
        let timeout = if ffi::lua_isnoneornil(l, 2) != 0 {
            None
        } else {
            Some(Duration::from_millis(check_uint(l, 2, 2, func, b"timeout")))
        };
        let fds = check_handle_list(l, func, KC_WAIT_MANY_MAX as usize, all);
        // SAFETY: Each fd is a live handle's, in the list at argument 1, which Lua keeps
        // alive (and its handles open) for this call.
        let borrowed: Vec<BorrowedFd<'_>> =
            fds.iter().map(|&fd| BorrowedFd::borrow_raw(fd)).collect();
        let r = kcompletion::wait_many_fds(&borrowed, all, None, Deadline::from_timeout(timeout));
        drop(borrowed);
        drop(fds);
        match r {
            Ok(_) if all => push_true(l),
            Ok(Woken::Object(index)) => {
                ffi::lua_pushinteger(l, index as ffi::lua_Integer + 1);
                1
            }
            Ok(Woken::Alert) => unreachable!("no alert was given"),
            Err(e) => push_errno_fail(l, e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}
/// `kc.wait_any(list [, ms])`.
pub(crate) unsafe extern "C-unwind" fn kc_wait_any(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { wait_many(l, false) }
}

/// `kc.wait_all(list [, ms])`.
pub(crate) unsafe extern "C-unwind" fn kc_wait_all(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { wait_many(l, true) }
}
