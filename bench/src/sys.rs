//! Raw system calls the benchmarks use: kcompletion ioctls, futex, eventfd, pipes, epoll.
//! No library in between, so every figure is the cost of the mechanism itself.

use kcompletion_abi::raw;
use kcompletion_abi::*;
use std::os::fd::RawFd;
use std::sync::atomic::AtomicU32;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `CLOCK_MONOTONIC` in nanoseconds (under `-icount` it counts guest instructions).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writing.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub fn gettid() -> i32 {
    // SAFETY: No arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

pub fn close(fd: RawFd) {
    // SAFETY: Closing a descriptor we own.
    unsafe { libc::close(fd) };
}

/// Retries a call returning a negative value with `EINTR`; panics on any other error.
fn check(what: &str, r: i64) -> i64 {
    if r < 0 {
        panic!("{what}: errno {}", errno());
    }
    r
}

// ------------------------------------------------------------------ kcompletion

pub const DEV: &str = "/dev/kcompletion";

pub fn open_dev() -> Result<RawFd, i32> {
    let path = std::ffi::CString::new(DEV).unwrap();
    // SAFETY: Plain open(2) of a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(fd)
    }
}

/// CREATE (opening an existing one too); returns the object fd.
#[inline]
pub fn kc_create(dev: RawFd, name: &[u8]) -> Result<RawFd, i32> {
    let mut req = KcCreate {
        name: KcName::unvalidated(name),
        mode: 0o600,
        flags: 0,
    };
    raw::ioctl::<raw::Create>(dev, &mut req)
}

#[inline]
pub fn kc_open(dev: RawFd, name: &[u8]) -> Result<RawFd, i32> {
    let mut req = KcOpen {
        name: KcName::unvalidated(name),
        access: KC_ACCESS_READ | KC_ACCESS_WRITE,
        reserved: 0,
    };
    raw::ioctl::<raw::Open>(dev, &mut req)
}

#[inline]
pub fn kc_unlink(dev: RawFd, name: &[u8]) -> Result<(), i32> {
    let mut req = KcName::unvalidated(name);
    raw::ioctl::<raw::Unlink>(dev, &mut req).map(|_| ())
}

/// A fresh named object (any old one of that name is unlinked first); the name is unlinked
/// at once, the returned fd keeps the object alive.
pub fn kc_fresh(dev: RawFd, name: &str) -> RawFd {
    let _ = kc_unlink(dev, name.as_bytes());
    let fd = kc_create(dev, name.as_bytes()).unwrap_or_else(|e| panic!("create {name}: errno {e}"));
    let _ = kc_unlink(dev, name.as_bytes());
    fd
}

#[inline]
pub fn kc_complete(fd: RawFd) {
    raw::ioctl_none::<raw::Complete>(fd).expect("KC_IOC_COMPLETE");
}

#[inline]
pub fn kc_complete_all(fd: RawFd) {
    raw::ioctl_none::<raw::CompleteAll>(fd).expect("KC_IOC_COMPLETE_ALL");
}

#[inline]
pub fn kc_done(fd: RawFd) -> bool {
    match raw::ioctl_none::<raw::Done>(fd) {
        Ok(r) => r != 0,
        Err(e) => panic!("KC_IOC_DONE: errno {e}"),
    }
}

pub fn kc_try_wait(fd: RawFd) -> bool {
    match raw::ioctl_none::<raw::TryWait>(fd) {
        Ok(_) => true,
        Err(libc::EAGAIN) => false,
        Err(e) => panic!("KC_IOC_TRY_WAIT: errno {e}"),
    }
}

/// WAIT with no deadline (retried on `EINTR`): the ioctl's value, 0 on an object fd and on a
/// wait set's fd the index it consumed.
#[inline]
pub fn kc_wait(fd: RawFd) -> u32 {
    let mut req = KcWait {
        deadline_ns: KC_DEADLINE_NEVER,
        flags: 0,
        reserved: 0,
    };
    loop {
        match raw::ioctl::<raw::Wait>(fd, &mut req) {
            Ok(v) => return v as u32,
            Err(libc::EINTR) => continue,
            Err(e) => panic!("KC_IOC_WAIT: errno {e}"),
        }
    }
}

/// COMPLETE_AND_WAIT with no deadline: completes `complete_fd` and waits on `wait_fd` in one
/// call. On `EINTR` the completion was made already, so only the wait is retried.
#[inline]
pub fn kc_complete_and_wait(complete_fd: RawFd, wait_fd: RawFd) {
    let mut req = KcCompleteAndWait {
        deadline_ns: KC_DEADLINE_NEVER,
        flags: 0,
        complete_fd,
    };
    match raw::ioctl::<raw::CompleteAndWait>(wait_fd, &mut req) {
        Ok(_) => {}
        Err(libc::EINTR) => {
            kc_wait(wait_fd);
        }
        Err(e) => panic!("KC_IOC_COMPLETE_AND_WAIT: errno {e}"),
    }
}

