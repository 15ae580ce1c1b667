// Over 500 lines on purpose: the `Completion` type and its methods, whose doc comments (274
// lines, with the examples users read on docs.rs) are most of the file; the pieces are in
// their own modules (sys, name, deadline, error, info, script).
//! Userspace library for `/dev/kcompletion`: named kernel completion objects.
//!
//! A completion has the semantics of the kernel's `struct completion`: a `done` counter that
//! [`Completion::complete`] increments (waking one waiter), [`Completion::complete_all`] sets
//! to "forever" (waking every waiter), a wait consumes one of (unless "forever"), and
//! [`Completion::reinit`] zeroes. Objects are named, persist until [`unlink`]ed (like POSIX
//! IPC objects), have an owner and a mode (default `0o600`), and are used through handles,
//! which are file descriptors: a handle is readable for `poll`/`epoll` while `done > 0`.
//!
//! # Examples
//!
//! One process creates and waits:
//!
//! ```no_run
//! use kcompletion::{Completion, Options};
//! use std::time::Duration;
//!
//! let job = Completion::create("job1", &Options::default())?;
//! match job.wait(Some(Duration::from_secs(10))) {
//!     Ok(()) => println!("job1 is done"),
//!     Err(e) if e.kind() == kcompletion::ErrorKind::Timeout => println!("still running"),
//!     Err(e) => return Err(e),
//! }
//! kcompletion::unlink("job1")?;
//! # Ok::<(), kcompletion::Error>(())
//! ```
//!
//! Another signals it:
//!
//! ```no_run
//! kcompletion::Completion::open("job1")?.complete()?;
//! # Ok::<(), kcompletion::Error>(())
//! ```
//!
//! # Errors
//!
//! Every operation returns [`Error`], whose [`kind`](Error::kind) is an [`ErrorKind`] and
//! whose `Display` names the operation, the completion and the cause. Names are validated
//! here before any system call ([`validate_name`]). Each operation that opens
//! `/dev/kcompletion` checks the driver's ABI version first and fails with
//! [`ErrorKind::AbiMismatch`] if it is not [`ABI_VERSION`]; if the device does not exist it
//! fails with [`ErrorKind::DriverNotLoaded`].
//!
//! # Device path
//!
//! The control device is `/dev/kcompletion`, or the path in the environment variable
//! `KCOMPLETION_DEVICE` if that is set (meant for tests).
#![deny(missing_docs)]
#![warn(rustdoc::all)]

mod deadline;
pub mod dialect;
mod error;
pub mod exit;
mod info;
mod name;
mod script;
pub mod state;
mod sys;
mod wait_many;

pub use deadline::{monotonic_now_ns, Deadline};
pub use error::{Error, ErrorKind};
pub use info::Info;
pub use kcompletion_abi as abi;
pub use name::{validate_name, NAME_MAX};
pub use script::{run, scripts, stop, ScriptInfo, ScriptState};
pub use sys::{device_path, DEFAULT_DEVICE};
pub use wait_many::{wait_all, wait_any, wait_many, wait_many_fds, WaitSet, Woken};

use kcompletion_abi::raw;
use kcompletion_abi::*;
use name::validate_name_for;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use rustix::io::Errno;
use state::StateMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;
use sys::{ioctl, ioctl_none, Device};

/// The ABI version this library speaks.
pub const ABI_VERSION: u32 = KC_ABI_VERSION;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How [`Completion::create`] makes (or opens) an object.
///
/// # Examples
///
/// ```no_run
/// use kcompletion::{Completion, Options};
///
/// // Readable and writable by the owner's group too; fail if it already exists.
/// let opts = Options::new().mode(0o660).exclusive(true);
/// let c = Completion::create("job1", &opts)?;
/// # Ok::<(), kcompletion::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    /// Permission bits of a new object, `0o777` at most. Default `0o600`. Read permission
    /// allows waiting and querying, write permission completing and reinitialising.
    pub mode: u32,
    /// Fail with [`ErrorKind::Exists`] if the name exists. Default `false`: open the existing
    /// object instead (which needs read and write permission on it).
    pub exclusive: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: 0o600,
            exclusive: false,
        }
    }
}

impl Options {
    /// The defaults: mode `0o600`, not exclusive.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets [`Options::mode`].
    pub fn mode(mut self, mode: u32) -> Options {
        self.mode = mode;
        self
    }

    /// Sets [`Options::exclusive`].
    pub fn exclusive(mut self, exclusive: bool) -> Options {
        self.exclusive = exclusive;
        self
    }
}

