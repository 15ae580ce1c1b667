//! The raw ioctl calls and the control device.

use crate::error::{Error, ErrorKind};
use kcompletion_abi::{KcVersion, KC_ABI_VERSION, KC_IOC_VERSION};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};
use std::ffi::c_void;
use std::path::PathBuf;

/// Where the control device is unless `KCOMPLETION_DEVICE` says otherwise.
pub const DEFAULT_DEVICE: &str = "/dev/kcompletion";

/// The control device path: `$KCOMPLETION_DEVICE` if set and non-empty, else
/// [`DEFAULT_DEVICE`].
pub fn device_path() -> PathBuf {
    match std::env::var_os("KCOMPLETION_DEVICE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_DEVICE),
    }
}

/// One ioctl with an untyped argument; the output is the syscall's return value.
struct Raw {
    op: Opcode,
    arg: *mut c_void,
}

// SAFETY: `call` (the only constructor's user) requires that `arg` is valid for `op`.
unsafe impl Ioctl for Raw {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.op
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.arg
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// Issues ioctl `op` on `fd` and returns the syscall's non-negative result.
///
/// # Safety
///
/// `arg` must be null for argument-less ioctls, or point to a live, properly sized value of the
/// type the ABI defines for `op` (writable if the driver writes it).
pub(crate) unsafe fn call(fd: BorrowedFd<'_>, op: u32, arg: *mut c_void) -> Result<i32, Errno> {
    // SAFETY: forwarded to the caller.
    unsafe {
        rustix::ioctl::ioctl(
            fd,
            Raw {
                op: op as Opcode,
                arg,
            },
        )
    }
}

/// `call` with a typed argument.
pub(crate) fn call_with<T>(fd: BorrowedFd<'_>, op: u32, arg: &mut T) -> Result<i32, Errno> {
    // SAFETY: the ioctl numbers of the ABI encode the size of their argument type; callers
    // pass the matching `Kc*` struct, which lives across the call.
    unsafe { call(fd, op, (arg as *mut T).cast()) }
}

/// `call` with no argument.
pub(crate) fn call_none(fd: BorrowedFd<'_>, op: u32) -> Result<i32, Errno> {
    // SAFETY: `_IO` ioctls take no argument.
    unsafe { call(fd, op, std::ptr::null_mut()) }
}

/// An open, version-checked `/dev/kcompletion`.
pub(crate) struct Device {
    fd: OwnedFd,
}

impl Device {
    /// Opens the control device and checks the ABI version. `op` and `name` label errors.
    pub(crate) fn open(op: &'static str, name: Option<&str>) -> Result<Device, Error> {
        let dev = Device::open_unchecked(op, name)?;
        let version = dev.version(op, name)?;
        if version != KC_ABI_VERSION {
            return Err(
                Error::new(op, name, ErrorKind::AbiMismatch, None).with_detail(format!(
                "the driver speaks ABI version {version}, this library version {KC_ABI_VERSION}"
            )),
            );
        }
        Ok(dev)
    }

    /// Opens the control device without checking the version.
    pub(crate) fn open_unchecked(op: &'static str, name: Option<&str>) -> Result<Device, Error> {
        let path = device_path();
        let open = |flags| rustix::fs::open(&path, flags | OFlags::CLOEXEC, Mode::empty());
        let fd = match open(OFlags::RDWR) {
            // The ioctls do not depend on the open mode: retry read-only if only that is allowed.
            Err(Errno::ACCESS) | Err(Errno::ROFS) => open(OFlags::RDONLY),
            r => r,
        };
        let fd = fd.map_err(|errno| {
            let kind = match errno {
                Errno::NOENT | Errno::NODEV | Errno::NXIO => ErrorKind::DriverNotLoaded,
                e => ErrorKind::from_errno(e.raw_os_error()),
            };
            let e = Error::new(op, name, kind, Some(errno));
            if kind == ErrorKind::DriverNotLoaded {
                e
            } else {
                e.with_detail(format!(
                    "cannot open {}: {}",
                    path.display(),
                    std::io::Error::from_raw_os_error(errno.raw_os_error())
                ))
            }
        })?;
        Ok(Device { fd })
    }

    /// The driver's ABI version.
    pub(crate) fn version(&self, op: &'static str, name: Option<&str>) -> Result<u32, Error> {
        let mut v = KcVersion::default();
        match call_with(self.fd.as_fd(), KC_IOC_VERSION, &mut v) {
            Ok(_) => Ok(v.version),
            Err(errno @ (Errno::NOTTY | Errno::INVAL)) => {
                Err(
                    Error::new(op, name, ErrorKind::AbiMismatch, Some(errno)).with_detail(format!(
                        "{} is not the kcompletion driver",
                        device_path().display()
                    )),
                )
            }
            Err(errno) => Err(Error::from_errno(op, name, errno)),
        }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
