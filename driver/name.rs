// SPDX-License-Identifier: GPL-2.0
//! Object names: 1 to 63 bytes of printable ASCII, stored inline.

use crate::abi::{KcName, KC_NAME_MAX};
use kernel::bindings;
use kernel::error::{code::EINVAL, Error};
use kernel::prelude::*;

/// A validated name, stored inline so an object needs no second allocation.
#[derive(Clone, Copy)]
pub(crate) struct Name {
    len: u8,
    bytes: [u8; KC_NAME_MAX],
}

fn enametoolong() -> Error {
    Error::from_errno(-(bindings::ENAMETOOLONG as i32))
}

impl Name {
    /// Validates `bytes`: empty or a byte outside 0x21..=0x7e gives `EINVAL`, more than
    /// [`KC_NAME_MAX`] bytes gives `ENAMETOOLONG`.
    pub(crate) fn new(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(EINVAL);
        }
        if bytes.len() > KC_NAME_MAX {
            return Err(enametoolong());
        }
        if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(EINVAL);
        }
        let mut name = Name {
            len: bytes.len() as u8,
            bytes: [0; KC_NAME_MAX],
        };
        name.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(name)
    }

    /// Reads and validates a name that userspace passed by reference.
    pub(crate) fn from_user(arg: &KcName) -> Result<Self> {
        if arg.reserved != 0 {
            return Err(EINVAL);
        }
        let len = arg.len as usize;
        if len == 0 {
            return Err(EINVAL);
        }
        if len > KC_NAME_MAX {
            return Err(enametoolong());
        }
        let mut buf = [0u8; KC_NAME_MAX];
        crate::compat::user_slice(arg.ptr as usize, len)
            .reader()
            .read_slice(&mut buf[..len])?;
        Self::new(&buf[..len])
    }

    /// The empty name of an anonymous object (never in the name table).
    pub(crate) const fn anonymous() -> Self {
        Name {
            len: 0,
            bytes: [0; KC_NAME_MAX],
        }
    }

    /// The name's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
