//! poll and epoll readiness of an object fd.

use super::{ok, Suite};
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "poll: readable only while done > 0; poll consumes nothing",
        || {
            let fd = ok("create", create(dev, "t.poll"))?;
            check!(!readable(&fd, 0), "readable before complete");
            ok("complete", complete(&fd))?;
            check!(
                readable(&fd, 0) && readable(&fd, 0),
                "not readable after complete"
            );
            ok("try_wait", try_wait(&fd))?;
            check!(!readable(&fd, 0), "readable after consuming");
            ok("complete_all", complete_all(&fd))?;
            check!(readable(&fd, 0), "not readable after complete_all");
            ok("unlink", unlink(dev, "t.poll"))
        },
    );

    s.case(
        "epoll: a complete from another thread wakes epoll_wait",
        || {
            let fd = Arc::new(ok("create", create(dev, "t.epoll"))?);
            // SAFETY: Plain epoll syscalls on valid fds.
            let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            check!(ep >= 0, "epoll_create1");
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: 7,
            };
            // SAFETY: As above.
            check!(
                unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) } == 0,
                "epoll_ctl"
            );
            let f2 = fd.clone();
            let t = thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                complete(&f2)
            });
            let mut out = [libc::epoll_event { events: 0, u64: 0 }; 2];
            let t0 = Instant::now();
            // SAFETY: As above.
            let n = unsafe { libc::epoll_wait(ep, out.as_mut_ptr(), 2, 5000) };
            let waited = t0.elapsed();
            ok("complete", t.join().unwrap())?;
            // SAFETY: Closes our epoll fd.
            unsafe { libc::close(ep) };
            check!(n == 1 && out[0].u64 == 7, "epoll_wait gave {n}");
            check!(waited < Duration::from_secs(4), "woke only at timeout");
            ok("still consumable", try_wait(&fd))?;
            ok("unlink", unlink(dev, "t.epoll"))
        },
    );
}
