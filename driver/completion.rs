// SPDX-License-Identifier: GPL-2.0
//! The completion primitive: a `done` counter and a wait queue, with the semantics of the
//! kernel's `struct completion` plus poll support and absolute deadlines. It knows nothing of
//! names, owners or the registry (`object.rs` adds those).
//!
//! Why not embed a `struct completion`? Its swait queue cannot be polled, its waits take
//! relative jiffies, and poll would need a second wait queue (a second lock on every
//! complete). Here one `wait_queue_head` serves waiters and pollers, and its spinlock guards
//! `done`, exactly like eventfd: the whole hot path is one per-object lock, no global one.
//! Waiters queue exclusively (complete wakes one of them, plus every poller).
//!
//! The waker hands the completion over: a waiter's wait queue entry has its own wake function
//! ([`grant`]), run under the lock by `complete`/`complete_all`, which consumes a completion
//! for the waiter, marks it granted and wakes it. So a woken waiter takes no lock at all, and
//! a wait that sleeps takes the lock once (its check and its queueing are one locked step):
//! no completion can be stolen between the wake-up and the waiter running, and none is lost.
//! A waiter that gives up (signal, deadline) takes a late grant as success, and otherwise
//! passes a pending wake-up on.

use crate::abi::KC_DONE_ALL;
use crate::ffi;
use crate::state_pages::SlotNo;
use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use core::pin::pin;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::bindings;
use kernel::error::code::{EINTR, EINVAL};
use kernel::error::Error;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};
use kernel::prelude::*;
use kernel::task::{TASK_INTERRUPTIBLE, TASK_NORMAL};
use kernel::types::Opaque;

/// `EPOLLIN | EPOLLRDNORM` (uapi values; bindgen does not export the cast macros).
pub(crate) const POLL_READABLE: u32 = 0x0001 | 0x0040;
/// `EPOLLERR`.
pub(crate) const POLL_ERROR: u32 = 0x0008;
/// `EPOLLHUP`.
pub(crate) const POLL_HANGUP: u32 = 0x0010;

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
    /// The completion was revoked ([`Completion::revoke`]).
    Removed,
}

/// `EIDRM` (6.12's `kernel::error::code` has no constant for it): the object was revoked.
pub(crate) fn eidrm() -> Error {
    Error::from_errno(-(bindings::EIDRM as i32))
}

impl From<WaitError> for Error {
    fn from(e: WaitError) -> Error {
        match e {
            WaitError::TimedOut => Error::from_errno(-(bindings::ETIMEDOUT as i32)),
            WaitError::Interrupted => EINTR,
            WaitError::Removed => eidrm(),
        }
    }
}

/// Counters guarded by the wait queue's spinlock.
pub(crate) struct Counters {
    pub(crate) done: u32,
    /// Queued waiters in the low 31 bits; [`REVOKED`] on top (an object is 128 bytes, and a
    /// field of its own would take it to the next slab size).
    waiters: u32,
}

/// [`Counters::waiters`]: the completion was revoked.
const REVOKED: u32 = 1 << 31;

impl Counters {
    pub(crate) fn revoked(&self) -> bool {
        self.waiters & REVOKED != 0
    }

    fn waiter_count(&self) -> u32 {
        self.waiters & !REVOKED
    }

    pub(crate) fn add_waiter(&mut self) {
        self.waiters += 1;
    }

    pub(crate) fn remove_waiter(&mut self) {
        self.waiters -= 1;
    }
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

/// Where a completion's state is mirrored for the readers of a state page
/// (`state_pages.rs`): the slot number its object keeps (read under the lock, so a slot
/// given while a caller waited for the lock is seen), or nowhere.
#[derive(Clone, Copy)]
pub struct Mirror<'a>(Option<&'a AtomicU32>);

impl<'a> Mirror<'a> {
    /// Not mirrored.
    pub(crate) const NONE: Mirror<'static> = Mirror(None);

    /// Mirrored to the slot whose number `slot` holds (0: none yet).
    pub(crate) fn to(slot: &'a AtomicU32) -> Mirror<'a> {
        Mirror(Some(slot))
    }
}

/// Holds the object's wait queue lock (interrupts off); publishes `done` to the mirror (if
/// any) and unlocks on drop.
pub(crate) struct Locked<'a> {
    c: &'a Completion,
    flags: c_ulong,
    mirror: Mirror<'a>,
    /// The lock was taken with this CPU's interrupts off: the guard must not leave the thread.
    _not_send: PhantomData<*mut ()>,
}

