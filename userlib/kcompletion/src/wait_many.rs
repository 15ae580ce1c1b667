//! Waiting for any or all of several completions in one call (`KC_IOC_WAIT_MANY`).

use crate::error::{Error, ErrorKind};
use crate::sys::{ioctl, Device};
use crate::{Completion, Deadline, Result};
use kcompletion_abi::raw;
use kcompletion_abi::{KcWaitMany, KC_NO_ALERT, KC_WAIT_ALL, KC_WAIT_MANY_MAX};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

/// What ended a [`wait_many`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// Any: the completion at this index was consumed. All: every one was (index 0).
    Object(usize),
    /// The alert was consumed.
    Alert,
}

/// Waits until any one of `objects` is done and consumes one completion from it (the lowest
/// index when several are), for at most `timeout` (`None`: no limit); returns its index.
/// Each handle needs read access; 1 to 128 of them (a handle may appear twice). Fails with
/// [`ErrorKind::Timeout`] or [`ErrorKind::Interrupted`] having consumed nothing, or
/// [`ErrorKind::Removed`] if one was revoked.
///
/// # Examples
///
/// ```no_run
/// use kcompletion::Completion;
/// use std::time::Duration;
/// let (ok, failed) = (Completion::open("build-ok")?, Completion::open("build-failed")?);
/// match kcompletion::wait_any(&[&ok, &failed], Some(Duration::from_secs(60)))? {
///     0 => println!("built"),
///     _ => println!("failed"),
/// }
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn wait_any(objects: &[&Completion], timeout: Option<Duration>) -> Result<usize> {
    match wait_many(objects, false, None, Deadline::from_timeout(timeout))
        .map_err(|e| e.with_timeout(timeout))?
    {
        Woken::Object(i) => Ok(i),
        Woken::Alert => unreachable!("no alert was given"),
    }
}

/// Waits until all of `objects` are done at the same instant and consumes one completion
/// from each in one step (never from some only), for at most `timeout`. Each handle needs
/// read access; 1 to 128 distinct objects ([`ErrorKind::InvalidArgument`] for a duplicate).
/// Errors as [`wait_any`].
///
/// # Examples
///
/// ```no_run
/// use kcompletion::Completion;
/// let workers: Vec<Completion> =
///     (0..8).map(|i| Completion::open(&format!("ready{i}"))).collect::<Result<_, _>>()?;
/// kcompletion::wait_all(&workers.iter().collect::<Vec<_>>(), None)?;
/// # Ok::<(), kcompletion::Error>(())
/// ```
pub fn wait_all(objects: &[&Completion], timeout: Option<Duration>) -> Result<()> {
    wait_many(objects, true, None, Deadline::from_timeout(timeout))
        .map_err(|e| e.with_timeout(timeout))?;
    Ok(())
}

/// The general form of [`wait_any`] (`all == false`) and [`wait_all`]: an absolute deadline
/// and an optional `alert`, whose completion ends either wait ([`Woken::Alert`]).
pub fn wait_many(
    objects: &[&Completion],
    all: bool,
    alert: Option<&Completion>,
    deadline: impl Into<Deadline>,
) -> Result<Woken> {
    let fds: Vec<BorrowedFd<'_>> = objects.iter().map(|c| c.as_fd()).collect();
    wait_many_fds(&fds, all, alert.map(|a| a.as_fd()), deadline)
}

