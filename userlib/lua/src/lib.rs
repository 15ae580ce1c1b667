//! `require "kcompletion"`: named kernel completions (`/dev/kcompletion`) for Lua 5.4, Lua 5.1
//! and LuaJIT.
//!
//! ```lua
//! local kc = require "kcompletion"
//! local c = assert(kc.new("job1", { mode = 0x180, exclusive = false }))  -- 0x180 = 0600
//! local ok, err = c:wait(50)          -- true, or nil, "timeout" / nil, "interrupt"
//! c:complete(); assert(c:trywait())
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
//! lookup) and [`trampoline`] (for [`protected`]). The hot methods (`complete`, `trywait`,
//! `wait`, ...) make one `ioctl` on the handle's fd and allocate nothing.
//!
//! Under LuaJIT with its FFI, `complete`, `complete_all`, `reinit`, `trywait`, `done` and
//! `wait` are replaced by Lua functions that call `ioctl` through the FFI, which the JIT
//! compiles to direct calls ([`LUAJIT_FFI`]); the constants they use are passed in from Rust.
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
//!   closure that borrows them, run in protected mode by [`protected`]; if it fails (out of
//!   memory), the error object is left on the stack and [`Raise`] is returned up to the entry
//!   point, which calls `lua_error` only after every owner has been dropped (the `entry!`
//!   macro).

use kcompletion::abi::{
    KcInfo, KcWait, KC_DONE_ALL, KC_INFO_LINKED, KC_IOC_COMPLETE, KC_IOC_COMPLETE_ALL, KC_IOC_DONE,
    KC_IOC_INFO, KC_IOC_REINIT, KC_IOC_TRY_WAIT, KC_IOC_WAIT,
};
use kcompletion::{Access, Completion, Deadline, Error, ErrorKind, Options};
use mlua_sys as ffi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt::Write as _;
use std::os::fd::IntoRawFd;
use std::time::Duration;

type State = *mut ffi::lua_State;

/// The payload of a handle's full userdata. Plain data: Lua frees it without running Rust
/// code; `__gc` closes the fd.
#[repr(C)]
pub struct Handle {
    /// The object fd, or -1 once closed. First, at offset 0: the LuaJIT FFI code reads it.
    fd: i32,
    /// Length of `name`.
    name_len: u32,
    /// The name the handle was created or opened with (at most 63 bytes).
    name: [u8; 64],
}

const _: () = assert!(std::mem::offset_of!(Handle, fd) == 0);
const _: () = assert!(kcompletion::NAME_MAX < 64);

/// Registry key and `__name` of the handles' metatable.
const TNAME: &CStr = c"kcompletion";

/// "The error object is on top of the Lua stack: raise it once the owners are dropped."
struct Raise;

