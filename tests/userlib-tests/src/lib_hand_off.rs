//! The library on the hand-off (issue 18): `a.complete_and_wait(&b, timeout)` and its
//! `_until` and `complete_all_` variants (`KC_IOC_COMPLETE_AND_WAIT`): what each side holds
//! afterwards, timeouts and signals (the completion stays made), the same object on both sides,
//! the access each side needs (nothing happens when a check fails), the error's names, and a
//! ping-pong of two threads that each complete and wait in one call.

use crate::common::*;
use kcompletion_test_harness::signal;
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Two new objects of their own: names, the guard, the read-write handles.
fn pair(tag: &str) -> Result<(String, String, Cleanup, Completion, Completion), String> {
    let (an, bn) = (name(&format!("{tag}-a")), name(&format!("{tag}-b")));
    let g = cleanup(&[&an, &bn]);
    let a = create(&an)?;
    let b = create(&bn)?;
    Ok((an, bn, g, a, b))
}

/// `done` of the object behind `c` (through a handle of its own if `c` cannot read).
fn done(c: &Completion) -> Result<u32, String> {
    Ok(ok(c.info())?.done)
}

fn caw_other_done() -> R {
    let (_, _, _g, a, b) = pair("caw")?;
    ok(b.complete())?;
    let t = Instant::now();
    ok(a.complete_and_wait(&b, Some(Duration::from_secs(10))))?;
    ensure!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    ensure!(done(&a)? == 1, "a not completed once: {}", done(&a)?);
    ensure!(done(&b)? == 0, "b not consumed: {}", done(&b)?);
    // Counted: two pending on b, one call consumes one of them.
    ok(b.complete())?;
    ok(b.complete())?;
    ok(a.complete_and_wait(&b, None))?;
    ensure!(
        done(&a)? == 2 && done(&b)? == 1,
        "a {} b {}",
        done(&a)?,
        done(&b)?
    );
    ok(a.complete_and_wait(&b, Some(Duration::ZERO)))?;
    ensure!(
        done(&a)? == 3 && done(&b)? == 0,
        "a {} b {}",
        done(&a)?,
        done(&b)?
    );
    // A timeout too long for the clock waits for ever (b is done, so it returns).
    ok(b.complete())?;
    ok(a.complete_and_wait(&b, Some(Duration::MAX)))?;
    ensure!(done(&a)? == 4 && done(&b)? == 0);
    Ok(())
}

fn caw_timeout_keeps_completion() -> R {
    let (an, bn, _g, a, b) = pair("cawto")?;
    let t = Instant::now();
    let e = a
        .complete_and_wait(&b, Some(Duration::from_millis(50)))
        .unwrap_err();
    let el = t.elapsed();
    ensure!(
        e.kind() == ErrorKind::Timeout && e.raw_os_error() == Some(libc::ETIMEDOUT),
        "{e} ({:?})",
        e.kind()
    );
    ensure!(
        el >= Duration::from_millis(50) && el < Duration::from_secs(5),
        "{el:?}"
    );
    ensure!(
        e.to_string() == format!("complete_and_wait \"{an} then {bn}\": timed out after 50 ms"),
        "{e}"
    );
    ensure!(e.operation() == "complete_and_wait", "{}", e.operation());
    ensure!(
        e.name() == Some(&*format!("{an} then {bn}")),
        "{:?}",
        e.name()
    );
    ensure!(ok(a.try_wait())?, "the timeout took back a's completion");
    ensure!(!ok(a.try_wait())?, "a completed more than once");
    ensure!(done(&b)? == 0 && waiters(&b) == 0, "{:?}", ok(b.info())?);
    // A zero timeout only tries: a is completed all the same.
    fails(
        a.complete_and_wait(&b, Some(Duration::ZERO)),
        ErrorKind::Timeout,
        Some(libc::ETIMEDOUT),
    )?;
    ensure!(done(&a)? == 1);
    Ok(())
}

