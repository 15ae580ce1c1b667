//! Constructors of the ABI's argument structs for userspace ([`KcName::new`], [`RunArg`],
//! [`ListArg`], [`ScriptsArg`]). Not part of `abi.rs`: the kernel does not need them.
//!
//! The argument structs hold user addresses as plain `u64`s. A struct the driver only *reads*
//! through (a name, a script's source) is harmless with any address: a bad one fails with
//! `EFAULT`. A struct the driver *writes* through (`RUN`'s error buffer, `LIST`'s and
//! `SCRIPTS`' entries) is wrapped here in a type that borrows the buffer for as long as the
//! struct lives, so that the typed ioctls of [`crate::raw`] can be safe.

use crate::abi::*;
use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

/// Why [`KcName::new`] refused a name (the driver's rules: 1 to [`KC_NAME_MAX`] bytes, each
/// printable ASCII `0x21..=0x7e`). The driver answers `EINVAL` for [`Empty`](Self::Empty) and
/// [`BadByte`](Self::BadByte), `ENAMETOOLONG` for [`TooLong`](Self::TooLong).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name has no bytes.
    Empty,
    /// The name has this many bytes, more than [`KC_NAME_MAX`] (checked before the bytes).
    TooLong(usize),
    /// The first byte outside `0x21..=0x7e`, and its offset.
    BadByte {
        /// Offset of the byte in the name.
        offset: usize,
        /// The byte.
        byte: u8,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::TooLong(len) => write!(f, "{len} bytes, at most {KC_NAME_MAX}"),
            NameError::BadByte { offset, byte } => write!(
                f,
                "byte 0x{byte:02x} at offset {offset} is not printable ASCII (0x21 to 0x7e)"
            ),
        }
    }
}

/// Checks `name` against the driver's rules, in the driver's order (length, then bytes).
pub fn check_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > KC_NAME_MAX {
        return Err(NameError::TooLong(name.len()));
    }
    match name.iter().position(|b| !(0x21..=0x7e).contains(b)) {
        Some(offset) => Err(NameError::BadByte {
            offset,
            byte: name[offset],
        }),
        None => Ok(()),
    }
}

/// A length as the ABI's `u32`, saturated: never more than the buffer holds.
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl KcName {
    /// The name at `name`, checked as the driver checks it ([`check_name`]).
    ///
    /// The struct holds `name`'s address: keep `name` alive until the ioctl that takes it.
    ///
    /// ```
    /// use kcompletion_abi::{KcName, NameError};
    /// assert_eq!(KcName::new(b"job1").unwrap().len, 4);
    /// assert_eq!(KcName::new(b""), Err(NameError::Empty));
    /// assert_eq!(KcName::new(b"a b"), Err(NameError::BadByte { offset: 1, byte: b' ' }));
    /// ```
    pub fn new(name: &[u8]) -> Result<KcName, NameError> {
        check_name(name).map(|()| KcName::unvalidated(name))
    }

    /// The name at `name`, not checked: the driver rejects a bad one (`EINVAL`,
    /// `ENAMETOOLONG`). For callers that checked it already, or that test the driver's checks.
    #[inline]
    pub fn unvalidated(name: &[u8]) -> KcName {
        KcName {
            ptr: name.as_ptr() as u64,
            len: len32(name.len()),
            reserved: 0,
        }
    }
}

/// An argument struct `T` whose addresses that the driver writes through point into buffers
/// borrowed for `'a`, so that the write lands in live memory. Made by the constructors of
/// [`RunArg`], [`ListArg`] and [`ScriptsArg`]; the driver's outputs are read through `Deref`.
#[repr(transparent)]
#[derive(Debug)]
pub struct Lent<'a, T> {
    raw: T,
    _buffers: PhantomData<&'a mut ()>,
}

impl<T> Deref for Lent<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.raw
    }
}

impl<T> Lent<'_, T> {
    fn wrap(raw: T) -> Self {
        Lent {
            raw,
            _buffers: PhantomData,
        }
    }
}

