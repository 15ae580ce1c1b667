// SPDX-License-Identifier: GPL-2.0
//! kcompletion: named kernel completion objects shared by userspace and the kernel.
//!
//! `/dev/kcompletion` creates, opens, unlinks and lists named objects; each open object is a
//! file descriptor on which userspace completes, waits (absolute deadlines), try-waits and
//! polls. Kernel code reaches the same objects through [`api`]. The ABI is in
//! `uapi/abi.rs` (shared with userspace as the `kcompletion-abi` crate, `uapi/`) and documented
//! in `ABI.md`.

use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The ioctl ABI, shared verbatim with userspace (`kcompletion-abi`).
#[path = "uapi/abi.rs"]
pub mod abi;
mod abi_kernel;
pub mod api;
mod completion;
mod ffi;
mod file_ops;
mod handle;
#[cfg(not(kc_rust_7))]
mod local_file;
mod lua;
mod name;
mod name_table;
pub mod object;
mod procfs;
pub mod registry;
mod selftest;
mod siphash;
mod state_pages;
#[cfg(not(kc_rust_7))]
mod vma;
mod wait_many;
mod wait_set;
mod xarray;

#[macro_use]
mod compat;

kc_module! {
    type: KCompletionModule,
    name: "kcompletion",
    author: "The kcompletion developers",
    description: "Named kernel completions shared by userspace (ioctls) and kernel code",
    license: "GPL",
}

/// The loaded module: it owns everything, and nothing is global. Its fields are torn down in
/// declaration order: first the device (no new file can reach an object; open files pin the
/// module, so none is left), then `/proc/kcompletion`, then the kernel Lua scripts (they hold
/// handles and run module code: each thread is gone when its table is dropped), and the
/// registry last (its last reference: it gives back the named objects). Init builds them in the
/// reverse order; a failing step drops what came before.
struct KCompletionModule {
    _device: file_ops::Device,
    _proc: procfs::Registration,
    _scripts: lua::Running,
    _registry: Arc<registry::Registry>,
    /// Last: says "unloaded" once everything above is gone.
    _banner: Banner,
}

/// Logs the module's unload when dropped.
struct Banner;

impl Drop for Banner {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}

impl kernel::Module for KCompletionModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let registry = Arc::pin_init(registry::Registry::new(), GFP_KERNEL)?;
        let scripts = lua::Running::new()?;
        let proc = procfs::register(registry.clone())?;
        let device = file_ops::Device::register(registry.clone(), scripts.scripts())?;
        pr_info!(
            "loaded: /dev/kcompletion, ABI version {}\n",
            abi::KC_ABI_VERSION
        );
        // SAFETY: Reading a module parameter is always valid.
        if unsafe { ffi::kcompletion_param_selftest() } {
            let failed = selftest::run(&registry);
            pr_info!("selftest: {} failed\n", failed);
        }
        Ok(KCompletionModule {
            _device: device,
            _proc: proc,
            _scripts: scripts,
            _registry: registry,
            _banner: Banner,
        })
    }
}
