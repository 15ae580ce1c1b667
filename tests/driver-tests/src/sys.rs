//! Raw access to /dev/kcompletion: thin wrappers that return the errno, so tests can check
//! every error exactly. No library in between: this suite tests the ABI itself.

use kcompletion_abi::raw;
use kcompletion_abi::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The device node.
pub const DEV: &str = "/dev/kcompletion";

pub type Res<T> = Result<T, i32>;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn errname(e: i32) -> String {
    raw::errno_name(e).map_or_else(|| format!("errno {e}"), str::to_string)
}

/// ioctl with a raw argument; Ok(return value) or Err(errno). Tests pass deliberately bad
/// pointers and sizes through this one.
pub fn ioctl_raw(fd: RawFd, cmd: u32, arg: usize) -> Res<i32> {
    // SAFETY: The kernel validates `arg`; tests pass deliberately bad pointers on purpose.
    unsafe { raw::ioctl_raw(fd, cmd, arg as *mut std::ffi::c_void) }
}

/// ioctl `cmd` with `arg` as its argument. This suite builds argument structs by hand (bad
/// pointers inside them included), so it cannot use the typed `raw::ioctl`; instead the
/// size the number encodes must be `T`'s, so a wrong type can never let the driver write
/// past `arg`.
pub fn ioctl<T>(fd: &impl AsRawFd, cmd: u32, arg: &mut T) -> Res<i32> {
    assert_eq!(
        raw::ioc_size(cmd),
        std::mem::size_of::<T>(),
        "ioctl {cmd:#x} takes another argument type than {}",
        std::any::type_name::<T>()
    );
    ioctl_raw(fd.as_raw_fd(), cmd, arg as *mut T as usize)
}

pub fn ioctl0(fd: &impl AsRawFd, cmd: u32) -> Res<i32> {
    assert_eq!(raw::ioc_size(cmd), 0, "ioctl {cmd:#x} takes an argument");
    ioctl_raw(fd.as_raw_fd(), cmd, 0)
}

