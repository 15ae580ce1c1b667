-- The completion and thread modules beyond Lunatik's API (run by the test runner, which
-- created "kl-api" with mode 0600 first).
local completion = require "completion"
local thread = require "thread"

assert(thread.name() == "completion_api", thread.name())
assert(thread.shouldstop() == false)
assert(thread.sleep(10) == true)

local c = assert(completion.open("kl-api"))
assert(c:name() == "kl-api")
assert(c:done() == false and c:trywait() == false)
c:complete(); c:complete()
assert(c:done() == true)
assert(c:trywait() == true and c:trywait() == true and c:trywait() == false)
c:complete_all()
for _ = 1, 5 do assert(c:wait(0) == true) end
c:reinit()
assert(c:done() == false)
local ok, err = c:wait(0)
assert(ok == nil and err == "timeout", tostring(err))

local anon = completion.new()
assert(anon:name() == nil and tostring(anon):find("anonymous", 1, true))

-- named: created here, seen by userspace after this script ends
local made = assert(completion.new("kl-made-in-kernel", "644"))
made:complete()
local n, msg, errno = completion.open("kl-no-such-name")
assert(n == nil and msg == "no such completion" and errno == 2, msg)
assert(completion.unlink("kl-no-such-name") == nil)
assert(select(2, completion.new("has space")) == "invalid argument")

-- closed handles raise
c:close()
assert(not pcall(c.complete, c))
print("completion_api: all held")
