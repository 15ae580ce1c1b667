//! Building the guest kernel (cached per flavour) and out-of-tree modules.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps::Toolchain;
use crate::kernels::KernelLine;
use crate::util;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flavour {
    Debug,
    Release,
    /// The debug kernel with ACPI (`tests/kconfig/acpi.config`): only for
    /// `boot-soak --acpi`, which shows why the guests run without ACPI.
    DebugAcpi,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Debug => "debug",
            Flavour::Release => "release",
            Flavour::DebugAcpi => "debug-acpi",
        }
    }

    /// The fragments merged onto tinyconfig, in order (names under tests/kconfig/).
    pub fn fragments(self) -> &'static [&'static str] {
        match self {
            Flavour::Debug => &["base", "debug"],
            Flavour::Release => &["base", "release"],
            Flavour::DebugAcpi => &["base", "debug", "acpi"],
        }
    }
}

/// A built kernel tree.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub line: KernelLine,
    pub flavour: Flavour,
    pub build_dir: PathBuf,
    pub bzimage: PathBuf,
    /// Cache key of this build (also identifies it for the accel verdict).
    pub key: String,
}

const KEY_FILE: &str = ".kcompletion-key";
const TARGETS: &[&str] = &["vmlinux", "bzImage", "modules"];

fn kconfig_dir() -> PathBuf {
    util::repo_root().join("tests/kconfig")
}

/// `make` with the variables every kernel and module build of the line must share.
/// `BINDGEN=bindgen` (found via PATH) exactly as the cache was first built,
/// so kbuild sees unchanged command lines.
pub fn make_cmd(tc: &Toolchain, dir: &Path) -> Command {
    let mut c = Command::new("make");
    c.current_dir(dir);
    c.arg(format!("LLVM={}", tc.line.llvm()));
    c.args([
        "RUSTC=/usr/bin/rustc",
        "RUSTDOC=/usr/bin/rustdoc",
        "BINDGEN=bindgen",
    ]);
    c.env("LIBCLANG_PATH", tc.line.libclang_dir());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![tc.bindgen_dir.clone()];
    dirs.extend(std::env::split_paths(&path));
    c.env("PATH", std::env::join_paths(dirs).expect("PATH"));
    util::clean_make_env(&mut c);
    c
}

pub fn cache_key(tc: &Toolchain, flavour: Flavour) -> Result<String> {
    let mut parts = vec![tc.kernel_package_version.as_bytes().to_vec()];
    for frag in flavour.fragments() {
        let text = std::fs::read_to_string(kconfig_dir().join(format!("{frag}.config")))?;
        parts.push(config_lines(&text).into_bytes());
    }
    parts.push(tc.rustc_version.as_bytes().to_vec());
    parts.push(tc.bindgen_version.as_bytes().to_vec());
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(util::sha256_hex(&parts))
}

