// SPDX-License-Identifier: GPL-2.0
//! The completion primitive: a `done` counter and a wait queue, with the semantics of the
//! kernel's `struct completion` plus poll support and absolute deadlines. It knows nothing of
//! names, owners or the registry (`object.rs` adds those).
//!
//! Why not embed a `struct completion`? Its swait queue cannot be polled, its waits take
//! relative jiffies, and poll would need a second wait queue (a second lock on every
//! complete). Here one `wait_queue_head` serves waiters and pollers, and its spinlock guards
//! `done`, exactly like eventfd: the whole hot path is one per-object lock, no global one.
//! Waiters queue exclusively (complete wakes one of them, plus every poller); a waiter that
//! gives up (signal, deadline) while a completion is pending passes the wake-up on, so none
//! is ever lost.

use crate::abi::KC_DONE_ALL;
use crate::ffi;
use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use kernel::bindings;
use kernel::error::code::{EINTR, EINVAL};
use kernel::error::Error;
use kernel::ffi::c_ulong;
use kernel::prelude::*;
use kernel::task::{TASK_INTERRUPTIBLE, TASK_NORMAL};
use kernel::types::Opaque;

/// `EPOLLIN | EPOLLRDNORM` (uapi values; bindgen does not export the cast macros).
pub(crate) const POLL_READABLE: u32 = 0x0001 | 0x0040;
/// `EPOLLERR`.
pub(crate) const POLL_ERROR: u32 = 0x0008;

/// When a wait gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// Wait until completed or interrupted.
    Never,
    /// Absolute time in nanoseconds on `CLOCK_MONOTONIC`.
    Monotonic(i64),
    /// Absolute time in nanoseconds on `CLOCK_REALTIME`.
    Realtime(i64),
}

/// Why a wait returned without consuming a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The deadline passed.
    TimedOut,
    /// A signal is pending, or the caller's `interrupted` check said stop.
    Interrupted,
}

impl From<WaitError> for Error {
    fn from(e: WaitError) -> Error {
        match e {
            WaitError::TimedOut => Error::from_errno(-(bindings::ETIMEDOUT as i32)),
            WaitError::Interrupted => EINTR,
        }
    }
}

/// Counters guarded by the wait queue's spinlock.
struct Counters {
    done: u32,
    waiters: u32,
}

/// A completion. Pinned (the wait queue head is self-referential).
#[pin_data]
pub struct Completion {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
    counters: UnsafeCell<Counters>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `counters` is only accessed under the wait queue's spinlock; the wait queue is
// designed for concurrent use.
unsafe impl Send for Completion {}
// SAFETY: See `Send`.
unsafe impl Sync for Completion {}

/// Holds the object's wait queue lock (interrupts off); unlocks on drop.
struct Locked<'a> {
    c: &'a Completion,
    flags: c_ulong,
    /// The lock was taken with this CPU's interrupts off: the guard must not leave the thread.
    _not_send: PhantomData<*mut ()>,
}

impl Locked<'_> {
    fn counters(&mut self) -> &mut Counters {
        // SAFETY: We hold the wait queue spinlock, which guards `counters`, and `&mut self`
        // makes this the only reference derived from this guard.
        unsafe { &mut *self.c.counters.get() }
    }

    /// Wakes every poller and at most one exclusive waiter (`nr_exclusive = 1`).
    fn wake_one(&mut self) {
        // SAFETY: `wq` is initialised and we hold its lock, as `__wake_up_locked_key` requires.
        // The key is the poll mask pollers filter on, passed as the pointer-sized value the
        // kernel's `poll_to_key()` makes.
        unsafe {
            bindings::__wake_up_locked_key(
                self.c.wq.get(),
                TASK_NORMAL,
                POLL_READABLE as usize as *mut _,
            )
        };
    }

    /// Wakes every waiter and poller.
    fn wake_all(&mut self) {
        // SAFETY: `wq` is initialised and we hold its lock; `nr = 0` wakes everyone.
        unsafe { bindings::__wake_up_locked(self.c.wq.get(), TASK_NORMAL, 0) };
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: `self.flags` came from the matching `kcompletion_wq_lock` on the same queue.
        unsafe { ffi::kcompletion_wq_unlock(self.c.wq.get(), self.flags) };
    }
}

