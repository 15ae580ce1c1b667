//! P1: round trips between two threads and between two processes through two kcompletions,
//! against eventfd (`EFD_SEMAPHORE`), futex and pipe. P2: a userspace Lua process against an
//! in-kernel Lua script through two named completions, against P1 (and the same through
//! `KC_IOC_COMPLETE_AND_WAIT` on both sides).

use crate::sys::*;
use crate::{emit, fail, progress, Config};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

/// One direction of a ping-pong: `signal` wakes the other side's `wait`.
pub trait Chan: Sync {
    fn signal(&self);
    fn wait(&self);
}

struct Kc(RawFd);
impl Chan for Kc {
    #[inline]
    fn signal(&self) {
        kc_complete(self.0)
    }
    #[inline]
    fn wait(&self) {
        kc_wait(self.0);
    }
}

/// The library's handle (`kcompletion::Completion`): its `wait` may spin on the state page
/// first (`kcompletion::state::set_wait_spin`).
struct KcLib(kcompletion::Completion);
impl Chan for KcLib {
    #[inline]
    fn signal(&self) {
        self.0.complete().expect("complete");
    }
    #[inline]
    fn wait(&self) {
        self.0.wait(None).expect("wait");
    }
}

/// A library handle on a new object `name` (unlinked at once, as `kc_fresh` does).
fn kc_lib(dev: RawFd, name: &str) -> KcLib {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: `kc_fresh` returns a new object fd that nothing else owns.
    KcLib(kcompletion::Completion::from_fd(unsafe {
        OwnedFd::from_raw_fd(kc_fresh(dev, name))
    }))
}

struct Efd(RawFd);
impl Chan for Efd {
    #[inline]
    fn signal(&self) {
        write_u64(self.0, 1)
    }
    #[inline]
    fn wait(&self) {
        read_u64(self.0);
    }
}

/// The classic futex ping-pong: a word set to 1 and FUTEX_WAKE; the waiter takes the 1 or
/// sleeps in FUTEX_WAIT while the word is 0.
struct Futex {
    word: &'static AtomicU32,
    private: bool,
}
impl Chan for Futex {
    #[inline]
    fn signal(&self) {
        self.word.store(1, Ordering::Release);
        futex_wake(self.word, 1, self.private);
    }
    #[inline]
    fn wait(&self) {
        while self.word.swap(0, Ordering::Acquire) == 0 {
            futex_wait(self.word, 0, self.private);
        }
    }
}

struct Pipe(RawFd, RawFd);
impl Chan for Pipe {
    #[inline]
    fn signal(&self) {
        write_byte(self.1)
    }
    #[inline]
    fn wait(&self) {
        read_byte(self.0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Threads,
    Processes,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Threads => "threads",
            Mode::Processes => "processes",
        }
    }
}

pub const MECHS: &[&str] = &["kcompletion", "eventfd", "futex", "pipe"];

/// P1's rows through the library's `Completion` (issue 12), beside [`MECHS`]: its `wait`
/// without and with a spin on the state page first, as (mechanism, spin in ns).
const LIB_MECHS: [(&str, u64); 2] = [("kcompletion-lib", 0), ("kcompletion-spin", SPIN_NS)];

