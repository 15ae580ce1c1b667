// SPDX-License-Identifier: GPL-2.0
//! Every difference between the kernels this driver builds on, and nothing else: the rest of
//! the driver reads version-free.
//!
//! Tested: Linux 6.12 (LTS) and 7.3. `Kbuild` sets `--cfg kc_rust_7` for trees of version 7
//! or newer (from the tree's `VERSION`); kernels 6.13 to 6.19 are not supported (the Rust
//! `kernel` crate changed piecemeal between the two, and `dkms.conf` refuses them).

#[cfg(not(kc_rust_7))]
pub(crate) use kernel::types::{ARef, AsBytes, FromBytes};

#[cfg(kc_rust_7)]
pub(crate) use kernel::{
    sync::aref::ARef,
    transmute::{AsBytes, FromBytes},
};

/// A file looked up by fd for one call: upstream's from 7.x, ours (same shape) on 6.12.
#[cfg(not(kc_rust_7))]
pub(crate) use crate::local_file::LocalFile;
#[cfg(kc_rust_7)]
pub(crate) use kernel::fs::file::LocalFile;

/// A vma in its `mmap` setup: upstream's `kernel::mm::virt` from 7.x, ours (same shape) on
/// 6.12.
#[cfg(not(kc_rust_7))]
pub(crate) use crate::vma::VmaNew;
#[cfg(kc_rust_7)]
pub(crate) use kernel::mm::virt::VmaNew;

use kernel::uaccess::UserSlice;

/// The userspace buffer of `len` bytes at address `addr` (6.12 takes the address as `usize`,
/// 7.x as a `UserPtr`).
pub(crate) fn user_slice(addr: usize, len: usize) -> UserSlice {
    #[cfg(not(kc_rust_7))]
    let ptr = addr;
    #[cfg(kc_rust_7)]
    let ptr = kernel::uaccess::UserPtr::from_addr(addr);
    UserSlice::new(ptr, len)
}

/// `module!` with the author key each kernel's macro takes (`author` in 6.12, `authors` in
/// 7.x); invoked once, in the crate root.
#[cfg(not(kc_rust_7))]
macro_rules! kc_module {
    (type: $t:ident, name: $name:tt, author: $author:tt, description: $d:tt, license: $l:tt $(,)?) => {
        module! { type: $t, name: $name, author: $author, description: $d, license: $l, }
    };
}

#[cfg(kc_rust_7)]
macro_rules! kc_module {
    (type: $t:ident, name: $name:tt, author: $author:tt, description: $d:tt, license: $l:tt $(,)?) => {
        module! { type: $t, name: $name, authors: [$author], description: $d, license: $l, }
    };
}
