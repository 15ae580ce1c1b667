// SPDX-License-Identifier: GPL-2.0
//! The kernel-side API: the registry userspace sees, for code inside the kernel (the Lua
//! runtime, tests, a driver of your own built into this module). Permissions are checked
//! against the calling task, as for userspace; each function returns a [`Handle`], whose
//! methods (`complete`, `complete_all`, `wait_until`, `complete_and_wait`, `try_wait`, `done`,
//! `reinit`) are the
//! same operations as the object ioctls, and which gives the object back when dropped.
//!
//! Every function takes the module's [`Registry`]: kernel users get it from whoever started
//! them (module init, a script's VM), never from a global.

use crate::abi::{KC_NAME_MAX, KC_WAIT_MANY_MAX};
use crate::name::Name;
use crate::object::{Deadline, Object};
use crate::registry::Registry;
use crate::wait_many::Member;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::code::EINVAL;
use kernel::prelude::*;
use kernel::sync::Arc;

pub use crate::handle::Handle;
pub use crate::wait_many::Mode;

/// Creates a named completion (`exclusive`: fail with `EEXIST` if it exists, else open
/// it). `mode` is a permission mask like `0o600`.
pub fn create(registry: &Arc<Registry>, name: &[u8], mode: u16, exclusive: bool) -> Result<Handle> {
    if mode > 0o777 {
        return Err(EINVAL);
    }
    Ok(registry.create(&Name::new(name)?, mode, exclusive)?.0)
}

/// Opens an existing named completion for reading and writing.
pub fn open(registry: &Arc<Registry>, name: &[u8]) -> Result<Handle> {
    registry.open(&Name::new(name)?, true, true)
}

/// Creates an anonymous completion (Lunatik's `completion.new()`): registered and
/// charged like a named one, reachable only through the returned handle.
pub fn create_anonymous(registry: &Arc<Registry>) -> Result<Handle> {
    registry.create_anonymous()
}

/// Removes a name; handles to its object keep working.
pub fn unlink(registry: &Registry, name: &[u8]) -> Result {
    registry.unlink(&Name::new(name)?)
}

/// Waits for any one (`Mode::Any`: returns its index) or all (`Mode::All`: returns 0) of
/// `objects`, as `KC_IOC_WAIT_MANY` does without an alert: at most 128 objects, no duplicates
/// in a wait-all (`EINVAL`); `ETIMEDOUT`, `EINTR` (also when `interrupted()` says stop) and
/// `EIDRM` (a revoked object) consume nothing. Process context, no spinlock held.
pub fn wait_many(
    objects: &[&Object],
    deadline: Deadline,
    mode: Mode,
    interrupted: impl Fn() -> bool,
) -> Result<usize> {
    if objects.is_empty() || objects.len() > KC_WAIT_MANY_MAX as usize {
        return Err(EINVAL);
    }
    if mode == Mode::All {
        for (i, a) in objects.iter().enumerate() {
            if objects[..i].iter().any(|b| core::ptr::eq(*a, *b)) {
                return Err(EINVAL);
            }
        }
    }
    let mut members = KVec::with_capacity(objects.len(), GFP_KERNEL)?;
    for obj in objects {
        members.push(
            Member {
                completion: obj,
                mirror: obj.mirror(),
            },
            GFP_KERNEL,
        )?;
    }
    crate::wait_many::wait_many(&members, None, mode, deadline, interrupted)
}

/// Longest name accepted.
pub const NAME_MAX: usize = KC_NAME_MAX;
