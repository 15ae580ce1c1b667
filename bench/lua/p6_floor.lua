-- P6's floor: `lua5.4 p6_floor.lua N` (also lua5.1, luajit): the loop of p6.lua over kcfloor,
-- a plain C module whose methods make only the two ioctls (bench/floor/kcfloor.c), installed
-- per Lua ABI by `cargo xtask bench` (LuaJIT loads the 5.1 build). Only that folder is searched:
-- a missing module fails the run.
local n = assert(tonumber(arg[1]), "usage: p6_floor.lua ITERATIONS")
local abi = jit and "5.1" or _VERSION:match("%d+%.%d+")
package.cpath = "/usr/lib/kcompletion/floor/" .. abi .. "/?.so"
local kcfloor = require "kcfloor"
local c = kcfloor.new("kcb.p6.floor")
for _ = 1, n do
  c:complete()
  c:trywait()
end
