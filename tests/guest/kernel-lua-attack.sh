#!/bin/sh
# Kernel Lua under attack (issue 7): lua/tests/kernel_lua_attack_test.lua runs hostile
# scripts (runaway loops, memory bombs, deep recursion, huge sources, suspended coroutines,
# errors in metamethods and __gc, STOP during each, one module reload) and checks that each
# ends as expected, gives its memory and completions back, and leaves the kernel log clean.
# Run as root with the module loaded and the Lua 5.4 module installed.
LUA_DIR=${LUA_DIR:-/usr/share/kcompletion/lua}
exec env LUA_CPATH_5_4='/usr/lib/lua/5.4/?.so;;' lua5.4 "$LUA_DIR/tests/kernel_lua_attack_test.lua"
