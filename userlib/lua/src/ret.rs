//! Results and the return conventions: `true`, a value, or `nil, message, errno` for failures
//! from outside the program; [`Raise`] and the `entry!` macro, which raise an error object only
//! once every owner is dropped; [`protected`] pushing of results that borrow owned memory.

use crate::{push_bytes, State};
use kcompletion::abi::KC_DONE_ALL;
use kcompletion::{Error, ErrorKind};
use mlua_sys as ffi;
use std::ffi::{c_int, c_void, CStr};
use std::fmt::Write as _;

/// "The error object is on top of the Lua stack: raise it once the owners are dropped."
pub(crate) struct Raise;

/// Defines the `extern "C-unwind"` entry point `$name` around `$inner`, which returns
/// `Result<c_int, Raise>`; `lua_error` is called here, after `$inner`'s frame (and every value
/// it owned) is gone.
macro_rules! entry {
    ($name:ident, $inner:ident) => {
        pub(crate) unsafe extern "C-unwind" fn $name(l: $crate::State) -> ::std::ffi::c_int {
            // SAFETY: called by Lua with a valid state; `$inner` follows the module invariant.
            match unsafe { $inner(l) } {
                Ok(n) => n,
                // SAFETY: `Raise` means the error object is on top of the stack, and nothing
                // with a destructor is alive in this frame.
                Err($crate::ret::Raise) => unsafe { ::mlua_sys::lua_error(l) },
            }
        }
    };
}
pub(crate) use entry;

/// Pushes `where: msg` as an error object for the entry point to raise.
pub(crate) unsafe fn raise_later(l: State, msg: &[u8]) -> Raise {
    // SAFETY: `l` is valid; nothing owned here.
    unsafe {
        ffi::luaL_where(l, 1);
        push_bytes(l, msg);
        ffi::lua_concat(l, 2);
    }
    Raise
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// The short message of a library error, as returned to Lua.
fn message(e: &Error) -> String {
    match e.kind() {
        ErrorKind::AbiMismatch => e.cause(),
        // The Lua compiler's own message: "name:line: ...".
        ErrorKind::CompileError => e.detail().map(str::to_owned).unwrap_or_else(|| e.cause()),
        kind => kind
            .short_message()
            .map(str::to_owned)
            .unwrap_or_else(|| e.cause()),
    }
}

/// A fixed buffer for short texts, so that no owned value is alive while they are pushed.
pub(crate) struct Buf {
    b: [u8; 256],
    n: usize,
}

impl Buf {
    pub(crate) fn new() -> Buf {
        Buf { b: [0; 256], n: 0 }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.b[..self.n]
    }
}

impl std::fmt::Write for Buf {
    /// Appends what fits (texts are cut at 256 bytes, on a byte boundary).
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let take = s.len().min(self.b.len() - self.n);
        self.b[self.n..self.n + take].copy_from_slice(&s.as_bytes()[..take]);
        self.n += take;
        Ok(())
    }
}

/// Pushes `nil, message, errno` for an errno of an ioctl on a handle; returns 3.
pub(crate) unsafe fn push_errno_fail(l: State, errno: i32) -> c_int {
    let mut buf = Buf::new();
    match ErrorKind::from_errno(errno).short_message() {
        Some(m) => buf.write_str(m),
        // What `Error::cause` says for other errnos: "Bad address (os error 14)".
        None => write!(buf, "{}", std::io::Error::from_raw_os_error(errno)),
    }
    .ok();
    // SAFETY: `l` is valid; `buf` owns nothing.
    unsafe {
        ffi::lua_pushnil(l);
        push_bytes(l, buf.bytes());
        ffi::lua_pushinteger(l, errno as ffi::lua_Integer);
    }
    3
}

// ---------------------------------------------------------------------------------------------
// Protected pushing.

type Pusher<'a> = &'a mut dyn FnMut(State) -> c_int;

/// Runs the pusher whose address is argument 1 (see [`protected`]); returns its results.
pub(crate) unsafe extern "C-unwind" fn trampoline(l: State) -> c_int {
    // SAFETY: `protected` passes the address of a live `Pusher` as a light userdata; the
    // pusher borrows what it pushes and owns nothing, so a memory error may skip it.
    unsafe {
        let f = ffi::lua_touserdata(l, 1).cast::<Pusher>();
        ffi::lua_settop(l, 0);
        (*f)(l)
    }
}

