-- Guest tests of the kcompletion Lua module, for Lua 5.4, Lua 5.1 and LuaJIT.
-- Run as root with the module on package.cpath:
--   lua5.4 lua/tests/kcompletion_test.lua      (also lua5.1, luajit)
-- Prints KTAP lines (plan at the end) and exits non-zero if a case failed.
-- The permission case runs a second interpreter as the user kcuser through su.

local kc = require "kcompletion"

local interp = arg and arg[-1] or "lua"
local lua54 = _VERSION == "Lua 5.4"
local flavour = (jit and "jit" or _VERSION:gsub("%W", ""))
math.randomseed(os.time())
local prefix = ("lt-%s-%d-%d"):format(flavour, os.time(), math.random(1, 1000000))
local load_chunk = loadstring or load

package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "ktap"
T.prefix = flavour .. ": "
local created = {}

local function name(tag)
  local s = prefix .. "-" .. tag
  created[#created + 1] = s
  return s
end

local case, eq = T.case, T.eq

-- f(...) returns nil, message containing msg, errno
local function fails(msg, errno, v, m, e)
  if v ~= nil then error("expected nil, got " .. tostring(v), 2) end
  if type(m) ~= "string" or not m:find(msg, 1, true) then
    error(("message %s does not contain %s"):format(tostring(m), msg), 2)
  end
  if e ~= errno then error(("errno %s, expected %s"):format(tostring(e), tostring(errno)), 2) end
end

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error containing " .. pattern, 2) end
  if type(err) ~= "string" then error("error is a " .. type(err) .. ", not a string", 2) end
  if not tostring(err):find(pattern, 1, true) then
    error(("error %s does not contain %s"):format(tostring(err), pattern), 2)
  end
end

-- exit code of a shell command, for every os.execute flavour
local function run(cmd)
  local a, b, c = os.execute(cmd)
  if type(a) == "number" then
    if a > 255 then return math.floor(a / 256) end
    return a
  end
  if b == "exit" then return c end
  return 128 + (c or 0)
end

local function new(tag, opts)
  local nm = name(tag)
  local c, msg, errno = kc.new(nm, opts)
  if not c then error(("kc.new(%s): %s (%s)"):format(nm, tostring(msg), tostring(errno)), 2) end
  return c, nm
end

---------------------------------------------------------------------------------------------

case("module table", function()
  eq(type(kc._VERSION), "string", "_VERSION")
  assert(kc._VERSION:find("^kcompletion %d"), kc._VERSION)
  for _, f in ipairs { "new", "open", "unlink", "list" } do
    eq(type(kc[f]), "function", f)
  end
end)

case("new, open, exclusive exists, unlink, not found", function()
  local c, nm = new("basic", { exclusive = true })
  eq(type(c), "userdata", "type")
  local o = assert(kc.open(nm))
  fails("exists", 17, kc.new(nm, { exclusive = true }))
  local again = assert(kc.new(nm)) -- not exclusive: opens it
  eq(again:info().id, c:info().id, "same object")
  eq(kc.unlink(nm), true, "unlink")
  fails("not found", 2, kc.open(nm))
  fails("not found", 2, kc.unlink(nm))
  o:close(); again:close(); c:close()
end)

case("invalid and too long names", function()
  fails("invalid name", 22, kc.new("has space"))
  fails("invalid name", 22, kc.open(""))
  fails("name too long", 36, kc.new(string.rep("x", 64)))
  fails("invalid argument", 22, kc.new(prefix .. "-m", { mode = 512 }))
end)

case("complete, trywait, done", function()
  local c = new("try")
  eq(c:done(), false, "done")
  eq(c:trywait(), false, "trywait")
  eq(c:complete(), true, "complete")
  eq(c:done(), true, "done")
  eq(c:done(), true, "done does not consume")
  eq(c:trywait(), true, "trywait")
  eq(c:trywait(), false, "trywait")
end)

case("wait with timeout returns nil, \"timeout\"", function()
  local c = new("timeout")
  local ok, msg = c:wait(50)
  eq(ok, nil, "wait")
  eq(msg, "timeout", "message")
  ok, msg = c:wait(0)
  eq(msg, "timeout", "message")
  c:complete()
  eq(c:wait(0), true, "wait after complete")
  c:complete()
  eq(c:wait(), true, "wait forever after complete")
end)

case("complete_all, reinit", function()
  local c = new("all")
  eq(c:complete_all(), true, "complete_all")
  for _ = 1, 3 do eq(c:wait(1000), true, "wait") end
  local i = c:info()
  eq(i.completed_all, true, "completed_all")
  eq(i.done, 4294967295, "done")
  eq(c:reinit(), true, "reinit")
  eq(c:trywait(), false, "trywait after reinit")
end)

case("info table", function()
  local c, nm = new("info", { mode = 0x1a4 }) -- 0644
  c:complete()
  local i = c:info()
  eq(i.name, nm, "name")
  eq(type(i.id), "number", "id")
  eq(i.done, 1, "done")
  eq(i.waiters, 0, "waiters")
  eq(i.handles, 1, "handles")
  eq(i.mode, 0x1a4, "mode")
  eq(i.uid, 0, "uid")
  eq(i.gid, 0, "gid")
  eq(i.linked, true, "linked")
  local d = new("info-default")
  eq(d:info().mode, 0x180, "default mode 0600")
end)

case("list", function()
  local c, nm = new("list")
  c:complete(); c:complete()
  local found
  for _, e in ipairs(kc.list()) do
    if e.name == nm then found = e end
  end
  assert(found, "not listed")
  eq(found.done, 2, "done")
  eq(found.mode, 0x180, "mode")
  eq(found.id, c:info().id, "id")
  eq(type(found.waiters), "number", "waiters")
  eq(type(found.uid), "number", "uid")
  eq(type(found.gid), "number", "gid")
  kc.unlink(nm)
  for _, e in ipairs(kc.list()) do assert(e.name ~= nm, "still listed after unlink") end
end)

case("name, fd, tostring, cqueues protocol", function()
  local c, nm = new("misc")
  eq(c:name(), nm, "name")
  local fd = c:fd()
  assert(math.type == nil or math.type(fd) == "integer", "fd not an integer")
  assert(fd >= 0, "fd")
  eq(tostring(c), ("kcompletion: %s (fd %d)"):format(nm, fd), "tostring")
  eq(c:pollfd(), fd, "pollfd")
  eq(c:events(), "r", "events")
  eq(c:timeout(), nil, "timeout")
end)

case("close is idempotent, methods raise on a closed completion", function()
  local c, nm = new("close")
  local o = assert(kc.open(nm))
  eq(c:info().handles, 2, "handles")
  o:close()
  o:close()
  eq(c:info().handles, 1, "handles after close")
  for _, m in ipairs { "complete", "complete_all", "wait", "trywait", "done", "reinit",
                       "info", "fd", "pollfd", "events", "timeout" } do
    raises("closed completion", o[m], o)
  end
  eq(o:name(), nm, "name after close")
  eq(tostring(o), ("kcompletion: %s (closed)"):format(nm), "tostring after close")
end)

case("misuse raises", function()
  local c = new("misuse")
  raises("string expected, got number", kc.new, 42)
  raises("string expected, got nil", kc.open)
  raises("string expected, got table", kc.unlink, {})
  raises("table expected", kc.new, "x", 5)
  raises("mode must be a non-negative integer", kc.new, "x", { mode = -1 })
  raises("unknown option", kc.new, "x", { bogus = 1 })
  raises("exclusive must be a boolean", kc.new, "x", { exclusive = "yes" })
  raises("timeout must be a non-negative integer", c.wait, c, -1)
  raises("timeout must be a non-negative integer", c.wait, c, 1.5)
  raises("timeout must be a non-negative integer", c.wait, c, "10")
  -- wrong self
  for _, bad in ipairs { 42, "s", {}, true } do
    local ok = pcall(c.complete, bad)
    assert(not ok, "complete with self " .. tostring(bad) .. " did not raise")
  end
  assert(not pcall(c.wait), "wait without self did not raise")
end)

case("read-only handle: complete returns nil, \"bad access\", 9", function()
  local c, nm = new("access")
  local r = assert(kc.open(nm, "r"))
  fails("bad access", 9, r:complete())
  local w = assert(kc.open(nm, "w"))
  fails("bad access", 9, w:trywait())
  eq(w:complete(), true, "complete")
  eq(r:wait(0), true, "wait")
end)

case("garbage collection closes", function()
  local c, nm = new("gc")
  do
    local o = assert(kc.open(nm))
    eq(c:info().handles, 2, "handles")
    o = nil -- luacheck: ignore
  end
  collectgarbage("collect"); collectgarbage("collect")
  eq(c:info().handles, 1, "handles after gc")
end)

if lua54 then
  case("<close> closes at the end of the block (Lua 5.4)", function()
    local c, nm = new("tbc")
    local chunk = assert(load_chunk([[
      local kc, nm, c = ...
      local kept
      do
        local o <close> = assert(kc.open(nm))
        assert(c:info().handles == 2)
        kept = o
      end
      return kept
    ]]))
    local kept = chunk(kc, nm, c)
    eq(c:info().handles, 1, "handles after the block")
    raises("closed completion", kept.done, kept)
  end)
end

case("two interpreters signal each other through names", function()
  local a, an = new("ping")
  local b, bn = new("pong")
  local child = ([[
    local kc = require "kcompletion"
    local a, b = assert(kc.open("%s")), assert(kc.open("%s"))
    for i = 1, 3 do
      assert(a:wait(20000), "child: no ping")
      assert(b:complete())
    end
  ]]):format(an, bn)
  local f = assert(io.open("/tmp/" .. an .. ".lua", "w"))
  f:write(child); f:close()
  eq(run(interp .. " /tmp/" .. an .. ".lua &"), 0, "spawn")
  for i = 1, 3 do
    eq(a:complete(), true, "ping")
    local ok, msg = b:wait(20000)
    eq(ok, true, "pong " .. i .. " (" .. tostring(msg) .. ")")
  end
  os.remove("/tmp/" .. an .. ".lua")
end)

case("another interpreter without the driver gets \"driver not loaded\", 2", function()
  local script = [[
    local kc = require "kcompletion"
    local v, m, e = kc.open("x")
    os.exit((v == nil and m:find("driver not loaded", 1, true) and e == 2) and 0 or 1)
  ]]
  local path = "/tmp/" .. prefix .. "-nodrv.lua"
  local f = assert(io.open(path, "w"))
  f:write(script); f:close()
  local code = run("KCOMPLETION_DEVICE=/nonexistent " .. interp .. " " .. path)
  os.remove(path)
  eq(code, 0, "exit code")
end)

case("permission denied as another user: nil, \"permission denied\", 13", function()
  local c, nm = new("perm")
  local script = ([[
    local kc = require "kcompletion"
    local v, m, e = kc.open("%s")
    os.exit((v == nil and m == "permission denied" and e == 13) and 0 or 1)
  ]]):format(nm)
  local path = "/tmp/" .. prefix .. "-perm.lua"
  local f = assert(io.open(path, "w"))
  f:write(script); f:close()
  local code = run("su -s /bin/sh kcuser -c '" .. interp .. " " .. path .. "'")
  os.remove(path)
  eq(code, 0, "exit code of the kcuser interpreter")
end)

for _, nm in ipairs(created) do kc.unlink(nm) end
T.finish(true)
