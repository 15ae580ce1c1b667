-- Ping-pong with a userspace process over two named completions: the user process
-- completes "kl-ping", this kernel thread waits for it and completes "kl-pong".
-- ROUNDS is replaced by the runner (default 1000); every round is checked on both sides.
local completion = require "completion"
local rounds = tonumber(ROUNDS) or 1000

local ping = assert(completion.open("kl-ping"))
local pong = assert(completion.open("kl-pong"))
for i = 1, rounds do
  local ok, err = ping:wait(10000)
  if not ok then
    error(("round %d: ping wait: %s"):format(i, tostring(err)))
  end
  -- a round consumes exactly one ping
  if ping:trywait() then
    error(("round %d: an extra ping was pending"):format(i))
  end
  pong:complete()
end
print(("pingpong: %d rounds"):format(rounds))
