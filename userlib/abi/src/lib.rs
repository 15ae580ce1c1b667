//! The ioctl ABI of `/dev/kcompletion`.
//!
//! The definitions live in `abi.rs`, a dependency-free file that the kernel driver includes with
//! `#[path]`; this crate re-exports them for userspace. `driver/ABI.md` documents the semantics
//! and `driver/include/uapi/linux/kcompletion.h` is the same ABI for C.
#![no_std]

#[path = "abi.rs"]
mod abi;
pub use abi::*;
