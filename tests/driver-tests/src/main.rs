//! The driver's guest test suite: every ioctl's success path and every listed error, counting,
//! wake-one and wake-all, deadlines, signals, unlink while waiting, permissions as a non-root
//! user, quotas and limits, poll/epoll, processes killed mid-wait, and unload while in use.
//!
//! Runs as root inside the guest, with kcompletion.ko loaded; prints one KTAP line per case
//! and exits non-zero if any case failed. Module path: `$KC_MODULE` or
//! /lib/modules/kcompletion.ko.

use kcompletion_abi::*;
use kcompletion_driver_tests::spawn::{spawn, ChildStack};
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

type Outcome = Result<(), String>;

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// `res` must fail with `want`.
fn expect_err<T>(what: &str, res: Res<T>, want: i32) -> Outcome {
    match res {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: got {}, want {}",
            errname(e),
            errname(want)
        )),
        Ok(_) => Err(format!("{what}: succeeded, want {}", errname(want))),
    }
}

fn ok<T>(what: &str, res: Res<T>) -> Result<T, String> {
    res.map_err(|e| format!("{what}: {}", errname(e)))
}

struct Suite {
    n: usize,
    failed: usize,
    /// Only cases whose description contains this run (`$KC_TESTS`), for debugging.
    filter: Option<String>,
}

impl Suite {
    fn case(&mut self, desc: &str, f: impl FnOnce() -> Outcome) {
        if let Some(filter) = &self.filter {
            if !desc.contains(filter.as_str()) {
                return;
            }
        }
        self.n += 1;
        let r = catch_unwind(AssertUnwindSafe(f))
            .unwrap_or_else(|p| Err(format!("panicked: {:?}", p.downcast_ref::<String>())));
        match r {
            Ok(()) => println!("ok {} - {desc}", self.n),
            Err(why) => {
                self.failed += 1;
                println!("not ok {} - {desc}", self.n);
                println!("# {why}");
            }
        }
    }
}

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

/// A value of a plain-integer ABI struct with every byte 0xA5, to see what the driver writes.
fn patterned<T: Copy>() -> T {
    let mut v = std::mem::MaybeUninit::<T>::uninit();
    // SAFETY: Only used with the `repr(C)` ABI structs, made of integers and byte arrays
    // without implicit padding (sizes asserted in the abi crate): every bit pattern is valid.
    unsafe {
        std::ptr::write_bytes(v.as_mut_ptr().cast::<u8>(), 0xA5, std::mem::size_of::<T>());
        v.assume_init()
    }
}

fn module_path() -> String {
    std::env::var("KC_MODULE").unwrap_or_else(|_| "/lib/modules/kcompletion.ko".into())
}

fn sh(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn reload(params: &[&str]) -> Outcome {
    sh("rmmod", &["kcompletion"])?;
    let ko = module_path();
    let mut args = vec![ko.as_str()];
    args.extend_from_slice(params);
    sh("insmod", &args)
}

/// Runs `f` in a child process with the given uid/gid; true if it returned Ok.
fn as_user(uid: u32, gid: u32, f: impl FnOnce() -> Outcome) -> Outcome {
    // SAFETY: The suite is single-threaded whenever it forks (threads are joined first).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: Plain credential syscalls in the child.
        let code = unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                3
            } else {
                match f() {
                    Ok(()) => 0,
                    Err(why) => {
                        println!("# as uid {uid}: {why}");
                        1
                    }
                }
            }
        };
        // SAFETY: Leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: Reaps our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    check!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child as uid {uid} failed (status {status:#x})"
    );
    Ok(())
}

