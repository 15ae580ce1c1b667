-- P2, userspace side: `lua5.4 p2_user.lua N` makes N round trips with the kernel script.
local kc = require "kcompletion"
local n = assert(tonumber(arg[1]), "usage: p2_user.lua ROUNDS")
local ping = assert(kc.open("kcb.p2.ping"))
local pong = assert(kc.open("kcb.p2.pong"))
for _ = 1, n do
  ping:complete()
  pong:wait()
end
