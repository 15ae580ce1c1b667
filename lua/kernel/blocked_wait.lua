-- Blocks in a wait with no timeout until STOP: the wait must return nil, "interrupt",
-- which this script reports by completing "kl-saw-interrupt".
local completion = require "completion"
local block = assert(completion.open("kl-block"))
local ok, err = block:wait()
if ok == nil and err == "interrupt" then
  assert(completion.open("kl-saw-interrupt")):complete()
end
print("blocked_wait: wait returned", ok, err)
