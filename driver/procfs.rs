// SPDX-License-Identifier: GPL-2.0
//! `/proc/kcompletion`: one line per live object (named, unlinked or anonymous).
//!
//! The seq_file position is the next object id to show (0 is the header line); each line
//! takes the registry mutex for its own snapshot only, so no lock is held between calls. The
//! entry's data is the module's registry (a reference the [`Registration`] holds).

use crate::abi::KcInfo;
use crate::abi::KC_DONE_ALL;
use crate::ffi;
use crate::registry::Registry;
use core::fmt::Write;
use core::ptr;
use kernel::bindings;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Iterator tokens: 1 is the header line (the kernel's `SEQ_START_TOKEN` convention); an
/// object is its id shifted left, so tokens are never null, never odd and never look like
/// `ERR_PTR` values.
// Not `ptr::without_provenance_mut(1)`: const only since Rust 1.84, above 6.12's minimum (1.78).
#[allow(clippy::manual_dangling_ptr)]
const HEADER: *mut c_void = 1 as *mut c_void;

fn token(id: u32) -> *mut c_void {
    ((id as usize) << 1) as *mut c_void
}

fn id_of(token: *mut c_void) -> u32 {
    ((token as usize) >> 1) as u32
}

/// The registry of the entry `m` shows.
///
/// # Safety
///
/// `m` is a live seq_file of the entry `register` made.
unsafe fn registry_of<'a>(m: *mut bindings::seq_file) -> &'a Registry {
    // SAFETY: Per the contract, the entry's data is the registry the `Registration` holds a
    // reference to, and the entry (so any seq_file of it) goes before that reference.
    unsafe { &*ffi::kcompletion_proc_data(m).cast::<Registry>() }
}

fn find(registry: &Registry, from: i64, pos: *mut bindings::loff_t) -> *mut c_void {
    let found = u32::try_from(from)
        .ok()
        .and_then(|from| registry.next_id(from));
    // SAFETY: `pos` is the seq_file position the caller passed us.
    unsafe { *pos = found.map_or(i64::from(u32::MAX) + 1, i64::from) };
    found.map_or(core::ptr::null_mut(), token)
}

/// seq_file `start`: the header token at position 0, else the first live id at `*pos`.
///
/// # Safety
///
/// Called by the seq_file core only, with `pos` valid for reading and writing.
unsafe extern "C" fn start(m: *mut bindings::seq_file, pos: *mut bindings::loff_t) -> *mut c_void {
    // SAFETY: seq_file passes a valid position.
    let from = unsafe { *pos };
    if from == 0 {
        HEADER
    } else {
        // SAFETY: seq_file passes its live seq_file.
        find(unsafe { registry_of(m) }, from, pos)
    }
}

/// seq_file `next`: the next live id after the record `v`.
///
/// # Safety
///
/// Called by the seq_file core only, with `v` a token from `start`/`next` and `pos` valid
/// for writing.
unsafe extern "C" fn next(
    m: *mut bindings::seq_file,
    v: *mut c_void,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    let from = if v == HEADER {
        1
    } else {
        i64::from(id_of(v)) + 1
    };
    // SAFETY: seq_file passes its live seq_file.
    find(unsafe { registry_of(m) }, from, pos)
}

/// seq_file `stop`: nothing to release (tokens are ids, not references).
///
/// # Safety
///
/// Called by the seq_file core only.
unsafe extern "C" fn stop(_m: *mut bindings::seq_file, _v: *mut c_void) {}

/// A line buffer for one record (a name is at most 63 bytes, so 192 is plenty).
struct Line {
    buf: [u8; 192],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// seq_file `show`: one line for the header token or the object with id `v`.
///
/// # Safety
///
/// Called by the seq_file core only, with `m` its live seq_file and `v` a token from
/// `start`/`next`.
unsafe extern "C" fn show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    let mut line = Line {
        buf: [0; 192],
        len: 0,
    };
    let written = if v == HEADER {
        writeln!(
            line,
            "id\tdone\twaiters\thandles\tuid\tgid\tmode\tlinked\tname"
        )
    } else {
        // SAFETY: seq_file passes its live seq_file.
        let Some(snap) = unsafe { registry_of(m) }.snapshot_of(id_of(v)) else {
            return 0;
        };
        let info = KcInfo::from(&snap);
        let name = core::str::from_utf8(&info.name[..info.name_len as usize]).unwrap_or("?");
        let done_all;
        let done: &dyn core::fmt::Display = if info.done == KC_DONE_ALL {
            &"all"
        } else {
            done_all = info.done;
            &done_all
        };
        writeln!(
            line,
            "{}\t{}\t{}\t{}\t{}\t{}\t{:04o}\t{}\t{}",
            info.id,
            done,
            info.waiters,
            info.handles,
            info.uid,
            info.gid,
            info.mode,
            if snap.linked { "yes" } else { "no" },
            if name.is_empty() { "-" } else { name },
        )
    };
    if written.is_err() {
        return -(bindings::EOVERFLOW as c_int);
    }
    // SAFETY: `m` is the seq_file being shown; `line.buf` holds `line.len` valid bytes.
    // Like `seq_printf`, ignore the result: on overflow seq_file retries with a larger buffer,
    // while a negative return from `show` would end the read with an error.
    unsafe { bindings::seq_write(m, line.buf.as_ptr().cast(), line.len) };
    0
}

static SEQ_OPS: bindings::seq_operations = bindings::seq_operations {
    start: Some(start),
    next: Some(next),
    stop: Some(stop),
    show: Some(show),
};

/// Creates `/proc/kcompletion`, showing `registry`.
pub(crate) fn register(registry: Arc<Registry>) -> Result<Registration> {
    let data = ptr::from_ref::<Registry>(&registry).cast();
    // SAFETY: `SEQ_OPS` is a static, so it outlives the proc entry; `data` stays valid while the
    // `Registration` holds `registry`, and the entry is removed before it lets go.
    to_result(unsafe { ffi::kcompletion_proc_register(&SEQ_OPS, data) })?;
    Ok(Registration {
        _registry: registry,
    })
}

/// `/proc/kcompletion`, removed on drop (before the registry reference goes).
pub(crate) struct Registration {
    _registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: The entry was registered (this value exists only then), and is removed once;
        // `remove_proc_entry` waits for readers, so none is left afterwards.
        unsafe { ffi::kcompletion_proc_unregister() };
    }
}
