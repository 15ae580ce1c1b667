// SPDX-License-Identifier: GPL-2.0
//! A file looked up by its fd for the length of one call: upstream's
//! `kernel::fs::file::LocalFile` (Linux 6.13 and later), which 6.12's `kernel` crate lacks.
//! Same names and shape, only what the driver uses, so `compat.rs` can swap in upstream's on
//! newer kernels.

use crate::compat::ARef;
use crate::ffi;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::code::EBADF;
use kernel::error::Error;
use kernel::types::{AlwaysRefCounted, Opaque};

/// A reference-counted `struct file` that may not leave the task that looked it up
/// (upstream's reasons: `fdget_pos` assumptions; here, simply never needed elsewhere).
#[repr(transparent)]
pub(crate) struct LocalFile {
    inner: Opaque<bindings::file>,
}

/// `fget` found no open file at that fd.
pub(crate) struct BadFdError;

impl From<BadFdError> for Error {
    fn from(_: BadFdError) -> Error {
        EBADF
    }
}

// SAFETY: The file's refcount keeps it alive; `get_file` and `fput` are its increment and
// decrement, and `fput` frees it on the last one.
unsafe impl AlwaysRefCounted for LocalFile {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means the refcount is not zero.
        unsafe { ffi::kcompletion_get_file(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<LocalFile>) {
        // SAFETY: Per the trait's contract, the caller owns one reference; `LocalFile` is
        // `repr(transparent)` over the C `struct file`.
        unsafe { ffi::fput(obj.cast().as_ptr()) }
    }
}

impl LocalFile {
    /// The file open at `fd` in the current task's table, with a reference taken.
    pub(crate) fn fget(fd: u32) -> Result<ARef<LocalFile>, BadFdError> {
        // SAFETY: `fget` may be called with any fd number from process context.
        let ptr = NonNull::new(unsafe { ffi::fget(fd) }).ok_or(BadFdError)?;
        // SAFETY: `fget` took the reference the `ARef` owns from now on; `LocalFile` is
        // `repr(transparent)` over `struct file`.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }

    /// The C `struct file`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.inner.get()
    }
}
