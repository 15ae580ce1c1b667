//! Kill storm: many processes blocked on one kcompletion, killed with SIGKILL at random
//! moments, while the parent completes the object and tries to unload the module.
//!
//! `kc-killstorm [--procs N] [--batch B] [--seed S]` (defaults 10000 processes in batches of
//! 250, a seed from the clock). Children are processes made with `clone(CLONE_VM | SIGCHLD)`
//! (their own pid, signals and files table, the parent's memory: far cheaper to create than
//! by fork under KASAN). Each child either shares the parent's object fd (one file
//! description for all) or opens the object by name (its own), then loops on `WAIT` (or, for a
//! third of them, `WAIT_MANY` over the object twice) without a deadline, counting successful waits in shared memory. The parent kills some children right
//! after forking them (often before they reach the driver), `COMPLETE`s the object at random
//! while children come and go (so some are killed while being woken), then kills the rest of
//! the batch. Checked afterwards, exactly:
//!
//! - no waiter is left and the object has exactly the parent's handle again;
//! - completions are conserved: what the parent granted = what the children consumed + what
//!   is still pending (a child killed after its wait returned but before it counted is the
//!   only slack, and is bounded by the kills);
//! - no wake-up was lost: a fresh set of waiters each gets one of as many completions;
//! - `rmmod` was refused (EWOULDBLOCK) while the storm held the module, every time it was tried.
//!
//! KTAP output; prints the seed.

use kcompletion_driver_tests::args;
use kcompletion_driver_tests::cpus;
use kcompletion_driver_tests::os;
use kcompletion_driver_tests::rng::Rng;
use kcompletion_driver_tests::spawn::{spawn, ChildStack};
use kcompletion_driver_tests::sys::*;
use kcompletion_test_harness::ktap::Ktap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NAME: &str = "ks.storm";

/// What a child needs; lives in the child's stack slot until the child is reaped.
#[repr(C)]
struct ChildArgs {
    dev: i32,
    shared: i32,
    own: bool,
    /// Wait through `WAIT_MANY` (any, over the object twice) instead of `WAIT`.
    many: bool,
    consumed: *const AtomicU64,
}

/// A child: block on the object forever, counting each wait that returned. It shares the
/// parent's memory (`CLONE_VM`, as vfork does, but the parent runs on), so it only makes raw
/// system calls on its own stack and never returns; the parent kills it.
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points to the ChildArgs in this child's stack slot, which the parent
    // keeps until it has reaped the child.
    let a = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: The descriptors were the parent's when it cloned this child, which got a copy
    // of its file table; nothing closes them here.
    let (dev, shared) = unsafe {
        (
            BorrowedFd::borrow_raw(a.dev),
            BorrowedFd::borrow_raw(a.shared),
        )
    };
    let own = if a.own {
        match open(&dev, NAME) {
            Ok(fd) => Some(fd),
            // SAFETY: Ending this process at once, touching nothing shared.
            Err(_) => unsafe { libc::_exit(3) },
        }
    } else {
        None
    };
    let fd = own.as_ref().map(|f| f.as_fd()).unwrap_or(shared);
    let twice = [fd.as_raw_fd(), fd.as_raw_fd()];
    loop {
        let r = if a.many {
            wait_many(
                &dev,
                &twice,
                0,
                kcompletion_abi::KC_DEADLINE_NEVER,
                kcompletion_abi::KC_NO_ALERT,
            )
            .map(drop)
        } else {
            wait_forever(&fd)
        };
        match r {
            Ok(()) => {
                // SAFETY: The counter lives in the parent's memory, shared with this child.
                unsafe { &*a.consumed }.fetch_add(1, Ordering::SeqCst);
            }
            Err(libc::EINTR) => {}
            // SAFETY: As above.
            Err(_) => unsafe { libc::_exit(4) },
        }
    }
}

/// Reaps `pid`; true if SIGKILL ended it (any other end is a failure of the child).
fn reap_killed(pid: libc::pid_t) -> bool {
    let (r, status) = os::reap(pid);
    r == pid && os::killed(status)
}

/// `delete_module("kcompletion", O_NONBLOCK)`: the errno, or 0 if it unloaded.
fn try_rmmod() -> i32 {
    let name = c"kcompletion";
    // SAFETY: A NUL-terminated name and flags; the kernel refuses while the module is in use.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r == 0 {
        0
    } else {
        errno()
    }
}

