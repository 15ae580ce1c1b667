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
local unpack = table.unpack or unpack
-- the arguments packed by { n = select("#", ...), ... }, nils included
local function unpack_args(t) return unpack(t, 1, t.n) end

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

case("modes as integers or octal strings, positionally or in the options table", function()
  for _, m in ipairs {
    { "600", 0x180 }, { "0640", 0x1a0 }, { 0x1a4, 0x1a4 }, { 384, 0x180 }, { "0", 0 },
    { { mode = "644" }, 0x1a4 }, { { mode = "0600", exclusive = true }, 0x180 },
    { { mode = 0x1b6 }, 0x1b6 },
  } do
    local nm = prefix .. "-mode"
    kc.unlink(nm)
    local c = assert(kc.new(nm, m[1]))
    eq(c:info().mode, m[2], "mode from " .. tostring(type(m[1]) == "table" and m[1].mode or m[1]))
    c:close()
    assert(kc.unlink(nm))
  end
  fails("invalid argument", 22, kc.new(prefix .. "-m8", "1000"))
  fails("invalid argument", 22, kc.new(prefix .. "-m9", 512))
end)

case("misuse raises", function()
  local c = new("misuse")
  raises("string expected, got number", kc.new, 42)
  raises("string expected, got nil", kc.open)
  raises("string expected, got table", kc.unlink, {})
  raises("mode or options table expected, got boolean", kc.new, "x", true)
  raises("mode must be octal digits", kc.new, "x", "69")
  raises("mode must be octal digits", kc.new, "x", { mode = "rw" })
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
  -- another library's full userdata is not a handle (the check is by size and tag)
  raises("kcompletion expected, got userdata", c.complete, io.stdout)
  if newproxy then raises("kcompletion expected", c.complete, newproxy(true)) end
end)

case("kc.new(): an anonymous object, reached only through its handle", function()
  local a = assert(kc.new())
  local b = assert(kc.new())
  eq(a:name(), nil, "name")
  eq(tostring(a), ("kcompletion: (anonymous) (fd %d)"):format(a:fd()), "tostring")
  local ia, ib = a:info(), b:info()
  eq(ia.name, "", "info name")
  eq(ia.mode, 0x180, "mode 0600")
  eq(ia.linked, false, "linked")
  assert(ia.id ~= ib.id, "two anonymous objects share an id")
  assert(a:complete()); eq(b:trywait(), false, "b is another object"); eq(a:trywait(), true, "a")
  for _, info in ipairs(assert(kc.list())) do
    assert(info.id ~= ia.id, "kc.list() lists an anonymous object")
  end
  a:close(); b:close()
end)

case("done and trywait (through the state page) follow another handle's changes", function()
  local c, nm = new("statepage")
  local o = assert(kc.open(nm))
  eq(c:done(), false, "fresh")
  eq(c:trywait(), false, "fresh trywait")
  assert(o:complete())
  eq(c:done(), true, "after another handle's complete")
  eq(c:trywait(), true, "trywait consumes")
  eq(c:done(), false, "consumed")
  assert(o:complete_all())
  eq(c:trywait(), true, "complete_all"); eq(c:trywait(), true, "complete_all again")
  assert(o:reinit())
  eq(c:done(), false, "reinit")
  c:close()
  raises("closed completion", c.done, c)
  o:close()
end)

case("a busy loop on done() sees another process's complete (no read hoisted out of it)", function()
  -- Under LuaJIT the loop is compiled: a page read the compiler could hoist would never see
  -- the change, and the loop would run out its bound.
  local c, nm = new("statepage-poll")
  eq(c:done(), false, "fresh (maps the page)")
  eq(run("(sleep 0.2; kcompletion complete " .. nm .. ") >/dev/null 2>&1 &"), 0, "completer started")
  local seen = false
  for _ = 1, 400000000 do
    if c:done() then seen = true; break end
  end
  eq(seen, true, "done() became true within the loop")
  eq(c:trywait(), true, "and the count is there")
  eq(run("(sleep 0.2; kcompletion complete " .. nm .. ") >/dev/null 2>&1 &"), 0, "completer again")
  seen = false
  for _ = 1, 400000000 do
    if c:trywait() then seen = true; break end
  end
  eq(seen, true, "a failing trywait() loop consumed the count when it came")
  eq(c:done(), false, "consumed")
  c:close()
end)

