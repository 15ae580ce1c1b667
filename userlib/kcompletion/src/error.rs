//! The error type of every fallible operation.

use rustix::io::Errno;
use std::fmt;
use std::time::Duration;

/// What went wrong, in categories a caller can act on. Get it with [`Error::kind`].
///
/// The errno behind it, if any, is still available from [`Error::raw_os_error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A wait reached its deadline (`ETIMEDOUT`).
    Timeout,
    /// A wait was interrupted by a signal before it consumed a completion (`EINTR`).
    /// Nothing was consumed; waiting again with the same deadline is safe.
    Interrupted,
    /// No completion has this name (`ENOENT`).
    NotFound,
    /// An exclusive create found the name taken (`EEXIST`).
    Exists,
    /// The object's mode does not let this user do that (`EACCES`, `EPERM`).
    PermissionDenied,
    /// Too many objects: the global limit (`ENOSPC`) or this user's limit (`EDQUOT`).
    Limit,
    /// The name is empty or has a byte outside printable ASCII `0x21..=0x7e` (`EINVAL`).
    InvalidName,
    /// The name is longer than 63 bytes (`ENAMETOOLONG`).
    NameTooLong,
    /// Another argument is invalid, e.g. a mode above `0o777` (`EINVAL`).
    InvalidArgument,
    /// `/dev/kcompletion` does not exist: the driver is not loaded.
    DriverNotLoaded,
    /// The driver speaks another ABI version, or `/dev/kcompletion` is not the kcompletion
    /// driver at all (`ENOTTY` on the version ioctl).
    AbiMismatch,
    /// The handle was opened without the access the operation needs (`EBADF`), e.g.
    /// completing through a read-only handle.
    BadAccess,
    /// The object was revoked (`EIDRM`): its waiters were woken with this, and every
    /// operation on it fails so.
    Removed,
    /// A kernel Lua script's source does not compile (`ENOEXEC` from `run`); the compiler's
    /// message is [`Error::detail`].
    CompileError,
    /// Anything else; see [`Error::raw_os_error`].
    Other,
}

impl ErrorKind {
    /// Maps an errno from a kcompletion ioctl to its kind.
    ///
    /// `ETIMEDOUT` is [`Timeout`](Self::Timeout), `EINTR` [`Interrupted`](Self::Interrupted),
    /// `ENOENT` [`NotFound`](Self::NotFound), `EEXIST` [`Exists`](Self::Exists), `EACCES` and
    /// `EPERM` [`PermissionDenied`](Self::PermissionDenied), `ENOSPC` and `EDQUOT`
    /// [`Limit`](Self::Limit), `EINVAL` [`InvalidArgument`](Self::InvalidArgument) (names are
    /// validated before the call, so the driver's `EINVAL` is about something else),
    /// `ENAMETOOLONG` [`NameTooLong`](Self::NameTooLong), `EBADF`
    /// [`BadAccess`](Self::BadAccess), anything else [`Other`](Self::Other).
    ///
    /// # Examples
    ///
    /// ```
    /// use kcompletion::ErrorKind;
    /// assert_eq!(ErrorKind::from_errno(110), ErrorKind::Timeout); // ETIMEDOUT
    /// assert_eq!(ErrorKind::from_errno(2), ErrorKind::NotFound); // ENOENT
    /// ```
    pub fn from_errno(errno: i32) -> ErrorKind {
        match Errno::from_raw_os_error(errno) {
            Errno::TIMEDOUT => ErrorKind::Timeout,
            Errno::INTR => ErrorKind::Interrupted,
            Errno::NOENT => ErrorKind::NotFound,
            Errno::EXIST => ErrorKind::Exists,
            Errno::ACCESS | Errno::PERM => ErrorKind::PermissionDenied,
            Errno::NOSPC | Errno::DQUOT => ErrorKind::Limit,
            Errno::INVAL => ErrorKind::InvalidArgument,
            Errno::NAMETOOLONG => ErrorKind::NameTooLong,
            Errno::BADF => ErrorKind::BadAccess,
            Errno::NOEXEC => ErrorKind::CompileError,
            Errno::IDRM => ErrorKind::Removed,
            _ => ErrorKind::Other,
        }
    }

