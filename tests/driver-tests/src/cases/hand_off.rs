//! COMPLETE_AND_WAIT: one call completes one object and waits on another. What it completes,
//! what it consumes, what a failed wait keeps, every error (none of them completes or
//! consumes anything), the access each fd needs, and ping-pongs with every round checked:
//! 100,000 rounds between two processes on one CPU, and shorter ones across two CPUs
//! (between threads and between processes), where every wake-up is an IPI (milliseconds
//! under TCG with the host's cores shared: 100,000 rounds there took 253 s).

use super::{as_user, expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::cpus::{pin_spread, unpin};
use kcompletion_driver_tests::os;
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Rounds of the same-CPU ping-pong.
const ROUNDS: u64 = 100_000;
/// Rounds of the cross-CPU ping-pongs.
const ROUNDS_XCPU: u64 = 5_000;

/// Waits (at most 5 s) until `fd`'s object has `n` waiters.
fn until_waiters(fd: &OwnedFd, n: u32) -> Result<(), String> {
    let t0 = Instant::now();
    while ok("info", info(fd))?.waiters < n {
        if t0.elapsed() > Duration::from_secs(5) {
            return Err(format!("no {n} waiters after 5 s"));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// `(done of a, done of b)`.
fn counts(a: &OwnedFd, b: &OwnedFd) -> Result<(u32, u32), String> {
    Ok((ok("info a", info(a))?.done, ok("info b", info(b))?.done))
}

/// One side of a ping-pong over `turn`: `me` is 0 (starts) or 1. Each round this side
/// checks that it is its turn (the peer's last write is visible: the hand-off orders
/// memory), takes the turn, and hands off with one COMPLETE_AND_WAIT (the starter begins
/// with it; the answerer first waits, and only completes in its last round).
fn ping_pong_side(
    me: u64,
    rounds: u64,
    mine: &OwnedFd,
    theirs: &OwnedFd,
    turn: &AtomicU64,
) -> Result<(), String> {
    // A side that failed leaves its peer waiting: the deadline ends that wait.
    let soon = || now_ns(libc::CLOCK_MONOTONIC) + 10_000_000_000;
    if me == 1 {
        ok("first wait", wait_deadline(mine, soon(), 0))?;
    }
    for round in 0..rounds {
        let want = 2 * round + me;
        let seen = turn.load(Ordering::Relaxed);
        if seen != want {
            return Err(format!(
                "side {me}, round {round}: turn {seen}, want {want}"
            ));
        }
        turn.store(want + 1, Ordering::Relaxed);
        if me == 1 && round == rounds - 1 {
            ok("last complete", complete(theirs))?;
        } else {
            let r = complete_and_wait(mine, theirs.as_raw_fd(), soon(), 0);
            ok(&format!("side {me}, round {round}"), r)?;
        }
    }
    Ok(())
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "COMPLETE_AND_WAIT completes the other object, then consumes one of this one",
        || {
            let a = ok("create", create(dev, "t.caw.a"))?;
            let b = ok("create", create(dev, "t.caw.b"))?;
            ok("complete b", complete(&b))?;
            ok("complete b", complete(&b))?;
            ok(
                "caw",
                complete_and_wait(&b, a.as_raw_fd(), KC_DEADLINE_NEVER, 0),
            )?;
            check!(
                counts(&a, &b)? == (1, 1),
                "done (a, b) = {:?}",
                counts(&a, &b)?
            );
            ok("unlink", unlink(dev, "t.caw.a"))?;
            ok("unlink", unlink(dev, "t.caw.b"))
        },
    );

    s.case(
        "COMPLETE_AND_WAIT completes before it sleeps, and returns when the other side answers",
        || {
            let a = Arc::new(ok("create", create(dev, "t.caw.sleep.a"))?);
            let b = Arc::new(ok("create", create(dev, "t.caw.sleep.b"))?);
            let (a2, b2) = (a.clone(), b.clone());
            let t = thread::spawn(move || {
                complete_and_wait(&*b2, a2.as_raw_fd(), KC_DEADLINE_NEVER, 0)
            });
            until_waiters(&b, 1)?;
            let asleep = counts(&a, &b)?;
            ok("answer", complete(&b))?;
            ok("caw", t.join().unwrap())?;
            check!(asleep == (1, 0), "while it slept: done (a, b) = {asleep:?}");
            check!(counts(&a, &b)? == (1, 0), "after: {:?}", counts(&a, &b)?);
            ok("unlink", unlink(dev, "t.caw.sleep.a"))?;
            ok("unlink", unlink(dev, "t.caw.sleep.b"))
        },
    );

    s.case(
        "COMPLETE_AND_WAIT: ETIMEDOUT and EINTR keep the completion made, consume nothing",
        || {
            let a = Arc::new(ok("create", create(dev, "t.caw.fail.a"))?);
            let b = Arc::new(ok("create", create(dev, "t.caw.fail.b"))?);
            let deadline = now_ns(libc::CLOCK_MONOTONIC) + 30_000_000;
            expect_err(
                "timed out",
                complete_and_wait(&*b, a.as_raw_fd(), deadline, 0),
                libc::ETIMEDOUT,
            )?;
            check!(
                now_ns(libc::CLOCK_MONOTONIC) >= deadline,
                "returned before the deadline"
            );
            check!(
                counts(&a, &b)? == (1, 0),
                "after ETIMEDOUT: {:?}",
                counts(&a, &b)?
            );
            let realtime = now_ns(libc::CLOCK_REALTIME) + 10_000_000;
            expect_err(
                "realtime deadline",
                complete_and_wait(&*b, a.as_raw_fd(), realtime, KC_WAIT_REALTIME),
                libc::ETIMEDOUT,
            )?;
            check!(
                counts(&a, &b)? == (2, 0),
                "after realtime: {:?}",
                counts(&a, &b)?
            );
            let (a2, b2) = (a.clone(), b.clone());
            let t = thread::spawn(move || {
                complete_and_wait(&*b2, a2.as_raw_fd(), KC_DEADLINE_NEVER, 0)
            });
            until_waiters(&b, 1)?;
            // SAFETY: `t` is not joined yet, so its pthread id names it.
            unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGUSR1) };
            expect_err("interrupted", t.join().unwrap(), libc::EINTR)?;
            check!(
                counts(&a, &b)? == (3, 0),
                "after EINTR: {:?}",
                counts(&a, &b)?
            );
            ok("unlink", unlink(dev, "t.caw.fail.a"))?;
            ok("unlink", unlink(dev, "t.caw.fail.b"))
        },
    );

    s.case(
        "COMPLETE_AND_WAIT_ALL complete-alls the other object; the same object on both sides takes its own completion",
        || {
            let a = ok("create", create(dev, "t.caw.all.a"))?;
            let b = ok("create", create(dev, "t.caw.all.b"))?;
            ok("complete b", complete(&b))?;
            ok(
                "caw all",
                complete_and_wait(&b, a.as_raw_fd(), KC_DEADLINE_NEVER, KC_COMPLETE_AND_WAIT_ALL),
            )?;
            check!(
                counts(&a, &b)? == (KC_DONE_ALL, 0),
                "after ALL: {:?}",
                counts(&a, &b)?
            );
            ok("same object", complete_and_wait(&b, b.as_raw_fd(), 0, 0))?;
            check!(!ok("done", done(&b))?, "the same object kept a completion");
            ok("unlink", unlink(dev, "t.caw.all.a"))?;
            ok("unlink", unlink(dev, "t.caw.all.b"))
        },
    );

    s.case(
        "COMPLETE_AND_WAIT errors (access of each fd, bad and foreign fds, flags, deadline, pointer) complete and consume nothing",
        || {
            let a = ok("create", create(dev, "t.caw.err.a"))?;
            let b = ok("create", create(dev, "t.caw.err.b"))?;
            ok("complete b", complete(&b))?;
            let a_read = ok("open a r", open_access(dev, "t.caw.err.a", KC_ACCESS_READ))?;
            let b_write = ok("open b w", open_access(dev, "t.caw.err.b", KC_ACCESS_WRITE))?;
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            // Closed at once; nothing is opened after it in this case.
            let closed = ok("open a", open(dev, "t.caw.err.a"))?.as_raw_fd();
            let never = KC_DEADLINE_NEVER;
            let cases: [(&str, &dyn AsRawFd, i32, u64, u32, i32); 10] = [
                ("complete fd read-only", &b, a_read.as_raw_fd(), never, 0, libc::EBADF),
                ("wait fd write-only", &b_write, a.as_raw_fd(), never, 0, libc::EBADF),
                ("complete fd closed", &b, closed, never, 0, libc::EBADF),
                ("complete fd -1", &b, -1, never, 0, libc::EBADF),
                ("complete fd /dev/null", &b, null.as_raw_fd(), never, 0, libc::EINVAL),
                ("complete fd /dev/kcompletion", &b, dev.as_raw_fd(), never, 0, libc::EINVAL),
                ("unknown flag", &b, a.as_raw_fd(), never, 4, libc::EINVAL),
                ("all flags", &b, a.as_raw_fd(), never, u32::MAX, libc::EINVAL),
                ("deadline above INT64_MAX", &b, a.as_raw_fd(), 1 << 63, 0, libc::EINVAL),
                (
                    "wait on /dev/kcompletion",
                    dev,
                    a.as_raw_fd(),
                    never,
                    0,
                    libc::ENOTTY,
                ),
            ];
            for (what, wait_fd, complete_fd, deadline, flags, want) in cases {
                expect_err(
                    what,
                    complete_and_wait(&wait_fd.as_raw_fd(), complete_fd, deadline, flags),
                    want,
                )?;
                check!(counts(&a, &b)? == (0, 1), "after {what}: {:?}", counts(&a, &b)?);
            }
            for (what, addr) in [("NULL", 0usize), ("unmapped", 8usize), ("kernel", usize::MAX - 4095)]
            {
                expect_err(
                    what,
                    ioctl_raw(b.as_raw_fd(), KC_IOC_COMPLETE_AND_WAIT, addr),
                    libc::EFAULT,
                )?;
            }
            check!(counts(&a, &b)? == (0, 1), "after EFAULT: {:?}", counts(&a, &b)?);
            ok("unlink", unlink(dev, "t.caw.err.a"))?;
            ok("unlink", unlink(dev, "t.caw.err.b"))
        },
    );

    s.case(
        "COMPLETE_AND_WAIT as a non-root user: the object modes decide, per fd",
        || {
            // a: others may read only; b: others may read and write.
            let a = ok("create", create_mode(dev, "t.caw.perm.a", 0o644, 0))?;
            let b = ok("create", create_mode(dev, "t.caw.perm.b", 0o666, 0))?;
            ok("complete a", complete(&a))?;
            as_user(1000, 1000, || {
                let dev = open_dev();
                let a = ok(
                    "open a r",
                    open_access(&dev, "t.caw.perm.a", KC_ACCESS_READ),
                )?;
                let b = ok("open b rw", open(&dev, "t.caw.perm.b"))?;
                expect_err(
                    "completing a read-only object",
                    complete_and_wait(&b, a.as_raw_fd(), 0, 0),
                    libc::EBADF,
                )?;
                // b completed, a (readable) waited on: allowed.
                ok(
                    "complete b, wait a",
                    complete_and_wait(&a, b.as_raw_fd(), 0, 0),
                )
            })?;
            check!(counts(&a, &b)? == (0, 1), "after: {:?}", counts(&a, &b)?);
            ok("unlink", unlink(dev, "t.caw.perm.a"))?;
            ok("unlink", unlink(dev, "t.caw.perm.b"))
        },
    );

    s.case(
        &format!("COMPLETE_AND_WAIT ping-pong: {ROUNDS_XCPU} rounds between two threads on different CPUs, every round checked"),
        || {
            let a = Arc::new(ok("create", create(dev, "t.caw.pp.a"))?);
            let b = Arc::new(ok("create", create(dev, "t.caw.pp.b"))?);
            let turn = Arc::new(AtomicU64::new(0));
            let (a2, b2, turn2) = (a.clone(), b.clone(), turn.clone());
            let t0 = Instant::now();
            let peer = thread::spawn(move || {
                pin_spread(1);
                ping_pong_side(1, ROUNDS_XCPU, &b2, &a2, &turn2)
            });
            pin_spread(0);
            let mine = ping_pong_side(0, ROUNDS_XCPU, &a, &b, &turn);
            unpin();
            if mine.is_err() {
                // Let the peer out.
                let _ = complete(&b);
            }
            let theirs = peer.join().unwrap();
            mine?;
            theirs?;
            println!(
                "# {ROUNDS_XCPU} threaded rounds across CPUs in {} ms",
                t0.elapsed().as_millis()
            );
            check!(counts(&a, &b)? == (0, 0), "left: {:?}", counts(&a, &b)?);
            check!(turn.load(Ordering::Relaxed) == 2 * ROUNDS_XCPU, "turns");
            ok("unlink", unlink(dev, "t.caw.pp.a"))?;
            ok("unlink", unlink(dev, "t.caw.pp.b"))
        },
    );

    for (rounds, cpus) in [(ROUNDS, (0, 0)), (ROUNDS_XCPU, (0, 1))] {
        let place = if cpus.0 == cpus.1 {
            "on one CPU"
        } else {
            "on different CPUs"
        };
        s.case(
            &format!("COMPLETE_AND_WAIT ping-pong: {rounds} rounds between two processes {place}, every round checked"),
            || processes(dev, rounds, cpus),
        );
    }
}

/// A ping-pong of `rounds` between this process (on CPU `cpus.0`) and a child (`cpus.1`).
fn processes(dev: &OwnedFd, rounds: u64, cpus: (usize, usize)) -> Result<(), String> {
    let a = ok("create", create(dev, "t.caw.pp2.a"))?;
    let b = ok("create", create(dev, "t.caw.pp2.b"))?;
    let page = os::map_anon(4096, libc::MAP_SHARED);
    // SAFETY: The page is mapped, shared, aligned and zeroed; both processes use it only as
    // this one atomic.
    let turn = unsafe { &*page.cast::<AtomicU64>() };
    let t0 = Instant::now();
    // SAFETY: The suite is single-threaded here; the child runs its side and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        pin_spread(cpus.1);
        let code = match ping_pong_side(1, rounds, &b, &a, turn) {
            Ok(()) => 0,
            Err(why) => {
                println!("# child: {why}");
                1
            }
        };
        // SAFETY: Ends the child without the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    pin_spread(cpus.0);
    let mine = ping_pong_side(0, rounds, &a, &b, turn);
    unpin();
    if mine.is_err() {
        os::kill(pid);
    }
    let (_, status) = os::reap(pid);
    mine?;
    check!(os::exited_ok(status), "child status {status:#x}");
    println!(
        "# {rounds} rounds between processes on CPUs {cpus:?} in {} ms",
        t0.elapsed().as_millis()
    );
    check!(counts(&a, &b)? == (0, 0), "left: {:?}", counts(&a, &b)?);
    check!(turn.load(Ordering::Relaxed) == 2 * rounds, "turns");
    // SAFETY: Our mapping; nothing uses it any more.
    unsafe { libc::munmap(page, 4096) };
    ok("unlink", unlink(dev, "t.caw.pp2.a"))?;
    ok("unlink", unlink(dev, "t.caw.pp2.b"))
}