fn caw_until() -> R {
    let (_, _, _g, a, b) = pair("cawuntil")?;
    let t = Instant::now();
    fails(
        a.complete_and_wait_until(&b, Deadline::from_monotonic_ns(1)),
        ErrorKind::Timeout,
        Some(libc::ETIMEDOUT),
    )?;
    ensure!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let t = Instant::now();
    fails(
        a.complete_and_wait_until(&b, Instant::now() + Duration::from_millis(30)),
        ErrorKind::Timeout,
        None,
    )?;
    ensure!(
        t.elapsed() >= Duration::from_millis(29),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    fails(
        a.complete_and_wait_until(&b, SystemTime::now() + Duration::from_millis(30)),
        ErrorKind::Timeout,
        None,
    )?;
    ensure!(
        t.elapsed() >= Duration::from_millis(25),
        "{:?}",
        t.elapsed()
    );
    ensure!(done(&a)? == 3, "each call completed a once: {}", done(&a)?);
    ok(b.complete())?;
    ok(a.complete_and_wait_until(&b, Deadline::NEVER))?;
    ensure!(done(&a)? == 4 && done(&b)? == 0);
    Ok(())
}

fn caw_wakes_peer() -> R {
    // The peer thread waits on a, then completes b: complete_and_wait wakes it and waits for
    // its answer.
    let (an, _, _g, a, b) = pair("cawpeer")?;
    let peer_a = ok(Completion::open_with(&an, Access::Read))?;
    let peer_b = b.try_clone().map_err(|e| e.to_string())?;
    let h = std::thread::spawn(move || -> kcompletion::Result<()> {
        peer_a.wait(Some(Duration::from_secs(10)))?;
        peer_b.complete()
    });
    ensure!(
        wait_for(5000, || waiters(&a) == 1),
        "the peer never blocked"
    );
    ok(a.complete_and_wait(&b, Some(Duration::from_secs(10))))?;
    ok(h.join().map_err(|_| "peer panicked")?)?;
    let (ia, ib) = (ok(a.info())?, ok(b.info())?);
    ensure!(ia.done == 0 && ia.waiters == 0, "{ia:?}");
    ensure!(ib.done == 0 && ib.waiters == 0, "{ib:?}");
    Ok(())
}

fn caw_same_object() -> R {
    let (_, _g, a) = object("cawsame")?;
    ok(a.complete_and_wait(&a, Some(Duration::ZERO)))?;
    ensure!(done(&a)? == 0, "not consumed: {}", done(&a)?);
    ok(a.complete_and_wait(&a, None))?;
    ensure!(done(&a)? == 0);
    // Through a second handle of the same object, too.
    ok(a.complete())?;
    let a2 = ok(Completion::open(a.name()))?;
    ok(a.complete_and_wait(&a2, Some(Duration::ZERO)))?;
    ensure!(done(&a)? == 1, "{}", done(&a)?);
    // complete_all on both sides: stays completed for everyone.
    ok(a.complete_all_and_wait(&a, Some(Duration::ZERO)))?;
    let i = ok(a.info())?;
    ensure!(i.is_completed_all() && i.done == u32::MAX, "{i:?}");
    Ok(())
}

fn caw_all() -> R {
    let (_, _, _g, a, b) = pair("cawall")?;
    let hs = spawn_waiters(&a, 3, Duration::from_secs(10));
    ensure!(
        wait_for(5000, || waiters(&a) == 3),
        "waiters: {}",
        waiters(&a)
    );
    fails(
        a.complete_all_and_wait(&b, Some(Duration::from_millis(50))),
        ErrorKind::Timeout,
        Some(libc::ETIMEDOUT),
    )?;
    for h in hs {
        ok(h.join().map_err(|_| "waiter panicked")?)?;
    }
    let i = ok(a.info())?;
    ensure!(i.is_completed_all() && i.done == u32::MAX, "{i:?}");
    ok(a.reinit())?;
    ok(b.complete())?;
    ok(a.complete_all_and_wait_until(&b, Deadline::NEVER))?;
    ensure!(ok(a.info())?.is_completed_all());
    ensure!(done(&b)? == 0);
    for _ in 0..3 {
        ok(a.wait(Some(Duration::ZERO)))?;
    }
    Ok(())
}

fn caw_interrupted() -> R {
    let (an, bn, _g, a, b) = pair("caweintr")?;
    signal::interrupt_on(libc::SIGUSR1);
    let tid = Arc::new(AtomicU64::new(0));
    let (a2, b2) = (
        a.try_clone().map_err(|e| e.to_string())?,
        b.try_clone().map_err(|e| e.to_string())?,
    );
    let tid2 = tid.clone();
    let h = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tid2.store(unsafe { libc::pthread_self() } as u64, Ordering::SeqCst);
        let t = Instant::now();
        (
            a2.complete_and_wait(&b2, Some(Duration::from_secs(10))),
            t.elapsed(),
        )
    });
    ensure!(wait_for(5000, || waiters(&b) == 1), "never blocked on b");
    ensure!(done(&a)? == 1, "a not completed before the wait");
    // SAFETY: the thread is alive (it is blocked in the wait).
    let rc =
        unsafe { libc::pthread_kill(tid.load(Ordering::SeqCst) as libc::pthread_t, libc::SIGUSR1) };
    ensure!(rc == 0);
    let (r, el) = h.join().map_err(|_| "thread panicked")?;
    let e = r.unwrap_err();
    ensure!(
        e.kind() == ErrorKind::Interrupted && e.raw_os_error() == Some(libc::EINTR),
        "{e} ({:?})",
        e.kind()
    );
    ensure!(
        e.to_string() == format!("complete_and_wait \"{an} then {bn}\": interrupted by a signal"),
        "{e}"
    );
    ensure!(el < Duration::from_secs(5), "{el:?}");
    ensure!(done(&a)? == 1, "the signal took back a's completion");
    ensure!(waiters(&b) == 0 && done(&b)? == 0);
    Ok(())
}