/// [`wait_many`] over object fds that are not [`Completion`]s (a binding's own handles, say):
/// each must be a kcompletion object fd with read access, or the call fails as the driver
/// says (`EINVAL`, `EBADF`).
pub fn wait_many_fds(
    objects: &[BorrowedFd<'_>],
    all: bool,
    alert: Option<BorrowedFd<'_>>,
    deadline: impl Into<Deadline>,
) -> Result<Woken> {
    let op = if all { "wait_all" } else { "wait_any" };
    if objects.is_empty() || objects.len() > KC_WAIT_MANY_MAX as usize {
        return Err(
            Error::new(op, None, ErrorKind::InvalidArgument, None).with_detail(format!(
                "{} objects: 1 to {KC_WAIT_MANY_MAX} can be waited for",
                objects.len()
            )),
        );
    }
    let fds: Vec<i32> = objects.iter().map(|fd| fd.as_raw_fd()).collect();
    let raw = deadline.into().to_raw();
    let mut arg = KcWaitMany {
        deadline_ns: raw.deadline_ns,
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        flags: raw.flags | if all { KC_WAIT_ALL } else { 0 },
        alert_fd: alert.map_or(KC_NO_ALERT, |a| a.as_raw_fd()),
        index: 0,
        reserved: 0,
    };
    let dev = Device::open(op, None)?;
    ioctl::<raw::WaitMany>(dev.fd(), &mut arg).map_err(|e| Error::from_errno(op, None, e))?;
    let index = arg.index as usize;
    Ok(if index == objects.len() {
        Woken::Alert
    } else {
        Woken::Object(index)
    })
}

/// A wait set (`KC_IOC_WAIT_SET`): a fixed set of objects and a mode behind one fd, which
/// `poll`/`epoll` report readable while any (or all) of them are done, so that a wait-all can
/// sit in an event loop beside sockets and eventfds. [`WaitSet::wait`] consumes as
/// [`wait_any`] / [`wait_all`] do. The set keeps its objects: the handles it was made from
/// may be dropped.
///
/// # Examples
///
/// ```no_run
/// use kcompletion::{Completion, WaitSet};
/// use std::os::fd::AsFd;
/// let (a, b) = (Completion::open("ready-a")?, Completion::open("ready-b")?);
/// let both = WaitSet::all(&[&a, &b])?;
/// // ... register both.as_fd() with epoll; once it is readable:
/// both.wait(Some(std::time::Duration::ZERO))?;
/// # Ok::<(), kcompletion::Error>(())
/// ```
#[derive(Debug)]
pub struct WaitSet {
    fd: std::os::fd::OwnedFd,
    all: bool,
}

impl WaitSet {
    /// A set that is ready while any of `objects` is done (1 to 128 handles with read
    /// access; repeats allowed).
    pub fn any(objects: &[&Completion]) -> Result<WaitSet> {
        WaitSet::new(objects, false)
    }

    /// A set that is ready while all of `objects` are done (1 to 128 distinct objects with
    /// read access).
    pub fn all(objects: &[&Completion]) -> Result<WaitSet> {
        WaitSet::new(objects, true)
    }

    fn new(objects: &[&Completion], all: bool) -> Result<WaitSet> {
        let op = "wait_set";
        let fds: Vec<i32> = objects.iter().map(|fd| fd.as_raw_fd()).collect();
        let mut arg = kcompletion_abi::KcWaitSet {
            fds: fds.as_ptr() as u64,
            count: fds.len() as u32,
            flags: if all { KC_WAIT_ALL } else { 0 },
            reserved: 0,
        };
        let dev = Device::open(op, None)?;
        let fd = ioctl::<raw::WaitSet>(dev.fd(), &mut arg)
            .map_err(|e| Error::from_errno(op, None, e))?;
        // SAFETY: WAIT_SET returned a new fd that nothing else owns.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(WaitSet { fd, all })
    }

    /// Waits for the set's condition for at most `timeout` (`None`: no limit) and consumes:
    /// returns the index consumed (any) or 0 (all). Errors as [`wait_any`].
    pub fn wait(&self, timeout: Option<Duration>) -> Result<usize> {
        self.wait_until(Deadline::from_timeout(timeout))
            .map_err(|e| e.with_timeout(timeout))
    }

    /// As [`WaitSet::wait`], until an absolute deadline.
    pub fn wait_until(&self, deadline: impl Into<Deadline>) -> Result<usize> {
        let op = if self.all { "wait_all" } else { "wait_any" };
        let mut arg = deadline.into().to_raw();
        let index = ioctl::<raw::Wait>(self.fd.as_fd(), &mut arg)
            .map_err(|e| Error::from_errno(op, None, e))?;
        Ok(index as usize)
    }
}

impl AsFd for WaitSet {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for WaitSet {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}