pub fn open_dev() -> OwnedFd {
    let path = std::ffi::CString::new(DEV).unwrap();
    // SAFETY: Plain open(2) of a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {DEV}: {}", errname(errno()));
    // SAFETY: `fd` is a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A name argument as is (the driver checks it: tests pass bad ones on purpose).
pub fn kname(name: &[u8]) -> KcName {
    KcName::unvalidated(name)
}

/// A RUN request: the script `name` of `source`, a compile error (if any) into `error`. The
/// buffers must outlive the ioctl.
pub fn run_req(name: &[u8], source: &[u8], error: &mut [u8]) -> KcRun {
    KcRun {
        name: kname(name),
        source: source.as_ptr() as u64,
        source_len: source.len() as u32,
        error_size: error.len() as u32,
        error: error.as_mut_ptr() as u64,
        ..Default::default()
    }
}

pub fn to_fd(r: i32) -> OwnedFd {
    // SAFETY: The driver returned a fresh descriptor that we now own.
    unsafe { OwnedFd::from_raw_fd(r) }
}

pub fn create_mode(dev: &OwnedFd, name: &str, mode: u32, flags: u32) -> Res<OwnedFd> {
    let mut req = KcCreate {
        name: kname(name.as_bytes()),
        mode,
        flags,
    };
    ioctl(dev, KC_IOC_CREATE, &mut req).map(to_fd)
}

pub fn create(dev: &OwnedFd, name: &str) -> Res<OwnedFd> {
    create_mode(dev, name, 0o600, 0)
}

pub fn create_excl(dev: &OwnedFd, name: &str) -> Res<OwnedFd> {
    create_mode(dev, name, 0o600, KC_CREATE_EXCL)
}

pub fn open_access(dev: &impl AsRawFd, name: &str, access: u32) -> Res<OwnedFd> {
    let mut req = KcOpen {
        name: kname(name.as_bytes()),
        access,
        reserved: 0,
    };
    ioctl(dev, KC_IOC_OPEN, &mut req).map(to_fd)
}

pub fn open(dev: &impl AsRawFd, name: &str) -> Res<OwnedFd> {
    open_access(dev, name, KC_ACCESS_READ | KC_ACCESS_WRITE)
}

pub fn unlink(dev: &OwnedFd, name: &str) -> Res<()> {
    let mut req = kname(name.as_bytes());
    ioctl(dev, KC_IOC_UNLINK, &mut req).map(|_| ())
}

pub fn complete(fd: &OwnedFd) -> Res<()> {
    ioctl0(fd, KC_IOC_COMPLETE).map(|_| ())
}

pub fn complete_all(fd: &OwnedFd) -> Res<()> {
    ioctl0(fd, KC_IOC_COMPLETE_ALL).map(|_| ())
}

pub fn reinit(fd: &OwnedFd) -> Res<()> {
    ioctl0(fd, KC_IOC_REINIT).map(|_| ())
}

pub fn try_wait(fd: &OwnedFd) -> Res<()> {
    ioctl0(fd, KC_IOC_TRY_WAIT).map(|_| ())
}

pub fn done(fd: &OwnedFd) -> Res<bool> {
    ioctl0(fd, KC_IOC_DONE).map(|r| r != 0)
}

pub fn now_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writing.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub fn wait_deadline(fd: &impl AsRawFd, deadline_ns: u64, flags: u32) -> Res<()> {
    let mut req = KcWait {
        deadline_ns,
        flags,
        reserved: 0,
    };
    ioctl(fd, KC_IOC_WAIT, &mut req).map(|_| ())
}

/// `KC_IOC_COMPLETE_AND_WAIT` on `wait_fd`: completes `complete_fd` (raw, so tests can pass
/// any number), then waits on `wait_fd` until `deadline_ns`.
pub fn complete_and_wait(
    wait_fd: &impl AsRawFd,
    complete_fd: i32,
    deadline_ns: u64,
    flags: u32,
) -> Res<()> {
    let mut req = KcCompleteAndWait {
        deadline_ns,
        flags,
        complete_fd,
    };
    ioctl(wait_fd, KC_IOC_COMPLETE_AND_WAIT, &mut req).map(|_| ())
}

/// Waits at most `ms` milliseconds (CLOCK_MONOTONIC).
pub fn wait_ms(fd: &OwnedFd, ms: u64) -> Res<()> {
    wait_deadline(fd, now_ns(libc::CLOCK_MONOTONIC) + ms * 1_000_000, 0)
}

pub fn wait_forever(fd: &impl AsRawFd) -> Res<()> {
    wait_deadline(fd, KC_DEADLINE_NEVER, 0)
}

pub fn info(fd: &OwnedFd) -> Res<KcInfo> {
    let mut i = KcInfo::default();
    ioctl(fd, KC_IOC_INFO, &mut i).map(|_| i)
}

pub fn info_name(i: &KcInfo) -> String {
    String::from_utf8_lossy(&i.name[..i.name_len as usize]).into_owned()
}

/// Every named object, via LIST in batches of `batch`.
pub fn list_all(dev: &OwnedFd, batch: u32) -> Res<Vec<KcInfo>> {
    let mut all = Vec::new();
    let mut cursor = 0;
    loop {
        let mut buf = vec![KcInfo::default(); batch as usize];
        let mut req = KcList {
            entries: buf.as_mut_ptr() as u64,
            capacity: batch,
            count: 0,
            cursor,
            reserved: 0,
        };
        let n = ioctl(dev, KC_IOC_LIST, &mut req)?;
        assert_eq!(n as u32, req.count);
        if req.count == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..req.count as usize]);
        cursor = req.cursor;
    }
}

/// poll(2) for readability with a timeout; true if readable.
pub fn readable(fd: &OwnedFd, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    r == 1 && p.revents & libc::POLLIN != 0
}

/// The system's page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// `KC_IOC_MAP_INFO` on an object fd (its reserved field set, so the driver must overwrite it).
pub fn map_info(fd: &impl AsRawFd) -> Res<KcMapInfo> {
    let mut m = KcMapInfo {
        reserved: 0xdead,
        ..KcMapInfo::default()
    };
    ioctl(fd, KC_IOC_MAP_INFO, &mut m).map(|_| m)
}

/// `mmap(NULL, len, prot, flags, fd, off)`: the address, or the errno.
pub fn mmap(fd: &impl AsRawFd, len: usize, prot: i32, flags: i32, off: i64) -> Res<*mut u8> {
    // SAFETY: A new mapping; nothing existing is touched.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd.as_raw_fd(), off) };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p.cast())
    }
}

/// `munmap` of a mapping made by [`mmap`].
pub fn munmap(p: *mut u8, len: usize) {
    // SAFETY: `p` came from `mmap` with this length (per the caller); unmapping it touches
    // nothing else.
    unsafe { libc::munmap(p.cast(), len) };
}