/// The lines of a config fragment that configure something (`CONFIG_X=...` and
/// `# CONFIG_X is not set`), so that editing a comment does not rebuild the kernel.
fn config_lines(fragment: &str) -> String {
    fragment
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("CONFIG_") || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Build (or reuse) the kernel of `tc`'s line and `flavour` in the cache
/// (`KernelLine::build_dir_name`).
pub fn ensure_kernel(tc: &Toolchain, cache: &Path, flavour: Flavour) -> Result<Kernel> {
    let tag = format!("kernel {} {}", tc.line.name(), flavour.name());
    let build_dir = cache.join(tc.line.build_dir_name(flavour.name()));
    let key = cache_key(tc, flavour)?;
    let bzimage = build_dir.join("arch/x86/boot/bzImage");
    let kernel = Kernel {
        line: tc.line,
        flavour,
        build_dir: build_dir.clone(),
        bzimage: bzimage.clone(),
        key: key.clone(),
    };
    let have_key = std::fs::read_to_string(build_dir.join(KEY_FILE)).unwrap_or_default();
    let complete = ["vmlinux", "arch/x86/boot/bzImage", "Module.symvers"]
        .iter()
        .all(|f| build_dir.join(f).is_file());
    if have_key.trim() == key && complete {
        util::stage(
            &tag,
            &format!("cached: {} (key {})", build_dir.display(), &key[..12]),
        );
        return Ok(kernel);
    }
    std::fs::create_dir_all(&build_dir)?;
    let log = build_dir.join("kcompletion-build.log");
    let _ = std::fs::remove_file(&log);
    let o = format!("O={}", build_dir.display());
    let src = &tc.kernel_src;

    let mut c = make_cmd(tc, src);
    c.arg(&o).arg("tinyconfig");
    util::run_logged(&mut c, &log, &tag, "make tinyconfig")?;
    let mut c = Command::new(src.join("scripts/kconfig/merge_config.sh"));
    c.current_dir(src)
        .arg("-m")
        .arg("-O")
        .arg(&build_dir)
        .arg(build_dir.join(".config"));
    for frag in flavour.fragments() {
        c.arg(kconfig_dir().join(format!("{frag}.config")));
    }
    util::run_logged(&mut c, &log, &tag, "merging config fragments")?;
    let mut c = make_cmd(tc, src);
    c.arg(&o).arg("olddefconfig");
    util::run_logged(&mut c, &log, &tag, "make olddefconfig")?;
    check_config(&build_dir, flavour)?;

    let mut c = make_cmd(tc, src);
    c.arg(&o).arg(format!("-j{}", util::nproc())).args(TARGETS);
    util::run_logged(
        &mut c,
        &log,
        &tag,
        &format!("building {}", TARGETS.join(" ")),
    )?;
    std::fs::write(build_dir.join(KEY_FILE), format!("{key}\n"))?;
    Ok(kernel)
}

/// Every `CONFIG_X=y` of the fragments must have survived olddefconfig;
/// a dropped option means a dependency is missing from the fragment. An option the
/// tree does not know at all (not even as "is not set") is only noted: the fragments
/// serve both kernel lines, and 7.3 has no `PROC_SYSCTL` (sysctl is part of procfs).
fn check_config(build_dir: &Path, flavour: Flavour) -> Result<()> {
    let cfg = std::fs::read_to_string(build_dir.join(".config"))?;
    let (dropped, unknown) = config_misses(&cfg, flavour)?;
    if !dropped.is_empty() {
        util::stage(
            "kernel",
            &format!(
                "warning: options not in the final .config: {}",
                dropped.join(", ")
            ),
        );
    }
    if !unknown.is_empty() {
        util::stage(
            "kernel",
            &format!("options this kernel does not have: {}", unknown.join(", ")),
        );
    }
    Ok(())
}

/// The fragments' options missing from `cfg`: (dropped, unknown to this tree).
fn config_misses(cfg: &str, flavour: Flavour) -> Result<(Vec<String>, Vec<String>)> {
    let (mut dropped, mut unknown) = (Vec::new(), Vec::new());
    for frag in flavour.fragments() {
        let text = std::fs::read_to_string(kconfig_dir().join(format!("{frag}.config")))?;
        for line in text.lines().map(str::trim) {
            let Some((name, _)) = line.split_once('=') else {
                continue;
            };
            if !line.starts_with("CONFIG_") || cfg.lines().any(|l| l.trim() == line) {
                continue;
            }
            let known = cfg
                .lines()
                .any(|l| l.starts_with(&format!("{name}=")) || l == format!("# {name} is not set"));
            let entry = format!("{line} ({frag}.config)");
            if known {
                dropped.push(entry);
            } else {
                unknown.push(entry);
            }
        }
    }
    Ok((dropped, unknown))
}

/// Build an out-of-tree module in `dir` (kbuild `M=`). Fails on any
/// compiler or kbuild warning. Returns the `.ko` files built.
pub fn build_module(
    tc: &Toolchain,
    kernel: &Kernel,
    dir: &Path,
    tag: &str,
    log: &Path,
    clippy: bool,
) -> Result<Vec<PathBuf>> {
    let _ = std::fs::remove_file(log);
    let mut c = make_cmd(tc, &kernel.build_dir);
    if clippy {
        // kbuild compiles the Rust crate with clippy-driver instead of rustc (same code, plus
        // lints); Debian's, built with the same rustc as the kernel (the rustup one is not).
        c.args(["CLIPPY=1", "CLIPPY_DRIVER=/usr/bin/clippy-driver"]);
    }
    c.arg(format!("M={}", dir.display()))
        .arg(format!("-j{}", util::nproc()))
        .arg("modules");
    util::run_logged(
        &mut c,
        log,
        tag,
        &format!("building module in {}", dir.display()),
    )?;
    let text = std::fs::read_to_string(log)?;
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("warning:")).collect();
    if !warnings.is_empty() {
        eprintln!("{}", text);
        bail!(
            "[{tag}] the module build printed {} warning(s); warnings are errors here (log: {})",
            warnings.len(),
            log.display()
        );
    }
    let mut kos: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ko"))
        .collect();
    kos.sort();
    if kos.is_empty() {
        bail!(
            "[{tag}] make succeeded but no .ko appeared in {}",
            dir.display()
        );
    }
    Ok(kos)
}

