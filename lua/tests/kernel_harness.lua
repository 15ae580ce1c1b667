-- The harness shared by the guest suites that drive kernel Lua scripts from userspace Lua 5.4
-- (kernel_lua_test.lua, kernel_lua_attack_test.lua): KTAP cases, assertions, and helpers
-- around kc.scripts(). Loaded from the tests' own folder:
--   package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
--   local H = require "kernel_harness"

local kc = require "kcompletion"

-- KTAP cases, notes, the plan and `eq` come from the shared printer; `H.only` filters cases.
local H = require "ktap"
-- how long `ended` waits when not told
H.default_wait_ms = 20000

-- `part` may be a list of alternatives
function H.contains(s, part, what)
  local parts = type(part) == "table" and part or { part }
  for _, p in ipairs(parts) do
    if type(s) == "string" and s:find(p, 1, true) then return end
  end
  error(("%s: %q does not contain %q"):format(what or "text", tostring(s),
    table.concat(parts, '" or "')), 2)
end

function H.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- runs a shell command; returns its exit status (128 + signal if killed)
function H.sh(cmd)
  local _, how, code = os.execute(cmd)
  if how == "exit" then return code end
  return 128 + (code or 0)
end

function H.sleep_ms(ms) H.sh(("sleep %s"):format(ms / 1000)) end

-- the kc.scripts() entry of `name`, or nil
function H.script(name)
  for _, s in ipairs(assert(kc.scripts())) do
    if s.name == name then return s end
  end
end

-- waits until the script `name` is no longer running; returns its entry
function H.ended(name, timeout_ms)
  timeout_ms = timeout_ms or H.default_wait_ms
  local waited = 0
  while true do
    local s = H.script(name)
    if s and s.state ~= "running" then return s end
    if waited >= timeout_ms then
      error(("script %s still %s after %d ms"):format(name, s and s.state or "missing", waited), 2)
    end
    H.sleep_ms(50)
    waited = waited + 50
  end
end

-- stops `name` if listed, and removes it (a second stop removes an ended script)
function H.reap(name)
  if H.script(name) then
    kc.stop(name)
    if H.script(name) then kc.stop(name) end
  end
end

return H
