-- P2 through complete_and_wait, userspace side: `lua5.4 p2_user_caw.lua N` makes N round
-- trips with the kernel script, one call each (complete ping, then wait for pong).
local kc = require "kcompletion"
local n = assert(tonumber(arg[1]), "usage: p2_user_caw.lua ROUNDS")
local ping = assert(kc.open("kcb.p2c.ping"))
local pong = assert(kc.open("kcb.p2c.pong"))
for _ = 1, n do
  ping:complete_and_wait(pong)
end
