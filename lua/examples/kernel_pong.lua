-- A kernel-thread Lua script (run it with `kcompletion run kernel_pong.lua`, as root):
-- waits for "ping" from userspace and answers "pong", ROUNDS times (default 3).
local completion = require "completion"
local thread = require "thread"

local ping = assert(completion.new("ping", "666"))
local pong = assert(completion.new("pong", "666"))
for i = 1, tonumber(ROUNDS) or 3 do
  local ok, err = ping:wait(10000)
  if not ok then
    print("no ping:", err)
    return
  end
  print(("%s: got ping %d in a kernel thread, sending pong"):format(thread.name(), i))
  pong:complete()
end