fn main() {
    let mut ktap = Ktap::start();
    let mut procs: u64 = 10_000;
    let mut batch: u64 = 250;
    let mut seed: u64 = now_ns(libc::CLOCK_REALTIME) | 1;
    args::parse(
        "kc-killstorm [--procs N] [--batch B] [--seed S]",
        &mut [
            ("procs", &mut procs),
            ("batch", &mut batch),
            ("seed", &mut seed),
        ],
    );
    let batch = batch.clamp(1, 2000);
    println!("# kc-killstorm --procs {procs} --batch {batch} --seed {seed}");
    cpus::require(&mut ktap, 2);
    let mut rng = Rng::new(seed, 0);

    // A shared anonymous page for the children's counter (survives fork).
    let page = os::map_anon(4096, libc::MAP_SHARED);
    // SAFETY: A fresh page, aligned and zeroed: a valid AtomicU64 that is never unmapped.
    let consumed: &AtomicU64 = unsafe { &*(page as *const AtomicU64) };
    let dev = open_dev();
    let obj = create(&dev, NAME).expect("create the storm object");

    let t0 = Instant::now();
    let (mut forked, mut killed_early, mut granted) = (0u64, 0u64, 0u64);
    let (mut waiting_at_kill, mut rmmod_tries, mut rmmod_refused) = (0u64, 0u64, 0u64);
    let mut bad_ends = 0u64;
    let mut next_progress = Duration::from_secs(30);
    let mut slots: Vec<ChildStack> = (0..batch).map(|_| ChildStack::new()).collect();
    while forked < procs {
        let n = batch.min(procs - forked);
        let mut alive: Vec<libc::pid_t> = Vec::with_capacity(n as usize);
        for slot in slots.iter_mut().take(n as usize) {
            let args = ChildArgs {
                dev: dev.as_raw_fd(),
                shared: obj.as_raw_fd(),
                own: rng.chance(50),
                many: rng.chance(33),
                consumed,
            };
            alive.push(spawn(slot, child, args));
            forked += 1;
            if rng.chance(20) {
                // Killed at once: usually before it reached the driver, sometimes inside OPEN.
                let k = rng.below(alive.len() as u64) as usize;
                let pid = alive.swap_remove(k);
                os::kill(pid);
                bad_ends += u64::from(!reap_killed(pid));
                killed_early += 1;
            }
            if rng.chance(15) {
                complete(&obj).expect("complete");
                granted += 1;
            }
        }
        if rmmod_tries == 0 || rng.chance(30) {
            rmmod_tries += 1;
            rmmod_refused += u64::from(try_rmmod() == libc::EWOULDBLOCK);
        }
        // Let the batch reach its waits (or not), complete a few more, then kill everyone
        // left, in random order, completing in between.
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        waiting_at_kill += info(&obj).map(|i| u64::from(i.waiters)).unwrap_or(0);
        while !alive.is_empty() {
            let k = rng.below(alive.len() as u64) as usize;
            os::kill(alive.swap_remove(k));
            if rng.chance(5) {
                complete(&obj).expect("complete");
                granted += 1;
            }
        }
        // Reap the whole batch: a child that ended any other way than SIGKILL is a failure.
        loop {
            let (pid, status) = os::reap(-1);
            if pid <= 0 {
                break;
            }
            if !os::killed(status) {
                bad_ends += 1;
            }
        }
        if t0.elapsed() >= next_progress {
            next_progress += Duration::from_secs(30);
            println!(
                "# progress: {forked} of {procs} processes after {} s",
                t0.elapsed().as_secs()
            );
        }
    }
    let storm = t0.elapsed();

    ktap.case(
        bad_ends == 0,
        format!("{forked} processes (clone CLONE_VM) SIGKILLed ({killed_early} right after they started, {waiting_at_kill} counted waiting when their batch was killed) in {:.1} s; {bad_ends} ended otherwise", storm.as_secs_f64()),
    );
    let i = info(&obj).expect("info after the storm");
    ktap.case(
        i.waiters == 0 && i.handles == 1,
        format!(
            "after the storm: {} waiters, {} handles (want 0 and 1)",
            i.waiters, i.handles
        ),
    );
    let pending = u64::from(i.done);
    let counted = consumed.load(Ordering::SeqCst);
    let mut drained = 0u64;
    while try_wait(&obj).is_ok() {
        drained += 1;
    }
    ktap.case(
        drained == pending
            && pending + counted <= granted
            && granted - pending - counted <= forked,
        format!(
            "completions conserved: granted {granted} = consumed {counted} (+ {} consumed by a child killed before it counted) + pending {pending}; drained {drained}",
            granted.saturating_sub(pending + counted)
        ),
    );

    // No lost wake-up: fresh waiters, as many completions, everyone must get one.
    let fresh = 32;
    let pids: Vec<_> = (0..fresh)
        .map(|_| {
            // SAFETY: The child makes raw system calls only and leaves with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let r = wait_deadline(&obj, now_ns(libc::CLOCK_MONOTONIC) + 60_000_000_000, 0);
                // SAFETY: Leaving the child without running destructors.
                unsafe { libc::_exit(if r.is_ok() { 0 } else { 1 }) };
            }
            pid
        })
        .collect();
    for _ in 0..500 {
        if info(&obj).map(|i| i.waiters).unwrap_or(0) == fresh {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..fresh {
        complete(&obj).expect("complete");
    }
    let mut woke = 0;
    for pid in pids {
        if os::exited_ok(os::reap(pid).1) {
            woke += 1;
        }
    }
    ktap.case(
        woke == fresh && try_wait(&obj) == Err(libc::EAGAIN),
        format!("no lost wake-up after the storm: {woke} of {fresh} fresh waiters got one of {fresh} completions, none left over"),
    );
    ktap.case(
        rmmod_refused == rmmod_tries,
        format!("rmmod refused (EWOULDBLOCK) {rmmod_refused} of {rmmod_tries} times it was tried under the storm"),
    );
    drop(obj);
    let _ = unlink(&dev, NAME);
    let left = list_all(&dev, 64).map(|v| v.len());
    ktap.case(left == Ok(0), format!("no object left behind ({left:?})"));
    ktap.finish(Some(format!(
        "replay: kc-killstorm --procs {procs} --batch {batch} --seed {seed}"
    )));
}
