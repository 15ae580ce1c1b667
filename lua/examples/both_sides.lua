-- One script, both sides of the boundary: run it once in a kernel thread and once in
-- userspace, and the two copies ping-pong with each other, ROUNDS times (default 3).
--   sudo kcompletion run lua/examples/both_sides.lua     # first: answers in a kernel thread
--   lua5.4 lua/examples/both_sides.lua                   # second: asks, from userspace
-- (or both in userspace, or both as kernel scripts with two --name values). The first copy
-- to start creates the two objects and answers; the second asks, with one hand-off call a
-- round. Every round is checked: exactly one completion crosses each way.
local completion = require "completion"
local thread = require "thread"

local rounds = tonumber(ROUNDS) or 3
local ping = completion.open("both.ping")
local first = ping == nil
if first then ping = assert(completion.new("both.ping", "666")) end
local pong = assert(completion.new("both.pong", "666"))

for i = 1, rounds do
  if first then
    local ok, err = ping:wait(10000)
    if not ok then error(("round %d: no ping (%s)"):format(i, tostring(err))) end
    if ping:trywait() then error(("round %d: two pings"):format(i)) end
    pong:complete()
  else
    local ok, err = ping:complete_and_wait(pong, 10000)
    if not ok then error(("round %d: no pong (%s)"):format(i, tostring(err))) end
    if pong:trywait() then error(("round %d: two pongs"):format(i)) end
  end
  if thread.shouldstop() then break end
end
print(("%s: %d rounds as the %s side"):format(thread.name(), rounds,
  first and "answering" or "asking"))
if not first then
  completion.unlink("both.ping")
  completion.unlink("both.pong")
end
