// SPDX-License-Identifier: GPL-2.0
//! kcompletion: named kernel completion objects shared by userspace and the kernel.
//!
//! `/dev/kcompletion` creates, opens, unlinks and lists named objects; each open object is a
//! file descriptor on which userspace completes, waits (absolute deadlines), try-waits and
//! polls. Kernel code reaches the same objects through [`api`]. The ABI is in
//! `uapi/abi.rs` (shared with userspace as the `kcompletion-abi` crate, `uapi/`) and documented
//! in `ABI.md`.

use kernel::prelude::*;

/// The ioctl ABI, shared verbatim with userspace (`kcompletion-abi`).
#[path = "uapi/abi.rs"]
pub mod abi;
mod abi_kernel;
pub mod api;
mod ffi;
mod file_ops;
mod lua;
mod name;
mod name_table;
pub mod object;
mod procfs;
pub mod registry;
mod selftest;
mod siphash;
mod xarray;

module! {
    type: KCompletionModule,
    name: "kcompletion",
    author: "The kcompletion developers",
    description: "Named kernel completions shared by userspace (ioctls) and kernel code",
    license: "GPL",
}

struct KCompletionModule {
    registry: Pin<KBox<registry::Registry>>,
    scripts: Pin<KBox<lua::Scripts>>,
}

impl kernel::Module for KCompletionModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let registry = KBox::pin_init(registry::Registry::new(), GFP_KERNEL)?;
        let scripts = KBox::pin_init(lua::Scripts::new(), GFP_KERNEL)?;
        // SAFETY: The registry is pinned in a box that lives until `drop` below, which
        // unpublishes it first.
        unsafe { registry.publish() };
        // SAFETY: Likewise for the script table (no script runs before /dev/kcompletion).
        unsafe { scripts.publish() };
        if let Err(e) = procfs::register() {
            scripts.unpublish();
            registry.unpublish();
            return Err(e);
        }
        // SAFETY: Registers the static miscdevice of glue.c; undone in `drop`.
        let ret = unsafe { ffi::kcompletion_misc_register() };
        if ret < 0 {
            procfs::unregister();
            scripts.unpublish();
            registry.unpublish();
            return Err(Error::from_errno(ret));
        }
        pr_info!(
            "loaded: /dev/kcompletion, ABI version {}\n",
            abi::KC_ABI_VERSION
        );
        // SAFETY: Reading a module parameter is always valid.
        if unsafe { ffi::kcompletion_param_selftest() } {
            let failed = selftest::run();
            pr_info!("selftest: {} failed\n", failed);
        }
        Ok(KCompletionModule { registry, scripts })
    }
}

impl Drop for KCompletionModule {
    fn drop(&mut self) {
        // No file is open (each pins the module), so nothing reaches an object from
        // userspace any more; the named objects are released last.
        // SAFETY: Undoes the registration made in `init`.
        unsafe { ffi::kcompletion_misc_deregister() };
        procfs::unregister();
        // Kernel Lua scripts hold objects and run module code: stop them all (each thread
        // is gone when this returns) before the registry goes.
        self.scripts.unpublish();
        self.registry.unpublish();
        pr_info!("unloaded\n");
    }
}
