// Over 500 lines on purpose: the fuzzer's call generator and the model it checks results
// against share one state (live fds, names, scripts); split, every part would need all of it.
//! A seedable, reproducible fuzzer for /dev/kcompletion and object fds.
//!
//! `kc-fuzz [--calls N] [--seed S] [--threads T]` (defaults: 200000 calls, a seed from the
//! clock, 4 threads). Every thread draws from its own xorshift stream (derived from the seed
//! and its index), mixing: random ioctl numbers (known, known with a wrong size or direction,
//! unknown) on the control fd and on object fds, with argument pointers that are valid,
//! NULL, unaligned, unmapped, kernel addresses, or a page another thread maps and unmaps
//! while the call runs; names of every byte value and length 0-300; reserved fields set;
//! closed and never-opened fd numbers; and sequences of valid calls (create, open, unlink,
//! complete, complete-all, reinit, try-wait, wait with short deadlines, complete-and-wait
//! with any fd to complete, info, list, poll,
//! close, dup) plus RUN/STOP of small kernel Lua scripts. Every result must be success or
//! an errno from the documented set; anything else is a finding, printed with the seed,
//! thread and call index so `--seed` replays it. Kernel-side findings (splats, leaks) are
//! caught by the guest runner. KTAP output.

use kcompletion_abi::*;
use kcompletion_driver_tests::args;
use kcompletion_driver_tests::cpus;
use kcompletion_driver_tests::os;
use kcompletion_driver_tests::progress::progress_reporter;
use kcompletion_driver_tests::rng::Rng;
use kcompletion_driver_tests::sys::*;
use kcompletion_test_harness::ktap::Ktap;
use kcompletion_test_harness::signal;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Addresses that must never be dereferenced successfully.
struct BadAddrs {
    hole: usize,
    flapping: usize,
}

const NAMES: [&str; 8] = [
    "fz.a", "fz.b", "fz.c", "fz.d", "fz.e", "fz.f", "fz.g", "fz.h",
];

const KNOWN: [u32; 19] = [
    KC_IOC_VERSION,
    KC_IOC_CREATE,
    KC_IOC_OPEN,
    KC_IOC_UNLINK,
    KC_IOC_LIST,
    KC_IOC_COMPLETE,
    KC_IOC_COMPLETE_ALL,
    KC_IOC_WAIT,
    KC_IOC_TRY_WAIT,
    KC_IOC_DONE,
    KC_IOC_REINIT,
    KC_IOC_INFO,
    KC_IOC_COMPLETE_AND_WAIT,
    KC_IOC_MAP_INFO,
    KC_IOC_WAIT_MANY,
    KC_IOC_REVOKE,
    KC_IOC_RUN,
    KC_IOC_STOP,
    KC_IOC_SCRIPTS,
];

const SCRIPTS: [&str; 6] = [
    "return 1",
    "local c = require(\"completion\").new() c:complete() assert(c:wait(10))",
    "while true do end",
    "x = = 1",
    "error('boom')",
    "local t = {} for i = 1, 100000 do t[i] = string.rep('x', 100) end",
];

/// Random arguments can make a WAIT read a deadline far in the future (through an unaligned
/// or stale pointer). So that no call blocks for long, every worker is sent SIGUSR1 (a no-op
/// handler without SA_RESTART) every 50 ms: a blocked WAIT returns EINTR, which is also a
/// path worth fuzzing.
fn kicker(workers: Vec<libc::pthread_t>, stop: Arc<AtomicBool>) -> thread::JoinHandle<u64> {
    signal::interrupt_on(libc::SIGUSR1);
    thread::spawn(move || {
        let mut kicks = 0;
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(std::time::Duration::from_millis(50));
            for &t in &workers {
                // SAFETY: The workers are joined only after this thread has stopped.
                unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
                kicks += 1;
            }
        }
        kicks
    })
}

