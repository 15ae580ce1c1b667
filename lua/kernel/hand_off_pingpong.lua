-- Ping-pong with a userspace process in which both sides hand off with complete_and_wait
-- (issue 18): userspace calls ping:complete_and_wait(pong) each round; this kernel thread
-- waits for the first ping, then answers each with pong:complete_and_wait(ping) (the last
-- with pong:complete()). ROUNDS is set by the runner (default 1000). Every round is checked:
-- when a ping arrives, nothing else may be pending on either object (the previous pong was
-- consumed, the ping is taken exactly once).
local completion = require "completion"
local rounds = tonumber(ROUNDS) or 1000

local ping = assert(completion.open("kl-caw-ping"))
local pong = assert(completion.open("kl-caw-pong"))
local ok, err = ping:wait(10000)
if not ok then error("first ping: " .. tostring(err)) end
for i = 1, rounds do
  if ping:done() then error(("round %d: an extra ping was pending"):format(i)) end
  if pong:done() then error(("round %d: the previous pong was not consumed"):format(i)) end
  if i == rounds then
    pong:complete()
  else
    ok, err = pong:complete_and_wait(ping, 10000)
    if not ok then error(("round %d: complete_and_wait: %s"):format(i, tostring(err))) end
  end
end
print(("hand_off_pingpong: %d rounds"):format(rounds))