pub fn kc_waiters(fd: RawFd) -> u32 {
    let mut info = KcInfo::default();
    raw::ioctl::<raw::Info>(fd, &mut info).expect("KC_IOC_INFO");
    info.waiters
}

/// RUN a kernel Lua script; Err(errno, compile error text).
pub fn kc_run(dev: RawFd, name: &str, source: &str) -> Result<(), (i32, String)> {
    let mut text = vec![0u8; 512];
    let mut req = RunArg::new(
        KcName::unvalidated(name.as_bytes()),
        source.as_bytes(),
        &mut text,
    );
    raw::ioctl::<raw::Run>(dev, &mut req)
        .map(|_| ())
        .map_err(|e| {
            let n = text.iter().position(|&b| b == 0).unwrap_or(0);
            (e, String::from_utf8_lossy(&text[..n]).into_owned())
        })
}

pub fn kc_stop(dev: RawFd, name: &str) -> Result<(), i32> {
    let mut req = KcName::unvalidated(name.as_bytes());
    raw::ioctl::<raw::Stop>(dev, &mut req).map(|_| ())
}

/// State and error text of a script, if listed.
pub fn kc_script_state(dev: RawFd, name: &str) -> Option<(u32, String)> {
    let mut entries = vec![KcScriptInfo::default(); KC_SCRIPTS_MAX as usize];
    let mut req = ScriptsArg::new(&mut entries);
    raw::ioctl::<raw::Scripts>(dev, &mut req).ok()?;
    let n = (req.count as usize).min(entries.len());
    entries[..n].iter().find_map(|s| {
        (&s.name[..s.name_len as usize] == name.as_bytes()).then(|| {
            let e = &s.error[..(s.error_len as usize).min(s.error.len())];
            (s.state, String::from_utf8_lossy(e).into_owned())
        })
    })
}

// ------------------------------------------------------------------ futex

#[inline]
pub fn futex_wait(word: &AtomicU32, expected: u32, private: bool) {
    let op = libc::FUTEX_WAIT | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            expected,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

#[inline]
pub fn futex_wake(word: &AtomicU32, n: i32, private: bool) {
    let op = libc::FUTEX_WAKE | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: `word` is a valid, aligned u32.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), op, n) };
}

// ------------------------------------------------------------------ eventfd, pipe, epoll

pub fn eventfd(semaphore: bool) -> RawFd {
    let flags = libc::EFD_CLOEXEC | if semaphore { libc::EFD_SEMAPHORE } else { 0 };
    // SAFETY: Plain syscall.
    check("eventfd", unsafe { libc::eventfd(0, flags) } as i64) as RawFd
}

#[inline]
pub fn write_u64(fd: RawFd, v: u64) {
    loop {
        // SAFETY: Writes 8 bytes from a valid u64.
        let r = unsafe { libc::write(fd, &v as *const u64 as *const _, 8) };
        if r == 8 {
            return;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        panic!("write(eventfd): {r} errno {}", errno());
    }
}

#[inline]
pub fn read_u64(fd: RawFd) -> u64 {
    let mut v = 0u64;
    loop {
        // SAFETY: Reads 8 bytes into a valid u64.
        let r = unsafe { libc::read(fd, &mut v as *mut u64 as *mut _, 8) };
        if r == 8 {
            return v;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        panic!("read(eventfd): {r} errno {}", errno());
    }
}

pub fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    check(
        "pipe2",
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } as i64,
    );
    (fds[0], fds[1])
}

#[inline]
pub fn write_byte(fd: RawFd) {
    let b = 1u8;
    loop {
        // SAFETY: Writes one byte from a valid location.
        let r = unsafe { libc::write(fd, &b as *const u8 as *const _, 1) };
        if r == 1 {
            return;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        panic!("write(pipe): {r} errno {}", errno());
    }
}

#[inline]
pub fn read_byte(fd: RawFd) {
    let mut b = 0u8;
    loop {
        // SAFETY: Reads one byte into a valid location.
        let r = unsafe { libc::read(fd, &mut b as *mut u8 as *mut _, 1) };
        if r == 1 {
            return;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        panic!("read(pipe): {r} errno {}", errno());
    }
}

pub fn epoll_for(fd: RawFd) -> RawFd {
    // SAFETY: Plain syscalls on descriptors we own.
    unsafe {
        let ep = check(
            "epoll_create1",
            libc::epoll_create1(libc::EPOLL_CLOEXEC) as i64,
        ) as RawFd;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        check(
            "epoll_ctl",
            libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) as i64,
        );
        ep
    }
}

/// An epoll fd watching every fd of `fds` for reading, each tagged with its index.
pub fn epoll_for_all(fds: &[RawFd]) -> RawFd {
    // SAFETY: Plain syscalls on descriptors we own.
    unsafe {
        let ep = check(
            "epoll_create1",
            libc::epoll_create1(libc::EPOLL_CLOEXEC) as i64,
        ) as RawFd;
        for (i, &fd) in fds.iter().enumerate() {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            check(
                "epoll_ctl",
                libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) as i64,
            );
        }
        ep
    }
}

