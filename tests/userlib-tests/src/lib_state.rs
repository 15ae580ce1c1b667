//! The library on state pages (issue 12): `is_done` and a failing `try_wait` read the page
//! and agree with the driver after every operation, from this handle and from another; a
//! write-only handle and an anonymous object; the page outlives unlink.

use crate::common::*;

fn state_follows() -> R {
    let (n, _g, c) = object("state")?;
    ensure!(c.uses_state_page(), "no state page for a read-write handle");
    let other = ok(Completion::open(&n))?;
    ensure!(!ok(c.is_done())?);
    ensure!(!ok(c.try_wait())?);
    ok(other.complete())?;
    ensure!(
        ok(c.is_done())?,
        "the page missed a completion made through another handle"
    );
    ensure!(
        ok(c.try_wait())?,
        "try_wait did not consume through the ioctl"
    );
    ensure!(!ok(c.is_done())?, "the page missed the consumption");
    ok(other.complete_all())?;
    for _ in 0..3 {
        ensure!(ok(c.try_wait())?, "complete_all: every try succeeds");
    }
    ensure!(ok(c.info())?.is_completed_all());
    ok(other.reinit())?;
    ensure!(!ok(c.is_done())?, "the page missed reinit");
    ensure!(!ok(c.try_wait())?);
    ok(kcompletion::unlink(&n))?;
    ok(other.complete())?;
    ensure!(ok(c.is_done())?, "the page stopped following after unlink");
    Ok(())
}

fn state_write_only_and_anonymous() -> R {
    let (n, _g, _c) = object("state-wo")?;
    let w = ok(Completion::open_with(&n, kcompletion::Access::Write))?;
    ensure!(
        !w.uses_state_page(),
        "a write-only handle mapped the state page"
    );
    let a = ok(Completion::create_anonymous())?;
    ensure!(a.uses_state_page(), "no state page for an anonymous object");
    ok(a.complete())?;
    ensure!(ok(a.is_done())?);
    ensure!(ok(a.try_wait())?);
    ensure!(!ok(a.try_wait())?);
    Ok(())
}

fn state_threads() -> R {
    let (n, _g, c) = object("state-threads")?;
    let other = ok(Completion::open(&n))?;
    ensure!(c.uses_state_page());
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..20_000 {
                other.complete().expect("complete");
            }
        });
        let mut got = 0;
        while got < 20_000 {
            if c.try_wait().expect("try_wait") {
                got += 1;
            }
        }
    });
    ensure!(!ok(c.is_done())?, "completions left over");
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "library: is_done and a failing try_wait read the state page and follow every change",
        state_follows,
    ),
    (
        "library: a write-only handle uses the ioctls; an anonymous object has its page",
        state_write_only_and_anonymous,
    ),
    (
        "library: 20000 completions from another thread, each consumed once through page and ioctl",
        state_threads,
    ),
];
