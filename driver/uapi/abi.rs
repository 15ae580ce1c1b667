// SPDX-License-Identifier: GPL-2.0 OR MIT
// The ioctl ABI of /dev/kcompletion, shared verbatim by the driver (`#[path]`) and userspace
// (the `kcompletion-abi` crate). Dependency-free and `no_std`. Every struct is `#[repr(C)]`
// with explicit padding (`reserved` fields that must be zero) and no implicit holes, so the
// layout is identical for every compiler and nothing uninitialised crosses the boundary.
// `linux/kcompletion.h` beside it mirrors it for C; `tests/c_header.rs` checks they agree.

/// Version of this ABI, returned by [`KC_IOC_VERSION`]. Bumped on incompatible changes.
pub const KC_ABI_VERSION: u32 = 1;

/// The ioctl "type" byte of kcompletion (unused in `ioctl-number.rst`).
pub const KC_IOC_MAGIC: u32 = 0xC7;

/// Longest name in bytes. Names are 1 to 63 bytes of printable ASCII (0x21 to 0x7e).
pub const KC_NAME_MAX: usize = 63;

/// `done` reads this value after `COMPLETE_ALL`: every wait succeeds until `REINIT`.
pub const KC_DONE_ALL: u32 = u32::MAX;

/// `deadline_ns` of [`KcWait`] that means "wait forever".
pub const KC_DEADLINE_NEVER: u64 = u64::MAX;

/// [`KcCreate::flags`]: fail with `EEXIST` if the name already exists.
pub const KC_CREATE_EXCL: u32 = 1;
/// [`KcCreate::flags`]: create an anonymous object, reachable only through the returned fd
/// and the fds duplicated or passed from it (Lunatik's `completion.new()`; like `memfd` or
/// `O_TMPFILE`): `name` must be all zero, `mode` zero and [`KC_CREATE_EXCL`] clear. Its mode
/// reads `0600`, its owner is the caller, and it counts against the caller's limits.
pub const KC_CREATE_ANONYMOUS: u32 = 2;

/// [`KcOpen::access`]: may wait, try-wait, poll and query the object.
pub const KC_ACCESS_READ: u32 = 1;
/// [`KcOpen::access`]: may complete, complete-all and reinit the object.
pub const KC_ACCESS_WRITE: u32 = 2;

/// [`KcWait::flags`]: `deadline_ns` is on `CLOCK_REALTIME` instead of `CLOCK_MONOTONIC`.
pub const KC_WAIT_REALTIME: u32 = 1;

/// [`KcWaitMany::flags`]: wait until every object is ready at once and consume one from each
/// (without it: any one, the lowest ready index).
pub const KC_WAIT_ALL: u32 = 2;

/// Most objects in one [`KC_IOC_WAIT_MANY`] (the alert not counted).
pub const KC_WAIT_MANY_MAX: u32 = 128;

/// [`KcWaitMany::alert_fd`]: no alert object.
pub const KC_NO_ALERT: i32 = -1;

/// [`KcCompleteAndWait::flags`]: complete-all the first object instead of completing it once.
pub const KC_COMPLETE_AND_WAIT_ALL: u32 = 2;

/// [`KcInfo::flags`]: the object still has its name (it was not unlinked).
pub const KC_INFO_LINKED: u32 = 1;

/// Argument of [`KC_IOC_WAIT_MANY`]: waits for any (or with [`KC_WAIT_ALL`] all) of `count`
/// objects, given as object fds with read access.
///
/// Any: consumes one completion from one ready object, the lowest index when several are
/// ready, and sets `index` to it. All: consumes one from every object in one step, only when
/// all are ready at the same instant, never some of them; `index` is 0. An alert object that
/// becomes ready ends either wait: one of its completions is consumed and `index` is `count`.
/// `ETIMEDOUT` and `EINTR` consume nothing; `EIDRM` if an object (or the alert) is revoked.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcWaitMany {
    /// Absolute deadline in nanoseconds on `CLOCK_MONOTONIC` ([`KC_WAIT_REALTIME`]:
    /// `CLOCK_REALTIME`), or [`KC_DEADLINE_NEVER`]. A deadline in the past only looks.
    pub deadline_ns: u64,
    /// User address of `count` object fds (`i32` each).
    pub fds: u64,
    /// 1 to [`KC_WAIT_MANY_MAX`].
    pub count: u32,
    /// [`KC_WAIT_REALTIME`], [`KC_WAIT_ALL`].
    pub flags: u32,
    /// An object fd with read access whose completion ends the wait, or [`KC_NO_ALERT`].
    pub alert_fd: i32,
    /// Out: which object was consumed (see above). Ignored on input.
    pub index: u32,
    /// Must be zero.
    pub reserved: u64,
}

