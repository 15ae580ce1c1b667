-- require "thread": the kernel scripts' `thread` module (driver/lua/kclua_completion.c) in
-- userspace, so that a kernel script runs unchanged under lua5.4, lua5.1 or LuaJIT.
--
--   thread.shouldstop()  true once SIGTERM or SIGINT came (the kernel: once STOP came)
--   thread.sleep(ms)     true, or nil, "interrupt" if a stop came first
--   thread.name()        the script's name: its file name without ".lua" (arg[0]), as
--                        `kcompletion run FILE` names it; "lua" when there is no script file
--
-- Loading it turns SIGTERM and SIGINT into stop requests (see kcompletion/script.lua).
local script = require "kcompletion.script"

local kc, select = script.kc, select

local script_name = "lua"
if type(arg) == "table" and type(arg[0]) == "string" then
  script_name = (arg[0]:match("([^/]*)$"):gsub("%.lua$", ""))
end

local thread = {}

thread.shouldstop = script.stop_requested

function thread.sleep(...)
  local ms = script.check_integer((...), 1, "sleep", select("#", ...))
  if ms < 0 then script.argerror(1, "sleep", "milliseconds must be >= 0") end
  if kc.sleep(ms) then return true end
  return nil, "interrupt"
end

function thread.name()
  return script_name
end

return thread