/// Defines the `extern "C-unwind"` entry point `$name` around `$inner`, which returns
/// `Result<c_int, Raise>`; `lua_error` is called here, after `$inner`'s frame (and every value
/// it owned) is gone.
macro_rules! entry {
    ($name:ident, $inner:ident) => {
        unsafe extern "C-unwind" fn $name(l: State) -> c_int {
            // SAFETY: called by Lua with a valid state; `$inner` follows the module invariant.
            match unsafe { $inner(l) } {
                Ok(n) => n,
                // SAFETY: `Raise` means the error object is on top of the stack, and nothing
                // with a destructor is alive in this frame.
                Err(Raise) => unsafe { ffi::lua_error(l) },
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Raising (these own nothing; callers own nothing either).

unsafe fn push_bytes(l: State, b: &[u8]) {
    // SAFETY: `b` is valid for its length; Lua copies it.
    unsafe { ffi::lua_pushlstring(l, b.as_ptr().cast::<c_char>(), b.len()) };
}

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
    // SAFETY: forwarded. The type is read before anything is pushed (with no argument n,
    // index n would be one of the pushed pieces).
    unsafe {
        let got = type_name(l, n);
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
unsafe fn check_handle(l: State, func: &[u8]) -> *mut Handle {
    // SAFETY: `l` is valid; a userdata with our metatable holds a `Handle`.
    unsafe {
        let p = ffi::lua_touserdata(l, 1);
        if !p.is_null() && ffi::lua_getmetatable(l, 1) != 0 {
            let same = ffi::lua_rawequal(l, -1, ffi::lua_upvalueindex(1));
            ffi::lua_pop(l, 1);
            if same != 0 {
                return p.cast();
            }
        }
        type_error(l, 1, func, b"kcompletion")
    }
}

/// The fd of an open handle; raises "closed completion" on a closed one.
unsafe fn check_open(l: State, h: *mut Handle) -> i32 {
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
unsafe fn check_name<'a>(l: State, n: c_int, func: &[u8]) -> &'a [u8] {
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
unsafe fn check_uint(l: State, idx: c_int, n: c_int, func: &[u8], what: &[u8]) -> u64 {
    // SAFETY: `l` is valid, `idx` absolute.
    unsafe {
        if ffi::lua_type(l, idx) == ffi::LUA_TNUMBER {
            #[cfg(feature = "lua54")]
            if ffi::lua_isinteger(l, idx) != 0 {
                if let Ok(v) = u64::try_from(ffi::lua_tointeger(l, idx)) {
                    return v;
                }
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

/// The options table of `kc.new` (argument 2): `{mode = 0x180, exclusive = false}`.
unsafe fn check_options(l: State) -> Options {
    let mut o = Options::default();
    // SAFETY: `l` is valid; lua_next walks the table at index 2 with the key on top.
    unsafe {
        match ffi::lua_type(l, 2) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => return o,
            ffi::LUA_TTABLE => {}
            _ => type_error(l, 2, b"new", b"table"),
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
                b"mode" => {
                    let m = check_uint(l, v, 2, b"new", b"mode");
                    // Out of range modes reach the library, which reports "invalid argument".
                    o.mode = u32::try_from(m).unwrap_or(u32::MAX);
                }
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
unsafe fn check_access(l: State) -> Access {
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
unsafe fn check_timeout(l: State) -> Option<Duration> {
    // SAFETY: `l` is valid.
    unsafe {
        if ffi::lua_isnoneornil(l, 2) != 0 {
            return None;
        }
        Some(Duration::from_millis(check_uint(
            l, 2, 1, b"wait", b"timeout",
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Results.

/// The short message for an errno of the driver, if it is one of the known kinds.
fn kind_message(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::Timeout => "timeout",
        ErrorKind::Interrupted => "interrupt",
        ErrorKind::NotFound => "not found",
        ErrorKind::Exists => "exists",
        ErrorKind::PermissionDenied => "permission denied",
        ErrorKind::Limit => "limit reached",
        ErrorKind::InvalidName => "invalid name",
        ErrorKind::NameTooLong => "name too long",
        ErrorKind::InvalidArgument => "invalid argument",
        ErrorKind::DriverNotLoaded => {
            "driver not loaded (load it with `modprobe kcompletion` or `insmod kcompletion.ko`)"
        }
        ErrorKind::BadAccess => "bad access",
        _ => return None,
    })
}

/// The short message of a library error, as returned to Lua.
fn message(e: &Error) -> String {
    match e.kind() {
        ErrorKind::AbiMismatch => e.cause(),
        // The Lua compiler's own message: "name:line: ...".
        ErrorKind::CompileError => e.detail().map(str::to_owned).unwrap_or_else(|| e.cause()),
        kind => kind_message(kind)
            .map(str::to_owned)
            .unwrap_or_else(|| e.cause()),
    }
}

/// A fixed buffer for short texts, so that no owned value is alive while they are pushed.
struct Buf {
    b: [u8; 256],
    n: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf { b: [0; 256], n: 0 }
    }

    fn bytes(&self) -> &[u8] {
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
unsafe fn push_errno_fail(l: State, errno: i32) -> c_int {
    let mut buf = Buf::new();
    match kind_message(ErrorKind::from_errno(errno)) {
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

type Pusher<'a> = &'a mut dyn FnMut(State) -> c_int;

/// Runs the pusher whose address is argument 1 (see [`protected`]); returns its results.
unsafe extern "C-unwind" fn trampoline(l: State) -> c_int {
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
unsafe fn protected(l: State, mut push: impl FnMut(State) -> c_int) -> Result<c_int, Raise> {
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
unsafe fn push_fail(l: State, e: Error) -> Result<c_int, Raise> {
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

unsafe fn push_true(l: State) -> c_int {
    // SAFETY: `l` is valid; booleans allocate nothing.
    unsafe { ffi::lua_pushboolean(l, 1) };
    1
}

/// Calls the library with a name from Lua (`&[u8]`); invalid UTF-8 reaches it lossily (it is
/// then an invalid name).
fn with_name<T>(name: &[u8], f: impl FnOnce(&str) -> T) -> T {
    match std::str::from_utf8(name) {
        Ok(s) => f(s),
        Err(_) => f(&String::from_utf8_lossy(name)),
    }
}

/// One ioctl on a handle's fd: the syscall's result, or the errno.
fn ioctl(fd: i32, request: u32, arg: *mut c_void) -> Result<c_int, i32> {
    // SAFETY: the request numbers of the ABI encode their argument's size; callers pass null
    // for `_IO` requests or a live value of the request's type.
    let r = unsafe { libc::ioctl(fd, request as _, arg) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

unsafe fn set_int(l: State, key: &CStr, v: i64) {
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

unsafe fn set_str(l: State, key: &CStr, v: &[u8]) {
    // SAFETY: the table is on top.
    unsafe {
        push_bytes(l, v);
        ffi::lua_setfield(l, -2, key.as_ptr());
    }
}

/// Pushes the info table of `c:info()` and `kc.list()`.
#[allow(clippy::too_many_arguments)]
unsafe fn push_info(
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

// ---------------------------------------------------------------------------------------------
// Methods. The hot ones own nothing, so they are entry points themselves.

/// `c:complete()`, `c:complete_all()`, `c:reinit()`: true, or nil, message, errno.
unsafe fn simple(l: State, func: &[u8], request: u32) -> c_int {
    // SAFETY: `l` is valid; nothing owned.
    unsafe {
        let fd = check_open(l, check_handle(l, func));
        match ioctl(fd, request, std::ptr::null_mut()) {
            Ok(_) => push_true(l),
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

unsafe extern "C-unwind" fn m_complete(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple(l, b"complete", KC_IOC_COMPLETE) }
}

unsafe extern "C-unwind" fn m_complete_all(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple(l, b"complete_all", KC_IOC_COMPLETE_ALL) }
}

unsafe extern "C-unwind" fn m_reinit(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { simple(l, b"reinit", KC_IOC_REINIT) }
}

/// `c:trywait()`: true (consumed one), false (none), or nil, message, errno.
unsafe extern "C-unwind" fn m_trywait(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let fd = check_open(l, check_handle(l, b"trywait"));
        match ioctl(fd, KC_IOC_TRY_WAIT, std::ptr::null_mut()) {
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
unsafe extern "C-unwind" fn m_done(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let fd = check_open(l, check_handle(l, b"done"));
        match ioctl(fd, KC_IOC_DONE, std::ptr::null_mut()) {
            Ok(r) => {
                ffi::lua_pushboolean(l, (r != 0) as c_int);
                1
            }
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:wait([ms])`: true, or nil, "timeout" / "interrupt" / ..., errno.
unsafe extern "C-unwind" fn m_wait(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned (`KcWait` is plain data).
    unsafe {
        let h = check_handle(l, b"wait");
        let timeout = check_timeout(l);
        let fd = check_open(l, h);
        let mut arg: KcWait = Deadline::from_timeout(timeout).to_raw();
        match ioctl(fd, KC_IOC_WAIT, (&mut arg as *mut KcWait).cast()) {
            Ok(_) => push_true(l),
            Err(errno) => push_errno_fail(l, errno),
        }
    }
}

/// `c:info()`: the info table, or nil, message, errno.
unsafe extern "C-unwind" fn m_info(l: State) -> c_int {
    // SAFETY: called by Lua; `KcInfo` is plain data.
    unsafe {
        let fd = check_open(l, check_handle(l, b"info"));
        let mut i = KcInfo::default();
        match ioctl(fd, KC_IOC_INFO, (&mut i as *mut KcInfo).cast()) {
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

/// `c:name()`: also on a closed handle.
unsafe extern "C-unwind" fn m_name(l: State) -> c_int {
    // SAFETY: called by Lua; `h` points to a live handle.
    unsafe {
        let h = check_handle(l, b"name");
        let len = ((*h).name_len as usize).min(64);
        push_bytes(l, &(&(*h).name)[..len]);
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

unsafe extern "C-unwind" fn m_fd(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { fd_of(l, b"fd") }
}

unsafe extern "C-unwind" fn m_pollfd(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { fd_of(l, b"pollfd") }
}

/// `c:events()` (cqueues): "r".
unsafe extern "C-unwind" fn m_events(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe {
        check_open(l, check_handle(l, b"events"));
        push_bytes(l, b"r");
        1
    }
}

/// `c:timeout()` (cqueues): nil.
unsafe extern "C-unwind" fn m_timeout(l: State) -> c_int {
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
    }
}

/// `c:close()`, and `__close` (to-be-closed variables, 5.4): returns nothing.
unsafe extern "C-unwind" fn m_close(l: State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { close_handle(check_handle(l, b"close")) };
    0
}

/// `__gc`: garbage collection closes the fd.
unsafe extern "C-unwind" fn m_gc(l: State) -> c_int {
    // SAFETY: called by Lua on one of our userdata (only they have this metatable).
    unsafe { close_handle(check_handle(l, b"__gc")) };
    0
}

/// `tostring(c)`: "kcompletion: NAME (fd N)" or "kcompletion: NAME (closed)".
unsafe extern "C-unwind" fn m_tostring(l: State) -> c_int {
    // SAFETY: called by Lua; `Buf` owns nothing.
    unsafe {
        let h = check_handle(l, b"__tostring");
        let len = ((*h).name_len as usize).min(64);
        let mut buf = Buf::new();
        buf.write_str("kcompletion: ").ok();
        buf.write_str(std::str::from_utf8(&(&(*h).name)[..len]).unwrap_or("?"))
            .ok();
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
// Module functions.

/// Pushes a new closed handle (with the metatable, upvalue 1).
unsafe fn new_handle(l: State) -> *mut Handle {
    // SAFETY: `l` is valid; the userdata is initialised before anything can see it.
    unsafe {
        #[cfg(feature = "lua54")]
        let p = ffi::lua_newuserdatauv(l, std::mem::size_of::<Handle>(), 0);
        #[cfg(not(feature = "lua54"))]
        let p = ffi::lua_newuserdata(l, std::mem::size_of::<Handle>());
        let h = p.cast::<Handle>();
        h.write(Handle {
            fd: -1,
            name_len: 0,
            name: [0; 64],
        });
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_setmetatable(l, -2);
        h
    }
}

/// Fills the handle on top of the stack from an opened completion, or replaces it with
/// `nil, message, errno`.
unsafe fn finish_handle(
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

/// `kc.new(name [, {mode = n, exclusive = b}])`: a handle, or nil, message, errno.
unsafe fn kc_new_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid; the checks and the userdata come before any owned value.
    unsafe {
        let name = check_name(l, 1, b"new");
        let opts = check_options(l);
        let h = new_handle(l);
        let r = with_name(name, |n| Completion::create(n, &opts));
        finish_handle(l, h, r)
    }
}
entry!(kc_new, kc_new_inner);

/// `kc.open(name [, "rw" | "r" | "w"])`: a handle, or nil, message, errno.
unsafe fn kc_open_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: as `kc_new_inner`.
    unsafe {
        let name = check_name(l, 1, b"open");
        let access = check_access(l);
        let h = new_handle(l);
        let r = with_name(name, |n| Completion::open_with(n, access));
        finish_handle(l, h, r)
    }
}
entry!(kc_open, kc_open_inner);

/// true, or nil, message, errno.
unsafe fn unit_result(l: State, r: Result<(), Error>) -> Result<c_int, Raise> {
    match r {
        // SAFETY: `l` is valid.
        Ok(()) => Ok(unsafe { push_true(l) }),
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}

/// `kc.unlink(name)`.
unsafe fn kc_unlink_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid.
    unsafe {
        let name = check_name(l, 1, b"unlink");
        unit_result(l, with_name(name, kcompletion::unlink))
    }
}
entry!(kc_unlink, kc_unlink_inner);

/// `kc.stop(name)`.
unsafe fn kc_stop_inner(l: State) -> Result<c_int, Raise> {
    // SAFETY: `l` is valid.
    unsafe {
        let name = check_name(l, 1, b"stop");
        unit_result(l, with_name(name, kcompletion::stop))
    }
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

/// Pushes `where: msg` as an error object for the entry point to raise.
unsafe fn raise_later(l: State, msg: &[u8]) -> Raise {
    // SAFETY: `l` is valid; nothing owned here.
    unsafe {
        ffi::luaL_where(l, 1);
        push_bytes(l, msg);
        ffi::lua_concat(l, 2);
    }
    Raise
}

/// `kc.list()`: an array of info tables, or nil, message, errno.
unsafe fn kc_list_inner(l: State) -> Result<c_int, Raise> {
    match kcompletion::list() {
        // SAFETY: the pusher borrows `infos`, dropped after `protected` returns.
        Ok(infos) => unsafe {
            protected(l, |l| {
                ffi::lua_createtable(l, infos.len().min(1 << 20) as c_int, 0);
                for (k, i) in infos.iter().enumerate() {
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
                    );
                    ffi::lua_rawseti(l, -2, (k + 1) as ffi::lua_Integer);
                }
                1
            })
        },
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
    }
}
entry!(kc_list, kc_list_inner);

/// `kc.scripts()`: an array of `{name, state, memory, error}`, or nil, message, errno.
unsafe fn kc_scripts_inner(l: State) -> Result<c_int, Raise> {
    match kcompletion::scripts() {
        // SAFETY: the pusher borrows `list`, dropped after `protected` returns.
        Ok(list) => unsafe {
            protected(l, |l| {
                ffi::lua_createtable(l, list.len().min(1 << 20) as c_int, 0);
                for (k, s) in list.iter().enumerate() {
                    ffi::lua_createtable(l, 0, 4);
                    set_str(l, c"name", s.name.as_bytes());
                    set_str(l, c"state", s.state.as_str().as_bytes());
                    set_int(l, c"memory", s.memory as i64);
                    if let Some(e) = &s.error {
                        set_str(l, c"error", e.as_bytes());
                    }
                    ffi::lua_rawseti(l, -2, (k + 1) as ffi::lua_Integer);
                }
                1
            })
        },
        // SAFETY: forwarded.
        Err(e) => unsafe { push_fail(l, e) },
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

#[cfg_attr(not(feature = "luajit"), allow(dead_code))]
/// `k.fail(errno)` (internal, for the LuaJIT FFI methods): nil, message, errno.
unsafe extern "C-unwind" fn kc_fail(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let errno = ffi::lua_tointeger(l, 1);
        push_errno_fail(l, errno as i32)
    }
}

// ---------------------------------------------------------------------------------------------
// LuaJIT FFI methods.

/// Lua code run once at load under LuaJIT when its FFI is there: replaces the hot methods by
/// Lua functions calling `ioctl` through the FFI, which the JIT compiles to direct calls. Same
/// arguments, results and errors as the C functions (which remain for anything but the fast
/// path: a wrong `self`, a bad timeout, an error errno). Arguments: the methods table, the
/// handles' metatable, and a table of constants from Rust (ioctl numbers, errnos, `_fail`).
#[cfg(feature = "luajit")]
const LUAJIT_FFI: &str = r#"
local methods, mt, k = ...
local ok, ffi = pcall(require, "ffi")
if not ok or not jit then return false end
-- One declaration at a time: a program may have declared the functions already (an error
-- here, harmless: C.ioctl and C.clock_gettime are then its declarations).
for _, decl in ipairs {
  "struct kc_timespec { long tv_sec; long tv_nsec; };",
  "struct kc_wait { uint64_t deadline_ns; uint32_t flags; uint32_t reserved; };",
  "struct kc_handle { int32_t fd; };",
  "int ioctl(int fd, unsigned long request, ...);",
  "int clock_gettime(int clk, struct kc_timespec *ts);",
} do
  pcall(ffi.cdef, decl)
end
local C, cast, errno, getmetatable = ffi.C, ffi.cast, ffi.errno, getmetatable
-- Raises (and the C methods stay) if a declaration is missing.
local _ = C.ioctl, C.clock_gettime
local HP = ffi.typeof("struct kc_handle *")
local wait_arg = ffi.new("struct kc_wait")
local ts = ffi.new("struct kc_timespec")
local slow = {}
for name, f in pairs(methods) do slow[name] = f end
local fail, EAGAIN = k.fail, k.EAGAIN
local COMPLETE, COMPLETE_ALL, REINIT = k.COMPLETE, k.COMPLETE_ALL, k.REINIT
local TRY_WAIT, DONE, WAIT = k.TRY_WAIT, k.DONE, k.WAIT
local MONOTONIC = k.CLOCK_MONOTONIC
local NEVER = 0xffffffffffffffffULL
local MAXDL = 0x7fffffffffffffffULL
local floor = math.floor

local function simple(name, req)
  local f = slow[name]
  return function(self)
    if getmetatable(self) ~= mt then return f(self) end
    local fd = cast(HP, self).fd
    if fd < 0 then return f(self) end
    if C.ioctl(fd, req, nil) < 0 then return fail(errno()) end
    return true
  end
end
methods.complete = simple("complete", COMPLETE)
methods.complete_all = simple("complete_all", COMPLETE_ALL)
methods.reinit = simple("reinit", REINIT)

local slow_trywait = slow.trywait
methods.trywait = function(self)
  if getmetatable(self) ~= mt then return slow_trywait(self) end
  local fd = cast(HP, self).fd
  if fd < 0 then return slow_trywait(self) end
  if C.ioctl(fd, TRY_WAIT, nil) < 0 then
    local e = errno()
    if e == EAGAIN then return false end
    return fail(e)
  end
  return true
end

local slow_done = slow.done
methods.done = function(self)
  if getmetatable(self) ~= mt then return slow_done(self) end
  local fd = cast(HP, self).fd
  if fd < 0 then return slow_done(self) end
  local r = C.ioctl(fd, DONE, nil)
  if r < 0 then return fail(errno()) end
  return r ~= 0
end

local slow_wait = slow.wait
methods.wait = function(self, ms)
  if getmetatable(self) ~= mt then return slow_wait(self, ms) end
  local fd = cast(HP, self).fd
  local deadline
  if ms == nil then
    deadline = NEVER
  elseif type(ms) == "number" and ms >= 0 and ms < 9e12 and floor(ms) == ms then
    if C.clock_gettime(MONOTONIC, ts) ~= 0 then return slow_wait(self, ms) end
    deadline = ts.tv_sec * 1000000000ULL + ts.tv_nsec + cast("uint64_t", ms) * 1000000ULL
    if deadline > MAXDL then deadline = NEVER end
  else
    -- errors (and timeouts of more than 285 years, which mean forever) by the C function
    return slow_wait(self, ms)
  end
  if fd < 0 then return slow_wait(self, ms) end
  wait_arg.deadline_ns = deadline
  if C.ioctl(fd, WAIT, wait_arg) < 0 then return fail(errno()) end
  return true
end
return true
"#;

// ---------------------------------------------------------------------------------------------
// Opening.

/// Pushes `f` as a C closure with the module's two upvalues (metatable at `mt`, trampoline).
unsafe fn push_fn(l: State, mt: c_int, f: ffi::lua_CFunction) {
    // SAFETY: `l` is valid, `mt` absolute.
    unsafe {
        ffi::lua_pushvalue(l, mt);
        ffi::lua_pushcfunction(l, trampoline);
        ffi::lua_pushcclosure(l, f, 2);
    }
}

unsafe fn set_fn(l: State, table: c_int, mt: c_int, name: &CStr, f: ffi::lua_CFunction) {
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
        let list: [(&CStr, ffi::lua_CFunction); 13] = [
            (c"complete", m_complete),
            (c"complete_all", m_complete_all),
            (c"wait", m_wait),
            (c"trywait", m_trywait),
            (c"done", m_done),
            (c"reinit", m_reinit),
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
        let version = concat!("kcompletion ", env!("CARGO_PKG_VERSION"));
        push_bytes(l, version.as_bytes());
        ffi::lua_setfield(l, kc, c"_VERSION".as_ptr());

        #[cfg(feature = "luajit")]
        {
            // Best effort: without the FFI (or if the chunk fails) the C methods stay.
            let chunk = LUAJIT_FFI.as_bytes();
            if ffi::luaL_loadbuffer(
                l,
                chunk.as_ptr().cast::<c_char>(),
                chunk.len(),
                c"=kcompletion-ffi".as_ptr(),
            ) == ffi::LUA_OK
            {
                ffi::lua_pushvalue(l, methods);
                ffi::lua_pushvalue(l, mt);
                ffi::lua_createtable(l, 0, 10);
                let k = ffi::lua_gettop(l);
                for (name, v) in [
                    (c"COMPLETE", KC_IOC_COMPLETE as i64),
                    (c"COMPLETE_ALL", KC_IOC_COMPLETE_ALL as i64),
                    (c"REINIT", KC_IOC_REINIT as i64),
                    (c"TRY_WAIT", KC_IOC_TRY_WAIT as i64),
                    (c"DONE", KC_IOC_DONE as i64),
                    (c"WAIT", KC_IOC_WAIT as i64),
                    (c"EAGAIN", libc::EAGAIN as i64),
                    (c"CLOCK_MONOTONIC", libc::CLOCK_MONOTONIC as i64),
                ] {
                    set_int(l, name, v);
                }
                set_fn(l, k, mt, c"fail", kc_fail);
                if ffi::lua_pcall(l, 3, 0, 0) != ffi::LUA_OK {
                    ffi::lua_pop(l, 1);
                }
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pushvalue(l, kc);
        1
    }
}
