// SPDX-License-Identifier: GPL-2.0
//! Kernel Lua: scripts that userspace starts with `RUN` and that run in kernel threads, with a
//! `completion` module over the same objects userspace sees.
//!
//! Where each part lives (this folder holds all of it; `README.md` has the dialect):
//!
//! | file | what |
//! |---|---|
//! | `ioctl.rs` | `RUN`, `STOP`, `SCRIPTS`: copying requests in and results out |
//! | `scripts.rs` | the table of scripts (64 slots), reaping, module exit |
//! | `script.rs` | one script: its kernel thread and how it ended |
//! | `vm.rs` | a Lua state of `kclua_vm.c`, owned (the Rust side of `kclua.h`) |
//! | `completion.rs` | the object functions `kclua_completion.c` calls (`completion.new`, `c:wait` ...) |
//! | `kclua_vm.c` | the Lua host: capped allocator, STOP hook, protected run and close |
//! | `kclua_baselib.c` | the base library as kernel scripts see it (print, warn, load, require ...) |
//! | `kclua_conf.c` | what `kclua_conf.h` asks of the kernel: integer arithmetic errors, stack budget |
//! | `kclua_completion.c` | the `completion` and `thread` Lua modules |
//! | `kclua.h`, `kclua_conf.h`, `kclua_jumptab.h`, `shim/` | declarations, Lua configuration, headers Lua expects |
//! | `core/` | Lua 5.4's own C sources, copied unmodified by `prepare-sources.sh` (not committed) |

mod completion;
mod ioctl;
mod script;
mod scripts;
mod vm;

pub(crate) use ioctl::{ioctl_run, ioctl_scripts, ioctl_stop};
pub(crate) use scripts::{Running, Scripts};
