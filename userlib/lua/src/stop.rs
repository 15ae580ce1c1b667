//! Stop requests from signals: what a kernel script's `thread.shouldstop()` and its STOP are
//! for a userspace program. `kc.catch_stop()` makes SIGTERM and SIGINT set a flag instead of
//! killing the process; from then on `kc.stop_requested()` is true once one came, and
//! `c:wait`, `a:complete_and_wait` and `kc.sleep` return `nil, "interrupt", 4` when it came
//! before or while they block, as the kernel's waits do after STOP. A second SIGTERM or
//! SIGINT kills the process as it would have without `kc.catch_stop()`.
//!
//! # No lost stop
//!
//! Testing the flag and then entering a blocking `ioctl` would lose a signal that lands between
//! the two: the handler runs, the flag is set, and the `ioctl` sleeps until its deadline. So a
//! stoppable wait blocks SIGTERM and SIGINT, tests the flag, and sleeps in `ppoll` with the
//! mask from before (which unblocks them atomically, the pselect idiom): a signal that came
//! after the test is pending and interrupts `ppoll` at once. `ppoll` only says the object is
//! ready, so `TRY_WAIT` then consumes; if another waiter took the completion first, the wait
//! goes on until its deadline. Other signals (handled by the program) do not interrupt a
//! stoppable wait: like a kernel thread's, it ends only for its deadline or a stop.

use kcompletion::abi::raw;
use kcompletion::Deadline;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The handlers are installed (`kc.catch_stop()` was called).
static CAUGHT: AtomicBool = AtomicBool::new(false);
/// SIGTERM or SIGINT came since then.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first SIGTERM or SIGINT asks to stop; a second one kills as it would have without
/// [`catch`] (a loop that never asks, compiled by LuaJIT where no hook runs, still ends).
extern "C" fn on_stop_signal(sig: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // SAFETY: `signal` and `raise` are async-signal-safe; the default action ends the
        // process once the handler returns and the signal is unblocked.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

/// The set {SIGTERM, SIGINT}.
fn stop_signals() -> libc::sigset_t {
    // SAFETY: `sigemptyset` initialises the set; `sigaddset` with valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Installs the handlers (idempotent). Without `SA_RESTART`, so that a blocking call in
/// another library also returns `EINTR`.
pub(crate) fn catch() -> Result<(), i32> {
    if CAUGHT.load(Ordering::SeqCst) {
        return Ok(());
    }
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed `sigaction` with a handler that only stores to an atomic, which is
        // async-signal-safe; the old action is not needed.
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_mask = stop_signals();
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(last_errno());
        }
    }
    CAUGHT.store(true, Ordering::SeqCst);
    Ok(())
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}

/// Whether the handlers are installed: waits then take the stoppable path.
pub(crate) fn caught() -> bool {
    CAUGHT.load(Ordering::Relaxed)
}

/// Whether SIGTERM or SIGINT came since [`catch`].
pub(crate) fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// How a stoppable sleep ended.
pub(crate) enum Woke {
    /// The fd is readable (or, with no fd, the time is up).
    Ready,
    TimedOut,
    Stopped,
}

/// Sleeps until `fd` is readable (or, without one, until `deadline`), the deadline passes or
/// a stop comes; see the module's comment for why the mask.
fn sleep_until(fd: Option<i32>, deadline: Deadline) -> Result<Woke, i32> {
    let stop = stop_signals();
    loop {
        // SAFETY: `old` receives the thread's mask; `stop` is initialised.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &stop, &mut old) };
        if requested() {
            // SAFETY: restores the mask read above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
            return Ok(Woke::Stopped);
        }
        // A deadline that has passed still polls once (`wait(0)` is a try).
        let left = deadline.remaining();
        let ts = left.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let mut pfd = libc::pollfd {
            fd: fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        };
        let nfds = u64::from(fd.is_some()) as libc::nfds_t;
        // SAFETY: `pfd` (ignored when `nfds` is 0), `ts` and `old` outlive the call; `ppoll`
        // installs `old` (SIGTERM and SIGINT unblocked) only while it sleeps.
        let r = unsafe {
            libc::ppoll(
                &mut pfd,
                nfds,
                ts.as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec),
                &old,
            )
        };
        let err = if r < 0 { last_errno() } else { 0 };
        // SAFETY: as above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        match r {
            1.. => return Ok(Woke::Ready),
            // `ppoll` slept until the deadline (at least).
            0 if fd.is_none() => return Ok(Woke::Ready),
            0 => return Ok(Woke::TimedOut),
            _ if err != libc::EINTR => return Err(err),
            // A signal: a stop, seen at the top of the loop, or another one, which goes on
            // waiting.
            _ => {}
        }
    }
}