/// Argument of [`KC_IOC_WAIT_SET`]: a fixed set of `count` object fds (read access each) and
/// its mode. The ioctl returns a new `O_CLOEXEC` fd naming the set: `poll`/`epoll` report it
/// readable while the set's condition holds (any member done, or with [`KC_WAIT_ALL`] every
/// member), and [`KC_IOC_WAIT`] on it consumes as [`KC_IOC_WAIT_MANY`] does, returning the
/// index (any) or 0 (all). The set holds its objects: closing the member fds does not change it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcWaitSet {
    /// User address of `count` object fds (`i32` each).
    pub fds: u64,
    /// 1 to [`KC_WAIT_MANY_MAX`].
    pub count: u32,
    /// [`KC_WAIT_ALL`] or zero (any).
    pub flags: u32,
    /// Must be zero.
    pub reserved: u64,
}

/// A name passed by reference: `len` bytes at user address `ptr`, no terminator needed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcName {
    /// User address of the name's bytes.
    pub ptr: u64,
    /// Length in bytes, 1 to [`KC_NAME_MAX`].
    pub len: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Argument of [`KC_IOC_VERSION`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcVersion {
    /// Receives [`KC_ABI_VERSION`].
    pub version: u32,
    /// Zeroed by the driver.
    pub reserved: u32,
}

/// Argument of [`KC_IOC_CREATE`]. The ioctl returns a new `O_CLOEXEC` fd for the object.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcCreate {
    /// The object's name.
    pub name: KcName,
    /// Permission bits (`0o777` at most) of a new object, like POSIX IPC.
    pub mode: u32,
    /// [`KC_CREATE_EXCL`], [`KC_CREATE_ANONYMOUS`] or zero.
    pub flags: u32,
}

/// Argument of [`KC_IOC_OPEN`]. The ioctl returns a new `O_CLOEXEC` fd for the object.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcOpen {
    /// The object's name.
    pub name: KcName,
    /// [`KC_ACCESS_READ`] and/or [`KC_ACCESS_WRITE`], at least one.
    pub access: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Argument of [`KC_IOC_WAIT`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcWait {
    /// Absolute deadline in nanoseconds on `CLOCK_MONOTONIC` (or `CLOCK_REALTIME` with
    /// [`KC_WAIT_REALTIME`]); [`KC_DEADLINE_NEVER`] waits forever. At most `i64::MAX` otherwise.
    pub deadline_ns: u64,
    /// [`KC_WAIT_REALTIME`] or zero.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Argument of [`KC_IOC_COMPLETE_AND_WAIT`], called on the fd to wait on: completes the
/// object of `complete_fd` first, then waits as [`KC_IOC_WAIT`] does.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcCompleteAndWait {
    /// The wait's deadline, as [`KcWait::deadline_ns`].
    pub deadline_ns: u64,
    /// [`KC_WAIT_REALTIME`] and/or [`KC_COMPLETE_AND_WAIT_ALL`], or zero.
    pub flags: u32,
    /// An object fd opened with write access: the object to complete.
    pub complete_fd: i32,
}

/// One object's state slot in the page an object fd's `mmap` maps (read-only): what a reader
/// can learn without a system call. Many objects share a page (see `KC_IOC_MAP_INFO` for this
/// object's slot).
///
/// The driver writes a slot under the object's lock, like a seqcount: `seq` becomes odd, the
/// fields are stored, `seq` becomes even again (release stores). A reader loads `seq`
/// (acquire), retries while it is odd, loads the fields, and retries if `seq` then differs; a
/// lone `done` needs only one acquire load. `id` tells whether the slot still belongs to the
/// reader's object: a freed object's slot reads `id == 0` and [`KC_STATE_GONE`], and a slot
/// reused by a later object has that object's id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcState {
    /// Odd while the driver writes the slot; it grows by 2 on every change of state.
    pub seq: u32,
    /// As [`KcInfo::done`]: pending completions, [`KC_DONE_ALL`] after `COMPLETE_ALL`.
    pub done: u32,
    /// The object's id, 0 once the object is gone.
    pub id: u32,
    /// [`KC_STATE_LINKED`], [`KC_STATE_GONE`].
    pub flags: u32,
}

