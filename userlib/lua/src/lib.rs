//! `require "kcompletion"`: named kernel completions (`/dev/kcompletion`) for Lua 5.4, Lua 5.1
//! and LuaJIT.
//!
//! ```lua
//! local kc = require "kcompletion"
//! local c = assert(kc.new("job1", { mode = "600", exclusive = false }))  -- or kc.new("job1", "600")
//! local ok, err = c:wait(50)          -- true, or nil, "timeout" / nil, "interrupt"
//! c:complete(); assert(c:trywait())
//! local reply = assert(kc.new("job1.reply"))
//! ok, err = c:complete_and_wait(reply, 50)  -- completes c, then waits on reply: one ioctl
//! print(c, c:name(), c:fd(), c:info().done)
//! c:close()
//! assert(kc.unlink("job1"))
//!
//! -- kernel Lua scripts (run and stop need root)
//! assert(kc.run("hello", "print('hi from a kernel thread')"))
//! for _, s in ipairs(kc.scripts()) do print(s.name, s.state, s.memory, s.error) end
//! kc.stop("hello")
//! ```
//!
//! Operations that can fail for reasons outside the program (no such name, permission,
//! limits, driver not loaded...) return `nil, message, errno`. Misuse (wrong argument types, a
//! negative or fractional timeout, a method called on something else, any method but
//! `close` and `name` on a closed completion) raises a plain string error, like the standard
//! library's: `"file:line: bad argument #1 to 'new' (string expected, got number)"`. See
//! `userlib/lua/BUILD.md` for building.
//!
//! # How it is built
//!
//! The module is written directly on the Lua C API (`mlua-sys`, in module mode: the API comes
//! from the interpreter that loads the `.so`), like Lua's own C libraries: a handle is a full
//! userdata ([`Handle`]: the fd, -1 once closed, and the name) whose metatable (registry name
//! `kcompletion`, `__name`) has an `__index` table of methods, `__gc`, `__close` (5.4) and
//! `__tostring`. Every function is a C closure with two upvalues: that metatable (a method
//! checks its `self` by comparing metatables, which is cheaper than `luaL_checkudata`'s registry
//! lookup) and [`ret::trampoline`] (for [`ret::protected`]). The hot methods (`complete`, `trywait`,
//! `wait`, ...) make one `ioctl` on the handle's fd and allocate nothing.
//!
//! Under LuaJIT with its FFI, `complete`, `complete_all`, `reinit`, `trywait`, `done` and
//! `wait` are replaced by Lua functions that call `ioctl` through the FFI, which the JIT
//! compiles to direct calls (`luajit.rs`); the constants they use are passed in from Rust.
//!
//! # Lua errors and Rust destructors (the invariant of this file)
//!
//! Lua 5.4 and 5.1 (built as C) raise errors with `longjmp`, which skips the Rust frames between
//! the raise and the `lua_pcall` that catches it without running their destructors: skipping
//! a frame that owns a `String`, a `Vec`, an `OwnedFd`... leaks it or worse (LuaJIT unwinds
//! with its own unwinder, with the same rule). So:
//!
//! - Anything that can raise (`lua_error`, the `raise*`/`bad_arg*` helpers, and every API call
//!   that allocates: pushing strings, tables, userdata) runs only while the frames it can skip
//!   own nothing with a destructor (borrowed `&[u8]` of Lua strings, `Copy` data, raw
//!   pointers).
//! - Argument checks come first, before any owned value exists; a new handle's userdata is
//!   allocated before the library call that opens the fd.
//! - Results that own memory (a `Vec` of infos, an error message `String`) are pushed by a
//!   closure that borrows them, run in protected mode by [`ret::protected`]; if it fails (out of
//!   memory), the error object is left on the stack and [`ret::Raise`] is returned up to the entry
//!   point, which calls `lua_error` only after every owner has been dropped (the `entry!`
//!   macro).
//!
//! # Files
//!
//! - `lib.rs`: the entry point `luaopen_kcompletion`, which builds the metatable, the methods
//!   and the module table.
//! - `args.rs`: argument checks and the errors misuse raises.
//! - `ret.rs`: results, `nil, message, errno`, `Raise`, `entry!` and protected pushing.
//! - `object.rs`: the handle userdata ([`Handle`]) and its methods.
//! - `module_fns.rs`: `kc.new`, `kc.open`, `kc.unlink`, `kc.list`, `kc.run`, `kc.stop`,
//!   `kc.scripts`, `kc.abi_version`.
//! - `compat.rs`: the differences between the Lua 5.4, 5.1 and LuaJIT C APIs.
//! - `luajit.rs`: the LuaJIT FFI fast path.

mod args;
mod check;
mod compat;
#[cfg(feature = "luajit")]
mod luajit;
mod module_fns;
mod object;
mod ret;
mod stop;
mod wait_many;

pub use object::Handle;

use mlua_sys as ffi;
use module_fns::{
    kc_abi_version, kc_list, kc_new, kc_open, kc_run, kc_scripts, kc_stop, kc_unlink,
};
use object::{
    m_close, m_complete, m_complete_all, m_complete_and_wait, m_done, m_events, m_fd, m_gc, m_info,
    m_name, m_pollfd, m_reinit, m_revoke, m_timeout, m_tostring, m_trywait, m_wait,
};
use ret::trampoline;
use std::ffi::{c_char, c_int, CStr};

