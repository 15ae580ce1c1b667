// SPDX-License-Identifier: GPL-2.0
//! What the kernel side adds to the ABI of `uapi/abi.rs`: which of its structs may be copied
//! from and to userspace as plain bytes, and the records built from kernel state.

use crate::abi::*;
use crate::compat::{AsBytes, FromBytes};
use crate::ffi;
use crate::object::Snapshot;

// SAFETY (every impl below): these are `#[repr(C)]` structs of integers and byte arrays with
// no padding (explicit `reserved` fields), so every bit pattern is valid and no byte is
// uninitialised.

// SAFETY: See above.
unsafe impl FromBytes for KcName {}
// SAFETY: See above.
unsafe impl FromBytes for KcCreate {}
// SAFETY: See above.
unsafe impl FromBytes for KcOpen {}
// SAFETY: See above.
unsafe impl FromBytes for KcWait {}
// SAFETY: See above.
unsafe impl FromBytes for KcCompleteAndWait {}
// SAFETY: As above.
unsafe impl FromBytes for KcWaitMany {}
// SAFETY: As above (no padding: every field is explicit).
unsafe impl AsBytes for KcWaitMany {}
// SAFETY: As above.
unsafe impl FromBytes for KcWaitSet {}
// SAFETY: See above.
unsafe impl FromBytes for KcList {}
// SAFETY: See above.
unsafe impl AsBytes for KcVersion {}
// SAFETY: See above.
unsafe impl AsBytes for KcInfo {}
// SAFETY: See above.
unsafe impl AsBytes for KcMapInfo {}
// SAFETY: See above.
unsafe impl AsBytes for KcList {}
// SAFETY: See above.
unsafe impl FromBytes for KcRun {}
// SAFETY: See above.
unsafe impl AsBytes for KcRun {}
// SAFETY: See above.
unsafe impl FromBytes for KcScripts {}
// SAFETY: See above.
unsafe impl AsBytes for KcScripts {}
// SAFETY: See above.
unsafe impl AsBytes for KcScriptInfo {}

impl From<&Snapshot> for KcInfo {
    /// The `INFO` record of an object (ids translated into the caller's user namespace).
    fn from(s: &Snapshot) -> KcInfo {
        let mut info = KcInfo {
            id: s.id,
            done: s.done,
            waiters: s.waiters,
            handles: s.handles,
            // SAFETY: Id translation for the current task is always valid in process context.
            uid: unsafe { ffi::kcompletion_uid_to_user(s.owner_uid) },
            // SAFETY: As above.
            gid: unsafe { ffi::kcompletion_gid_to_user(s.owner_gid) },
            mode: u32::from(s.mode),
            flags: if s.linked { KC_INFO_LINKED } else { 0 },
            name_len: s.name.as_bytes().len() as u32,
            reserved: 0,
            name: [0; KC_NAME_MAX + 1],
        };
        info.name[..s.name.as_bytes().len()].copy_from_slice(s.name.as_bytes());
        info
    }
}
