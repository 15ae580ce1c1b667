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
//! `close` on a closed completion) raises an error. See `userlib/lua/BUILD.md` for building.

use kcompletion::{Access, Completion, Error, ErrorKind, Info, Options};
use mlua::prelude::*;
use mlua::{MetaMethod, UserData, UserDataMethods, Value};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// A completion handle as seen from Lua; `None` once closed.
struct Handle {
    inner: Option<Completion>,
    name: String,
}

impl Handle {
    fn get(&self) -> LuaResult<&Completion> {
        self.inner
            .as_ref()
            .ok_or_else(|| LuaError::runtime("closed completion"))
    }
}

/// The short message of an error, as returned to Lua.
fn message(e: &Error) -> String {
    match e.kind() {
        ErrorKind::Timeout => "timeout".into(),
        ErrorKind::Interrupted => "interrupt".into(),
        ErrorKind::NotFound => "not found".into(),
        ErrorKind::Exists => "exists".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::Limit => "limit reached".into(),
        ErrorKind::InvalidName => "invalid name".into(),
        ErrorKind::NameTooLong => "name too long".into(),
        ErrorKind::InvalidArgument => "invalid argument".into(),
        ErrorKind::DriverNotLoaded => {
            "driver not loaded (load it with `modprobe kcompletion` or `insmod kcompletion.ko`)"
                .into()
        }
        ErrorKind::AbiMismatch => e.cause(),
        ErrorKind::BadAccess => "bad access".into(),
        // The Lua compiler's own message: "name:line: ...".
        ErrorKind::CompileError => e.detail().map(str::to_owned).unwrap_or_else(|| e.cause()),
        _ => e.cause(),
    }
}

/// `nil, message, errno`.
fn fail(lua: &Lua, e: &Error) -> LuaResult<LuaMultiValue> {
    let errno = match e.raw_os_error() {
        Some(n) => Value::Integer(n.into()),
        None => Value::Nil,
    };
    (Value::Nil, message(e), errno).into_lua_multi(lua)
}

/// `value` on success, `nil, message, errno` on failure.
fn ret<T: IntoLuaMulti>(lua: &Lua, r: Result<T, Error>) -> LuaResult<LuaMultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => fail(lua, &e),
    }
}

fn bad_arg(n: usize, func: &str, msg: impl std::fmt::Display) -> LuaError {
    LuaError::runtime(format!("bad argument #{n} to '{func}' ({msg})"))
}

/// A name argument: must be a Lua string (not a number). Its content is validated by the
/// library, whose errors are returned, not raised.
fn name_arg(v: &Value, n: usize, func: &str) -> LuaResult<String> {
    match v {
        Value::String(s) => Ok(s.to_string_lossy()),
        other => Err(bad_arg(
            n,
            func,
            format!("string expected, got {}", lua_type(other)),
        )),
    }
}

/// A non-negative integer argument (integral floats are fine, as Lua 5.1 has only floats).
fn uint_arg(v: &Value, n: usize, func: &str, what: &str) -> LuaResult<u64> {
    let bad = || {
        bad_arg(
            n,
            func,
            format!("{what} must be a non-negative integer, got {}", describe(v)),
        )
    };
    match *v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| bad()),
        Value::Number(f) if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) => Ok(f as u64),
        _ => Err(bad()),
    }
}

/// The type name Lua's `type()` would give.
fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::LightUserData(_) => "userdata",
        other => other.type_name(),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Number(f) => f.to_string(),
        other => lua_type(other).to_string(),
    }
}

/// The optional timeout in milliseconds of `c:wait`.
fn timeout_arg(v: &Value) -> LuaResult<Option<Duration>> {
    match v {
        Value::Nil => Ok(None),
        v => uint_arg(v, 1, "wait", "timeout").map(|ms| Some(Duration::from_millis(ms))),
    }
}

/// The options table of `kc.new`: `{mode = 0x180, exclusive = false}`.
fn options_arg(v: &Value) -> LuaResult<Options> {
    let mut o = Options::default();
    let t = match v {
        Value::Nil => return Ok(o),
        Value::Table(t) => t,
        other => {
            return Err(bad_arg(
                2,
                "new",
                format!("table expected, got {}", lua_type(other)),
            ))
        }
    };
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let key = match &k {
            Value::String(s) => s.to_string_lossy(),
            other => {
                return Err(bad_arg(
                    2,
                    "new",
                    format!("unknown option {}", describe(other)),
                ))
            }
        };
        match key.as_str() {
            "mode" => {
                let m = uint_arg(&v, 2, "new", "mode")?;
                // Out of range modes reach the library, which reports "invalid argument".
                o.mode = u32::try_from(m).unwrap_or(u32::MAX);
            }
            "exclusive" => match v {
                Value::Boolean(b) => o.exclusive = b,
                Value::Nil => {}
                other => {
                    return Err(bad_arg(
                        2,
                        "new",
                        format!("exclusive must be a boolean, got {}", lua_type(&other)),
                    ))
                }
            },
            other => {
                return Err(bad_arg(
                    2,
                    "new",
                    format!("unknown option '{other}' (expected mode, exclusive)"),
                ))
            }
        }
    }
    Ok(o)
}

