-- Nests C calls (pcall inside pcall, coroutines inside coroutines, metamethods) past
-- LUAI_MAXCCALLS: each must end in a Lua error ("stack overflow"), never in a kernel stack
-- overflow. Finishes if every nesting failed cleanly.
local deep = 0
local function nest(n)
  deep = n
  local ok, err = pcall(nest, n + 1)
  if not ok then error(err, 0) end
end
local ok, err = pcall(nest, 1)
assert(not ok and tostring(err):find("stack overflow", 1, true), tostring(err))
print("deep_nesting: pcall nesting stopped at", deep, err)

local depth = 0
local function co_nest()
  depth = depth + 1
  local co = coroutine.create(co_nest)
  local ok2, e2 = coroutine.resume(co)
  if not ok2 then error(e2, 0) end
end
ok, err = pcall(co_nest)
assert(not ok and tostring(err):find("overflow", 1, true), tostring(err))
print("deep_nesting: coroutine nesting stopped at", depth, err)

local mt = {}
mt.__index = function(t, k) return setmetatable({}, mt)[k] end
ok, err = pcall(function() return setmetatable({}, mt).x end)
assert(not ok and tostring(err):find("overflow", 1, true), tostring(err))
print("deep_nesting: __index nesting:", err)

-- deeply nested source: the parser's levels are bounded too
local src = "return " .. string.rep("(", 300) .. "1" .. string.rep(")", 300)
local f, e = load(src)
assert(f == nil and tostring(e):find("overflow", 1, true), tostring(e))
print("deep_nesting: parser:", e)

-- string patterns recurse too: bounded by the stack left ("pattern too complex")
ok, err = pcall(string.find, string.rep("a", 400), string.rep("a?", 400) .. string.rep("a", 400))
assert(not ok and tostring(err):find("pattern too complex", 1, true), tostring(err))
print("deep_nesting: pattern:", err)
print("deep_nesting: all nestings failed cleanly")
