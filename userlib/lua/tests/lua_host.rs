//! Loads the built module into a real interpreter on the host (no driver needed): checks the
//! module table, argument checking (misuse raises) and the `nil, message, errno` convention for
//! a missing or foreign `/dev/kcompletion` (redirected with `KCOMPLETION_DEVICE`).
//!
//! The interpreter matches the enabled feature: `lua5.4`, `lua5.1` or `luajit`. If it is not
//! installed the test fails and says so (`apt-get install lua5.4 lua5.1 luajit`).

use std::path::PathBuf;
use std::process::Command;

fn interpreter() -> &'static str {
    if cfg!(feature = "luajit") {
        "luajit"
    } else if cfg!(feature = "lua51") {
        "lua5.1"
    } else {
        "lua5.4"
    }
}

/// `target/<profile>/deps/libkcompletion_lua.so` (built along with the rlib this test depends
/// on), copied into a fresh folder as `kcompletion.so`.
fn module_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let so = deps.join("libkcompletion_lua.so");
    assert!(
        so.is_file(),
        "{} was not built (cargo test -p kcompletion-lua builds it)",
        so.display()
    );
    let dir = std::env::temp_dir().join(format!(
        "kc-lua-host-{}-{}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&so, dir.join("kcompletion.so")).unwrap();
    dir
}

fn run_lua(device: &str, script: &str) -> (bool, String) {
    let dir = module_dir();
    let cpath = format!("{}/?.so", dir.display());
    let lua = interpreter();
    let out = Command::new(lua)
        .arg("-e")
        .arg(script)
        .env("LUA_CPATH", &cpath)
        .env("LUA_CPATH_5_4", &cpath)
        .env("KCOMPLETION_DEVICE", device)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {lua} ({e}): apt-get install {lua}"));
    std::fs::remove_dir_all(&dir).ok();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const PRELUDE: &str = r#"
local kc = require "kcompletion"
local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error matching " .. pattern)
  assert(type(err) == "string", "error is a " .. type(err) .. ", not a string")
  assert(not string.find(err, "runtime error", 1, true), err)
  assert(string.find(tostring(err), pattern, 1, true),
         "error " .. tostring(err) .. " does not contain " .. pattern)
end
local function fails(msg, errno, ...)
  local v, m, e = ...
  assert(v == nil, "expected nil, got " .. tostring(v))
  assert(string.find(m, msg, 1, true), "message " .. tostring(m) .. " lacks " .. msg)
  assert(e == errno, "errno " .. tostring(e) .. " ~= " .. tostring(errno))
end
"#;

#[test]
fn module_without_driver() {
    let script = format!(
        r#"{PRELUDE}
assert(type(kc) == "table")
assert(string.find(kc._VERSION, "^kcompletion %d"))
for _, f in ipairs{{"new", "open", "unlink", "list", "abi_version"}} do
  assert(type(kc[f]) == "function", f)
end
-- names are validated before the device is opened
fails("invalid name", 22, kc.new("a b"))
fails("invalid name", 22, kc.open(""))
fails("name too long", 36, kc.unlink(string.rep("x", 64)))
fails("invalid argument", 22, kc.new("ok", {{mode = 0x200}}))
-- no device
fails("driver not loaded", 2, kc.open("job1"))
fails("modprobe kcompletion", 2, kc.new("job1", {{mode = 0x1a4, exclusive = true}}))
fails("driver not loaded", 2, kc.unlink("job1"))
fails("driver not loaded", 2, kc.list())
-- misuse raises
raises("bad argument #1 to 'new' (string expected, got number)", kc.new, 42)
raises("string expected, got nil", kc.open)
raises("string expected, got table", kc.unlink, {{}})
raises("bad argument #2 to 'new' (mode or options table expected, got boolean)", kc.new, "x", true)
raises("bad argument #2 to 'new' (mode must be octal digits such as \"600\", got 800)", kc.new, "x", "800")
raises("mode must be octal digits such as \"600\", got 0x1a4", kc.new, "x", {{mode = "0x1a4"}})
raises("mode must be octal digits such as \"600\", got ", kc.new, "x", "")
raises("mode must be a non-negative integer", kc.new, "x", -1)
fails("driver not loaded", 2, kc.new("job1", "0600"))
fails("driver not loaded", 2, kc.new("job1", 384))
raises("mode must be a non-negative integer", kc.new, "x", {{mode = -1}})
raises("mode must be a non-negative integer", kc.new, "x", {{mode = 1.5}})
raises("exclusive must be a boolean", kc.new, "x", {{exclusive = 1}})
raises("unknown option 'bogus'", kc.new, "x", {{bogus = true}})
raises("access must be", kc.open, "x", "rx")
print("ALL OK")
"#
    );
    let (ok, out) = run_lua("/nonexistent/kcompletion", &script);
    assert!(ok && out.contains("ALL OK"), "{}:\n{out}", interpreter());
}

#[test]
fn foreign_device_is_abi_mismatch() {
    let script = format!(
        r#"{PRELUDE}
fails("not the kcompletion driver", 25, kc.open("job1"))
fails("not the kcompletion driver", 25, kc.abi_version())
print("ALL OK")
"#
    );
    let (ok, out) = run_lua("/dev/null", &script);
    assert!(ok && out.contains("ALL OK"), "{}:\n{out}", interpreter());
}

/// Under LuaJIT (with its FFI, as Debian's is), the hot methods are the FFI versions (Lua
/// functions); elsewhere every method is a C function.
#[test]
fn hot_methods_are_ffi_under_luajit() {
    let expect = if cfg!(feature = "luajit") { "Lua" } else { "C" };
    let script = format!(
        r#"{PRELUDE}
local methods = debug.getregistry().kcompletion.__index
for _, m in ipairs {{"complete", "complete_all", "reinit", "trywait", "done", "wait"}} do
  local what = debug.getinfo(methods[m], "S").what
  assert(what == "{expect}", m .. " is a " .. what .. " function")
end
for _, m in ipairs {{"info", "name", "fd", "close", "pollfd", "events", "timeout"}} do
  assert(debug.getinfo(methods[m], "S").what == "C", m)
end
-- a wrong self raises the C function's error through the FFI versions too
raises("bad argument #1 to 'complete' (kcompletion expected, got number)", methods.complete, 42)
raises("bad argument #1 to 'wait' (kcompletion expected, got nil)", methods.wait)
print("ALL OK")
"#
    );
    let (ok, out) = run_lua("/nonexistent/kcompletion", &script);
    assert!(ok && out.contains("ALL OK"), "{}:\n{out}", interpreter());
}
