//! CPUs the racing suites run on: they must see at least two online, and put
//! threads that mean "at the same time" on different ones.

use kcompletion_test_harness::ktap::Ktap;

/// CPUs online now (`sysconf(_SC_NPROCESSORS_ONLN)`, which reads
/// `/sys/devices/system/cpu/online`).
pub fn online() -> usize {
    // SAFETY: sysconf has no memory side effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as usize
}

/// One KTAP case: at least `min` CPUs online. A suite that races must fail
/// (not skip) on a single CPU: its claims would only have met preemption.
pub fn require(ktap: &mut Ktap, min: usize) -> bool {
    let n = online();
    ktap.case(
        n >= min,
        format!("{n} CPUs online (racing cases need at least {min})"),
    )
}

/// Pin the calling thread to CPU `i % online()`, so threads 0, 1, ... of a
/// race run on different CPUs. Returns the CPU, or None if the kernel
/// refused (the race still runs, wherever the scheduler puts it).
pub fn pin_spread(i: usize) -> Option<usize> {
    let cpu = i % online();
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below the online count, far below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is this thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    (r == 0).then_some(cpu)
}

/// Lets the calling thread run on every online CPU again (after [`pin_spread`]).
pub fn unpin() {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in 0..online() {
        // SAFETY: `cpu` is below the online count, far below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is this thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
}