fn caw_access() -> R {
    let (an, bn, _g, a, b) = pair("cawacc")?;
    let ar = ok(Completion::open_with(&an, Access::Read))?;
    let bw = ok(Completion::open_with(&bn, Access::Write))?;
    let bad = |r: kcompletion::Result<()>, both: &str| -> R {
        let e = r.err().ok_or("expected BadAccess, got Ok")?;
        ensure!(
            e.kind() == ErrorKind::BadAccess && e.raw_os_error() == Some(libc::EBADF),
            "{e} ({:?})",
            e.kind()
        );
        ensure!(
            e.to_string()
                == format!(
                    "complete_and_wait \"{both}\": the handle lacks the access this operation needs"
                ),
            "{e}"
        );
        Ok(())
    };
    // The side to complete is read-only: nothing completed, nothing consumed.
    ok(b.complete())?;
    bad(
        ar.complete_and_wait(&b, Some(Duration::ZERO)),
        &format!("{an} then {bn}"),
    )?;
    ensure!(done(&a)? == 0, "a completed through a read-only handle");
    ensure!(done(&b)? == 1, "b consumed although the call failed");
    // The side to wait on is write-only: a is not completed.
    bad(
        a.complete_and_wait(&bw, Some(Duration::ZERO)),
        &format!("{an} then {bn}"),
    )?;
    bad(
        a.complete_all_and_wait(&bw, Some(Duration::ZERO)),
        &format!("{an} then {bn}"),
    )?;
    ensure!(
        done(&a)? == 0,
        "a completed although the wait side cannot be waited on"
    );
    ensure!(!ok(a.info())?.is_completed_all());
    ensure!(done(&b)? == 1);
    // Both wrong.
    bad(
        ar.complete_and_wait(&bw, Some(Duration::ZERO)),
        &format!("{an} then {bn}"),
    )?;
    ensure!(done(&a)? == 0 && done(&b)? == 1);
    // Write-only to complete, read-only to wait on: enough.
    let aw = ok(Completion::open_with(&an, Access::Write))?;
    let br = ok(Completion::open_with(&bn, Access::Read))?;
    ok(aw.complete_and_wait(&br, Some(Duration::ZERO)))?;
    ensure!(done(&a)? == 1 && done(&b)? == 0);
    Ok(())
}

