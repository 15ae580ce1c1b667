//! P3: `complete_all` waking 10, 100 and 1,000 waiters (time from the wake call until the
//! last waiter runs), against a futex wake-all and an eventfd watched by one epoll instance
//! per waiter.
//!
//! Every waiter is a thread blocked in its mechanism (checked through
//! `/proc/self/task/<tid>/stat` before the clock starts). After waking it reads the clock,
//! records the time, and blocks on a release futex, so the figure holds the wake-up path of
//! every waiter and nothing else.

use crate::sys::*;
use crate::{emit, progress, Config};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

pub const MECHS: &[&str] = &["kcompletion", "futex", "eventfd-epoll"];

struct Shared {
    tids: Vec<AtomicI32>,
    stamps: Vec<AtomicU64>,
    /// Waiters that have recorded their time (the main thread sleeps on it).
    recorded: AtomicU32,
    /// Set to 1 to let the waiters exit.
    release: AtomicU32,
    /// The futex the futex mechanism waits on.
    word: AtomicU32,
}

fn waiter(sh: &Shared, i: usize, mech: &str, fd: RawFd) {
    let n = sh.tids.len() as u32;
    let ep = (mech == "eventfd-epoll").then(|| epoll_for(fd));
    sh.tids[i].store(gettid(), Ordering::Release);
    match mech {
        "kcompletion" => {
            kc_wait(fd);
        }
        "futex" => {
            while sh.word.load(Ordering::Acquire) == 0 {
                futex_wait(&sh.word, 0, true);
            }
        }
        _ => epoll_wait1(ep.unwrap()),
    }
    sh.stamps[i].store(now_ns(), Ordering::Relaxed);
    if sh.recorded.fetch_add(1, Ordering::AcqRel) + 1 == n {
        futex_wake(&sh.recorded, 1, true);
    }
    while sh.release.load(Ordering::Acquire) == 0 {
        futex_wait(&sh.release, 0, true);
    }
    if let Some(ep) = ep {
        close(ep);
    }
}

/// Time in ns from the wake call until the last of `n` waiters ran; the waker runs on CPU
/// 0, the waiters on `waiter_cpu`.
fn wake_all(mech: &str, n: usize, dev: RawFd, waiter_cpu: usize) -> f64 {
    pin(0);
    let sh = Shared {
        tids: (0..n).map(|_| AtomicI32::new(0)).collect(),
        stamps: (0..n).map(|_| AtomicU64::new(0)).collect(),
        recorded: AtomicU32::new(0),
        release: AtomicU32::new(0),
        word: AtomicU32::new(0),
    };
    let fd = match mech {
        "kcompletion" => kc_fresh(dev, "kcb.p3"),
        "eventfd-epoll" => eventfd(false),
        _ => -1,
    };
    let v = std::thread::scope(|s| {
        for i in 0..n {
            let sh = &sh;
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(s, move || {
                    pin(waiter_cpu);
                    waiter(sh, i, mech, fd)
                })
                .expect("spawn waiter");
        }
        // Every waiter blocked in its mechanism.
        loop {
            let all = sh.tids.iter().all(|t| {
                let tid = t.load(Ordering::Acquire);
                tid != 0 && thread_state(tid) == Some('S')
            });
            if all && (mech != "kcompletion" || kc_waiters(fd) as usize == n) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Let deferred work of the previous round (exiting threads, RCU) run first.
        std::thread::sleep(Duration::from_millis(50));
        let t0 = now_ns();
        match mech {
            "kcompletion" => kc_complete_all(fd),
            "futex" => {
                sh.word.store(1, Ordering::Release);
                futex_wake(&sh.word, i32::MAX, true);
            }
            _ => write_u64(fd, 1),
        }
        loop {
            let r = sh.recorded.load(Ordering::Acquire);
            if r as usize == n {
                break;
            }
            futex_wait(&sh.recorded, r, true);
        }
        let last = sh
            .stamps
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .max()
            .unwrap();
        sh.release.store(1, Ordering::Release);
        futex_wake(&sh.release, i32::MAX, true);
        (last - t0) as f64
    });
    if fd >= 0 {
        close(fd);
    }
    v
}

/// P3 runs with the waiters on the waker's CPU (`wake-all`) and, when a second CPU is
/// online, on the other one (`wake-all-xcpu`).
pub fn p3(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let sizes: &[usize] = cfg.pick(&[10, 100, 1000], &[10, 100, 1000]);
    let reps = if cfg.quick { 2 } else { cfg.reps };
    let mut placements = vec![("wake-all", 0)];
    if online_cpus() >= 2 {
        placements.push(("wake-all-xcpu", 1));
    }
    for rep in 0..reps {
        for &(case, cpu) in &placements {
            for &n in sizes {
                for &mech in MECHS {
                    let v = wake_all(mech, n, dev, cpu);
                    emit("P3", case, mech, n as u64, rep, v, "ns");
                }
            }
        }
        progress(&format!("P3 rep {} of {}", rep + 1, reps));
    }
    close(dev);
}