fn proc_lines() -> Vec<String> {
    std::fs::read_to_string("/proc/kcompletion")
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn cloexec(fd: &OwnedFd) -> bool {
    // SAFETY: F_GETFD on a valid fd.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
}

extern "C" fn on_signal(_: i32) {}

fn install_sigusr1() {
    // SAFETY: Installs a no-op handler without SA_RESTART, so a blocked ioctl sees EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = 0;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

fn main() {
    println!("KTAP version 1");
    let mut s = Suite {
        n: 0,
        failed: 0,
        filter: std::env::var("KC_TESTS").ok(),
    };
    let dev = open_dev();
    install_sigusr1();

    s.case(
        "at least 2 CPUs online (the waiter and kill cases race across them)",
        || {
            let n = kcompletion_driver_tests::cpus::online();
            check!(n >= 2, "{n} CPU online");
            Ok(())
        },
    );

    s.case("VERSION reports ABI version 1", || {
        let mut v = KcVersion {
            version: 0,
            reserved: 0xdead,
        };
        ok("VERSION", ioctl(&dev, KC_IOC_VERSION, &mut v))?;
        check!(v.version == KC_ABI_VERSION && v.reserved == 0, "got {v:?}");
        Ok(())
    });

    s.case(
        "CREATE returns a close-on-exec fd; INFO describes the object",
        || {
            let fd = ok("create", create_mode(&dev, "t.create", 0o640, 0))?;
            check!(cloexec(&fd), "fd is not O_CLOEXEC");
            let i = ok("info", info(&fd))?;
            check!(i.id != 0, "id 0");
            check!(info_name(&i) == "t.create", "name {:?}", info_name(&i));
            check!(i.done == 0 && i.waiters == 0 && i.handles == 1, "{i:?}");
            check!(i.uid == 0 && i.gid == 0 && i.mode == 0o640, "{i:?}");
            check!(i.flags == KC_INFO_LINKED && i.reserved == 0, "{i:?}");
            check!(
                i.name[i.name_len as usize..].iter().all(|&b| b == 0),
                "name padding"
            );
            ok("unlink", unlink(&dev, "t.create"))
        },
    );

    s.case("CREATE without EXCL opens the existing object", || {
        let a = ok("create", create(&dev, "t.reopen"))?;
        let b = ok("create again", create(&dev, "t.reopen"))?;
        let (ia, ib) = (ok("info", info(&a))?, ok("info", info(&b))?);
        check!(ia.id == ib.id && ib.handles == 2, "{ia:?} {ib:?}");
        ok("complete", complete(&a))?;
        ok("try_wait via other fd", try_wait(&b))?;
        ok("unlink", unlink(&dev, "t.reopen"))
    });

    s.case(
        "CREATE with EXCL on an existing name fails with EEXIST",
        || {
            let _a = ok("create", create_excl(&dev, "t.excl"))?;
            expect_err("create excl", create_excl(&dev, "t.excl"), libc::EEXIST)?;
            ok("unlink", unlink(&dev, "t.excl"))
        },
    );

    s.case(
        "OPEN of a missing name fails with ENOENT; UNLINK too",
        || {
            expect_err("open", open(&dev, "t.missing"), libc::ENOENT)?;
            expect_err("unlink", unlink(&dev, "t.missing"), libc::ENOENT)
        },
    );

    s.case(
        "names: 63 printable bytes work, 64 give ENAMETOOLONG",
        || {
            let long = "x".repeat(63);
            let _fd = ok("create 63", create(&dev, &long))?;
            ok("open 63", open(&dev, &long))?;
            ok("unlink 63", unlink(&dev, &long))?;
            let too = "y".repeat(64);
            expect_err("create 64", create(&dev, &too), libc::ENAMETOOLONG)?;
            expect_err("open 64", open(&dev, &too), libc::ENAMETOOLONG)?;
            expect_err("unlink 64", unlink(&dev, &too), libc::ENAMETOOLONG)?;
            let mut req = KcCreate {
                name: KcName {
                    ptr: 0,
                    len: 300,
                    reserved: 0,
                },
                mode: 0o600,
                flags: 0,
            };
            expect_err(
                "len 300",
                ioctl(&dev, KC_IOC_CREATE, &mut req),
                libc::ENAMETOOLONG,
            )
        },
    );

    s.case(
        "names: empty, space, DEL, NUL, 0x80 and 0xff give EINVAL",
        || {
            for bad in [&b""[..], b"a b", b"a\x7f", b"a\0b", b"\x80", b"\xff", b"\n"] {
                let mut req = KcCreate {
                    name: kname(bad),
                    mode: 0o600,
                    flags: 0,
                };
                expect_err(
                    &format!("create {bad:?}"),
                    ioctl(&dev, KC_IOC_CREATE, &mut req),
                    libc::EINVAL,
                )?;
            }
            Ok(())
        },
    );

    s.case("every printable byte 0x21..0x7e is a valid name", || {
        let all: Vec<u8> = (0x21u8..=0x7e).collect();
        for chunk in all.chunks(63) {
            let name = std::str::from_utf8(chunk).unwrap();
            let _fd = ok("create", create_excl(&dev, name))?;
            ok("unlink", unlink(&dev, name))?;
        }
        Ok(())
    });

    s.case(
        "nonzero reserved fields, unknown flags, bad mode or access give EINVAL",
        || {
            let name = b"t.reserved";
            let mut c = KcCreate {
                name: kname(name),
                mode: 0o600,
                flags: 0,
            };
            c.name.reserved = 1;
            expect_err(
                "name.reserved",
                ioctl(&dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            c.name.reserved = 0;
            c.flags = 2;
            expect_err(
                "create flags",
                ioctl(&dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            c.flags = 0;
            c.mode = 0o1000;
            expect_err(
                "mode 01000",
                ioctl(&dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            let fd = ok("create", create(&dev, "t.reserved"))?;
            for (access, reserved) in [(0, 0), (4, 0), (1, 1)] {
                let mut o = KcOpen {
                    name: kname(name),
                    access,
                    reserved,
                };
                expect_err(
                    &format!("open access {access} reserved {reserved}"),
                    ioctl(&dev, KC_IOC_OPEN, &mut o),
                    libc::EINVAL,
                )?;
            }
            let mut w = KcWait {
                deadline_ns: 0,
                flags: 0,
                reserved: 1,
            };
            expect_err(
                "wait reserved",
                ioctl(&fd, KC_IOC_WAIT, &mut w),
                libc::EINVAL,
            )?;
            w.reserved = 0;
            w.flags = 2;
            expect_err("wait flags", ioctl(&fd, KC_IOC_WAIT, &mut w), libc::EINVAL)?;
            w.flags = 0;
            w.deadline_ns = i64::MAX as u64 + 1;
            expect_err(
                "wait deadline > INT64_MAX",
                ioctl(&fd, KC_IOC_WAIT, &mut w),
                libc::EINVAL,
            )?;
            let mut buf = [KcInfo::default(); 2];
            for (capacity, reserved) in [(0, 0), (KC_LIST_MAX + 1, 0), (2, 1)] {
                let mut l = KcList {
                    entries: buf.as_mut_ptr() as u64,
                    capacity,
                    count: 0,
                    cursor: 0,
                    reserved,
                };
                expect_err(
                    &format!("list capacity {capacity} reserved {reserved}"),
                    ioctl(&dev, KC_IOC_LIST, &mut l),
                    libc::EINVAL,
                )?;
            }
            ok("unlink", unlink(&dev, "t.reserved"))
        },
    );

    s.case(
        "bad pointers (NULL, unmapped, kernel) give EFAULT and change nothing",
        || {
            let fd = ok("create", create(&dev, "t.efault"))?;
            for addr in [0usize, 1, 0x10, 0xffff_8000_0000_0000, usize::MAX - 7] {
                for cmd in [
                    KC_IOC_VERSION,
                    KC_IOC_CREATE,
                    KC_IOC_OPEN,
                    KC_IOC_UNLINK,
                    KC_IOC_LIST,
                ] {
                    expect_err(
                        &format!("dev ioctl {cmd:#x} arg {addr:#x}"),
                        ioctl_raw(dev.as_raw_fd(), cmd, addr),
                        libc::EFAULT,
                    )?;
                }
                for cmd in [KC_IOC_WAIT, KC_IOC_INFO] {
                    expect_err(
                        &format!("obj ioctl {cmd:#x} arg {addr:#x}"),
                        ioctl_raw(fd.as_raw_fd(), cmd, addr),
                        libc::EFAULT,
                    )?;
                }
                let mut c = KcCreate {
                    name: KcName {
                        ptr: addr as u64,
                        len: 5,
                        reserved: 0,
                    },
                    mode: 0o600,
                    flags: 0,
                };
                expect_err("name ptr", ioctl(&dev, KC_IOC_CREATE, &mut c), libc::EFAULT)?;
                let mut l = KcList {
                    entries: addr as u64,
                    capacity: 4,
                    count: 0,
                    cursor: 0,
                    reserved: 0,
                };
                expect_err(
                    "list entries",
                    ioctl(&dev, KC_IOC_LIST, &mut l),
                    libc::EFAULT,
                )?;
            }
            let i = ok("info", info(&fd))?;
            check!(i.done == 0 && i.handles == 1, "state changed: {i:?}");
            ok("unlink", unlink(&dev, "t.efault"))
        },
    );

    s.case(
        "unknown ioctls and ioctls on the wrong kind of fd give ENOTTY",
        || {
            let fd = ok("create", create(&dev, "t.enotty"))?;
            for cmd in [
                0u32,
                0xC700_0099,
                kc_ioc(0, 0x7f, 0),
                KC_IOC_COMPLETE,
                KC_IOC_WAIT,
            ] {
                expect_err(
                    &format!("dev {cmd:#x}"),
                    ioctl_raw(dev.as_raw_fd(), cmd, 0),
                    libc::ENOTTY,
                )?;
            }
            for cmd in [
                0u32,
                kc_ioc(0, 0x7f, 0),
                KC_IOC_CREATE,
                KC_IOC_VERSION,
                KC_IOC_LIST,
            ] {
                expect_err(
                    &format!("obj {cmd:#x}"),
                    ioctl_raw(fd.as_raw_fd(), cmd, 0),
                    libc::ENOTTY,
                )?;
            }
            ok("unlink", unlink(&dev, "t.enotty"))
        },
    );

    s.case(
        "counting: 3 completes let 3 try-waits through, the 4th gets EAGAIN",
        || {
            let fd = ok("create", create(&dev, "t.count"))?;
            for _ in 0..3 {
                ok("complete", complete(&fd))?;
            }
            check!(ok("info", info(&fd))?.done == 3, "done != 3");
            for i in 0..3 {
                ok(&format!("try_wait {i}"), try_wait(&fd))?;
            }
            expect_err("4th try_wait", try_wait(&fd), libc::EAGAIN)?;
            ok("unlink", unlink(&dev, "t.count"))
        },
    );

    s.case(
        "counting: 3 completes let 3 waits through, the 4th times out",
        || {
            let fd = ok("create", create(&dev, "t.count2"))?;
            for _ in 0..3 {
                ok("complete", complete(&fd))?;
            }
            for i in 0..3 {
                ok(&format!("wait {i}"), wait_ms(&fd, 1000))?;
            }
            expect_err("4th wait", wait_ms(&fd, 20), libc::ETIMEDOUT)?;
            ok("unlink", unlink(&dev, "t.count2"))
        },
    );

    s.case(
        "DONE reports pending completions without consuming them",
        || {
            let fd = ok("create", create(&dev, "t.done"))?;
            check!(!ok("done", done(&fd))?, "done before complete");
            ok("complete", complete(&fd))?;
            check!(ok("done", done(&fd))? && ok("done", done(&fd))?, "not done");
            ok("try_wait", try_wait(&fd))?;
            check!(!ok("done", done(&fd))?, "still done");
            ok("unlink", unlink(&dev, "t.done"))
        },
    );

    s.case(
        "COMPLETE_ALL lets every wait through until REINIT; COMPLETE saturates",
        || {
            let fd = ok("create", create(&dev, "t.all"))?;
            ok("complete_all", complete_all(&fd))?;
            check!(ok("info", info(&fd))?.done == KC_DONE_ALL, "done != all");
            for _ in 0..5 {
                ok("wait", wait_ms(&fd, 100))?;
                ok("try_wait", try_wait(&fd))?;
            }
            ok("complete", complete(&fd))?;
            check!(
                ok("info", info(&fd))?.done == KC_DONE_ALL,
                "complete changed done-all"
            );
            ok("reinit", reinit(&fd))?;
            check!(ok("info", info(&fd))?.done == 0, "reinit left done");
            expect_err("try_wait after reinit", try_wait(&fd), libc::EAGAIN)?;
            ok("unlink", unlink(&dev, "t.all"))
        },
    );

    s.case(
        "a 50 ms deadline gives ETIMEDOUT no earlier than 50 ms",
        || {
            let fd = ok("create", create(&dev, "t.deadline"))?;
            let start = now_ns(libc::CLOCK_MONOTONIC);
            let deadline = start + 50_000_000;
            expect_err("wait", wait_deadline(&fd, deadline, 0), libc::ETIMEDOUT)?;
            let end = now_ns(libc::CLOCK_MONOTONIC);
            check!(end >= deadline, "returned {} ns early", deadline - end);
            println!("# 50 ms wait returned after {} us", (end - start) / 1000);
            ok("unlink", unlink(&dev, "t.deadline"))
        },
    );

    s.case(
        "CLOCK_REALTIME deadlines work; past deadlines only try",
        || {
            let fd = ok("create", create(&dev, "t.realtime"))?;
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
            ok("unlink", unlink(&dev, "t.realtime"))
        },
    );

    s.case(
        "a blocked WAIT returns when another thread completes",
        || {
            let fd = Arc::new(ok("create", create(&dev, "t.wake"))?);
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
            ok("unlink", unlink(&dev, "t.wake"))
        },
    );

    s.case("COMPLETE wakes exactly one of 4 waiters", || {
        let fd = Arc::new(ok("create", create(&dev, "t.one"))?);
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
        ok("unlink", unlink(&dev, "t.one"))
    });

    s.case("COMPLETE_ALL wakes all 8 waiters", || {
        let fd = Arc::new(ok("create", create(&dev, "t.wakeall"))?);
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
        ok("unlink", unlink(&dev, "t.wakeall"))
    });

    s.case(
        "a signal during WAIT gives EINTR and loses no count",
        || {
            let fd = Arc::new(ok("create", create(&dev, "t.signal"))?);
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
            // SAFETY: The thread is alive and blocked in WAIT.
            unsafe {
                libc::pthread_kill(
                    std::os::unix::thread::JoinHandleExt::as_pthread_t(&t),
                    libc::SIGUSR1,
                )
            };
            let (_, r) = t.join().unwrap();
            expect_err("interrupted wait", r, libc::EINTR)?;
            check!(ok("info", info(&fd))?.waiters == 0, "waiter still counted");
            ok("complete", complete(&fd))?;
            ok("count survives", try_wait(&fd))?;
            // A completion racing with the signal is not lost either.
            for _ in 0..50 {
                let f3 = fd.clone();
                let t = thread::spawn(move || wait_ms(&f3, 2000));
                thread::sleep(Duration::from_millis(2));
                ok("complete", complete(&fd))?;
                // SAFETY: The thread may have finished; pthread_kill on a joinable thread is fine.
                unsafe {
                    libc::pthread_kill(
                        std::os::unix::thread::JoinHandleExt::as_pthread_t(&t),
                        libc::SIGUSR1,
                    )
                };
                match t.join().unwrap() {
                    Ok(()) => {}
                    Err(libc::EINTR) => ok("count after EINTR", try_wait(&fd))?,
                    Err(e) => return Err(format!("racing wait: {}", errname(e))),
                }
                check!(!ok("done", done(&fd))?, "extra count left");
            }
            ok("unlink", unlink(&dev, "t.signal"))
        },
    );

    s.case(
        "UNLINK while a thread waits: the fd still works, the name is free",
        || {
            let fd = Arc::new(ok("create", create(&dev, "t.unlinkwait"))?);
            let id = ok("info", info(&fd))?.id;
            let f2 = fd.clone();
            let t = thread::spawn(move || wait_ms(&f2, 5000));
            thread::sleep(Duration::from_millis(50));
            ok("unlink", unlink(&dev, "t.unlinkwait"))?;
            expect_err(
                "open after unlink",
                open(&dev, "t.unlinkwait"),
                libc::ENOENT,
            )?;
            let again = ok("create again", create_excl(&dev, "t.unlinkwait"))?;
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
            ok("unlink", unlink(&dev, "t.unlinkwait"))
        },
    );

    s.case(
        "closing one fd while another thread waits on another fd is safe",
        || {
            let a = Arc::new(ok("create", create(&dev, "t.closewait"))?);
            let b = ok("open", open(&dev, "t.closewait"))?;
            let a2 = a.clone();
            let t = thread::spawn(move || wait_ms(&a2, 5000));
            thread::sleep(Duration::from_millis(50));
            check!(ok("info", info(&b))?.handles == 2, "handles != 2");
            ok("complete via b", complete(&b))?;
            drop(b);
            ok("waiter", t.join().unwrap())?;
            check!(
                ok("info", info(&a))?.handles == 1,
                "handles != 1 after close"
            );
            ok("unlink", unlink(&dev, "t.closewait"))
        },
    );

    s.case(
        "LIST enumerates 300 objects exactly once, in batches",
        || {
            let names: Vec<String> = (0..300).map(|i| format!("t.list.{i}")).collect();
            for n in &names {
                ok("create", create(&dev, n))?;
            }
            for batch in [1, 7, 100, KC_LIST_MAX] {
                let all = ok("list", list_all(&dev, batch))?;
                let mut seen: Vec<String> = all
                    .iter()
                    .map(info_name)
                    .filter(|n| n.starts_with("t.list."))
                    .collect();
                seen.sort();
                let mut want = names.clone();
                want.sort();
                check!(seen == want, "batch {batch}: {} of 300", seen.len());
                check!(all.windows(2).all(|w| w[0].id < w[1].id), "not in id order");
            }
            for n in &names {
                ok("unlink", unlink(&dev, n))?;
            }
            let left = ok("list", list_all(&dev, 64))?;
            check!(
                left.iter().all(|i| !info_name(i).starts_with("t.list.")),
                "left over"
            );
            Ok(())
        },
    );

    s.case(
        "/proc/kcompletion lists objects, unlinked ones until closed",
        || {
            let fd = ok("create", create(&dev, "t.proc"))?;
            let id = ok("info", info(&fd))?.id;
            let line = |id: u32| {
                proc_lines()
                    .into_iter()
                    .find(|l| l.split('\t').next() == Some(&id.to_string()))
            };
            let l = line(id).ok_or_else(|| {
                format!(
                    "object {id} missing from {:?}",
                    std::fs::read_to_string("/proc/kcompletion")
                )
            })?;
            check!(
                l.ends_with("\tyes\tt.proc") && l.contains("\t0600\t"),
                "line {l:?}"
            );
            ok("unlink", unlink(&dev, "t.proc"))?;
            let l = line(id).ok_or("unlinked object missing")?;
            check!(l.contains("\tno\t"), "line {l:?}");
            drop(fd);
            check!(line(id).is_none(), "freed object still listed");
            check!(
                proc_lines().first().map(|h| h.starts_with("id\t")) == Some(true),
                "header"
            );
            Ok(())
        },
    );

    s.case(
        "poll: readable only while done > 0; poll consumes nothing",
        || {
            let fd = ok("create", create(&dev, "t.poll"))?;
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
            ok("unlink", unlink(&dev, "t.poll"))
        },
    );

    s.case(
        "epoll: a complete from another thread wakes epoll_wait",
        || {
            let fd = Arc::new(ok("create", create(&dev, "t.epoll"))?);
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
            ok("unlink", unlink(&dev, "t.epoll"))
        },
    );

    s.case(
        "permissions: a non-root user gets EACCES/EBADF as the mode says",
        || {
            let _private = ok("create", create_mode(&dev, "t.perm.private", 0o600, 0))?;
            let _readable = ok("create", create_mode(&dev, "t.perm.read", 0o644, 0))?;
            let _open = ok("create", create_mode(&dev, "t.perm.open", 0o666, 0))?;
            as_user(1000, 1000, || {
                let dev = open_dev();
                expect_err("open 0600", open(&dev, "t.perm.private"), libc::EACCES)?;
                expect_err(
                    "create-open 0600",
                    create(&dev, "t.perm.private"),
                    libc::EACCES,
                )?;
                expect_err(
                    "create-open 0644",
                    create(&dev, "t.perm.read"),
                    libc::EACCES,
                )?;
                expect_err(
                    "open 0644 for write",
                    open_access(&dev, "t.perm.read", KC_ACCESS_WRITE),
                    libc::EACCES,
                )?;
                let r = ok(
                    "open 0644 for read",
                    open_access(&dev, "t.perm.read", KC_ACCESS_READ),
                )?;
                expect_err("complete on read-only fd", complete(&r), libc::EBADF)?;
                expect_err("reinit on read-only fd", reinit(&r), libc::EBADF)?;
                expect_err(
                    "complete_all on read-only fd",
                    complete_all(&r),
                    libc::EBADF,
                )?;
                expect_err("try_wait on read-only fd", try_wait(&r), libc::EAGAIN)?;
                expect_err("unlink 0644", unlink(&dev, "t.perm.read"), libc::EACCES)?;
                let w = ok(
                    "open 0666 write-only",
                    open_access(&dev, "t.perm.open", KC_ACCESS_WRITE),
                )?;
                ok("complete on write-only fd", complete(&w))?;
                expect_err("try_wait on write-only fd", try_wait(&w), libc::EBADF)?;
                expect_err("info on write-only fd", info(&w).map(|_| ()), libc::EBADF)?;
                let mine = ok("create own", create_mode(&dev, "t.perm.mine", 0o600, 0))?;
                let i = ok("info", info(&mine))?;
                check!(i.uid == 1000 && i.gid == 1000, "owner {}:{}", i.uid, i.gid);
                ok("unlink own", unlink(&dev, "t.perm.mine"))
            })?;
            let o = ok("root opens", open(&dev, "t.perm.open"))?;
            ok("completion from uid 1000 arrived", try_wait(&o))?;
            // Root bypasses with CAP_IPC_OWNER: an object of uid 1000 with mode 0.
            as_user(1000, 1000, || {
                let dev = open_dev();
                let _fd = ok("create mode 0", create_mode(&dev, "t.perm.zero", 0, 0))?;
                Ok(())
            })?;
            ok("root opens mode 0", open(&dev, "t.perm.zero"))?;
            for n in [
                "t.perm.private",
                "t.perm.read",
                "t.perm.open",
                "t.perm.zero",
            ] {
                ok("unlink", unlink(&dev, n))?;
            }
            Ok(())
        },
    );

    s.case(
        "1000 processes SIGKILLed mid-wait leave nothing behind",
        || {
            let fd = ok("create", create(&dev, "t.kill"))?;
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
                    // SAFETY: Killing our own children.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                for &pid in batch {
                    let mut st = 0;
                    // SAFETY: Reaping our own children.
                    unsafe { libc::waitpid(pid, &mut st, 0) };
                }
            }
            let after = ok("info", info(&fd))?;
            check!(peak == 1000, "only {peak} waiters reached");
            check!(
                after.waiters == 0 && after.handles == 1 && after.done == 0,
                "{after:?}"
            );
            let id = after.id;
            ok("unlink", unlink(&dev, "t.kill"))?;
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

    drop(dev);

    s.case(
        "rmmod is refused while an fd is open, and works after close",
        || {
            let dev = open_dev();
            let fd = ok("create", create(&dev, "t.rmmod"))?;
            drop(dev);
            check!(
                sh("rmmod", &["kcompletion"]).is_err(),
                "rmmod succeeded with an fd open"
            );
            let dev = open_dev();
            ok("unlink", unlink(&dev, "t.rmmod"))?;
            drop(dev);
            drop(fd);
            sh("rmmod", &["kcompletion"])?;
            check!(!std::path::Path::new(DEV).exists(), "{DEV} still exists");
            sh("insmod", &[&module_path()])
        },
    );

    s.case("unload frees named objects that nobody has open", || {
        let dev = open_dev();
        for i in 0..50 {
            ok("create", create(&dev, &format!("t.leftover.{i}")))?;
        }
        drop(dev);
        reload(&[])?;
        let dev = open_dev();
        let left = ok("list", list_all(&dev, 64))?;
        check!(left.is_empty(), "{} objects survived a reload", left.len());
        Ok(())
    });

    s.case(
        "limits: max_per_user gives EDQUOT, max_objects gives ENOSPC",
        || {
            reload(&["max_objects=6", "max_per_user=3"])?;
            as_user(1000, 1000, || {
                let dev = open_dev();
                for i in 0..3 {
                    ok("create", create(&dev, &format!("t.quota.{i}")))?;
                }
                expect_err("4th as uid 1000", create(&dev, "t.quota.3"), libc::EDQUOT)?;
                ok("unlink", unlink(&dev, "t.quota.0"))?;
                ok("create after unlink", create(&dev, "t.quota.3"))?;
                Ok(())
            })?;
            let dev = open_dev();
            for i in 0..3 {
                ok("root create", create(&dev, &format!("t.limit.{i}")))?;
            }
            expect_err("7th object", create(&dev, "t.limit.3"), libc::ENOSPC)?;
            expect_err(
                "open-or-create of a new name",
                create(&dev, "t.limit.x"),
                libc::ENOSPC,
            )?;
            ok("open existing at the limit", open(&dev, "t.limit.0"))?;
            drop(dev);
            reload(&[])
        },
    );

    s.case(
        "every struct copied out is fully written: over a 0xA5 pattern, reserved fields and name/error padding come back zero",
        || {
            let dev = open_dev();
            let mut v: KcVersion = patterned();
            ok("VERSION", ioctl(&dev, KC_IOC_VERSION, &mut v))?;
            check!(v.version == KC_ABI_VERSION && v.reserved == 0, "{v:?}");

            let fds: Vec<OwnedFd> = ["t.pad.a", "t.pad.bb", "t.pad.ccc"]
                .iter()
                .map(|n| ok("create", create(&dev, n)))
                .collect::<Result<_, _>>()?;
            let clean_info = |i: &KcInfo| {
                i.reserved == 0
                    && (i.name_len as usize) < i.name.len()
                    && i.name[i.name_len as usize..].iter().all(|&b| b == 0)
            };
            let mut i: KcInfo = patterned();
            ok("INFO", ioctl(&fds[1], KC_IOC_INFO, &mut i))?;
            check!(clean_info(&i) && info_name(&i) == "t.pad.bb", "INFO {i:?}");

            let mut entries: Vec<KcInfo> = (0..8).map(|_| patterned()).collect();
            let mut l = KcList {
                entries: entries.as_mut_ptr() as u64,
                capacity: entries.len() as u32,
                ..Default::default()
            };
            ok("LIST", ioctl(&dev, KC_IOC_LIST, &mut l))?;
            check!(l.count >= 3 && l.reserved == 0, "LIST {l:?}");
            let written = (l.count as usize).min(entries.len());
            for e in &entries[..written] {
                check!(clean_info(e), "LIST entry {e:?}");
            }
            for e in &entries[written..] {
                check!(*e == patterned::<KcInfo>(), "LIST wrote past count: {e:?}");
            }

            // RUN of a syntax error: error_len, then the message NUL-terminated in
            // error_size bytes; nothing beyond.
            let name = b"t.pad.script";
            let src = b"x = = 1";
            let mut err = [0xA5u8; 64];
            let mut r = KcRun {
                name: kname(name),
                source: src.as_ptr() as u64,
                source_len: src.len() as u32,
                error_size: 16,
                error: err.as_mut_ptr() as u64,
                ..Default::default()
            };
            expect_err("RUN syntax error", ioctl(&dev, KC_IOC_RUN, &mut r), libc::ENOEXEC)?;
            let cut = (r.error_len as usize).min(15);
            check!(r.error_len > 0 && r.reserved == 0, "RUN {r:?}");
            check!(err[..cut].iter().all(|&b| b != 0) && err[cut] == 0, "RUN error {err:?}");
            check!(err[cut + 1..].iter().all(|&b| b == 0xA5), "RUN wrote past error_size: {err:?}");

            // A script that fails at run time: its SCRIPTS entry.
            let src = b"error('padding check')";
            let mut r = KcRun {
                name: kname(name),
                source: src.as_ptr() as u64,
                source_len: src.len() as u32,
                ..Default::default()
            };
            ok("RUN", ioctl(&dev, KC_IOC_RUN, &mut r))?;
            let mut found = None;
            for _ in 0..500 {
                let mut entries: Vec<KcScriptInfo> = (0..4).map(|_| patterned()).collect();
                let mut sc = KcScripts {
                    entries: entries.as_mut_ptr() as u64,
                    capacity: entries.len() as u32,
                    ..Default::default()
                };
                ok("SCRIPTS", ioctl(&dev, KC_IOC_SCRIPTS, &mut sc))?;
                let written = (sc.count as usize).min(entries.len());
                for e in &entries[written..] {
                    check!(*e == patterned::<KcScriptInfo>(), "SCRIPTS wrote past count");
                }
                found = entries[..written]
                    .iter()
                    .find(|e| &e.name[..e.name_len as usize] == name && e.state == KC_SCRIPT_FAILED)
                    .copied();
                if found.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let e = found.ok_or("the script never showed as failed")?;
            check!(
                e.reserved == 0
                    && e.name[e.name_len as usize..].iter().all(|&b| b == 0)
                    && e.error_len > 0
                    && (e.error_len as usize) < e.error.len()
                    && e.error[e.error_len as usize..].iter().all(|&b| b == 0),
                "SCRIPTS entry: reserved {} name_len {} error_len {} error {:?}",
                e.reserved,
                e.name_len,
                e.error_len,
                String::from_utf8_lossy(&e.error)
            );
            let mut kn = kname(name);
            ok("STOP removes the ended script", ioctl(&dev, KC_IOC_STOP, &mut kn))?;
            for n in ["t.pad.a", "t.pad.bb", "t.pad.ccc"] {
                ok("unlink", unlink(&dev, n))?;
            }
            Ok(())
        },
    );

    println!("1..{}", s.n);
    println!("# {} passed, {} failed", s.n - s.failed, s.failed);
    std::process::exit(if s.failed == 0 { 0 } else { 1 });
}
