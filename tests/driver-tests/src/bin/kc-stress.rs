//! Model-checked concurrency stress of the driver: no lost and no extra wake-ups, exactly.
//!
//! `kc-stress [--ops N] [--seed S] [--threads T]` (defaults 1000000 operations, seed from the
//! clock, 8 threads). Three phases, each checked against a model of what must have happened:
//!
//! 1. Mixed: T threads pick random operations on a few counting objects: complete, try-wait,
//!    wait with a short deadline, complete-one-and-wait-on-another in one call, open-use-close
//!    by name, complete-then-take-back, info, poll, wait-any over a few of them (the index
//!    says which was consumed), wait-all over a few (one from each, or none), a `WAIT` on
//!    the thread's any-set and all-set over every object (kept for the phase), plus
//!    create/unlink churn on a separate name. The model counts completions granted and
//!    consumed per object; at the end each object's `done` must equal granted - consumed, and
//!    draining it must yield exactly that many.
//! 2. Hand-off: half the threads consume a fixed number of completions each with long
//!    deadlines while the other half produce exactly that many in total, in bursts. A single
//!    lost wake-up shows up as a timed-out consumer; `done` must end at 0.
//! 3. Gates: all threads wait on one object, `complete_all` releases them, `reinit` closes
//!    it again; repeated. Every waiter must pass every round, and nothing passes a closed gate.
//!
//! KTAP output; prints the seed so a run can be replayed.

use kcompletion_abi::{KC_NO_ALERT, KC_WAIT_ALL};
use kcompletion_driver_tests::args;
use kcompletion_driver_tests::cpus;
use kcompletion_driver_tests::progress::progress_reporter;
use kcompletion_driver_tests::rng::Rng;
use kcompletion_driver_tests::sys::*;
use kcompletion_test_harness::ktap::Ktap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

const OBJECTS: usize = 4;

struct Model {
    granted: [AtomicI64; OBJECTS],
    consumed: [AtomicI64; OBJECTS],
    ops: AtomicU64,
    errors: AtomicU64,
}

fn name(k: usize) -> String {
    format!("st.count.{k}")
}