/// The access a handle is opened with, see [`Completion::open_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Wait, try-wait, poll, query: needs read permission.
    Read,
    /// Complete, complete-all, reinit: needs write permission.
    Write,
    /// Both.
    ReadWrite,
}

impl Access {
    /// The `KC_ACCESS_*` bits.
    pub fn bits(self) -> u32 {
        match self {
            Access::Read => KC_ACCESS_READ,
            Access::Write => KC_ACCESS_WRITE,
            Access::ReadWrite => KC_ACCESS_READ | KC_ACCESS_WRITE,
        }
    }
}

/// A handle on a named completion object: an `O_CLOEXEC` file descriptor.
///
/// Dropping it closes the descriptor; the object lives on until it is [`unlink`]ed and its
/// last handle is closed. A handle can be shared between threads (`Send + Sync`) and
/// registered with `poll`/`epoll` (readable while `done > 0`) through [`AsFd`].
///
/// # Examples
///
/// ```no_run
/// use kcompletion::{Completion, Options};
/// use std::time::Duration;
///
/// let c = Completion::create("ready", &Options::default())?;
/// std::thread::scope(|s| {
///     s.spawn(|| c.complete());
///     c.wait(None)
/// })?;
/// assert!(!c.is_done()?);
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub struct Completion {
    fd: OwnedFd,
    name: String,
    /// The state page, mapped on first use (`state.rs`); `None` if the driver gave none.
    state: OnceLock<Option<StateMap>>,
    /// The adaptive spin of `wait` on the state page ([`state::wait_spin`]).
    spin: state::Spin,
}