/// [`KcState::flags`]: the object still has its name.
pub const KC_STATE_LINKED: u32 = 1;
/// [`KcState::flags`]: the object was freed (`id` is 0); the slot may be given to another.
pub const KC_STATE_GONE: u32 = 2;
/// [`KcState::flags`]: the object was revoked ([`KC_IOC_REVOKE`]); `done` reads 0.
pub const KC_STATE_REVOKED: u32 = 4;

/// What [`KC_IOC_MAP_INFO`] reports: where an object's [`KcState`] is in the page that
/// `mmap(NULL, page size, PROT_READ, MAP_SHARED, fd, 0)` maps.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcMapInfo {
    /// Byte offset of the slot in the page (a multiple of `size_of::<KcState>()`).
    pub offset: u32,
    /// The object's id, as the slot shows it while the object lives.
    pub id: u32,
    /// `size_of::<KcState>()` (16).
    pub slot_size: u32,
    /// Zeroed by the driver.
    pub reserved: u32,
}

/// What [`KC_IOC_INFO`] and [`KC_IOC_LIST`] report about one object.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KcInfo {
    /// Object id: unique while the object lives.
    pub id: u32,
    /// Completions not yet consumed; [`KC_DONE_ALL`] after `COMPLETE_ALL`.
    pub done: u32,
    /// Tasks blocked in `WAIT` right now.
    pub waiters: u32,
    /// Open file descriptions (fds) on the object.
    pub handles: u32,
    /// Owner uid, as seen from the caller's user namespace.
    pub uid: u32,
    /// Owner gid, as seen from the caller's user namespace.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// [`KC_INFO_LINKED`] if the object still has its name.
    pub flags: u32,
    /// Length of `name` in bytes.
    pub name_len: u32,
    /// Zeroed by the driver.
    pub reserved: u32,
    /// The name, zero-padded.
    pub name: [u8; KC_NAME_MAX + 1],
}

impl Default for KcInfo {
    fn default() -> Self {
        KcInfo {
            id: 0,
            done: 0,
            waiters: 0,
            handles: 0,
            uid: 0,
            gid: 0,
            mode: 0,
            flags: 0,
            name_len: 0,
            reserved: 0,
            name: [0; KC_NAME_MAX + 1],
        }
    }
}

/// Argument of [`KC_IOC_LIST`]: a batch of named objects with `id >= cursor`, in id order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcList {
    /// User address of an array of `capacity` [`KcInfo`].
    pub entries: u64,
    /// Room in `entries`, 1 to [`KC_LIST_MAX`].
    pub capacity: u32,
    /// Out: entries written. Zero means the enumeration is over.
    pub count: u32,
    /// In: first id to report (start with 0). Out: the cursor for the next batch.
    pub cursor: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Largest `capacity` one [`KC_IOC_LIST`] call accepts.
pub const KC_LIST_MAX: u32 = 256;

/// Longest script source [`KC_IOC_RUN`] accepts, in bytes.
pub const KC_SCRIPT_SOURCE_MAX: u32 = 1 << 20;
/// Most scripts listed at once (running or not yet reaped); `RUN` beyond fails with `ENOSPC`.
pub const KC_SCRIPTS_MAX: u32 = 64;
/// Bytes of error text a [`KcScriptInfo`] holds (the text is cut there, NUL-padded).
pub const KC_SCRIPT_ERROR_MAX: usize = 256;

/// [`KcScriptInfo::state`]: the script's kernel thread is running it.
pub const KC_SCRIPT_RUNNING: u32 = 1;
/// [`KcScriptInfo::state`]: the script returned.
pub const KC_SCRIPT_FINISHED: u32 = 2;
/// [`KcScriptInfo::state`]: the script raised an error, ran out of memory or was stopped
/// (the error text says which).
pub const KC_SCRIPT_FAILED: u32 = 3;

