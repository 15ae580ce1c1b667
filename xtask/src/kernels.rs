//! The kernel lines the driver builds on, and what each needs: its source package, its
//! compiler (kbuild's `LLVM=`), the libclang and bindgen of its Rust bindings.
//!
//! - 6.12 (LTS): Debian 12's `linux-source-6.12`, clang 14, bindgen >= 0.65.1.
//! - 7.3 (newest mainline): `linux-source-7.3` from Debian's trixie-backports, fetched with a
//!   private apt configuration under the cache (the system's apt sources are never touched);
//!   LLVM >= 17 (Debian 12's clang-19), bindgen >= 0.71.1.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KernelLine {
    #[default]
    #[value(name = "6.12")]
    V6_12,
    #[value(name = "7.3")]
    V7_3,
}

impl KernelLine {
    pub fn name(self) -> &'static str {
        match self {
            KernelLine::V6_12 => "6.12",
            KernelLine::V7_3 => "7.3",
        }
    }

    /// kbuild's `LLVM=`: clang 14 (Debian 12's default) for 6.12, clang-19 for 7.3.
    pub fn llvm(self) -> &'static str {
        match self {
            KernelLine::V6_12 => "1",
            KernelLine::V7_3 => "-19",
        }
    }

    /// The libclang bindgen loads (set as `LIBCLANG_PATH`, so that a second LLVM installed
    /// beside clang 14 never changes the 6.12 bindings).
    pub fn libclang_dir(self) -> &'static str {
        match self {
            KernelLine::V6_12 => "/usr/lib/llvm-14/lib",
            KernelLine::V7_3 => "/usr/lib/llvm-19/lib",
        }
    }

    pub fn source_package(self) -> &'static str {
        match self {
            KernelLine::V6_12 => "linux-source-6.12",
            KernelLine::V7_3 => "linux-source-7.3",
        }
    }

    /// Oldest bindgen the tree accepts (its `scripts/min-tool-version.sh`).
    pub fn bindgen_min(self) -> (u32, u32, u32) {
        match self {
            KernelLine::V6_12 => (0, 65, 1),
            KernelLine::V7_3 => (0, 71, 1),
        }
    }

    /// The bindgen-cli version `cargo install`ed when none is found.
    pub fn bindgen_install(self) -> &'static str {
        match self {
            KernelLine::V6_12 => "0.69.5",
            KernelLine::V7_3 => "0.72.1",
        }
    }

    /// Where bindgen is looked for and installed: `~/.cargo/bin` (then PATH) for 6.12, as
    /// before; a folder of the cache for 7.3, so the two never replace each other.
    pub fn bindgen_root(self, cache: &Path) -> Option<PathBuf> {
        match self {
            KernelLine::V6_12 => None,
            KernelLine::V7_3 => {
                Some(cache.join(format!("tools/bindgen-{}", self.bindgen_install())))
            }
        }
    }

    /// A kernel build's name: the flavour for 6.12 (the names they had before 7.3),
    /// `7.3-<flavour>` for 7.3.
    pub fn tag(self, flavour: &str) -> String {
        match self {
            KernelLine::V6_12 => flavour.to_string(),
            KernelLine::V7_3 => format!("{}-{flavour}", self.name()),
        }
    }

    /// The cache folder of a kernel build.
    pub fn build_dir_name(self, flavour: &str) -> String {
        format!("build-{}", self.tag(flavour))
    }
}

/// The source of `line`, unpacked in the cache; returns (tree, Debian package version).
pub fn ensure_source(cache: &Path, line: KernelLine) -> Result<(PathBuf, String)> {
    match line {
        KernelLine::V6_12 => {
            let version = util::cmd_output(Command::new("dpkg-query").args([
                "-W",
                "-f=${Version}",
                line.source_package(),
            ]))?
            .trim()
            .to_string();
            let tarball = PathBuf::from(format!("/usr/src/{}.tar.xz", line.source_package()));
            Ok((unpack(cache, &tarball, &version)?, version))
        }
        KernelLine::V7_3 => ensure_backports_source(cache, line),
    }
}

/// File beside an unpacked tree recording the package version it came from.
const VERSION_FILE: &str = ".kcompletion-package-version";

/// Unpacks `tarball` (if not done) into `<cache>/linux-<upstream version>`. Unpacks into a
/// temporary folder first and renames it at the end, so an interrupted unpack is never
/// mistaken for a complete tree.
fn unpack(cache: &Path, tarball: &Path, pkg_version: &str) -> Result<PathBuf> {
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
        &format!(
            "unpacking {} to {} (~20 s)",
            tarball.display(),
            dir.display()
        ),
    );
    let mut c = Command::new("tar");
    c.arg("-xf").arg(tarball).arg("-C").arg(&tmp);
    util::run(&mut c, "tar -xf kernel source")?;
    let inner = std::fs::read_dir(&tmp)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("Makefile").is_file())
        .context("kernel tarball holds no source folder")?;
    std::fs::write(inner.join(VERSION_FILE), format!("{pkg_version}\n"))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&inner, &dir)?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(dir)
}