fn access_arg(v: &Value) -> LuaResult<Access> {
    match v {
        Value::Nil => Ok(Access::ReadWrite),
        Value::String(s) => match s.to_string_lossy().as_str() {
            "rw" => Ok(Access::ReadWrite),
            "r" => Ok(Access::Read),
            "w" => Ok(Access::Write),
            other => Err(bad_arg(
                2,
                "open",
                format!("access must be \"r\", \"w\" or \"rw\", got {other:?}"),
            )),
        },
        other => Err(bad_arg(
            2,
            "open",
            format!("string expected, got {}", lua_type(other)),
        )),
    }
}

fn script_table(lua: &Lua, s: &kcompletion::ScriptInfo) -> LuaResult<LuaTable> {
    let t = lua.create_table()?;
    t.set("name", s.name.as_str())?;
    t.set("state", s.state.as_str())?;
    t.set("memory", s.memory)?;
    t.set("error", s.error.as_deref())?;
    Ok(t)
}

fn source_arg(v: &Value, n: usize, func: &str) -> LuaResult<String> {
    match v {
        Value::String(s) => Ok(s.to_str()?.to_owned()),
        other => Err(bad_arg(
            n,
            func,
            format!("string expected, got {}", lua_type(other)),
        )),
    }
}

fn info_table(lua: &Lua, i: &Info) -> LuaResult<LuaTable> {
    let t = lua.create_table()?;
    t.set("id", i.id)?;
    t.set("name", i.name.as_str())?;
    t.set("done", i.done)?;
    t.set("completed_all", i.is_completed_all())?;
    t.set("waiters", i.waiters)?;
    t.set("handles", i.handles)?;
    t.set("uid", i.uid)?;
    t.set("gid", i.gid)?;
    t.set("mode", i.mode)?;
    t.set("linked", i.linked)?;
    Ok(t)
}

fn handle(lua: &Lua, c: Completion) -> LuaResult<LuaMultiValue> {
    let name = c.name().to_owned();
    let ud = lua.create_userdata(Handle {
        inner: Some(c),
        name,
    })?;
    ud.into_lua_multi(lua)
}

impl UserData for Handle {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("complete", |lua, this, ()| {
            ret(lua, this.get()?.complete().map(|()| true))
        });
        m.add_method("complete_all", |lua, this, ()| {
            ret(lua, this.get()?.complete_all().map(|()| true))
        });
        m.add_method("wait", |lua, this, timeout: Value| {
            let timeout = timeout_arg(&timeout)?;
            ret(lua, this.get()?.wait(timeout).map(|()| true))
        });
        m.add_method("trywait", |lua, this, ()| ret(lua, this.get()?.try_wait()));
        m.add_method("done", |lua, this, ()| ret(lua, this.get()?.is_done()));
        m.add_method("reinit", |lua, this, ()| {
            ret(lua, this.get()?.reinit().map(|()| true))
        });
        m.add_method("info", |lua, this, ()| match this.get()?.info() {
            Ok(i) => info_table(lua, &i)?.into_lua_multi(lua),
            Err(e) => fail(lua, &e),
        });
        m.add_method("name", |_, this, ()| Ok(this.name.clone()));
        m.add_method("fd", |_, this, ()| Ok(this.get()?.as_raw_fd()));
        m.add_method_mut("close", |_, this, ()| {
            this.inner = None;
            Ok(())
        });
        // cqueues polling protocol.
        m.add_method("pollfd", |_, this, ()| Ok(this.get()?.as_raw_fd()));
        m.add_method("events", |_, this, ()| {
            this.get()?;
            Ok("r")
        });
        m.add_method("timeout", |_, this, ()| {
            this.get()?;
            Ok(Value::Nil)
        });
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(match &this.inner {
                Some(c) => format!("kcompletion: {} (fd {})", this.name, c.as_raw_fd()),
                None => format!("kcompletion: {} (closed)", this.name),
            })
        });
        // To-be-closed variables (`local c <close> = ...`). Garbage collection closes too:
        // dropping the handle closes its descriptor.
        #[cfg(feature = "lua54")]
        m.add_meta_method_mut(MetaMethod::Close, |_, this, _: LuaMultiValue| {
            this.inner = None;
            Ok(())
        });
    }
}

