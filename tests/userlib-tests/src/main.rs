//! Guest tests of the `kcompletion` library and the `kcompletion` command against the real
//! driver. Prints KTAP (`ok N - ...` / `not ok N - ...`, plan at the end) and exits non-zero
//! if any case failed.
//!
//! Run as root in the guest, with `kcompletion` on PATH (or `$KCOMPLETION_CLI`) and the users of
//! the test image (`kcuser`, uid 1000) for the permission and quota cases.
//!
//! `kcompletion-userlib-tests --fill-quota PREFIX` is an internal mode: it creates
//! `PREFIX-0`, `PREFIX-1`, ... until creation fails and prints `created N KIND ERRNO`.

use kcompletion::{Access, Completion, Deadline, ErrorKind, Info, Options};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

type R = Result<(), String>;

/// A test case: its KTAP description and its function.
type Case = (&'static str, fn() -> R);

macro_rules! ensure {
    ($c:expr) => {
        if !$c {
            return Err(format!("line {}: {}", line!(), stringify!($c)));
        }
    };
    ($c:expr, $($a:tt)+) => {
        if !$c {
            return Err(format!("line {}: {}: {}", line!(), stringify!($c), format!($($a)+)));
        }
    };
}

/// `Ok(value)` or the error's message.
fn ok<T>(r: kcompletion::Result<T>) -> Result<T, String> {
    r.map_err(|e| {
        format!(
            "unexpected error: {e} (kind {:?}, errno {:?})",
            e.kind(),
            e.raw_os_error()
        )
    })
}

/// Checks that `r` failed with `kind` (and `errno`, if given).
fn fails<T: std::fmt::Debug>(r: kcompletion::Result<T>, kind: ErrorKind, errno: Option<i32>) -> R {
    match r {
        Ok(v) => Err(format!("expected {kind:?}, got Ok({v:?})")),
        Err(e) if e.kind() == kind && (errno.is_none() || e.raw_os_error() == errno) => Ok(()),
        Err(e) => Err(format!(
            "expected {kind:?} ({errno:?}), got {:?} ({:?}): {e}",
            e.kind(),
            e.raw_os_error()
        )),
    }
}

/// A name unique to this run.
fn name(tag: &str) -> String {
    format!("ut{}-{tag}", std::process::id())
}

/// Unlinks its name when dropped (ignoring errors).
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = kcompletion::unlink(n);
        }
    }
}

fn cleanup(names: &[&str]) -> Cleanup {
    Cleanup(names.iter().map(|s| s.to_string()).collect())
}

