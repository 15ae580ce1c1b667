//! Argument checks and the errors that misuse raises: `"file:line: bad argument #n to 'f' (...)"`.
//!
//! These raise (`longjmp`), so they run before the calling function owns any value with a
//! destructor (see the invariant in the crate documentation); the raising helpers own nothing
//! and leave nothing owned behind.

use crate::compat;
use crate::object::{Handle, HANDLE_TAG};
use crate::{push_bytes, State};
use kcompletion::{Access, Options};
use mlua_sys as ffi;
use std::ffi::{c_int, CStr};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Raising (these own nothing; callers own nothing either).

/// The type name of the value at `idx` (absolute) as `type()` gives it; "nil" for none.
unsafe fn type_name(l: State, idx: c_int) -> &'static [u8] {
    // SAFETY: `l` is valid; lua_typename returns a static string.
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TNONE => b"nil",
            t => CStr::from_ptr(ffi::lua_typename(l, t)).to_bytes(),
        }
    }
}

/// Pushes a description of the value at `idx` (absolute): a number as Lua prints it, otherwise
/// its type name.
unsafe fn push_describe(l: State, idx: c_int) {
    // SAFETY: `l` is valid and `idx` absolute; lua_tolstring converts the pushed copy.
    unsafe {
        if ffi::lua_type(l, idx) == ffi::LUA_TNUMBER {
            ffi::lua_pushvalue(l, idx);
            ffi::lua_tolstring(l, -1, std::ptr::null_mut());
        } else {
            push_bytes(l, type_name(l, idx));
        }
    }
}

/// Raises `"where: " .. <what push pushed>` (`push` returns how many strings it pushed).
unsafe fn raise_with(l: State, push: impl FnOnce(State) -> c_int) -> ! {
    // SAFETY: `l` is valid; the stack has LUA_MINSTACK free slots, enough for the pieces.
    unsafe {
        ffi::luaL_where(l, 1);
        let n = push(l);
        ffi::lua_concat(l, n + 1);
        ffi::lua_error(l)
    }
}

unsafe fn raise(l: State, msg: &[u8]) -> ! {
    // SAFETY: forwarded.
    unsafe {
        raise_with(l, |l| {
            push_bytes(l, msg);
            1
        })
    }
}

/// Raises `"where: bad argument #n to 'func' (" .. <pieces> .. ")"`.
unsafe fn bad_arg(l: State, n: c_int, func: &[u8], push: impl FnOnce(State) -> c_int) -> ! {
    // SAFETY: forwarded.
    unsafe {
        raise_with(l, |l| {
            push_bytes(l, b"bad argument #");
            push_bytes(l, &[b'0' + n as u8]);
            push_bytes(l, b" to '");
            push_bytes(l, func);
            push_bytes(l, b"' (");
            let k = push(l);
            push_bytes(l, b")");
            6 + k
        })
    }
}

/// `bad argument #n to 'func' (<what> expected, got <type>)`.
unsafe fn type_error(l: State, n: c_int, func: &[u8], what: &[u8]) -> ! {
    // SAFETY: forwarded.
    unsafe { type_error_at(l, n, n, func, what) }
}

