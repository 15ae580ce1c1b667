-- Sleeps in steps until STOP (thread.sleep returns nil, "interrupt" then).
local thread = require "thread"
while true do
  local ok, err = thread.sleep(50)
  if not ok then
    print("sleeper: sleep returned", ok, err)
    return
  end
end
