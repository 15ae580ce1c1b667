//! The module-level functions: `kc.new`, `kc.open`, `kc.unlink`, `kc.list`, and the kernel Lua
//! scripts' `kc.run`, `kc.stop`, `kc.scripts`; `kc.abi_version`. Each is an `entry!` point
//! around an `_inner` function that may own library results (see the crate's invariant).

use crate::args::{check_access, check_name, check_options};
use crate::object::{finish_handle, new_handle};
use crate::ret::{
    array_result, entry, push_fail, push_info, raise_later, set_int, set_str, unit_result, Raise,
};
use crate::State;
use kcompletion::{Completion, Error};
use mlua_sys as ffi;
use std::ffi::c_int;

/// Calls the library with a name from Lua (`&[u8]`); invalid UTF-8 reaches it lossily (it is
/// then an invalid name).
fn with_name<T>(name: &[u8], f: impl FnOnce(&str) -> T) -> T {
    match std::str::from_utf8(name) {
        Ok(s) => f(s),
        Err(_) => f(&String::from_utf8_lossy(name)),
    }
}

/// Pushes a new handle, opened by `open` on `name`, or nil, message, errno. The caller has
/// checked every argument; the userdata is allocated before the library call opens the fd.
unsafe fn open_handle(
    l: State,
    name: &[u8],
    open: impl FnOnce(&str) -> Result<Completion, Error>,
) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the userdata comes before any owned value.
    unsafe {
        let h = new_handle(l);
        let r = with_name(name, open);
        finish_handle(l, h, r)
    }
}

/// `kc.new(name [, mode | {mode = m, exclusive = b}])`: a handle, or nil, message, errno;
/// `kc.new()`: a new anonymous object (no name: only this handle reaches it).
unsafe fn kc_new_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the checks come before any owned value.
    unsafe {
        if ffi::lua_gettop(l) == 0 {
            let h = new_handle(l);
            return finish_handle(l, h, Completion::create_anonymous());
        }
        let name = check_name(l, 1, b"new");
        let opts = check_options(l);
        open_handle(l, name, |n| Completion::create(n, &opts))
    }
}
entry!(kc_new, kc_new_inner);

/// `kc.open(name [, "rw" | "r" | "w"])`: a handle, or nil, message, errno.
unsafe fn kc_open_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: as `kc_new_inner`.
    unsafe {
        let name = check_name(l, 1, b"open");
        let access = check_access(l);
        open_handle(l, name, |n| Completion::open_with(n, access))
    }
}
entry!(kc_open, kc_open_inner);

/// `kc.unlink(name)`, `kc.stop(name)`: `f` on the name argument; true, or nil, message, errno.
unsafe fn by_name(
    l: State,
    func: &[u8],
    f: impl FnOnce(&str) -> Result<(), Error>,
) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the check comes before any owned value.
    unsafe {
        let name = check_name(l, 1, func);
        unit_result(l, with_name(name, f))
    }
}

unsafe fn kc_unlink_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: forwarded.
    unsafe { by_name(l, b"unlink", kcompletion::unlink) }
}
entry!(kc_unlink, kc_unlink_inner);

unsafe fn kc_stop_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: forwarded.
    unsafe { by_name(l, b"stop", kcompletion::stop) }
}
entry!(kc_stop, kc_stop_inner);

/// `kc.run(name, source)`.
unsafe fn kc_run_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid.
    unsafe {
        let name = check_name(l, 1, b"run");
        let source = check_name(l, 2, b"run");
        let r = match std::str::from_utf8(source) {
            Ok(src) => with_name(name, |n| kcompletion::run(n, src)),
            Err(_) => return Err(raise_later(l, b"invalid utf-8 in the source")),
        };
        unit_result(l, r)
    }
}
entry!(kc_run, kc_run_inner);

/// `kc.list()`: an array of info tables, or nil, message, errno.
unsafe fn kc_list_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the pusher only pushes what it borrows.
    unsafe {
        array_result(l, kcompletion::list(), |l, i| {
            push_info(
                l,
                i.id,
                i.name.as_bytes(),
                i.done,
                i.waiters,
                i.handles,
                i.uid,
                i.gid,
                i.mode,
                i.linked,
            )
        })
    }
}
entry!(kc_list, kc_list_inner);

/// `kc.scripts()`: an array of `{name, state, memory, error}`, or nil, message, errno.
unsafe fn kc_scripts_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the pusher only pushes what it borrows.
    unsafe {
        array_result(l, kcompletion::scripts(), |l, s| {
            ffi::lua_createtable(l, 0, 4);
            set_str(l, c"name", s.name.as_bytes());
            set_str(l, c"state", s.state.as_str().as_bytes());
            set_int(l, c"memory", s.memory as i64);
            if let Some(e) = &s.error {
                set_str(l, c"error", e.as_bytes());
            }
        })
    }
}
entry!(kc_scripts, kc_scripts_inner);

/// `kc.abi_version()`: the driver's ABI version, or nil, message, errno.
unsafe fn kc_abi_version_inner(l: State) -> Result<c_int, Raise> {
    match kcompletion::abi_version() {
        Ok(v) => {
            // SAFETY: `l` is valid; nothing owned.
            unsafe { ffi::lua_pushinteger(l, v as ffi::lua_Integer) };
            Ok(1)
        }
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}
entry!(kc_abi_version, kc_abi_version_inner);
