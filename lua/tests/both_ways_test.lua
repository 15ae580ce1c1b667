-- Guest tests of "one script, both sides" (issue 16): every portable script of lua/kernel/ and
-- lua/examples/ runs as a kernel script (kc.run) and under lua5.4, lua5.1 and LuaJIT in
-- userspace (require "completion" / "thread": userlib/lua/lua/), against the same driver
-- objects, and must end the same way with the same output; then a kernel script and a
-- userspace copy of the same file ping-pong with each other.
-- Kernel only, by what they test: integer_rules.lua (the refused floats), memory_bomb.lua
-- (the per-script memory cap), deep_nesting.lua (the kernel-stack limits), runaway.lua (STOP
-- ending a loop that never asks: in userspace the count hook does it, but LuaJIT's compiled
-- loops run no hook). User only: examples/user_ping.lua (it uses `kcompletion` and `os`).
--   lua5.4 lua/tests/both_ways_test.lua [LUA_DIR]     (as root, kcompletion.ko loaded)
-- Prints KTAP; exits non-zero if a case failed.

local kc = require "kcompletion"

local dir = arg[1] or "/usr/share/kcompletion/lua"
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local H = require "kernel_harness"
local case, eq, read, sh, ended, reap = H.case, H.eq, H.read, H.sh, H.ended, H.reap

-- The userspace interpreters, each with its own build of the C module (as userlib.sh runs them).
local INTERPRETERS = {
  { "lua5.4", "LUA_CPATH_5_4='/usr/lib/lua/5.4/?.so;;'" },
  { "lua5.1", "LUA_CPATH='/usr/lib/lua/5.1/?.so;;'" },
  { "luajit", "LUA_CPATH='/usr/lib/luajit/?.so;;'" },
}

local function fresh(name)
  kc.unlink(name)
  return assert(kc.new(name, { mode = 0x180 }))
end

