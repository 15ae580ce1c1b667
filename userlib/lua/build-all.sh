#!/bin/sh
# Builds the Lua module for LuaJIT, Lua 5.1 and Lua 5.4 (see BUILD.md). Run from anywhere.
set -eu
cd "$(dirname "$0")/../.."
out="${CARGO_TARGET_DIR:-target}/release"
for abi in luajit lua51 lua54; do
    cargo build -p kcompletion-lua --release --no-default-features --features "$abi" "$@"
    if [ "$abi" = lua54 ]; then
        cp "$out/libkcompletion_lua.so" "$out/libkcompletion_lua54.so"
    else
        mv "$out/libkcompletion_lua.so" "$out/libkcompletion_$abi.so"
    fi
done
ls -l "$out"/libkcompletion_lua*.so