case("kc.wait_any / kc.wait_all / c:revoke(): returns, errno and argument errors", function()
  local a, an = new("wm-a")
  local b = new("wm-b")
  local c = new("wm-c")
  assert(c:complete()); assert(b:complete())
  eq(kc.wait_any({ a, b, c }, 0), 2, "the lowest ready index")
  eq(kc.wait_any({ a, b, c }, 0), 3, "then the next")
  fails("timeout", 110, kc.wait_any({ a, b, c }, 0))
  assert(a:complete()); assert(c:complete())
  fails("timeout", 110, kc.wait_all({ a, b, c }, 20))
  eq(a:done() and c:done(), true, "a timed-out wait_all consumed nothing")
  assert(b:complete())
  eq(kc.wait_all({ a, b, c }), true, "wait_all with all done")
  eq(a:done() or b:done() or c:done(), false, "one consumed from each")
  eq(kc.wait_any({ a, a }, 0) == nil, true, "a repeated handle is fine in wait_any")
  raises("a list of 1 to 128 completions expected", kc.wait_any, {})
  raises("table expected", kc.wait_any, "x")
  raises("item 2 is not a kcompletion", kc.wait_any, { a, {} })
  raises("item 2 repeats an earlier item", kc.wait_all, { a, a })
  raises("timeout must be a non-negative integer", kc.wait_any, { a }, -1)
  local many = {}
  for i = 1, 129 do many[i] = a end
  raises("a list of 1 to 128 completions expected", kc.wait_any, many)
  -- another handle of the same object is the same object: the driver refuses it
  local a2 = assert(kc.open(an))
  fails("invalid argument", 22, kc.wait_all({ a, a2 }, 0))
  -- revoke
  eq(a2:revoke(), true, "revoke")
  fails("removed", 43, a:wait(0))
  fails("removed", 43, a:complete())
  fails("removed", 43, a:done())
  fails("removed", 43, a:trywait())
  fails("removed", 43, kc.wait_any({ b, a }, 0))
  fails("removed", 43, a2:revoke())
  fails("not found", 2, kc.open(an))
  a:close(); a2:close(); b:close(); c:close()
  raises("item 1 is a closed completion", kc.wait_any, { a })
end)

case("kc.sleep and kc.stop_requested (before kc.catch_stop)", function()
  eq(kc.stop_requested(), false, "no stop requested")
  eq(kc.sleep(0), true, "sleep(0)")
  eq(kc.sleep(5), true, "sleep(5)")
  raises("milliseconds must be a non-negative integer", kc.sleep, -1)
  raises("milliseconds must be a non-negative integer", kc.sleep, "soon")
  raises("milliseconds must be a non-negative integer", kc.sleep)
end)

