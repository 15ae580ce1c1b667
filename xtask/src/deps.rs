//! Host dependencies: apt packages, bindgen, the kernel source tree (per kernel line:
//! `kernels.rs`).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::apt;
use crate::kernels::{self, KernelLine};
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
    // Linux 7.3 needs LLVM >= 17: Debian 12's clang-19 (`LLVM=-19`), and its libclang for
    // bindgen.
    "clang-19",
    "lld-19",
    "llvm-19",
    "libclang1-19",
    // The DKMS build of the driver against both cached trees.
    "dkms",
];

/// Everything later stages need to know about the toolchain of one kernel line.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub line: KernelLine,
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

fn bindgen_at(path: &Path, min: (u32, u32, u32)) -> Option<String> {
    let out = Command::new(path).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (parse_version(&v)? >= min).then_some(v)
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::home().join(".cargo"))
        .join("bin")
}

/// Find a bindgen recent enough for `line`, or `cargo install` it: for 6.12 in
/// `~/.cargo/bin` first, then PATH; for 7.3 in a folder of the cache of its own.
pub fn ensure_bindgen(cache: &Path, line: KernelLine) -> Result<(PathBuf, String)> {
    let min = line.bindgen_min();
    let root = line.bindgen_root(cache);
    let mut candidates = vec![match &root {
        Some(r) => r.join("bin"),
        None => cargo_bin_dir(),
    }];
    if root.is_none() {
        if let Some(p) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&p));
        }
    }
    for dir in &candidates {
        let b = dir.join("bindgen");
        if b.is_file() {
            if let Some(v) = bindgen_at(&b, min) {
                return Ok((dir.clone(), v));
            }
        }
    }
    let version = line.bindgen_install();
    util::stage(
        "deps",
        &format!(
            "installing bindgen-cli {version} with cargo for Linux {} (~2 min)",
            line.name()
        ),
    );
    let mut c = Command::new(util::cargo());
    c.args(["install", "--locked", "bindgen-cli", "--version", version]);
    if let Some(r) = &root {
        c.arg("--root").arg(r);
    }
    util::run(&mut c, "cargo install bindgen-cli")?;
    let dir = candidates[0].clone();
    let v = bindgen_at(&dir.join("bindgen"), min)
        .context("bindgen still not usable after cargo install")?;
    Ok((dir, v))
}

/// Check and install everything for `line`; return its toolchain description.
pub fn ensure_all(cache: &Path, line: KernelLine) -> Result<Toolchain> {
    ensure_apt()?;
    let (bindgen_dir, bindgen_version) = ensure_bindgen(cache, line)?;
    let rustc_version = cmd_output(Command::new("/usr/bin/rustc").arg("--version"))
        .context("/usr/bin/rustc --version")?
        .trim()
        .to_string();
    let (kernel_src, kernel_package_version) = kernels::ensure_source(cache, line)?;
    Ok(Toolchain {
        line,
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
        let min = KernelLine::V6_12.bindgen_min();
        assert!(parse_version("bindgen 0.60.1").unwrap() < min);
        assert!(parse_version("bindgen 0.69.5").unwrap() >= min);
        assert!(parse_version("bindgen 0.69.5").unwrap() < KernelLine::V7_3.bindgen_min());
        assert_eq!(parse_version("nothing"), None);
    }
}