/// A read-only shared mapping of an object's state page, with its slot's offset
/// (`MAP_INFO`, then `mmap`); unmapped on drop.
pub struct StatePage {
    pub page: *mut u8,
    pub len: usize,
    pub info: KcMapInfo,
}

impl StatePage {
    /// Maps `fd`'s page: the errno of whichever step failed.
    pub fn map(fd: &impl AsRawFd) -> Res<StatePage> {
        let info = map_info(fd)?;
        let len = page_size();
        let page = mmap(fd, len, libc::PROT_READ, libc::MAP_SHARED, 0)?;
        Ok(StatePage { page, len, info })
    }

    /// Word `i` of the slot (0 seq, 1 done, 2 id, 3 flags), an acquire load as the ABI says.
    pub fn word(&self, i: usize) -> u32 {
        self.word_at(self.info.offset as usize / 4 + i)
    }

    /// Word `i` of the page (any slot's), an acquire load.
    pub fn word_at(&self, i: usize) -> u32 {
        assert!(i < self.len / 4);
        // SAFETY: Inside our mapping, aligned; the kernel writes it, so atomically.
        unsafe {
            (*self.page.add(4 * i).cast::<std::sync::atomic::AtomicU32>())
                .load(std::sync::atomic::Ordering::Acquire)
        }
    }
}

impl Drop for StatePage {
    fn drop(&mut self) {
        munmap(self.page, self.len);
    }
}

/// `KC_IOC_WAIT_MANY` on `/dev/kcompletion` over `fds` (any, or `KC_WAIT_ALL` in `flags`),
/// an absolute `CLOCK_MONOTONIC` deadline and an alert fd (or `KC_NO_ALERT`): the index.
pub fn wait_many(
    dev: &impl AsRawFd,
    fds: &[RawFd],
    flags: u32,
    deadline_ns: u64,
    alert: RawFd,
) -> Res<u32> {
    let mut arg = KcWaitMany {
        deadline_ns,
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        flags,
        alert_fd: alert,
        index: 0xdead,
        reserved: 0,
    };
    ioctl(dev, KC_IOC_WAIT_MANY, &mut arg).map(|_| arg.index)
}

/// The deadline `ms` milliseconds from now on `CLOCK_MONOTONIC`.
pub fn in_ms(ms: u64) -> u64 {
    now_ns(libc::CLOCK_MONOTONIC) + ms * 1_000_000
}

/// `KC_IOC_REVOKE` on an object fd.
pub fn revoke(fd: &OwnedFd) -> Res<()> {
    ioctl0(fd, KC_IOC_REVOKE).map(|_| ())
}

/// The poll(2) revents of `fd` now (no waiting), asking for `POLLIN`.
pub fn revents(fd: &impl AsRawFd) -> i16 {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    unsafe { libc::poll(&mut p, 1, 0) };
    p.revents
}

/// A new anonymous object (`KC_CREATE_ANONYMOUS`: no name, read and write access).
pub fn create_anonymous(dev: &OwnedFd) -> Res<OwnedFd> {
    let mut req = KcCreate {
        name: KcName::default(),
        mode: 0,
        flags: KC_CREATE_ANONYMOUS,
    };
    ioctl(dev, KC_IOC_CREATE, &mut req).map(to_fd)
}

/// `dup(2)`: another fd of the same open file.
pub fn dup(fd: &impl AsRawFd) -> Res<OwnedFd> {
    // SAFETY: Plain dup(2); the new fd is ours.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(to_fd(r))
    }
}

/// `KC_IOC_WAIT_SET` over `fds` (`KC_WAIT_ALL` in `flags` for all): the set's fd.
pub fn wait_set(dev: &impl AsRawFd, fds: &[RawFd], flags: u32) -> Res<OwnedFd> {
    let mut arg = KcWaitSet {
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        flags,
        reserved: 0,
    };
    ioctl(dev, KC_IOC_WAIT_SET, &mut arg).map(to_fd)
}

/// `KC_IOC_WAIT` on a wait set's fd until `deadline_ns` (`CLOCK_MONOTONIC`): the index.
pub fn wait_set_wait(set: &impl AsRawFd, deadline_ns: u64) -> Res<i32> {
    let mut w = KcWait {
        deadline_ns,
        flags: 0,
        reserved: 0,
    };
    ioctl(set, KC_IOC_WAIT, &mut w)
}
