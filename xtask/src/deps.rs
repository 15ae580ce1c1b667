//! Host dependencies: apt packages, bindgen, the kernel source tree.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::apt;
use crate::util::{self, cmd_output};

/// apt packages the bench needs on a Debian 12 host.
pub const APT_PACKAGES: &[&str] = &[
    "make",
    "xz-utils",
    "rustc-web",
    "rust-web-src",
    "rust-web-clippy",
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

/// Install missing apt packages (as root), or explain how to. Packages whose
/// source already has a binary installed from bookworm-backports come from
/// there (see `apt.rs`); nothing is ever removed.
pub fn ensure_apt() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let listing = cmd_output(
        Command::new("dpkg-query").args(["-W", "-f=${Package}\t${source:Package}\t${Version}\n"]),
    )?;
    let from_backports = apt::backports_sources(&listing);
    let root = is_root();
    if root && !from_backports.is_empty() {
        // The candidates' Source fields need current lists; our backports
        // file is only added when a plan needs it, below.
        util::run(Command::new("apt-get").arg("update"), "apt-get update")?;
    }
    let with_source: Vec<(&str, String)> = missing
        .iter()
        .map(|p| {
            let show = cmd_output(Command::new("apt-cache").args(["show", "--no-all-versions", p]))
                .unwrap_or_default();
            (*p, apt::source_of(p, &show))
        })
        .collect();
    let plan = apt::split(&with_source, &from_backports);
    if !root {
        bail!(
            "missing apt packages: {}\n{}",
            missing.join(" "),
            apt::sudo_instructions(&plan)
        );
    }
    util::stage(
        "deps",
        &format!(
            "installing apt packages: {}{}",
            plan.main.join(" "),
            if plan.backports.is_empty() {
                String::new()
            } else {
                format!(
                    "; from {} (to match what is installed from there): {}",
                    apt::BACKPORTS_SUITE,
                    plan.backports.join(" ")
                )
            }
        ),
    );
    if !plan.backports.is_empty() {
        let file = Path::new(apt::BACKPORTS_SOURCES_FILE);
        if std::fs::read_to_string(file).ok().as_deref() != Some(apt::BACKPORTS_SOURCES) {
            util::stage("deps", &format!("writing {}", file.display()));
            std::fs::write(file, apt::BACKPORTS_SOURCES)
                .with_context(|| format!("writing {}", file.display()))?;
        }
    }
    util::run(Command::new("apt-get").arg("update"), "apt-get update")?;
    for (pkgs, bpo) in [(&plan.main, false), (&plan.backports, true)] {
        if pkgs.is_empty() {
            continue;
        }
        // Simulate first: never let `-y` remove packages behind the user's
        // back (rustc-web conflicts with Debian's rustc, which Debian's cargo
        // needs; Debian 12's qemu with backports' qemu-utils).
        let args = apt::install_args(pkgs, bpo, true);
        let out = Command::new("apt-get")
            .args(&args)
            .output()
            .context("apt-get install -s")?;
        let sim = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let removals = apt::removals(&sim);
        if !out.status.success() || !removals.is_empty() {
            bail!(
                "apt-get {} {}:\n  {}\nnothing was installed; review and run it yourself:\n  apt-get {}",
                args.join(" "),
                if removals.is_empty() { "fails" } else { "would remove packages" },
                if removals.is_empty() {
                    util::tail_lines(&sim, 8).replace('\n', "\n  ")
                } else {
                    removals.join("\n  ")
                },
                apt::install_args(pkgs, bpo, false).join(" ")
            );
        }
    }
    for (pkgs, bpo) in [(&plan.main, false), (&plan.backports, true)] {
        if pkgs.is_empty() {
            continue;
        }
        let mut c = Command::new("apt-get");
        c.args(apt::install_args(pkgs, bpo, false));
        c.env("DEBIAN_FRONTEND", "noninteractive");
        util::run(&mut c, "apt-get install")?;
    }
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
