#!/bin/sh
# Run by `cargo xtask test` after every guest suite (as the pseudo-suite `after-<suite>`):
# the suite must have left nothing behind. KTAP, one case per check:
#   1. /proc/kcompletion lists no object (named, unlinked or anonymous);
#   2. no kernel Lua script is still running;
#   3. a kmemleak scan reports nothing (objects younger than kmemleak's 5 s minimum age are
#      caught by the next scan, the last one after the final suite);
#   4. kcompletion.ko unloads; it is then loaded again, with no parameter, for the next suite.
# Usage: sh after-suite.sh SUITE [MODULE.ko]
suite=${1:?suite name}
KO=${2:-/lib/modules/kcompletion.ko}
n=0
failed=0
check() { # check STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

if grep -q '^kcompletion ' /proc/modules; then
	left=$(tail -n +2 /proc/kcompletion)
	[ -z "$left" ]
	check $? "$suite left no object in /proc/kcompletion"
	[ -n "$left" ] && echo "$left" | head -20 | sed 's/^/# left: /'

	running=$(kcompletion scripts | tail -n +2 | awk '$2 == "running"')
	[ -z "$running" ]
	check $? "$suite left no kernel Lua script running"
	[ -n "$running" ] && echo "$running" | sed 's/^/# running: /'
else
	# A suite may unload the module (and must then load it again): say so, and reload.
	check 1 "$suite left kcompletion.ko loaded (it was not: /proc/kcompletion cannot be read)"
	insmod "$KO"
fi

if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	[ -z "$leaks" ]
	check $? "kmemleak reports no leak after $suite"
	if [ -n "$leaks" ]; then
		echo "$leaks" | head -60 | sed 's/^/# /'
		echo clear > /sys/kernel/debug/kmemleak
	fi
else
	check 1 "kmemleak is available (/sys/kernel/debug/kmemleak) to check $suite"
fi

if rmmod kcompletion; then
	check 0 "kcompletion.ko unloads after $suite"
else
	check 1 "kcompletion.ko unloads after $suite"
	lsmod | sed 's/^/# /'
fi
if ! grep -q '^kcompletion ' /proc/modules && ! insmod "$KO"; then
	echo "# insmod $KO failed: the next suites will fail"
	failed=1
fi
echo "1..$n"
exit $failed
