// SPDX-License-Identifier: GPL-2.0
//! Wait sets (`KC_IOC_WAIT_SET`): an fd naming a fixed set of objects and a mode (any or
//! all), so that a wait-all can sit in an event loop, and a wait-any over many objects costs
//! what its ready members cost, not what all of them do (as epoll does for its fds).
//!
//! A set keeps one entry queued on each member's wait queue for its whole life, a
//! non-exclusive one whose wake function ([`hint`]) consumes nothing: under the member's lock
//! it sets the member's bit in the set's `hints` and wakes the set's own queue, where the
//! set's waiters and pollers sleep. A bit is cleared only under its member's lock, by a look
//! that finds the member not done; every change that makes a member done (`complete`,
//! `complete_all`) or revoked wakes its queue under that lock, so a clear bit means "not done
//! now". A set bit may be stale (another waiter took the completion); the next look clears
//! it. So a `WAIT` or `poll` on the set looks only at the members whose bit is set, and the
//! single-object path (complete, wait, try-wait, poll) takes no lock beyond the member's own.
//!
//! - `poll`/`epoll` register on the set's queue only, and say readable while the set's
//!   condition holds (any: a member done; all: every member done), error and hang-up once a
//!   member is revoked.
//! - `KC_IOC_WAIT` on the fd consumes as `KC_IOC_WAIT_MANY` does (`wait_many.rs`): any takes
//!   one from the lowest-indexed ready member and returns its index; all takes one from every
//!   member at one instant (under the wait-all lock), never from part of them.
//!
//! A set owns one [`Handle`] per member, so its objects live as long as its fd; the member
//! fds it was made from may be closed. Its file (`kc_set_fops` in glue.c) owns the boxed set
//! through `private_data`, given back in `release`, which takes the entries off the members'
//! queues.

use crate::completion::{Completion, POLL_READABLE};
use crate::completion::{Deadline, Mirror, Sleeper, WaitError, POLL_ERROR, POLL_HANGUP};
use crate::ffi;
use crate::handle::Handle;
use crate::wait_many::{take_all, AllOutcome, Member, Mode};
use core::marker::PhantomPinned;
use core::pin::pin;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code::ENOTTY;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use kernel::prelude::*;
use kernel::task::{TASK_INTERRUPTIBLE, TASK_NORMAL};
use kernel::types::Opaque;

/// Words of [`WaitSet::hints`]: one bit per member, up to `KC_WAIT_MANY_MAX` (128).
const HINT_WORDS: usize = 2;

/// A wait set: its members, its mode, and the state its waiters share.
pub(crate) struct WaitSet {
    /// The set's waiters and pollers sleep here; woken by the members' [`hint`]s.
    queue: Opaque<bindings::wait_queue_head>,
    /// Bit `i`: member `i` may be done or revoked (see the module doc).
    hints: [AtomicU64; HINT_WORDS],
    members: KVec<Handle>,
    /// One per member, queued on its wait queue from [`WaitSet::create`] to drop.
    entries: KVec<HintEntry>,
    /// How many of `entries` (from the first) are queued: all of them once made.
    queued: usize,
    mode: Mode,
    _pin: PhantomPinned,
}

/// A set's entry on a member's wait queue. `repr(C)` with the entry first, so [`hint`] finds
/// the rest from it.
#[repr(C)]
struct HintEntry {
    entry: Opaque<bindings::wait_queue_entry>,
    set: *const WaitSet,
    index: u32,
    _pin: PhantomPinned,
}

/// Wake function of a set's entry on a member's queue: marks the member and wakes the set's
/// waiters and pollers with the member's key (readable, or none for a revoke's wake-up, which
/// makes pollers look), in a wait-all set only once every member's bit is set or on a revoke;
/// consumes nothing, and returns 0, so the member's own waiters are woken as if the set were
/// not there.
///
/// # Safety
///
/// Called by `__wake_up_common` only, with the member's queue lock held, for an entry queued
/// by [`WaitSet::create`] (the first field of a live [`HintEntry`] of a live set).
unsafe extern "C" fn hint(
    entry: *mut bindings::wait_queue_entry,
    _mode: c_uint,
    _flags: c_int,
    key: *mut c_void,
) -> c_int {
    // SAFETY: Per the contract: a live entry of a live set (a set takes its entries off the
    // queues, under these locks, before it is freed).
    let (set, index) = unsafe {
        let e = &*entry.cast::<HintEntry>();
        (&*e.set, e.index as usize)
    };
    set.hints[index / 64].fetch_or(1 << (index % 64), Ordering::SeqCst);
    // A wait-all's waiters and pollers need waking only once every member may be done (they
    // sleep on a clear bit), or to see a revoke. The bits are read after this one's change,
    // all `SeqCst`: of two hints racing to set the last two bits, the later sees both.
    // SAFETY: We hold the member's lock (the contract), and use its counters only here.
    let revoked = unsafe { set.members[index].counters_locked() }.revoked();
    if set.mode == Mode::All && !revoked && !set.all_hinted() {
        return 0;
    }
    // SAFETY: The set's queue is initialised and lives as long as the set; its lock nests
    // inside the member's (a class of its own, see glue.c), and nothing takes them the other
    // way round. `nr_exclusive = 0`: every waiter and poller of the set looks.
    unsafe { bindings::__wake_up(set.queue.get(), TASK_NORMAL, 0, key) };
    0
}

