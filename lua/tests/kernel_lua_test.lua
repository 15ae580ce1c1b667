-- Guest tests of in-kernel Lua (issue 5): runs the kernel scripts of lua/kernel/ with
-- kc.run and checks them from userspace (Lua 5.4, as root, kcompletion.ko loaded).
--   lua5.4 lua/tests/kernel_lua_test.lua [KERNEL_SCRIPT_DIR]
-- Prints KTAP and exits non-zero if a case failed. The last case unloads and reloads the
-- module with scripts running (KC_MODULE: path of kcompletion.ko).

local kc = require "kcompletion"

local dir = arg[1] or "/usr/share/kcompletion/lua/kernel"
local ko = os.getenv("KC_MODULE") or "/lib/modules/kcompletion.ko"

package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local H = require "kernel_harness"
local case, eq, contains, read, sh = H.case, H.eq, H.contains, H.read, H.sh
local sleep_ms, script, ended, reap = H.sleep_ms, H.script, H.ended, H.reap

local function run_file(file, name, prefix)
  local ok, msg = kc.run(name or file, (prefix or "") .. read(dir .. "/" .. file .. ".lua"))
  if not ok then error(("kc.run(%s): %s"):format(file, tostring(msg)), 2) end
end

local function fresh(name)
  kc.unlink(name)
  return assert(kc.new(name, { mode = 0x180 }))
end

print("KTAP version 1")

case("Lunatik's completion usage runs verbatim in a kernel thread", function()
  run_file("lunatik_usage")
  local s = ended("lunatik_usage")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  eq(s.memory, 0, "memory after the end")
  reap("lunatik_usage")
  eq(script("lunatik_usage"), nil, "reaped by a second stop")
end)

case("ping-pong with a kernel script over two named completions, 1000 rounds", function()
  local ping, pong = fresh("kl-ping"), fresh("kl-pong")
  run_file("pingpong")
  for i = 1, 1000 do
    assert(ping:complete())
    local ok, err = pong:wait(10000)
    if not ok then error(("round %d: pong wait: %s"):format(i, tostring(err))) end
    if pong:trywait() then error(("round %d: an extra pong was pending"):format(i)) end
  end
  local s = ended("pingpong")
  eq(s.state, "finished", "script state (error: " .. tostring(s.error) .. ")")
  eq(ping:info().done, 0, "pings left")
  eq(pong:info().done, 0, "pongs left")
  reap("pingpong")
  ping:close(); pong:close()
  kc.unlink("kl-ping"); kc.unlink("kl-pong")
end)

case("STOP interrupts a wait in progress: the script sees nil, \"interrupt\"", function()
  local block, saw = fresh("kl-block"), fresh("kl-saw-interrupt")
  run_file("blocked_wait")
  local waited = 0
  while block:info().waiters == 0 do
    assert(waited < 10000, "the script never blocked")
    sleep_ms(20); waited = waited + 20
  end
  eq(script("blocked_wait").state, "running", "state while blocked")
  assert(kc.stop("blocked_wait"))
  local s = ended("blocked_wait", 1000)
  eq(saw:trywait(), true, "the script reported nil, \"interrupt\"")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  reap("blocked_wait")
  block:close(); saw:close()
  kc.unlink("kl-block"); kc.unlink("kl-saw-interrupt")
end)

case("STOP ends a runaway loop, even one behind pcall", function()
  run_file("runaway")
  sleep_ms(300)
  eq(script("runaway").state, "running", "state before stop")
  assert(kc.stop("runaway"))
  local s = script("runaway")
  eq(s.state, "failed", "state after stop")
  contains(s.error, "interrupt", "error")
  reap("runaway")
end)

case("thread.sleep is interrupted by STOP", function()
  run_file("sleeper")
  sleep_ms(200)
  assert(kc.stop("sleeper"))
  eq(script("sleeper").state, "finished", "state")
  reap("sleeper")
end)

case("a memory bomb hits the per-script cap and is reported", function()
  run_file("memory_bomb")
  local s = ended("memory_bomb", 60000)
  eq(s.state, "failed", "state")
  contains(s.error, "not enough memory", "error")
  reap("memory_bomb")
end)

case("a syntax error comes back from run as text", function()
  local ok, msg, errno = kc.run("syntax", "local x = = 1")
  eq(ok, nil, "run result")
  contains(msg, "syntax:1:", "message")
  contains(msg, "unexpected symbol", "message")
  eq(errno, 8, "errno (ENOEXEC)")
  eq(script("syntax"), nil, "a script that did not compile is not listed")
end)

case("a runtime error is listed as text", function()
  assert(kc.run("runtime", "local t = nil\nreturn t.field"))
  local s = ended("runtime")
  eq(s.state, "failed", "state")
  contains(s.error, "runtime:2:", "error")
  contains(s.error, "attempt to index", "error")
  reap("runtime")
end)

case("a running script's name is taken; an ended one's is reused", function()
  run_file("sleeper", "again")
  local ok, msg, errno = kc.run("again", "return")
  eq(ok, nil, "second run"); eq(errno, 17, "errno (EEXIST)")
  assert(kc.stop("again"))
  assert(kc.run("again", "return"))
  eq(ended("again").state, "finished", "state of the new script")
  reap("again")
end)

case("the integer-only rules raise the documented errors", function()
  run_file("integer_rules")
  local s = ended("integer_rules")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  reap("integer_rules")
  local ok, msg = kc.run("float_literal", "local x = 1.5")
  eq(ok, nil, "run of a float literal")
  contains(msg, "integers only", "message"); contains(msg, "'//'", "message")
  ok, msg = kc.run("float_div", "return 1 / 2")
  eq(ok, nil, "run of a constant division")
  contains(msg, "use '//'", "message")
end)

