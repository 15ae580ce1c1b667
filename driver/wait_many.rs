// SPDX-License-Identifier: GPL-2.0
//! Waiting for any or all of several completions at once (`KC_IOC_WAIT_MANY`), with an
//! optional alert completion that ends either wait.
//!
//! The waiter puts one wait queue entry on each completion's queue, all sharing a
//! [`Shared`] record, and sleeps once.
//!
//! - **Any**: each entry's wake function ([`grant_any`]) runs under its completion's lock,
//!   like the single waiter's grant: if nothing was granted yet and the completion has one to
//!   give, it claims the wait (`granted`, a compare-and-swap, since the entries' locks
//!   differ), consumes one for the waiter and wakes it. Entries queue exclusively, and a wake
//!   function that did not grant returns 0, so a `complete` that finds this waiter served
//!   already goes on to the next waiter: nothing is lost. Before sleeping the waiter looks at
//!   each completion in index order (the lowest ready index wins among those ready when the
//!   call starts).
//! - **All**: the entries only wake the waiter ([`nudge`]); the waiter itself takes the
//!   wait-all lock, then every member's lock nested under it, and consumes one from each only
//!   if all are ready at that instant ([`try_all`]). A wait-all thus never consumes part of
//!   its set, and the completers never take a lock beyond their own: complete, wait,
//!   try-wait and poll keep the single-object path whether or not a wait-all watches (the
//!   cost a wait-all adds to a `complete` is one more entry on the queue, woken).
//! - **Alert**: an entry like an any-entry with index `count`; in a wait-all, `try_all`
//!   claims the same `granted` before consuming, so the alert and the set never both go.
//!
//! A revoked member (or alert) ends the wait with `Removed`. A grant that lands while the
//! waiter gives up (deadline, signal) is taken as success, as in the single wait: after the
//! entries are dequeued under their locks, `granted` is final.

use crate::completion::{Completion, Deadline, Mirror, Sleeper, WaitError};
use crate::ffi;
use core::marker::PhantomPinned;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

/// Whether a wait needs one completion or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Any one: its index is returned.
    Any,
    /// All at once: index 0 is returned.
    All,
}

/// A completion taking part in a wait, and where its state is mirrored.
#[derive(Clone, Copy)]
pub(crate) struct Member<'a> {
    pub(crate) completion: &'a Completion,
    pub(crate) mirror: Mirror<'a>,
}

/// [`Shared::granted`] before anything was granted.
const NONE: u32 = u32::MAX;
/// [`Shared::granted`] once a wait-all took its set.
const ALL: u32 = u32::MAX - 1;

/// What the entries of one wait share.
struct Shared {
    /// The index consumed for the waiter ([`NONE`] until then, [`ALL`] for the whole set).
    granted: AtomicU32,
    /// A member or the alert was found revoked.
    revoked: AtomicBool,
}

