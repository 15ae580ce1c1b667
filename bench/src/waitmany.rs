//! P7 and P7b (issue 13): waiting for many in one call.
//!
//! - P7: a round trip whose first half is a wait-any over 64 objects woken through the last
//!   one: the peer waits on all 64, this side signals the 64th, then waits for the peer's
//!   answer on a 65th. kcompletion (`KC_IOC_WAIT_MANY` over 64 objects, and `KC_IOC_WAIT` on
//!   a wait set of the 64 made once, as epoll's is), `epoll_wait` over 64
//!   eventfds (then a `read` of the one that fired), `futex_waitv` over 64 futex words (the
//!   last set to 1 and `FUTEX_WAKE`d); the answer is the mechanism's single wait of P1.
//!   Threads, both placements.
//! - P7b: the same round trip with a wait-all over 8 objects, which this side completes one
//!   by one (eight `COMPLETE`s) before it waits for the answer; beside P1's kcompletion round
//!   trip, measured in the same repetition.

use crate::pingpong::{make, placements, round_trips, Chan, Mode};
use crate::sys::*;
use crate::{emit, progress, Config};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

/// Objects in P7's wait-any.
const ANY: usize = 64;
/// Objects in P7b's wait-all.
const ALL: usize = 8;

/// A wait on several objects, signalled through the last (any) or through every one (all):
/// one `KC_IOC_WAIT_MANY` call per wait, or (`set`) a `KC_IOC_WAIT` on a wait set made once.
struct KcMany {
    dev: RawFd,
    fds: Vec<RawFd>,
    all: bool,
    set: Option<RawFd>,
}

impl Chan for KcMany {
    #[inline]
    fn signal(&self) {
        if self.all {
            self.fds.iter().for_each(|&fd| kc_complete(fd));
        } else {
            kc_complete(*self.fds.last().unwrap());
        }
    }
    #[inline]
    fn wait(&self) {
        let i = match self.set {
            Some(set) => kc_wait(set),
            None => kc_wait_many(self.dev, &self.fds, self.all),
        };
        debug_assert!(self.all || i as usize == self.fds.len() - 1);
    }
}

/// 64 eventfds under one epoll fd.
struct EpollMany {
    ep: RawFd,
    fds: Vec<RawFd>,
}

impl Chan for EpollMany {
    #[inline]
    fn signal(&self) {
        write_u64(*self.fds.last().unwrap(), 1);
    }
    #[inline]
    fn wait(&self) {
        let i = epoll_wait_one(self.ep) as usize;
        read_u64(self.fds[i]);
    }
}

/// 64 private futex words, one `futex_waitv` over all of them.
struct FutexMany {
    words: &'static [AtomicU32; 1024],
    waiters: Vec<FutexWaitv>,
}

// SAFETY: `waiters` holds only addresses of the shared words and constants; it is read, never
// written, by `futex_waitv` and by both threads.
unsafe impl Sync for FutexMany {}

impl FutexMany {
    fn new() -> FutexMany {
        let words = shared_page();
        let waiters = (0..ANY)
            .map(|i| FutexWaitv {
                val: 0,
                uaddr: words[i].as_ptr() as u64,
                flags: FUTEX2_U32_PRIVATE,
                reserved: 0,
            })
            .collect();
        FutexMany { words, waiters }
    }
}

impl Chan for FutexMany {
    #[inline]
    fn signal(&self) {
        let last = &self.words[ANY - 1];
        last.store(1, Ordering::Release);
        futex_wake(last, 1, true);
    }
    #[inline]
    fn wait(&self) {
        let last = &self.words[ANY - 1];
        while last.swap(0, Ordering::Acquire) == 0 {
            futex_waitv(&self.waiters);
        }
    }
}

fn kc_set(dev: RawFd, tag: &str, n: usize, all: bool) -> KcMany {
    let fds = (0..n)
        .map(|i| kc_fresh(dev, &format!("kcb.{tag}.{i}")))
        .collect();
    KcMany {
        dev,
        fds,
        all,
        set: None,
    }
}

