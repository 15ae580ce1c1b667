-- LuaRocks spec for the kcompletion Lua module (a Rust cdylib on the Lua C API, mlua-sys).
-- From a checkout: cd userlib/lua && luarocks make kcompletion-scm-1.rockspec
-- (luarocks --lua-version 5.1 ... for Lua 5.1; a LuaJIT-configured luarocks picks the luajit
-- feature). The driver itself (/dev/kcompletion) is not part of this rock.
rockspec_format = "3.0"
package = "kcompletion"
version = "scm-1"

source = {
   -- Placeholder: the project's repository. `luarocks make` in this folder does not use it.
   url = "git+https://example.invalid/kcompletion.git",
   dir = "kcompletion/userlib/lua",
}

description = {
   summary = "Named kernel completions (/dev/kcompletion) for Lua",
   detailed = [[
Create, signal and wait on named kernel completion objects exposed by the kcompletion Linux
driver: kc.new, kc.open, kc.unlink, kc.list; c:complete, c:complete_all, c:wait, c:trywait,
c:done, c:reinit, c:info, c:close, a:complete_and_wait(b [, ms]) (one call). Works with the cqueues polling protocol.]],
   license = "GPL-2.0 OR MIT",
   labels = { "linux", "ipc", "synchronization" },
}

supported_platforms = { "linux" }

dependencies = {
   "lua >= 5.1, < 5.5",
   "luarocks-build-rust-mlua",
}

build = {
   type = "rust-mlua",
   modules = {
      -- target/release/libkcompletion_lua.so installed as kcompletion.so
      ["kcompletion"] = "kcompletion_lua",
   },
   -- The Cargo workspace's target folder (the crate is a workspace member).
   target_path = "../../target",
   -- The Lua version feature (lua54, lua51 or luajit) is chosen by the backend.
   default_features = false,
   -- The kernel scripts' API in userspace (require "completion", "thread"), written in Lua.
   install = {
      lua = {
         ["completion"] = "lua/completion.lua",
         ["thread"] = "lua/thread.lua",
         ["kcompletion.script"] = "lua/kcompletion/script.lua",
      },
   },
}
