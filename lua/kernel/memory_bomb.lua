-- Allocates until the per-script cap (module parameter lua_max_memory) says no.
local t = {}
local s = string.rep("x", 1 << 20)
for i = 1, 1 << 20 do
  t[i] = s .. i
end
