-- The KTAP printer of the Lua test suites (kcompletion_test.lua under Lua 5.4, 5.1 and
-- LuaJIT; kernel_harness.lua for the kernel Lua suites): numbered `ok N - desc` /
-- `not ok N - desc` lines with the error as `# ` comments, notes, the plan at the end and the
-- exit status. Loaded from the tests' own folder:
--   package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
--   local T = require "ktap"

local T = {
  -- only the cases whose description contains this text run (nil: all)
  only = nil,
  -- text put before every description, e.g. "lua54: "
  prefix = "",
}

local n, failed = 0, 0
local notes = {}

-- a line printed as a KTAP comment under the current case
function T.note(fmt, ...) notes[#notes + 1] = fmt:format(...) end

-- runs f as case `desc`: ok if it returns, not ok (with the error) if it raises
function T.case(desc, f)
  if T.only and not desc:find(T.only, 1, true) then return end
  n = n + 1
  notes = {}
  local ok, err = pcall(f)
  for _, l in ipairs(notes) do print("# " .. l) end
  if ok then
    print(("ok %d - %s%s"):format(n, T.prefix, desc))
  else
    failed = failed + 1
    print(("not ok %d - %s%s"):format(n, T.prefix, desc))
    print("# " .. (tostring(err):gsub("\n", "\n# ")))
  end
  io.stdout:flush()
end

-- cases so far, and how many failed
function T.counts() return n, failed end

-- prints the plan (and, with `totals`, a passed/failed comment), exits non-zero if a case failed
function T.finish(totals)
  print(("1..%d"):format(n))
  if totals then print(("# %d passed, %d failed"):format(n - failed, failed)) end
  os.exit(failed == 0 and 0 or 1)
end

function T.eq(a, b, what)
  if a ~= b then
    error(("%s: expected %s, got %s"):format(what or "value", tostring(b), tostring(a)), 2)
  end
end

return T
