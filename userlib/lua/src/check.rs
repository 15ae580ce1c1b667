//! `kc.check(source)`: the kernel Lua dialect check of `kcompletion::dialect`, in userspace
//! (no driver needed). Returns `true` when the kernel would accept the source (`true, text`
//! if there are only warnings), or `nil, text` when it would refuse it; `text` has one
//! finding a line, `LINE:COL: message` (`LINE:COL: warning: message`).

use crate::args::check_name;
use crate::ret::{entry, protected, Raise};
use crate::{push_bytes, State};
use mlua_sys as ffi;
use std::ffi::c_int;

/// `kc.check(source)`.
unsafe fn kc_check_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the argument check raises before anything owned exists.
    let source = unsafe { check_name(l, 1, b"check") };
    // Kernel Lua takes any bytes in strings and comments; the parser wants UTF-8.
    let source = String::from_utf8_lossy(source);
    let found = kcompletion::dialect::check(&source);
    drop(source);
    let refused = found.iter().any(|d| d.is_error());
    let text = found
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    drop(found);
    // SAFETY: the pusher borrows `text`, dropped after `protected` returns.
    unsafe {
        protected(l, |l| {
            if refused {
                ffi::lua_pushnil(l);
            } else {
                ffi::lua_pushboolean(l, 1);
                if text.is_empty() {
                    return 1;
                }
            }
            push_bytes(l, text.as_bytes());
            2
        })
    }
}
entry!(kc_check, kc_check_inner);
