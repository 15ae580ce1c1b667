-- Lunatik's documented usage of its completion module, verbatim, in a kernel thread.
-- The test runner (lua/tests/kernel_lua_test.lua) expects this script to finish.
local completion = require("completion")

local c = completion.new()
c:complete()
local ok, err = c:wait(1000)
assert(ok == true and err == nil, "wait after complete: " .. tostring(err))

local ok2, err2 = c:wait(10)
assert(ok2 == nil and err2 == "timeout", "second wait: " .. tostring(err2))