-- The kernel log's lines so far.
local function klog()
  local p = assert(io.popen("dmesg"))
  local lines = {}
  for l in p:lines() do lines[#lines + 1] = l end
  p:close()
  return lines
end

-- What script `name` printed (print and warn lines) in the kernel log lines after `from`;
-- the driver's own end-of-script lines (stack use, ratelimit counts) are not output.
local function kernel_output(name, from)
  local out, tag = {}, "kcompletion: [" .. name .. "] "
  local lines = klog()
  for i = from + 1, #lines do
    local at = lines[i]:find(tag, 1, true)
    if at then
      local text = lines[i]:sub(at + #tag)
      if not text:find("^used up to %d+ of %d+ bytes of kernel stack")
        and not text:find("^ratelimited: ") then
        out[#out + 1] = text
      end
    end
  end
  return table.concat(out, "\n")
end

-- Runs `file` in a kernel thread, with the globals `globals` (Lua text put before the source on
-- its first line, so line numbers stay), while the runner plays `peer()` if given; stopped
-- after `stop_ms` if given. Returns how it ended ("finished" or "failed: ERROR") and its output.
local function run_in_kernel(file, name, s)
  local from = #klog()
  reap(name)
  assert(kc.run(name, (s.globals or "") .. read(file)))
  if s.peer then s.peer() end
  if s.stop_ms then
    H.sleep_ms(s.stop_ms)
    assert(kc.stop(name))
  end
  local st = ended(name)
  reap(name)
  H.sleep_ms(100) -- the log lines of the script's end
  local how = st.state == "finished" and "finished" or ("failed: " .. tostring(st.error))
  return how, kernel_output(name, from)
end

-- Runs `file` under interpreter `lua` in the background, with the same globals (`-e`), while
-- the runner plays `peer()`; sent SIGTERM after `stop_ms` if given. Returns how it ended
-- ("finished" for exit 0, else "failed: exit N: OUTPUT") and its output (stdout and stderr).
local function run_in_user(lua, file, s)
  local e = s.globals and ("-e '%s'"):format(s.globals) or ""
  local p = assert(io.popen(("(env %s %s %s %s 2>&1 & echo PID:$!; wait $!; echo EXIT:$?)")
    :format(lua[2], lua[1], e, file)))
  local pid = p:read("*l"):match("^PID:(%d+)$")
  assert(pid, "no pid")
  if s.peer then s.peer() end
  if s.stop_ms then
    H.sleep_ms(s.stop_ms)
    sh("kill -TERM " .. pid)
  end
  local lines, code = {}, nil
  for l in p:lines() do
    local c = l:match("^EXIT:(%d+)$")
    if c then code = tonumber(c) else lines[#lines + 1] = l end
  end
  p:close()
  local text = table.concat(lines, "\n")
  if code ~= 0 then return ("failed: exit %s: %s"):format(tostring(code), text), text end
  return "finished", text
end

-- Plays userspace's side of a ping-pong over two objects for `rounds`, every round checked.
local function ping_peer(ping_name, pong_name, rounds, hand_off)
  return function()
    local ping, pong = assert(kc.open(ping_name)), assert(kc.open(pong_name))
    for i = 1, rounds do
      local ok, err
      if hand_off then
        ok, err = ping:complete_and_wait(pong, 10000)
      else
        assert(ping:complete())
        ok, err = pong:wait(10000)
      end
      if not ok then error(("round %d: no pong (%s)"):format(i, tostring(err)), 0) end
      if pong:trywait() then error(("round %d: an extra pong"):format(i), 0) end
    end
    ping:close(); pong:close()
  end
end

-- Waits until the object `name` exists (a script creates it when it starts).
local function await_object(name)
  local waited = 0
  while true do
    local c = kc.open(name)
    if c then return c end
    assert(waited < 10000, "no object " .. name)
    H.sleep_ms(20); waited = waited + 20
  end
end

-- The portable scripts: file, what the runner prepares before each run and checks after it,
-- and whether the script runs until it is stopped.
local SCRIPTS = {
  { file = "kernel/lunatik_usage.lua" },
  {
    file = "kernel/completion_api.lua",
    names = { "kl-api", "kl-made-in-kernel" },
    before = function() fresh("kl-api"):close() end,
    after = function()
      local made = assert(kc.open("kl-made-in-kernel"))
      eq(made:info().mode, 0x1a4, "mode 0644 of the object the script made")
      eq(made:trywait(), true, "the object the script made was completed")
      made:close()
      kc.unlink("kl-made-in-kernel"); kc.unlink("kl-api")
    end,
  },
  {
    file = "kernel/complete_and_wait.lua",
    names = { "kl-caw-user" },
    before = function() assert(fresh("kl-caw-user"):complete()) end,
    after = function()
      local user = assert(kc.open("kl-caw-user"))
      eq(user:trywait(), true, "the script's complete_and_wait completed the shared object")
      eq(user:trywait(), false, "the shared object was completed exactly once")
      user:close()
      kc.unlink("kl-caw-user")
    end,
  },
  { file = "kernel/sleeper.lua", stop_ms = 1000 },
  {
    file = "kernel/pingpong.lua",
    names = { "kl-ping", "kl-pong" },
    globals = "ROUNDS = 300; ",
    before = function() fresh("kl-ping"):close(); fresh("kl-pong"):close() end,
    peer = ping_peer("kl-ping", "kl-pong", 300),
    after = function()
      for _, n in ipairs { "kl-ping", "kl-pong" } do
        eq(assert(kc.open(n)):info().done, 0, n .. " left done")
      end
    end,
  },
  {
    file = "kernel/hand_off_pingpong.lua",
    names = { "kl-caw-ping", "kl-caw-pong" },
    globals = "ROUNDS = 300; ",
    before = function() fresh("kl-caw-ping"):close(); fresh("kl-caw-pong"):close() end,
    peer = ping_peer("kl-caw-ping", "kl-caw-pong", 300, true),
    after = function()
      for _, n in ipairs { "kl-caw-ping", "kl-caw-pong" } do
        eq(assert(kc.open(n)):info().done, 0, n .. " left done")
      end
    end,
  },
  {
    file = "kernel/hand_off_blocked.lua",
    names = { "kl-caw-a", "kl-caw-block", "kl-saw-interrupt" },
    stop_ms = 1000,
    before = function()
      for _, n in ipairs { "kl-caw-a", "kl-caw-block", "kl-saw-interrupt" } do fresh(n):close() end
    end,
    after = function()
      eq(assert(kc.open("kl-caw-a")):trywait(), true, "kl-caw-a completed before the wait")
      eq(assert(kc.open("kl-saw-interrupt")):trywait(), true, "the stop interrupted the hand-off")
    end,
  },
  {
    file = "examples/kernel_pong.lua",
    names = { "ping", "pong" },
    before = function() kc.unlink("ping"); kc.unlink("pong") end,
    peer = function()
      await_object("ping"):close()
      await_object("pong"):close()
      ping_peer("ping", "pong", 3)()
    end,
  },
  {
    file = "kernel/wait_many.lua",
    names = { "kl-wm-revoke" },
    before = function() kc.unlink("kl-wm-revoke") end,
  },
  {
    file = "kernel/blocked_wait.lua",
    names = { "kl-block", "kl-saw-interrupt" },
    stop_ms = 1000,
    before = function() fresh("kl-block"):close(); fresh("kl-saw-interrupt"):close() end,
    after = function()
      local saw = assert(kc.open("kl-saw-interrupt"))
      eq(saw:trywait(), true, "the wait returned nil, \"interrupt\" on the stop")
      saw:close()
      kc.unlink("kl-block"); kc.unlink("kl-saw-interrupt")
    end,
  },
}

print("KTAP version 1")

for _, s in ipairs(SCRIPTS) do
  local path = dir .. "/" .. s.file
  local name = s.file:match("([^/]*)%.lua$")
  local before, after = s.before or function() end, s.after or function() end
  local function clean()
    for _, n in ipairs(s.names or {}) do kc.unlink(n) end
  end
  local kernel_how, kernel_out
  case(("%s in a kernel thread"):format(s.file), function()
    before()
    local ok, err = pcall(function()
      kernel_how, kernel_out = run_in_kernel(path, name, s)
      eq(kernel_how, "finished", "how it ended")
      after()
    end)
    clean()
    assert(ok, err)
  end)
  for _, lua in ipairs(INTERPRETERS) do
    case(("%s under %s: the same end and output as in the kernel"):format(s.file, lua[1]),
      function()
        assert(kernel_how, "the kernel run did not happen")
        local ok, err = pcall(function()
          before()
          local how, out = run_in_user(lua, path, s)
          eq(how, kernel_how, "how it ended")
          eq(out, kernel_out, "output")
          after()
        end)
        clean()
        assert(ok, err)
      end)
  end
end

-- The same file on both sides at once: the kernel copy starts first and answers.
for _, lua in ipairs(INTERPRETERS) do
  case(("examples/both_sides.lua: a kernel script and its %s twin ping-pong, 2000 rounds")
    :format(lua[1]), function()
    kc.unlink("both.ping"); kc.unlink("both.pong")
    local from = #klog()
    local src = "ROUNDS = 2000\n" .. read(dir .. "/examples/both_sides.lua")
    reap("both_sides")
    assert(kc.run("both_sides", src))
    local waited = 0
    while not kc.open("both.pong") do -- the kernel copy has made both objects
      assert(waited < 5000, "the kernel copy made no objects")
      H.sleep_ms(20); waited = waited + 20
    end
    local code = sh(("env %s %s -e 'ROUNDS = 2000' %s/examples/both_sides.lua >/tmp/both.out 2>&1")
      :format(lua[2], lua[1], dir))
    local user_out = read("/tmp/both.out"):gsub("\n$", "")
    eq(code, 0, "userspace copy's exit (" .. user_out .. ")")
    eq(user_out, "both_sides: 2000 rounds as the asking side", "userspace copy's output")
    local st = ended("both_sides")
    eq(st.state, "finished", "kernel copy (error: " .. tostring(st.error) .. ")")
    reap("both_sides")
    H.sleep_ms(100)
    eq(kernel_output("both_sides", from), "both_sides: 2000 rounds as the answering side",
      "kernel copy's output")
    eq(kc.open("both.ping"), nil, "the asking side unlinked the names")
  end)
  kc.unlink("both.ping"); kc.unlink("both.pong")
end

H.finish()