case("check: the kernel dialect in userspace, true or nil and LINE:COL: lines", function()
  eq(kc.check("local completion = require 'completion'\nreturn 7 // 2\n"), true, "good source")
  eq(select("#", kc.check("return 1")), 1, "no findings: true alone")
  local ok, msg = kc.check("local a = 1\nlocal b = 2\nlocal c = 1.5\n")
  eq(ok, nil, "float literal on line 3")
  assert(type(msg) == "string" and msg:find("3:11: malformed number near '1.5'", 1, true), msg)
  assert(not msg:find("\n", 1, true), "one finding, one line: " .. msg)
  -- every finding, one a line; a warning alone does not refuse
  ok, msg = kc.check("local x = 1\nreturn x / 2, math.pi")
  eq(ok, nil, "math")
  assert(msg:find("2:10: warning: '/' needs floating point", 1, true), msg)
  assert(msg:find("\n2:15: attempt to index a nil value (global 'math')", 1, true), msg)
  ok, msg = kc.check("local x = 1\nreturn x / 2")
  eq(ok, true, "warnings only")
  assert(msg:find("^2:10: warning: ") and not msg:find("\n", 1, true), msg)
  -- strings are not code
  eq(kc.check("local f = load('return 1.5')"), true, "string contents")
  raises("bad argument #1 to 'check' (string expected, got number)", kc.check, 42)
  raises("bad argument #1 to 'check' (string expected, got nil)", kc.check)
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

---------------------------------------------------------------------------------------------
-- a:complete_and_wait(b [, ms]): completes a, then waits on b, in one call (issue 18)

case("complete_and_wait: completes a, then consumes one of b", function()
  local a = new("caw-a")
  local b = new("caw-b")
  eq(b:complete(), true, "complete b")
  eq(a:complete_and_wait(b, 10000), true, "complete_and_wait with b done")
  eq(a:info().done, 1, "a completed once")
  eq(b:info().done, 0, "b consumed")
  -- counted: of two on b, one is consumed
  b:complete(); b:complete()
  eq(a:complete_and_wait(b), true, "without a timeout")
  eq(a:info().done, 2, "a")
  eq(b:info().done, 1, "b")
  eq(a:complete_and_wait(b, 0), true, "timeout 0 with b done")
  eq(a:info().done, 3, "a")
  eq(b:info().done, 0, "b")
  -- a timeout beyond the clock's range waits for ever (b is done, so it returns)
  b:complete()
  eq(a:complete_and_wait(b, 9007199254740992), true, "timeout 2^53 ms")
  eq(a:info().done, 4, "a")
  eq(b:info().done, 0, "b")
  -- b completed for all: every call passes, b stays completed
  b:complete_all()
  for _ = 1, 3 do eq(a:complete_and_wait(b, 0), true, "b completed for all") end
  eq(b:info().completed_all, true, "b still completed for all")
  eq(a:info().done, 7, "a")
end)

case("complete_and_wait timeout: nil, \"timeout\", 110 and a stays completed", function()
  local a = new("cawto-a")
  local b = new("cawto-b")
  local v, m, e = a:complete_and_wait(b, 50)
  eq(v, nil, "result"); eq(m, "timeout", "message"); eq(e, 110, "errno (ETIMEDOUT)")
  eq(a:trywait(), true, "a kept its completion")
  eq(a:trywait(), false, "a completed exactly once")
  eq(b:info().done, 0, "b")
  eq(b:info().waiters, 0, "b waiters after the timeout")
  fails("timeout", 110, a:complete_and_wait(b, 0))
  eq(a:info().done, 1, "a completed by the call that only tried")
end)

case("complete_and_wait on the same object consumes its own completion", function()
  local a, nm = new("cawsame")
  eq(a:complete_and_wait(a, 0), true, "same handle")
  eq(a:info().done, 0, "done")
  eq(a:complete_and_wait(a), true, "same handle, no timeout")
  eq(a:info().done, 0, "done")
  local a2 = assert(kc.open(nm))
  a:complete()
  eq(a:complete_and_wait(a2, 0), true, "two handles of one object")
  eq(a:info().done, 1, "done")
  a2:close()
end)

case("complete_and_wait argument errors raise, naming the argument; nothing happens", function()
  local a = new("cawarg-a")
  local b = new("cawarg-b")
  local function bad(msg, ...)
    local args = { n = select("#", ...), ... }
    raises(msg, function() return a:complete_and_wait(unpack_args(args)) end)
  end
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got nil)")
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got nil)", nil, 10)
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got number)", 42)
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got string)", "x")
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got table)", {})
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got boolean)", true)
  bad("bad argument #1 to 'complete_and_wait' (kcompletion expected, got userdata)", io.stdout)
  bad("bad argument #2 to 'complete_and_wait' (timeout must be a non-negative integer, got -1)",
    b, -1)
  bad("bad argument #2 to 'complete_and_wait' (timeout must be a non-negative integer, got 1.5)",
    b, 1.5)
  bad("bad argument #2 to 'complete_and_wait' (timeout must be a non-negative integer, got string)",
    b, "10")
  bad("bad argument #2 to 'complete_and_wait' (timeout must be a non-negative integer, got table)",
    b, {})
  -- wrong self
  for _, self in ipairs { 42, "s", {}, true } do
    raises("bad argument #1 to 'complete_and_wait' (kcompletion expected, got " .. type(self),
      a.complete_and_wait, self, b)
  end
  raises("bad argument #1 to 'complete_and_wait' (kcompletion expected, got nil)",
    a.complete_and_wait)
  eq(a:info().done, 0, "an argument error completed a")
  b:complete()
  bad("timeout must be a non-negative integer", b, -5)
  eq(b:info().done, 1, "an argument error consumed b")