/// The two channels of a mechanism, and what to close afterwards.
pub fn make(dev: RawFd, mech: &str, mode: Mode) -> (Box<dyn Chan>, Box<dyn Chan>, Vec<RawFd>) {
    match mech {
        "kcompletion" => {
            let a = kc_fresh(dev, "kcb.p1.ping");
            let b = kc_fresh(dev, "kcb.p1.pong");
            (Box::new(Kc(a)), Box::new(Kc(b)), vec![a, b])
        }
        "eventfd" => {
            let a = eventfd(true);
            let b = eventfd(true);
            (Box::new(Efd(a)), Box::new(Efd(b)), vec![a, b])
        }
        "futex" => {
            let page = shared_page();
            let private = mode == Mode::Threads;
            (
                Box::new(Futex {
                    word: &page[0],
                    private,
                }),
                Box::new(Futex {
                    word: &page[16],
                    private,
                }),
                vec![],
            )
        }
        "kcompletion-lib" | "kcompletion-spin" => {
            let (a, b) = (kc_lib(dev, "kcb.p1l.ping"), kc_lib(dev, "kcb.p1l.pong"));
            // The handles close their fds.
            (Box::new(a), Box::new(b), vec![])
        }
        "pipe" => {
            let (r1, w1) = pipe();
            let (r2, w2) = pipe();
            (
                Box::new(Pipe(r1, w1)),
                Box::new(Pipe(r2, w2)),
                vec![r1, w1, r2, w2],
            )
        }
        _ => unreachable!(),
    }
}

/// This side's half of a ping-pong: `warm` untimed rounds, then the mean time in ns of
/// `rounds` rounds of signalling `ping` and waiting for `pong`.
fn signal_then_wait<A: Chan + ?Sized, B: Chan + ?Sized>(
    ping: &A,
    pong: &B,
    warm: usize,
    rounds: usize,
) -> f64 {
    for _ in 0..warm {
        ping.signal();
        pong.wait();
    }
    let t0 = now_ns();
    for _ in 0..rounds {
        ping.signal();
        pong.wait();
    }
    (now_ns() - t0) as f64 / rounds as f64
}

/// Mean round-trip time in ns: this side signals `ping` and waits for `pong`, the peer (a
/// thread or a forked process) waits for `ping` and signals `pong`.
///
/// `cpus` places the two sides: `Some((a, b))` pins this side to CPU `a` and the peer to
/// `b` (same CPU when equal), `None` leaves both to the scheduler.
pub fn round_trips(
    ping: &dyn Chan,
    pong: &dyn Chan,
    mode: Mode,
    warm: usize,
    rounds: usize,
    cpus: Option<(usize, usize)>,
) -> f64 {
    let total = warm + rounds;
    if let Some((me, _)) = cpus {
        pin(me);
    }
    let peer = || {
        if let Some((_, other)) = cpus {
            pin(other);
        }
        for _ in 0..total {
            ping.wait();
            pong.signal();
        }
    };
    let measure = || signal_then_wait(ping, pong, warm, rounds);
    with_peer(mode, peer, measure)
}

/// Runs `peer` on a thread or in a forked process (`mode`) while this side runs `measure`,
/// and returns what `measure` returned once the peer is done.
pub fn with_peer<P, M>(mode: Mode, peer: P, measure: M) -> f64
where
    P: FnOnce() + Send,
    M: FnOnce() -> f64,
{
    match mode {
        Mode::Threads => std::thread::scope(|s| {
            s.spawn(peer);
            measure()
        }),
        Mode::Processes => {
            // SAFETY: The program is single-threaded here; the child only runs the peer loop
            // on inherited descriptors and shared memory, then `_exit`s.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork: errno {}", errno());
            if pid == 0 {
                peer();
                // SAFETY: Ends the child without running the parent's exit handlers.
                unsafe { libc::_exit(0) };
            }
            let v = measure();
            let mut st = 0;
            // SAFETY: Reaps our child.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            assert!(
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
                "peer failed: {st}"
            );
            v
        }
    }
}

/// Where the round-trip scenarios (P1, P9) put their two sides, as (case suffix, (this
/// side's CPU, the peer's CPU)): both on CPU 0, and, when a second CPU is online, the peer on
/// CPU 1 (the `-xcpu` cases).
pub fn placements(scenario: &str) -> Vec<(&'static str, (usize, usize))> {
    let mut placements = vec![("", (0, 0))];
    if online_cpus() >= 2 {
        placements.push(("-xcpu", (0, 1)));
    } else {
        eprintln!("[kc-bench] {scenario}: one CPU online, no cross-CPU cases");
    }
    placements
}

