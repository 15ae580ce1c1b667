-- Where the Lua binding's time goes (`kc-bench --only profile`): per-iteration cost of the
-- pieces of `c:complete(); c:trywait()`, by os.clock() (CPU time; these loops never block).
local kc = require "kcompletion"
local n = tonumber(arg[1]) or 200000
local tag = arg[2] or _VERSION
local c = assert(kc.new("kcb.profile"))
kc.unlink("kcb.profile")
local function t(label, f)
  local t0 = os.clock()
  f()
  local dt = os.clock() - t0
  print(string.format("KCB-PROFILE interp=%s what=%s ns=%.0f", tag, label:gsub(" ", "_"), dt * 1e9 / n))
end
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack
-- the wrapper userlib/lua used to put around every function and method (WRAP_ERRORS, gone)
local function wrap(f)
  return function(...)
    local r = pack(pcall(f, ...))
    if not r[1] then error(r[2], 2) end
    return unpack(r, 2, r.n)
  end
end
-- the same check without the table: pcall's results passed straight through
local function pass(ok, ...)
  if not ok then error((...), 2) end
  return ...
end
local function wrap_pcall_only(f)
  return function(...) return pass(pcall(f, ...)) end
end
local raw = rawequal
local wrapped = wrap(raw)
local wrapped2 = wrap_pcall_only(raw)
t("empty loop", function() for _ = 1, n do end end)
t("Lua function call", function() local function g() end for _ = 1, n do g() end end)
t("C function call (rawequal)", function() for _ = 1, n do raw(1, 1) end end)
t("wrapped C function (pack+pcall+unpack)", function() for _ = 1, n do wrapped(1, 1) end end)
t("wrapped C function (pcall only, no table)", function() for _ = 1, n do wrapped2(1, 1) end end)
t("method lookup c.fd", function() for _ = 1, n do local _ = c.fd end end)
t("c:fd() no syscall", function() for _ = 1, n do c:fd() end end)
t("c:complete()", function() for _ = 1, n do c:complete() end end)
t("c:trywait()", function() for _ = 1, n do c:trywait() end end)
t("c:complete()+c:trywait()", function() for _ = 1, n do c:complete(); c:trywait() end end)
local mt = debug and debug.getmetatable and debug.getmetatable(c)
local trywait = c.trywait
t("cached method trywait(c)", function() for _ = 1, n do trywait(c) end end)
-- Under LuaJIT with the FFI, the methods are Lua functions calling ioctl through the FFI; the
-- C API function each falls back to is its upvalue slow_<name>: time it alone for comparison.
if jit and debug and debug.getupvalue then
  for i = 1, 64 do
    local k, v = debug.getupvalue(trywait, i)
    if k == nil then break end
    if k == "slow_trywait" then
      t("c:trywait() through the C API", function() for _ = 1, n do v(c) end end)
    end
  end
end
print("KCB-PROFILE interp=" .. tag .. " what=__index_is_a ns=0 " .. type(mt and mt.__index))
c:close()
-- P6's C floor (bench/floor/kcfloor.c, installed by `cargo xtask bench`): plain methods that
-- only make the ioctl, then the same with the binding's self check (metatable compared with an
-- upvalue, popped; complete returns true), that check without the pop, and a check by a tag
-- and the payload's size (lua_rawlen) instead of the metatable.
local abi = jit and "5.1" or _VERSION:match("%d+%.%d+")
package.cpath = "/usr/lib/kcompletion/floor/" .. abi .. "/?.so"
local kcfloor = require "kcfloor"
for _, kind in ipairs { "plain", "checked", "nopop", "tagged" } do
  local f = kcfloor.new("kcb.profile.floor", kind)
  t("floor " .. kind .. " f:complete()", function() for _ = 1, n do f:complete() end end)
  t("floor " .. kind .. " f:trywait()", function() for _ = 1, n do f:trywait() end end)
  t("floor " .. kind .. " f:complete()+f:trywait()", function()
    for _ = 1, n do f:complete(); f:trywait() end
  end)
end