pub(crate) type State = *mut ffi::lua_State;

/// Registry key and `__name` of the handles' metatable.
const TNAME: &CStr = c"kcompletion";

/// Pushes a copy of `b` as a Lua string.
pub(crate) unsafe fn push_bytes(l: State, b: &[u8]) {
    // SAFETY: `b` is valid for its length; Lua copies it.
    unsafe { ffi::lua_pushlstring(l, b.as_ptr().cast::<c_char>(), b.len()) };
}

/// Pushes `f` as a C closure with the module's two upvalues (metatable at `mt`, trampoline).
unsafe fn push_fn(l: State, mt: c_int, f: ffi::lua_CFunction) {
    // SAFETY: `l` is valid, `mt` absolute.
    unsafe {
        ffi::lua_pushvalue(l, mt);
        ffi::lua_pushcfunction(l, trampoline);
        ffi::lua_pushcclosure(l, f, 2);
    }
}

/// Sets `table[name]` to `f` as a C closure with the module's two upvalues.
pub(crate) unsafe fn set_fn(l: State, table: c_int, mt: c_int, name: &CStr, f: ffi::lua_CFunction) {
    // SAFETY: `l` is valid, `table` and `mt` absolute.
    unsafe {
        push_fn(l, mt, f);
        ffi::lua_setfield(l, table, name.as_ptr());
    }
}

/// The entry point of `require "kcompletion"`.
///
/// # Safety
///
/// Called by the Lua interpreter (`require`) with a valid state.
#[no_mangle]
pub unsafe extern "C-unwind" fn luaopen_kcompletion(l: State) -> c_int {
    // SAFETY: `l` is valid; nothing owned is alive across the calls, which may raise.
    unsafe {
        ffi::luaL_checkstack(l, 16, std::ptr::null());
        // The handles' metatable, at `mt`.
        ffi::luaL_newmetatable(l, TNAME.as_ptr());
        let mt = ffi::lua_gettop(l);
        push_bytes(l, TNAME.to_bytes());
        ffi::lua_setfield(l, mt, c"__name".as_ptr());
        ffi::lua_createtable(l, 0, 16);
        let methods = ffi::lua_gettop(l);
        let list: [(&CStr, ffi::lua_CFunction); 15] = [
            (c"complete", m_complete),
            (c"complete_all", m_complete_all),
            (c"wait", m_wait),
            (c"complete_and_wait", m_complete_and_wait),
            (c"trywait", m_trywait),
            (c"done", m_done),
            (c"reinit", m_reinit),
            (c"revoke", m_revoke),
            (c"info", m_info),
            (c"name", m_name),
            (c"fd", m_fd),
            (c"close", m_close),
            // cqueues polling protocol
            (c"pollfd", m_pollfd),
            (c"events", m_events),
            (c"timeout", m_timeout),
        ];
        for (name, f) in list {
            set_fn(l, methods, mt, name, f);
        }
        ffi::lua_pushvalue(l, methods);
        ffi::lua_setfield(l, mt, c"__index".as_ptr());
        set_fn(l, mt, mt, c"__gc", m_gc);
        set_fn(l, mt, mt, c"__tostring", m_tostring);
        // To-be-closed variables (`local c <close> = ...`).
        #[cfg(feature = "lua54")]
        set_fn(l, mt, mt, c"__close", m_close);

        // The module table.
        ffi::lua_createtable(l, 0, 12);
        let kc = ffi::lua_gettop(l);
        set_fn(l, kc, mt, c"new", kc_new);
        set_fn(l, kc, mt, c"open", kc_open);
        set_fn(l, kc, mt, c"unlink", kc_unlink);
        set_fn(l, kc, mt, c"list", kc_list);
        set_fn(l, kc, mt, c"run", kc_run);
        set_fn(l, kc, mt, c"stop", kc_stop);
        set_fn(l, kc, mt, c"scripts", kc_scripts);
        set_fn(l, kc, mt, c"abi_version", kc_abi_version);
        set_fn(l, kc, mt, c"check", check::kc_check);
        set_fn(l, kc, mt, c"catch_stop", stop::kc_catch_stop);
        set_fn(l, kc, mt, c"stop_requested", stop::kc_stop_requested);
        set_fn(l, kc, mt, c"sleep", stop::kc_sleep);
        set_fn(l, kc, mt, c"wait_any", wait_many::kc_wait_any);
        set_fn(l, kc, mt, c"wait_all", wait_many::kc_wait_all);
        let version = concat!("kcompletion ", env!("CARGO_PKG_VERSION"));
        push_bytes(l, version.as_bytes());
        ffi::lua_setfield(l, kc, c"_VERSION".as_ptr());

        // The LuaJIT FFI fast path (best effort: the C methods stay without it).
        #[cfg(feature = "luajit")]
        luajit::install(l, methods, mt);
        ffi::lua_pushvalue(l, kc);
        1
    }
}