/// The suite that carries 7.3 for Debian.
const TRIXIE_BACKPORTS: &str = "trixie-backports";

/// The Debian mirror the system's apt sources name (deb.debian.org if none is found).
fn debian_mirror() -> String {
    let mut texts = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                texts.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    texts.push(std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default());
    texts
        .iter()
        .flat_map(|t| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|w| w.starts_with("http") && w.trim_end_matches('/').ends_with("/debian"))
        .map(|w| w.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_string())
}

/// `linux-source-7.3` from trixie-backports through a private apt configuration in
/// `<cache>/apt-trixie-backports` (its own sources file, lists and package cache, so the
/// system's apt state is only read; `apt-get download` installs nothing). Once unpacked,
/// later runs need no network.
fn ensure_backports_source(cache: &Path, line: KernelLine) -> Result<(PathBuf, String)> {
    if let Some(found) = unpacked_tree(cache, line)? {
        return Ok(found);
    }
    let apt_dir = cache.join("apt-trixie-backports");
    let lists = apt_dir.join("lists");
    std::fs::create_dir_all(lists.join("partial"))?;
    // Its own package cache too: apt would otherwise rebuild the system's
    // /var/cache/apt/*.bin from these lists.
    let apt_cache = apt_dir.join("cache");
    std::fs::create_dir_all(apt_cache.join("archives/partial"))?;
    let sources = apt_dir.join("sources.list");
    std::fs::write(
        &sources,
        format!("deb {} {TRIXIE_BACKPORTS} main\n", debian_mirror()),
    )?;
    let opts = [
        format!("-o=Dir::Etc::sourcelist={}", sources.display()),
        "-o=Dir::Etc::sourceparts=-".to_string(),
        format!("-o=Dir::State::Lists={}", lists.display()),
        format!("-o=Dir::Cache={}", apt_cache.display()),
        "-o=APT::Get::List-Cleanup=0".to_string(),
    ];
    util::stage(
        "deps",
        &format!(
            "fetching {} from {TRIXIE_BACKPORTS} (private apt lists in {}; ~170 MB)",
            line.source_package(),
            apt_dir.display()
        ),
    );
    util::run(
        Command::new("apt-get").args(&opts).arg("update"),
        "apt-get update (trixie-backports, private lists)",
    )?;
    let debs = apt_dir.join("debs");
    let _ = std::fs::remove_dir_all(&debs);
    std::fs::create_dir_all(&debs)?;
    util::run(
        Command::new("apt-get")
            .current_dir(&debs)
            .args(&opts)
            .args(["download", line.source_package()]),
        "apt-get download",
    )?;
    let deb = std::fs::read_dir(&debs)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("apt-get download left no .deb in {}", debs.display()))?;
    let version = util::cmd_output(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"))?
        .trim()
        .to_string();
    let x = apt_dir.join("x");
    let _ = std::fs::remove_dir_all(&x);
    util::run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x),
        "dpkg-deb -x",
    )?;
    let tarball = x.join(format!("usr/src/{}.tar.xz", line.source_package()));
    if !tarball.is_file() {
        bail!("{} holds no {}", deb.display(), tarball.display());
    }
    let dir = unpack(cache, &tarball, &version)?;
    let _ = std::fs::remove_dir_all(&x);
    let _ = std::fs::remove_dir_all(&debs);
    Ok((dir, version))
}

/// An unpacked tree of `line` in the cache, with the package version it came from.
fn unpacked_tree(cache: &Path, line: KernelLine) -> Result<Option<(PathBuf, String)>> {
    let Ok(rd) = std::fs::read_dir(cache) else {
        return Ok(None);
    };
    let prefix = format!("linux-{}.", line.name());
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if name.starts_with(&prefix) && p.join("Makefile").is_file() && p.join("rust").is_dir() {
            if let Ok(v) = std::fs::read_to_string(p.join(VERSION_FILE)) {
                return Ok(Some((p, v.trim().to_string())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dirs_keep_the_6_12_names() {
        assert_eq!(KernelLine::V6_12.build_dir_name("debug"), "build-debug");
        assert_eq!(
            KernelLine::V7_3.build_dir_name("release"),
            "build-7.3-release"
        );
    }

    #[test]
    fn lines_parse_from_the_command_line() {
        use clap::ValueEnum;
        assert_eq!(KernelLine::from_str("7.3", false), Ok(KernelLine::V7_3));
        assert_eq!(KernelLine::from_str("6.12", false), Ok(KernelLine::V6_12));
        assert!(KernelLine::from_str("6.13", false).is_err());
    }
}
