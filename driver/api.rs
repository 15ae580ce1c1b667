// SPDX-License-Identifier: GPL-2.0
//! The kernel-side API: the registry userspace sees, for code inside the kernel (the Lua
//! runtime, tests, a driver of your own built into this module). Permissions are checked
//! against the calling task, as for userspace; each function returns an [`Arc<Object>`]
//! whose methods (`complete`, `complete_all`, `wait_until`, `try_wait`, `done`, `reinit`) are
//! the same operations as the object ioctls.

use crate::abi::KC_NAME_MAX;
use crate::name::Name;
use crate::object::Object;
use crate::registry::registry;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Creates a named completion (`exclusive`: fail with `EEXIST` if it exists, else open
/// it). `mode` is a permission mask like `0o600`.
pub fn create(name: &[u8], mode: u16, exclusive: bool) -> Result<Arc<Object>> {
    if mode > 0o777 {
        return Err(kernel::error::code::EINVAL);
    }
    Ok(registry().create(&Name::new(name)?, mode, exclusive)?.0)
}

/// Opens an existing named completion for reading and writing.
pub fn open(name: &[u8]) -> Result<Arc<Object>> {
    registry().open(&Name::new(name)?, true, true)
}

/// Creates an anonymous completion (Lunatik's `completion.new()`): registered and
/// charged like a named one, reachable only through the returned reference.
pub fn create_anonymous() -> Result<Arc<Object>> {
    registry().create_anonymous()
}

/// Removes a name; handles to its object keep working.
pub fn unlink(name: &[u8]) -> Result {
    registry().unlink(&Name::new(name)?)
}

/// Longest name accepted.
pub const NAME_MAX: usize = KC_NAME_MAX;