fn caw_bad_fds() -> R {
    let (bn, _g, b) = object("cawfd")?;
    ok(b.complete())?;
    // A descriptor that is not a completion object on the complete side: EINVAL.
    let null: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(|e| e.to_string())?
        .into();
    let null = Completion::from_fd(null);
    let e = null
        .complete_and_wait(&b, Some(Duration::ZERO))
        .err()
        .ok_or("Ok with /dev/null to complete")?;
    ensure!(
        e.kind() == ErrorKind::InvalidArgument && e.raw_os_error() == Some(libc::EINVAL),
        "{e} ({:?})",
        e.kind()
    );
    ensure!(e.name() == Some(&*format!(" then {bn}")), "{:?}", e.name());
    ensure!(done(&b)? == 1, "b consumed although the call failed");
    // A closed descriptor on the complete side: EBADF.
    // SAFETY: a descriptor number nothing has open (far above any fd of this process); the
    // handle is never dropped, so nothing closes it.
    let closed = ManuallyDrop::new(unsafe { Completion::from_raw_fd(987_654) });
    fails(
        closed.complete_and_wait(&b, Some(Duration::ZERO)),
        ErrorKind::BadAccess,
        Some(libc::EBADF),
    )?;
    ensure!(done(&b)? == 1, "b consumed although the call failed");
    // /dev/null as the side to wait on: not our ioctl (ENOTTY), nothing completed.
    let (_, _g2, a) = object("cawfd2")?;
    let e = a
        .complete_and_wait(&null, Some(Duration::ZERO))
        .err()
        .ok_or("Ok waiting on /dev/null")?;
    ensure!(e.raw_os_error() == Some(libc::ENOTTY), "{e}");
    ensure!(done(&a)? == 0, "a completed although the call failed");
    Ok(())
}

fn caw_pingpong_threads() -> R {
    // Two threads hand a token back and forth, each with complete_and_wait; after every
    // round, the side that got the token checks that nothing else is pending on either object.
    const ROUNDS: u32 = 10_000;
    let (_, _, _g, ping, pong) = pair("cawpp")?;
    let (p2, q2) = (
        ping.try_clone().map_err(|e| e.to_string())?,
        pong.try_clone().map_err(|e| e.to_string())?,
    );
    let peer = std::thread::spawn(move || -> Result<u32, String> {
        let t = Some(Duration::from_secs(20));
        ok(p2.wait(t)).map_err(|e| format!("peer: first ping: {e}"))?;
        for i in 1..=ROUNDS {
            if ok(p2.is_done())? || ok(q2.is_done())? {
                return Err(format!("peer, round {i}: a completion is pending"));
            }
            if i == ROUNDS {
                ok(q2.complete())?;
            } else {
                ok(q2.complete_and_wait(&p2, t)).map_err(|e| format!("peer, round {i}: {e}"))?;
            }
        }
        Ok(ROUNDS)
    });
    let t = Some(Duration::from_secs(20));
    let mut r = Ok(());
    for i in 1..=ROUNDS {
        if let Err(e) = ping.complete_and_wait(&pong, t) {
            r = Err(format!("round {i}: {e}"));
            break;
        }
        if ok(ping.is_done())? || ok(pong.is_done())? {
            r = Err(format!("round {i}: a completion is pending"));
            break;
        }
    }
    if r.is_err() {
        // Let the peer run out (its waits time out otherwise).
        let _ = ping.complete_all();
    }
    let peer_rounds = peer.join().map_err(|_| "peer panicked")?;
    r?;
    ensure!(peer_rounds? == ROUNDS);
    ensure!(done(&ping)? == 0 && done(&pong)? == 0);
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "library: complete_and_wait completes a, consumes one of b",
        caw_other_done,
    ),
    (
        "library: complete_and_wait timeout is Timeout, a stays completed",
        caw_timeout_keeps_completion,
    ),
    (
        "library: complete_and_wait_until with Deadline, Instant, SystemTime",
        caw_until,
    ),
    (
        "library: complete_and_wait wakes a peer and waits for its answer",
        caw_wakes_peer,
    ),
    (
        "library: complete_and_wait on the same object consumes its own completion",
        caw_same_object,
    ),
    (
        "library: complete_all_and_wait wakes every waiter of a",
        caw_all,
    ),
    (
        "library: a signal interrupts complete_and_wait, a stays completed",
        caw_interrupted,
    ),
    (
        "library: complete_and_wait without write on a or read on b is BadAccess, does nothing",
        caw_access,
    ),
    (
        "library: complete_and_wait with a closed or foreign fd fails, does nothing",
        caw_bad_fds,
    ),
    (
        "library: complete_and_wait ping-pong of two threads, 10000 rounds",
        caw_pingpong_threads,
    ),
];
