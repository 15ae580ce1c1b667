//! Processes SIGKILLed in the middle of WAIT leave no waiter, handle or object behind.

use super::{ok, proc_lines, Suite};
use kcompletion_driver_tests::os;
use kcompletion_driver_tests::spawn::{spawn, ChildStack};
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::{Duration, Instant};

/// A child of the SIGKILL case: its own fd on `t.kill` (opened by name through its own
/// `/dev/kcompletion` fd), then WAIT forever. Raw system calls only (see spawn.rs).
extern "C" fn kill_child(_: *mut std::ffi::c_void) -> i32 {
    // SAFETY: A NUL-terminated path; raw open, as the child must not allocate.
    let dev = unsafe { libc::open(c"/dev/kcompletion".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    // SAFETY: `dev` is this child's own descriptor (or -1, which OPEN rejects with EBADF).
    let dev = unsafe { std::os::fd::BorrowedFd::borrow_raw(dev) };
    let code = match open(&dev, "t.kill") {
        Ok(me) => {
            let _ = wait_forever(&me);
            1
        }
        Err(_) => 2,
    };
    // SAFETY: Ending the child without running destructors (its fds close with it).
    unsafe { libc::_exit(code) }
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "1000 processes SIGKILLed mid-wait leave nothing behind",
        || {
            let fd = ok("create", create(dev, "t.kill"))?;
            // Processes made with clone(CLONE_VM) (see spawn.rs): a thousand forks take
            // minutes under TCG and KASAN on a loaded host.
            let mut stacks: Vec<ChildStack> = (0..1000).map(|_| ChildStack::new()).collect();
            let pids: Vec<i32> = stacks
                .iter_mut()
                .map(|stack| spawn(stack, kill_child, ()))
                .collect();
            let t0 = Instant::now();
            let mut i = ok("info", info(&fd))?;
            while i.waiters < 1000 && t0.elapsed() < Duration::from_secs(120) {
                thread::sleep(Duration::from_millis(50));
                i = ok("info", info(&fd))?;
            }
            let peak = i.waiters;
            // Kill in batches of 100, reaping each batch: a thousand simultaneous exits of forked
            // children contend on their shared anon_vma for tens of seconds under TCG and KASAN.
            for batch in pids.chunks(100) {
                for &pid in batch {
                    os::kill(pid);
                }
                for &pid in batch {
                    os::reap(pid);
                }
            }
            let after = ok("info", info(&fd))?;
            check!(peak == 1000, "only {peak} waiters reached");
            check!(
                after.waiters == 0 && after.handles == 1 && after.done == 0,
                "{after:?}"
            );
            let id = after.id;
            ok("unlink", unlink(dev, "t.kill"))?;
            drop(fd);
            check!(
                !proc_lines()
                    .iter()
                    .any(|l| l.split('\t').next() == Some(&id.to_string())),
                "object left in /proc/kcompletion"
            );
            Ok(())
        },
    );
}