pub fn epoll_wait1(ep: RawFd) {
    epoll_wait_one(ep);
}

/// Waits for one event on `ep` (retried on `EINTR`): its tag.
pub fn epoll_wait_one(ep: RawFd) -> u64 {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    loop {
        // SAFETY: `ev` has room for one event.
        let r = unsafe { libc::epoll_wait(ep, &mut ev, 1, -1) };
        if r == 1 {
            return ev.u64;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        panic!("epoll_wait: {r} errno {}", errno());
    }
}

/// A page of memory shared with forked children (futex words live here).
pub fn shared_page() -> &'static [AtomicU32; 1024] {
    // SAFETY: A fresh anonymous shared mapping, zero-filled, never unmapped (leaked on
    // purpose: the benchmark makes a handful).
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert!(p != libc::MAP_FAILED, "mmap: errno {}", errno());
        &*(p as *const [AtomicU32; 1024])
    }
}

/// Raises the soft limit on open files to the hard limit.
pub fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is valid for reading and writing.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
    }
}

/// Scheduler state letter of a thread of this process (`R`, `S`, `D`...).
pub fn thread_state(tid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// CPUs online in the guest.
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory side effects.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize
}

/// Pin the calling thread (or process) to `cpu`; panics if the kernel refuses,
/// since a figure labelled same-CPU or cross-CPU must be what it says.
pub fn pin(cpu: usize) {
    pin_task(0, cpu);
}

/// Pins task `tid` (0: this thread) to CPU `cpu`.
pub fn pin_task(tid: libc::pid_t, cpu: usize) {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is a small CPU number, below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let r = unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(&set), &set) };
    assert!(
        r == 0,
        "sched_setaffinity(task {tid}, cpu {cpu}): errno {}",
        errno()
    );
}

/// The pid of the kernel thread named `comm` (a kernel Lua script's thread), if any.
pub fn kthread_pid(comm: &str) -> Option<libc::pid_t> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
        let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
        // A kernel thread has no command line.
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        (name.trim_end() == comm && cmdline.is_empty()).then_some(pid)
    })
}

/// Mean nanoseconds per call of `f` over `n` calls, after `n / 10` warm-up calls.
pub fn time_per_call(n: u64, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let t0 = now_ns();
    for _ in 0..n {
        f();
    }
    (now_ns() - t0) as f64 / n as f64
}

/// WAIT_MANY (any, or all with `all`) over `fds` on the control device, no deadline (retried
/// on `EINTR`): the index.
#[inline]
pub fn kc_wait_many(dev: RawFd, fds: &[RawFd], all: bool) -> u32 {
    let mut req = KcWaitMany {
        deadline_ns: KC_DEADLINE_NEVER,
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        flags: if all { KC_WAIT_ALL } else { 0 },
        alert_fd: KC_NO_ALERT,
        index: 0,
        reserved: 0,
    };
    loop {
        match raw::ioctl::<raw::WaitMany>(dev, &mut req) {
            Ok(_) => return req.index,
            Err(libc::EINTR) => continue,
            Err(e) => panic!("KC_IOC_WAIT_MANY: errno {e}"),
        }
    }
}

/// A wait set (`KC_IOC_WAIT_SET`) over `fds`, any or all; its fd.
pub fn kc_wait_set(dev: RawFd, fds: &[RawFd], all: bool) -> RawFd {
    let mut req = KcWaitSet {
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        flags: if all { KC_WAIT_ALL } else { 0 },
        reserved: 0,
    };
    raw::ioctl::<raw::WaitSet>(dev, &mut req).expect("KC_IOC_WAIT_SET")
}

/// One entry of `futex_waitv(2)` (`struct futex_waitv`).
#[repr(C)]
pub struct FutexWaitv {
    pub val: u64,
    pub uaddr: u64,
    pub flags: u32,
    pub reserved: u32,
}

/// `FUTEX2_SIZE_U32 | FUTEX2_PRIVATE`: a private 32-bit futex (`<linux/futex.h>`).
pub const FUTEX2_U32_PRIVATE: u32 = 0x02 | 128;

/// `futex_waitv(waiters, n, 0, NULL, 0)`: sleeps until one of the words is woken (or already
/// differs from its `val`). The syscall number is x86_64's (449).
#[inline]
pub fn futex_waitv(waiters: &[FutexWaitv]) -> i64 {
    // SAFETY: `waiters` is a valid array of `futex_waitv` for the call; no timeout.
    unsafe {
        libc::syscall(
            449,
            waiters.as_ptr(),
            waiters.len() as u32,
            0u32,
            std::ptr::null::<libc::timespec>(),
            0i32,
        )
    }
}