impl Completion {
    /// Creates the object `name`, or, unless `options.exclusive`, opens it if it exists.
    ///
    /// The handle has read and write access. Errors: [`ErrorKind::InvalidName`],
    /// [`ErrorKind::NameTooLong`], [`ErrorKind::InvalidArgument`] (mode above `0o777`),
    /// [`ErrorKind::Exists`] (exclusive), [`ErrorKind::PermissionDenied`] (opening an existing
    /// object without read and write permission), [`ErrorKind::Limit`],
    /// [`ErrorKind::DriverNotLoaded`], [`ErrorKind::AbiMismatch`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let c = kcompletion::Completion::create("job1", &kcompletion::Options::default())?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn create(name: &str, options: &Options) -> Result<Completion> {
        const OP: &str = "create";
        let kname = validate_name_for(OP, name)?;
        if options.mode > 0o777 {
            return Err(Error::new(
                OP,
                Some(name),
                ErrorKind::InvalidArgument,
                Some(Errno::INVAL),
            )
            .with_detail(format!("mode {:o} is above 777", options.mode)));
        }
        let dev = Device::open(OP, Some(name))?;
        let mut arg = KcCreate {
            name: kname,
            mode: options.mode,
            flags: if options.exclusive { KC_CREATE_EXCL } else { 0 },
        };
        let fd = ioctl::<raw::Create>(dev.fd(), &mut arg)
            .map_err(|e| Error::from_errno(OP, Some(name), e))?;
        // SAFETY: on success the ioctl returns a new descriptor that nobody else owns.
        Ok(Completion {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            name: name.to_owned(),
            state: OnceLock::new(),
            spin: state::Spin::new(),
        })
    }

    /// Opens the existing object `name` with read and write access.
    ///
    /// Errors: [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`] (needs read and
    /// write permission; see [`Completion::open_with`] for less), name errors,
    /// [`ErrorKind::DriverNotLoaded`], [`ErrorKind::AbiMismatch`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kcompletion::Completion::open("job1")?.complete()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<Completion> {
        Completion::open_with(name, Access::ReadWrite)
    }

    /// Opens the existing object `name` with the given access. Operations the access does
    /// not cover fail with [`ErrorKind::BadAccess`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kcompletion::{Access, Completion};
    /// // Only read permission is needed to wait.
    /// Completion::open_with("job1", Access::Read)?.wait(None)?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn open_with(name: &str, access: Access) -> Result<Completion> {
        const OP: &str = "open";
        let kname = validate_name_for(OP, name)?;
        let dev = Device::open(OP, Some(name))?;
        let mut arg = KcOpen {
            name: kname,
            access: access.bits(),
            reserved: 0,
        };
        let fd = ioctl::<raw::Open>(dev.fd(), &mut arg)
            .map_err(|e| Error::from_errno(OP, Some(name), e))?;
        // SAFETY: on success the ioctl returns a new descriptor that nobody else owns.
        Ok(Completion {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            name: name.to_owned(),
            state: OnceLock::new(),
            spin: state::Spin::new(),
        })
    }

    /// Creates an anonymous object: it has no name, and only this handle and the descriptors
    /// made from it (`dup`, `fork`, `SCM_RIGHTS`) reach it, like a `memfd`. It lives while
    /// one of them does. [`name`](Completion::name) is empty. This is what Lunatik's and the
    /// kernel scripts' `completion.new()` makes.
    ///
    /// Errors: [`ErrorKind::Limit`], [`ErrorKind::DriverNotLoaded`],
    /// [`ErrorKind::AbiMismatch`]; [`ErrorKind::InvalidArgument`] from a driver older than
    /// anonymous objects.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let c = kcompletion::Completion::create_anonymous()?;
    /// c.complete()?;
    /// assert!(c.try_wait()?);
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn create_anonymous() -> Result<Completion> {
        const OP: &str = "create";
        let dev = Device::open(OP, None)?;
        let mut arg = KcCreate {
            flags: KC_CREATE_ANONYMOUS,
            ..KcCreate::default()
        };
        let fd =
            ioctl::<raw::Create>(dev.fd(), &mut arg).map_err(|e| Error::from_errno(OP, None, e))?;
        // SAFETY: on success the ioctl returns a new descriptor that nobody else owns.
        Ok(Completion {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            name: String::new(),
            state: OnceLock::new(),
            spin: state::Spin::new(),
        })
    }

    /// Wraps a descriptor of a completion object (from [`IntoRawFd`], `SCM_RIGHTS`, `fork`...).
    ///
    /// The name is taken from the driver's [`info`](Completion::info) if the handle can
    /// read it; otherwise [`name`](Completion::name) is empty. A descriptor that is not a
    /// completion object makes every operation fail (with `ENOTTY`, [`ErrorKind::Other`]).
    pub fn from_fd(fd: OwnedFd) -> Completion {
        let mut c = Completion {
            fd,
            name: String::new(),
            state: OnceLock::new(),
            spin: state::Spin::new(),
        };
        if let Ok(info) = c.info() {
            c.name = info.name;
        }
        c
    }

    /// The name this handle was created or opened with; empty for an anonymous object.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, op: &'static str, errno: Errno) -> Error {
        let name = (!self.name.is_empty()).then_some(self.name.as_str());
        Error::from_errno(op, name, errno)
    }

    /// Increments `done` (saturating) and wakes one waiter. Needs write access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kcompletion::Completion::open("job1")?.complete()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn complete(&self) -> Result<()> {
        ioctl_none::<raw::Complete>(self.fd.as_fd()).map_err(|e| self.err("complete", e))?;
        Ok(())
    }

    /// Sets `done` to "forever" and wakes every waiter: every wait succeeds until
    /// [`reinit`](Completion::reinit). Needs write access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kcompletion::Completion::open("shutdown")?.complete_all()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn complete_all(&self) -> Result<()> {
        ioctl_none::<raw::CompleteAll>(self.fd.as_fd()).map_err(|e| self.err("complete_all", e))?;
        Ok(())
    }

    /// Waits until `done > 0` and consumes one completion, for at most `timeout`
    /// (`None`: forever). Needs read access.
    ///
    /// The timeout is turned into an absolute `CLOCK_MONOTONIC` deadline once. Fails with
    /// [`ErrorKind::Timeout`] at the deadline, and with [`ErrorKind::Interrupted`] if a signal
    /// handler ran first (nothing was consumed; use [`wait_until`](Completion::wait_until)
    /// with a [`Deadline`] to retry without extending the total wait).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let c = kcompletion::Completion::open("job1")?;
    /// match c.wait(Some(Duration::from_millis(50))) {
    ///     Ok(()) => println!("done"),
    ///     Err(e) if e.kind() == kcompletion::ErrorKind::Timeout => println!("{e}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        self.wait_until(Deadline::from_timeout(timeout))
            .map_err(|e| e.with_timeout(timeout))
    }

    /// Waits until `done > 0` and consumes one completion, until an absolute deadline: a
    /// [`Deadline`], a [`std::time::Instant`], a [`std::time::SystemTime`], or
    /// `Option<Duration>` (a timeout from now). Needs read access. Errors as
    /// [`wait`](Completion::wait).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kcompletion::{Completion, Deadline};
    /// let c = Completion::open("job1")?;
    /// c.wait_until(Deadline::from_monotonic_ns(kcompletion::monotonic_now_ns() + 1_000_000))?;
    /// c.wait_until(Deadline::NEVER)?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn wait_until(&self, deadline: impl Into<Deadline>) -> Result<()> {
        // Spin a little on the state page first (`state::wait_spin`, adaptive): a peer
        // on another CPU that answers within the spin costs no sleep and no wake-up.
        if !state::wait_spin().is_zero() {
            if let Some(map) = self.state.get_or_init(|| StateMap::map(self.fd.as_fd())) {
                if self.spin.spin(map) && self.try_wait()? {
                    return Ok(());
                }
            }
        }
        let mut arg = deadline.into().to_raw();
        ioctl::<raw::Wait>(self.fd.as_fd(), &mut arg).map_err(|e| self.err("wait", e))?;
        Ok(())
    }

    /// Completes this object, then waits on `then_wait` for at most `timeout` and consumes
    /// one of its completions, in one system call (a hand-off: signal the peer, wait for its
    /// answer). Needs write access here and read access on `then_wait`; errors as
    /// [`wait`](Completion::wait). A failed wait (timeout, signal) keeps this object's
    /// completion: the signal happened. `then_wait` may be this object.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let (request, reply) = (kcompletion::Completion::open("req")?, kcompletion::Completion::open("rep")?);
    /// request.complete_and_wait(&reply, Some(Duration::from_secs(1)))?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn complete_and_wait(
        &self,
        then_wait: &Completion,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.complete_and_wait_until(then_wait, Deadline::from_timeout(timeout))
            .map_err(|e| e.with_timeout(timeout))
    }

    /// [`complete_and_wait`](Completion::complete_and_wait) until an absolute deadline, as
    /// [`wait_until`](Completion::wait_until) takes it.
    pub fn complete_and_wait_until(
        &self,
        then_wait: &Completion,
        deadline: impl Into<Deadline>,
    ) -> Result<()> {
        self.hand_off(then_wait, deadline.into(), 0)
    }

    /// As [`complete_and_wait`](Completion::complete_and_wait), completing this object for
    /// every waiter ([`complete_all`](Completion::complete_all)) first.
    pub fn complete_all_and_wait(
        &self,
        then_wait: &Completion,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.complete_all_and_wait_until(then_wait, Deadline::from_timeout(timeout))
            .map_err(|e| e.with_timeout(timeout))
    }

    /// As [`complete_and_wait_until`](Completion::complete_and_wait_until), completing this
    /// object for every waiter ([`complete_all`](Completion::complete_all)) first.
    pub fn complete_all_and_wait_until(
        &self,
        then_wait: &Completion,
        deadline: impl Into<Deadline>,
    ) -> Result<()> {
        self.hand_off(then_wait, deadline.into(), KC_COMPLETE_AND_WAIT_ALL)
    }

    fn hand_off(&self, then_wait: &Completion, deadline: Deadline, flags: u32) -> Result<()> {
        let wait = deadline.to_raw();
        let mut arg = KcCompleteAndWait {
            deadline_ns: wait.deadline_ns,
            flags: wait.flags | flags,
            complete_fd: self.fd.as_raw_fd(),
        };
        ioctl::<raw::CompleteAndWait>(then_wait.fd.as_fd(), &mut arg).map_err(|e| {
            let names = format!("{} then {}", self.name, then_wait.name);
            Error::from_errno("complete_and_wait", Some(&names), e)
        })?;
        Ok(())
    }

    /// Consumes one completion if `done > 0` and returns `true`; returns `false` without
    /// blocking otherwise. Needs read access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// if kcompletion::Completion::open("job1")?.try_wait()? {
    ///     println!("consumed one");
    /// }
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    #[inline]
    pub fn try_wait(&self) -> Result<bool> {
        // Nothing pending on the state page: fail without a system call (a completion made
        // after this read is after this try, which then fails as the ioctl would have).
        if self.mapped_done() == Some(0) {
            return Ok(false);
        }
        self.try_wait_slow()
    }

    /// [`Completion::try_wait`] through the ioctl (mapping the page first if it was not tried
    /// yet): out of line, so that the page read above stays a few instructions.
    #[cold]
    #[inline(never)]
    fn try_wait_slow(&self) -> Result<bool> {
        if self.state_done() == Some(0) {
            return Ok(false);
        }
        match ioctl_none::<raw::TryWait>(self.fd.as_fd()) {
            Ok(_) => Ok(true),
            Err(Errno::AGAIN) => Ok(false),
            Err(e) => Err(self.err("try_wait", e)),
        }
    }

    /// Whether `done > 0`, consuming nothing. Needs read access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let done = kcompletion::Completion::open("job1")?.is_done()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    #[inline]
    pub fn is_done(&self) -> Result<bool> {
        if let Some(done) = self.mapped_done() {
            return Ok(done != 0);
        }
        self.is_done_slow()
    }

    /// [`Completion::is_done`] through the ioctl (mapping the page first if it was not tried
    /// yet); out of line, as [`Completion::try_wait_slow`].
    #[cold]
    #[inline(never)]
    fn is_done_slow(&self) -> Result<bool> {
        if let Some(done) = self.state_done() {
            return Ok(done != 0);
        }
        let r = ioctl_none::<raw::Done>(self.fd.as_fd()).map_err(|e| self.err("is_done", e))?;
        Ok(r != 0)
    }

    /// `done` from the state page if it is mapped already (`None` if not, not yet, or the
    /// object was revoked): the fast path, which never maps.
    #[inline]
    fn mapped_done(&self) -> Option<u32> {
        self.state.get()?.as_ref()?.live_done()
    }

    /// `done` read from the object's state page (mapped on the first call), or `None` where
    /// the handle has none (see [`Completion::uses_state_page`]).
    #[inline]
    fn state_done(&self) -> Option<u32> {
        self.state
            .get_or_init(|| StateMap::map(self.fd.as_fd()))
            .as_ref()
            .and_then(StateMap::live_done)
    }

    /// Whether [`is_done`](Completion::is_done) and a failing
    /// [`try_wait`](Completion::try_wait) read the object's state page (mapped read-only on
    /// first use) rather than making an ioctl: false with a driver without state pages, a
    /// handle without read access, or one the caller could not have opened itself (passed
    /// from a more privileged process).
    pub fn uses_state_page(&self) -> bool {
        self.state
            .get_or_init(|| StateMap::map(self.fd.as_fd()))
            .is_some()
    }

    /// Sets `done` to zero. Needs write access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kcompletion::Completion::open("job1")?.reinit()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn reinit(&self) -> Result<()> {
        ioctl_none::<raw::Reinit>(self.fd.as_fd()).map_err(|e| self.err("reinit", e))?;
        Ok(())
    }

    /// A snapshot of the object. Needs read access.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let info = kcompletion::Completion::open("job1")?.info()?;
    /// println!("{} waiters", info.waiters);
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn info(&self) -> Result<Info> {
        let mut out = KcInfo::default();
        ioctl::<raw::Info>(self.fd.as_fd(), &mut out).map_err(|e| self.err("info", e))?;
        Ok(Info::from_raw(&out))
    }

    /// Revokes the object: unlinks its name (if it has one) and kills it, so that every
    /// waiter on it (here or in the kernel) fails at once with
    /// [`ErrorKind::Removed`](crate::ErrorKind::Removed), and so does every later operation
    /// through any handle. Needs write access. Revoking twice fails with `Removed`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kcompletion::Completion::open("job1")?.revoke()?;
    /// # Ok::<(), kcompletion::Error>(())
    /// ```
    pub fn revoke(&self) -> Result<()> {
        ioctl_none::<raw::Revoke>(self.fd.as_fd()).map_err(|e| self.err("revoke", e))?;
        Ok(())
    }

    /// Another descriptor for the same handle (a `dup` with `O_CLOEXEC`), with the same
    /// access. It shares the open file description, so [`Info::handles`] does not change; use
    /// [`Completion::open`] for an independent handle.
    pub fn try_clone(&self) -> Result<Completion> {
        let fd = rustix::io::fcntl_dupfd_cloexec(&self.fd, 0).map_err(|e| self.err("clone", e))?;
        Ok(Completion {
            fd,
            name: self.name.clone(),
            state: OnceLock::new(),
            spin: state::Spin::new(),
        })
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("name", &self.name)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl AsFd for Completion {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Completion {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for Completion {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<Completion> for OwnedFd {
    fn from(c: Completion) -> OwnedFd {
        c.fd
    }
}

impl From<OwnedFd> for Completion {
    /// Same as [`Completion::from_fd`].
    fn from(fd: OwnedFd) -> Completion {
        Completion::from_fd(fd)
    }
}

impl FromRawFd for Completion {
    /// Same as [`Completion::from_fd`].
    ///
    /// # Safety
    ///
    /// `fd` must be an open descriptor that the caller owns and gives up.
    unsafe fn from_raw_fd(fd: RawFd) -> Completion {
        // SAFETY: forwarded to the caller.
        Completion::from_fd(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Removes the name `name`. Handles that are open keep working; the object is freed when the
/// last one closes. A new object can then be created under the same name.
///
/// Errors: [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`] (needs write
/// permission, or ownership, as the driver decides), name errors,
/// [`ErrorKind::DriverNotLoaded`], [`ErrorKind::AbiMismatch`].
///
/// # Examples
///
/// ```no_run
/// kcompletion::unlink("job1")?;
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn unlink(name: &str) -> Result<()> {
    sys::name_request::<raw::Unlink>("unlink", name)
}

/// Every named object visible to the caller, in id order.
///
/// # Examples
///
/// ```no_run
/// for info in kcompletion::list()? {
///     println!("{:>5} {:<20} done={}", info.id, info.name, info.done);
/// }
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn list() -> Result<Vec<Info>> {
    const OP: &str = "list";
    const BATCH: usize = 64;
    let dev = Device::open(OP, None)?;
    let mut out = Vec::new();
    let mut buf = vec![KcInfo::default(); BATCH];
    let mut cursor = 0u32;
    loop {
        let mut arg = ListArg::new(&mut buf, cursor);
        ioctl::<raw::List>(dev.fd(), &mut arg).map_err(|e| Error::from_errno(OP, None, e))?;
        let (count, next) = (arg.count, arg.cursor);
        if count == 0 {
            break;
        }
        let count = (count as usize).min(BATCH);
        out.extend(buf[..count].iter().map(Info::from_raw));
        if next <= cursor && cursor != 0 {
            // A driver that does not advance the cursor would loop forever.
            return Err(Error::new(OP, None, ErrorKind::Other, Some(Errno::PROTO))
                .with_detail("the driver did not advance the list cursor"));
        }
        cursor = next;
    }
    Ok(out)
}

/// The ABI version of the loaded driver (the library speaks [`ABI_VERSION`]).
///
/// Unlike the other operations this does not fail on a mismatch; it fails with
/// [`ErrorKind::DriverNotLoaded`] if there is no driver and [`ErrorKind::AbiMismatch`] if
/// `/dev/kcompletion` is not the kcompletion driver.
///
/// # Examples
///
/// ```no_run
/// let v = kcompletion::abi_version()?;
/// assert_eq!(v, kcompletion::ABI_VERSION);
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn abi_version() -> Result<u32> {
    Device::open_unchecked("version", None)?.version("version", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults_and_builders() {
        let o = Options::default();
        assert_eq!(o.mode, 0o600);
        assert!(!o.exclusive);
        let o = Options::new().mode(0o644).exclusive(true);
        assert_eq!((o.mode, o.exclusive), (0o644, true));
    }

    #[test]
    fn access_bits() {
        assert_eq!(Access::Read.bits(), KC_ACCESS_READ);
        assert_eq!(Access::Write.bits(), KC_ACCESS_WRITE);
        assert_eq!(Access::ReadWrite.bits(), 3);
    }

    // One test, because the environment is process-wide and tests run in parallel.
    #[test]
    fn device_errors() {
        // Even without a driver, a bad name fails as a name error.
        std::env::set_var("KCOMPLETION_DEVICE", "/nonexistent/kcompletion");
        let e = Completion::open("bad name").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidName);
        assert_eq!(e.operation(), "open");
        let e = unlink(&"n".repeat(64)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameTooLong);
        let e = Completion::create("ok", &Options::new().mode(0o1000)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);

        std::env::set_var("KCOMPLETION_DEVICE", "/nonexistent/kcompletion");
        let e = Completion::open("job1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DriverNotLoaded);
        assert_eq!(e.raw_os_error(), Some(2));
        assert!(e.to_string().contains("modprobe kcompletion"), "{e}");
        assert!(e.to_string().starts_with("open \"job1\": "), "{e}");
        assert_eq!(list().unwrap_err().kind(), ErrorKind::DriverNotLoaded);

        std::env::set_var("KCOMPLETION_DEVICE", "/dev/null");
        let e = abi_version().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AbiMismatch);
        assert_eq!(e.raw_os_error(), Some(25)); // ENOTTY
        let e = Completion::create("job1", &Options::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AbiMismatch);
        std::env::remove_var("KCOMPLETION_DEVICE");
    }
}