/// The argument of `RUN` ([`crate::raw::Run`]): a [`KcRun`] with a borrowed error buffer;
/// `error_len` is the driver's output.
pub type RunArg<'a> = Lent<'a, KcRun>;

impl<'a> RunArg<'a> {
    /// Runs `source` as the script `name`; the compile error text (NUL-terminated, cut to
    /// fit) goes to `error` (empty: none wanted). Lengths above `u32::MAX` are cut to it.
    pub fn new(name: KcName, source: &'a [u8], error: &'a mut [u8]) -> RunArg<'a> {
        Lent::wrap(KcRun {
            name,
            source: source.as_ptr() as u64,
            source_len: len32(source.len()),
            error_size: len32(error.len()),
            error: error.as_mut_ptr() as u64,
            error_len: 0,
            reserved: 0,
        })
    }
}

/// The argument of `LIST` ([`crate::raw::List`]): a [`KcList`] with borrowed entries;
/// `count` and `cursor` are the driver's outputs.
pub type ListArg<'a> = Lent<'a, KcList>;

impl<'a> ListArg<'a> {
    /// A batch into `entries` (capacity: its length, cut to `u32::MAX`; the driver refuses
    /// more than [`KC_LIST_MAX`]) of the objects with `id >= cursor`.
    pub fn new(entries: &'a mut [KcInfo], cursor: u32) -> ListArg<'a> {
        Lent::wrap(KcList {
            entries: entries.as_mut_ptr() as u64,
            capacity: len32(entries.len()),
            count: 0,
            cursor,
            reserved: 0,
        })
    }
}

/// The argument of `SCRIPTS` ([`crate::raw::Scripts`]): a [`KcScripts`] with borrowed
/// entries; `count` is the driver's output.
pub type ScriptsArg<'a> = Lent<'a, KcScripts>;

impl<'a> ScriptsArg<'a> {
    /// Every script, into `entries` (capacity: its length, cut to `u32::MAX`).
    pub fn new(entries: &'a mut [KcScriptInfo]) -> ScriptsArg<'a> {
        Lent::wrap(KcScripts {
            entries: entries.as_mut_ptr() as u64,
            capacity: len32(entries.len()),
            count: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = KcName::new(b"job-1").unwrap();
        assert_eq!((n.len, n.reserved), (5, 0));
        assert!(KcName::new(&[b'x'; 63]).is_ok());
        assert_eq!(KcName::new(&[b'x'; 64]), Err(NameError::TooLong(64)));
        // Length before bytes, as the driver.
        assert_eq!(KcName::new(&[b' '; 64]), Err(NameError::TooLong(64)));
        for (bad, at) in [(&b"a\x7f"[..], 1), (&b"\x20x"[..], 0), (&b"nul\0"[..], 3)] {
            match KcName::new(bad) {
                Err(NameError::BadByte { offset, .. }) => assert_eq!(offset, at),
                r => panic!("{bad:?}: {r:?}"),
            }
        }
        assert_eq!(KcName::unvalidated(b"").len, 0);
    }

    #[test]
    fn run_arg() {
        let mut err = [0u8; 16];
        let src = b"print(1)";
        let a = RunArg::new(KcName::unvalidated(b"s"), src, &mut err);
        assert_eq!((a.source_len, a.error_size, a.error_len), (8, 16, 0));
        assert_eq!(a.source, src.as_ptr() as u64);
        assert_eq!(
            core::mem::size_of::<RunArg<'_>>(),
            core::mem::size_of::<KcRun>()
        );
    }

    #[test]
    fn list_and_scripts_args() {
        let mut e = [KcInfo::default(); 3];
        let a = ListArg::new(&mut e, 7);
        assert_eq!((a.capacity, a.cursor, a.count), (3, 7, 0));
        let mut s = [KcScriptInfo::default(); 2];
        assert_eq!(ScriptsArg::new(&mut s).capacity, 2);
    }
}