/// Lua code run once at load: wraps the module functions and the methods so that errors reach
/// Lua as plain strings (`"file:line: bad argument #1 to 'new' (...)"`), like errors of the
/// standard library, instead of mlua's error userdata with a traceback.
const WRAP_ERRORS: &str = r##"
local kc, sample = ...
local unpack = table.unpack or unpack
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local function clean(e)
  local s = tostring(e):match("^[^\n]*")
  return (s:gsub("^runtime error: ", ""))
end
local function wrap(f)
  return function(...)
    local r = pack(pcall(f, ...))
    if not r[1] then error(clean(r[2]), 2) end
    return unpack(r, 2, r.n)
  end
end
for k, v in pairs(kc) do
  if type(v) == "function" then kc[k] = wrap(v) end
end
-- mlua protects the metatable (__metatable = false): reach it through the debug library.
local mt = debug and debug.getmetatable and debug.getmetatable(sample)
if type(mt) ~= "table" then return false end
local index = mt.__index
if type(index) == "table" then
  for k, v in pairs(index) do
    if type(v) == "function" then index[k] = wrap(v) end
  end
elseif type(index) == "function" then
  local wrapped = setmetatable({}, { __mode = "k" })
  mt.__index = function(self, key)
    local v = index(self, key)
    if type(v) ~= "function" then return v end
    local w = wrapped[v]
    if not w then
      w = wrap(v)
      wrapped[v] = w
    end
    return w
  end
else
  return false
end
return true
"##;

#[mlua::lua_module(name = "kcompletion")]
fn luaopen(lua: &Lua) -> LuaResult<LuaTable> {
    let kc = lua.create_table()?;
    kc.set(
        "new",
        lua.create_function(|lua, (name, opts): (Value, Value)| {
            let name = name_arg(&name, 1, "new")?;
            let opts = options_arg(&opts)?;
            match Completion::create(&name, &opts) {
                Ok(c) => handle(lua, c),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    kc.set(
        "open",
        lua.create_function(|lua, (name, access): (Value, Value)| {
            let name = name_arg(&name, 1, "open")?;
            let access = access_arg(&access)?;
            match Completion::open_with(&name, access) {
                Ok(c) => handle(lua, c),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    kc.set(
        "unlink",
        lua.create_function(|lua, name: Value| {
            let name = name_arg(&name, 1, "unlink")?;
            ret(lua, kcompletion::unlink(&name).map(|()| true))
        })?,
    )?;
    kc.set(
        "list",
        lua.create_function(|lua, ()| match kcompletion::list() {
            Ok(infos) => {
                let t = lua.create_table()?;
                for (i, info) in infos.iter().enumerate() {
                    t.set(i + 1, info_table(lua, info)?)?;
                }
                t.into_lua_multi(lua)
            }
            Err(e) => fail(lua, &e),
        })?,
    )?;
    kc.set(
        "run",
        lua.create_function(|lua, (name, source): (Value, Value)| {
            let name = name_arg(&name, 1, "run")?;
            let source = source_arg(&source, 2, "run")?;
            ret(lua, kcompletion::run(&name, &source).map(|()| true))
        })?,
    )?;
    kc.set(
        "stop",
        lua.create_function(|lua, name: Value| {
            let name = name_arg(&name, 1, "stop")?;
            ret(lua, kcompletion::stop(&name).map(|()| true))
        })?,
    )?;
    kc.set(
        "scripts",
        lua.create_function(|lua, ()| match kcompletion::scripts() {
            Ok(list) => {
                let t = lua.create_table()?;
                for (i, s) in list.iter().enumerate() {
                    t.set(i + 1, script_table(lua, s)?)?;
                }
                t.into_lua_multi(lua)
            }
            Err(e) => fail(lua, &e),
        })?,
    )?;
    kc.set(
        "abi_version",
        lua.create_function(|lua, ()| ret(lua, kcompletion::abi_version()))?,
    )?;
    kc.set(
        "_VERSION",
        format!("kcompletion {}", env!("CARGO_PKG_VERSION")),
    )?;
    // A closed handle, only to reach the metatable shared by all handles.
    let sample = lua.create_userdata(Handle {
        inner: None,
        name: String::new(),
    })?;
    let wrapped_methods = lua
        .load(WRAP_ERRORS)
        .set_name("=kcompletion")
        .call::<bool>((kc.clone(), sample))?;
    // Without the debug library, method errors stay mlua error objects (tostring works).
    let _ = wrapped_methods;
    Ok(kc)
}
