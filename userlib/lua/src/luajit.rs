//! The LuaJIT FFI fast path (built with the `luajit` feature only): `complete`,
//! `complete_all`, `reinit`, `trywait`, `done` and `wait` replaced by Lua functions that call
//! `ioctl` through the FFI, which the JIT compiles to direct calls ([`LUAJIT_FFI`]); `done` and
//! a failing `trywait` read the state page through `object::page_done` instead. The constants
//! they use are passed in from Rust.

use crate::ret::{push_errno_fail, set_int};
use crate::{set_fn, State};
use kcompletion::abi::{
    KC_IOC_COMPLETE, KC_IOC_COMPLETE_ALL, KC_IOC_DONE, KC_IOC_REINIT, KC_IOC_TRY_WAIT, KC_IOC_WAIT,
};
use mlua_sys as ffi;
use std::ffi::{c_char, c_int};

/// `k.fail(errno)` (internal, for the LuaJIT FFI methods): nil, message, errno.
unsafe extern "C-unwind" fn kc_fail(l: State) -> c_int {
    // SAFETY: called by Lua; nothing owned.
    unsafe {
        let errno = ffi::lua_tointeger(l, 1);
        push_errno_fail(l, errno as i32)
    }
}

/// Lua code run once at load under LuaJIT when its FFI is there: replaces the hot methods by
/// Lua functions calling `ioctl` through the FFI, which the JIT compiles to direct calls. Same
/// arguments, results and errors as the C functions (which remain for anything but the fast
/// path: a wrong `self`, a bad timeout, an error errno). Arguments: the methods table, the
/// handles' metatable, and a table of constants from Rust (ioctl numbers, errnos, `_fail`).
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
local page_done = ffi.cast("int64_t (*)(struct kc_handle *)", k.page_done)
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
  local h = cast(HP, self)
  local fd = h.fd
  if fd < 0 then return slow_trywait(self) end
  local d = page_done(h)
  -- Nothing pending on the state page: false without a system call.
  if d == 0 then return false end
  -- No page yet: the C method maps it (or makes the ioctl).
  if d < 0 then return slow_trywait(self) end
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
  local d = page_done(cast(HP, self))
  if d >= 0 then return d ~= 0 end
  -- Closed, or no page yet (the C method maps it, or makes the ioctl without one).
  return slow_done(self)
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

/// Runs [`LUAJIT_FFI`] on the methods table at `methods` and the metatable at `mt` (absolute
/// indices). Best effort: without the FFI (or if the chunk fails) the C methods stay.
pub(crate) unsafe fn install(l: State, methods: c_int, mt: c_int) {
    // SAFETY: `l` is valid with the stack space `luaopen_kcompletion` reserved; nothing owned
    // is alive across the calls, which may raise.
    unsafe {
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
            ffi::lua_pushlightuserdata(l, crate::object::page_done as *mut std::ffi::c_void);
            ffi::lua_setfield(l, k, c"page_done".as_ptr());
            if ffi::lua_pcall(l, 3, 0, 0) != ffi::LUA_OK {
                ffi::lua_pop(l, 1);
            }
        } else {
            ffi::lua_pop(l, 1);
        }
    }
}
