//! The completion object: a handle's full userdata ([`Handle`]) and its methods (`c:wait()`,
//! `c:complete()`, ..., the cqueues polling methods, `__gc`, `__tostring`); each method makes
//! at most one `ioctl` on the handle's fd (through the ABI crate's typed `raw` layer).

use crate::args::{check_handle, check_handle_arg, check_open, check_timeout, check_timeout_arg};
use crate::compat;
use crate::ret::{push_errno_fail, push_fail, push_info, push_true, Buf, Raise};
use crate::{push_bytes, stop, State};
use kcompletion::abi::raw::{self, NoArgRequest};
use kcompletion::abi::{KcCompleteAndWait, KcInfo, KcWait, KC_INFO_LINKED};
use kcompletion::state::{RawStateMap, StateMap};
use kcompletion::{Completion, Deadline, Error};
use mlua_sys as ffi;
use std::ffi::c_int;
use std::fmt::Write as _;
use std::os::fd::{BorrowedFd, IntoRawFd};

/// The payload of a handle's full userdata. Plain data: Lua frees it without running Rust
/// code; `__gc` closes the fd.
#[repr(C)]
pub struct Handle {
    /// The object fd, or -1 once closed. First, at offset 0: the LuaJIT FFI code reads it.
    pub(crate) fd: i32,
    /// Length of `name`.
    name_len: u32,
    /// [`HANDLE_TAG`]'s address: what tells a handle from other userdata (see
    /// `args::handle_at`).
    pub(crate) tag: *const u8,
    /// The name the handle was created or opened with (at most 63 bytes).
    name: [u8; 64],
    /// The object's state page (`kcompletion::state`), mapped by the first `done` or
    /// `trywait`; unmapped with the fd.
    state: RawStateMap,
    /// Whether mapping it was tried (it stays unmapped where the driver gives none).
    state_tried: bool,
}

const _: () = assert!(std::mem::offset_of!(Handle, fd) == 0);

/// Every handle's `tag` holds this static's address, which no other userdata holds: checking
/// it (and the userdata's size) costs less than fetching and comparing the metatable, the
/// whole of the binding's cost over a bare C module (P6).
pub(crate) static HANDLE_TAG: u8 = 0;
const _: () = assert!(kcompletion::NAME_MAX < 64);

// ---------------------------------------------------------------------------------------------
// Methods. The hot ones own nothing, so they are entry points themselves.

/// `c:complete()`, `c:complete_all()`, `c:reinit()`: true, or nil, message, errno.
unsafe fn simple<R: NoArgRequest>(l: State, func: &[u8]) -> c_int {
    // SAFETY: `l` is valid; nothing owned.
    unsafe {
        let fd = check_open(l, check_handle(l, func));
        match raw::ioctl_none::<R>(fd) {
            Ok(_) => push_true(l),
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

pub(crate) unsafe extern "C-unwind" fn m_complete(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple::<raw::Complete>(l, b"complete") }
}

pub(crate) unsafe extern "C-unwind" fn m_complete_all(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple::<raw::CompleteAll>(l, b"complete_all") }
}

pub(crate) unsafe extern "C-unwind" fn m_reinit(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple::<raw::Reinit>(l, b"reinit") }
}

/// `c:revoke()`: true, or nil, message, errno ("removed" if it was revoked already).
pub(crate) unsafe extern "C-unwind" fn m_revoke(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple::<raw::Revoke>(l, b"revoke") }
}

/// `c:trywait()`: true (consumed one), false (none), or nil, message, errno.
/// `done` from the handle's state page, mapping it on the first call; `None` without one.
///
/// # Safety
///
/// `h` is a live handle with an open fd.
unsafe fn state_done(h: *mut Handle) -> Option<u32> {
    // SAFETY: Per the contract; the mapping belongs to the handle until `close_handle`.
    unsafe {
        if !(*h).state_tried {
            (*h).state_tried = true;
            let fd = BorrowedFd::borrow_raw((*h).fd);
            if let Some(map) = StateMap::map(fd) {
                (*h).state = map.into_raw();
            }
        }
        (*h).state.done()
    }
}

/// The handle's `done` as the state page shows it, or -1 without a mapping (not made yet: the
/// C `done` or `trywait` makes it; or none to make). For the LuaJIT FFI methods, which call it
/// through a function pointer: an FFI load of the page would be a plain load that LuaJIT's
/// compiler may hoist out of a polling loop (it ignores `volatile`); a call it cannot.
///
/// # Safety
///
/// `h` is a live handle (its fd open or closed).
#[cfg(feature = "luajit")]
pub(crate) unsafe extern "C" fn page_done(h: *const Handle) -> i64 {
    // SAFETY: Per the contract; a closed handle holds `RawStateMap::NONE`.
    unsafe { (*h).state.done().map_or(-1, i64::from) }
}

