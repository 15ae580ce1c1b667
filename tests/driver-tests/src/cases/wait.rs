//! WAIT: deadlines on both clocks, wake-ups from other threads (one, exactly one of 4, all 8),
//! a signal in the middle, and the object unlinked or another fd closed while a thread waits.

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A thread that waits on `fd` for at most `ms` milliseconds.
fn waiter(fd: &Arc<OwnedFd>, ms: u64) -> JoinHandle<Res<()>> {
    let fd = fd.clone();
    thread::spawn(move || wait_ms(&fd, ms))
}

/// SIGUSR1 to thread `t` (joinable, so its id is still valid): a WAIT there returns EINTR.
fn interrupt<T>(t: &JoinHandle<T>) {
    // SAFETY: `t` is not joined yet, so its pthread id names it even if it has finished.
    unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGUSR1) };
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "a 50 ms deadline gives ETIMEDOUT no earlier than 50 ms",
        || {
            let fd = ok("create", create(dev, "t.deadline"))?;
            let start = now_ns(libc::CLOCK_MONOTONIC);
            let deadline = start + 50_000_000;
            expect_err("wait", wait_deadline(&fd, deadline, 0), libc::ETIMEDOUT)?;
            let end = now_ns(libc::CLOCK_MONOTONIC);
            check!(end >= deadline, "returned {} ns early", deadline - end);
            println!("# 50 ms wait returned after {} us", (end - start) / 1000);
            ok("unlink", unlink(dev, "t.deadline"))
        },
    );

    s.case(
        "CLOCK_REALTIME deadlines work; past deadlines only try",
        || {
            let fd = ok("create", create(dev, "t.realtime"))?;
            let start = now_ns(libc::CLOCK_REALTIME);
            expect_err(
                "realtime wait",
                wait_deadline(&fd, start + 30_000_000, KC_WAIT_REALTIME),
                libc::ETIMEDOUT,
            )?;
            check!(
                now_ns(libc::CLOCK_REALTIME) >= start + 30_000_000,
                "realtime early"
            );
            expect_err("past deadline", wait_deadline(&fd, 0, 0), libc::ETIMEDOUT)?;
            ok("complete", complete(&fd))?;
            ok("past deadline with done", wait_deadline(&fd, 0, 0))?;
            ok("unlink", unlink(dev, "t.realtime"))
        },
    );

    s.case(
        "a blocked WAIT returns when another thread completes",
        || {
            let fd = Arc::new(ok("create", create(dev, "t.wake"))?);
            let f2 = fd.clone();
            let t = thread::spawn(move || wait_forever(&f2));
            let t0 = Instant::now();
            let mut waiters = 0;
            while waiters < 1 && t0.elapsed() < Duration::from_secs(10) {
                thread::sleep(Duration::from_millis(5));
                waiters = ok("info", info(&fd))?.waiters;
            }
            // Complete before checking, so a failure never leaves the waiter blocked.
            ok("complete", complete(&fd))?;
            ok("waiter", t.join().unwrap())?;
            check!(waiters == 1, "waiter not counted ({waiters})");
            check!(ok("info", info(&fd))?.waiters == 0, "waiter still counted");
            ok("unlink", unlink(dev, "t.wake"))
        },
    );

    s.case("COMPLETE wakes exactly one of 4 waiters", || {
        let fd = Arc::new(ok("create", create(dev, "t.one"))?);
        let woke = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (f, w) = (fd.clone(), woke.clone());
                thread::spawn(move || {
                    let r = wait_ms(&f, 5000);
                    w.fetch_add(1, Ordering::SeqCst);
                    r
                })
            })
            .collect();
        let t0 = Instant::now();
        while ok("info", info(&fd))?.waiters < 4 && t0.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(5));
        }
        ok("complete", complete(&fd))?;
        thread::sleep(Duration::from_millis(200));
        let after_one = woke.load(Ordering::SeqCst);
        let info1 = ok("info", info(&fd))?;
        for _ in 0..3 {
            ok("complete", complete(&fd))?;
        }
        for t in threads {
            ok("waiter", t.join().unwrap())?;
        }
        check!(
            after_one == 1,
            "{after_one} waiters woke after one complete"
        );
        check!(
            info1.waiters == 3 && info1.done == 0,
            "after one: {info1:?}"
        );
        ok("unlink", unlink(dev, "t.one"))
    });

    s.case("COMPLETE_ALL wakes all 8 waiters", || {
        let fd = Arc::new(ok("create", create(dev, "t.wakeall"))?);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let f = fd.clone();
                thread::spawn(move || wait_ms(&f, 5000))
            })
            .collect();
        let t0 = Instant::now();
        while ok("info", info(&fd))?.waiters < 8 && t0.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(5));
        }
        ok("complete_all", complete_all(&fd))?;
        for t in threads {
            ok("waiter", t.join().unwrap())?;
        }
        ok("unlink", unlink(dev, "t.wakeall"))
    });

    s.case(
        "a signal during WAIT gives EINTR and loses no count",
        || {
            let fd = Arc::new(ok("create", create(dev, "t.signal"))?);
            let f2 = fd.clone();
            let t = thread::spawn(move || {
                // SAFETY: pthread_self is always valid.
                let me = unsafe { libc::pthread_self() };
                (me, wait_forever(&f2))
            });
            // Get the waiter's pthread id only after it returns; so signal by polling waiters.
            let t0 = Instant::now();
            while ok("info", info(&fd))?.waiters < 1 && t0.elapsed() < Duration::from_secs(5) {
                thread::sleep(Duration::from_millis(5));
            }
            // The thread is alive and blocked in WAIT.
            interrupt(&t);
            let (_, r) = t.join().unwrap();
            expect_err("interrupted wait", r, libc::EINTR)?;
            check!(ok("info", info(&fd))?.waiters == 0, "waiter still counted");
            ok("complete", complete(&fd))?;
            ok("count survives", try_wait(&fd))?;
            // A completion racing with the signal is not lost either.
            for _ in 0..50 {
                let t = waiter(&fd, 2000);
                thread::sleep(Duration::from_millis(2));
                ok("complete", complete(&fd))?;
                // The thread may have finished.
                interrupt(&t);
                match t.join().unwrap() {
                    Ok(()) => {}
                    Err(libc::EINTR) => ok("count after EINTR", try_wait(&fd))?,
                    Err(e) => return Err(format!("racing wait: {}", errname(e))),
                }
                check!(!ok("done", done(&fd))?, "extra count left");
            }
            ok("unlink", unlink(dev, "t.signal"))
        },
    );

    s.case(
        "UNLINK while a thread waits: the fd still works, the name is free",
        || {
            let fd = Arc::new(ok("create", create(dev, "t.unlinkwait"))?);
            let id = ok("info", info(&fd))?.id;
            let t = waiter(&fd, 5000);
            thread::sleep(Duration::from_millis(50));
            ok("unlink", unlink(dev, "t.unlinkwait"))?;
            expect_err("open after unlink", open(dev, "t.unlinkwait"), libc::ENOENT)?;
            let again = ok("create again", create_excl(dev, "t.unlinkwait"))?;
            check!(
                ok("info", info(&again))?.id != id,
                "same id reused while alive"
            );
            check!(
                ok("info", info(&fd))?.flags & KC_INFO_LINKED == 0,
                "old still linked"
            );
            ok("complete old", complete(&fd))?;
            ok("waiter", t.join().unwrap())?;
            check!(!ok("done", done(&again))?, "new object saw old completion");
            ok("unlink", unlink(dev, "t.unlinkwait"))
        },
    );

    s.case(
        "closing one fd while another thread waits on another fd is safe",
        || {
            let a = Arc::new(ok("create", create(dev, "t.closewait"))?);
            let b = ok("open", open(dev, "t.closewait"))?;
            let t = waiter(&a, 5000);
            thread::sleep(Duration::from_millis(50));
            check!(ok("info", info(&b))?.handles == 2, "handles != 2");
            ok("complete via b", complete(&b))?;
            drop(b);
            ok("waiter", t.join().unwrap())?;
            check!(
                ok("info", info(&a))?.handles == 1,
                "handles != 1 after close"
            );
            ok("unlink", unlink(dev, "t.closewait"))
        },
    );
}
