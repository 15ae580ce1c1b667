// SPDX-License-Identifier: GPL-2.0
//! The name index: a keyed hash table with open addressing.
//!
//! Why not a second XArray keyed by the name's hash, or an rbtree? An XArray indexed by a
//! 32- or 64-bit hash is sparse: at a million names nearly every entry sits alone in its own
//! chain of 576-byte nodes, about 1.7 KiB per object, ten times the object itself. An rbtree is
//! compact but lookups cost O(log n) name comparisons (20 at a million objects, each a likely
//! cache miss). Linear probing over one flat array of pointers, kept at most half full, costs
//! 16 to 32 bytes per object and about 1.5 probes per lookup at any size, so lookup stays flat
//! from a thousand to a million objects. Growing rehashes everything once per doubling
//! (amortised O(1)). Deletion shifts later entries back (no tombstones), so a table that saw
//! many deletions stays as fast as a fresh one. The hash is SipHash with a random key, so
//! users cannot pick colliding names.
//!
//! The table is only touched under the registry mutex: name operations (create, open, unlink)
//! take it, the per-object hot path (complete, wait, poll) never does.

use crate::name::Name;
use crate::object::Object;
use crate::siphash::{siphash, SipKey};
use kernel::alloc::{flags::GFP_KERNEL_ACCOUNT, KVVec};
use kernel::prelude::*;
use kernel::sync::Arc;

const MIN_SLOTS: usize = 64;

/// Named objects by name. Holds a strong reference on each object it contains.
pub(crate) struct NameTable {
    slots: KVVec<Option<Arc<Object>>>,
    len: usize,
    key: SipKey,
}

impl NameTable {
    /// An empty table; the slot array is allocated on the first insertion.
    pub(crate) fn new(key: SipKey) -> Self {
        NameTable {
            slots: KVVec::new(),
            len: 0,
            key,
        }
    }

    /// Number of names in the table.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn home(&self, name: &Name) -> usize {
        (siphash(&self.key, name.as_bytes()) as usize) & (self.slots.len() - 1)
    }

    fn position(&self, name: &Name) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(name);
        loop {
            match &self.slots[i] {
                None => return None,
                Some(obj) if obj.name() == name => return Some(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// The object called `name`, if any.
    pub(crate) fn get(&self, name: &Name) -> Option<&Arc<Object>> {
        self.position(name).and_then(|i| self.slots[i].as_ref())
    }

    /// Makes room for one more name, growing the slot array if it would be over half full.
    pub(crate) fn reserve_one(&mut self) -> Result {
        if (self.len + 1) * 2 <= self.slots.len() {
            return Ok(());
        }
        let new_len = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = core::mem::replace(
            &mut self.slots,
            KVVec::from_elem(None, new_len, GFP_KERNEL_ACCOUNT)?,
        );
        for obj in old.into_iter().flatten() {
            self.place(obj);
        }
        Ok(())
    }

    fn place(&mut self, obj: Arc<Object>) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(obj.name());
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some(obj);
    }

    /// Inserts an object whose name is not in the table. The caller has called
    /// [`Self::reserve_one`] since the last insertion, so this cannot fail.
    pub(crate) fn insert(&mut self, obj: Arc<Object>) {
        debug_assert!((self.len + 1) * 2 <= self.slots.len());
        self.place(obj);
        self.len += 1;
    }

    /// Removes `name` and returns the table's reference to its object.
    pub(crate) fn remove(&mut self, name: &Name) -> Option<Arc<Object>> {
        let mut hole = self.position(name)?;
        let removed = self.slots[hole].take();
        self.len -= 1;
        // Backward-shift deletion: pull back every later entry of the probe run whose home
        // slot does not lie cyclically in (hole, j], so no lookup ever stops at the new hole.
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let home = match &self.slots[j] {
                None => break,
                Some(obj) => self.home(obj.name()),
            };
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
        removed
    }

    /// Takes every object out of the table (module unload).
    pub(crate) fn take_all(&mut self) -> KVVec<Option<Arc<Object>>> {
        self.len = 0;
        // Not `mem::take`: 6.12's `KVVec` has no `Default`.
        #[allow(clippy::mem_replace_with_default)]
        core::mem::replace(&mut self.slots, KVVec::new())
    }
}