/// As [`kc_set`], waited on through a wait set.
fn kc_wait_set_of(dev: RawFd, tag: &str, n: usize, all: bool) -> KcMany {
    let mut m = kc_set(dev, tag, n, all);
    m.set = Some(kc_wait_set(dev, &m.fds, all));
    m
}

pub fn p7(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let rounds = cfg.pick(10_000, 1_000);
    let warm = rounds / 10;
    let placements = placements("P7");
    // Where a wait-any's time goes, without sleeping (one call each, a completion given back
    // after it): one object ready; 64 with the first ready (the fds looked up and checked,
    // nothing queued); 64 with the last ready (63 entries queued and taken off again).
    {
        let set = kc_set(dev, "p7m", ANY, false);
        let n = cfg.pick(20_000u64, 2_000);
        for (mech, fds, at) in [
            ("one-ready", &set.fds[..1], 0),
            ("first-ready", &set.fds[..], 0),
            ("last-ready", &set.fds[..], ANY - 1),
        ] {
            kc_complete(fds[at]);
            let v = time_per_call(n, || {
                kc_wait_many(dev, fds, false);
                kc_complete(fds[at]);
            });
            emit("P7", "micro", mech, fds.len() as u64, 0, v, "ns");
            kc_try_wait(fds[at]);
        }
        // The same through a wait set: only the hinted member is looked at.
        let ws = kc_wait_set(dev, &set.fds, false);
        kc_complete(set.fds[ANY - 1]);
        let v = time_per_call(n, || {
            kc_wait(ws);
            kc_complete(set.fds[ANY - 1]);
        });
        emit("P7", "micro", "set-last-ready", ANY as u64, 0, v, "ns");
        kc_try_wait(set.fds[ANY - 1]);
        close(ws);
        let v = time_per_call(n, || kc_complete(set.fds[0]));
        emit("P7", "micro", "complete", 1, 0, v, "ns");
        set.fds.iter().copied().for_each(close);
    }
    for rep in 0..cfg.reps {
        for &(suffix, cpus) in &placements {
            let case = format!("threads{suffix}");
            for mech in ["kcompletion", "kcompletion-set", "eventfd", "futex"] {
                let single = mech.split('-').next().unwrap();
                let (_, answer, mut close_after) = make(dev, single, Mode::Threads);
                let many: Box<dyn Chan> = match mech {
                    "kcompletion" | "kcompletion-set" => {
                        let m = if mech == "kcompletion" {
                            kc_set(dev, "p7", ANY, false)
                        } else {
                            kc_wait_set_of(dev, "p7s", ANY, false)
                        };
                        close_after.extend(&m.fds);
                        close_after.extend(m.set);
                        Box::new(m)
                    }
                    "eventfd" => {
                        let fds: Vec<RawFd> = (0..ANY).map(|_| eventfd(true)).collect();
                        let ep = epoll_for_all(&fds);
                        close_after.extend(&fds);
                        close_after.push(ep);
                        Box::new(EpollMany { ep, fds })
                    }
                    _ => Box::new(FutexMany::new()),
                };
                let v = round_trips(&*many, &*answer, Mode::Threads, warm, rounds, Some(cpus));
                emit("P7", &case, mech, ANY as u64, rep, v, "ns");
                close_after.into_iter().for_each(close);
            }
            // P7b: a wait-all over 8, beside P1's kcompletion round trip.
            let (ping, pong, fds) = make(dev, "kcompletion", Mode::Threads);
            let v = round_trips(&*ping, &*pong, Mode::Threads, warm, rounds, Some(cpus));
            emit("P7b", &case, "kcompletion-p1", 0, rep, v, "ns");
            for (mech, set) in [
                ("kcompletion-wait-all", kc_set(dev, "p7b", ALL, true)),
                (
                    "kcompletion-set-all",
                    kc_wait_set_of(dev, "p7bs", ALL, true),
                ),
            ] {
                let v = round_trips(&set, &*pong, Mode::Threads, warm, rounds, Some(cpus));
                emit("P7b", &case, mech, ALL as u64, rep, v, "ns");
                set.fds.iter().copied().chain(set.set).for_each(close);
            }
            fds.into_iter().for_each(close);
            drop(ping);
        }
        progress(&format!("P7 rep {} of {}", rep + 1, cfg.reps));
    }
    close(dev);
}