/// As [`type_error`] for the value at stack index `idx`, reported as argument `n`.
unsafe fn type_error_at(l: State, idx: c_int, n: c_int, func: &[u8], what: &[u8]) -> ! {
    // SAFETY: forwarded. The type is read before anything is pushed (with no argument at
    // `idx`, that index would be one of the pushed pieces).
    unsafe {
        let got = type_name(l, idx);
        bad_arg(l, n, func, |l| {
            push_bytes(l, what);
            push_bytes(l, b" expected, got ");
            push_bytes(l, got);
            3
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Argument checks (they raise, so they run before any owned value exists).

/// The handle `self` (argument 1) of method `func`; raises unless it is a kcompletion handle.
/// Upvalue 1 is the handles' metatable.
pub(crate) unsafe fn check_handle(l: State, func: &[u8]) -> *mut Handle {
    // SAFETY: forwarded.
    unsafe { handle_at(l, 1, 1, func) }
}

/// A handle at stack index `idx` of method `func`, reported as argument `idx - 1` as Lua
/// numbers a method's arguments (`self` is not counted), as `c:wait(-1)` reports `#1`.
pub(crate) unsafe fn check_handle_arg(l: State, idx: c_int, func: &[u8]) -> *mut Handle {
    // SAFETY: forwarded.
    unsafe { handle_at(l, idx, idx - 1, func) }
}

/// The handle at stack index `idx`; raises naming it argument `n` unless it is one.
///
/// A handle is a full userdata of `Handle`'s size whose `tag` is [`HANDLE_TAG`]'s address:
/// only `new_handle` writes it, and Lua code cannot write a userdata's bytes. (`lua_rawlen`
/// is 0 for a light userdata, so the read stays inside the block Lua allocated.) Comparing
/// metatables, as `luaL_checkudata` does, cost 1.21x a bare C module in Lua 5.4 (P6).
unsafe fn handle_at(l: State, idx: c_int, n: c_int, func: &[u8]) -> *mut Handle {
    // SAFETY: `l` is valid; a full userdata of `Handle`'s size may be read as one, and one
    // whose tag matches was made by `new_handle`.
    unsafe {
        let p = ffi::lua_touserdata(l, idx).cast::<Handle>();
        if !p.is_null()
            && ffi::lua_rawlen(l, idx) == std::mem::size_of::<Handle>()
            && std::ptr::eq((*p).tag, &HANDLE_TAG)
        {
            return p;
        }
        type_error_at(l, idx, n, func, b"kcompletion")
    }
}

/// The fds of argument 1 of `kc.wait_any` / `kc.wait_all` (`func`): a list of 1 to `max`
/// open handles (with `unique`, none repeated). Raises for anything else, naming the item.
pub(crate) unsafe fn check_handle_list(
    l: State,
    func: &[u8],
    max: usize,
    unique: bool,
) -> Vec<i32> {
    // SAFETY: `l` is valid; each item is popped before the next. Nothing owned is alive when
    // a check raises (the message's pieces are dropped before `bad_arg` raises); the Vec is
    // made after the last check.
    unsafe {
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
            type_error(l, 1, func, b"table");
        }
        let n = ffi::lua_rawlen(l, 1);
        if n == 0 || n > max {
            bad_arg(l, 1, func, |l| {
                push_bytes(
                    l,
                    format!("a list of 1 to {max} completions expected").as_bytes(),
                );
                1
            })
        }
        // Checked into a fixed buffer (no owned value while anything may raise).
        let mut fds = [0i32; 128];
        for i in 1..=n {
            ffi::lua_rawgeti(l, 1, i as _);
            let p = ffi::lua_touserdata(l, -1).cast::<Handle>();
            let is_handle = !p.is_null()
                && ffi::lua_rawlen(l, -1) == std::mem::size_of::<Handle>()
                && std::ptr::eq((*p).tag, &HANDLE_TAG);
            let fd = if is_handle { (*p).fd } else { -1 };
            ffi::lua_pop(l, 1);
            let why: &[u8] = if !is_handle {
                b" is not a kcompletion"
            } else if fd < 0 {
                b" is a closed completion"
            } else if unique && fds[..i - 1].contains(&fd) {
                b" repeats an earlier item"
            } else {
                b""
            };
            if !why.is_empty() {
                bad_arg(l, 1, func, |l| {
                    push_bytes(l, format!("item {i}").as_bytes());
                    push_bytes(l, why);
                    2
                })
            }
            fds[i - 1] = fd;
        }
        fds[..n].to_vec()
    }
}

/// The fd of an open handle; raises "closed completion" on a closed one.
pub(crate) unsafe fn check_open(l: State, h: *mut Handle) -> i32 {
    // SAFETY: `h` comes from `check_handle`.
    let fd = unsafe { (*h).fd };
    if fd < 0 {
        // SAFETY: forwarded.
        unsafe { raise(l, b"closed completion") }
    }
    fd
}

/// A name argument: a Lua string (not a number). Borrowed from the Lua string, which stays on
/// the stack during the call.
pub(crate) unsafe fn check_name<'a>(l: State, n: c_int, func: &[u8]) -> &'a [u8] {
    // SAFETY: `l` is valid; the string lives as long as it is on the stack (the whole call).
    unsafe {
        if ffi::lua_type(l, n) != ffi::LUA_TSTRING {
            type_error(l, n, func, b"string");
        }
        let mut len = 0usize;
        let p = ffi::lua_tolstring(l, n, &mut len);
        std::slice::from_raw_parts(p.cast::<u8>(), len)
    }
}

/// A non-negative integer argument (integral floats are fine, as Lua 5.1 has only floats).
pub(crate) unsafe fn check_uint(l: State, idx: c_int, n: c_int, func: &[u8], what: &[u8]) -> u64 {
    // SAFETY: `l` is valid, `idx` absolute.
    unsafe {
        if ffi::lua_type(l, idx) == ffi::LUA_TNUMBER {
            if let Some(Ok(v)) = compat::integer(l, idx).map(u64::try_from) {
                return v;
            }
            let f = ffi::lua_tonumber(l, idx);
            if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
                return f as u64;
            }
        }
        bad_arg(l, n, func, |l| {
            push_bytes(l, what);
            push_bytes(l, b" must be a non-negative integer, got ");
            push_describe(l, idx);
            3
        })
    }
}

/// The octal digits of a mode string such as `"600"` or `"0600"` (at most 4 digits; Lua has
/// no octal literals), or None if it is not one.
fn octal_mode(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    Some(s.iter().fold(0, |m, b| m * 8 + u32::from(b - b'0')))
}

/// A mode at stack index `idx`, reported as argument `n` of `func`: an integer (`0x180`,
/// `384`) or an octal string (`"600"`, `"0600"`). Modes above `0o777` reach the library, which
/// reports "invalid argument" as for any other out-of-range mode.
unsafe fn check_mode(l: State, idx: c_int, n: c_int, func: &[u8]) -> u32 {
    // SAFETY: `l` is valid, `idx` absolute; the string lives on the stack during the call.
    unsafe {
        if ffi::lua_type(l, idx) == ffi::LUA_TSTRING {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(l, idx, &mut len);
            if let Some(m) = octal_mode(std::slice::from_raw_parts(p.cast::<u8>(), len)) {
                return m;
            }
            bad_arg(l, n, func, |l| {
                push_bytes(l, b"mode must be octal digits such as \"600\", got ");
                ffi::lua_pushvalue(l, idx);
                2
            })
        }
        let m = check_uint(l, idx, n, func, b"mode");
        u32::try_from(m).unwrap_or(u32::MAX)
    }
}

/// Argument 2 of `kc.new`: a mode (an integer or an octal string, as the kernel's
/// `completion.new(name, mode)` takes it) or an options table
/// `{mode = 0x180 | "600", exclusive = false}`.
pub(crate) unsafe fn check_options(l: State) -> Options {
    let mut o = Options::default();
    // SAFETY: `l` is valid; lua_next walks the table at index 2 with the key on top.
    unsafe {
        match ffi::lua_type(l, 2) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => return o,
            ffi::LUA_TTABLE => {}
            ffi::LUA_TNUMBER | ffi::LUA_TSTRING => {
                o.mode = check_mode(l, 2, 2, b"new");
                return o;
            }
            _ => type_error(l, 2, b"new", b"mode or options table"),
        }
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 2) != 0 {
            // key at top - 1, value at top
            let top = ffi::lua_gettop(l);
            let (k, v) = (top - 1, top);
            let key: &[u8] = if ffi::lua_type(l, k) == ffi::LUA_TSTRING {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, k, &mut len);
                std::slice::from_raw_parts(p.cast::<u8>(), len)
            } else {
                bad_arg(l, 2, b"new", |l| {
                    push_bytes(l, b"unknown option ");
                    push_describe(l, k);
                    2
                })
            };
            match key {
                b"mode" => o.mode = check_mode(l, v, 2, b"new"),
                b"exclusive" => match ffi::lua_type(l, v) {
                    ffi::LUA_TBOOLEAN => o.exclusive = ffi::lua_toboolean(l, v) != 0,
                    ffi::LUA_TNIL => {}
                    _ => bad_arg(l, 2, b"new", |l| {
                        push_bytes(l, b"exclusive must be a boolean, got ");
                        push_bytes(l, type_name(l, v));
                        2
                    }),
                },
                _ => bad_arg(l, 2, b"new", |l| {
                    push_bytes(l, b"unknown option '");
                    push_bytes(l, key);
                    push_bytes(l, b"' (expected mode, exclusive)");
                    3
                }),
            }
            ffi::lua_pop(l, 1);
        }
    }
    o
}

