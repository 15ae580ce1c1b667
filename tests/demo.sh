#!/bin/sh
# Run in the guest by `cargo xtask demo` (kcompletion.ko is already loaded).
# Two processes meet on one named kernel completion: one waits, the other signals.
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "The driver is loaded and its device exists"
run ls -l /dev/kcompletion
run grep kcompletion /proc/modules

step "Create a named completion 'build-done' (mode 0666) and look at it"
run kcompletion create build-done --mode 666
run kcompletion info build-done

step "Process A waits on it (in the background) ..."
( kcompletion wait build-done --timeout 10000 && echo "   [A] woke up: build-done was completed" ) &
A=$!
sleep 1
run kcompletion info build-done

step "... process B, another user (kcuser), signals it"
run su -s /bin/sh kcuser -c "kcompletion complete build-done && echo '   [B] completed build-done'"
wait $A

step "complete_all: every waiter passes until reinit"
for i in 1 2 3; do ( kcompletion wait build-done --timeout 10000 && echo "   [waiter $i] passed" ) & done
sleep 1
run kcompletion complete build-done --all
wait
run kcompletion trywait build-done
run kcompletion reinit build-done
printf '$ kcompletion trywait build-done\n'
kcompletion trywait build-done; echo "   exit status $? (4 = not done)"

step "A timeout: nobody signals 'never'"
run kcompletion create never
printf '$ kcompletion wait never --timeout 200\n'
kcompletion wait never --timeout 200; echo "   exit status $? (3 = timed out)"

step "Lua 5.4 in userspace: two interpreters ping-pong through two completions"
cat > /tmp/pong.lua <<'LUA'
local kc = require "kcompletion"
local ping, pong = assert(kc.open("ping")), assert(kc.open("pong"))
for i = 1, 3 do
  assert(ping:wait(5000))
  print(("   [pong.lua] got ping %d, sending pong"):format(i))
  pong:complete()
end
LUA
cat > /tmp/ping.lua <<'LUA'
local kc = require "kcompletion"
local ping, pong = assert(kc.open("ping")), assert(kc.open("pong"))
for i = 1, 3 do
  ping:complete()
  assert(pong:wait(5000))
  print(("   [ping.lua] round %d: pong received"):format(i))
end
LUA
kcompletion create ping >/dev/null; kcompletion create pong >/dev/null
lua5.4 /tmp/pong.lua & P=$!
run lua5.4 /tmp/ping.lua
wait $P

step "Lua in a kernel thread: a kernel script and a userspace Lua process signal each other"
EX=/usr/share/kcompletion/lua/examples
kcompletion unlink ping >/dev/null 2>&1; kcompletion unlink pong >/dev/null 2>&1
run cat $EX/kernel_pong.lua
run kcompletion run $EX/kernel_pong.lua
run lua5.4 $EX/user_ping.lua
sleep 1
run kcompletion scripts
echo "   the kernel script's print()s, in the kernel log:"
dmesg | grep 'kcompletion: \[kernel_pong\]' | sed 's/^/   /'
run kcompletion stop kernel_pong
printf '$ kcompletion run /tmp/bad.lua   # a syntax error comes back as text\n'
echo 'x = = 1' > /tmp/bad.lua
kcompletion run /tmp/bad.lua; echo "   exit status $? (11 = does not compile)"
printf '$ echo "print(7 / 2)" | kcompletion run - --name div   # integers only\n'
echo 'print(7 / 2)' | kcompletion run - --name div; echo "   exit status $?"
echo 'while true do end' > /tmp/spin.lua
run kcompletion run /tmp/spin.lua
sleep 1
run kcompletion scripts
run kcompletion stop spin
run kcompletion scripts

step "Everything the kernel holds, as /proc/kcompletion and 'kcompletion list' show it"
run cat /proc/kcompletion
run kcompletion list

step "Clean up: unlink the names and unload the module"
for n in build-done never ping pong; do kcompletion unlink $n; done
run rmmod kcompletion
[ ! -e /dev/kcompletion ] && echo "   /dev/kcompletion is gone: the module unloaded cleanly"
