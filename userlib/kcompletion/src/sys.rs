//! The ioctl calls (on the ABI crate's typed [`raw`] layer) and the control device.

use crate::error::{Error, ErrorKind};
use crate::name::validate_name_for;
use kcompletion_abi::raw::{self, NoArgRequest, Request, Version};
use kcompletion_abi::{KcName, KcVersion, KC_ABI_VERSION};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
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

/// Issues `R` on `fd` with `arg` ([`raw::ioctl`]): the syscall's result, or the errno.
pub(crate) fn ioctl<R: Request>(fd: BorrowedFd<'_>, arg: &mut R::Arg) -> Result<i32, Errno> {
    raw::ioctl::<R>(fd, arg).map_err(Errno::from_raw_os_error)
}

/// Issues the argument-less `R` on `fd` ([`raw::ioctl_none`]).
pub(crate) fn ioctl_none<R: NoArgRequest>(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    raw::ioctl_none::<R>(fd).map_err(Errno::from_raw_os_error)
}

/// A request on `/dev/kcompletion` that takes just a name (`UNLINK`, `STOP`): checks the name,
/// opens the device and issues `R`. `op` labels errors.
pub(crate) fn name_request<R: Request<Arg = KcName>>(
    op: &'static str,
    name: &str,
) -> Result<(), Error> {
    let mut arg = validate_name_for(op, name)?;
    let dev = Device::open(op, Some(name))?;
    ioctl::<R>(dev.fd(), &mut arg).map_err(|e| Error::from_errno(op, Some(name), e))?;
    Ok(())
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
        match ioctl::<Version>(self.fd.as_fd(), &mut v) {
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