/// The access argument of `kc.open` (argument 2): "rw" (default), "r" or "w".
pub(crate) unsafe fn check_access(l: State) -> Access {
    // SAFETY: `l` is valid.
    unsafe {
        match ffi::lua_type(l, 2) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => return Access::ReadWrite,
            ffi::LUA_TSTRING => {}
            _ => type_error(l, 2, b"open", b"string"),
        }
        match check_name(l, 2, b"open") {
            b"rw" => Access::ReadWrite,
            b"r" => Access::Read,
            b"w" => Access::Write,
            other => bad_arg(l, 2, b"open", |l| {
                push_bytes(l, b"access must be \"r\", \"w\" or \"rw\", got \"");
                push_bytes(l, other);
                push_bytes(l, b"\"");
                3
            }),
        }
    }
}

/// The optional timeout in milliseconds of `c:wait` (argument 2, "#1" counting from after
/// `self`, as before).
pub(crate) unsafe fn check_timeout(l: State) -> Option<Duration> {
    // SAFETY: forwarded.
    unsafe { check_timeout_arg(l, 2, b"wait") }
}

/// An optional timeout in milliseconds at stack index `idx` of method `func` (nil or none:
/// no limit), reported as argument `idx - 1` (see [`check_handle_arg`]).
pub(crate) unsafe fn check_timeout_arg(l: State, idx: c_int, func: &[u8]) -> Option<Duration> {
    // SAFETY: `l` is valid.
    unsafe {
        if ffi::lua_isnoneornil(l, idx) != 0 {
            return None;
        }
        Some(Duration::from_millis(check_uint(
            l,
            idx,
            idx - 1,
            func,
            b"timeout",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::octal_mode;

    #[test]
    fn octal_mode_strings() {
        assert_eq!(octal_mode(b"600"), Some(0o600));
        assert_eq!(octal_mode(b"0600"), Some(0o600));
        assert_eq!(octal_mode(b"0"), Some(0));
        assert_eq!(octal_mode(b"777"), Some(0o777));
        assert_eq!(octal_mode(b"7777"), Some(0o7777));
        for bad in [
            &b""[..],
            b"800",
            b"60a",
            b"06000",
            b" 600",
            b"0x1a4",
            b"-600",
        ] {
            assert_eq!(octal_mode(bad), None, "{bad:?}");
        }
    }
}
