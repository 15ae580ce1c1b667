#!/bin/sh
# Basic guest checks: module, device node, Lua interpreters, users,
# unload and reload. Prints KTAP lines; exits non-zero on any failure.
MOD=kcompletion
KO=/lib/modules/kcompletion.ko
DEV=/dev/kcompletion
n=0
fail=0
out=/tmp/basics.$$

check() {
    desc=$1
    shift
    n=$((n + 1))
    if "$@" >"$out" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/# /' "$out"
        fail=1
    fi
}

# wait_for CONDITION...: retry for up to ~3 s (devtmpfs updates are async)
wait_for() {
    i=0
    while [ $i -lt 30 ]; do
        if "$@"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    "$@"
}

loaded() { grep -q "^$MOD " /proc/modules; }
not_loaded() { ! loaded; }
is_chardev() { test -c "$DEV"; }
no_dev() { ! test -e "$DEV"; }

lua54() { [ "$(lua5.4 -e 'io.write(6 * 7, " ", _VERSION)')" = "42 Lua 5.4" ]; }
lua51() { [ "$(lua5.1 -e 'io.write(6 * 7, " ", _VERSION)')" = "42 Lua 5.1" ]; }
ljit() { luajit -e 'io.write(jit.version)' | grep -q '^LuaJIT 2'; }
as_kcuser() { [ "$(su -s /bin/sh kcuser -c 'id -u')" = 1000 ]; }
as_nobody() { [ "$(su -s /bin/sh nobody -c 'id -u')" = 65534 ]; }

echo "1..12"
check "$MOD is loaded (in /proc/modules)" loaded
check "$DEV exists and is a character device" wait_for is_chardev
check "lua5.4 -e runs and prints 42 Lua 5.4" lua54
check "lua5.1 -e runs and prints 42 Lua 5.1" lua51
check "luajit -e runs" ljit
check "su switches to kcuser (uid 1000)" as_kcuser
check "su switches to nobody (uid 65534)" as_nobody
check "rmmod $MOD succeeds" rmmod "$MOD"
check "$MOD is gone from /proc/modules" not_loaded
check "$DEV disappears after rmmod" wait_for no_dev
check "insmod $KO reloads the module" insmod "$KO"
check "$DEV is back after reload" wait_for is_chardev
rm -f "$out"
exit $fail
