#!/bin/sh
# In-kernel Lua suite (issue 5): lua/tests/kernel_lua_test.lua runs the kernel scripts of
# lua/kernel/ through the Lua module (kc.run/stop/scripts) and checks them from userspace;
# its last case unloads and reloads kcompletion.ko with scripts running.
# Run as root with the module loaded and the Lua 5.4 module installed.
LUA_DIR=${LUA_DIR:-/usr/share/kcompletion/lua}
exec env LUA_CPATH_5_4='/usr/lib/lua/5.4/?.so;;' lua5.4 "$LUA_DIR/tests/kernel_lua_test.lua" "$LUA_DIR/kernel"
