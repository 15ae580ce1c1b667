//! What differs between the Lua C APIs this module is built for (one per build: the `lua54`,
//! `lua51` or `luajit` feature). The rest: `__close` exists only in 5.4 (registered in
//! `luaopen_kcompletion`), and only LuaJIT has the FFI fast path (`luajit.rs`).

use crate::State;
use mlua_sys as ffi;
use std::ffi::{c_int, c_void};

/// A new full userdata of `size` bytes on top of the stack (5.4: with no user values).
pub(crate) unsafe fn new_userdata(l: State, size: usize) -> *mut c_void {
    // SAFETY: `l` is valid; the caller initialises the block before anything can see it.
    #[cfg(feature = "lua54")]
    let p = unsafe { ffi::lua_newuserdatauv(l, size, 0) };
    // SAFETY: as above.
    #[cfg(not(feature = "lua54"))]
    let p = unsafe { ffi::lua_newuserdata(l, size) };
    p
}

/// The integer value of the number at `idx` if it has the integer subtype (5.4); `None` for a
/// float, and always under 5.1 and LuaJIT, whose numbers are all floats.
pub(crate) unsafe fn integer(l: State, idx: c_int) -> Option<ffi::lua_Integer> {
    #[cfg(feature = "lua54")]
    // SAFETY: `l` is valid and `idx` an acceptable index.
    unsafe {
        if ffi::lua_isinteger(l, idx) != 0 {
            return Some(ffi::lua_tointeger(l, idx));
        }
    }
    #[cfg(not(feature = "lua54"))]
    let _ = (l, idx);
    None
}