impl Completion {
    /// A new completion with `done == 0`.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writing during the call.
            wq <- Opaque::ffi_init(|slot| unsafe { ffi::kcompletion_init_waitqueue(slot) }),
            counters: UnsafeCell::new(Counters { done: 0, waiters: 0 }),
            _pin: PhantomPinned,
        })
    }

    fn lock(&self) -> Locked<'_> {
        // SAFETY: `wq` was initialised by `new` and is pinned inside the object.
        let flags = unsafe { ffi::kcompletion_wq_lock(self.wq.get()) };
        Locked {
            c: self,
            flags,
            _not_send: PhantomData,
        }
    }

    /// `done += 1` (saturating, as the kernel's `complete()`), waking one waiter and every
    /// poller.
    pub fn complete(&self) {
        let mut locked = self.lock();
        let c = locked.counters();
        if c.done != KC_DONE_ALL {
            c.done += 1;
        }
        locked.wake_one();
    }

    /// Every current and future wait succeeds until [`Self::reinit`].
    pub fn complete_all(&self) {
        let mut locked = self.lock();
        locked.counters().done = KC_DONE_ALL;
        locked.wake_all();
    }

    /// `done = 0`.
    pub fn reinit(&self) {
        self.lock().counters().done = 0;
    }

    /// Consumes one completion if there is one.
    pub fn try_wait(&self) -> bool {
        Self::consume(self.lock().counters())
    }

    /// Whether a wait would succeed now (consumes nothing).
    pub fn done(&self) -> bool {
        self.lock().counters().done > 0
    }

    fn consume(c: &mut Counters) -> bool {
        if c.done == 0 {
            return false;
        }
        if c.done != KC_DONE_ALL {
            c.done -= 1;
        }
        true
    }

    /// Waits until a completion can be consumed, the deadline passes, a signal arrives or
    /// `interrupted()` returns true (checked after every wake-up; kernel threads pass their
    /// stop check). Must be called in process context, without spinlocks held.
    pub fn wait_until(
        &self,
        deadline: Deadline,
        interrupted: impl Fn() -> bool,
    ) -> core::result::Result<(), WaitError> {
        {
            let mut locked = self.lock();
            let c = locked.counters();
            if Self::consume(c) {
                return Ok(());
            }
            c.waiters += 1;
        }
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` is valid for writing; it stays on this stack frame (not moved)
        // until `finish_wait` below has taken it off the queue.
        unsafe { bindings::init_wait_entry(entry.get(), 0) };
        let (mut expires, clock) = match deadline {
            Deadline::Never => (0, None),
            Deadline::Monotonic(ns) => (ns, Some(bindings::CLOCK_MONOTONIC as i32)),
            Deadline::Realtime(ns) => (ns, Some(bindings::CLOCK_REALTIME as i32)),
        };
        let result = loop {
            // SAFETY: `wq` and `entry` are valid; this queues `entry` exclusively (once) and
            // sets the task state, so a wake-up after the check below is not lost.
            unsafe {
                bindings::prepare_to_wait_exclusive(self.wq.get(), entry.get(), TASK_INTERRUPTIBLE)
            };
            if self.take_queued(&entry) {
                return Ok(());
            }
            if kernel::current!().signal_pending() || interrupted() {
                break Err(WaitError::Interrupted);
            }
            match clock {
                None => {
                    // SAFETY: Plain reschedule; we are in process context holding no locks.
                    unsafe { bindings::schedule() };
                }
                Some(clock) => {
                    // SAFETY: `expires` is a valid ktime on this stack frame; absolute mode
                    // on a valid clock id; process context, no locks held.
                    let left = unsafe {
                        bindings::schedule_hrtimeout_range_clock(
                            &mut expires,
                            0,
                            bindings::hrtimer_mode_HRTIMER_MODE_ABS,
                            clock,
                        )
                    };
                    if left == 0 {
                        // The timer fired: one last look, then give up.
                        if self.take_queued(&entry) {
                            return Ok(());
                        }
                        break Err(WaitError::TimedOut);
                    }
                }
            }
            // Woken (or a spurious return): take a completion before re-queueing. A wake-up
            // through `autoremove_wake_function` has already dequeued `entry`, so on success
            // `finish_wait` below takes no lock; only when there is nothing to take does the
            // loop queue the entry again and check once more.
            if self.take_queued(&entry) {
                return Ok(());
            }
        };
        // SAFETY: `entry` was queued on `wq` by `prepare_to_wait_exclusive`.
        unsafe { bindings::finish_wait(self.wq.get(), entry.get()) };
        let mut locked = self.lock();
        let c = locked.counters();
        c.waiters -= 1;
        // We may have been the waiter a `complete` chose: pass its wake-up on.
        if c.done > 0 && c.waiters > 0 {
            locked.wake_one();
        }
        result
    }

    /// For a waiter of `wait_until` whose `entry` is (or was, before a wake-up dequeued it)
    /// on the queue: takes a completion if there is one, and then leaves the waiter count and
    /// the queue. `finish_wait` takes no lock when a wake-up has already dequeued `entry`.
    fn take_queued(&self, entry: &Opaque<bindings::wait_queue_entry>) -> bool {
        let mut locked = self.lock();
        let c = locked.counters();
        if !Self::consume(c) {
            return false;
        }
        c.waiters -= 1;
        drop(locked);
        // SAFETY: `entry` was initialised by this waiter and queued on `wq` by
        // `prepare_to_wait_exclusive`; `finish_wait` also handles an already dequeued entry.
        unsafe { bindings::finish_wait(self.wq.get(), entry.get()) };
        true
    }

    /// Registers a poller and reports readiness (readable while `done > 0`).
    ///
    /// # Safety
    ///
    /// `file` and `pt` must be the arguments of the `poll` file operation being run.
    pub(crate) unsafe fn poll(
        &self,
        file: *mut bindings::file,
        pt: *mut bindings::poll_table_struct,
    ) -> bool {
        // SAFETY: Per the function's contract; `wq` lives as long as the file holds its
        // reference to this object, which outlives any poll table entry on it.
        unsafe { ffi::kcompletion_poll_wait(file, self.wq.get(), pt) };
        self.done()
    }

    /// `(done, waiters)`, read together under the lock.
    pub(crate) fn counts(&self) -> (u32, u32) {
        let mut locked = self.lock();
        let c = locked.counters();
        (c.done, c.waiters)
    }
}

/// Checks a raw deadline from userspace.
pub(crate) fn deadline_from_user(ns: u64, realtime: bool) -> Result<Deadline> {
    if ns == crate::abi::KC_DEADLINE_NEVER {
        return Ok(Deadline::Never);
    }
    let ns = i64::try_from(ns).map_err(|_| EINVAL)?;
    Ok(if realtime {
        Deadline::Realtime(ns)
    } else {
        Deadline::Monotonic(ns)
    })
}
