//! The library on completing and waiting: complete, try_wait, is_done, counting, timeouts and
//! deadlines on every clock, complete_all and reinit, and wake-ups of waiting threads.

use crate::common::*;

fn lib_complete_trywait_done() -> R {
    let (_, _g, c) = object("basic")?;
    ensure!(!ok(c.is_done())?);
    ensure!(!ok(c.try_wait())?);
    ok(c.complete())?;
    ensure!(ok(c.is_done())?);
    ensure!(ok(c.is_done())?, "is_done consumed");
    ensure!(ok(c.try_wait())?);
    ensure!(!ok(c.try_wait())?);
    ensure!(!ok(c.is_done())?);
    Ok(())
}

fn lib_counting() -> R {
    let (_, _g, c) = object("count")?;
    for _ in 0..3 {
        ok(c.complete())?;
    }
    ensure!(ok(c.info())?.done == 3);
    for _ in 0..3 {
        ok(c.wait(Some(Duration::ZERO)))?;
    }
    fails(
        c.wait(Some(Duration::ZERO)),
        ErrorKind::Timeout,
        Some(libc::ETIMEDOUT),
    )?;
    ensure!(ok(c.info())?.done == 0);
    Ok(())
}

fn lib_wait_timeout() -> R {
    let (n, _g, c) = object("timeout")?;
    let t = Instant::now();
    let e = c.wait(Some(Duration::from_millis(50))).unwrap_err();
    let el = t.elapsed();
    ensure!(
        e.kind() == ErrorKind::Timeout && e.raw_os_error() == Some(libc::ETIMEDOUT),
        "{e}"
    );
    ensure!(
        el >= Duration::from_millis(50) && el < Duration::from_secs(5),
        "{el:?}"
    );
    ensure!(
        e.to_string() == format!("wait \"{n}\": timed out after 50 ms"),
        "{e}"
    );
    Ok(())
}

fn lib_wait_until() -> R {
    let (_, _g, c) = object("until")?;
    let t = Instant::now();
    fails(
        c.wait_until(Deadline::from_monotonic_ns(1)),
        ErrorKind::Timeout,
        None,
    )?;
    ensure!(t.elapsed() < Duration::from_secs(1));
    let t = Instant::now();
    fails(
        c.wait_until(Instant::now() + Duration::from_millis(30)),
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
        c.wait_until(SystemTime::now() + Duration::from_millis(30)),
        ErrorKind::Timeout,
        None,
    )?;
    ensure!(
        t.elapsed() >= Duration::from_millis(25),
        "{:?}",
        t.elapsed()
    );
    ok(c.complete())?;
    ok(c.wait_until(Deadline::NEVER))?;
    Ok(())
}

fn lib_complete_all_reinit() -> R {
    let (_, _g, c) = object("all")?;
    ok(c.complete_all())?;
    let i = ok(c.info())?;
    ensure!(i.is_completed_all() && i.done == u32::MAX, "{i:?}");
    for _ in 0..5 {
        ok(c.wait(None))?;
        ensure!(ok(c.try_wait())?);
    }
    ok(c.complete())?;
    ensure!(
        ok(c.info())?.done == u32::MAX,
        "complete after complete_all changed done"
    );
    ok(c.reinit())?;
    ensure!(ok(c.info())?.done == 0);
    ensure!(!ok(c.try_wait())?);
    fails(
        c.wait(Some(Duration::from_millis(1))),
        ErrorKind::Timeout,
        None,
    )?;
    Ok(())
}

fn lib_thread_wakeup() -> R {
    let (n, _g, c) = object("wake")?;
    let c2 = ok(Completion::open_with(&n, Access::Read))?;
    let h = std::thread::spawn(move || c2.wait(Some(Duration::from_secs(10))));
    ensure!(wait_for(5000, || waiters(&c) == 1), "waiter never blocked");
    let t = Instant::now();
    ok(c.complete())?;
    let r = h.join().map_err(|_| "waiter panicked")?;
    ok(r)?;
    ensure!(t.elapsed() < Duration::from_secs(5));
    let i = ok(c.info())?;
    ensure!(i.done == 0 && i.waiters == 0, "{i:?}");
    Ok(())
}

fn lib_complete_all_wakes_all() -> R {
    let (_, _g, c) = object("wakeall")?;
    let hs = spawn_waiters(&c, 3, Duration::from_secs(10));
    ensure!(
        wait_for(5000, || waiters(&c) == 3),
        "waiters: {}",
        waiters(&c)
    );
    ok(c.complete_all())?;
    for h in hs {
        ok(h.join().map_err(|_| "waiter panicked")?)?;
    }
    Ok(())
}

fn lib_complete_wakes_one() -> R {
    let (_, _g, c) = object("wakeone")?;
    let hs = spawn_waiters(&c, 2, Duration::from_millis(1500));
    ensure!(
        wait_for(1000, || waiters(&c) == 2),
        "waiters: {}",
        waiters(&c)
    );
    ok(c.complete())?;
    let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let woke = rs.iter().filter(|r| r.is_ok()).count();
    let timed_out = rs
        .iter()
        .filter(|r| matches!(r, Err(e) if e.kind() == ErrorKind::Timeout))
        .count();
    ensure!(woke == 1 && timed_out == 1, "{rs:?}");
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "library: complete, try_wait, is_done",
        lib_complete_trywait_done,
    ),
    ("library: completions are counted", lib_counting),
    (
        "library: wait timeout is Timeout after the timeout",
        lib_wait_timeout,
    ),
    (
        "library: wait_until with Deadline, Instant, SystemTime",
        lib_wait_until,
    ),
    ("library: complete_all and reinit", lib_complete_all_reinit),
    (
        "library: complete wakes a waiting thread",
        lib_thread_wakeup,
    ),
    (
        "library: complete_all wakes every waiter",
        lib_complete_all_wakes_all,
    ),
    (
        "library: complete wakes exactly one of two waiters",
        lib_complete_wakes_one,
    ),
];
