// SPDX-License-Identifier: GPL-2.0
//! Wait sets (`KC_IOC_WAIT_SET`): an fd naming a fixed set of objects and a mode (any or
//! all), so that a wait-all can sit in an event loop. `poll` registers on every member's wait
//! queue and says readable while the set's condition holds; `KC_IOC_WAIT` on the fd waits and
//! consumes as `KC_IOC_WAIT_MANY` does (`wait_many.rs`) and returns the index.
//!
//! A set owns one [`Handle`] per member, so its objects live as long as its fd; the member
//! fds it was made from may be closed. Its file (`kc_set_fops` in glue.c) owns the boxed set
//! through `private_data`, given back in `release`.

use crate::completion::{POLL_ERROR, POLL_HANGUP, POLL_READABLE};
use crate::ffi;
use crate::handle::Handle;
use crate::wait_many::{wait_many, Member, Mode};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code::ENOTTY;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::prelude::*;

/// A wait set: its members and mode.
pub(crate) struct WaitSet {
    members: KVec<Handle>,
    mode: Mode,
}

impl WaitSet {
    /// A set of `members` (1 to 128, checked by the caller, as are duplicates in a wait-all).
    pub(crate) fn new(members: KVec<Handle>, mode: Mode) -> WaitSet {
        WaitSet { members, mode }
    }

    /// Makes the set's fd (`O_CLOEXEC`, read-write), which owns the set from then on.
    pub(crate) fn into_fd(self) -> Result<c_long> {
        let raw = KBox::into_raw(KBox::new(self, GFP_KERNEL)?);
        // SAFETY: `raw` is a valid boxed set; on success the file owns it (given back in
        // `kcompletion_set_release`), on failure nothing took it.
        let fd = unsafe { ffi::kcompletion_set_file_create(raw.cast()) };
        if fd < 0 {
            // SAFETY: Not taken (see above): ours to free.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(Error::from_errno(fd));
        }
        Ok(fd as c_long)
    }

    /// The poll mask now: readable while any (all) members are done; an error and hang-up
    /// once a member is revoked.
    fn readiness(&self) -> u32 {
        let mut ready = 0;
        for m in self.members.iter() {
            let r = m.readiness();
            if r & POLL_ERROR != 0 {
                return POLL_ERROR | POLL_HANGUP;
            }
            ready += usize::from(r & POLL_READABLE != 0);
        }
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

    /// `KC_IOC_WAIT` on the set: the index consumed (any) or 0 (all).
    fn wait(&self, arg: c_ulong) -> Result<c_long> {
        let deadline = crate::file_ops::read_wait(arg)?;
        let mut members = KVec::with_capacity(self.members.len(), GFP_KERNEL)?;
        for h in self.members.iter() {
            members.push(
                Member {
                    completion: h,
                    mirror: h.mirror(),
                },
                GFP_KERNEL,
            )?;
        }
        let index = wait_many(&members, None, self.mode, deadline, || false)?;
        Ok(index as c_long)
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
        crate::abi::KC_IOC_WAIT => set.wait(arg),
        _ => Err(ENOTTY),
    };
    r.unwrap_or_else(|e| e.to_errno() as c_long)
}

/// `poll` of a wait set's fd: registers on every member's queue, then reports readiness.
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
    for m in set.members.iter() {
        // SAFETY: This poll call's arguments; each member's queue lives as long as the set
        // holds its object, which outlives any poll entry on it (removed by the poller before
        // the set's file is released).
        unsafe { ffi::kcompletion_poll_wait(file, m.queue(), pt) };
    }
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
    // SAFETY: The file is being released: nothing else uses its set, made by `into_fd`.
    drop(unsafe { KBox::from_raw((*file).private_data.cast::<WaitSet>()) });
    0
}