/// Polls `f` every 5 ms for up to `ms` milliseconds.
fn wait_for(ms: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn waiters(c: &Completion) -> u32 {
    c.info().map(|i| i.waiters).unwrap_or(u32::MAX)
}

fn create(n: &str) -> Result<Completion, String> {
    ok(Completion::create(n, &Options::new().exclusive(true)))
}

extern "C" fn on_signal(_: libc::c_int) {}

fn install_sigusr1() {
    // SAFETY: an empty handler, no SA_RESTART, so blocking ioctls return EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

// ---------------------------------------------------------------------------------------------
// Library

fn lib_abi_version() -> R {
    let v = ok(kcompletion::abi_version())?;
    ensure!(v == kcompletion::ABI_VERSION, "driver {v}");
    Ok(())
}

fn lib_create_exclusive_and_reopen() -> R {
    let n = name("excl");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
    fails(
        Completion::create(&n, &Options::new().exclusive(true)),
        ErrorKind::Exists,
        Some(libc::EEXIST),
    )?;
    let c2 = ok(Completion::create(&n, &Options::default()))?;
    let (i1, i2) = (ok(c.info())?, ok(c2.info())?);
    ensure!(i1.id == i2.id, "{i1:?} {i2:?}");
    ensure!(i1.name == n && c.name() == n && c2.name() == n);
    ensure!(i2.mode == 0o600 && i2.linked && i2.handles == 2, "{i2:?}");
    // SAFETY: plain getters.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    ensure!(i2.uid == uid && i2.gid == gid, "{i2:?}");
    Ok(())
}

fn lib_open_missing() -> R {
    let n = name("missing");
    fails(
        Completion::open(&n),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    fails(
        Completion::open_with(&n, Access::Read),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    fails(
        kcompletion::unlink(&n),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    let e = Completion::open(&n).unwrap_err();
    ensure!(
        e.to_string() == format!("open \"{n}\": no such completion"),
        "{e}"
    );
    Ok(())
}

fn lib_names_and_modes() -> R {
    fails(
        Completion::create("bad name", &Options::default()),
        ErrorKind::InvalidName,
        Some(libc::EINVAL),
    )?;
    fails(
        Completion::open(""),
        ErrorKind::InvalidName,
        Some(libc::EINVAL),
    )?;
    fails(
        Completion::create(&"x".repeat(64), &Options::default()),
        ErrorKind::NameTooLong,
        Some(libc::ENAMETOOLONG),
    )?;
    fails(
        Completion::create(&name("mode"), &Options::new().mode(0o1000)),
        ErrorKind::InvalidArgument,
        Some(libc::EINVAL),
    )?;
    // The longest name and every printable byte work.
    let long = format!("{}{}", name("long-"), "y".repeat(63))
        .split_at(63)
        .0
        .to_owned();
    let odd = name("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~");
    let _g = cleanup(&[&long, &odd]);
    create(&long)?;
    create(&odd)?;
    ensure!(ok(ok(Completion::open(&long))?.info())?.name == long);
    ensure!(ok(ok(Completion::open(&odd))?.info())?.name == odd);
    Ok(())
}

fn lib_complete_trywait_done() -> R {
    let n = name("basic");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("count");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("timeout");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("until");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("all");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("wake");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("wakeall");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let c2 = c.try_clone().unwrap();
            std::thread::spawn(move || c2.wait(Some(Duration::from_secs(10))))
        })
        .collect();
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
    let n = name("wakeone");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c2 = c.try_clone().unwrap();
            std::thread::spawn(move || c2.wait(Some(Duration::from_millis(1500))))
        })
        .collect();
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

fn lib_unlink() -> R {
    let n = name("unlink");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("poll");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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
    let n = name("eintr");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
    install_sigusr1();
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
    let n = name("fds");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
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

fn fill_quota(prefix: &str) -> ! {
    let mut n = 0u32;
    loop {
        match Completion::create(&format!("{prefix}-{n}"), &Options::new().exclusive(true)) {
            Ok(_) => n += 1,
            Err(e) => {
                println!(
                    "created {n} {:?} {}",
                    e.kind(),
                    e.raw_os_error().unwrap_or(0)
                );
                std::process::exit(0);
            }
        }
    }
}

fn read_param(p: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/module/kcompletion/parameters/{p}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn lib_user_quota() -> R {
    let max = read_param("max_per_user").unwrap_or(4096);
    let prefix = name("quota");
    let names: Vec<String> = (0..=max).map(|i| format!("{prefix}-{i}")).collect();
    let _g = Cleanup(names);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = su_kcuser(&format!("{} --fill-quota {prefix}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        text.trim() == format!("created {max} Limit {}", libc::EDQUOT),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI reports it with exit code 9.
    let out = su_kcuser(&format!("kcompletion create {prefix}-extra"))?;
    ensure!(out.status.code() == Some(9), "{out:?}");
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("limit"),
        "{out:?}"
    );
    let _ = kcompletion::unlink(&format!("{prefix}-extra"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CLI

fn cli_path() -> String {
    std::env::var("KCOMPLETION_CLI").unwrap_or_else(|_| "kcompletion".into())
}

fn kc(args: &[&str]) -> Result<Output, String> {
    Command::new(cli_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cli_path()))
}

fn su_kcuser(cmd: &str) -> Result<Output, String> {
    Command::new("su")
        .args(["-s", "/bin/sh", "kcuser", "-c", cmd])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run su: {e}"))
}

/// Runs the CLI and checks its exit code; returns (stdout, stderr).
fn kc_expect(args: &[&str], code: i32) -> Result<(String, String), String> {
    let out = kc(args)?;
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(code) {
        return Err(format!(
            "kcompletion {}: exit {:?}, expected {code}; stdout {so:?} stderr {se:?}",
            args.join(" "),
            out.status.code()
        ));
    }
    Ok((so, se))
}

fn cli_help() -> R {
    for sub in [
        "create", "open", "complete", "wait", "trywait", "reinit", "unlink", "info", "list",
    ] {
        let (so, _) = kc_expect(&[sub, "--help"], 0)?;
        ensure!(
            so.contains("Exit codes") && so.contains("10  driver not loaded"),
            "{sub}: {so}"
        );
    }
    let (so, _) = kc_expect(&["--help"], 0)?;
    ensure!(so.contains("Exit codes"));
    Ok(())
}

fn cli_create_exists() -> R {
    let n = name("c-create");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["create", &n], 0)?;
    let (_, se) = kc_expect(&["create", &n, "--exclusive"], 8)?;
    ensure!(
        se == format!("kcompletion: create \"{n}\": already exists\n"),
        "{se:?}"
    );
    let n2 = name("c-mode");
    let _g2 = cleanup(&[&n2]);
    kc_expect(&["create", &n2, "--mode", "640"], 0)?;
    ensure!(ok(ok(Completion::open(&n2))?.info())?.mode == 0o640);
    Ok(())
}

fn cli_open() -> R {
    let n = name("c-open");
    let _g = cleanup(&[&n]);
    let (_, se) = kc_expect(&["open", &n], 5)?;
    ensure!(
        se == format!("kcompletion: open \"{n}\": no such completion\n"),
        "{se:?}"
    );
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["open", &n], 0)?;
    kc_expect(&["open", &n, "--access", "r"], 0)?;
    Ok(())
}

fn cli_complete_trywait() -> R {
    let n = name("c-try");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["trywait", &n], 4)?;
    kc_expect(&["complete", &n], 0)?;
    kc_expect(&["complete", &n], 0)?;
    kc_expect(&["trywait", &n], 0)?;
    kc_expect(&["wait", &n], 0)?;
    kc_expect(&["trywait", &n], 4)?;
    Ok(())
}

fn cli_wait_timeout() -> R {
    let n = name("c-timeout");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    let t = Instant::now();
    let (_, se) = kc_expect(&["wait", &n, "--timeout", "50"], 3)?;
    ensure!(t.elapsed() >= Duration::from_millis(50));
    ensure!(
        se == format!("kcompletion: wait \"{n}\": timed out after 50 ms\n"),
        "{se:?}"
    );
    kc_expect(&["wait", "--timeout", "0", &n], 3)?;
    Ok(())
}

fn cli_complete_all_reinit() -> R {
    let n = name("c-all");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["complete", &n, "--all"], 0)?;
    for _ in 0..3 {
        kc_expect(&["wait", &n, "--timeout", "1000"], 0)?;
    }
    kc_expect(&["reinit", &n], 0)?;
    kc_expect(&["trywait", &n], 4)?;
    Ok(())
}

fn cli_info() -> R {
    let n = name("c-info");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["complete", &n], 0)?;
    let (so, _) = kc_expect(&["info", &n, "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    ensure!(
        v["name"] == n.as_str() && v["done"] == 1 && v["mode"] == 0o600,
        "{v}"
    );
    ensure!(
        v["linked"] == true && v["completed_all"] == false && v["waiters"] == 0,
        "{v}"
    );
    ensure!(
        v["mode_octal"] == "0600" && v["id"].is_u64() && v["uid"] == 0,
        "{v}"
    );
    let (so, _) = kc_expect(&["info", &n], 0)?;
    ensure!(
        so.contains(&format!("name:    {n}\n")) && so.contains("done:    1\n"),
        "{so}"
    );
    kc_expect(&["complete", "--all", &n], 0)?;
    let (so, _) = kc_expect(&["info", &n, "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    ensure!(v["completed_all"] == true && v["done"] == u32::MAX, "{v}");
    kc_expect(&["info", &name("c-info-missing")], 5)?;
    Ok(())
}

fn cli_list() -> R {
    let n = name("c-list");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n, "--mode", "604"], 0)?;
    let (so, _) = kc_expect(&["list", "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    let arr = v.as_array().ok_or("not an array")?;
    let mine: Vec<_> = arr.iter().filter(|x| x["name"] == n.as_str()).collect();
    ensure!(mine.len() == 1 && mine[0]["mode"] == 0o604, "{mine:?}");
    let (so, _) = kc_expect(&["list"], 0)?;
    ensure!(so.starts_with("    ID  NAME"), "{so}");
    ensure!(
        so.lines().any(|l| l.contains(&n) && l.ends_with("0604")),
        "{so}"
    );
    Ok(())
}

fn cli_unlink() -> R {
    let n = name("c-unlink");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["unlink", &n], 0)?;
    let (_, se) = kc_expect(&["unlink", &n], 5)?;
    ensure!(se.contains(&format!("unlink \"{n}\"")), "{se}");
    kc_expect(&["open", &n], 5)?;
    Ok(())
}

fn cli_usage_errors() -> R {
    let (_, se) = kc_expect(&["wait", "bad name"], 2)?;
    ensure!(se.contains("invalid name"), "{se}");
    kc_expect(&["create", &"x".repeat(64)], 2)?;
    kc_expect(&["create", "x", "--mode", "999"], 2)?;
    kc_expect(&["create", "x", "--mode", "1000"], 2)?;
    kc_expect(&["wait", "x", "--timeout", "-5"], 2)?;
    kc_expect(&["wait"], 2)?;
    kc_expect(&["frobnicate"], 2)?;
    kc_expect(&[], 2)?;
    Ok(())
}

fn cli_permissions() -> R {
    let private = name("c-private");
    let shared = name("c-shared");
    let _g = cleanup(&[&private, &shared]);
    kc_expect(&["create", &private], 0)?;
    kc_expect(&["create", &shared, "--mode", "644"], 0)?;
    let code = |cmd: &str| -> Result<Option<i32>, String> {
        Ok(su_kcuser(&format!("{} {cmd}", cli_path()))?.status.code())
    };
    ensure!(code(&format!("open {private}"))? == Some(6));
    ensure!(code(&format!("info {private}"))? == Some(6));
    ensure!(code(&format!("unlink {private}"))? == Some(6));
    ensure!(code(&format!("info {shared}"))? == Some(0));
    ensure!(code(&format!("wait {shared} --timeout 1"))? == Some(3));
    ensure!(code(&format!("complete {shared}"))? == Some(6));
    ensure!(
        code(&format!("create {shared}"))? == Some(6),
        "create-open needs rw"
    );
    ensure!(
        code(&format!("open {shared}"))? == Some(6),
        "rw open of a 644 object"
    );
    let out = su_kcuser(&format!("{} complete {shared}", cli_path()))?;
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(
        se == format!("kcompletion: complete \"{shared}\": permission denied\n"),
        "{se:?}"
    );
    Ok(())
}

fn cli_interrupted() -> R {
    let n = name("c-eintr");
    let _g = cleanup(&[&n]);
    let c = create(&n)?;
    let child = Command::new(cli_path())
        .args(["wait", &n])
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    ensure!(wait_for(5000, || waiters(&c) == 1), "the CLI never blocked");
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGUSR1) };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(7), "{out:?}");
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(
        se == format!("kcompletion: wait \"{n}\": interrupted by a signal\n"),
        "{se:?}"
    );
    Ok(())
}

fn cli_driver_not_loaded() -> R {
    let out = Command::new(cli_path())
        .args(["list"])
        .env("KCOMPLETION_DEVICE", "/nonexistent/kcompletion")
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(10), "{out:?}");
    ensure!(String::from_utf8_lossy(&out.stderr).contains("modprobe kcompletion"));
    Ok(())
}

