#!/bin/sh
# Run in the guest by `cargo xtask demo` (the module is already loaded).
set -x
ls -l /dev/kcompletion
cat /proc/modules
rmmod kcompletion
ls -l /dev/kcompletion 2>&1 || true