impl WaitSet {
    /// Makes a set of `members` (1 to 128, checked by the caller, as are duplicates in a
    /// wait-all) and its fd (`O_CLOEXEC`, read-write), which owns the set from then on.
    pub(crate) fn create(members: KVec<Handle>, mode: Mode) -> Result<c_long> {
        let n = members.len();
        let mut entries = KVec::with_capacity(n, GFP_KERNEL)?;
        for i in 0..n {
            entries.push(
                HintEntry {
                    entry: Opaque::uninit(),
                    set: ptr::null(),
                    index: i as u32,
                    _pin: PhantomPinned,
                },
                GFP_KERNEL,
            )?;
        }
        let set = KBox::new(
            WaitSet {
                queue: Opaque::uninit(),
                // Every member may be done: the first look finds out.
                hints: [AtomicU64::new(!0), AtomicU64::new(!0)],
                members,
                entries,
                queued: 0,
                mode,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        // From here on the set does not move (it is freed where it is, by `release` or below),
        // and `entries` is never pushed to: the queue and entries stay where they are queued.
        let raw = KBox::into_raw(set);
        // SAFETY: `raw` is a valid, exclusively owned set. Everything is written through
        // `raw` before the first entry is queued (after which `hint` may read the set on
        // another CPU): the queue, which a hint wakes, every entry's back pointer, and
        // `queued` (the loop below cannot fail). Each entry is then initialised and queued
        // under its member's lock; from then on only `hint` (under that lock) and the drop
        // read it.
        unsafe {
            ffi::kcompletion_init_set_waitqueue((*raw).queue.get());
            let entries = (*raw).entries.as_mut_ptr();
            let members = (*raw).members.as_ptr();
            for i in 0..n {
                (*entries.add(i)).set = raw;
            }
            (*raw).queued = n;
            for i in 0..n {
                let e = entries.add(i);
                let m: &Completion = &*members.add(i);
                let _locked = m.lock(Mirror::NONE);
                bindings::init_wait_entry((*e).entry.get(), 0);
                (*(*e).entry.get()).func = Some(hint);
                ffi::kcompletion_wait_queue_add_locked(m.queue(), (*e).entry.get());
            }
        }
        // SAFETY: A valid set; on success the file owns it (given back in
        // `kcompletion_set_release`), on failure nothing took it.
        let fd = unsafe { ffi::kcompletion_set_file_create(raw.cast()) };
        if fd < 0 {
            // SAFETY: Not taken (see above): ours to free.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(Error::from_errno(fd));
        }
        Ok(fd as c_long)
    }

    fn member(&self, i: usize) -> Member<'_> {
        let h = &self.members[i];
        Member {
            completion: h,
            mirror: h.mirror(),
        }
    }

    fn clear_hint(&self, i: usize) {
        self.hints[i / 64].fetch_and(!(1 << (i % 64)), Ordering::SeqCst);
    }

    /// The members whose bit is set, lowest first (each word read when reached).
    fn hinted(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.members.len();
        (0..HINT_WORDS).flat_map(move |w| {
            let mut bits = self.hints[w].load(Ordering::SeqCst);
            core::iter::from_fn(move || {
                let b = bits.trailing_zeros() as usize;
                if bits == 0 || w * 64 + b >= n {
                    return None;
                }
                bits &= bits - 1;
                Some(w * 64 + b)
            })
        })
    }

    /// Looks at the hinted members, each under its lock: calls `found(i, done)` for each live
    /// one (clearing the bits of those not done), and stops at `Err(Removed)` for a revoked
    /// one or when `found` returns true (with its index).
    fn look(
        &self,
        mut found: impl FnMut(usize, &mut crate::completion::Counters) -> bool,
    ) -> core::result::Result<Option<usize>, WaitError> {
        for i in self.hinted() {
            let m = self.member(i);
            let mut locked = m.completion.lock(Mirror::NONE);
            let c = locked.counters();
            if c.revoked() {
                return Err(WaitError::Removed);
            }
            let stop = found(i, c);
            if c.done == 0 {
                // Under the member's lock: a later completion sets the bit again.
                self.clear_hint(i);
            }
            if stop {
                // SAFETY: We hold the lock.
                unsafe { m.completion.publish(m.mirror) };
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Whether every member's bit is set (a wait-all can only hold then).
    fn all_hinted(&self) -> bool {
        let n = self.members.len();
        (0..HINT_WORDS).all(|w| {
            let want = match n.saturating_sub(w * 64) {
                0 => 0,
                k if k >= 64 => !0,
                k => (1u64 << k) - 1,
            };
            self.hints[w].load(Ordering::SeqCst) & want == want
        })
    }

    /// One attempt to consume: the index taken, `None` if the condition does not hold.
    fn take(&self) -> core::result::Result<Option<usize>, WaitError> {
        match self.mode {
            Mode::Any => self.look(|_, c| Completion::consume(c)),
            Mode::All => {
                if !self.all_hinted() {
                    // Not all may be done; but a hinted member may be revoked (a revoke's hint
                    // wakes the set whatever the other bits say).
                    return self.look(|_, _| false);
                }
                let n = self.members.len();
                match take_all(n, |i| self.member(i), || true, |i| self.clear_hint(i)) {
                    AllOutcome::Taken => Ok(Some(0)),
                    AllOutcome::NotReady => Ok(None),
                    AllOutcome::Revoked => Err(WaitError::Removed),
                }
            }
        }
    }

    /// The poll mask now: readable while the set's condition holds; an error and hang-up once
    /// a member is revoked.
    fn readiness(&self) -> u32 {
        let mut ready = 0;
        match self.look(|_, c| {
            ready += usize::from(c.done > 0);
            false
        }) {
            Err(_) => POLL_ERROR | POLL_HANGUP,
            Ok(_) => {
                let holds = match self.mode {
                    Mode::Any => ready > 0,
                    Mode::All => ready == self.members.len(),
                };
                if holds {
                    POLL_READABLE
                } else {
                    0
                }
            }
        }
    }

    /// `KC_IOC_WAIT` on the set: waits until [`Self::take`] takes, the deadline passes or a
    /// signal arrives; the index consumed (any) or 0 (all).
    fn wait(&self, deadline: Deadline) -> Result<usize> {
        let entry = pin!(Opaque::<bindings::wait_queue_entry>::uninit());
        // SAFETY: `entry` is valid for writing and pinned until `finish_wait` below.
        unsafe { bindings::init_wait_entry(entry.get(), 0) };
        let mut sleeper = Sleeper::new(deadline);
        let result = loop {
            // Queued and the task state set before looking: a hint after the look wakes us.
            // SAFETY: The set's queue and `entry` are valid; `entry` as initialised above.
            unsafe { bindings::prepare_to_wait(self.queue.get(), entry.get(), TASK_INTERRUPTIBLE) };
            match self.take() {
                Ok(Some(i)) => break Ok(i),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            if kernel::current!().signal_pending() {
                break Err(WaitError::Interrupted);
            }
            if !sleeper.sleep() {
                break Err(WaitError::TimedOut);
            }
        };
        // SAFETY: `entry` was prepared on the set's queue (or taken off it by its wake).
        unsafe { bindings::finish_wait(self.queue.get(), entry.get()) };
        Ok(result?)
    }
}

impl Drop for WaitSet {
    fn drop(&mut self) {
        // Take every queued entry off its member's queue, under its lock: after this no hint
        // runs on the set.
        for i in 0..self.queued {
            let m: &Completion = &self.members[i];
            let _locked = m.lock(Mirror::NONE);
            // SAFETY: The entry was queued on this queue, whose lock we hold.
            unsafe { ffi::kcompletion_wait_dequeue_locked(m.queue(), self.entries[i].entry.get()) };
        }
    }
}

/// # Safety
///
/// `file` is a wait set's file in one of its operations other than `release`.
unsafe fn set_of<'a>(file: *mut bindings::file) -> &'a WaitSet {
    // SAFETY: Per the contract, `private_data` is the boxed set, alive until `release`.
    unsafe { &*(*file).private_data.cast::<WaitSet>() }
}

/// `unlocked_ioctl` of a wait set's fd: `KC_IOC_WAIT` only.
///
/// # Safety
///
/// Called by the VFS only, for a wait set's file.
#[no_mangle]
unsafe extern "C" fn kcompletion_set_ioctl(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: Per the contract.
    let set = unsafe { set_of(file) };
    let r = match cmd {
        crate::abi::KC_IOC_WAIT => {
            crate::file_ops::read_wait(arg).and_then(|d| set.wait(d).map(|i| i as c_long))
        }
        _ => Err(ENOTTY),
    };
    r.unwrap_or_else(|e| e.to_errno() as c_long)
}

/// `poll` of a wait set's fd: registers on the set's queue, then reports readiness.
///
/// # Safety
///
/// Called by the VFS only, with `file` a wait set's file and `pt` this poll call's table.
#[no_mangle]
unsafe extern "C" fn kcompletion_set_poll(
    file: *mut bindings::file,
    pt: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: Per the contract.
    let set = unsafe { set_of(file) };
    // SAFETY: This poll call's arguments; the set's queue lives as long as its file, which
    // outlives any poll entry on it (removed by the poller before the file is released).
    unsafe { ffi::kcompletion_poll_wait(file, set.queue.get(), pt) };
    set.readiness()
}

/// `release` of a wait set's fd: gives the set (and its members) back.
///
/// # Safety
///
/// Called by the VFS only, once, for a wait set's file.
#[no_mangle]
unsafe extern "C" fn kcompletion_set_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: The file is being released: nothing else uses its set, made by `create`.
    drop(unsafe { KBox::from_raw((*file).private_data.cast::<WaitSet>()) });
    0
}
