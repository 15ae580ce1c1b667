//! The exit codes of the `kcompletion` command: one table, for the command and for programs
//! that run it.

use crate::ErrorKind;

/// Each code once: its constant, its value, its meaning as `--help` says it, and the error
/// kind that exits with it.
macro_rules! exit_codes {
    ($($name:ident = $code:literal, $meaning:literal, $kind:expr;)*) => {
        $(
            #[doc = concat!("Exit code ", $code, ": ", $meaning, ".")]
            pub const $name: u8 = $code;
        )*

        /// Every exit code: the code, its meaning as `--help` says it, and the error kind that
        /// exits with it (other kinds exit with [`OTHER`]).
        pub const TABLE: &[(u8, &str, Option<ErrorKind>)] = &[$(($name, $meaning, $kind)),*];
    };
}

exit_codes! {
    OK = 0, "success", None;
    OTHER = 1, "other error", None;
    USAGE = 2, "usage error (bad arguments, including an invalid name or mode)", None;
    TIMEOUT = 3, "timeout (wait --timeout, complete --then-wait --timeout)", Some(ErrorKind::Timeout);
    NOT_DONE = 4, "not done (trywait)", None;
    NOT_FOUND = 5, "not found", Some(ErrorKind::NotFound);
    PERMISSION_DENIED = 6, "permission denied", Some(ErrorKind::PermissionDenied);
    INTERRUPTED = 7, "interrupted by a signal (wait, complete --then-wait: SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2)",
        Some(ErrorKind::Interrupted);
    EXISTS = 8, "exists (create --exclusive)", Some(ErrorKind::Exists);
    LIMIT = 9, "limit reached (too many completions)", Some(ErrorKind::Limit);
    DRIVER_NOT_LOADED = 10, "driver not loaded", Some(ErrorKind::DriverNotLoaded);
    COMPILE_ERROR = 11, "the Lua script does not compile (run, run --check)", Some(ErrorKind::CompileError);
    REMOVED = 12, "the completion was revoked (unlink --revoke)", Some(ErrorKind::Removed);
}

/// The exit code of a failure of this kind.
pub fn code(kind: ErrorKind) -> u8 {
    TABLE
        .iter()
        .find(|(_, _, k)| *k == Some(kind))
        .map_or(OTHER, |&(code, _, _)| code)
}

/// The `Exit codes:` section of `--help`: a line a code.
pub fn help() -> String {
    let mut s = String::from("Exit codes:");
    for (code, meaning, _) in TABLE {
        s.push_str(&format!("\n  {code:<4}{meaning}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(code(ErrorKind::Timeout), 3);
        assert_eq!(code(ErrorKind::NotFound), 5);
        assert_eq!(code(ErrorKind::DriverNotLoaded), 10);
        assert_eq!(code(ErrorKind::CompileError), 11);
        assert_eq!(code(ErrorKind::Removed), 12);
        assert_eq!(code(ErrorKind::BadAccess), OTHER);
        assert_eq!(code(ErrorKind::Other), OTHER);
        for (i, (c, _, _)) in TABLE.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn help_text() {
        assert_eq!(
            help(),
            "\
Exit codes:
  0   success
  1   other error
  2   usage error (bad arguments, including an invalid name or mode)
  3   timeout (wait --timeout, complete --then-wait --timeout)
  4   not done (trywait)
  5   not found
  6   permission denied
  7   interrupted by a signal (wait, complete --then-wait: SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2)
  8   exists (create --exclusive)
  9   limit reached (too many completions)
  10  driver not loaded
  11  the Lua script does not compile (run, run --check)
  12  the completion was revoked (unlink --revoke)"
        );
    }
}
