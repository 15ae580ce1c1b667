-- P2 through complete_and_wait, kernel side (kc-bench runs it with the RUN ioctl): waits
-- for the first ping, then answers each ping with a pong and waits for the next ping in one
-- call, until STOP interrupts the wait.
local completion = require "completion"
local ping = assert(completion.open("kcb.p2c.ping"))
local pong = assert(completion.open("kcb.p2c.pong"))
if ping:wait() then
  while pong:complete_and_wait(ping) do end
end
