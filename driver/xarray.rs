// SPDX-License-Identifier: GPL-2.0
//! A minimal safe wrapper over the kernel's allocating XArray (6.12 has no `kernel::xarray`).
//!
//! It maps ids to raw pointers and never dereferences them: the registry decides what the
//! pointers mean and when they may be used.

use crate::ffi;
use core::marker::PhantomPinned;
use kernel::bindings;
use kernel::error::code::ENOSPC;
use kernel::error::to_result;
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::types::Opaque;

/// `XA_PRESENT` from `<linux/xarray.h>` (a cast macro bindgen does not export).
const XA_PRESENT: u32 = 8;

/// An XArray with `XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT`: ids start at 1.
#[pin_data(PinnedDrop)]
pub(crate) struct XArray {
    #[pin]
    xa: Opaque<bindings::xarray>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The XArray has its own internal lock and is designed for concurrent use.
unsafe impl Send for XArray {}
// SAFETY: See `Send`.
unsafe impl Sync for XArray {}

impl XArray {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writing during the call.
            xa <- Opaque::ffi_init(|slot| unsafe { ffi::kcompletion_xa_init(slot) }),
            _pin: PhantomPinned,
        })
    }

    /// Stores `entry` at a free id in `1..=max`; `ENOSPC` if there is none.
    pub(crate) fn alloc(&self, entry: *const c_void, max: u32) -> Result<u32> {
        let mut id = 0u32;
        // SAFETY: The XArray is initialised; `entry` is a 4-byte aligned pointer (never an
        // XArray internal value); `id` is valid for writing.
        let ret =
            unsafe { ffi::kcompletion_xa_alloc(self.xa.get(), &mut id, entry.cast_mut(), max) };
        if ret == -(bindings::EBUSY as i32) {
            return Err(ENOSPC);
        }
        to_result(ret)?;
        Ok(id)
    }

    /// Removes the entry at `id`, if any.
    pub(crate) fn erase(&self, id: u32) {
        // SAFETY: The XArray is initialised; `xa_erase` takes its lock itself.
        unsafe { bindings::xa_erase(self.xa.get(), id as usize) };
    }

    /// The entry at `id`, or null.
    pub(crate) fn load(&self, id: u32) -> *mut c_void {
        // SAFETY: The XArray is initialised; `xa_load` takes the RCU read lock itself.
        unsafe { bindings::xa_load(self.xa.get(), id as usize) }
    }

    /// The first entry with an id at least `from`, and that id.
    pub(crate) fn find_from(&self, from: u32) -> Option<(u32, *mut c_void)> {
        let mut index = from as usize;
        // SAFETY: The XArray is initialised; `index` is valid for reading and writing.
        let entry =
            unsafe { bindings::xa_find(self.xa.get(), &mut index, u32::MAX as usize, XA_PRESENT) };
        if entry.is_null() {
            None
        } else {
            Some((index as u32, entry))
        }
    }
}

#[pinned_drop]
impl PinnedDrop for XArray {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The XArray is initialised and nobody else can reach it any more; the
        // entries are not owned by it, so freeing only its nodes leaks nothing.
        unsafe { bindings::xa_destroy(self.xa.get()) };
    }
}