/// P1 runs every case in every [`placements`] entry (`threads`, `processes`, and their
/// `-xcpu` twins).
/// The spin P1's `kcompletion-spin` rows use: the library's default (20 µs).
const SPIN_NS: u64 = kcompletion::state::DEFAULT_WAIT_SPIN.as_nanos() as u64;

pub fn p1(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let rounds = cfg.pick(20_000, 2_000);
    let warm = rounds / 10;
    let placements = placements("P1");
    for rep in 0..cfg.reps {
        for &(suffix, cpus) in &placements {
            for mode in [Mode::Threads, Mode::Processes] {
                let lib = LIB_MECHS.iter().copied();
                for (mech, spin) in MECHS.iter().map(|&m| (m, 0)).chain(lib) {
                    kcompletion::state::set_wait_spin(std::time::Duration::from_nanos(spin));
                    let (ping, pong, fds) = make(dev, mech, mode);
                    let v = round_trips(&*ping, &*pong, mode, warm, rounds, Some(cpus));
                    emit(
                        "P1",
                        &format!("{}{suffix}", mode.name()),
                        mech,
                        0,
                        rep,
                        v,
                        "ns",
                    );
                    fds.into_iter().for_each(close);
                }
                kcompletion::state::set_wait_spin(std::time::Duration::ZERO);
            }
        }
        progress(&format!("P1 rep {} of {}", rep + 1, cfg.reps));
    }
    close(dev);
}

// ------------------------------------------------------------------ P2

const P2_SCRIPT: &str = "kcb-p2";
const P2_KERNEL: &str = include_str!("../lua/p2_kernel.lua");
const P2_USER: &str = include_str!("../lua/p2_user.lua");
/// P2 through `KC_IOC_COMPLETE_AND_WAIT` (issue 18): a second script on its own two objects,
/// both sides making one call per round.
const P2_CAW_SCRIPT: &str = "kcb-p2-caw";
const P2_CAW_KERNEL: &str = include_str!("../lua/p2_kernel_caw.lua");
const P2_CAW_USER: &str = include_str!("../lua/p2_user_caw.lua");

/// Waits (a few seconds at most) for a script to leave the running state, then reaps it.
fn stop_script(dev: RawFd, script: &str) {
    let _ = kc_stop(dev, script);
    for _ in 0..500 {
        match kc_script_state(dev, script) {
            Some((KC_SCRIPT_RUNNING, _)) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Some(_) => {
                let _ = kc_stop(dev, script);
                return;
            }
            None => return,
        }
    }
}

use kcompletion_abi::KC_SCRIPT_RUNNING;