/// Argument of [`KC_IOC_RUN`]: compiles `source` and runs it in a new kernel thread named
/// after the script. Compile errors fail with `ENOEXEC` and their text in `error`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcRun {
    /// The script's name (also the thread's name and the prefix of its `print`s).
    pub name: KcName,
    /// User address of the Lua source text.
    pub source: u64,
    /// Length of the source in bytes, at most [`KC_SCRIPT_SOURCE_MAX`].
    pub source_len: u32,
    /// Room at `error` in bytes (0: no error text wanted).
    pub error_size: u32,
    /// User address of a buffer for the compile error text (NUL-terminated, cut to fit).
    pub error: u64,
    /// Out: length of the whole error text (0 if none), even if cut.
    pub error_len: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// What [`KC_IOC_SCRIPTS`] reports about one script.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KcScriptInfo {
    /// Length of `name` in bytes.
    pub name_len: u32,
    /// [`KC_SCRIPT_RUNNING`], [`KC_SCRIPT_FINISHED`] or [`KC_SCRIPT_FAILED`].
    pub state: u32,
    /// Bytes the script's Lua state holds now (0 once it ended).
    pub memory: u64,
    /// Length of `error` in bytes (0 unless failed).
    pub error_len: u32,
    /// Zeroed by the driver.
    pub reserved: u32,
    /// The name, zero-padded.
    pub name: [u8; KC_NAME_MAX + 1],
    /// Why the script failed, zero-padded (cut to [`KC_SCRIPT_ERROR_MAX`] bytes).
    pub error: [u8; KC_SCRIPT_ERROR_MAX],
}

impl Default for KcScriptInfo {
    fn default() -> Self {
        KcScriptInfo {
            name_len: 0,
            state: 0,
            memory: 0,
            error_len: 0,
            reserved: 0,
            name: [0; KC_NAME_MAX + 1],
            error: [0; KC_SCRIPT_ERROR_MAX],
        }
    }
}

/// Argument of [`KC_IOC_SCRIPTS`]: every script, in start order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcScripts {
    /// User address of an array of `capacity` [`KcScriptInfo`].
    pub entries: u64,
    /// Room in `entries` (0 just asks how many there are).
    pub capacity: u32,
    /// Out: how many scripts there are; entries written is the smaller of this and `capacity`.
    pub count: u32,
}

const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Encodes an ioctl number as `<asm-generic/ioctl.h>` does (x86, arm64, riscv...).
pub const fn kc_ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (KC_IOC_MAGIC << 8) | nr
}

/// `/dev/kcompletion`: reports the ABI version.
pub const KC_IOC_VERSION: u32 = kc_ioc(IOC_READ, 0x00, core::mem::size_of::<KcVersion>());
/// `/dev/kcompletion`: creates (or with no `EXCL`, opens) a named object; returns an fd.
pub const KC_IOC_CREATE: u32 = kc_ioc(IOC_WRITE, 0x01, core::mem::size_of::<KcCreate>());
/// `/dev/kcompletion`: opens an existing named object; returns an fd.
pub const KC_IOC_OPEN: u32 = kc_ioc(IOC_WRITE, 0x02, core::mem::size_of::<KcOpen>());
/// `/dev/kcompletion`: removes a name; open handles keep working.
pub const KC_IOC_UNLINK: u32 = kc_ioc(IOC_WRITE, 0x03, core::mem::size_of::<KcName>());
/// `/dev/kcompletion`: enumerates named objects in batches.
pub const KC_IOC_LIST: u32 = kc_ioc(IOC_READ | IOC_WRITE, 0x04, core::mem::size_of::<KcList>());

