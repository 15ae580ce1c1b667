-- The integer-only dialect: what works and which errors say so. Fails with the first
-- broken rule; finishing means every rule held.
local function raises(pattern, f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "no error, expected " .. pattern)
  assert(tostring(e):find(pattern, 1, true), ("error %q lacks %q"):format(tostring(e), pattern))
end
local x, y = 7, 2
assert(x // y == 3 and x % y == 1 and -7 // 2 == -4 and -7 % 2 == 1)
assert(math == nil and io == nil and os == nil and debug == nil and package == nil)
assert(dofile == nil and loadfile == nil)
raises("use '//'", function() return x / y end)
raises("use '//'", function() return x ^ y end)
raises("integers only", function() return x / y end)
local f, e = load("return 1.5")
assert(f == nil and e:find("integers only", 1, true) and e:find("'//'", 1, true), e)
f, e = load("return 1e3")
assert(f == nil and e:find("malformed number", 1, true), e)
f, e = load("return 1 / 2")
assert(f == nil and e:find("use '//'", 1, true), e)
raises("use '//'", string.format, "%f", 1)
raises("use '//'", string.format, "%5.2g", 1)
raises("use '//'", string.format, "%a", 1)
assert(string.format("%d %5.2s %x %%", 42, "abc", 255) == "42    ab ff %")
raises("use '//'", string.pack, "d", 1)
raises("use '//'", string.unpack, "<f", "abcd")
assert(#string.pack("i4", 1) == 4 and string.unpack("<i2", "\1\0") == 1)
assert(tonumber("0x10") == 16 and tonumber("1.5") == nil and math == nil)
assert(math == nil and 9223372036854775807 + 1 == -9223372036854775807 - 1)
-- binary chunks are refused
f, e = load(string.dump(function() return 1 end))
assert(f == nil and e:find("binary", 1, true), e)
-- require finds the built-in modules only
assert(require("string") == string and require("completion") and require("thread"))
raises("not found", require, "io")
-- the standard libraries that are there
assert(coroutine.wrap(function() coroutine.yield(5) end)() == 5)
assert(utf8.char(72, 105) == "Hi" and utf8.len("héllo") == 5)
local t = {5, 3, 9, 1}; table.sort(t); assert(table.concat(t, ",") == "1,3,5,9")
-- collectgarbage("count") is an integer (KiB), not the float subtype
assert(math == nil and tostring(collectgarbage("count")):find("^%d+$"), tostring(collectgarbage("count")))
print("integer_rules: collectgarbage count", collectgarbage("count"))
print("integer_rules: all held")
