-- P2, kernel side (kc-bench runs it with the RUN ioctl): answers every ping with a pong
-- until STOP interrupts the wait.
local completion = require "completion"
local ping = assert(completion.open("kcb.p2.ping"))
local pong = assert(completion.open("kcb.p2.pong"))
while ping:wait() do
  pong:complete()
end