impl Shared {
    /// Claims the wait for `index`; false if something else claimed it first.
    fn claim(&self, index: u32) -> bool {
        self.granted
            .compare_exchange(NONE, index, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn claimed(&self) -> bool {
        self.granted.load(Ordering::Acquire) != NONE
    }
}

/// One wait queue entry of a wait. `repr(C)` with the entry first, so the wake functions
/// find the rest from it.
#[repr(C)]
struct Entry {
    entry: Opaque<bindings::wait_queue_entry>,
    shared: *const Shared,
    completion: *const Completion,
    index: u32,
    /// Whether the entry was put on its completion's queue (and must come off it).
    queued: bool,
    _pin: PhantomPinned,
}

/// Wake function of an any-entry and of the alert's entry; see the module doc.
///
/// # Safety
///
/// Called by `__wake_up_common` only, with the completion's queue lock held, for an entry
/// queued by [`wait_many`] (the first field of a live [`Entry`], its `Shared` alive).
unsafe extern "C" fn grant_any(
    entry: *mut bindings::wait_queue_entry,
    mode: c_uint,
    flags: c_int,
    key: *mut c_void,
) -> c_int {
    // SAFETY: Per the contract: a live `Entry` whose `shared` and `completion` outlive it.
    let (e, shared) = unsafe {
        let e = &*entry.cast::<Entry>();
        (e, &*e.shared)
    };
    // SAFETY: We hold the completion's lock (the contract); no other reference to its
    // counters is live in this call.
    let c = unsafe { (*e.completion).counters_locked() };
    if shared.claimed() {
        return 0;
    }
    if c.revoked() {
        shared.revoked.store(true, Ordering::Release);
        // SAFETY: Our own arguments, as the kernel's wake functions take them.
        unsafe { bindings::default_wake_function(entry, mode, flags, key) };
        return 0;
    }
    if c.done == 0 || !shared.claim(e.index) {
        return 0;
    }
    Completion::consume(c);
    // SAFETY: As above; the entry stays queued until the waiter dequeues it.
    unsafe { bindings::default_wake_function(entry, mode, flags, key) };
    1
}

/// Wake function of a wait-all's entries: wakes the waiter to look ([`try_all`]), consuming
/// nothing; 0, so a `complete` still wakes one exclusive waiter besides.
///
/// # Safety
///
/// As for [`grant_any`].
unsafe extern "C" fn nudge(
    entry: *mut bindings::wait_queue_entry,
    mode: c_uint,
    flags: c_int,
    key: *mut c_void,
) -> c_int {
    // SAFETY: As in `grant_any`.
    let (e, shared) = unsafe {
        let e = &*entry.cast::<Entry>();
        (e, &*e.shared)
    };
    // SAFETY: As in `grant_any`.
    if unsafe { (*e.completion).counters_locked() }.revoked() {
        shared.revoked.store(true, Ordering::Release);
    }
    // SAFETY: Our own arguments, as the kernel's wake functions take them.
    unsafe { bindings::default_wake_function(entry, mode, flags, key) };
    0
}

/// What [`take_all`] found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllOutcome {
    /// Every member was ready, and one was consumed from each.
    Taken,
    /// Some member was not ready (nothing consumed).
    NotReady,
    /// A member was revoked (nothing consumed).
    Revoked,
}

/// Under the wait-all lock, takes the lock of each of the `n` members (`member(i)`) and, if all
/// are ready and `claim()` agrees, consumes one from each (publishing each member's state).
/// `not_ready(i)` is called, under member `i`'s lock, for each member found not done. No
/// member may appear twice (wait-alls refuse duplicates).
pub(crate) fn take_all<'a>(
    n: usize,
    member: impl Fn(usize) -> Member<'a>,
    claim: impl FnOnce() -> bool,
    mut not_ready: impl FnMut(usize),
) -> AllOutcome {
    // SAFETY: Plain spinlock; released below.
    let flags = unsafe { ffi::kcompletion_all_lock_irqsave() };
    for i in 0..n {
        // SAFETY: We hold the wait-all lock until every member is unlocked below, and no
        // member appears twice (the contract).
        unsafe { member(i).completion.lock_nested() };
    }
    /// # Safety
    ///
    /// `m`'s lock is held, and no other reference to its counters is live while the result
    /// is.
    unsafe fn counters<'b>(m: Member<'b>) -> &'b mut crate::completion::Counters {
        // SAFETY: Per the contract.
        unsafe { m.completion.counters_locked() }
    }
    let mut revoked = false;
    let mut ready = true;
    for i in 0..n {
        // SAFETY: Every member's lock is held until the unlocks below, and each use of a
        // member's counters ends before the next.
        let c = unsafe { counters(member(i)) };
        revoked |= c.revoked();
        if c.done == 0 {
            ready = false;
            not_ready(i);
        }
    }
    let outcome = if revoked {
        AllOutcome::Revoked
    } else if ready && claim() {
        for i in 0..n {
            // SAFETY: See above.
            Completion::consume(unsafe { counters(member(i)) });
        }
        AllOutcome::Taken
    } else {
        AllOutcome::NotReady
    };
    for i in 0..n {
        let m = member(i);
        // SAFETY: Locked above with `lock_nested`; the wait-all lock is still held.
        unsafe { m.completion.unlock_nested(m.mirror) };
    }
    // SAFETY: Taken above.
    unsafe { ffi::kcompletion_all_unlock_irqrestore(flags) };
    outcome
}

