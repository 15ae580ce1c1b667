-- require "completion": the kernel scripts' `completion` module (driver/lua/kclua_completion.c)
-- in userspace, over require "kcompletion" and the same driver objects, so that a kernel
-- script runs unchanged under lua5.4, lua5.1 or LuaJIT: develop and test it here, then
-- `kcompletion run` it. The same functions, arguments, returns and misuse errors:
--
--   completion.new()                 a new anonymous object (only this process reaches it)
--   completion.new(name [, mode])    the named object, created (mode: an integer or octal text
--                                    such as "600"; default 0600) or opened; or nil, msg, errno
--   completion.open(name)            the named object, or nil, "no such completion", 2 ...
--   completion.unlink(name)          true, or nil, msg, errno
--   c:complete(), c:complete_all(), c:reinit()          nothing (nil, "removed", 43 if revoked)
--   c:trywait()                      true (one consumed) or false
--   c:done()                         true while a completion is pending
--   c:wait([ms])                     true, or nil, "timeout" | "interrupt" | "removed" | "unknown"
--   a:complete_and_wait(b [, ms])    completes a, then waits on b: returns as wait
--   completion.wait_any(list [, ms]) the 1-based index of the one consumed; fails as wait
--   completion.wait_all(list [, ms]) true, one consumed from each at once; fails as wait
--   c:revoke()                       true: unlinked and killed (its waiters get "removed")
--   c:name()                         the name, nil for an anonymous object
--   c:close()                        nothing (also __close, and __gc of the handle)
--
-- What differs, and why, is in userlib/lua/README.md ("One script, both sides"): in the kernel
-- a script is root and sees every object; here the caller's permissions apply (an object it
-- may not read and write gives nil, "permission denied", 13), and a stop is SIGTERM or SIGINT.
-- Loading this module loads `thread` too (kcompletion/script.lua), as the kernel has both.
local script = require "kcompletion.script"

local kc = script.kc
local type, select, setmetatable, getmetatable, tostring = type, select, setmetatable,
  getmetatable, tostring
local check_integer, check_string, argerror = script.check_integer, script.check_string,
  script.argerror

local MT_NAME = "kcompletion.completion"
local DEFAULT_MODE = 384 -- 0600

-- The kernel's failure texts (kclua_fail), by errno; userspace-only failures (the driver not
-- loaded, for one) keep the kcompletion module's text.
local KERNEL_TEXT = {
  [2] = "no such completion",
  [17] = "completion exists",
  [13] = "permission denied",
  [22] = "invalid argument",
  [36] = "name too long",
  [28] = "too many completions",
  [122] = "too many completions for this user",
  [12] = "not enough memory",
  [43] = "removed",
}
local KC_OBJECT_TEXT = {
  ["not found"] = true, ["exists"] = true, ["permission denied"] = true,
  ["invalid argument"] = true, ["invalid name"] = true, ["name too long"] = true,
  ["limit reached"] = true, ["removed"] = true,
}

local function fail(msg, errno)
  if KC_OBJECT_TEXT[msg] and KERNEL_TEXT[errno] then msg = KERNEL_TEXT[errno] end
  return nil, msg, errno
end

local mt = { __name = MT_NAME }
local methods = {}
mt.__index = methods

-- An object: { handle = <kcompletion handle> | false once closed }.
local function wrap(h, msg, errno)
  if not h then return fail(msg, errno) end
  return setmetatable({ handle = h }, mt)
end

-- kclua_check: self must be an open completion.
local function check_self(self, fname, given)
  if given < 1 or getmetatable(self) ~= mt then
    argerror(1, fname, ("%s expected, got %s"):format(MT_NAME, script.typename(self, 1, given)),
      2)
  end
  local h = self.handle
  if not h then error("attempt to use a closed completion", 3) end
  return h
end

-- kclua_opt_timeout: nil or -1 is no limit.
local function opt_timeout(v, n, fname, given)
  if n > given or v == nil then return nil end
  local ms = check_integer(v, n, fname, given, 2)
  if ms < -1 then
    argerror(n, fname, "timeout must be milliseconds (>= 0), or -1/nil for none", 2)
  end
  if ms == -1 then return nil end
  return ms
end

-- A wait's returns, as the kernel gives them.
local function wait_result(ok, msg)
  if ok then return true end
  if msg == "timeout" or msg == "interrupt" or msg == "removed" then return nil, msg end
  return nil, "unknown"
end

-- kclua_mode_arg
local function mode_arg(v, given)
  if 2 > given or v == nil then return DEFAULT_MODE end
  if type(v) == "string" then
    local digits = v:match("^%+?([0-7]+)\n?$")
    local m = digits and tonumber(digits, 8)
    if not m or m > 511 then argerror(2, "new", 'mode must be octal digits such as "600"', 2) end
    return m
  end
  local m = check_integer(v, 2, "new", given, 2)
  if m < 0 or m > 511 then argerror(2, "new", "mode must be 0 to 0777 (511)", 2) end
  return m
