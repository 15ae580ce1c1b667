//! `kc.wait_any(list [, ms])` and `kc.wait_all(list [, ms])`: one `KC_IOC_WAIT_MANY` over the
//! handles of `list` (1 to 128). Any: the 1-based index of the handle consumed; all: true,
//! having consumed one from each at once. Or nil, "timeout" / "interrupt" / "removed", errno,
//! having consumed nothing (the kernel module's `completion.wait_any` and `wait_all` return
//! the same). Argument errors raise.

use crate::args::{check_handle_list, check_uint};
use crate::ret::{push_errno_fail, push_true};
use crate::State;
use kcompletion::abi::{raw, KcWaitMany, KC_NO_ALERT, KC_WAIT_ALL, KC_WAIT_MANY_MAX};
use kcompletion::Deadline;
use mlua_sys as ffi;
use std::ffi::c_int;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// Opens the control device for one call.
fn open_device() -> Result<OwnedFd, i32> {
    let path = kcompletion::device_path();
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .or_else(|_| std::fs::File::open(&path))
        .map(OwnedFd::from)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

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
        let r = open_device().and_then(|dev| {
            let deadline = Deadline::from_timeout(timeout).to_raw();
            let mut arg = KcWaitMany {
                deadline_ns: deadline.deadline_ns,
                fds: fds.as_ptr() as u64,
                count: fds.len() as u32,
                flags: deadline.flags | if all { KC_WAIT_ALL } else { 0 },
                alert_fd: KC_NO_ALERT,
                index: 0,
                reserved: 0,
            };
            raw::ioctl::<raw::WaitMany>(dev.as_raw_fd(), &mut arg).map(|_| arg.index)
        });
        drop(fds);
        match r {
            Ok(_) if all => push_true(l),
            Ok(index) => {
                ffi::lua_pushinteger(l, ffi::lua_Integer::from(index) + 1);
                1
            }
            Err(errno) => push_errno_fail(l, errno),
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
