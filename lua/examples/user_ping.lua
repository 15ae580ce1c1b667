-- The userspace side of kernel_pong.lua: `lua5.4 user_ping.lua` completes "ping" and
-- waits for the kernel script's "pong", ROUNDS times (default 3).
local kc = require "kcompletion"
local function open(name)
  for _ = 1, 100 do -- the kernel script creates the names when it starts
    local c = kc.open(name)
    if c then return c end
    os.execute("sleep 0.05")
  end
  error("no completion " .. name)
end
local ping, pong = open("ping"), open("pong")
for i = 1, tonumber(os.getenv("ROUNDS")) or 3 do
  ping:complete()
  assert(pong:wait(10000))
  print(("   [user_ping.lua] round %d: pong received from the kernel script"):format(i))
end
