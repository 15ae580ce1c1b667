// SPDX-License-Identifier: GPL-2.0
//! A virtual memory area being set up by `mmap`, for Linux 6.12, whose `kernel` crate has no
//! mm abstractions. The subset of upstream's `kernel::mm::virt` (7.x) that the state pages
//! use, in the same shape (`VmaNew`, `VmaMixedMap`, `flags`), so that `compat.rs` can swap in
//! upstream's on 7.x with no change to the callers.

use core::ops::Deref;
use kernel::bindings;
use kernel::error::to_result;
use kernel::page::Page;
use kernel::prelude::*;
use kernel::types::Opaque;

/// `vm_flags_t` and the `VM_*` bits the driver uses.
pub(crate) mod flags {
    use kernel::bindings;

    pub(crate) type VmFlags = bindings::vm_flags_t;
    pub(crate) const WRITE: VmFlags = bindings::VM_WRITE as VmFlags;
    pub(crate) const EXEC: VmFlags = bindings::VM_EXEC as VmFlags;
    pub(crate) const MAYWRITE: VmFlags = bindings::VM_MAYWRITE as VmFlags;
    pub(crate) const MAYEXEC: VmFlags = bindings::VM_MAYEXEC as VmFlags;
    pub(crate) const DONTEXPAND: VmFlags = bindings::VM_DONTEXPAND as VmFlags;
    pub(crate) const MIXEDMAP: VmFlags = bindings::VM_MIXEDMAP as VmFlags;
}

/// A virtual memory area, as upstream's `VmaRef`.
///
/// # Invariants
///
/// The caller of `from_raw` keeps the vma valid (and its mmap lock held as required) for as
/// long as the reference lives.
#[repr(transparent)]
pub(crate) struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// The raw vma.
    pub(crate) fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// The vma's flags.
    pub(crate) fn flags(&self) -> flags::VmFlags {
        // SAFETY: By the type invariants the vma is valid; its flags may be read while the
        // caller holds the mmap lock.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.vm_flags }
    }

    /// The first address of the vma.
    pub(crate) fn start(&self) -> usize {
        // SAFETY: By the type invariants the vma is valid.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// The address just past the vma.
    pub(crate) fn end(&self) -> usize {
        // SAFETY: By the type invariants the vma is valid.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }
}

/// A vma with `VM_MIXEDMAP` set, into which pages may be inserted, as upstream's.
#[repr(transparent)]
pub(crate) struct VmaMixedMap {
    vma: VmaRef,
}

impl Deref for VmaMixedMap {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaMixedMap {
    /// Maps `page` at `address` (`vm_insert_page`; the vma takes its own page reference).
    pub(crate) fn vm_insert_page(&self, address: usize, page: &Page) -> Result {
        // SAFETY: The vma is valid and `VM_MIXEDMAP` (this type's invariant); `page` is a
        // valid order-0 page; `vm_insert_page` checks the address against the vma.
        to_result(unsafe { bindings::vm_insert_page(self.as_ptr(), address as _, page.as_ptr()) })
    }
}

/// A vma in its initial setup (the `mmap` file operation), as upstream's `VmaNew`.
#[repr(transparent)]
pub(crate) struct VmaNew {
    vma: VmaRef,
}

impl Deref for VmaNew {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaNew {
    /// The vma `vma` during its initial setup.
    ///
    /// # Safety
    ///
    /// `vma` must be a vma undergoing setup in an `mmap` file operation for the duration of
    /// `'a` (not yet visible to anything else, its mm's lock held for writing).
    pub(crate) unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaNew` is a transparent wrapper of the vma; validity per the contract.
        unsafe { &*vma.cast() }
    }

    /// # Safety
    ///
    /// The flags must stay valid (no `VM_PFNMAP` with `VM_MIXEDMAP`, no cleared `MAY` bit of a
    /// set one).
    unsafe fn update_flags(&self, set: flags::VmFlags, unset: flags::VmFlags) {
        let f = (self.flags() | set) & !unset;
        // SAFETY: The vma is not yet shared (initial setup, per `from_raw`), so this is no
        // data race; the caller keeps the flags valid.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.__vm_flags = f };
    }

    /// Sets `VM_MIXEDMAP`: pages may be inserted.
    pub(crate) fn set_mixedmap(&self) -> &VmaMixedMap {
        // SAFETY: Nothing here sets `VM_PFNMAP`.
        unsafe { self.update_flags(flags::MIXEDMAP, 0) };
        // SAFETY: `VmaMixedMap` is a transparent wrapper; `VM_MIXEDMAP` is now set.
        unsafe { &*(self as *const VmaNew).cast::<VmaMixedMap>() }
    }

    /// Sets `VM_DONTEXPAND`: `mremap` cannot grow the vma.
    pub(crate) fn set_dontexpand(&self) {
        // SAFETY: Setting `VM_DONTEXPAND` is always valid.
        unsafe { self.update_flags(flags::DONTEXPAND, 0) };
    }

    /// Whether the mapping is writable (`VM_WRITE`).
    pub(crate) fn writable(&self) -> bool {
        self.flags() & flags::WRITE != 0
    }

    /// Clears `VM_MAYWRITE` (no `mprotect` to writable), failing if `VM_WRITE` is set.
    pub(crate) fn try_clear_maywrite(&self) -> Result {
        if self.writable() {
            return Err(EINVAL);
        }
        // SAFETY: Clearing `VM_MAYWRITE` is valid when `VM_WRITE` is not set.
        unsafe { self.update_flags(0, flags::MAYWRITE) };
        Ok(())
    }

    /// Whether the mapping is executable (`VM_EXEC`).
    pub(crate) fn executable(&self) -> bool {
        self.flags() & flags::EXEC != 0
    }

    /// Clears `VM_MAYEXEC`, failing if `VM_EXEC` is set.
    pub(crate) fn try_clear_mayexec(&self) -> Result {
        if self.executable() {
            return Err(EINVAL);
        }
        // SAFETY: Clearing `VM_MAYEXEC` is valid when `VM_EXEC` is not set.
        unsafe { self.update_flags(0, flags::MAYEXEC) };
        Ok(())
    }
}
