//! The typed raw layer for userspace: each ioctl of the ABI is a type that binds its number
//! to its argument type ([`Request`], or [`NoArgRequest`] for the `_IO` requests), and
//! [`ioctl`] / [`ioctl_none`] (cargo feature `raw`, on by default) issue one plain `ioctl(2)`
//! with no allocation, returning the syscall's result or the errno.
//!
//! ```no_run
//! # #[cfg(feature = "raw")] {
//! use kcompletion_abi::raw::{self, Wait, TryWait};
//! use kcompletion_abi::{KcWait, KC_DEADLINE_NEVER};
//! # let fd: std::os::fd::RawFd = 3;
//! let mut arg = KcWait { deadline_ns: KC_DEADLINE_NEVER, ..KcWait::default() };
//! raw::ioctl::<Wait>(fd, &mut arg)?;
//! match raw::ioctl_none::<TryWait>(fd) {
//!     Ok(_) => println!("consumed one"),
//!     Err(libc::EAGAIN) => println!("not done"),
//!     Err(errno) => return Err(errno),
//! }
//! # }
//! # Ok::<(), i32>(())
//! ```
//!
//! An argument of the wrong type does not compile:
//!
//! ```compile_fail
//! use kcompletion_abi::raw::{self, Wait};
//! let mut info = kcompletion_abi::KcInfo::default();
//! raw::ioctl::<Wait>(3, &mut info); // WAIT takes a KcWait
//! ```
//!
//! Every `Request::NR` encodes the size of its `Arg` (`_IOC_SIZE`): a constant assertion
//! beside each request fails the build on a mismatch, and every `NoArgRequest::NR` is an `_IO`
//! number (no direction, size 0).

use crate::abi::*;
use crate::args::{ListArg, RunArg, ScriptsArg};
use core::marker::PhantomData;
use core::mem::size_of;

/// A kcompletion ioctl that takes a pointer to an [`Arg`](Request::Arg).
///
/// # Safety
///
/// `NR` is the driver's request whose argument is a `Self::Arg`, and any value of `Arg` that
/// safe code can make is valid for it: every address in it that the driver writes through
/// points to memory that `Arg` borrows for its lifetime ([`RunArg`], [`ListArg`],
/// [`ScriptsArg`]). Addresses the driver only reads (names, sources) may be anything: a bad
/// one fails with `EFAULT`.
pub unsafe trait Request {
    /// The ioctl number.
    const NR: u32;
    /// The argument the number's `_IOC_SIZE` encodes.
    type Arg;
    /// The ABI's name of the number, such as `"KC_IOC_WAIT"`.
    const NAME: &'static str;
}

/// A kcompletion `_IO` ioctl: no argument.
///
/// # Safety
///
/// `NR` is a request of the driver that reads no argument.
pub unsafe trait NoArgRequest {
    /// The ioctl number.
    const NR: u32;
    /// The ABI's name of the number, such as `"KC_IOC_COMPLETE"`.
    const NAME: &'static str;
}

/// `_IOC_DIR` of an ioctl number (0: none, 1: write, 2: read, 3: both).
pub const fn ioc_dir(nr: u32) -> u32 {
    nr >> 30
}

/// `_IOC_SIZE` of an ioctl number: the size of its argument.
pub const fn ioc_size(nr: u32) -> usize {
    ((nr >> 16) & 0x3fff) as usize
}

/// Whether `R::NR` carries a direction and the size of `R::Arg`.
pub const fn encodes_arg<R: Request>() -> bool {
    ioc_dir(R::NR) != 0 && ioc_size(R::NR) == size_of::<R::Arg>()
}

/// Whether `R::NR` is an `_IO` number: no direction, size 0.
pub const fn is_io<R: NoArgRequest>() -> bool {
    ioc_dir(R::NR) == 0 && ioc_size(R::NR) == 0
}