/// Waits for one completion of `fd` and consumes it, stoppably (after [`catch`]).
pub(crate) fn wait(fd: i32, deadline: Deadline) -> Result<(), i32> {
    loop {
        match sleep_until(Some(fd), deadline)? {
            Woke::Stopped => return Err(libc::EINTR),
            Woke::TimedOut => return Err(libc::ETIMEDOUT),
            Woke::Ready => match raw::ioctl_none::<raw::TryWait>(fd) {
                Ok(_) => return Ok(()),
                // Another waiter consumed it (or the fd says readable for an error that
                // TRY_WAIT then reports): go on until the deadline.
                Err(libc::EAGAIN) => {}
                Err(e) => return Err(e),
            },
        }
    }
}

/// `kc.sleep(ms)`: `Ok` after `timeout`, `Err(EINTR)` once a stop came (after [`catch`];
/// before it, a sleep ends only with its time).
pub(crate) fn sleep(timeout: Duration) -> Result<(), i32> {
    match sleep_until(None, Deadline::after(timeout))? {
        Woke::Stopped => Err(libc::EINTR),
        Woke::Ready | Woke::TimedOut => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// The Lua functions.

use crate::args::check_uint;
use crate::ret::{push_errno_fail, push_true};
use crate::State;
use mlua_sys as ffi;
use std::ffi::c_int;

/// `kc.catch_stop()`: installs the handlers; `true`, or nil, message, errno. Under LuaJIT it
/// also puts the C `wait` back in place of the FFI one, which knows nothing of stops.
pub(crate) unsafe extern "C-unwind" fn kc_catch_stop(l: State) -> c_int {
    if let Err(e) = catch() {
        // SAFETY: `l` is valid.
        return unsafe { push_errno_fail(l, e) };
    }
    #[cfg(feature = "luajit")]
    // SAFETY: upvalue 1 is the handles' metatable, whose `__index` is the methods table.
    unsafe {
        let mt = ffi::lua_upvalueindex(1);
        ffi::lua_getfield(l, mt, c"__index".as_ptr());
        let methods = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, mt);
        let mt_abs = ffi::lua_gettop(l);
        crate::set_fn(l, methods, mt_abs, c"wait", crate::object::m_wait);
        ffi::lua_settop(l, methods - 1);
    }
    // SAFETY: `l` is valid.
    unsafe { push_true(l) }
}

/// `kc.stop_requested()`: whether SIGTERM or SIGINT came since `kc.catch_stop()`.
pub(crate) unsafe extern "C-unwind" fn kc_stop_requested(l: State) -> c_int {
    // SAFETY: `l` is valid; booleans allocate nothing.
    unsafe { ffi::lua_pushboolean(l, c_int::from(requested())) };
    1
}

/// `kc.sleep(ms)`: `true`, or `nil, "interrupt", 4` once a stop came.
pub(crate) unsafe extern "C-unwind" fn kc_sleep(l: State) -> c_int {
    // SAFETY: `l` is valid; nothing owned.
    unsafe {
        let ms = check_uint(l, 1, 1, b"sleep", b"milliseconds");
        match sleep(Duration::from_millis(ms)) {
            Ok(()) => push_true(l),
            Err(e) => push_errno_fail(l, e),
        }
    }
}
