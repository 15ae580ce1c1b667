// SPDX-License-Identifier: GPL-2.0
//! A completion object: a [`Completion`] as the registry keeps it, with its id, name, owner,
//! mode, open-handle count and whether its name is linked.
//!
//! Its methods are the completion's (`Deref`), plus the permission check and snapshots.
//! An object knows nothing of its registry: whoever gives back its last reference releases it
//! there (id, quota; see `handle.rs` for why), and dropping one that was not released is a bug
//! the debug kernel reports.

use crate::completion::{Completion, Mirror};
use crate::ffi;
use crate::name::Name;
use crate::state_pages::{Class, SlotNo};
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::bindings;
use kernel::prelude::*;

pub use crate::completion::{Deadline, WaitError};

/// `core`'s `Result` (the prelude's is the kernel's, with its error fixed).
type Result<T, E> = core::result::Result<T, E>;

/// A completion object. Always lives in an [`Arc`](kernel::sync::Arc).
#[pin_data(PinnedDrop)]
pub struct Object {
    #[pin]
    completion: Completion,
    id: AtomicU32,
    handles: AtomicU32,
    owner_uid: u32,
    owner_gid: u32,
    mode: u16,
    linked: AtomicBool,
    /// Set by the registry's release (debug check in `drop`).
    released: AtomicBool,
    /// The number of the object's state slot (`state_pages::SlotNo`), 0 until it is first
    /// mapped. Set once, under the completion's lock; read under it by every writer.
    state: AtomicU32,
    name: Name,
}

impl Deref for Object {
    type Target = Completion;

    fn deref(&self) -> &Completion {
        &self.completion
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
    /// Revoked (`KC_IOC_REVOKE`): `INFO` then fails with `EIDRM`.
    pub(crate) revoked: bool,
    pub(crate) name: Name,
}

impl Object {
    /// A new object with `done == 0`, owned by the given kernel uid/gid.
    pub(crate) fn new(name: Name, owner_uid: u32, owner_gid: u32, mode: u16) -> impl PinInit<Self> {
        pin_init!(Self {
            completion <- Completion::new(),
            id: AtomicU32::new(0),
            handles: AtomicU32::new(0),
            owner_uid,
            owner_gid,
            mode,
            linked: AtomicBool::new(false),
            released: AtomicBool::new(false),
            state: AtomicU32::new(0),
            name,
        })
    }

    /// Where the object's state is mirrored (its state slot, once it has one).
    pub(crate) fn mirror(&self) -> Mirror<'_> {
        Mirror::to(&self.state)
    }

    // The state-changing operations of the completion, mirrored to the object's state slot
    // (they shadow the completion's, which take the mirror as an argument). Each fails with
    // `WaitError::Removed` (`EIDRM`) once the object is revoked.

    /// See [`Completion::complete`].
    pub fn complete(&self) -> Result<(), WaitError> {
        self.completion.complete(self.mirror())
    }

    /// See [`Completion::complete_all`].
    pub fn complete_all(&self) -> Result<(), WaitError> {
        self.completion.complete_all(self.mirror())
    }

    /// See [`Completion::reinit`].
    pub fn reinit(&self) -> Result<(), WaitError> {
        self.completion.reinit(self.mirror())
    }

    /// See [`Completion::try_wait`].
    pub fn try_wait(&self) -> Result<bool, WaitError> {
        self.completion.try_wait(self.mirror())
    }

    /// See [`Completion::revoke`] (the registry's `revoke` also unlinks the name).
    pub(crate) fn revoke(&self) -> bool {
        self.completion.revoke(self.mirror())
    }

    /// See [`Completion::wait_until`].
    pub fn wait_until(
        &self,
        deadline: Deadline,
        interrupted: impl Fn() -> bool,
    ) -> Result<(), WaitError> {
        self.completion
            .wait_until(deadline, interrupted, self.mirror())
    }

    /// See [`Completion::complete_before_wait`].
    pub(crate) fn complete_before_wait(&self, all: bool) -> Result<(), WaitError> {
        self.completion.complete_before_wait(all, self.mirror())
    }

    /// See [`Completion::complete_and_wait`].
    pub fn complete_and_wait(
        &self,
        all: bool,
        then_wait: &Object,
        deadline: Deadline,
        interrupted: impl Fn() -> bool,
    ) -> Result<(), WaitError> {
        self.completion.complete_and_wait(
            all,
            self.mirror(),
            &then_wait.completion,
            then_wait.mirror(),
            deadline,
            interrupted,
        )
    }

    /// The object's state slot, if it has one.
    pub(crate) fn state_slot(&self) -> Option<SlotNo> {
        SlotNo::from_raw(self.state.load(Ordering::Acquire))
    }

    /// Who may share a state page with this object (see `state_pages.rs`).
    pub(crate) fn state_class(&self) -> Class {
        if self.name.as_bytes().is_empty() {
            Class::Anonymous { id: self.id() }
        } else {
            Class::Named {
                uid: self.owner_uid,
                gid: self.owner_gid,
                mode: self.mode,
            }
        }
    }

    /// Gives the object the state slot `slot` (it had none): the slot shows the object's
    /// state from now on. Called under the registry's mutex, which serialises givers.
    pub(crate) fn attach_state(&self, slot: SlotNo) {
        self.completion.with_lock(|done| {
            slot.cell()
                .attach(self.id(), done, self.linked.load(Ordering::Relaxed));
            self.state.store(slot.raw(), Ordering::Release);
        });
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
        if self.state_slot().is_some() {
            self.completion.with_lock(|_| {
                if let Some(slot) = self.state_slot() {
                    slot.cell().publish_linked(linked);
                }
            });
        }
    }

    pub(crate) fn set_released(&self) {
        self.released.store(true, Ordering::Relaxed);
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
        let (done, waiters, revoked) = self.completion.counts();
        Snapshot {
            id: self.id(),
            done,
            waiters,
            handles: self.handles.load(Ordering::Relaxed),
            owner_uid: self.owner_uid,
            owner_gid: self.owner_gid,
            mode: self.mode,
            linked: self.linked.load(Ordering::Relaxed),
            revoked,
            name: self.name,
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Object {
    fn drop(self: Pin<&mut Self>) {
        // Every last reference goes through `Registry::put`, which releases the object first.
        debug_assert!(
            self.released.load(Ordering::Relaxed),
            "kcompletion: object dropped without its registry's release"
        );
    }
}
