//! Name validation, with the same rules as the driver.

use crate::error::{Error, ErrorKind};
use kcompletion_abi::{KcName, NameError, KC_NAME_MAX};
use rustix::io::Errno;

/// Longest name in bytes (63).
pub const NAME_MAX: usize = KC_NAME_MAX;

/// Checks that `name` is a valid completion name, exactly as the driver does.
///
/// A valid name is 1 to [`NAME_MAX`] (63) bytes, each a printable ASCII character other than
/// the space (`0x21..=0x7e`). A name that is too long fails with
/// [`ErrorKind::NameTooLong`], anything else invalid with [`ErrorKind::InvalidName`]. The
/// library calls this before every ioctl that takes a name, so a bad name fails at once,
/// without touching `/dev/kcompletion`.
///
/// # Examples
///
/// ```
/// use kcompletion::{validate_name, ErrorKind};
///
/// assert!(validate_name("job-1").is_ok());
/// assert_eq!(validate_name("").unwrap_err().kind(), ErrorKind::InvalidName);
/// assert_eq!(validate_name("has space").unwrap_err().kind(), ErrorKind::InvalidName);
/// assert_eq!(validate_name(&"x".repeat(64)).unwrap_err().kind(), ErrorKind::NameTooLong);
/// ```
pub fn validate_name(name: &str) -> Result<(), Error> {
    validate_name_for("validate", name).map(|_| ())
}

/// [`validate_name`], with the operation to report in the error; the ioctl argument for the
/// name (which borrows `name`'s bytes: keep `name` alive until the ioctl).
pub(crate) fn validate_name_for(op: &'static str, name: &str) -> Result<KcName, Error> {
    KcName::new(name.as_bytes()).map_err(|e| {
        let (kind, errno) = match e {
            NameError::TooLong(_) => (ErrorKind::NameTooLong, Errno::NAMETOOLONG),
            NameError::Empty | NameError::BadByte { .. } => (ErrorKind::InvalidName, Errno::INVAL),
        };
        Error::new(op, Some(name), kind, Some(errno)).with_detail(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for n in [
            "a",
            "job1",
            "!",
            "~",
            "a/b",
            "x".repeat(63).as_str(),
            "all-printable_!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~",
        ] {
            assert!(validate_name(n).is_ok(), "{n:?}");
        }
    }

    #[test]
    fn rejects_empty() {
        let e = validate_name("").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidName);
        assert_eq!(e.raw_os_error(), Some(22));
    }

    #[test]
    fn rejects_long() {
        let e = validate_name(&"x".repeat(64)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameTooLong);
        assert_eq!(e.raw_os_error(), Some(36));
        // Length is checked before content.
        let e = validate_name(&" ".repeat(64)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameTooLong);
    }

    #[test]
    fn rejects_bad_bytes() {
        for n in [
            " ", "a b", "tab\t", "nl\n", "del\x7f", "nul\0", "é", "\x20x",
        ] {
            let e = validate_name(n).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidName, "{n:?}");
        }
        let e = validate_name("a b").unwrap_err();
        assert!(e.to_string().contains("0x20 at offset 1"), "{e}");
    }
}
