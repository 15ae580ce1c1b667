-- A runaway loop, even behind pcall: STOP must still end it.
while true do
  pcall(function() while true do end end)
end