end

local completion = {}

function completion.new(...)
  local given = select("#", ...)
  local name, mode = ...
  if name == nil then return wrap(kc.new()) end
  name = check_string(name, 1, "new", given)
  return wrap(kc.new(name, { mode = mode_arg(mode, given) }))
end

function completion.open(...)
  return wrap(kc.open(check_string((...), 1, "open", select("#", ...)), "rw"))
end

function completion.unlink(...)
  local ok, msg, errno = kc.unlink(check_string((...), 1, "unlink", select("#", ...)))
  if ok then return true end
  return fail(msg, errno)
end

-- complete, complete_all, reinit: nothing, or nil, "removed", 43 once revoked (as the
-- kernel's); another failure (which the kernel cannot have) raises.
local function simple(fname)
  return function(...)
    local h = check_self((...), fname, select("#", ...))
    local ok, msg, errno = h[fname](h)
    if ok then return end
    if errno == 43 then return fail(msg, errno) end
    error(("%s: %s"):format(fname, tostring(msg)), 2)
  end
end
methods.complete = simple("complete")
methods.complete_all = simple("complete_all")
methods.reinit = simple("reinit")

-- trywait, done: a boolean, or nil, "removed", 43 once revoked.
local function boolean_result(v, msg, errno)
  if v == nil and errno == 43 then return fail(msg, errno) end
  return v == true
end

function methods.trywait(...)
  local h = check_self((...), "trywait", select("#", ...))
  return boolean_result(h:trywait())
end

function methods.done(...)
  local h = check_self((...), "done", select("#", ...))
  return boolean_result(h:done())
end

function methods.revoke(...)
  local h = check_self((...), "revoke", select("#", ...))
  local ok, msg, errno = h:revoke()
  if ok then return true end
  return fail(msg, errno)
end

-- kclua_wait_many: a list of 1 to 128 open completions (raises otherwise, naming the item).
local function wait_many(fname, all, ...)
  local given = select("#", ...)
  local list, ms = ...
  if type(list) ~= "table" then
    argerror(1, fname, ("table expected, got %s"):format(script.typename(list, 1, given)), 3)
  end
  local n = #list
  if n < 1 or n > 128 then argerror(1, fname, "a list of 1 to 128 completions expected", 3) end
  local timeout = opt_timeout(ms, 2, fname, given)
  local handles, seen = {}, {}
  for i = 1, n do
    local c = list[i]
    if getmetatable(c) ~= mt then
      error(("bad argument #1 (item %d is not a completion)"):format(i), 3)
    end
    if not c.handle then
      error(("bad argument #1 (item %d is a closed completion)"):format(i), 3)
    end
    if all and seen[c] then argerror(1, fname, "a completion appears twice in wait_all", 3) end
    seen[c] = true
    handles[i] = c.handle
  end
  local r, msg = kc[fname](handles, timeout)
  if r == nil and msg == "invalid argument" and all then
    argerror(1, fname, "a completion appears twice in wait_all", 3)
  end
  if r == nil then return wait_result(nil, msg) end
  return r
end

function completion.wait_any(...) return wait_many("wait_any", false, ...) end
function completion.wait_all(...) return wait_many("wait_all", true, ...) end

function methods.wait(...)
  local given = select("#", ...)
  local self, ms = ...
  local h = check_self(self, "wait", given)
  return wait_result(h:wait(opt_timeout(ms, 2, "wait", given)))
end

function methods.complete_and_wait(...)
  local given = select("#", ...)
  local self, other, ms = ...
  local h = check_self(self, "complete_and_wait", given)
  if given < 2 or getmetatable(other) ~= mt then
    argerror(2, "complete_and_wait",
      ("%s expected, got %s"):format(MT_NAME, script.typename(other, 2, given)))
  end
  if not other.handle then
    argerror(2, "complete_and_wait", "the completion to wait on is closed")
  end
  return wait_result(h:complete_and_wait(other.handle, opt_timeout(ms, 3, "complete_and_wait",
    given)))
end

function methods.name(...)
  return check_self((...), "name", select("#", ...)):name()
end

-- close, __close: idempotent.
local function release(self)
  if getmetatable(self) ~= mt then
    argerror(1, "close", ("%s expected, got %s"):format(MT_NAME, script.typename(self, 1, 1)))
  end
  local h = self.handle
  self.handle = false
  if h then h:close() end
end
methods.close = release
mt.__close = release

function mt.__tostring(self)
  local h = self.handle
  if not h then return "completion (closed)" end
  local name = h:name()
  if name == nil then return ("completion (anonymous): fd %d"):format(h:fd()) end
  return "completion: " .. name
end

return completion
