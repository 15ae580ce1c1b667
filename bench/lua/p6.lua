-- P6: `lua5.4 p6.lua N` / `luajit p6.lua N`: N iterations of c:complete() + c:trywait()
-- through the Lua binding (kc-bench compares with the same loop on raw ioctls in Rust).
local kc = require "kcompletion"
local n = assert(tonumber(arg[1]), "usage: p6.lua ITERATIONS")
local name = "kcb.p6." .. (arg[2] or "lua")
kc.unlink(name)
local c = assert(kc.new(name))
kc.unlink(name)
for _ = 1, n do
  c:complete()
  c:trywait()
end
c:close()
