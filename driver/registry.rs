// SPDX-License-Identifier: GPL-2.0
//! The registry of completion objects (the kernel-side API over it is in `api.rs`).
//!
//! The module owns its registry in an [`Arc`]; every [`Handle`] holds a reference too, so the
//! registry outlives every object reference it handed out, and no global reaches it.
//!
//! Every live object has an id in an XArray (`ids`), which is what `LIST` and
//! `/proc/kcompletion` walk. The XArray does not own its entries. Named objects are also in the
//! name table, which holds a reference, so a name keeps its object alive (POSIX IPC style)
//! until it is unlinked. Every other reference is a [`Handle`]. Whoever gives back the last
//! reference releases the object here ([`Registry::put`]: id, quota) before its memory goes.
//! The mutex guards the name table, the quota counts and the XArray's meaning; no per-object
//! operation ever takes it.
//!
//! Lock order: registry mutex, then an object's wait queue lock. A reference must never be
//! given back with the mutex held (the release takes the mutex), so functions here hand the
//! references they take out back to be put after unlocking.

use crate::ffi;
use crate::handle::Handle;
use crate::name::Name;
use crate::name_table::NameTable;
use crate::object::{Object, Snapshot};
use crate::siphash::SipKey;
use crate::state_pages::{SlotNo, StatePool};
use crate::xarray::XArray;
use core::ptr;
use kernel::alloc::flags::{GFP_KERNEL, GFP_KERNEL_ACCOUNT};
use kernel::bindings;
use kernel::error::code::{EACCES, EEXIST, ENOENT, ENOSPC};
use kernel::error::Error;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use kernel::sync::{Arc, Mutex};

/// What the registry mutex guards.
struct Tables {
    names: NameTable,
    /// Live objects per owner kuid (only owners with at least one).
    quotas: RBTree<u32, u32>,
    live: u32,
    /// The state pages (`state_pages.rs`).
    state: StatePool,
}

impl Tables {
    fn charge(&mut self, uid: u32, reservation: RBTreeNodeReservation<u32, u32>) {
        self.live += 1;
        match self.quotas.get_mut(&uid) {
            Some(n) => *n += 1,
            None => {
                self.quotas.insert(reservation.into_node(uid, 1));
            }
        }
    }

    fn uncharge(&mut self, uid: u32) {
        self.live -= 1;
        let last = match self.quotas.get_mut(&uid) {
            Some(n) => {
                *n -= 1;
                *n == 0
            }
            None => false,
        };
        if last {
            self.quotas.remove(&uid);
        }
    }
}

/// All objects, by id and by name.
#[pin_data(PinnedDrop)]
pub struct Registry {
    #[pin]
    ids: XArray,
    #[pin]
    tables: Mutex<Tables>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> impl PinInit<Self> {
        let mut key = [0u64; 2];
        // SAFETY: `key` is valid for writing 16 bytes.
        unsafe { bindings::get_random_bytes(key.as_mut_ptr().cast(), 16) };
        pin_init!(Self {
            ids <- XArray::new(),
            tables <- new_mutex!(Tables {
                names: NameTable::new(SipKey(key)),
                quotas: RBTree::new(),
                live: 0,
                state: StatePool::new(),
            }, "kcompletion_registry"),
        })
    }

    /// Creates the object `name`, or with `exclusive == false` opens it if it exists (which
    /// needs read and write permission). Returns the object and whether it is new.
    pub(crate) fn create(
        self: &Arc<Self>,
        name: &Name,
        mode: u16,
        exclusive: bool,
    ) -> Result<(Handle, bool)> {
        let mut discard: Option<Arc<Object>> = None;
        let result = self.create_locked(name, mode, exclusive, &mut discard);
        // `discard` (a failed new object) is given back here, after the mutex is released.
        if let Some(obj) = discard {
            self.put(obj);
        }
        result.map(|(obj, new)| (Handle::new(self, obj), new))
    }

    fn create_locked(
        &self,
        name: &Name,
        mode: u16,
        exclusive: bool,
        discard: &mut Option<Arc<Object>>,
    ) -> Result<(Arc<Object>, bool)> {
        let reservation = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut t = self.tables.lock();
        match permitted(&t.names, name, true, true) {
            Err(e) if e == ENOENT => {}
            _ if exclusive => return Err(EEXIST),
            found => return found.map(|obj| (obj.clone(), false)),
        }
        self.new_object(&mut t, reservation, *name, mode, discard)?;
        t.names.reserve_one()?;
        let obj = discard.take().ok_or(ENOENT)?;
        obj.set_linked(true);
        t.names.insert(obj.clone());
        Ok((obj, true))
    }

