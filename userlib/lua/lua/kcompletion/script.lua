-- require "kcompletion.script": what the userspace `completion` and `thread` modules share
-- (private; see completion.lua). Loading it makes the process behave like a kernel script's
-- thread: SIGTERM and SIGINT become a stop request, as STOP is for a kernel script. Waits and
-- sleeps then return nil, "interrupt" (race-free: userlib/lua/src/stop.rs), and, as the
-- kernel's count hook does, a hook every 1000 instructions raises "interrupt: the script was
-- stopped" once a stop came, so a loop that never asks still ends. The hook is set on the main
-- coroutine only (the kernel's coroutines inherit theirs); LuaJIT runs no hook in compiled code.
local kc = require "kcompletion"

local type, tonumber, tostring, error, getmetatable = type, tonumber, tostring, error,
  getmetatable
local floor, huge = math.floor, math.huge

assert(kc.catch_stop())
local stop_requested = kc.stop_requested

if debug and debug.sethook and not debug.gethook() then
  debug.sethook(function()
    if stop_requested() then
      debug.sethook()
      error("interrupt: the script was stopped", 2)
    end
  end, "", 1000)
end

local script = { kc = kc, stop_requested = stop_requested }

-- What luaL_typeerror names: a metatable's __name, else the type; "no value" for a missing
-- argument (`given` is select("#", ...) of the call).
local function typename(v, n, given)
  if n > given then return "no value" end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end
script.typename = typename

-- The checks below raise luaL_argerror's messages at the user's line. `n` counts `self` as
-- the kernel's C functions do; `depth` is how many functions of these modules are between
-- the user and the check (1, the default: the check is called from the module function).

-- The methods of a completion (the others are module functions).
local METHODS = {
  complete = true, complete_all = true, reinit = true, trywait = true, done = true,
  wait = true, complete_and_wait = true, name = true, close = true,
}

-- luaL_argerror: a method call (`c:wait(x)`) does not count `self`, and a bad `self` is
-- "calling 'wait' on bad self". A method called as a field (`c.wait(c, x)`) counts it; one
-- whose call Lua cannot name (a tail call: `return c:wait(x)`; the C functions of the
-- kernel are never tail-called) is taken as a method call.
local function argerror(n, fname, msg, depth)
  depth = depth or 1
  local info = debug and debug.getinfo and debug.getinfo(depth + 1, "n")
  local how = info and info.namewhat or ""
  if METHODS[fname] and (how == "method" or how == "") then
    n = n - 1
    if n == 0 then error(("calling '%s' on bad self (%s)"):format(fname, msg), depth + 2) end
  end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), depth + 2)
end
script.argerror = argerror

-- luaL_checkinteger (as Lua 5.4 has it: numeric strings convert, 1.5 does not).
function script.check_integer(v, n, fname, given, depth)
  depth = (depth or 1) + 1
  local x = n <= given and tonumber(v) or nil
  if x == nil then
    argerror(n, fname, "number expected, got " .. typename(v, n, given), depth)
  end
  if floor(x) ~= x or x == huge or x == -huge then
    argerror(n, fname, "number has no integer representation", depth)
  end
  return x
end

-- luaL_checklstring: strings, and numbers as their text.
function script.check_string(v, n, fname, given, depth)
  local t = type(v)
  if n <= given and (t == "string" or t == "number") then return tostring(v) end
  argerror(n, fname, "string expected, got " .. typename(v, n, given), (depth or 1) + 1)
end

return script
