-- P5 / P5b: `lua5.4 p5.lua N done|trywait`: N calls of c:done() or of a failing c:trywait()
-- on an object with nothing pending (kc-bench compares with the ioctls in Rust).
local kc = require "kcompletion"
local n = assert(tonumber(arg[1]), "usage: p5.lua ITERATIONS done|trywait")
local op = arg[2] or "done"
local name = "kcb.p5.lua"
kc.unlink(name)
local c = assert(kc.new(name))
kc.unlink(name)
if op == "done" then
  for _ = 1, n do c:done() end
else
  for _ = 1, n do c:trywait() end
end
c:close()
