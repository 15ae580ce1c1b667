#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Copies the pristine Lua 5.4 C core out of the crates.io `lua-src` crate (pinned by
# driver/lua-sources/Cargo.toml and Cargo.lock; found with `cargo metadata`) into
# driver/lua/core/ (gitignored), writes core/luaconf.h as the original plus our
# overrides (driver/lua/kclua_conf.h) appended, and core/ljumptab.h as our
# driver/lua/kclua_jumptab.h. Nothing of Lua's is committed.
# Run before the module build (`cargo xtask` does); idempotent, only rewrites changed files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cargo=${CARGO:-cargo}
manifest=$(cd "$repo" && "$cargo" metadata --format-version 1 --locked |
    jq -r '.packages[] | select(.name == "lua-src") | .manifest_path')
[ -n "$manifest" ] || { echo "prepare-sources: lua-src not in cargo metadata" >&2; exit 1; }
src=$(dirname "$manifest")/lua-5.4.9
[ -f "$src/lua.h" ] || { echo "prepare-sources: no Lua 5.4.9 sources in $src" >&2; exit 1; }
out=$here/core
mkdir -p "$out"
# The VM, the parser, the auxiliary library and the libraries we offer. Not copied: io, os,
# debug, math (floating point), package/loadlib (C modules), linit (we open our own set),
# the stand-alone interpreter and compiler.
files="lapi.c lcode.c lctype.c ldebug.c ldo.c ldump.c lfunc.c lgc.c llex.c lmem.c lobject.c
lopcodes.c lparser.c lstate.c lstring.c ltable.c ltm.c lundump.c lvm.c lzio.c lauxlib.c
lbaselib.c lcorolib.c lstrlib.c ltablib.c lutf8lib.c
lapi.h lauxlib.h lcode.h lctype.h ldebug.h ldo.h lfunc.h lgc.h llex.h llimits.h
lmem.h lobject.h lopcodes.h lopnames.h lparser.h lprefix.h lstate.h lstring.h ltable.h ltm.h
lua.h lualib.h lundump.h lvm.h lzio.h"
install_if_changed() { # from to
    if ! cmp -s "$1" "$2"; then cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; fi
}
for f in $files; do install_if_changed "$src/$f" "$out/$f"; done
{
    cat "$src/luaconf.h"
    printf '\n/* ---- kcompletion: kernel overrides (driver/lua/kclua_conf.h) ---- */\n'
    cat "$here/kclua_conf.h"
} > "$out/luaconf.h.new"
install_if_changed "$out/luaconf.h.new" "$out/luaconf.h"
rm -f "$out/luaconf.h.new"
# Lua's ljumptab.h (computed-goto dispatch) is replaced by ours: switch dispatch plus the
# STOP/resched check for code that runs with hooks off (__gc finalizers); see the file.
install_if_changed "$here/kclua_jumptab.h" "$out/ljumptab.h"
printf '%s\n' "$src" > "$out/SOURCE"
