//! Building the driver for kernels of your own: `cargo xtask dkms-source` (a self-contained
//! driver folder for DKMS), `cargo xtask module --kdir DIR` (any prepared tree, through
//! driver/Makefile as DKMS does), and the DKMS check of `cargo xtask test` (`dkms build`
//! against each cached tree, in a private DKMS tree: nothing is installed).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::kernel::{self, Kernel};
use crate::util;

const PACKAGE: &str = "kcompletion";

fn driver_dir() -> PathBuf {
    util::repo_root().join("driver")
}

/// `PACKAGE_VERSION` of driver/dkms.conf.
pub fn package_version() -> Result<String> {
    let conf = driver_dir().join("dkms.conf");
    let text =
        std::fs::read_to_string(&conf).with_context(|| format!("read {}", conf.display()))?;
    version_of(&text).with_context(|| format!("no PACKAGE_VERSION in {}", conf.display()))
}

fn version_of(dkms_conf: &str) -> Option<String> {
    dkms_conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("PACKAGE_VERSION="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Writes driver/ with its prepared Lua core, without build products, to `out` (replaced).
pub fn source_tree(out: &Path) -> Result<()> {
    let dir = driver_dir();
    kernel::prepare_driver_sources(&dir)?;
    let _ = std::fs::remove_dir_all(out);
    kernel::mirror_sources(&dir, out)
}

pub fn cmd_dkms_source(out: Option<&Path>) -> Result<i32> {
    let v = package_version()?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => PathBuf::from(format!("/usr/src/{PACKAGE}-{v}")),
    };
    source_tree(&out)?;
    util::stage(
        "dkms",
        &format!(
            "wrote {}; now: dkms add {PACKAGE}/{v} && dkms build {PACKAGE}/{v} && dkms install {PACKAGE}/{v}",
            out.display()
        ),
    );
    Ok(0)
}

/// `make modules KDIR=kdir` in a copy of the driver: the toolchain comes from the tree's
/// .config (driver/Makefile), as under DKMS.
pub fn cmd_module(kdir: &Path) -> Result<i32> {
    let kdir = std::fs::canonicalize(kdir).with_context(|| format!("{}", kdir.display()))?;
    let dir = util::target_dir().join("xtask/kmod-kdir/driver");
    source_tree(&dir)?;
    let log = util::target_dir().join("xtask/module-kdir.log");
    let _ = std::fs::remove_file(&log);
    let mut c = Command::new("make");
    c.current_dir(&dir)
        .arg(format!("KDIR={}", kdir.display()))
        .arg(format!("-j{}", util::nproc()))
        .arg("modules");
    util::clean_make_env(&mut c);
    let r = util::run_logged(
        &mut c,
        &log,
        "module",
        &format!("building against {}", kdir.display()),
    );
    if let Err(e) = r {
        eprintln!("{}", util::tail_lines(&std::fs::read_to_string(&log)?, 30));
        return Err(e);
    }
    let ko = dir.join("kcompletion.ko");
    if !ko.is_file() {
        bail!(
            "make succeeded but {} is missing (log: {})",
            ko.display(),
            log.display()
        );
    }
    util::stage("module", &format!("built {}", ko.display()));
    println!("{}", ko.display());
    Ok(0)
}

/// `dkms build` of a fresh source tree against each kernel, in a private DKMS tree under
/// target/xtask/dkms: one result per kernel.
pub fn check(kernels: &[&Kernel]) -> Result<Vec<(String, Result<()>)>> {
    let version = package_version()?;
    let root = util::target_dir().join("xtask/dkms");
    let _ = std::fs::remove_dir_all(&root);
    let src = root.join("src");
    source_tree(&src.join(format!("{PACKAGE}-{version}")))?;
    // dkms wants its trees to exist (and be writable).
    for d in ["tree", "install"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let dkms = |args: &[&str], log: &Path, what: &str| -> Result<()> {
        let mut c = Command::new("dkms");
        c.arg("--dkmstree")
            .arg(root.join("tree"))
            .arg("--sourcetree")
            .arg(&src)
            .arg("--installtree")
            .arg(root.join("install"))
            .args(args);
        util::clean_make_env(&mut c);
        util::run_logged(&mut c, log, "dkms", what).map(|_| ())
    };
    let log = root.join("add.log");
    dkms(&["add", "-m", PACKAGE, "-v", &version], &log, "dkms add")
        .with_context(|| format!("dkms add (log: {})", log.display()))?;
    let mut out = Vec::new();
    for k in kernels {
        let release = std::fs::read_to_string(k.build_dir.join("include/config/kernel.release"))
            .with_context(|| format!("kernel.release of {}", k.build_dir.display()))?
            .trim()
            .to_string();
        let name = format!(
            "dkms build against Linux {} ({})",
            release,
            k.build_dir.display()
        );
        let log = root.join(format!("build-{release}.log"));
        let t0 = Instant::now();
        let r = dkms(
            &[
                "build",
                "-m",
                PACKAGE,
                "-v",
                &version,
                "-k",
                &release,
                "--kernelsourcedir",
                &k.build_dir.display().to_string(),
            ],
            &log,
            &format!("dkms build for {release}"),
        )
        .and_then(|()| {
            let ko = root
                .join("tree")
                .join(PACKAGE)
                .join(&version)
                .join(&release)
                .join("x86_64/module/kcompletion.ko");
            // dkms 3.0 keeps the module as built; newer ones may compress it.
            let any = ["", ".xz", ".zst", ".gz"]
                .iter()
                .any(|ext| PathBuf::from(format!("{}{ext}", ko.display())).is_file());
            if any {
                Ok(())
            } else {
                bail!("dkms build succeeded but left no {}", ko.display())
            }
        })
        .with_context(|| {
            format!(
                "{name}: last lines of {}:\n{}",
                log.display(),
                util::tail_lines(&std::fs::read_to_string(&log).unwrap_or_default(), 15)
            )
        });
        util::stage(
            "dkms",
            &format!(
                "{name}: {} in {}",
                if r.is_ok() { "built" } else { "FAILED" },
                util::fmt_duration(t0.elapsed())
            ),
        );
        out.push((name, r));
    }
    Ok(out)
}

/// The udev rule of README "Install on your machine".
pub const UDEV_RULE: &str = "driver/70-kcompletion.rules";

/// `udevadm verify` of the udev rule, where this udevadm has it (systemd 253 and newer;
/// Debian 12 has 252): `None` if it does not. The host test `udev_rule_syntax` checks the
/// rule everywhere.
pub fn udevadm_verify() -> Option<Result<()>> {
    let has = Command::new("udevadm")
        .args(["verify", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        return None;
    }
    let rule = util::repo_root().join(UDEV_RULE);
    Some(util::run(
        Command::new("udevadm").arg("verify").arg(&rule),
        "udevadm verify",
    ))
}

/// The udev rule passes [`udev_rule_problems`].
pub fn udev_rule_check() -> Result<()> {
    let path = util::repo_root().join(UDEV_RULE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let problems = udev_rule_problems(&text);
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}: {}", path.display(), problems.join("; "))
    }
}

/// Problems in a udev rules file: every rule line is comma-separated `KEY op "value"`
/// pairs with a known key, an operator it allows (matches `==`/`!=`, assignments
/// `=`/`+=`/`-=`/`:=`) and a double-quoted value.
pub fn udev_rule_problems(text: &str) -> Vec<String> {
    const MATCH: &[&str] = &["SUBSYSTEM", "KERNEL", "ACTION", "DRIVER", "DEVPATH"];
    const ASSIGN: &[&str] = &["GROUP", "MODE", "OWNER", "TAG", "SYMLINK"];
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for pair in line.split(',').map(str::trim) {
            let Some(op_at) = pair.find(['=', '!', '+', '-', ':']) else {
                problems.push(format!("line {n}: {pair:?} has no operator"));
                continue;
            };
            let (key, rest) = pair.split_at(op_at);
            let op = ["==", "!=", "+=", "-=", ":=", "="]
                .into_iter()
                .find(|o| rest.starts_with(o));
            let Some(op) = op else {
                problems.push(format!("line {n}: {pair:?} has no operator"));
                continue;
            };
            let value = &rest[op.len()..];
            let is_match = op == "==" || op == "!=";
            let known = if is_match { MATCH } else { ASSIGN };
            if !known.contains(&key) {
                problems.push(format!("line {n}: {key}{op} is not a known use of {key:?}"));
            }
            if value.len() < 2 || !value.starts_with('"') || !value.ends_with('"') {
                problems.push(format!(
                    "line {n}: {key}'s value {value:?} is not double-quoted"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udev_rule_syntax() {
        let text = std::fs::read_to_string(util::repo_root().join(UDEV_RULE)).unwrap();
        assert_eq!(udev_rule_problems(&text), Vec::<String>::new());
        assert!(text.contains("KERNEL==\"kcompletion\""));
        // The check can fail.
        assert_eq!(
            udev_rule_problems("KERNEL=\"x\", MODE==\"0660\"\n").len(),
            2
        );
        assert_eq!(udev_rule_problems("KERNEL==kcompletion\n").len(), 1);
        assert_eq!(udev_rule_problems("KERNEL\n").len(), 1);
    }

    #[test]
    fn the_package_version_is_read_from_dkms_conf() {
        assert_eq!(
            version_of("# c\nPACKAGE_NAME=\"kcompletion\"\nPACKAGE_VERSION=\"1.2.3\"\n"),
            Some("1.2.3".into())
        );
        assert_eq!(version_of("PACKAGE_NAME=\"x\"\n"), None);
        assert!(package_version().is_ok());
    }
}