/// Errnos the driver documents; anything else is a finding.
fn allowed(e: i32) -> bool {
    matches!(
        e,
        libc::EINVAL
            | libc::EFAULT
            | libc::ENOTTY
            | libc::EBADF
            | libc::ENOENT
            | libc::EEXIST
            | libc::EACCES
            | libc::ENAMETOOLONG
            | libc::ENOSPC
            | libc::EDQUOT
            | libc::EAGAIN
            | libc::ETIMEDOUT
            | libc::EINTR
            | libc::ENOMEM
            | libc::EMFILE
            | libc::EPERM
            | libc::EBUSY
            | libc::E2BIG
            | libc::ENOEXEC
            | libc::EIDRM
    )
}

struct Worker {
    rng: Rng,
    dev: OwnedFd,
    fds: Vec<OwnedFd>,
    buf: Vec<u8>,
    bad: Arc<BadAddrs>,
    findings: Arc<Mutex<Vec<String>>>,
    index: usize,
    call: u64,
    seed: u64,
}

impl Worker {
    fn finding(&self, what: String) {
        let msg = format!(
            "seed {} thread {} call {}: {what}",
            self.seed, self.index, self.call
        );
        let mut f = self.findings.lock().unwrap();
        if f.len() < 20 {
            f.push(msg);
        }
    }

    fn check(&self, what: &str, r: Res<i32>) -> Res<i32> {
        if let Err(e) = r {
            if !allowed(e) {
                self.finding(format!("{what}: unexpected {}", errname(e)));
            }
        }
        r
    }

    fn pick_fd(&mut self) -> i32 {
        match self.rng.below(10) {
            0..=5 if !self.fds.is_empty() => {
                let i = self.rng.below(self.fds.len() as u64) as usize;
                self.fds[i].as_raw_fd()
            }
            6 | 7 => self.dev.as_raw_fd(),
            8 => 4000 + self.rng.below(50) as i32, // never opened
            _ => -1,
        }
    }

    fn pick_arg(&mut self) -> usize {
        let base = self.buf.as_mut_ptr() as usize;
        match self.rng.below(10) {
            0..=3 => {
                for b in self.buf.iter_mut() {
                    *b = 0;
                }
                let n = self.rng.below(512) as usize;
                for i in 0..n {
                    self.buf[i] = self.rng.next_u64() as u8;
                }
                base
            }
            4 => 0,
            5 => base + 1 + self.rng.below(7) as usize,
            6 => self.bad.hole,
            7 => 0xffff_8880_0000_0000 + (self.rng.below(1 << 20) as usize) * 8,
            8 => self.bad.flapping,
            _ => self.rng.below(4096) as usize,
        }
    }

    fn name(&mut self) -> Vec<u8> {
        if self.rng.chance(65) {
            return NAMES[self.rng.below(NAMES.len() as u64) as usize]
                .as_bytes()
                .to_vec();
        }
        let len = match self.rng.below(4) {
            0 => self.rng.below(4),
            1 => 60 + self.rng.below(8),
            2 => self.rng.below(301),
            _ => 1 + self.rng.below(63),
        } as usize;
        (0..len).map(|_| self.rng.next_u64() as u8).collect()
    }

