//! Host dependencies: apt packages, bindgen, the kernel source tree.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, cmd_output};

/// apt packages the bench needs on a Debian 12 host.
pub const APT_PACKAGES: &[&str] = &[
    "make",
    "xz-utils",
    "rustc-web",
    "rust-web-src",
    "clang",
    "lld",
    "llvm",
    "libclang-dev",
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "kmod",
    "busybox-static",
    "lua5.4",
    "lua5.1",
    "luajit",
    "linux-source-6.12",
    "qemu-system-x86",
];

pub const KERNEL_SOURCE_PACKAGE: &str = "linux-source-6.12";
pub const KERNEL_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";
pub const BINDGEN_VERSION: &str = "0.69.5";
/// Oldest bindgen Linux 6.12 accepts.
const BINDGEN_MIN: (u32, u32, u32) = (0, 65, 1);

/// Everything later stages need to know about the toolchain.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// Folder holding the `bindgen` binary; prepended to PATH for kbuild.
    pub bindgen_dir: PathBuf,
    pub bindgen_version: String,
    pub rustc_version: String,
    /// Debian version of the kernel source package, e.g. `6.12.117-1~deb12u1`.
    pub kernel_package_version: String,
    /// Unpacked kernel source tree.
    pub kernel_src: PathBuf,
}

fn is_root() -> bool {
    cmd_output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains("install ok installed")
        })
        .unwrap_or(false)
}

/// Install missing apt packages (as root), or explain how to.
pub fn ensure_apt() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        bail!(
            "missing apt packages: {list}\nrun:\n  sudo apt-get update && sudo apt-get install -y {list}\nthen re-run this command"
        );
    }
    util::stage("deps", &format!("installing apt packages: {list}"));
    util::run(Command::new("apt-get").arg("update"), "apt-get update")?;
    // Never let `-y` remove packages behind the user's back (rustc-web
    // conflicts with Debian's rustc, which Debian's cargo needs).
    let sim = cmd_output(
        Command::new("apt-get")
            .args(["install", "-s", "--no-install-recommends"])
            .args(&missing),
    )?;
    let removals: Vec<&str> = sim.lines().filter(|l| l.starts_with("Remv ")).collect();
    if !removals.is_empty() {
        bail!(
            "installing {list} would remove packages:\n  {}\nreview and run it yourself:\n  apt-get install --no-install-recommends {list}",
            removals.join("\n  ")
        );
    }
    let mut c = Command::new("apt-get");
    c.args(["install", "-y", "--no-install-recommends"])
        .args(&missing);
    c.env("DEBIAN_FRONTEND", "noninteractive");
    util::run(&mut c, "apt-get install")?;
    Ok(())
}

fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let v = s
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let mut it = v.split(['.', '-']).map(|x| x.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

fn bindgen_at(path: &Path) -> Option<String> {
    let out = Command::new(path).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (parse_version(&v)? >= BINDGEN_MIN).then_some(v)
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::home().join(".cargo"))
        .join("bin")
}

/// Find a recent enough bindgen (`~/.cargo/bin` first, then PATH), or
/// `cargo install` it.
pub fn ensure_bindgen() -> Result<(PathBuf, String)> {
    let mut candidates = vec![cargo_bin_dir()];
    if let Some(p) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&p));
    }
    for dir in &candidates {
        let b = dir.join("bindgen");
        if b.is_file() {
            if let Some(v) = bindgen_at(&b) {
                return Ok((dir.clone(), v));
            }
        }
    }
    util::stage(
        "deps",
        &format!("installing bindgen-cli {BINDGEN_VERSION} with cargo (~2 min)"),
    );
    let mut c = Command::new(util::cargo());
    c.args([
        "install",
        "--locked",
        "bindgen-cli",
        "--version",
        BINDGEN_VERSION,
    ]);
    util::run(&mut c, "cargo install bindgen-cli")?;
    let dir = cargo_bin_dir();
    let v =
        bindgen_at(&dir.join("bindgen")).context("bindgen still not usable after cargo install")?;
    Ok((dir, v))
}

/// Unpack the kernel source (if needed) into the cache and return its path.
/// Unpacks into a temporary folder first and renames it at the end, so an
/// interrupted unpack is never mistaken for a complete tree.
pub fn ensure_kernel_source(cache: &Path, pkg_version: &str) -> Result<PathBuf> {
    let upstream = pkg_version.split('-').next().unwrap_or(pkg_version);
    let dir = cache.join(format!("linux-{upstream}"));
    if dir.join("Makefile").is_file() && dir.join("rust").is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache)?;
    let tmp = cache.join(format!(".unpack-linux-{upstream}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    util::stage(
        "deps",
        &format!("unpacking {KERNEL_TARBALL} to {} (~20 s)", dir.display()),
    );
    let mut c = Command::new("tar");
    c.arg("-xf").arg(KERNEL_TARBALL).arg("-C").arg(&tmp);
    util::run(&mut c, "tar -xf kernel source")?;
    let inner = std::fs::read_dir(&tmp)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("Makefile").is_file())
        .context("kernel tarball holds no source folder")?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&inner, &dir)?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(dir)
}

/// Check and install everything; return the toolchain description.
pub fn ensure_all(cache: &Path) -> Result<Toolchain> {
    ensure_apt()?;
    let (bindgen_dir, bindgen_version) = ensure_bindgen()?;
    let rustc_version = cmd_output(Command::new("/usr/bin/rustc").arg("--version"))
        .context("/usr/bin/rustc --version")?
        .trim()
        .to_string();
    let kernel_package_version = cmd_output(Command::new("dpkg-query").args([
        "-W",
        "-f=${Version}",
        KERNEL_SOURCE_PACKAGE,
    ]))?
    .trim()
    .to_string();
    let kernel_src = ensure_kernel_source(cache, &kernel_package_version)?;
    Ok(Toolchain {
        bindgen_dir,
        bindgen_version,
        rustc_version,
        kernel_package_version,
        kernel_src,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("bindgen 0.69.5"), Some((0, 69, 5)));
        assert_eq!(parse_version("bindgen 0.60.1"), Some((0, 60, 1)));
        assert!(parse_version("bindgen 0.60.1").unwrap() < BINDGEN_MIN);
        assert!(parse_version("bindgen 0.69.5").unwrap() >= BINDGEN_MIN);
        assert_eq!(parse_version("nothing"), None);
    }
}