    /// Creates an anonymous object: charged to the caller and given an id like a named one,
    /// but never in the name table (only its references keep it alive).
    pub(crate) fn create_anonymous(self: &Arc<Self>) -> Result<Handle> {
        let mut discard: Option<Arc<Object>> = None;
        let result = RBTreeNodeReservation::new(GFP_KERNEL).and_then(|reservation| {
            let mut t = self.tables.lock();
            self.new_object(&mut t, reservation, Name::anonymous(), 0o600, &mut discard)?;
            discard.take().ok_or(ENOENT)
        });
        // As in `create`: a failed new object is given back after the mutex is released.
        if let Some(obj) = discard {
            self.put(obj);
        }
        result.map(|obj| Handle::new(self, obj))
    }

    /// Makes a new object owned by the caller, within the global and per-user limits,
    /// charges it and gives it an id. It is left in `discard`, so that on a later failure it
    /// is given back (and uncharged by its release) only after the mutex behind `t` is released.
    fn new_object(
        &self,
        t: &mut Tables,
        reservation: RBTreeNodeReservation<u32, u32>,
        name: Name,
        mode: u16,
        discard: &mut Option<Arc<Object>>,
    ) -> Result {
        // SAFETY: Reading the current task's credentials is always valid in process context.
        let (uid, gid) = unsafe {
            (
                ffi::kcompletion_current_fsuid(),
                ffi::kcompletion_current_fsgid(),
            )
        };
        // SAFETY: Reading module parameters is always valid.
        let (max_objects, max_per_user) = unsafe {
            (
                ffi::kcompletion_param_max_objects(),
                ffi::kcompletion_param_max_per_user(),
            )
        };
        if t.live >= max_objects {
            return Err(ENOSPC);
        }
        if t.quotas.get(&uid).copied().unwrap_or(0) >= max_per_user {
            return Err(Error::from_errno(-(bindings::EDQUOT as i32)));
        }
        let obj = Arc::pin_init(Object::new(name, uid, gid, mode), GFP_KERNEL_ACCOUNT)?;
        // From here on the object is charged, and its release uncharges it.
        t.charge(uid, reservation);
        let obj = discard.insert(obj);
        let id = self
            .ids
            .alloc(ptr::from_ref::<Object>(obj).cast(), u32::MAX)?;
        obj.set_id(id);
        Ok(())
    }

    /// Opens the object `name` for the given access.
    pub(crate) fn open(self: &Arc<Self>, name: &Name, read: bool, write: bool) -> Result<Handle> {
        let obj = {
            let t = self.tables.lock();
            permitted(&t.names, name, read, write)?.clone()
        };
        Ok(Handle::new(self, obj))
    }

    /// Removes `name`; its object lives on while referenced. Needs write permission.
    pub(crate) fn unlink(&self, name: &Name) -> Result {
        let removed = {
            let mut t = self.tables.lock();
            permitted(&t.names, name, false, true)?;
            t.names.remove(name)
        };
        if let Some(obj) = removed {
            obj.set_linked(false);
            self.put(obj);
        }
        Ok(())
    }

    /// Revokes `obj` (`KC_IOC_REVOKE`; the caller checked write access): removes its name if
    /// the name still names it, then kills it (`Object::revoke`). `EIDRM` if it was revoked
    /// already. Its memory stays until the last handle goes, as for any unlinked object.
    pub(crate) fn revoke(&self, obj: &Object) -> Result {
        let removed = {
            let mut t = self.tables.lock();
            match t.names.get(obj.name()) {
                Some(named) if ptr::eq::<Object>(&**named, obj) => t.names.remove(obj.name()),
                _ => None,
            }
        };
        if let Some(named) = removed {
            named.set_linked(false);
            self.put(named);
        }
        if obj.revoke() {
            Ok(())
        } else {
            Err(crate::completion::eidrm())
        }
    }