    fn keep(&mut self, r: Res<i32>) {
        if let Ok(fd) = r {
            // SAFETY: CREATE/OPEN returned a fresh fd that we now own.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            if self.fds.len() < 32 {
                self.fds.push(fd);
            }
        }
    }

    fn random_ioctl(&mut self) {
        let fd = self.pick_fd();
        let cmd = match self.rng.below(5) {
            0 | 1 => KNOWN[self.rng.below(KNOWN.len() as u64) as usize],
            2 => {
                KNOWN[self.rng.below(KNOWN.len() as u64) as usize]
                    ^ (1 << (16 + self.rng.below(14)))
            }
            3 => {
                (KC_IOC_MAGIC << 8)
                    | (self.rng.below(256) as u32)
                    | ((self.rng.next_u64() as u32) & 0xffff_0000)
            }
            _ => self.rng.next_u64() as u32,
        };
        let arg = self.pick_arg();
        if arg == self.buf.as_ptr() as usize {
            // Never block: a WAIT through the buffer gets a deadline at most 1 ms away.
            let deadline = now_ns(libc::CLOCK_MONOTONIC) + self.rng.below(1_000_000);
            self.buf[..8].copy_from_slice(&deadline.to_ne_bytes());
            self.buf[8..16].fill(0);
        }
        let r = ioctl_raw(fd, cmd, arg);
        let r = self.check(&format!("ioctl fd {fd} cmd {cmd:#x} arg {arg:#x}"), r);
        if matches!(cmd, KC_IOC_CREATE | KC_IOC_OPEN) && fd == self.dev.as_raw_fd() {
            self.keep(r);
        } else if let Ok(v) = r {
            if cmd == KC_IOC_CREATE || cmd == KC_IOC_OPEN {
                self.finding(format!("cmd {cmd:#x} on fd {fd} returned {v}"));
            }
        }
    }

    fn structured(&mut self) {
        let name = self.name();
        let mut kn = kname(&name);
        if self.rng.chance(5) {
            kn.reserved = self.rng.next_u64() as u32;
        }
        match self.rng.below(16) {
            0 | 1 => {
                let mut c = KcCreate {
                    name: kn,
                    mode: if self.rng.chance(90) {
                        0o600 | (self.rng.below(0o200) as u32)
                    } else {
                        self.rng.next_u64() as u32
                    },
                    flags: if self.rng.chance(90) {
                        self.rng.below(2) as u32
                    } else {
                        self.rng.next_u64() as u32
                    },
                };
                let r = self.check("create", ioctl(&self.dev, KC_IOC_CREATE, &mut c));
                self.keep(r);
            }
            2 => {
                let mut o = KcOpen {
                    name: kn,
                    access: if self.rng.chance(90) {
                        1 + self.rng.below(3) as u32
                    } else {
                        self.rng.next_u64() as u32
                    },
                    reserved: if self.rng.chance(95) { 0 } else { 1 },
                };
                let r = self.check("open", ioctl(&self.dev, KC_IOC_OPEN, &mut o));
                self.keep(r);
            }
            3 => {
                let _ = self.check("unlink", ioctl(&self.dev, KC_IOC_UNLINK, &mut kn));
            }
            4 => {
                let cap = self.rng.below(300) as u32;
                let mut entries = vec![KcInfo::default(); cap.max(1) as usize];
                let mut l = KcList {
                    entries: entries.as_mut_ptr() as u64,
                    capacity: cap,
                    count: 0,
                    cursor: self.rng.next_u64() as u32 % 64,
                    reserved: if self.rng.chance(95) { 0 } else { 1 },
                };
                if let Ok(n) = self.check("list", ioctl(&self.dev, KC_IOC_LIST, &mut l)) {
                    if n as u32 > cap || l.count != n as u32 {
                        self.finding(format!("list returned {n} for capacity {cap}"));
                    }
                }
            }
            5..=10 if !self.fds.is_empty() => {
                let i = self.rng.below(self.fds.len() as u64) as usize;
                let fd = self.fds[i].as_raw_fd();
                let cmd = [
                    KC_IOC_COMPLETE,
                    KC_IOC_COMPLETE_ALL,
                    KC_IOC_REINIT,
                    KC_IOC_TRY_WAIT,
                    KC_IOC_DONE,
                    KC_IOC_COMPLETE,
                ][self.rng.below(6) as usize];
                match self.rng.below(5) {
                    4 => {
                        // The fd to complete: one of ours, the control fd, closed, -1. Waits
                        // of at most 0.3 ms: the run's time goes into calls, not sleeps.
                        let complete_fd = self.pick_fd();
                        let mut c = KcCompleteAndWait {
                            deadline_ns: now_ns(libc::CLOCK_MONOTONIC) + self.rng.below(300_000),
                            flags: self.rng.below(4) as u32,
                            complete_fd,
                        };
                        if c.flags & KC_WAIT_REALTIME != 0 {
                            c.deadline_ns = now_ns(libc::CLOCK_REALTIME) + self.rng.below(300_000);
                        }
                        if self.rng.chance(5) {
                            c.flags = self.rng.next_u64() as u32;
                        }
                        let _ = self.check(
                            "complete_and_wait",
                            ioctl_raw(fd, KC_IOC_COMPLETE_AND_WAIT, &mut c as *mut _ as usize),
                        );
                    }
                    0 => {
                        let mut w = KcWait {
                            deadline_ns: now_ns(libc::CLOCK_MONOTONIC) + self.rng.below(2_000_000),
                            flags: 0,
                            reserved: 0,
                        };
                        if self.rng.chance(10) {
                            w.flags = KC_WAIT_REALTIME;
                            w.deadline_ns =
                                now_ns(libc::CLOCK_REALTIME) + self.rng.below(1_000_000);
                        }
                        if self.rng.chance(5) {
                            w.reserved = 1;
                        }
                        let _ = self.check(
                            "wait",
                            ioctl_raw(fd, KC_IOC_WAIT, &mut w as *mut _ as usize),
                        );
                    }
                    1 => {
                        let mut i = KcInfo::default();
                        if self
                            .check(
                                "info",
                                ioctl_raw(fd, KC_IOC_INFO, &mut i as *mut _ as usize),
                            )
                            .is_ok()
                            && (i.reserved != 0
                                || i.name_len as usize > KC_NAME_MAX
                                || i.name[i.name_len as usize..].iter().any(|&b| b != 0))
                        {
                            self.finding(format!("info not clean: {i:?}"));
                        }
                    }
                    2 => {
                        let _ = readable(&self.fds[i], 0);
                    }
                    _ => {
                        let _ = self.check("object op", ioctl_raw(fd, cmd, 0));
                    }
                }
            }
            11 if !self.fds.is_empty() => {
                let i = self.rng.below(self.fds.len() as u64) as usize;
                if self.rng.chance(50) {
                    self.fds.swap_remove(i);
                } else if let Ok(d) = self.fds[i].try_clone() {
                    if self.fds.len() < 32 {
                        self.fds.push(d);
                    }
                }
            }
            12 | 13 => {
                let k = self.rng.below(4);
                let sname = format!("fz.s{k}");
                if self.rng.chance(50) {
                    let src = SCRIPTS[self.rng.below(SCRIPTS.len() as u64) as usize];
                    let mut err = [0u8; 128];
                    let mut run = run_req(sname.as_bytes(), src.as_bytes(), &mut err);
                    if self.rng.chance(10) {
                        run.source = self.pick_arg() as u64;
                    }
                    if self.rng.chance(5) {
                        run.source_len = self.rng.next_u64() as u32;
                    }
                    let _ = self.check("run", ioctl(&self.dev, KC_IOC_RUN, &mut run));
                } else {
                    let mut n = kname(sname.as_bytes());
                    let _ = self.check("stop", ioctl(&self.dev, KC_IOC_STOP, &mut n));
                }
            }
            14 => self.map_state(),
            15 => self.wait_many(),
            _ => self.random_ioctl(),
        }
    }

    /// `WAIT_MANY` over a random list (our fds, the control fd, closed and never-opened
    /// numbers, repeats; 0 to 130 of them), any or all, a random alert, waits of at most
    /// 0.3 ms; sometimes a `REVOKE` of one of our objects (others' waits then end `EIDRM`).
    fn wait_many(&mut self) {
        if self.rng.chance(10) && !self.fds.is_empty() {
            let i = self.rng.below(self.fds.len() as u64) as usize;
            let _ = self.check("revoke", ioctl0(&self.fds[i], KC_IOC_REVOKE));
            return;
        }
        let n = match self.rng.below(10) {
            0 => self.rng.below(131) as usize,
            _ => 1 + self.rng.below(6) as usize,
        };
        let fds: Vec<i32> = (0..n).map(|_| self.pick_fd()).collect();
        let mut a = KcWaitMany {
            deadline_ns: now_ns(libc::CLOCK_MONOTONIC) + self.rng.below(300_000),
            fds: fds.as_ptr() as u64,
            count: n as u32,
            flags: if self.rng.chance(50) { KC_WAIT_ALL } else { 0 },
            alert_fd: if self.rng.chance(70) {
                KC_NO_ALERT
            } else {
                self.pick_fd()
            },
            index: self.rng.next_u64() as u32,
            reserved: 0,
        };
        match self.rng.below(20) {
            0 => a.reserved = self.rng.next_u64(),
            1 => a.flags = self.rng.next_u64() as u32,
            2 => a.fds = self.pick_arg() as u64,
            3 => a.count = self.rng.next_u64() as u32,
            _ => {}
        }
        if self.rng.chance(30) {
            self.wait_set(&fds, a.flags);
            return;
        }
        let r = self.check(
            "wait_many",
            ioctl_raw(
                self.dev.as_raw_fd(),
                KC_IOC_WAIT_MANY,
                &mut a as *mut _ as usize,
            ),
        );
        if r.is_ok() {
            let all = a.flags & KC_WAIT_ALL != 0;
            if a.index > a.count || (all && a.index != 0 && a.index != a.count) {
                self.finding(format!(
                    "wait_many index {} of {} (flags {:#x})",
                    a.index, a.count, a.flags
                ));
            }
        }
    }

    /// `WAIT_SET` over the same kind of list; a set made is waited on (at most 0.3 ms, any
    /// index within the set), polled, sometimes kept a while (its entries stay queued on
    /// objects that other threads complete, revoke and close), then closed.
    fn wait_set(&mut self, fds: &[i32], flags: u32) {
        let mut a = KcWaitSet {
            fds: fds.as_ptr() as u64,
            count: fds.len() as u32,
            flags,
            reserved: 0,
        };
        if self.rng.chance(5) {
            a.reserved = self.rng.next_u64();
        }
        let Ok(set) = self.check(
            "wait_set",
            ioctl_raw(
                self.dev.as_raw_fd(),
                KC_IOC_WAIT_SET,
                &mut a as *mut _ as usize,
            ),
        ) else {
            return;
        };
        let set = to_fd(set);
        let mut w = KcWait {
            deadline_ns: now_ns(libc::CLOCK_MONOTONIC) + self.rng.below(300_000),
            flags: 0,
            reserved: 0,
        };
        if let Ok(i) = self.check("wait on a set", ioctl(&set, KC_IOC_WAIT, &mut w)) {
            let all = flags & KC_WAIT_ALL != 0;
            if i < 0 || i as usize >= fds.len() || (all && i != 0) {
                self.finding(format!(
                    "set wait index {i} of {} (flags {flags:#x})",
                    fds.len()
                ));
            }
        }
        let _ = readable(&set, 0);
        if self.rng.chance(20) {
            thread::sleep(Duration::from_micros(self.rng.below(2000)));
            let _ = readable(&set, 0);
        }
    }

    /// `mmap` of a state page with random protections, flags, lengths and offsets on a
    /// random fd; a mapping that works is read, maybe `mprotect`ed or `mremap`ed (both must
    /// fail to make it writable, executable or larger) and unmapped.
    fn map_state(&mut self) {
        let fd = self.pick_fd();
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let prot = if self.rng.chance(70) {
            libc::PROT_READ
        } else {
            (self.rng.below(8) as i32) & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC)
        };
        let flags = if self.rng.chance(50) {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        let len = if self.rng.chance(80) {
            page
        } else {
            page * self.rng.below(4) as usize + self.rng.below(2) as usize
        };
        let off = if self.rng.chance(85) {
            0
        } else {
            (page * self.rng.below(3) as usize) as i64
        };
        // SAFETY: A new mapping; nothing existing is touched.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, off) };
        if p == libc::MAP_FAILED {
            let e = errno();
            // EPERM: 7.x refuses PROT_EXEC itself (its anonymous-inode mount is noexec).
            let exec_refused = e == libc::EPERM && prot & libc::PROT_EXEC != 0;
            if !exec_refused
                && !matches!(
                    e,
                    libc::EINVAL
                        | libc::EACCES
                        | libc::EBADF
                        | libc::ENODEV
                        | libc::ENOSPC
                        | libc::EIDRM // a revoked object (another thread's REVOKE)
                )
            {
                self.finding(format!(
                    "mmap fd {fd} len {len} prot {prot} off {off}: {}",
                    errname(e)
                ));
            }
            return;
        }
        if prot & (libc::PROT_WRITE | libc::PROT_EXEC) != 0 && self.is_object_fd(fd) {
            self.finding(format!("mmap fd {fd} with prot {prot} worked"));
        }
        // A mapping placed over the bad addresses (free while the flapper has its page
        // unmapped) may be replaced or unmapped by the flapper at any time: leave it alone
        // (unmapping it then unmaps at most the flapper's page, which nothing reads). The
        // mapping is never read: it may be gone.
        let (lo, hi) = (self.bad.hole, self.bad.flapping + 4096);
        let overlaps = (p as usize) < hi && (p as usize) + len > lo;
        if self.is_object_fd(fd) && !overlaps {
            // SAFETY: `p` is our mapping of `len` bytes.
            let w = unsafe { libc::mprotect(p, len, libc::PROT_READ | libc::PROT_WRITE) };
            // A growth by one page (a sub-page length is a whole page, so `2 * len` may not
            // grow it at all).
            let grown = len.next_multiple_of(page) + page;
            // SAFETY: As above; moving if needed.
            let g = unsafe { libc::mremap(p, len, grown, libc::MREMAP_MAYMOVE) };
            if w == 0 || g != libc::MAP_FAILED {
                self.finding(format!("state page of fd {fd}: mprotect {w}, mremap {g:?}"));
                if g != libc::MAP_FAILED {
                    // SAFETY: The grown mapping replaced `p`.
                    unsafe { libc::munmap(g, grown) };
                    return;
                }
            }
        }
        // SAFETY: `p` is our mapping of `len` bytes.
        unsafe { libc::munmap(p, len) };
    }

    /// Whether `fd` is one of the object fds this fuzzer holds.
    fn is_object_fd(&self, fd: i32) -> bool {
        self.fds.iter().any(|f| f.as_raw_fd() == fd)
    }

    fn run(&mut self, calls: u64, done: &AtomicU64) {
        for c in 0..calls {
            self.call = c;
            if self.rng.chance(30) {
                self.random_ioctl();
            } else {
                self.structured();
            }
            done.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn main() {
    let mut ktap = Ktap::start();
    let mut calls: u64 = 200_000;
    let mut seed: u64 = now_ns(libc::CLOCK_REALTIME) | 1;
    let mut threads: u64 = 4;
    args::parse(
        "kc-fuzz [--calls N] [--seed S] [--threads T]",
        &mut [
            ("calls", &mut calls),
            ("seed", &mut seed),
            ("threads", &mut threads),
        ],
    );
    let threads = threads.clamp(1, 64) as usize;
    println!("# kc-fuzz --calls {calls} --seed {seed} --threads {threads}");
    cpus::require(&mut ktap, 2);

    // Two pages for addresses that are (or become) invalid: the first unmapped at once, the
    // second unmapped and mapped again all the time by the flapper.
    let p = os::map_anon(8192, libc::MAP_PRIVATE);
    // SAFETY: Unmaps the first page of our own mapping, which nothing uses.
    unsafe { libc::munmap(p, 4096) };
    let (hole, flapping) = (p as usize, p as usize + 4096);
    let bad = Arc::new(BadAddrs { hole, flapping });
    let stop = Arc::new(AtomicBool::new(false));
    let flapper = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: Maps and unmaps our own page at a fixed address that only the
                // fuzzer's syscalls use as a (sometimes invalid) argument.
                unsafe {
                    libc::munmap(flapping as *mut _, 4096);
                    thread::yield_now();
                    libc::mmap(
                        flapping as *mut _,
                        4096,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    );
                }
                n += 1;
                // Unmapped only around the yield above; the pause keeps this thread from taking the CPU
                // the fuzzing threads need (one vCPU in the test guest).
                thread::sleep(std::time::Duration::from_micros(300));
            }
            n
        })
    };

    let findings = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicU64::new(0));
    let per = calls / threads as u64;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (bad, findings, done) = (bad.clone(), findings.clone(), done.clone());
            thread::spawn(move || {
                cpus::pin_spread(t);
                let mut w = Worker {
                    rng: Rng::new(seed, t as u64),
                    dev: open_dev(),
                    fds: Vec::new(),
                    buf: vec![0u8; 4096],
                    bad,
                    findings,
                    index: t,
                    call: 0,
                    seed,
                };
                w.run(per, &done);
            })
        })
        .collect();
    let progress = {
        let done = done.clone();
        progress_reporter(move || done.load(Ordering::Relaxed), calls, "calls")
    };
    let kick_stop = Arc::new(AtomicBool::new(false));
    let kicks = kicker(
        workers.iter().map(|w| w.as_pthread_t()).collect(),
        kick_stop.clone(),
    );
    // Joined in order: a finished worker's pthread_t is not reused while the kicker may
    // still signal it, because the kicker stops before the first join.
    let mut crashed = 0;
    while done.load(Ordering::Relaxed) < per * threads as u64
        && !workers.iter().all(|w| w.is_finished())
    {
        thread::sleep(std::time::Duration::from_millis(100));
    }
    kick_stop.store(true, Ordering::Relaxed);
    let kicks = kicks.join().unwrap_or(0);
    for w in workers {
        if w.join().is_err() {
            crashed += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flaps = flapper.join().unwrap_or(0);
    progress.stop();

    // Clean up: stop scripts, unlink every name that is left.
    let dev = open_dev();
    for k in 0..4 {
        let n = format!("fz.s{k}");
        let mut kn = kname(n.as_bytes());
        let _ = ioctl(&dev, KC_IOC_STOP, &mut kn);
        let _ = ioctl(&dev, KC_IOC_STOP, &mut kn);
    }
    let left_before = list_all(&dev, 256).unwrap_or_default();
    for i in &left_before {
        let name = i.name[..i.name_len as usize].to_vec();
        let mut kn = kname(&name);
        let _ = ioctl(&dev, KC_IOC_UNLINK, &mut kn);
    }
    let left = list_all(&dev, 256).map(|v| v.len());

    let findings = findings.lock().unwrap();
    let total = done.load(Ordering::Relaxed);
    for f in findings.iter() {
        println!("# finding: {f}");
    }
    ktap.case(
        crashed == 0,
        format!("{threads} fuzz threads ran to the end"),
    );
    ktap.case(
        total >= calls - threads as u64,
        format!("{total} calls made (seed {seed})"),
    );
    ktap.case(
        findings.is_empty(),
        format!("every result documented ({} findings)", findings.len()),
    );
    ktap.case(
        left == Ok(0),
        format!(
            "registry empty after cleanup ({} names were left, {left:?})",
            left_before.len()
        ),
    );
    println!("# page unmapped/remapped {flaps} times under the calls; {kicks} SIGUSR1 kicks");
    ktap.finish(Some(format!(
        "replay: kc-fuzz --calls {calls} --seed {seed} --threads {threads}"
    )));
}
