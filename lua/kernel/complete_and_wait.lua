-- a:complete_and_wait(b [, ms]) in a kernel script (issue 18). Run by kernel_lua_test.lua after
-- it created "kl-caw-user" (mode 0600) and completed it once; every check is an assert, so a
-- failure ends the script "failed" with its line. Leaves "kl-caw-user" completed once.
local completion = require "completion"

local a, b = completion.new(), completion.new()

-- b done: returns true at once; a completed once, b consumed
b:complete()
assert(a:complete_and_wait(b, 1000) == true)
assert(a:trywait() == true and a:trywait() == false, "a not completed exactly once")
assert(b:done() == false, "b not consumed")
-- no timeout: nil, none, -1
b:complete(); assert(a:complete_and_wait(b) == true)
b:complete(); assert(a:complete_and_wait(b, nil) == true)
b:complete(); assert(a:complete_and_wait(b, -1) == true)
assert(a:trywait() and a:trywait() and a:trywait() and not a:trywait(), "a after three calls")
assert(b:done() == false)
-- a timeout beyond the clock's range waits for ever (b is done, so it returns)
b:complete(); assert(a:complete_and_wait(b, 0x7fffffffffffffff) == true)
assert(a:trywait() and not a:trywait() and not b:done())
-- counted: of two on b, one is consumed
b:complete(); b:complete()
assert(a:complete_and_wait(b, 0) == true)
assert(b:trywait() == true and b:trywait() == false, "b after one of two")
assert(a:trywait() and not a:trywait())

-- timeout: nil, "timeout", and a stays completed
local ok, err = a:complete_and_wait(b, 20)
assert(ok == nil and err == "timeout", "timeout: " .. tostring(ok) .. ", " .. tostring(err))
assert(a:trywait() == true, "the timeout took back a's completion")
assert(a:trywait() == false, "a completed more than once")
ok, err = a:complete_and_wait(b, 0)
assert(ok == nil and err == "timeout", tostring(err))
assert(a:trywait() and not a:trywait(), "a after a call that only tried")

-- the same object on both sides: completes, then consumes that completion
assert(a:complete_and_wait(a, 0) == true); assert(a:done() == false)
assert(a:complete_and_wait(a) == true); assert(a:done() == false)

-- b completed for all: every call passes, b stays completed
b:complete_all()
for _ = 1, 3 do assert(a:complete_and_wait(b, 0) == true) end
assert(b:done() == true, "b lost complete_all")
b:reinit()
assert(a:trywait() and a:trywait() and a:trywait() and not a:trywait())

-- with an object userspace sees: consume its completion, then complete it for userspace
local user = assert(completion.open("kl-caw-user"))
assert(a:complete_and_wait(user, 0) == true, "userspace's completion")
assert(user:done() == false)
b:complete()
assert(user:complete_and_wait(b, 0) == true)
assert(a:trywait() and not a:trywait())

-- argument errors raise and do nothing
local function raises(part, f)
  local okf, e = pcall(f)
  assert(not okf, "no error, expected: " .. part)
  assert(type(e) == "string" and e:find(part, 1, true), "error: " .. tostring(e))
end
local closed = completion.new()
closed:close()
b:complete()
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got no value)",
  function() return a:complete_and_wait() end)
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got nil)",
  function() return a:complete_and_wait(nil, 10) end)
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got number)",
  function() return a:complete_and_wait(42) end)
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got string)",
  function() return a:complete_and_wait("kl-caw-user") end)
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got table)",
  function() return a:complete_and_wait({}) end)
raises("bad argument #1 to 'complete_and_wait' (kcompletion.completion expected, got boolean)",
  function() return a:complete_and_wait(true) end)
raises("bad argument #1 to 'complete_and_wait' (the completion to wait on is closed)",
  function() return a:complete_and_wait(closed) end)
raises("bad argument #1 to 'complete_and_wait' (the completion to wait on is closed)",
  function() return a:complete_and_wait(closed, 0) end)
raises("bad argument #2 to 'complete_and_wait' (timeout must be milliseconds (>= 0), or -1/nil for none)",
  function() return a:complete_and_wait(b, -2) end)
raises("bad argument #2 to 'complete_and_wait' (number expected, got string)",
  function() return a:complete_and_wait(b, "soon") end)
raises("bad argument #2 to 'complete_and_wait' (number expected, got table)",
  function() return a:complete_and_wait(b, {}) end)
-- a closed or wrong self
raises("attempt to use a closed completion", function() return closed:complete_and_wait(b) end)
raises("calling 'complete_and_wait' on bad self", function()
  local t = { complete_and_wait = a.complete_and_wait }
  return t:complete_and_wait(b)
end)
raises("kcompletion.completion expected, got number", function() return a.complete_and_wait(42, b) end)
assert(a:done() == false, "an argument error completed a")
assert(b:trywait() == true and b:trywait() == false, "an argument error consumed b")
print("complete_and_wait: all held")
