//! The driver's guest test suite: every ioctl's success path and every listed error, counting,
//! wake-one and wake-all, deadlines, signals, unlink while waiting, permissions as a non-root
//! user, quotas and limits, poll/epoll, processes killed mid-wait, and unload while in use.
//!
//! Runs as root inside the guest, with kcompletion.ko loaded; prints one KTAP line per case
//! and exits non-zero if any case failed. Module path: `$KC_MODULE` or
//! /lib/modules/kcompletion.ko. The cases are in `cases/`, one file a topic, run in this order.

mod cases;

use cases::*;
use kcompletion_driver_tests::sys::open_dev;

fn main() {
    let mut s = Suite::start();
    let dev = open_dev();
    kcompletion_test_harness::signal::interrupt_on(libc::SIGUSR1);

    cases::cpus(&mut s);
    create_open::run(&mut s, &dev);
    invalid::run(&mut s, &dev);
    counting::run(&mut s, &dev);
    wait::run(&mut s, &dev);
    hand_off::run(&mut s, &dev);
    wait_many::run(&mut s, &dev);
    listing::run(&mut s, &dev);
    poll::run(&mut s, &dev);
    state_page::run(&mut s, &dev);
    permissions::run(&mut s, &dev);
    kill::run(&mut s, &dev);
    drop(dev);
    // With no fd of the suite open: these unload and reload the module.
    unload::run(&mut s);
    quotas::run(&mut s);
    copyout::run(&mut s);

    s.finish();
}
