-- completion.wait_any, completion.wait_all and c:revoke(), in a kernel thread or (through
-- userlib/lua/lua/completion.lua) in userspace: the same returns and errors on both sides.
-- The test runner (lua/tests/both_ways_test.lua) expects it to finish and print one line.
local completion = require "completion"

local function check(cond, what)
  if not cond then error(what, 2) end
end

local function raises(f, text)
  local good, msg = pcall(f)
  check(not good and tostring(msg):find(text, 1, true), "expected an error with " .. text
    .. ", got " .. tostring(msg))
end

local a, b, c = completion.new(), completion.new(), completion.new()

-- Any: the lowest ready index, one count at a time; nothing consumed when none is ready.
c:complete(); b:complete()
check(completion.wait_any({ a, b, c }, 0) == 2, "wait_any takes b first")
check(completion.wait_any({ a, b, c }, 0) == 3, "then c")
local ok, err = completion.wait_any({ a, b, c }, 0)
check(ok == nil and err == "timeout", "then nothing: " .. tostring(err))
check(completion.wait_any({ a }, 0) == nil, "one object, not done")

-- All: all or nothing.
a:complete(); c:complete()
ok, err = completion.wait_all({ a, b, c }, 10)
check(ok == nil and err == "timeout", "wait_all with b not done: " .. tostring(err))
check(a:done() and c:done() and not b:done(), "a timed-out wait_all consumed nothing")
b:complete()
check(completion.wait_all({ a, b, c }) == true, "wait_all with all done")
check(not a:done() and not b:done() and not c:done(), "one consumed from each")
c:complete_all(); a:complete()
check(completion.wait_all({ a, c }, 0) == true, "wait_all over a complete_all member")
check(c:done() and not a:done(), "the complete_all member stays done")
c:reinit()

-- Argument errors raise.
raises(function() completion.wait_any({}) end, "a list of 1 to 128 completions expected")
raises(function() completion.wait_any("x") end, "table expected")
raises(function() completion.wait_any({ a, 5 }) end, "item 2 is not a completion")
raises(function() completion.wait_all({ a, b, a }) end, "appears twice")
raises(function() completion.wait_any({ a }, -5) end, "timeout must be milliseconds")
local closed = completion.new()
closed:close()
raises(function() completion.wait_any({ a, closed }) end, "item 2 is a closed completion")

-- Revoke: the name goes, and every later operation and wait says "removed".
local r = completion.new("kl-wm-revoke")
check(r:revoke() == true, "revoke")
ok, err = r:wait(0)
check(ok == nil and err == "removed", "wait on a revoked completion: " .. tostring(err))
ok, err = r:complete()
check(ok == nil and err == "removed", "complete on a revoked completion: " .. tostring(err))
ok, err = r:trywait()
check(ok == nil and err == "removed", "trywait on a revoked completion: " .. tostring(err))
ok, err = completion.wait_any({ a, r }, 0)
check(ok == nil and err == "removed", "wait_any over a revoked one: " .. tostring(err))
ok, err = r:revoke()
check(ok == nil and err == "removed", "revoking twice: " .. tostring(err))
check(completion.open("kl-wm-revoke") == nil, "the revoked name is gone")
r:close()

print("wait_many: any, all, errors and revoke as expected")