/// [`take_all`] for a wait-all of [`wait_many`]: the alert may have claimed the wait.
fn try_all(members: &[Member<'_>], shared: &Shared) {
    let outcome = take_all(members.len(), |i| members[i], || shared.claim(ALL), |_| {});
    if outcome == AllOutcome::Revoked {
        shared.revoked.store(true, Ordering::Release);
    }
}

/// Waits until any one of `members` (or, with [`Mode::All`], all of them at once) can be
/// consumed, or `alert` can, or the deadline passes, a signal arrives or `interrupted()` says
/// stop. Returns the index consumed: a member's (any), 0 (all), `members.len()` (the alert).
/// Process context, no spinlock held; in a wait-all no completion may appear twice.
pub(crate) fn wait_many(
    members: &[Member<'_>],
    alert: Option<Member<'_>>,
    mode: Mode,
    deadline: Deadline,
    interrupted: impl Fn() -> bool,
) -> Result<usize> {
    let n = members.len();
    let total = n + usize::from(alert.is_some());
    let member = |i: usize| {
        if i < n {
            members[i]
        } else {
            alert.unwrap_or(members[0])
        }
    };
    let shared = Shared {
        granted: AtomicU32::new(NONE),
        revoked: AtomicBool::new(false),
    };
    let mut entries = KVec::with_capacity(total, GFP_KERNEL)?;
    for i in 0..total {
        entries.push(
            Entry {
                entry: Opaque::uninit(),
                shared: &shared,
                completion: member(i).completion,
                index: i as u32,
                queued: false,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
    }
    // From here on `entries` is never pushed to again: its elements do not move while queued.

    // Look at each completion, taking one that is ready (any, alert), and queue the entries.
    // The task state is set once, before the first entry is queued: a wake-up through any
    // entry after that makes the sleep below return at once.
    // SAFETY: Process context.
    unsafe { ffi::kcompletion_set_current_interruptible() };
    for (i, e) in entries.iter_mut().enumerate() {
        let m = member(i);
        let grants = mode == Mode::Any || i == n;
        // Unmirrored: queueing changes no state a page shows; a consume publishes itself.
        let mut locked = m.completion.lock(Mirror::NONE);
        let c = locked.counters();
        if c.revoked() {
            shared.revoked.store(true, Ordering::Release);
            break;
        }
        if grants && c.done > 0 && shared.claim(i as u32) {
            Completion::consume(c);
            // SAFETY: We hold the lock.
            unsafe { m.completion.publish(m.mirror) };
            break;
        }
        if shared.claimed() {
            break;
        }
        c.add_waiter();
        e.queued = true;
        let (exclusive, func) = if grants {
            (
                bindings::WQ_FLAG_EXCLUSIVE as i32,
                grant_any as unsafe extern "C" fn(_, _, _, _) -> _,
            )
        } else {
            (0, nudge as unsafe extern "C" fn(_, _, _, _) -> _)
        };
        // SAFETY: `entry` is valid for writing and stays in place until dequeued below; we
        // hold the queue's lock, as the helper requires.
        unsafe {
            bindings::init_wait_entry(e.entry.get(), exclusive);
            (*e.entry.get()).func = Some(func);
            ffi::kcompletion_wait_queue_add_locked(m.completion.queue(), e.entry.get());
        }
    }

    let mut sleeper = Sleeper::new(deadline);
    let result = loop {
        // Set before looking: a wake-up after the look makes the sleep below return at once.
        // SAFETY: Process context.
        unsafe { ffi::kcompletion_set_current_interruptible() };
        if shared.claimed() {
            break Ok(());
        }
        if shared.revoked.load(Ordering::Acquire) {
            break Err(WaitError::Removed);
        }
        if mode == Mode::All {
            try_all(members, &shared);
            if shared.claimed() {
                break Ok(());
            }
            if shared.revoked.load(Ordering::Acquire) {
                break Err(WaitError::Removed);
            }
        }
        if kernel::current!().signal_pending() || interrupted() {
            break Err(WaitError::Interrupted);
        }
        if !sleeper.sleep() {
            break Err(WaitError::TimedOut);
        }
    };
    // SAFETY: Process context.
    unsafe { ffi::kcompletion_set_current_running() };
    // Take every queued entry off its queue, under its lock: after this no wake function can
    // reach them, and `granted` is final.
    for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.queued) {
        let m = member(i);
        let mut locked = m.completion.lock(Mirror::NONE);
        locked.counters().remove_waiter();
        // SAFETY: `entry` was queued on this queue, whose lock we hold.
        unsafe { ffi::kcompletion_wait_dequeue_locked(m.completion.queue(), e.entry.get()) };
    }
    match shared.granted.load(Ordering::Acquire) {
        ALL => Ok(0),
        NONE => match result {
            Ok(()) => Err(EINVAL),
            Err(e) => Err(e.into()),
        },
        // A grant, perhaps one that landed while giving up: the completion is ours.
        i => Ok(i as usize),
    }
}