/// Build `driver/kcompletion.ko`, or `None` if there is no driver yet.
pub fn build_driver(tc: &Toolchain, kernel: &Kernel) -> Result<Option<PathBuf>> {
    let dir = util::repo_root().join("driver");
    if !dir.join("Kbuild").is_file() && !dir.join("Makefile").is_file() {
        util::stage(
            "module",
            &format!(
                "no driver yet ({} has no Kbuild/Makefile): the guest boots WITHOUT kcompletion.ko",
                dir.display()
            ),
        );
        return Ok(None);
    }
    prepare_driver_sources(&dir)?;
    // The 6.12 debug module is built in driver/ itself; other kernels in a mirror of the
    // sources (target/xtask/kmod-<build dir>/), so kernels never rebuild over each other's
    // objects or hand a guest another kernel's .ko.
    let (dir, log) = match (kernel.line, kernel.flavour) {
        (KernelLine::V6_12, Flavour::Debug) => {
            (dir, util::target_dir().join("xtask/driver-build.log"))
        }
        (line, fl) => {
            let name = line.tag(fl.name());
            let root = util::target_dir().join(format!("xtask/kmod-{name}"));
            // The whole module source is under driver/, the ABI (uapi/abi.rs) included.
            mirror_sources(&dir, &root.join("driver"))?;
            (
                root.join("driver"),
                util::target_dir().join(format!("xtask/driver-build-{name}.log")),
            )
        }
    };
    let kos = build_module(tc, kernel, &dir, "module", &log, true)?;
    let ko = dir.join("kcompletion.ko");
    if !kos.contains(&ko) {
        bail!("driver build produced {:?}, not {}", kos, ko.display());
    }
    Ok(Some(ko))
}

/// Writes `to` only if its contents differ (kbuild rebuilds by mtime).
fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let new = std::fs::read(from).with_context(|| format!("read {}", from.display()))?;
    if std::fs::read(to).ok().as_deref() != Some(&new[..]) {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(to, new).with_context(|| format!("write {}", to.display()))?;
    }
    Ok(())
}

/// Is this file a kbuild product (never mirrored)?
fn build_product(name: &str) -> bool {
    const EXT: &[&str] = &[".o", ".ko", ".mod", ".mod.c", ".cmd", ".rmeta", ".d", ".a"];
    EXT.iter().any(|e| name.ends_with(e))
        || matches!(
            name,
            "Module.symvers" | "modules.order" | "rust-project.json"
        )
}

/// Copies the module sources of `from` (recursively, without build products) to `to`.
pub fn mirror_sources(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type()?;
        if ty.is_dir() {
            mirror_sources(&e.path(), &to.join(&name))?;
        } else if ty.is_file() && !build_product(&name) {
            copy_if_changed(&e.path(), &to.join(&name))?;
        }
    }
    Ok(())
}

/// Hook for sources the driver build needs but the repository does not hold: the Lua 5.4
/// core of kernel Lua, copied from the pinned `lua-src` crate into driver/lua/core/ by
/// driver/lua/prepare-sources.sh.
const DRIVER_SOURCES_HOOK: &str = "lua/prepare-sources.sh";

pub fn prepare_driver_sources(dir: &Path) -> Result<()> {
    let script = dir.join(DRIVER_SOURCES_HOOK);
    if !script.is_file() {
        return Ok(());
    }
    let log = util::target_dir().join("xtask/driver-sources.log");
    let mut c = Command::new("sh");
    c.arg(&script).env("CARGO", util::cargo());
    util::run_logged(
        &mut c,
        &log,
        "module",
        "preparing the Lua sources (driver/lua/core)",
    )?;
    Ok(())
}

/// Build the runner self-test module in a scratch copy under target/.
pub fn build_selftest_module(tc: &Toolchain, kernel: &Kernel) -> Result<PathBuf> {
    let src = util::repo_root().join("tests/runner-selftest");
    let dir = util::target_dir().join(format!(
        "xtask/runner-selftest-{}",
        kernel.line.tag(kernel.flavour.name())
    ));
    std::fs::create_dir_all(&dir)?;
    for f in ["Kbuild", "warn_on_load.c"] {
        let from = src.join(f);
        let to = dir.join(f);
        let new = std::fs::read(&from).with_context(|| format!("read {}", from.display()))?;
        if std::fs::read(&to).ok().as_deref() != Some(&new[..]) {
            std::fs::write(&to, new)?;
        }
    }
    let log = util::target_dir().join("xtask/runner-selftest-build.log");
    let kos = build_module(tc, kernel, &dir, "selftest", &log, false)?;
    kos.into_iter()
        .find(|k| k.ends_with("warn_on_load.ko"))
        .context("warn_on_load.ko not built")
}

#[cfg(test)]
mod tests {
    use super::config_lines;

    #[test]
    fn comments_do_not_change_the_config_key() {
        let a = "# one comment\nCONFIG_A=y\n# CONFIG_B is not set\n";
        let b = "# another comment, longer\n\nCONFIG_A=y\n  # CONFIG_B is not set\n";
        assert_eq!(config_lines(a), config_lines(b));
        assert_ne!(config_lines(a), config_lines("CONFIG_A=y\n"));
        assert_ne!(
            config_lines(a),
            config_lines("CONFIG_A=m\n# CONFIG_B is not set\n")
        );
    }
}
