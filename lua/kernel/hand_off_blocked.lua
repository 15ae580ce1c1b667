-- Completes "kl-caw-a", then blocks on "kl-caw-block" with no timeout (complete_and_wait)
-- until STOP: the call must return nil, "interrupt", which this script reports by
-- completing "kl-saw-interrupt". Userspace checks that "kl-caw-a" was completed meanwhile.
local completion = require "completion"
local a = assert(completion.open("kl-caw-a"))
local block = assert(completion.open("kl-caw-block"))
local ok, err = a:complete_and_wait(block)
if ok == nil and err == "interrupt" then
  assert(completion.open("kl-saw-interrupt")):complete()
end
print("hand_off_blocked: complete_and_wait returned", ok, err)
