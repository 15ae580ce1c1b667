#!/bin/sh
# The kernel-side Rust API suite: reloads kcompletion.ko with selftest=1, whose init runs the
# cases of driver/selftest.rs and logs them as `kcompletion: selftest: ok N - ...`; this
# script turns those log lines into KTAP. A missing or failed self-test fails the suite.
KO=${KC_MODULE:-/lib/modules/kcompletion.ko}
if ! rmmod kcompletion; then
	echo "not ok 1 - unload kcompletion before the self-test"
	exit 1
fi
dmesg -c > /dev/null
if ! insmod "$KO" selftest=1; then
	echo "not ok 1 - insmod $KO selftest=1"
	exit 1
fi
dmesg | grep 'kcompletion: selftest: ' | sed 's/.*kcompletion: selftest: //' > /tmp/selftest.ktap
grep -E '^(not )?ok |^# ' /tmp/selftest.ktap
grep -q '^0 failed$' /tmp/selftest.ktap