fn cli_pipeline() -> R {
    let n = name("c-pipe");
    let _g = cleanup(&[&n]);
    let k = cli_path();
    // One process waits, another completes; the waiter's success feeds the pipeline.
    let script = format!(
        "{k} create {n} || exit 1
         ({k} wait {n} --timeout 5000 && echo woke) | tr a-z A-Z > /tmp/{n}.out &
         sleep 0.2
         {k} complete {n} || exit 2
         wait
         {k} info {n} --json | grep -q '\"done\":0' || exit 3
         {k} list --json | grep -q '\"name\":\"{n}\"' || exit 4
         cat /tmp/{n}.out; rm -f /tmp/{n}.out"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(out.status.success(), "{out:?}");
    ensure!(String::from_utf8_lossy(&out.stdout) == "WOKE\n", "{out:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--fill-quota" {
        fill_quota(&args[2]);
    }
    let cases: &[Case] = &[
        ("library: abi_version matches", lib_abi_version),
        (
            "library: create exclusive, Exists, non-exclusive reopens",
            lib_create_exclusive_and_reopen,
        ),
        (
            "library: open/unlink of a missing name is NotFound",
            lib_open_missing,
        ),
        (
            "library: invalid names, too long names, bad mode",
            lib_names_and_modes,
        ),
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
        (
            "library: per-user quota is Limit (EDQUOT), CLI exit 9",
            lib_user_quota,
        ),
        (
            "cli: --help of every subcommand lists the exit codes",
            cli_help,
        ),
        (
            "cli: create, --mode, --exclusive exits 8",
            cli_create_exists,
        ),
        ("cli: open exits 5 when missing", cli_open),
        (
            "cli: complete, trywait exits 4 when not done, wait",
            cli_complete_trywait,
        ),
        (
            "cli: wait --timeout exits 3 with a message",
            cli_wait_timeout,
        ),
        ("cli: complete --all, reinit", cli_complete_all_reinit),
        ("cli: info and info --json", cli_info),
        ("cli: list and list --json", cli_list),
        ("cli: unlink, exits 5 when missing", cli_unlink),
        ("cli: usage errors exit 2", cli_usage_errors),
        (
            "cli: permission denied exits 6 (as kcuser)",
            cli_permissions,
        ),
        ("cli: a signal interrupts wait, exit 7", cli_interrupted),
        ("cli: driver not loaded exits 10", cli_driver_not_loaded),
        (
            "cli: shell pipeline, one process waits and another completes",
            cli_pipeline,
        ),
    ];
    let only: Vec<&String> = args.iter().skip(1).collect();
    println!("KTAP version 1");
    let mut n = 0;
    let mut failed = 0;
    for (desc, f) in cases {
        if !only.is_empty() && !only.iter().any(|o| desc.contains(o.as_str())) {
            continue;
        }
        n += 1;
        let r = std::panic::catch_unwind(f).unwrap_or_else(|p| {
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()))
        });
        match r {
            Ok(()) => println!("ok {n} - {desc}"),
            Err(e) => {
                failed += 1;
                println!("not ok {n} - {desc}");
                for l in e.lines() {
                    println!("# {l}");
                }
            }
        }
    }
    println!("1..{n}");
    println!("# {} passed, {failed} failed", n - failed);
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
