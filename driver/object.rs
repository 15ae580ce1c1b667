// SPDX-License-Identifier: GPL-2.0
//! One completion object: a `done` counter and a wait queue, with the semantics of the
//! kernel's `struct completion` plus poll support and absolute deadlines.
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
use crate::name::Name;
use core::cell::UnsafeCell;
use core::marker::PhantomPinned;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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

/// A completion object. Always lives in an [`Arc`](kernel::sync::Arc) (pinned: the wait
/// queue head is self-referential).
#[pin_data(PinnedDrop)]
pub struct Object {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
    counters: UnsafeCell<Counters>,
    id: AtomicU32,
    handles: AtomicU32,
    owner_uid: u32,
    owner_gid: u32,
    mode: u16,
    linked: AtomicBool,
    name: Name,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `counters` is only accessed under the wait queue's spinlock; every other field is
// immutable after construction or atomic. The wait queue is designed for concurrent use.
unsafe impl Send for Object {}
// SAFETY: See `Send`.
unsafe impl Sync for Object {}

/// Holds the object's wait queue lock (interrupts off); unlocks on drop.
struct Locked<'a> {
    obj: &'a Object,
    flags: c_ulong,
}

impl Locked<'_> {
    fn counters(&mut self) -> &mut Counters {
        // SAFETY: We hold the wait queue spinlock, which guards `counters`, and `&mut self`
        // makes this the only reference derived from this guard.
        unsafe { &mut *self.obj.counters.get() }
    }

    /// Wakes every poller and at most one exclusive waiter (`nr_exclusive = 1`).
    fn wake_one(&mut self) {
        // SAFETY: `wq` is initialised and we hold its lock, as `__wake_up_locked_key` requires.
        // The key is the poll mask pollers filter on, passed as the pointer-sized value the
        // kernel's `poll_to_key()` makes.
        unsafe {
            bindings::__wake_up_locked_key(
                self.obj.wq.get(),
                TASK_NORMAL,
                POLL_READABLE as usize as *mut _,
            )
        };
    }

    /// Wakes every waiter and poller.
    fn wake_all(&mut self) {
        // SAFETY: `wq` is initialised and we hold its lock; `nr = 0` wakes everyone.
        unsafe { bindings::__wake_up_locked(self.obj.wq.get(), TASK_NORMAL, 0) };
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: `self.flags` came from the matching `kcompletion_wq_lock` on the same queue.
        unsafe { ffi::kcompletion_wq_unlock(self.obj.wq.get(), self.flags) };
    }
}

/// A snapshot of an object, for `INFO`, `LIST` and `/proc/kcompletion`.
pub(crate) struct Snapshot {
    pub(crate) id: u32,
    pub(crate) done: u32,
    pub(crate) waiters: u32,
    pub(crate) handles: u32,
    pub(crate) owner_uid: u32,
    pub(crate) owner_gid: u32,
    pub(crate) mode: u16,
    pub(crate) linked: bool,
    pub(crate) name: Name,
}

impl Object {
    /// A new object with `done == 0`, owned by the given kernel uid/gid.
    pub(crate) fn new(name: Name, owner_uid: u32, owner_gid: u32, mode: u16) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writing during the call.
            wq <- Opaque::ffi_init(|slot| unsafe { ffi::kcompletion_init_waitqueue(slot) }),
            counters: UnsafeCell::new(Counters { done: 0, waiters: 0 }),
            id: AtomicU32::new(0),
            handles: AtomicU32::new(0),
            owner_uid,
            owner_gid,
            mode,
            linked: AtomicBool::new(false),
            name,
            _pin: PhantomPinned,
        })
    }

    fn lock(&self) -> Locked<'_> {
        // SAFETY: `wq` was initialised by `new` and is pinned inside the object.
        let flags = unsafe { ffi::kcompletion_wq_lock(self.wq.get()) };
        Locked { obj: self, flags }
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

    /// The object's id (0 until registered).
    pub fn id(&self) -> u32 {
        self.id.load(Ordering::Relaxed)
    }

    pub(crate) fn set_id(&self, id: u32) {
        self.id.store(id, Ordering::Relaxed);
    }

    /// The object's name.
    pub(crate) fn name(&self) -> &Name {
        &self.name
    }

    /// The object's name as bytes.
    pub fn name_bytes(&self) -> &[u8] {
        self.name.as_bytes()
    }

    pub(crate) fn owner_uid(&self) -> u32 {
        self.owner_uid
    }

    pub(crate) fn set_linked(&self, linked: bool) {
        self.linked.store(linked, Ordering::Relaxed);
    }

    pub(crate) fn handle_opened(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handle_closed(&self) {
        self.handles.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether the caller may access the object as asked, like `ipcperms()`: owner, group or
    /// other bits by the caller's fsuid/fsgid, or `CAP_IPC_OWNER`.
    pub(crate) fn permits(&self, read: bool, write: bool) -> bool {
        // SAFETY: Reads the current task's credentials; always valid in process context.
        let fsuid = unsafe { ffi::kcompletion_current_fsuid() };
        let bits = if fsuid == self.owner_uid {
            self.mode >> 6
        } else if unsafe {
            // SAFETY: As above; any gid value is acceptable.
            ffi::kcompletion_in_group(self.owner_gid)
        } {
            self.mode >> 3
        } else {
            self.mode
        } & 0o7;
        let granted = (!read || bits & 0o4 != 0) && (!write || bits & 0o2 != 0);
        // SAFETY: `capable` may be called from any process context.
        granted || unsafe { bindings::capable(bindings::CAP_IPC_OWNER as i32) }
    }

    /// A consistent snapshot of the object's state.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let (done, waiters) = {
            let mut locked = self.lock();
            let c = locked.counters();
            (c.done, c.waiters)
        };
        Snapshot {
            id: self.id(),
            done,
            waiters,
            handles: self.handles.load(Ordering::Relaxed),
            owner_uid: self.owner_uid,
            owner_gid: self.owner_gid,
            mode: self.mode,
            linked: self.linked.load(Ordering::Relaxed),
            name: self.name,
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Object {
    fn drop(self: Pin<&mut Self>) {
        // The last reference is gone: leave the registry (id, quota) before the memory goes.
        crate::registry::registry().release(&self);
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
