//! The ioctl ABI of `/dev/kcompletion`.
//!
//! The definitions live in `abi.rs` beside this file, a dependency-free file that the kernel
//! driver (`driver/main.rs`) includes with `#[path]`; this crate re-exports them for userspace.
//! `driver/ABI.md` documents the semantics and `linux/kcompletion.h` beside it is the same ABI
//! for C (`-I driver/uapi`); `tests/c_header.rs` checks that the two agree.
//!
//! For userspace only (not in `abi.rs`): constructors of the argument structs
//! ([`KcName::new`], [`RunArg`], [`ListArg`], [`ScriptsArg`]) and [`raw`], the typed ioctls
//! (their syscalls need the default cargo feature `raw`, which uses `libc` and `std`; without
//! it the crate has no dependency and is `no_std`).
#![no_std]

#[cfg(feature = "raw")]
extern crate std;

#[path = "abi.rs"]
mod abi;
pub use abi::*;

mod args;
pub use args::{check_name, Lent, ListArg, NameError, RunArg, ScriptsArg};

pub mod raw;
