//! What every guest needs, built: toolchain and kernel (cached), `kcompletion.ko`, the
//! workspace's userspace binaries and Lua modules, the job settings and the initramfs.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;

use crate::deps;
use crate::initramfs::{self, GuestSpec};
use crate::kernel::{self, Flavour, Kernel};
use crate::kernels::KernelLine;
use crate::qemu;
use crate::shell::shell_quote;
use crate::util;

/// Everything a guest needs, built.
pub struct Prepared {
    pub kernel: Kernel,
    pub tc: deps::Toolchain,
    pub module: Option<PathBuf>,
    pub bins: Vec<PathBuf>,
}

/// Install, build and collect everything. Builds run under locks (one per
/// kernel flavour in the cache, one for the repository's builds), so
/// concurrent `cargo xtask` runs wait instead of corrupting each other's
/// kbuild trees; the locks are released before any guest boots.
pub fn prepare(line: KernelLine, flavour: Flavour, with_module: bool) -> Result<Prepared> {
    let cache = util::cache_root();
    let tc = {
        let _lock = util::lock(&cache.join(".lock-deps"), "deps")?;
        deps::ensure_all(&cache, line)?
    };
    let kernel = {
        let _lock = util::lock(
            &cache.join(format!(".lock-{}", line.build_dir_name(flavour.name()))),
            "kernel",
        )?;
        kernel::ensure_kernel(&tc, &cache, flavour)?
    };
    let _lock = util::lock(&util::target_dir().join("xtask/build.lock"), "build")?;
    let module = if with_module {
        kernel::build_driver(&tc, &kernel)?
    } else {
        util::stage(
            "module",
            "--no-module: not building or loading kcompletion.ko",
        );
        None
    };
    let bins = build_userspace()?;
    Ok(Prepared {
        kernel,
        tc,
        module,
        bins,
    })
}

/// Hook for the Lua C modules: `userlib/lua/build-all.sh` builds
/// `target/release/libkcompletion_{lua54,lua51,luajit}.so` (see
/// initramfs::LUA_MODULE_HOOK for where they go in the guest).
const LUA_MODULE_BUILD: &str = "userlib/lua/build-all.sh";

fn build_lua_modules() -> Result<()> {
    let script = util::repo_root().join(LUA_MODULE_BUILD);
    if !script.is_file() {
        util::stage(
            "lua",
            &format!("no {LUA_MODULE_BUILD}: no Lua C modules in the guest"),
        );
        return Ok(());
    }
    let log = util::target_dir().join("xtask/lua-modules-build.log");
    let _ = std::fs::remove_file(&log);
    let mut c = Command::new("sh");
    c.arg(&script).current_dir(util::repo_root());
    util::run_logged(
        &mut c,
        &log,
        "lua",
        "building the Lua modules (lua54, lua51, luajit)",
    )?;
    Ok(())
}

/// `cargo build --release` of the workspace's bin targets (not xtask).
fn build_userspace() -> Result<Vec<PathBuf>> {
    build_lua_modules()?;
    let names = initramfs::workspace_bins()?;
    if names.is_empty() {
        util::stage("userspace", "no workspace binaries yet");
        return Ok(Vec::new());
    }
    util::stage(
        "userspace",
        &format!("cargo build --release: {}", names.join(" ")),
    );
    let mut c = Command::new(util::cargo());
    c.current_dir(util::repo_root());
    c.args([
        "build",
        "--release",
        "--workspace",
        "--exclude",
        "xtask",
        "--bins",
    ]);
    util::run(&mut c, "cargo build --release")?;
    let rel = util::target_dir().join("release");
    names
        .iter()
        .map(|n| {
            let p = rel.join(n);
            if p.is_file() {
                Ok(p)
            } else {
                bail!("{} was not built", p.display())
            }
        })
        .collect()
}

/// `/etc/kc/job.conf` for init.sh: mode (`job` or `interactive`), whether and which module
/// to load, a kmemleak scan after the job, unloading the module after it.
pub fn job_conf(
    mode: &str,
    insmod: bool,
    module: &str,
    kmemleak: bool,
    rmmod_after: bool,
) -> String {
    format!(
        "KC_MODE={mode}\nKC_INSMOD={}\nKC_MODULE={}\nKC_KMEMLEAK={}\nKC_RMMOD_AFTER={}\n",
        insmod as u8,
        shell_quote(module),
        kmemleak as u8,
        rmmod_after as u8
    )
}

/// Where the initramfs puts `kcompletion.ko` in the guest.
pub const MODULE_PATH: &str = "/lib/modules/kcompletion.ko";

/// Pack `spec` into `target/guest/<name>-<pid>/initramfs.cpio`.
pub fn build_initrd(name: &str, spec: &GuestSpec) -> Result<PathBuf> {
    let p = qemu::run_dir(name)?.join("initramfs.cpio");
    initramfs::build(spec, &p)?;
    Ok(p)
}