impl Locked<'_> {
    pub(crate) fn counters(&mut self) -> &mut Counters {
        // SAFETY: We hold the wait queue spinlock, which guards `counters`, and `&mut self`
        // makes this the only reference derived from this guard.
        unsafe { &mut *self.c.counters.get() }
    }

    /// Wakes every poller and at most one exclusive waiter (`nr_exclusive = 1`).
    pub(crate) fn wake_one(&mut self) {
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

    /// As [`Self::wake_one`], telling the scheduler the waker is about to sleep (`WF_SYNC`):
    /// the wakee may be placed on the waker's CPU rather than pull the waker off it.
    fn wake_one_sync(&mut self) {
        // SAFETY: As in `wake_one`; the sync variant takes the same arguments.
        unsafe {
            bindings::__wake_up_locked_sync_key(
                self.c.wq.get(),
                TASK_NORMAL,
                POLL_READABLE as usize as *mut _,
            )
        };
    }

    /// Wakes every waiter and poller.
    pub(crate) fn wake_all(&mut self) {
        // SAFETY: `wq` is initialised and we hold its lock; `nr = 0` wakes everyone.
        unsafe { bindings::__wake_up_locked(self.c.wq.get(), TASK_NORMAL, 0) };
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Every change of `done` (here, or by `grant` in a wake-up made under this lock) is
        // published before the lock is released.
        // SAFETY: We hold the lock.
        unsafe { self.c.publish(self.mirror) };
        // SAFETY: `self.flags` came from the matching `kcompletion_wq_lock` on the same queue.
        unsafe { ffi::kcompletion_wq_unlock(self.c.wq.get(), self.flags) };
    }
}

/// A waiter's sleeps until its deadline (the single wait here and `wait_many.rs`).
pub(crate) struct Sleeper {
    expires: i64,
    clock: Option<i32>,
}

impl Sleeper {
    pub(crate) fn new(deadline: Deadline) -> Sleeper {
        let (expires, clock) = match deadline {
            Deadline::Never => (0, None),
            Deadline::Monotonic(ns) => (ns, Some(bindings::CLOCK_MONOTONIC as i32)),
            Deadline::Realtime(ns) => (ns, Some(bindings::CLOCK_REALTIME as i32)),
        };
        Sleeper { expires, clock }
    }

    /// Sleeps once, the task state set by the caller (process context, no lock held):
    /// false if the deadline passed, true after any wake-up before it.
    pub(crate) fn sleep(&mut self) -> bool {
        match self.clock {
            None => {
                // SAFETY: Plain reschedule; process context holding no locks (the contract).
                unsafe { bindings::schedule() };
                true
            }
            Some(clock) => {
                // SAFETY: `expires` is a valid ktime in `self`; absolute mode on a valid clock
                // id; process context, no locks held.
                let left = unsafe {
                    bindings::schedule_hrtimeout_range_clock(
                        &mut self.expires,
                        0,
                        bindings::hrtimer_mode_HRTIMER_MODE_ABS,
                        clock,
                    )
                };
                left != 0
            }
        }
    }
}

/// One waiter of [`Completion::wait_until`], pinned on its stack while it waits.
#[repr(C)]
struct Waiter {
    /// First (`repr(C)`), so that [`grant`] finds the waiter from its entry.
    entry: Opaque<bindings::wait_queue_entry>,
    completion: *const Completion,
    /// Set by [`grant`] (under the lock) once it consumed a completion for this waiter.
    granted: AtomicBool,
    /// Set by [`grant`] (under the lock) when it found the completion revoked.
    revoked: AtomicBool,
    _pin: PhantomPinned,
}