/// Object fd: `done += 1` (saturating) and wake one waiter. Needs write access.
pub const KC_IOC_COMPLETE: u32 = kc_ioc(IOC_NONE, 0x10, 0);
/// Object fd: `done = KC_DONE_ALL` and wake every waiter. Needs write access.
pub const KC_IOC_COMPLETE_ALL: u32 = kc_ioc(IOC_NONE, 0x11, 0);
/// Object fd: wait for `done > 0` and consume one, until a deadline. Needs read access.
pub const KC_IOC_WAIT: u32 = kc_ioc(IOC_WRITE, 0x12, core::mem::size_of::<KcWait>());
/// Object fd: consume one completion or fail with `EAGAIN`. Needs read access.
pub const KC_IOC_TRY_WAIT: u32 = kc_ioc(IOC_NONE, 0x13, 0);
/// Object fd: returns 1 if `done > 0`, else 0, consuming nothing. Needs read access.
pub const KC_IOC_DONE: u32 = kc_ioc(IOC_NONE, 0x14, 0);
/// Object fd: `done = 0`. Needs write access.
pub const KC_IOC_REINIT: u32 = kc_ioc(IOC_NONE, 0x15, 0);
/// Object fd: fills a [`KcInfo`]. Needs read access.
pub const KC_IOC_INFO: u32 = kc_ioc(IOC_READ, 0x16, core::mem::size_of::<KcInfo>());
/// Object fd: completes (or complete-alls) the object of another fd with write access, then
/// waits on this one (read access) in the same call. See [`KcCompleteAndWait`].
pub const KC_IOC_COMPLETE_AND_WAIT: u32 =
    kc_ioc(IOC_WRITE, 0x17, core::mem::size_of::<KcCompleteAndWait>());
/// Object fd: gives the object a state slot if it has none and says where it is in the page
/// the fd's `mmap` maps ([`KcMapInfo`]). Needs read access.
pub const KC_IOC_MAP_INFO: u32 = kc_ioc(IOC_READ, 0x18, core::mem::size_of::<KcMapInfo>());

/// `/dev/kcompletion`: waits for any or all of several objects ([`KcWaitMany`]).
pub const KC_IOC_WAIT_MANY: u32 = kc_ioc(
    IOC_READ | IOC_WRITE,
    0x05,
    core::mem::size_of::<KcWaitMany>(),
);
/// `/dev/kcompletion`: makes a wait set ([`KcWaitSet`]); returns its fd.
pub const KC_IOC_WAIT_SET: u32 = kc_ioc(IOC_WRITE, 0x06, core::mem::size_of::<KcWaitSet>());
/// Object fd: revokes the object: unlinks its name (if it has one) and kills it. Every
/// waiter on it returns `EIDRM` at once, every later operation through any handle fails with
/// `EIDRM`, and `poll` reports `POLLERR | POLLHUP`. Needs write access.
pub const KC_IOC_REVOKE: u32 = kc_ioc(IOC_NONE, 0x19, 0);

/// `/dev/kcompletion`: compiles and starts a kernel Lua script (needs `CAP_SYS_ADMIN`).
pub const KC_IOC_RUN: u32 = kc_ioc(IOC_READ | IOC_WRITE, 0x20, core::mem::size_of::<KcRun>());
/// `/dev/kcompletion`: stops a running script (it stays listed), or reaps an ended one
/// (needs `CAP_SYS_ADMIN`).
pub const KC_IOC_STOP: u32 = kc_ioc(IOC_WRITE, 0x21, core::mem::size_of::<KcName>());
/// `/dev/kcompletion`: lists the scripts.
pub const KC_IOC_SCRIPTS: u32 = kc_ioc(
    IOC_READ | IOC_WRITE,
    0x22,
    core::mem::size_of::<KcScripts>(),
);

const _: () = assert!(core::mem::size_of::<KcName>() == 16);
const _: () = assert!(core::mem::size_of::<KcVersion>() == 8);
const _: () = assert!(core::mem::size_of::<KcCreate>() == 24);
const _: () = assert!(core::mem::size_of::<KcOpen>() == 24);
const _: () = assert!(core::mem::size_of::<KcWait>() == 16);
const _: () = assert!(core::mem::size_of::<KcCompleteAndWait>() == 16);
const _: () = assert!(core::mem::size_of::<KcWaitMany>() == 40);
const _: () = assert!(core::mem::size_of::<KcWaitSet>() == 24);
const _: () = assert!(core::mem::size_of::<KcState>() == 16);
const _: () = assert!(core::mem::size_of::<KcMapInfo>() == 16);
const _: () = assert!(core::mem::size_of::<KcInfo>() == 104);
const _: () = assert!(core::mem::size_of::<KcList>() == 24);
const _: () = assert!(core::mem::size_of::<KcRun>() == 48);
const _: () = assert!(core::mem::size_of::<KcScriptInfo>() == 344);
const _: () = assert!(core::mem::size_of::<KcScripts>() == 16);