macro_rules! request {
    ($(#[$doc:meta])* $name:ident $(<$lt:lifetime>)?, $nr:ident, $arg:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name $(<$lt>)? $((PhantomData<&$lt ()>))?;

        // SAFETY: `$nr` takes a `$arg` (the assertion below checks its size), whose written
        // addresses, if any, it borrows.
        unsafe impl $(<$lt>)? Request for $name $(<$lt>)? {
            const NR: u32 = $nr;
            type Arg = $arg;
            const NAME: &'static str = stringify!($nr);
        }

        const _: () = assert!(encodes_arg::<$name>());
    };
}

macro_rules! no_arg_request {
    ($(#[$doc:meta])* $name:ident, $nr:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        // SAFETY: `$nr` is an `_IO` request (checked below).
        unsafe impl NoArgRequest for $name {
            const NR: u32 = $nr;
            const NAME: &'static str = stringify!($nr);
        }

        const _: () = assert!(is_io::<$name>());
    };
}

request!(
    /// `KC_IOC_VERSION` on `/dev/kcompletion`.
    Version, KC_IOC_VERSION, KcVersion
);
request!(
    /// `KC_IOC_CREATE` on `/dev/kcompletion`: returns a new object fd.
    Create, KC_IOC_CREATE, KcCreate
);
request!(
    /// `KC_IOC_OPEN` on `/dev/kcompletion`: returns a new object fd.
    Open, KC_IOC_OPEN, KcOpen
);
request!(
    /// `KC_IOC_UNLINK` on `/dev/kcompletion`.
    Unlink, KC_IOC_UNLINK, KcName
);
request!(
    /// `KC_IOC_LIST` on `/dev/kcompletion`, into a borrowed batch ([`ListArg`]).
    List<'a>, KC_IOC_LIST, ListArg<'a>
);
request!(
    /// `KC_IOC_WAIT_MANY` on `/dev/kcompletion` (the driver only reads through `fds`).
    WaitMany, KC_IOC_WAIT_MANY, KcWaitMany
);
request!(
    /// `KC_IOC_WAIT_SET` on `/dev/kcompletion` (the driver only reads through `fds`): returns
    /// the set's fd.
    WaitSet, KC_IOC_WAIT_SET, KcWaitSet
);
request!(
    /// `KC_IOC_WAIT` on an object fd (or a wait set's fd: returns the index).
    Wait, KC_IOC_WAIT, KcWait
);
request!(
    /// `KC_IOC_COMPLETE_AND_WAIT` on the object fd to wait on.
    CompleteAndWait, KC_IOC_COMPLETE_AND_WAIT, KcCompleteAndWait
);
request!(
    /// `KC_IOC_INFO` on an object fd.
    Info, KC_IOC_INFO, KcInfo
);
request!(
    /// `KC_IOC_MAP_INFO` on an object fd.
    MapInfo, KC_IOC_MAP_INFO, KcMapInfo
);
request!(
    /// `KC_IOC_RUN` on `/dev/kcompletion`, with a borrowed error buffer ([`RunArg`]).
    Run<'a>, KC_IOC_RUN, RunArg<'a>
);
request!(
    /// `KC_IOC_STOP` on `/dev/kcompletion`.
    Stop, KC_IOC_STOP, KcName
);
request!(
    /// `KC_IOC_SCRIPTS` on `/dev/kcompletion`, into borrowed entries ([`ScriptsArg`]).
    Scripts<'a>, KC_IOC_SCRIPTS, ScriptsArg<'a>
);
no_arg_request!(
    /// `KC_IOC_COMPLETE` on an object fd.
    Complete, KC_IOC_COMPLETE
);
no_arg_request!(
    /// `KC_IOC_COMPLETE_ALL` on an object fd.
    CompleteAll, KC_IOC_COMPLETE_ALL
);
no_arg_request!(
    /// `KC_IOC_TRY_WAIT` on an object fd: fails with `EAGAIN` if not done.
    TryWait, KC_IOC_TRY_WAIT
);
no_arg_request!(
    /// `KC_IOC_DONE` on an object fd: returns 1 if done, else 0.
    Done, KC_IOC_DONE
);
no_arg_request!(
    /// `KC_IOC_REINIT` on an object fd.
    Reinit, KC_IOC_REINIT
);
no_arg_request!(
    /// `KC_IOC_REVOKE` on an object fd.
    Revoke, KC_IOC_REVOKE
);

#[cfg(feature = "raw")]
pub use sys::*;

#[cfg(feature = "raw")]
mod sys {
    use super::{NoArgRequest, Request};
    use core::ffi::c_void;
    use std::os::fd::{AsRawFd, RawFd};

    /// Issues `R` on `fd` with `arg`: the syscall's (non-negative) result, or the errno.
    #[inline]
    pub fn ioctl<R: Request>(fd: impl AsRawFd, arg: &mut R::Arg) -> Result<i32, i32> {
        // SAFETY: `R::NR` takes an `R::Arg` (`Request`'s contract), live and writable here.
        unsafe { ioctl_raw(fd.as_raw_fd(), R::NR, (arg as *mut R::Arg).cast()) }
    }

    /// Issues the `_IO` request `R` on `fd`: the syscall's (non-negative) result, or the errno.
    #[inline]
    pub fn ioctl_none<R: NoArgRequest>(fd: impl AsRawFd) -> Result<i32, i32> {
        // SAFETY: `R::NR` reads no argument (`NoArgRequest`'s contract).
        unsafe { ioctl_raw(fd.as_raw_fd(), R::NR, core::ptr::null_mut()) }
    }

    /// `ioctl(fd, nr, arg)` with any number and argument: the syscall's result, or the errno.
    ///
    /// # Safety
    ///
    /// If `nr` makes the driver write through `arg` (or through addresses in `*arg`), that
    /// memory must be valid for the write. Meant for tests that pass bad arguments on purpose.
    #[inline]
    pub unsafe fn ioctl_raw(fd: RawFd, nr: u32, arg: *mut c_void) -> Result<i32, i32> {
        // SAFETY: forwarded to the caller.
        let r = unsafe { libc::ioctl(fd, nr as _, arg) };
        if r < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(r)
        }
    }

    /// The symbolic name of the errnos the driver returns (and a few more), such as
    /// `"ETIMEDOUT"`; `None` for others.
    pub fn errno_name(errno: i32) -> Option<&'static str> {
        Some(match errno {
            libc::EINVAL => "EINVAL",
            libc::ENOENT => "ENOENT",
            libc::EEXIST => "EEXIST",
            libc::EACCES => "EACCES",
            libc::EAGAIN => "EAGAIN",
            libc::EBADF => "EBADF",
            libc::EFAULT => "EFAULT",
            libc::EINTR => "EINTR",
            libc::ENOTTY => "ENOTTY",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSPC => "ENOSPC",
            libc::EDQUOT => "EDQUOT",
            libc::EBUSY => "EBUSY",
            libc::ENOMEM => "ENOMEM",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, number, argument size) of every request: distinct numbers, all checked.
    #[test]
    fn every_request_encodes_its_argument() {
        fn arg<R: Request>() -> (&'static str, u32, usize) {
            assert!(encodes_arg::<R>(), "{}", R::NAME);
            (R::NAME, R::NR, size_of::<R::Arg>())
        }
        fn none<R: NoArgRequest>() -> (&'static str, u32, usize) {
            assert!(is_io::<R>(), "{}", R::NAME);
            (R::NAME, R::NR, 0)
        }
        let all = [
            arg::<Version>(),
            arg::<Create>(),
            arg::<Open>(),
            arg::<Unlink>(),
            arg::<List<'_>>(),
            arg::<Wait>(),
            arg::<Info>(),
            arg::<Run<'_>>(),
            arg::<Stop>(),
            arg::<Scripts<'_>>(),
            none::<Complete>(),
            none::<CompleteAll>(),
            none::<TryWait>(),
            none::<Done>(),
            none::<Reinit>(),
        ];
        for (i, a) in all.iter().enumerate() {
            assert_eq!((a.1 >> 8) & 0xff, KC_IOC_MAGIC, "{}", a.0);
            assert_eq!(ioc_size(a.1), a.2, "{}", a.0);
            for b in &all[i + 1..] {
                assert_ne!(a.1, b.1, "{} and {}", a.0, b.0);
            }
        }
        assert_eq!(all.len(), 15);
    }

    #[cfg(feature = "raw")]
    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::ETIMEDOUT), Some("ETIMEDOUT"));
        assert_eq!(errno_name(libc::EPERM), None);
    }
}