    /// A short lowercase description, such as `"timed out"` or `"no such completion"`.
    pub fn description(self) -> &'static str {
        self.texts().0
    }

    /// The terser message the Lua module returns for this kind, such as `"timeout"` or
    /// `"not found"`; `None` for the kinds it describes otherwise (ABI mismatch, compile error,
    /// other errors).
    pub fn short_message(self) -> Option<&'static str> {
        self.texts().1
    }

    /// The one table of the kinds' texts: ([`description`](Self::description),
    /// [`short_message`](Self::short_message)).
    fn texts(self) -> (&'static str, Option<&'static str>) {
        match self {
            ErrorKind::Timeout => ("timed out", Some("timeout")),
            ErrorKind::Interrupted => ("interrupted by a signal", Some("interrupt")),
            ErrorKind::NotFound => ("no such completion", Some("not found")),
            ErrorKind::Exists => ("already exists", Some("exists")),
            ErrorKind::PermissionDenied => ("permission denied", Some("permission denied")),
            ErrorKind::Limit => ("too many completions", Some("limit reached")),
            ErrorKind::InvalidName => (
                "invalid name (names are 1 to 63 bytes of printable ASCII, no spaces)",
                Some("invalid name"),
            ),
            ErrorKind::NameTooLong => ("name too long", Some("name too long")),
            ErrorKind::InvalidArgument => ("invalid argument", Some("invalid argument")),
            ErrorKind::DriverNotLoaded => (
                "the kcompletion driver is not loaded (/dev/kcompletion does not exist); \
                 load it with `modprobe kcompletion` or `insmod kcompletion.ko`",
                Some(
                    "driver not loaded (load it with `modprobe kcompletion` or \
                     `insmod kcompletion.ko`)",
                ),
            ),
            ErrorKind::AbiMismatch => ("ABI mismatch between this library and the driver", None),
            ErrorKind::BadAccess => (
                "the handle lacks the access this operation needs",
                Some("bad access"),
            ),
            ErrorKind::CompileError => ("the Lua script does not compile", None),
            ErrorKind::Removed => ("the completion was revoked", Some("removed")),
            ErrorKind::Other => ("error", None),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The error of every fallible operation of this crate.
///
/// It records the operation (`"create"`, `"wait"`, ...), the completion's name when there is
/// one, the [`ErrorKind`] and the errno. Its `Display` names all of them, for example
/// `wait "job1": timed out after 50 ms` or `open "job1": no such completion`.
///
/// # Examples
///
/// ```no_run
/// use kcompletion::{Completion, ErrorKind};
///
/// match Completion::open("job1") {
///     Ok(c) => println!("opened {}", c.name()),
///     Err(e) if e.kind() == ErrorKind::NotFound => println!("nobody created job1 yet"),
///     Err(e) => eprintln!("{e}"),
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Error {
    op: &'static str,
    name: Option<String>,
    kind: ErrorKind,
    errno: Option<Errno>,
    detail: Option<String>,
    after: Option<Duration>,
}

impl Error {
    pub(crate) fn new(
        op: &'static str,
        name: Option<&str>,
        kind: ErrorKind,
        errno: Option<Errno>,
    ) -> Error {
        Error {
            op,
            name: name.map(str::to_owned),
            kind,
            errno,
            detail: None,
            after: None,
        }
    }

    /// An error from the errno of a failed call, with the kind from [`ErrorKind::from_errno`].
    pub(crate) fn from_errno(op: &'static str, name: Option<&str>, errno: Errno) -> Error {
        let kind = ErrorKind::from_errno(errno.raw_os_error());
        let mut e = Error::new(op, name, kind, Some(errno));
        match errno {
            Errno::NOSPC => e.detail = Some("the global limit is reached".into()),
            Errno::DQUOT => e.detail = Some("this user's limit is reached".into()),
            _ => {}
        }
        e
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_timeout(mut self, after: Option<Duration>) -> Error {
        if self.kind == ErrorKind::Timeout {
            self.after = after;
        }
        self
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno behind the error, if it came from (or mirrors) a system call.
    ///
    /// Userspace name validation reports the errno the driver would have returned (`EINVAL`
    /// or `ENAMETOOLONG`); an ABI version mismatch has none.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno.map(Errno::raw_os_error)
    }

    /// The operation that failed: `"create"`, `"open"`, `"unlink"`, `"list"`, `"version"`,
    /// `"complete"`, `"complete_all"`, `"wait"`, `"try_wait"`, `"is_done"`, `"reinit"`,
    /// `"info"` or `"validate"`.
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The name of the completion (or kernel Lua script) involved, if known.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Further text about the error, if any: for [`ErrorKind::CompileError`], the Lua
    /// compiler's message (`name:line: ...`).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The cause alone, without the operation and the name: for example `timed out after
    /// 50 ms` or `no such completion`.
    pub fn cause(&self) -> String {
        let mut s = String::new();
        match self.kind {
            ErrorKind::Other => match self.errno {
                Some(errno) => {
                    s.push_str(&std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string())
                }
                None => s.push_str("error"),
            },
            kind => s.push_str(kind.description()),
        }
        if let Some(after) = self.after {
            s.push_str(&format!(" after {}", format_duration(after)));
        }
        if let Some(detail) = &self.detail {
            s.push_str(": ");
            s.push_str(detail);
        }
        s
    }
}

/// `50 ms`, `1.5 s`, `250 us`: short and exact enough for messages.
pub(crate) fn format_duration(d: Duration) -> String {
    if d.subsec_nanos().is_multiple_of(1_000_000) || d.as_secs() >= 10 {
        format!("{} ms", d.as_millis())
    } else if d.as_micros() > 0 {
        format!("{} us", d.as_micros())
    } else {
        format!("{} ns", d.as_nanos())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} {:?}: {}", self.op, name, self.cause()),
            None => write!(f, "{}: {}", self.op, self.cause()),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        use std::io::ErrorKind as K;
        let kind = match e.kind {
            ErrorKind::Timeout => K::TimedOut,
            ErrorKind::Interrupted => K::Interrupted,
            ErrorKind::NotFound | ErrorKind::DriverNotLoaded => K::NotFound,
            ErrorKind::Exists => K::AlreadyExists,
            ErrorKind::PermissionDenied => K::PermissionDenied,
            ErrorKind::InvalidName | ErrorKind::NameTooLong | ErrorKind::InvalidArgument => {
                K::InvalidInput
            }
            _ => K::Other,
        };
        std::io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping() {
        let cases = [
            (Errno::TIMEDOUT, ErrorKind::Timeout),
            (Errno::INTR, ErrorKind::Interrupted),
            (Errno::NOENT, ErrorKind::NotFound),
            (Errno::EXIST, ErrorKind::Exists),
            (Errno::ACCESS, ErrorKind::PermissionDenied),
            (Errno::PERM, ErrorKind::PermissionDenied),
            (Errno::NOSPC, ErrorKind::Limit),
            (Errno::DQUOT, ErrorKind::Limit),
            (Errno::INVAL, ErrorKind::InvalidArgument),
            (Errno::NAMETOOLONG, ErrorKind::NameTooLong),
            (Errno::BADF, ErrorKind::BadAccess),
            (Errno::NOTTY, ErrorKind::Other),
            (Errno::FAULT, ErrorKind::Other),
        ];
        for (errno, kind) in cases {
            assert_eq!(
                ErrorKind::from_errno(errno.raw_os_error()),
                kind,
                "{errno:?}"
            );
            let e = Error::from_errno("op", Some("n"), errno);
            assert_eq!(e.kind(), kind);
            assert_eq!(e.raw_os_error(), Some(errno.raw_os_error()));
        }
    }

    #[test]
    fn display_names_op_name_and_cause() {
        let e = Error::from_errno("wait", Some("job1"), Errno::TIMEDOUT)
            .with_timeout(Some(Duration::from_millis(50)));
        assert_eq!(e.to_string(), "wait \"job1\": timed out after 50 ms");
        let e = Error::from_errno("open", Some("job1"), Errno::NOENT);
        assert_eq!(e.to_string(), "open \"job1\": no such completion");
        let e = Error::from_errno("create", Some("j"), Errno::DQUOT);
        assert_eq!(
            e.to_string(),
            "create \"j\": too many completions: this user's limit is reached"
        );
        let e = Error::from_errno("list", None, Errno::FAULT);
        assert!(e.to_string().starts_with("list: Bad address"), "{e}");
        let e = Error::new("open", None, ErrorKind::DriverNotLoaded, Some(Errno::NOENT));
        assert!(e.to_string().contains("modprobe kcompletion"), "{e}");
        // Odd names are quoted and escaped.
        let e = Error::from_errno("open", Some("a\nb"), Errno::INVAL);
        assert!(e.to_string().starts_with("open \"a\\nb\""), "{e}");
    }

    #[test]
    fn short_messages() {
        assert_eq!(ErrorKind::Timeout.short_message(), Some("timeout"));
        assert_eq!(ErrorKind::Limit.short_message(), Some("limit reached"));
        assert_eq!(
            ErrorKind::DriverNotLoaded.short_message(),
            Some(
                "driver not loaded (load it with `modprobe kcompletion` or `insmod kcompletion.ko`)"
            )
        );
        for kind in [
            ErrorKind::AbiMismatch,
            ErrorKind::CompileError,
            ErrorKind::Other,
        ] {
            assert_eq!(kind.short_message(), None, "{kind:?}");
        }
    }

    #[test]
    fn timeout_detail_only_on_timeouts() {
        let e = Error::from_errno("wait", Some("x"), Errno::INTR)
            .with_timeout(Some(Duration::from_millis(5)));
        assert_eq!(e.to_string(), "wait \"x\": interrupted by a signal");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(50)), "50 ms");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500 us");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7 ns");
        assert_eq!(format_duration(Duration::ZERO), "0 ms");
    }

    #[test]
    fn into_io_error() {
        let e: std::io::Error = Error::from_errno("wait", Some("x"), Errno::TIMEDOUT).into();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }
}