end)

case("complete_and_wait raises \"closed completion\" on a closed handle, either side", function()
  local a, an = new("cawclosed-a")
  local b, bn = new("cawclosed-b")
  local oa, ob = assert(kc.open(an)), assert(kc.open(bn))
  oa:close(); ob:close()
  b:complete()
  raises("closed completion", a.complete_and_wait, a, ob)
  raises("closed completion", a.complete_and_wait, a, ob, 0)
  raises("closed completion", oa.complete_and_wait, oa, b, 0)
  raises("closed completion", oa.complete_and_wait, oa, ob)
  eq(a:info().done, 0, "a completed")
  eq(b:info().done, 1, "b consumed")
end)

case("complete_and_wait without write on a or read on b: nil, \"bad access\", 9", function()
  local a, an = new("cawacc-a")
  local b, bn = new("cawacc-b")
  local ar, aw = assert(kc.open(an, "r")), assert(kc.open(an, "w"))
  local br, bw = assert(kc.open(bn, "r")), assert(kc.open(bn, "w"))
  b:complete()
  fails("bad access", 9, ar:complete_and_wait(b, 0))
  eq(a:info().done, 0, "a completed through a read-only handle")
  eq(b:info().done, 1, "b consumed although the call failed")
  fails("bad access", 9, a:complete_and_wait(bw, 0))
  eq(a:info().done, 0, "a completed although b's handle cannot wait")
  eq(b:info().done, 1, "b")
  fails("bad access", 9, ar:complete_and_wait(bw, 0))
  eq(aw:complete_and_wait(br, 0), true, "write-only to complete, read-only to wait on")
  eq(a:info().done, 1, "a")
  eq(b:info().done, 0, "b")
end)

case("complete_and_wait ping-pong with a second interpreter, 20000 rounds", function()
  local rounds = 20000
  local ping, pn = new("cawpp-ping")
  local pong, qn = new("cawpp-pong")
  -- The child waits for the first ping, then answers each with pong:complete_and_wait(ping);
  -- after each ping it checks that nothing else is pending on either object.
  local child = ([[
    local kc = require "kcompletion"
    local rounds = %d
    local ping, pong = assert(kc.open("%s")), assert(kc.open("%s"))
    local ok, err = ping:wait(20000)
    if not ok then print("child: first ping: " .. tostring(err)) os.exit(1) end
    for i = 1, rounds do
      if ping:done() or pong:done() then
        print(("child: round %%d: a completion is pending"):format(i)) os.exit(1)
      end
      if i == rounds then
        ok, err = pong:complete()
      else
        ok, err = pong:complete_and_wait(ping, 20000)
      end
      if not ok then print(("child: round %%d: %%s"):format(i, tostring(err))) os.exit(1) end
    end
    print("child: " .. rounds .. " rounds")
  ]]):format(rounds, pn, qn)
  local path = "/tmp/" .. pn .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(child); f:close()
  local p = assert(io.popen(interp .. " " .. path .. " 2>&1", "r"))
  local done_rounds, failure = 0, nil
  for i = 1, rounds do
    local ok, err, errno = ping:complete_and_wait(pong, 20000)
    if not ok then
      failure = ("round %d: %s (%s)"):format(i, tostring(err), tostring(errno)); break
    end
    if ping:done() or pong:done() then
      failure = ("round %d: a completion is pending"):format(i); break
    end
    done_rounds = i
  end
  if failure then ping:complete_all() end -- let the child run out
  local out = p:read("*a")
  p:close()
  os.remove(path)
  if failure then error(failure .. "; child said: " .. out) end
  eq(done_rounds, rounds, "rounds")
  eq(out, "child: " .. rounds .. " rounds\n", "the child's report")
  eq(ping:info().done, 0, "pings left")
  eq(pong:info().done, 0, "pongs left")
  T.note("%d rounds, each checked on both sides", rounds)
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