fn mixed(t: usize, seed: u64, ops: u64, model: &Model) {
    let mut rng = Rng::new(seed, t as u64);
    let dev = open_dev();
    let fds: Vec<OwnedFd> = (0..OBJECTS)
        .map(|k| open(&dev, &name(k)).unwrap())
        .collect();
    // Wait sets over all the objects, kept for the whole phase (their entries stay queued on
    // every object, beside the other threads' waiters).
    let raw_all: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let set_any = wait_set(&dev, &raw_all, 0).unwrap();
    let set_all = wait_set(&dev, &raw_all, KC_WAIT_ALL).unwrap();
    let count = |n: u64| model.ops.fetch_add(n, Ordering::Relaxed);
    let bad = |what: &str, e: i32| {
        model.errors.fetch_add(1, Ordering::Relaxed);
        println!("# thread {t}: {what}: {}", errname(e));
    };
    let mut done = 0;
    while done < ops {
        let k = rng.below(OBJECTS as u64) as usize;
        let fd = &fds[k];
        match rng.below(17) {
            0..=2 => match complete(fd) {
                Ok(()) => {
                    model.granted[k].fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => bad("complete", e),
            },
            3..=4 => match try_wait(fd) {
                Ok(()) => {
                    model.consumed[k].fetch_add(1, Ordering::SeqCst);
                }
                Err(libc::EAGAIN) => {}
                Err(e) => bad("try_wait", e),
            },
            5..=6 => match wait_deadline(fd, now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000), 0)
            {
                Ok(()) => {
                    model.consumed[k].fetch_add(1, Ordering::SeqCst);
                }
                Err(libc::ETIMEDOUT) => {}
                Err(e) => bad("wait", e),
            },
            7 => {
                // Open by name, use once, close.
                match open(&dev, &name(k)) {
                    Ok(other) => {
                        count(1);
                        match complete(&other) {
                            Ok(()) => {
                                model.granted[k].fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => bad("complete via new fd", e),
                        }
                    }
                    Err(e) => bad("open", e),
                }
            }
            8 => {
                // Take one and give it back: net zero.
                if try_wait(fd).is_ok() {
                    count(1);
                    if let Err(e) = complete(fd) {
                        bad("give back", e);
                        model.consumed[k].fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            9 => {
                if let Err(e) = info(fd) {
                    bad("info", e);
                }
            }
            10 => {
                let _ = readable(fd, 0);
            }
            11 => {
                // Complete one object and wait on another (or the same) in one call: the
                // completion is made whatever the wait returns.
                let j = rng.below(OBJECTS as u64) as usize;
                let deadline = now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000);
                let r = complete_and_wait(fd, fds[j].as_raw_fd(), deadline, 0);
                if matches!(r, Ok(()) | Err(libc::ETIMEDOUT)) {
                    model.granted[j].fetch_add(1, Ordering::SeqCst);
                }
                match r {
                    Ok(()) => {
                        model.consumed[k].fetch_add(1, Ordering::SeqCst);
                    }
                    Err(libc::ETIMEDOUT) => {}
                    Err(e) => bad("complete_and_wait", e),
                }
            }
            12 => {
                // Wait-any over 1 to 4 of the objects (repeats allowed): the one consumed is
                // the index returned.
                let list: Vec<usize> = (0..1 + rng.below(4))
                    .map(|_| rng.below(OBJECTS as u64) as usize)
                    .collect();
                let raw: Vec<i32> = list.iter().map(|&j| fds[j].as_raw_fd()).collect();
                let deadline = now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000);
                match wait_many(&dev, &raw, 0, deadline, KC_NO_ALERT) {
                    Ok(i) if (i as usize) < list.len() => {
                        model.consumed[list[i as usize]].fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(i) => bad("wait-any index", i as i32),
                    Err(libc::ETIMEDOUT) => {}
                    Err(e) => bad("wait-any", e),
                }
            }
            13 => {
                // Wait-all over 1 to 4 distinct objects: one consumed from each, or none.
                let mut list: Vec<usize> = (0..OBJECTS).filter(|_| rng.below(2) == 0).collect();
                if list.is_empty() {
                    list.push(k);
                }
                let raw: Vec<i32> = list.iter().map(|&j| fds[j].as_raw_fd()).collect();
                let deadline = now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000);
                match wait_many(&dev, &raw, KC_WAIT_ALL, deadline, KC_NO_ALERT) {
                    Ok(0) => {
                        for &j in &list {
                            model.consumed[j].fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(i) => bad("wait-all index", i as i32),
                    Err(libc::ETIMEDOUT) => {}
                    Err(e) => bad("wait-all", e),
                }
            }
            14 => {
                // WAIT on the any-set: the index is the object consumed.
                let deadline = now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000);
                match wait_set_wait(&set_any, deadline) {
                    Ok(i) if (i as usize) < OBJECTS => {
                        model.consumed[i as usize].fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(i) => bad("set any index", i),
                    Err(libc::ETIMEDOUT) => {}
                    Err(e) => bad("set any", e),
                }
            }
            15 => {
                // WAIT on the all-set: one from every object, or none.
                let deadline = now_ns(libc::CLOCK_MONOTONIC) + rng.below(300_000);
                match wait_set_wait(&set_all, deadline) {
                    Ok(0) => {
                        for c in &model.consumed {
                            c.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(i) => bad("set all index", i),
                    Err(libc::ETIMEDOUT) => {}
                    Err(e) => bad("set all", e),
                }
            }
            _ => {
                // Name churn on a separate name: only EEXIST/ENOENT may fail.
                let churn = format!("st.churn.{}", rng.below(2));
                if rng.below(2) == 0 {
                    match create_excl(&dev, &churn) {
                        Ok(_) | Err(libc::EEXIST) => {}
                        Err(e) => bad("churn create", e),
                    }
                } else {
                    match unlink(&dev, &churn) {
                        Ok(()) | Err(libc::ENOENT) => {}
                        Err(e) => bad("churn unlink", e),
                    }
                }
            }
        }
        count(1);
        done += 1;
    }
}

fn main() {
    let mut ktap = Ktap::start();
    let mut ops: u64 = 1_000_000;
    let mut seed: u64 = now_ns(libc::CLOCK_REALTIME) | 1;
    let mut threads: u64 = 8;
    args::parse(
        "kc-stress [--ops N] [--seed S] [--threads T]",
        &mut [
            ("ops", &mut ops),
            ("seed", &mut seed),
            ("threads", &mut threads),
        ],
    );
    let threads = (threads.clamp(2, 64) & !1) as usize;
    println!("# kc-stress --ops {ops} --seed {seed} --threads {threads}");
    cpus::require(&mut ktap, 2);

    let dev = open_dev();
    let keep: Vec<OwnedFd> = (0..OBJECTS)
        .map(|k| create(&dev, &name(k)).unwrap())
        .collect();
    let model = Arc::new(Model {
        granted: Default::default(),
        consumed: Default::default(),
        ops: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let progress = {
        let model = model.clone();
        progress_reporter(move || model.ops.load(Ordering::Relaxed), ops, "operations")
    };

    // Phase 1: mixed.
    let mixed_ops = ops * 7 / 10;
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let model = model.clone();
            thread::spawn(move || {
                cpus::pin_spread(t);
                mixed(t, seed, mixed_ops / threads as u64, &model)
            })
        })
        .collect();
    let joined = hs.into_iter().all(|h| h.join().is_ok());
    let mut exact = true;
    for (k, fd) in keep.iter().enumerate() {
        let want =
            model.granted[k].load(Ordering::SeqCst) - model.consumed[k].load(Ordering::SeqCst);
        let got = info(fd).map(|i| i.done as i64).unwrap_or(-1);
        let mut drained = 0;
        while try_wait(fd).is_ok() {
            drained += 1;
        }
        if got != want || drained != want {
            exact = false;
            println!("# object {k}: model says {want} pending, driver says done={got}, drained {drained}");
        }
    }
    let errors = model.errors.load(Ordering::Relaxed);
    ktap.case(
        joined && errors == 0,
        format!(
            "mixed phase: {} operations by {threads} threads, no unexpected error",
            model.ops.load(Ordering::Relaxed)
        ),
    );
    ktap.case(
        exact,
        "mixed phase: done == granted - consumed for every object, exactly",
    );

    // Phase 2: hand-off with long deadlines.
    let before = model.ops.load(Ordering::Relaxed);
    let handoff = Arc::new(create(&dev, "st.handoff").unwrap());
    let half = threads / 2;
    let per = ((ops * 2 / 10) / 2 / half as u64).max(1);
    let lost = Arc::new(AtomicU64::new(0));
    let mut hs = Vec::new();
    for t in 0..half {
        let (fd, lost, m) = (handoff.clone(), lost.clone(), model.clone());
        hs.push(thread::spawn(move || {
            cpus::pin_spread(2 * t);
            let model = m;
            for _ in 0..per {
                match wait_deadline(&fd, now_ns(libc::CLOCK_MONOTONIC) + 30_000_000_000, 0) {
                    Ok(()) => {}
                    Err(e) => {
                        lost.fetch_add(1, Ordering::Relaxed);
                        println!("# consumer {t}: {}", errname(e));
                    }
                }
                model.ops.fetch_add(1, Ordering::Relaxed);
            }
        }));
        let (fd, m) = (handoff.clone(), model.clone());
        let mut rng = Rng::new(seed ^ 0xabcdef, t as u64);
        hs.push(thread::spawn(move || {
            cpus::pin_spread(2 * t + 1);
            let model = m;
            let mut left = per;
            while left > 0 {
                let burst = (1 + rng.below(16)).min(left);
                for _ in 0..burst {
                    complete(&fd).unwrap();
                    model.ops.fetch_add(1, Ordering::Relaxed);
                }
                left -= burst;
                if rng.below(4) == 0 {
                    thread::yield_now();
                }
            }
        }));
    }
    let joined = hs.into_iter().all(|h| h.join().is_ok());
    let left = info(&handoff).map(|i| i.done).unwrap_or(u32::MAX);
    ktap.case(
        joined && lost.load(Ordering::Relaxed) == 0 && left == 0,
        format!(
            "hand-off: {half} consumers x {per} waits met {half} producers' {} completions exactly ({} timed out, {left} left over)",
            per * half as u64,
            lost.load(Ordering::Relaxed)
        ),
    );

    // Phase 3: gates.
    let gate = Arc::new(create(&dev, "st.gate").unwrap());
    let rounds = ((ops / 10) / (threads as u64 + 3)).max(1);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let wrong = Arc::new(AtomicBool::new(false));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let (fd, barrier, wrong, m) =
                (gate.clone(), barrier.clone(), wrong.clone(), model.clone());
            thread::spawn(move || {
                cpus::pin_spread(t);
                let model = m;
                for _ in 0..rounds {
                    barrier.wait(); // the gate is closed here
                    if try_wait(&fd).is_ok() {
                        wrong.store(true, Ordering::Relaxed);
                    }
                    barrier.wait(); // everyone checked; now it may open
                    if wait_deadline(&fd, now_ns(libc::CLOCK_MONOTONIC) + 30_000_000_000, 0)
                        .is_err()
                    {
                        wrong.store(true, Ordering::Relaxed);
                    }
                    model.ops.fetch_add(2, Ordering::Relaxed);
                    barrier.wait(); // everyone passed
                }
            })
        })
        .collect();
    for _ in 0..rounds {
        barrier.wait();
        barrier.wait();
        complete_all(&gate).unwrap();
        barrier.wait();
        reinit(&gate).unwrap();
        model.ops.fetch_add(2, Ordering::Relaxed);
    }
    let joined = hs.into_iter().all(|h| h.join().is_ok());
    ktap.case(
        joined && !wrong.load(Ordering::Relaxed) && try_wait(&gate) == Err(libc::EAGAIN),
        format!("gates: {rounds} rounds of complete_all/reinit released all {threads} waiters each time, and none early"),
    );
    let total = model.ops.load(Ordering::Relaxed);
    println!("# phases 2+3: {} operations", total - before);
    ktap.case(
        total >= ops * 9 / 10,
        format!("{total} operations in all (asked for {ops})"),
    );

    for k in 0..OBJECTS {
        let _ = unlink(&dev, &name(k));
    }
    for n in ["st.handoff", "st.gate", "st.churn.0", "st.churn.1"] {
        let _ = unlink(&dev, n);
    }
    drop(keep);
    let left =
        list_all(&dev, 256).map(|v| v.iter().filter(|i| info_name(i).starts_with("st.")).count());
    ktap.case(left == Ok(0), "no stress object left behind");
    progress.stop();
    ktap.finish(Some(format!(
        "replay: kc-stress --ops {ops} --seed {seed} --threads {threads}"
    )));
}
