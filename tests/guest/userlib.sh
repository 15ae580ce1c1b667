#!/bin/sh
# Userspace guest suite: the library and CLI tests (kcompletion-userlib-tests), the Lua
# module tests under Lua 5.4, Lua 5.1 and LuaJIT, and the kernel scripts run both ways. Each sub-suite's KTAP output is nested
# (indented four spaces) under one top-level line. Exits non-zero if anything failed.
# Run as root with the module loaded; the binaries on PATH, the Lua modules installed.
LUA_TESTS=${LUA_TESTS:-/usr/share/kcompletion/lua/tests/kcompletion_test.lua}
n=0
fail=0
out=/tmp/userlib.$$

# sub DESCRIPTION COMMAND...: run a KTAP-printing program as a nested subtest
sub() {
    desc=$1
    shift
    n=$((n + 1))
    echo "    # Subtest: $desc"
    "$@" >"$out" 2>&1
    st=$?
    sed 's/^/    /' "$out"
    if [ $st -eq 0 ] && grep -q '^ok ' "$out" && ! grep -q '^not ok ' "$out"; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        echo "# exit status $st"
        fail=1
    fi
}

echo "KTAP version 1"
echo "1..5"
sub "library and CLI (kcompletion-userlib-tests)" kcompletion-userlib-tests
sub "Lua 5.4 module" env LUA_CPATH_5_4='/usr/lib/lua/5.4/?.so;;' lua5.4 "$LUA_TESTS"
# Lua 5.1 reads LUA_CPATH, which the guest points at the LuaJIT build: use its own.
sub "Lua 5.1 module" env LUA_CPATH='/usr/lib/lua/5.1/?.so;;' lua5.1 "$LUA_TESTS"
sub "LuaJIT module" env LUA_CPATH='/usr/lib/luajit/?.so;;' luajit "$LUA_TESTS"
# Kernel scripts run unchanged in userspace (require "completion"), all three interpreters.
sub "one script, both sides" env LUA_CPATH_5_4='/usr/lib/lua/5.4/?.so;;' lua5.4 \
    "$(dirname "$LUA_TESTS")/both_ways_test.lua"
rm -f "$out"
exit $fail
