//! The library on objects and handles: unlink, list (also across batches), read-only and
//! write-only handles, poll, a signal in wait, and the fds themselves.

use crate::common::*;
use kcompletion_test_harness::signal;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn lib_unlink() -> R {
    let (n, _g, c) = object("unlink")?;
    let id = ok(c.info())?.id;
    ok(kcompletion::unlink(&n))?;
    fails(
        Completion::open(&n),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    ok(c.complete())?;
    ensure!(ok(c.try_wait())?, "the handle stopped working after unlink");
    let i = ok(c.info())?;
    ensure!(!i.linked, "{i:?}");
    ensure!(!ok(kcompletion::list())?.iter().any(|i| i.name == n));
    let c2 = create(&n)?;
    ensure!(ok(c2.info())?.id != id, "same id for a new object");
    ensure!(ok(c2.info())?.done == 0);
    Ok(())
}

fn lib_list() -> R {
    let names: Vec<String> = (0..3).map(|i| name(&format!("list{i}"))).collect();
    let _g = Cleanup(names.clone());
    for (i, n) in names.iter().enumerate() {
        let c = ok(Completion::create(
            n,
            &Options::new().mode(0o600 + 0o10 * i as u32).exclusive(true),
        ))?;
        for _ in 0..i {
            ok(c.complete())?;
        }
    }
    let all = ok(kcompletion::list())?;
    for (i, n) in names.iter().enumerate() {
        let found: Vec<&Info> = all.iter().filter(|x| &x.name == n).collect();
        ensure!(found.len() == 1, "{n}: {found:?}");
        let f = found[0];
        ensure!(
            f.mode == 0o600 + 0o10 * i as u32 && f.done == i as u32 && f.linked,
            "{f:?}"
        );
        ensure!(f.handles == 0, "{f:?}");
    }
    ensure!(all.windows(2).all(|w| w[0].id < w[1].id), "not in id order");
    ok(kcompletion::unlink(&names[1]))?;
    let all = ok(kcompletion::list())?;
    ensure!(!all.iter().any(|x| x.name == names[1]));
    ensure!(all.iter().any(|x| x.name == names[2]));
    Ok(())
}

fn lib_list_batches() -> R {
    let names: Vec<String> = (0..150).map(|i| name(&format!("batch{i}"))).collect();
    let _g = Cleanup(names.clone());
    for n in &names {
        create(n)?;
    }
    let all = ok(kcompletion::list())?;
    for n in &names {
        let k = all.iter().filter(|x| &x.name == n).count();
        ensure!(k == 1, "{n} listed {k} times");
    }
    Ok(())
}

fn lib_access() -> R {
    let n = name("access");
    let _g = cleanup(&[&n]);
    let rw = create(&n)?;
    let r = ok(Completion::open_with(&n, Access::Read))?;
    let w = ok(Completion::open_with(&n, Access::Write))?;
    fails(r.complete(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(r.complete_all(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(r.reinit(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(w.try_wait(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(w.is_done(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(w.info(), ErrorKind::BadAccess, Some(libc::EBADF))?;
    fails(
        w.wait(Some(Duration::ZERO)),
        ErrorKind::BadAccess,
        Some(libc::EBADF),
    )?;
    ok(w.complete())?;
    ensure!(ok(r.is_done())?);
    ok(r.wait(None))?;
    ok(rw.complete())?;
    ensure!(ok(rw.try_wait())?);
    Ok(())
}

fn lib_poll() -> R {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let (_, _g, c) = object("poll")?;
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let ready = |c: &Completion| -> Result<bool, String> {
        let mut fds = [PollFd::new(c, PollFlags::IN)];
        let k = poll(&mut fds, Some(&zero)).map_err(|e| e.to_string())?;
        Ok(k == 1 && fds[0].revents().contains(PollFlags::IN))
    };
    ensure!(!ready(&c)?, "readable while not done");
    ok(c.complete())?;
    ensure!(ready(&c)?, "not readable after complete");
    ensure!(ok(c.is_done())?, "poll consumed");
    ok(c.wait(None))?;
    ensure!(!ready(&c)?);
    // A blocked poll is woken by complete from another thread.
    let c2 = c.try_clone().map_err(|e| e.to_string())?;
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        c2.complete()
    });
    let mut fds = [PollFd::new(&c, PollFlags::IN)];
    let five = Timespec {
        tv_sec: 5,
        tv_nsec: 0,
    };
    let k = poll(&mut fds, Some(&five)).map_err(|e| e.to_string())?;
    ok(h.join().unwrap())?;
    ensure!(k == 1, "poll timed out");
    Ok(())
}

fn lib_interrupted() -> R {
    let (_, _g, c) = object("eintr")?;
    signal::interrupt_on(libc::SIGUSR1);
    let tid = Arc::new(AtomicU64::new(0));
    let c2 = c.try_clone().map_err(|e| e.to_string())?;
    let tid2 = tid.clone();
    let h = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tid2.store(unsafe { libc::pthread_self() } as u64, Ordering::SeqCst);
        let t = Instant::now();
        (c2.wait(Some(Duration::from_secs(10))), t.elapsed())
    });
    ensure!(wait_for(5000, || waiters(&c) == 1), "waiter never blocked");
    // SAFETY: the thread is alive (it is blocked in the wait).
    let rc =
        unsafe { libc::pthread_kill(tid.load(Ordering::SeqCst) as libc::pthread_t, libc::SIGUSR1) };
    ensure!(rc == 0);
    let (r, el) = h.join().unwrap();
    fails(r, ErrorKind::Interrupted, Some(libc::EINTR))?;
    ensure!(el < Duration::from_secs(5), "{el:?}");
    ensure!(ok(c.info())?.waiters == 0);
    Ok(())
}

fn lib_fds() -> R {
    let (n, _g, c) = object("fds")?;
    // SAFETY: F_GETFD on a valid descriptor.
    let flags = unsafe { libc::fcntl(c.as_raw_fd(), libc::F_GETFD) };
    ensure!(flags & libc::FD_CLOEXEC != 0, "not O_CLOEXEC");
    ensure!(ok(c.info())?.handles == 1);
    // A clone is a dup: same open file description, so `handles` does not change.
    let d = c.try_clone().map_err(|e| e.to_string())?;
    ensure!(ok(c.info())?.handles == 1);
    ok(d.complete())?;
    ensure!(ok(c.try_wait())?);
    let o = ok(Completion::open(&n))?;
    ensure!(ok(c.info())?.handles == 2);
    drop(o);
    drop(d);
    ensure!(ok(c.info())?.handles == 1);
    let raw = c.into_raw_fd();
    // SAFETY: `raw` came from into_raw_fd and is owned by nobody else.
    let c = unsafe { Completion::from_raw_fd(raw) };
    ensure!(c.name() == n, "name {:?}", c.name());
    ok(c.complete())?;
    ensure!(ok(c.try_wait())?);
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "library: unlink removes the name, handles keep working",
        lib_unlink,
    ),
    ("library: list reports names, modes and done", lib_list),
    (
        "library: list returns 150 objects across batches",
        lib_list_batches,
    ),
    (
        "library: read-only and write-only handles get BadAccess",
        lib_access,
    ),
    ("library: poll readiness follows done", lib_poll),
    (
        "library: a signal interrupts wait with Interrupted",
        lib_interrupted,
    ),
    (
        "library: fds are CLOEXEC, clone/drop/into_raw_fd/from_raw_fd",
        lib_fds,
    ),
];
