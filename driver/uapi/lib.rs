//! The ioctl ABI of `/dev/kcompletion`.
//!
//! The definitions live in `abi.rs` beside this file, a dependency-free file that the kernel
//! driver (`driver/main.rs`) includes with `#[path]`; this crate re-exports them for userspace.
//! `driver/ABI.md` documents the semantics and `linux/kcompletion.h` beside it is the same ABI
//! for C (`-I driver/uapi`); `tests/c_header.rs` checks that the two agree.
#![no_std]

#[path = "abi.rs"]
mod abi;
pub use abi::*;