/// The wake function of a waiter's entry. Every wake-up of a completion's queue is made with
/// its lock held (`complete`, `complete_all`, the pass-on in `wait_until`), so this runs under
/// it: it consumes a completion for the waiter, if there is one, marks it granted and wakes it
/// (`autoremove_wake_function` also takes the entry off the queue). Returns 1 when it granted
/// (so `complete` wakes exactly one waiter), 0 otherwise.
///
/// # Safety
///
/// Called by `__wake_up_common` only, with the queue's lock held, for an entry queued by
/// `wait_until` (so the first field of a live, pinned [`Waiter`]).
unsafe extern "C" fn grant(
    entry: *mut bindings::wait_queue_entry,
    mode: c_uint,
    flags: c_int,
    key: *mut c_void,
) -> c_int {
    // SAFETY: Per the contract, `entry` is the first field of a `repr(C)` `Waiter` that stays
    // alive while queued.
    let waiter = unsafe { &*entry.cast::<Waiter>() };
    // SAFETY: A waiter's completion outlives its queued entries; we hold the lock that guards
    // `counters`, and no other reference to them is live in this call.
    let c = unsafe { &mut *(*waiter.completion).counters.get() };
    if waiter.granted.load(Ordering::Relaxed) {
        return 0;
    }
    if c.revoked() {
        waiter.revoked.store(true, Ordering::Release);
        // SAFETY: As below.
        unsafe { bindings::autoremove_wake_function(entry, mode, flags, key) };
        return 0;
    }
    if !Completion::consume(c) {
        return 0;
    }
    c.remove_waiter();
    waiter.granted.store(true, Ordering::Release);
    // SAFETY: Our arguments, as the kernel's wake functions take them; it wakes the task and,
    // if that worked, dequeues the entry (else the waiter's `finish_wait` does, under the lock).
    // The entry is not touched after it.
    unsafe { bindings::autoremove_wake_function(entry, mode, flags, key) };
    1
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

    pub(crate) fn lock<'a>(&'a self, mirror: Mirror<'a>) -> Locked<'a> {
        // SAFETY: `wq` was initialised by `new` and is pinned inside the object.
        let flags = unsafe { ffi::kcompletion_wq_lock(self.wq.get()) };
        Locked {
            c: self,
            flags,
            mirror,
            _not_send: PhantomData,
        }
    }

    /// Publishes `done` to `mirror`'s slot, if it names one.
    ///
    /// # Safety
    ///
    /// The caller holds the lock.
    pub(crate) unsafe fn publish(&self, mirror: Mirror<'_>) {
        if let Some(raw) = mirror.0 {
            if let Some(slot) = SlotNo::from_raw(raw.load(Ordering::Relaxed)) {
                // SAFETY: The lock is held (the contract).
                let done = unsafe { (*self.counters.get()).done };
                slot.cell().publish_done(done);
            }
        }
    }

    /// Takes the lock nested under the wait-all lock, for a wait-all that holds several
    /// completions' locks at once (`wait_many.rs`). Interrupts are off already (the wait-all
    /// lock's). Released with [`Self::unlock_nested`].
    ///
    /// # Safety
    ///
    /// The caller holds the wait-all lock (`kcompletion_all_lock_irqsave`) until it calls
    /// [`Self::unlock_nested`], and does not hold this completion's lock already.
    pub(crate) unsafe fn lock_nested(&self) {
        // SAFETY: `wq` is initialised and pinned; the wait-all lock is held (the contract).
        unsafe { ffi::kcompletion_wq_lock_nested(self.wq.get()) };
    }

    /// Publishes `done` to `mirror` and releases a lock taken by [`Self::lock_nested`].
    ///
    /// # Safety
    ///
    /// The caller took the lock with [`Self::lock_nested`] and holds the wait-all lock.
    pub(crate) unsafe fn unlock_nested(&self, mirror: Mirror<'_>) {
        // SAFETY: The lock is held (the contract).
        unsafe {
            self.publish(mirror);
            ffi::kcompletion_wq_unlock_nested(self.wq.get());
        }
    }

    /// The counters, for a wake function of a waiter on several completions.
    ///
    /// # Safety
    ///
    /// The caller holds this completion's lock (a wake function runs under it) and makes no
    /// other reference to the counters while it uses this one.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn counters_locked(&self) -> &mut Counters {
        // SAFETY: Per the contract.
        unsafe { &mut *self.counters.get() }
    }

    /// Runs `f` with the lock held and the current `done` (for a state slot's writer).
    pub(crate) fn with_lock<R>(&self, f: impl FnOnce(u32) -> R) -> R {
        let mut locked = self.lock(Mirror::NONE);
        f(locked.counters().done)
    }

    /// `done += 1` (saturating, as the kernel's `complete()`), waking one waiter and every
    /// poller. `Err(Removed)` if revoked.
    pub fn complete(&self, mirror: Mirror<'_>) -> core::result::Result<(), WaitError> {
        let mut locked = self.lock(mirror);
        Self::live(locked.counters())?;
        Self::add_one(locked.counters());
        locked.wake_one();
        Ok(())
    }

    /// `Err(Removed)` if the counters say revoked.
    fn live(c: &Counters) -> core::result::Result<(), WaitError> {
        if c.revoked() {
            Err(WaitError::Removed)
        } else {
            Ok(())
        }
    }

    /// Revokes the completion: `done = 0`, and every waiter (queued now, or coming) and every
    /// later operation fails with `Removed`; pollers are woken and see an error. False if it
    /// was revoked already.
    pub fn revoke(&self, mirror: Mirror<'_>) -> bool {
        let mut locked = self.lock(mirror);
        let c = locked.counters();
        if c.revoked() {
            return false;
        }
        c.waiters |= REVOKED;
        c.done = 0;
        if let Some(raw) = mirror.0 {
            if let Some(slot) = SlotNo::from_raw(raw.load(Ordering::Relaxed)) {
                slot.cell().publish_revoked();
            }
        }
        // Every waiter's wake function sees the flag and wakes it to fail.
        locked.wake_all();
        true
    }

    /// Whether the completion was revoked.
    pub fn is_revoked(&self) -> bool {
        self.lock(Mirror::NONE).counters().revoked()
    }

    /// Completes this completion (once, or with `all` as [`Self::complete_all`]), then waits
    /// on `then_wait` as [`Self::wait_until`] does: one call for the two halves of a
    /// hand-off (`SignalObjectAndWait`). The completion stays made whatever the wait returns
    /// (the signal happened). `then_wait` may be this completion: the wait then takes the
    /// completion just made.
    pub fn complete_and_wait(
        &self,
        all: bool,
        mirror: Mirror<'_>,
        then_wait: &Completion,
        then_mirror: Mirror<'_>,
        deadline: Deadline,
        interrupted: impl Fn() -> bool,
    ) -> core::result::Result<(), WaitError> {
        self.complete_before_wait(all, mirror)?;
        then_wait.wait_until(deadline, interrupted, then_mirror)
    }

    /// The first half of [`Self::complete_and_wait`], for a caller that waits next. Process
    /// context, no spinlock held (it may give up the CPU).
    pub(crate) fn complete_before_wait(
        &self,
        all: bool,
        mirror: Mirror<'_>,
    ) -> core::result::Result<(), WaitError> {
        if all {
            self.complete_all(mirror)?;
        } else {
            let mut locked = self.lock(mirror);
            Self::live(locked.counters())?;
            Self::add_one(locked.counters());
            // The caller is about to wait: a sync wake-up (the peer may be placed on this
            // CPU instead of pulling the caller away).
            locked.wake_one_sync();
        }
        // If the task just woken should run here now, let it run before this one looks for
        // its own completion: on one CPU the peer then answers while the caller is still
        // runnable (preempted, not asleep), so the caller's wait finds the answer and never
        // sleeps, and the peer's complete wakes nobody. Without this, a kernel without
        // preemption (PREEMPT_NONE) makes both sides of a ping-pong sleep and be woken every
        // round: the switch that two calls get for free on their return to userspace.
        // SAFETY: Process context (this function's contract), no lock held.
        unsafe { ffi::kcompletion_cond_resched() };
        Ok(())
    }

    /// Every current and future wait succeeds until [`Self::reinit`].
    pub fn complete_all(&self, mirror: Mirror<'_>) -> core::result::Result<(), WaitError> {
        let mut locked = self.lock(mirror);
        Self::live(locked.counters())?;
        locked.counters().done = KC_DONE_ALL;
        locked.wake_all();
        Ok(())
    }

    /// `done = 0`.
    pub fn reinit(&self, mirror: Mirror<'_>) -> core::result::Result<(), WaitError> {
        let mut locked = self.lock(mirror);
        Self::live(locked.counters())?;
        locked.counters().done = 0;
        Ok(())
    }

    /// Consumes one completion if there is one.
    pub fn try_wait(&self, mirror: Mirror<'_>) -> core::result::Result<bool, WaitError> {
        let mut locked = self.lock(mirror);
        Self::live(locked.counters())?;
        Ok(Self::consume(locked.counters()))
    }

    /// Whether a wait would succeed now (consumes nothing).
    pub fn done(&self) -> core::result::Result<bool, WaitError> {
        let mut locked = self.lock(Mirror::NONE);
        Self::live(locked.counters())?;
        Ok(locked.counters().done > 0)
    }

    fn add_one(c: &mut Counters) {
        if c.done != KC_DONE_ALL {
            c.done += 1;
        }
    }

    /// Consumes one completion if there is one (`done` stays [`KC_DONE_ALL`] after
    /// `complete_all`). Under the lock.
    pub(crate) fn consume(c: &mut Counters) -> bool {
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
        mirror: Mirror<'_>,
    ) -> core::result::Result<(), WaitError> {
        let waiter = pin!(Waiter {
            entry: Opaque::uninit(),
            completion: self,
            granted: AtomicBool::new(false),
            revoked: AtomicBool::new(false),
            _pin: PhantomPinned,
        });
        {
            let mut locked = self.lock(mirror);
            let c = locked.counters();
            Self::live(c)?;
            if Self::consume(c) {
                return Ok(());
            }
            c.add_waiter();
            // SAFETY: `entry` is valid for writing and pinned until `finish_wait` below has
            // taken it off the queue; we hold the queue's lock, as the helper requires. Queued
            // with `grant` as its wake function and the task state set, in the same locked
            // step as the check above: a `complete` after it finds the entry.
            unsafe {
                bindings::init_wait_entry(waiter.entry.get(), bindings::WQ_FLAG_EXCLUSIVE as i32);
                (*waiter.entry.get()).func = Some(grant);
                ffi::kcompletion_wait_queue_locked(self.wq.get(), waiter.entry.get());
            }
        }
        let mut sleeper = Sleeper::new(deadline);
        let mut first = true;
        let result = loop {
            if !first {
                // Woken without a grant (a signal, a stop request, a spurious wake-up): set
                // the task state again (and requeue the entry if it was taken off) before
                // looking, so a grant after the look still wakes us.
                // SAFETY: `wq` and `entry` are valid, `entry` as initialised above.
                unsafe {
                    bindings::prepare_to_wait_exclusive(
                        self.wq.get(),
                        waiter.entry.get(),
                        TASK_INTERRUPTIBLE,
                    )
                };
            }
            first = false;
            if waiter.granted.load(Ordering::Acquire) {
                break Ok(());
            }
            if waiter.revoked.load(Ordering::Acquire) {
                break Err(WaitError::Removed);
            }
            if kernel::current!().signal_pending() || interrupted() {
                break Err(WaitError::Interrupted);
            }
            if !sleeper.sleep() {
                break Err(WaitError::TimedOut);
            }
            if waiter.granted.load(Ordering::Acquire) {
                break Ok(());
            }
        };
        // SAFETY: `entry` was queued on `wq`; after this no grant can reach it (a grant
        // already made left it dequeued, or this dequeues it under the lock).
        unsafe { bindings::finish_wait(self.wq.get(), waiter.entry.get()) };
        if result.is_ok() {
            return result;
        }
        let mut locked = self.lock(mirror);
        if waiter.granted.load(Ordering::Acquire) {
            // Granted while giving up: the completion is ours.
            return Ok(());
        }
        let c = locked.counters();
        c.remove_waiter();
        let revoked = c.revoked();
        // Pass on a completion nobody took (a grant always goes to a queued waiter, so this
        // is only a safety net).
        if c.done > 0 && c.waiter_count() > 0 {
            locked.wake_one();
        }
        if revoked {
            return Err(WaitError::Removed);
        }
        result
    }

    /// Registers a poller and reports readiness: readable while `done > 0`, an error and
    /// hang-up once revoked.
    ///
    /// # Safety
    ///
    /// `file` and `pt` must be the arguments of the `poll` file operation being run.
    pub(crate) unsafe fn poll(
        &self,
        file: *mut bindings::file,
        pt: *mut bindings::poll_table_struct,
    ) -> u32 {
        // SAFETY: Per the function's contract; `wq` lives as long as the file holds its
        // reference to this object, which outlives any poll table entry on it.
        unsafe { ffi::kcompletion_poll_wait(file, self.wq.get(), pt) };
        self.readiness()
    }

    /// The poll mask now: [`POLL_READABLE`] while `done > 0`, [`POLL_ERROR`] |
    /// [`POLL_HANGUP`] once revoked, else 0.
    pub(crate) fn readiness(&self) -> u32 {
        match self.done() {
            Ok(true) => POLL_READABLE,
            Ok(false) => 0,
            Err(_) => POLL_ERROR | POLL_HANGUP,
        }
    }

    /// The wait queue, for a waiter on several completions (`wait_many.rs`).
    pub(crate) fn queue(&self) -> *mut bindings::wait_queue_head {
        self.wq.get()
    }

    /// `(done, waiters, revoked)`, read together under the lock.
    pub(crate) fn counts(&self) -> (u32, u32, bool) {
        let mut locked = self.lock(Mirror::NONE);
        let c = locked.counters();
        (c.done, c.waiter_count(), c.revoked())
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