/// Wall time of `prog args...` from spawn to exit, in ns; None if it failed.
pub fn time_process(prog: &str, args: &[String]) -> Result<u64, String> {
    let t0 = now_ns();
    let out = std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    let t = now_ns() - t0;
    if !out.status.success() {
        return Err(format!(
            "{prog} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(t)
}

/// Cost per iteration of a program that runs `n` iterations, from two runs (`n` and `2n`):
/// the start-up (exec, interpreter, `require`) cancels out.
pub fn per_iteration(prog: &str, script: &str, n: u64) -> Result<f64, String> {
    let a = time_process(prog, &[script.to_string(), n.to_string()])?;
    let b = time_process(prog, &[script.to_string(), (2 * n).to_string()])?;
    Ok((b as f64 - a as f64) / n as f64)
}

/// Why a RUN failed, for a skip line.
fn run_failure(e: i32, text: &str) -> String {
    if e == libc::ENOTTY {
        "kernel Lua not available (RUN ioctl: ENOTTY)".to_string()
    } else {
        format!("RUN failed: errno {e} {text}")
    }
}

pub fn p2(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    // Each kernel script and its userspace side meet on two named completions.
    let names = ["kcb.p2.ping", "kcb.p2.pong", "kcb.p2c.ping", "kcb.p2c.pong"];
    for n in names {
        let _ = kc_unlink(dev, n.as_bytes());
    }
    let fds: Vec<RawFd> = names
        .iter()
        .map(|n| kc_create(dev, n.as_bytes()).unwrap_or_else(|e| panic!("create {n}: errno {e}")))
        .collect();
    let (ping, pong, caw_ping, caw_pong) = (fds[0], fds[1], fds[2], fds[3]);
    // Stops the scripts and gives back the names and fds.
    let release = || {
        stop_script(dev, P2_SCRIPT);
        stop_script(dev, P2_CAW_SCRIPT);
        for n in names {
            let _ = kc_unlink(dev, n.as_bytes());
        }
        fds.iter().copied().for_each(close);
        close(dev);
    };
    stop_script(dev, P2_SCRIPT);
    stop_script(dev, P2_CAW_SCRIPT);
    if let Err((e, text)) = kc_run(dev, P2_SCRIPT, P2_KERNEL) {
        fail("P2", &run_failure(e, &text));
        release();
        return;
    }
    let mut caw = match kc_run(dev, P2_CAW_SCRIPT, P2_CAW_KERNEL) {
        Ok(()) => true,
        Err((e, text)) => {
            fail(
                "P2",
                &format!("complete_and_wait script: {}", run_failure(e, &text)),
            );
            false
        }
    };
    // Same vCPU as the baseline: this process (and the lua5.4 it starts) and the scripts'
    // kernel threads on CPU 0. Unpinned, the scheduler put the kernel thread on the other
    // vCPU and P2 measured a cross-CPU round trip against a same-CPU baseline.
    pin(0);
    match kthread_pid(P2_SCRIPT) {
        Some(pid) => pin_task(pid, 0),
        None => {
            fail("P2", "the kernel script's thread was not found in /proc");
            release();
            return;
        }
    }
    if caw {
        match kthread_pid(P2_CAW_SCRIPT) {
            Some(pid) => pin_task(pid, 0),
            None => {
                fail(
                    "P2",
                    "the complete_and_wait kernel script's thread was not found in /proc",
                );
                caw = false;
            }
        }
    }
    let user = "/tmp/kcb-p2-user.lua";
    std::fs::write(user, P2_USER).expect("write /tmp/kcb-p2-user.lua");
    let caw_user = "/tmp/kcb-p2-user-caw.lua";
    std::fs::write(caw_user, P2_CAW_USER).expect("write /tmp/kcb-p2-user-caw.lua");
    let rounds = cfg.pick(10_000u64, 1_000);
    let (pa, pb) = (Kc(ping), Kc(pong));
    'reps: for rep in 0..cfg.reps {
        // Baseline (P1, processes, kcompletion) in the same repetition.
        {
            let (a, b, fds) = make(dev, "kcompletion", Mode::Processes);
            let v = round_trips(
                &*a,
                &*b,
                Mode::Processes,
                rounds as usize / 10,
                rounds as usize,
                Some((0, 0)),
            );
            emit("P2", "roundtrip", "rust-rust", 0, rep, v, "ns");
            fds.into_iter().for_each(close);
        }
        // A Rust process against the kernel script: the kernel side alone.
        {
            let v = signal_then_wait(&pa, &pb, 100, rounds as usize);
            emit("P2", "roundtrip", "rust-klua", 0, rep, v, "ns");
        }
        // The scenario: a Lua 5.4 process against the kernel script.
        match per_iteration("lua5.4", user, rounds) {
            Ok(v) => emit("P2", "roundtrip", "lua-klua", 0, rep, v, "ns"),
            Err(e) => {
                fail("P2", &format!("lua5.4 side failed: {e}"));
                break 'reps;
            }
        }
        if caw {
            // The same through COMPLETE_AND_WAIT on both sides: Rust, then Lua 5.4.
            for _ in 0..100 {
                kc_complete_and_wait(caw_ping, caw_pong);
            }
            let t0 = now_ns();
            for _ in 0..rounds {
                kc_complete_and_wait(caw_ping, caw_pong);
            }
            let v = (now_ns() - t0) as f64 / rounds as f64;
            emit("P2", "roundtrip", "rust-klua-caw", 0, rep, v, "ns");
            match per_iteration("lua5.4", caw_user, rounds) {
                Ok(v) => emit("P2", "roundtrip", "lua-klua-caw", 0, rep, v, "ns"),
                Err(e) => {
                    fail("P2", &format!("lua5.4 complete_and_wait side failed: {e}"));
                    caw = false;
                }
            }
        }
        for script in [P2_SCRIPT, P2_CAW_SCRIPT] {
            if let Some((st, err)) = kc_script_state(dev, script) {
                if st != KC_SCRIPT_RUNNING && (script == P2_SCRIPT || caw) {
                    fail("P2", &format!("the kernel script {script} ended: {err}"));
                    if script == P2_SCRIPT {
                        break 'reps;
                    }
                    caw = false;
                }
            }
        }
        progress(&format!("P2 rep {} of {}", rep + 1, cfg.reps));
    }
    release();
}

// ------------------------------------------------------------------ micro

/// A `micro` case: its name and the call it times.
type MicroCase<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Per-call costs without blocking, to attribute the differences of P1 (under `-icount`
/// these are exact instruction counts): the syscall path alone, and each mechanism's signal
/// and consume halves.
pub fn micro(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let n = cfg.pick(20_000usize, 2_000);
    let kc = kc_fresh(dev, "kcb.micro");
    let efd = eventfd(true);
    let page = shared_page();
    let word = &page[0];
    let null = std::ffi::CString::new("/dev/null").unwrap();
    // SAFETY: Plain open(2).
    let devnull = unsafe { libc::open(null.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let time = |f: &dyn Fn()| time_per_call(n as u64, f);
    for rep in 0..cfg.reps.min(3) {
        let cases: Vec<MicroCase<'_>> = vec![
            // SAFETY: getppid cannot fail.
            (
                "getppid",
                Box::new(|| unsafe {
                    libc::getppid();
                }),
            ),
            (
                "ioctl-enotty-devnull",
                Box::new(|| unsafe {
                    // SAFETY: An unknown ioctl on /dev/null fails with ENOTTY.
                    libc::ioctl(devnull, 0x7fff_u32 as _, 0usize);
                }),
            ),
            (
                "ioctl-enotty-kc",
                Box::new(|| unsafe {
                    // SAFETY: An unknown ioctl on an object fd fails with ENOTTY.
                    libc::ioctl(kc, 0x7fff_u32 as _, 0usize);
                }),
            ),
            (
                "kc-complete",
                Box::new(|| {
                    kc_complete(kc);
                    // keep `done` small: consume outside the measured call half the time
                }),
            ),
            (
                "kc-complete+trywait",
                Box::new(|| {
                    kc_complete(kc);
                    kc_try_wait(kc);
                }),
            ),
            (
                "kc-complete+wait",
                Box::new(|| {
                    kc_complete(kc);
                    kc_wait(kc);
                }),
            ),
            (
                // Completes and takes the same object in one call (issue 18): beside
                // kc-complete+wait, the saving of one system call.
                "kc-complete-and-wait-self",
                Box::new(|| kc_complete_and_wait(kc, kc)),
            ),
            (
                "eventfd-write+read",
                Box::new(|| {
                    write_u64(efd, 1);
                    read_u64(efd);
                }),
            ),
            (
                "futex-wake-nowaiter",
                Box::new(|| futex_wake(word, 1, true)),
            ),
        ];
        for (name, f) in &cases {
            let v = time(&**f);
            emit("micro", "per-call", name, 0, rep, v, "ns");
            if *name == "kc-complete" {
                while kc_try_wait(kc) {}
            }
        }
    }
    close(devnull);
    close(efd);
    close(kc);
    close(dev);
}