pub(crate) unsafe extern "C-unwind" fn m_trywait(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let h = check_handle(l, b"trywait");
        let fd = check_open(l, h);
        // Nothing pending on the state page: false without a system call.
        if state_done(h) == Some(0) {
            ffi::lua_pushboolean(l, 0);
            return 1;
        }
        match raw::ioctl_none::<raw::TryWait>(fd) {
            Ok(_) => push_true(l),
            Err(libc::EAGAIN) => {
                ffi::lua_pushboolean(l, 0);
                1
            }
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:done()`: whether done > 0, consuming nothing.
pub(crate) unsafe extern "C-unwind" fn m_done(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let h = check_handle(l, b"done");
        let fd = check_open(l, h);
        if let Some(done) = state_done(h) {
            ffi::lua_pushboolean(l, (done != 0) as c_int);
            return 1;
        }
        match raw::ioctl_none::<raw::Done>(fd) {
            Ok(r) => {
                ffi::lua_pushboolean(l, (r != 0) as c_int);
                1
            }
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:wait([ms])`: true, or nil, "timeout" / "interrupt" / ..., errno.
pub(crate) unsafe extern "C-unwind" fn m_wait(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned (`KcWait` is plain data).
    unsafe {
        let h = check_handle(l, b"wait");
        let timeout = check_timeout(l);
        let fd = check_open(l, h);
        let deadline = Deadline::from_timeout(timeout);
        if stop::caught() {
            return match stop::wait(fd, deadline) {
                Ok(()) => push_true(l),
                Err(errno) => push_errno_fail(l, errno),
            };
        }
        let mut arg: KcWait = deadline.to_raw();
        match raw::ioctl::<raw::Wait>(fd, &mut arg) {
            Ok(_) => push_true(l),
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:complete_and_wait(other [, ms])`: completes `c`, then waits on `other`, in one ioctl;
/// returns as `wait`.
pub(crate) unsafe extern "C-unwind" fn m_complete_and_wait(l: State) -> c_int {
    const FUNC: &[u8] = b"complete_and_wait";
    // SAFETY: called by Lua; nothing owned (`KcCompleteAndWait` is plain data).
    unsafe {
        let h = check_handle(l, FUNC);
        let other = check_handle_arg(l, 2, FUNC);
        let timeout = check_timeout_arg(l, 3, FUNC);
        let fd = check_open(l, h);
        let other_fd = check_open(l, other);
        let deadline = Deadline::from_timeout(timeout);
        // After `kc.catch_stop()`: the hand-off with a deadline already past (it completes
        // `c`, with every access check, and consumes `other` only if it is ready), then a
        // stoppable wait (see `stop.rs`).
        let stoppable = stop::caught();
        let wait = if stoppable {
            Deadline::from_monotonic_ns(0)
        } else {
            deadline
        }
        .to_raw();
        let mut arg = KcCompleteAndWait {
            deadline_ns: wait.deadline_ns,
            flags: wait.flags,
            complete_fd: fd,
        };
        let r = match raw::ioctl::<raw::CompleteAndWait>(other_fd, &mut arg) {
            Err(libc::ETIMEDOUT) if stoppable => stop::wait(other_fd, deadline),
            r => r.map(drop),
        };
        match r {
            Ok(()) => push_true(l),
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:info()`: the info table, or nil, message, errno.
pub(crate) unsafe extern "C-unwind" fn m_info(l: State) -> c_int {
    // SAFETY: called by Lua; `KcInfo` is plain data.
    unsafe {
        let fd = check_open(l, check_handle(l, b"info"));
        let mut i = KcInfo::default();
        match raw::ioctl::<raw::Info>(fd, &mut i) {
            Ok(_) => {
                let len = (i.name_len as usize).min(i.name.len());
                push_info(
                    l,
                    i.id,
                    &i.name[..len],
                    i.done,
                    i.waiters,
                    i.handles,
                    i.uid,
                    i.gid,
                    i.mode,
                    i.flags & KC_INFO_LINKED != 0,
                );
                1
            }
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:name()`: also on a closed handle; nil for an anonymous object.
pub(crate) unsafe extern "C-unwind" fn m_name(l: State) -> c_int {
    // SAFETY: called by Lua; `h` points to a live handle.
    unsafe {
        let h = check_handle(l, b"name");
        let len = ((*h).name_len as usize).min(64);
        if len == 0 {
            ffi::lua_pushnil(l); // anonymous
        } else {
            push_bytes(l, &(&(*h).name)[..len]);
        }
        1
    }
}

/// `c:fd()` and `c:pollfd()` (cqueues).
unsafe fn fd_of(l: State, func: &[u8]) -> c_int {
    // SAFETY: `l` is valid.
    unsafe {
        let fd = check_open(l, check_handle(l, func));
        ffi::lua_pushinteger(l, fd as ffi::lua_Integer);
        1
    }
}

pub(crate) unsafe extern "C-unwind" fn m_fd(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { fd_of(l, b"fd") }
}

pub(crate) unsafe extern "C-unwind" fn m_pollfd(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { fd_of(l, b"pollfd") }
}

/// `c:events()` (cqueues): "r".
pub(crate) unsafe extern "C-unwind" fn m_events(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe {
        check_open(l, check_handle(l, b"events"));
        push_bytes(l, b"r");
        1
    }
}

/// `c:timeout()` (cqueues): nil.
pub(crate) unsafe extern "C-unwind" fn m_timeout(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe {
        check_open(l, check_handle(l, b"timeout"));
        ffi::lua_pushnil(l);
        1
    }
}

/// Closes the handle's fd (idempotent).
unsafe fn close_handle(h: *mut Handle) {
    // SAFETY: `h` points to a live handle whose fd, if >= 0, it owns.
    unsafe {
        if (*h).fd >= 0 {
            libc::close((*h).fd);
            (*h).fd = -1;
        }
        let state = std::mem::replace(&mut (*h).state, RawStateMap::NONE);
        if state.is_mapped() {
            // Unmapped here (the handle is plain data; nothing else runs its destructor).
            drop(StateMap::from_raw(state));
        }
    }
}

/// `c:close()`, and `__close` (to-be-closed variables, 5.4): returns nothing.
pub(crate) unsafe extern "C-unwind" fn m_close(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { close_handle(check_handle(l, b"close")) };
    0
}

/// `__gc`: garbage collection closes the fd.
pub(crate) unsafe extern "C-unwind" fn m_gc(l: State) -> c_int {
    // SAFETY: called by Lua on one of our userdata (only they have this metatable).
    unsafe { close_handle(check_handle(l, b"__gc")) };
    0
}

/// `tostring(c)`: "kcompletion: NAME (fd N)" or "kcompletion: NAME (closed)".
pub(crate) unsafe extern "C-unwind" fn m_tostring(l: State) -> c_int {
    // SAFETY: called by Lua; `Buf` owns nothing.
    unsafe {
        let h = check_handle(l, b"__tostring");
        let len = ((*h).name_len as usize).min(64);
        let mut buf = Buf::new();
        buf.write_str("kcompletion: ").ok();
        if len == 0 {
            buf.write_str("(anonymous)").ok();
        } else {
            buf.write_str(std::str::from_utf8(&(&(*h).name)[..len]).unwrap_or("?"))
                .ok();
        }
        match (*h).fd {
            fd if fd >= 0 => write!(buf, " (fd {fd})"),
            _ => buf.write_str(" (closed)"),
        }
        .ok();
        push_bytes(l, buf.bytes());
        1
    }
}

// ---------------------------------------------------------------------------------------------
// Creating handles (for `kc.new` and `kc.open`).

/// Pushes a new closed handle (with the metatable, upvalue 1).
pub(crate) unsafe fn new_handle(l: State) -> *mut Handle {
    // SAFETY: `l` is valid; the userdata is initialised before anything can see it.
    unsafe {
        let h = compat::new_userdata(l, std::mem::size_of::<Handle>()).cast::<Handle>();
        h.write(Handle {
            fd: -1,
            name_len: 0,
            tag: &HANDLE_TAG,
            name: [0; 64],
            state: RawStateMap::NONE,
            state_tried: false,
        });
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_setmetatable(l, -2);
        h
    }
}

/// Fills the handle on top of the stack from an opened completion, or replaces it with
/// `nil, message, errno`.
pub(crate) unsafe fn finish_handle(
    l: State,
    h: *mut Handle,
    r: Result<Completion, Error>,
) -> Result<c_int, Raise> {
    match r {
        Ok(c) => {
            let name = c.name().as_bytes();
            let len = name.len().min(63);
            // SAFETY: `h` is the live userdata on top of the stack.
            unsafe {
                (&mut (*h).name)[..len].copy_from_slice(&name[..len]);
                (*h).name_len = len as u32;
                (*h).fd = c.into_raw_fd();
            }
            Ok(1)
        }
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}