case("nesting past the C-call limit fails as a Lua error (no kernel stack overflow)", function()
  run_file("deep_nesting")
  local s = ended("deep_nesting")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  reap("deep_nesting")
end)

case("completion and thread modules: named objects shared with userspace", function()
  local c = fresh("kl-api")
  kc.unlink("kl-made-in-kernel")
  run_file("completion_api")
  local s = ended("completion_api")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  reap("completion_api")
  local made = assert(kc.open("kl-made-in-kernel"))
  eq(made:trywait(), true, "completed by the kernel script")
  eq(made:info().mode, 0x1a4, "mode 0644")
  made:close(); c:close()
  kc.unlink("kl-made-in-kernel"); kc.unlink("kl-api")
end)

case("complete_and_wait in a kernel script: semantics and argument errors", function()
  local user = fresh("kl-caw-user")
  assert(user:complete())
  run_file("complete_and_wait")
  local s = ended("complete_and_wait")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  reap("complete_and_wait")
  eq(user:trywait(), true, "the script's complete_and_wait completed the shared object")
  eq(user:trywait(), false, "the shared object was completed exactly once")
  user:close()
  kc.unlink("kl-caw-user")
end)

case("STOP interrupts complete_and_wait: nil, \"interrupt\", the completion stays made", function()
  local a, block, saw = fresh("kl-caw-a"), fresh("kl-caw-block"), fresh("kl-saw-interrupt")
  run_file("hand_off_blocked")
  local waited = 0
  while block:info().waiters == 0 do
    assert(waited < 10000, "the script never blocked")
    sleep_ms(20); waited = waited + 20
  end
  eq(a:info().done, 1, "the script completed kl-caw-a before it blocked")
  eq(script("hand_off_blocked").state, "running", "state while blocked")
  assert(kc.stop("hand_off_blocked"))
  local s = ended("hand_off_blocked", 1000)
  eq(saw:trywait(), true, "the script reported nil, \"interrupt\"")
  eq(s.state, "finished", "state (error: " .. tostring(s.error) .. ")")
  eq(a:info().done, 1, "kl-caw-a still completed after the interrupt")
  eq(block:info().waiters, 0, "waiters left on kl-caw-block")
  reap("hand_off_blocked")
  a:close(); block:close(); saw:close()
  kc.unlink("kl-caw-a"); kc.unlink("kl-caw-block"); kc.unlink("kl-saw-interrupt")
end)

case("complete_and_wait ping-pong with a kernel script, 100000 rounds, both sides", function()
  local rounds = 100000
  local ping, pong = fresh("kl-caw-ping"), fresh("kl-caw-pong")
  local ok, err = pcall(function()
    run_file("hand_off_pingpong", nil, ("ROUNDS = %d\n"):format(rounds))
    for i = 1, rounds do
      local v, m = ping:complete_and_wait(pong, 10000)
      if not v then
        local s = script("hand_off_pingpong")
        error(("round %d: %s (script %s: %s)"):format(i, tostring(m),
          s and s.state or "missing", s and tostring(s.error) or "-"))
      end
      if ping:done() then error(("round %d: the ping was not consumed"):format(i)) end
      if pong:done() then error(("round %d: an extra pong was pending"):format(i)) end
    end
    local s = ended("hand_off_pingpong")
    eq(s.state, "finished", "script state (error: " .. tostring(s.error) .. ")")
    eq(ping:info().done, 0, "pings left")
    eq(pong:info().done, 0, "pongs left")
  end)
  reap("hand_off_pingpong")
  ping:close(); pong:close()
  kc.unlink("kl-caw-ping"); kc.unlink("kl-caw-pong")
  if not ok then error(err, 0) end
  H.note("%d rounds, each checked on both sides", rounds)
end)

case("run and stop need CAP_SYS_ADMIN: EPERM otherwise", function()
  local f = assert(io.open("/tmp/kl-eperm.lua", "w"))
  f:write("return\n")
  f:close()
  sh("chmod 644 /tmp/kl-eperm.lua")
  local code = sh("su -s /bin/sh kcuser -c 'kcompletion run /tmp/kl-eperm.lua' 2>/tmp/kl-eperm.err")
  eq(code, 6, "exit code of kcompletion run as kcuser (permission denied)")
  contains(read("/tmp/kl-eperm.err"), "permission denied", "stderr")
  eq(script("kl-eperm"), nil, "nothing started")
  code = sh([[su -s /bin/sh kcuser -c "lua5.4 -e 'local kc = require \"kcompletion\"; local ok, m, e = kc.run(\"x\", \"return\"); os.exit(e == 1 and 0 or 1)'"]])
  eq(code, 0, "kc.run as kcuser returns errno 1 (EPERM)")
  -- listing needs no privilege
  code = sh("su -s /bin/sh kcuser -c 'kcompletion scripts' >/dev/null")
  eq(code, 0, "kcompletion scripts as kcuser")
end)

case("unloading the module with scripts running stops them cleanly", function()
  fresh("kl-block"):close()
  run_file("runaway", "unload-spin")
  run_file("sleeper", "unload-sleep")
  run_file("blocked_wait", "unload-wait")
  sleep_ms(300)
  for _, name in ipairs({ "unload-spin", "unload-sleep", "unload-wait" }) do
    eq(script(name).state, "running", name .. " before rmmod")
  end
  collectgarbage(); collectgarbage()
  eq(sh("rmmod kcompletion"), 0, "rmmod")
  eq(sh("insmod " .. ko), 0, "insmod")
  eq(#assert(kc.scripts()), 0, "scripts after reload")
end)

H.finish()
