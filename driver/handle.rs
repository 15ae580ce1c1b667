// SPDX-License-Identifier: GPL-2.0
//! A handle: one counted reference to an object, held outside the registry (by an object fd,
//! a kernel Lua userdata, a kernel user of [`api`](crate::api)).
//!
//! A handle knows its registry, so the last one to go gives the object back to it (id, quota)
//! with no global: objects carry no pointer to their registry (an object is one 128-byte
//! slab allocation, and P4's target is under 192 bytes an object; an 8-byte back pointer would
//! move every object into the 192-byte slab). Besides handles, only the registry's name table
//! holds objects, and it gives them back the same way ([`Registry::put`]).

use crate::object::Object;
use crate::registry::Registry;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::Deref;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A counted reference to an object; dropping the last one releases the object.
pub struct Handle {
    registry: Arc<Registry>,
    object: ManuallyDrop<Arc<Object>>,
}

impl Handle {
    /// Wraps a reference the registry took; only the registry makes handles.
    pub(crate) fn new(registry: &Arc<Registry>, object: Arc<Object>) -> Handle {
        Handle {
            registry: registry.clone(),
            object: ManuallyDrop::new(object),
        }
    }

    /// The registry the object belongs to.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Whether two handles are to the same object.
    pub fn same_object(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.object, &other.object)
    }
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(&self.registry, Arc::clone(&self.object))
    }
}

impl Deref for Handle {
    type Target = Object;

    fn deref(&self) -> &Object {
        &self.object
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `object` is taken exactly once, here, and never used again.
        let object = unsafe { ManuallyDrop::take(&mut self.object) };
        self.registry.put(object);
    }
}

/// Room for a handle to be handed to C (a file's `private_data`, a Lua userdata), allocated
/// before the object is created or looked up, so that nothing can fail once it is.
pub(crate) struct ForeignSlot(KBox<MaybeUninit<Handle>>);

impl ForeignSlot {
    pub(crate) fn new() -> Result<ForeignSlot> {
        Ok(ForeignSlot(KBox::new_uninit(GFP_KERNEL)?))
    }

    /// Puts `handle` in the slot and gives up ownership to C: one opaque pointer, which
    /// [`Handle::borrow_foreign`] reads and [`Handle::from_foreign`] takes back.
    pub(crate) fn fill(self, handle: Handle) -> *const c_void {
        KBox::into_raw(self.0.write(handle)).cast_const().cast()
    }
}

impl Handle {
    /// The handle behind a pointer from [`ForeignSlot::fill`].
    ///
    /// # Safety
    ///
    /// `ptr` came from [`ForeignSlot::fill`] and is not given back (by
    /// [`Handle::from_foreign`]) before `'a` ends.
    pub(crate) unsafe fn borrow_foreign<'a>(ptr: *const c_void) -> &'a Handle {
        // SAFETY: Per the contract, `ptr` points at a live boxed handle for `'a`.
        unsafe { &*ptr.cast::<Handle>() }
    }

    /// Takes back the handle of a pointer from [`ForeignSlot::fill`].
    ///
    /// # Safety
    ///
    /// `ptr` came from [`ForeignSlot::fill`], is given back once, and is not borrowed any more.
    pub(crate) unsafe fn from_foreign(ptr: *const c_void) -> Handle {
        // SAFETY: Per the contract, `ptr` is the box `fill` leaked, given back once.
        KBox::into_inner(unsafe { KBox::from_raw(ptr.cast_mut().cast::<Handle>()) })
    }
}