    /// Gives back a reference to an object; the last one releases the object (see
    /// [`Registry::release`]) before its memory goes. Never called with the mutex held.
    pub(crate) fn put(&self, obj: Arc<Object>) {
        if let Some(last) = Arc::into_unique_or_drop(obj) {
            self.release(&last);
        }
    }

    /// Releases an object nobody references any more: removes its id and uncharges its
    /// owner. Its memory is valid until after this returns, so walks under the mutex may
    /// still read it.
    fn release(&self, obj: &Object) {
        let mut t = self.tables.lock();
        if obj.id() != 0 {
            self.ids.erase(obj.id());
        }
        if let Some(slot) = obj.state_slot() {
            t.state.give_back(slot);
        }
        obj.set_released();
        t.uncharge(obj.owner_uid());
    }

    /// The state slot of `obj`, given to it now if it has none (`ENOSPC`, `ENOMEM`).
    pub(crate) fn state_slot(&self, obj: &Object) -> Result<SlotNo> {
        let mut t = self.tables.lock();
        if let Some(slot) = obj.state_slot() {
            return Ok(slot);
        }
        let slot = t.state.take(obj.state_class())?;
        obj.attach_state(slot);
        Ok(slot)
    }

    /// Runs `f` on the state page that holds `obj`'s slot (given now if it has none), with
    /// the mutex held so that the page stays (to map it).
    pub(crate) fn with_state_page<R>(
        &self,
        obj: &Object,
        f: impl FnOnce(&kernel::page::Page) -> Result<R>,
    ) -> Result<R> {
        let mut t = self.tables.lock();
        let slot = match obj.state_slot() {
            Some(slot) => slot,
            None => {
                let slot = t.state.take(obj.state_class())?;
                obj.attach_state(slot);
                slot
            }
        };
        let page = t.state.page(slot).ok_or(ENOENT)?;
        f(page)
    }
    /// Snapshots up to `max` objects with id at least `cursor` into `out`, named ones only
    /// unless `all`. Returns the cursor to continue from.
    pub(crate) fn list(
        &self,
        mut cursor: u32,
        max: usize,
        all: bool,
        out: &mut KVec<Snapshot>,
    ) -> Result<u32> {
        let _t = self.tables.lock();
        while out.len() < max {
            let Some((id, entry)) = self.ids.find_from(cursor) else {
                break;
            };
            // SAFETY: Entries are live objects: an object erases its id under the mutex we
            // hold before its memory is freed.
            let obj = unsafe { &*entry.cast::<Object>() };
            let snap = obj.snapshot();
            if all || snap.linked {
                out.push(snap, GFP_KERNEL)?;
            }
            if id == u32::MAX {
                cursor = id;
                break;
            }
            cursor = id + 1;
        }
        Ok(cursor)
    }

    /// A snapshot of the object with id `id`, if it is alive.
    pub(crate) fn snapshot_of(&self, id: u32) -> Option<Snapshot> {
        let _t = self.tables.lock();
        let entry = self.ids.load(id);
        if entry.is_null() {
            return None;
        }
        // SAFETY: As in `list`.
        Some(unsafe { &*entry.cast::<Object>() }.snapshot())
    }

    /// The smallest live id at least `from`.
    pub(crate) fn next_id(&self, from: u32) -> Option<u32> {
        self.ids.find_from(from).map(|(id, _)| id)
    }

    /// Number of named objects.
    #[allow(dead_code)]
    pub(crate) fn named(&self) -> usize {
        self.tables.lock().names.len()
    }
}

#[pinned_drop]
impl PinnedDrop for Registry {
    /// The module and every handle are gone: give back the named objects (their last
    /// references) before the tables go.
    fn drop(self: Pin<&mut Self>) {
        let all = self.tables.lock().names.take_all();
        for obj in all.into_iter().flatten() {
            obj.set_linked(false);
            self.put(obj);
        }
    }
}

/// The object named `name`, if the caller may use it for `read` / `write`: else `ENOENT`
/// (no such name) or `EACCES`.
fn permitted<'a>(
    names: &'a NameTable,
    name: &Name,
    read: bool,
    write: bool,
) -> Result<&'a Arc<Object>> {
    let obj = names.get(name).ok_or(ENOENT)?;
    if !obj.permits(read, write) {
        return Err(EACCES);
    }
    Ok(obj)
}