/// Runs `push` in protected mode (`lua_pcall` of [`trampoline`], upvalue 2 of every function
/// of the module): its results end up on the stack and their number is returned. If pushing
/// raised (out of memory), returns [`Raise`] with the error object on top, so that the caller
/// can drop what `push` borrowed before raising it.
pub(crate) unsafe fn protected(
    l: State,
    mut push: impl FnMut(State) -> c_int,
) -> Result<c_int, Raise> {
    let mut p: Pusher = &mut push;
    // SAFETY: `l` is valid; pushing a value and a light userdata allocates nothing; `p` outlives
    // the call.
    unsafe {
        let top = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
        ffi::lua_pushlightuserdata(l, (&mut p as *mut Pusher).cast::<c_void>());
        if ffi::lua_pcall(l, 1, ffi::LUA_MULTRET, 0) == ffi::LUA_OK {
            Ok(ffi::lua_gettop(l) - top)
        } else {
            Err(Raise)
        }
    }
}

/// Pushes `nil, message, errno` for a library error, in protected mode.
pub(crate) unsafe fn push_fail(l: State, e: Error) -> Result<c_int, Raise> {
    let msg = message(&e);
    let errno = e.raw_os_error();
    drop(e);
    // SAFETY: the pusher borrows `msg`, which outlives `protected`.
    unsafe {
        protected(l, |l| {
            ffi::lua_pushnil(l);
            push_bytes(l, msg.as_bytes());
            match errno {
                Some(n) => ffi::lua_pushinteger(l, n as ffi::lua_Integer),
                None => ffi::lua_pushnil(l),
            }
            3
        })
    }
}

pub(crate) unsafe fn push_true(l: State) -> c_int {
    // SAFETY: `l` is valid; booleans allocate nothing.
    unsafe { ffi::lua_pushboolean(l, 1) };
    1
}

// ---------------------------------------------------------------------------------------------
// Tables and results.

pub(crate) unsafe fn set_int(l: State, key: &CStr, v: i64) {
    // SAFETY: the table is on top.
    unsafe {
        ffi::lua_pushinteger(l, v as ffi::lua_Integer);
        ffi::lua_setfield(l, -2, key.as_ptr());
    }
}

unsafe fn set_bool(l: State, key: &CStr, v: bool) {
    // SAFETY: the table is on top.
    unsafe {
        ffi::lua_pushboolean(l, v as c_int);
        ffi::lua_setfield(l, -2, key.as_ptr());
    }
}

pub(crate) unsafe fn set_str(l: State, key: &CStr, v: &[u8]) {
    // SAFETY: the table is on top.
    unsafe {
        push_bytes(l, v);
        ffi::lua_setfield(l, -2, key.as_ptr());
    }
}

/// Pushes the info table of `c:info()` and `kc.list()`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn push_info(
    l: State,
    id: u32,
    name: &[u8],
    done: u32,
    waiters: u32,
    handles: u32,
    uid: u32,
    gid: u32,
    mode: u32,
    linked: bool,
) {
    // SAFETY: `l` is valid.
    unsafe {
        ffi::lua_createtable(l, 0, 10);
        set_int(l, c"id", id.into());
        set_str(l, c"name", name);
        set_int(l, c"done", done.into());
        set_bool(l, c"completed_all", done == KC_DONE_ALL);
        set_int(l, c"waiters", waiters.into());
        set_int(l, c"handles", handles.into());
        set_int(l, c"uid", uid.into());
        set_int(l, c"gid", gid.into());
        set_int(l, c"mode", mode.into());
        set_bool(l, c"linked", linked);
    }
}

/// true, or nil, message, errno.
pub(crate) unsafe fn unit_result(l: State, r: Result<(), Error>) -> Result<c_int, Raise> {
    match r {
        // SAFETY: `l` is valid.
        Ok(()) => Ok(unsafe { push_true(l) }),
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}

/// An array of the items of a successful listing, each pushed by `push_one` (in protected mode:
/// the items are dropped after [`protected`] returns), or nil, message, errno.
pub(crate) unsafe fn array_result<T>(
    l: State,
    r: Result<Vec<T>, Error>,
    push_one: impl Fn(State, &T),
) -> Result<c_int, Raise> {
    match r {
        // SAFETY: the pusher borrows `items`, dropped after `protected` returns.
        Ok(items) => unsafe {
            protected(l, |l| {
                ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
                for (k, item) in items.iter().enumerate() {
                    push_one(l, item);
                    ffi::lua_rawseti(l, -2, (k + 1) as ffi::lua_Integer);
                }
                1
            })
        },
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}
