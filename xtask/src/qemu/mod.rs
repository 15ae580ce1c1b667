//! Booting the guest in QEMU: the machine and boot options, KVM with automatic fallback
//! to TCG (`accel`), console watching, hang detection and job output (`watch`), kernel
//! splats on the console, and the per-run log folders under target/guest/.

mod accel;
mod watch;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::guest_output;
use crate::kernel::Kernel;
use crate::util;
pub use accel::Accel;
use accel::{base_cmd, first_choice, read_verdict, write_verdict};
use watch::boot_once;

/// The guest machine: vCPUs, memory, and an accelerator forced instead of the automatic
/// choice (KVM if it works, else TCG).
#[derive(Debug, Clone)]
pub struct Hardware {
    pub smp: u32,
    pub mem_mb: u32,
    pub accel: Option<Accel>,
}

impl Default for Hardware {
    fn default() -> Self {
        Hardware {
            smp: 2,
            mem_mb: 1024,
            accel: None,
        }
    }
}

/// Where the job's output goes while the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Job stdout to our stdout, job stderr to our stderr (for `vm -- CMD`, `demo`).
    Raw,
    /// Job stdout and stderr live on our stderr, each line prefixed
    /// with `  | ` (for `test`: progress without mixing into our stdout).
    Prefixed,
    /// Live status lines of guest N of `cargo xtask test` (see `lanes.rs`).
    Lane(usize),
    /// Nothing live (results are parsed afterwards).
    Quiet,
}

#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Short name, used for the log files under target/guest/.
    pub name: String,
    pub initrd: PathBuf,
    /// Run the boot-time KUnit tests.
    pub kunit: bool,
    /// Kill the guest after this long without console or job output.
    pub idle_timeout: Duration,
    /// Kill the guest after this long in total.
    pub total_timeout: Duration,
    pub echo: Echo,
}

/// One kernel splat with its console context.
#[derive(Debug, Clone)]
pub struct Splat {
    pub pattern: &'static str,
    pub line: String,
    pub excerpt: String,
}

#[derive(Debug, Clone)]
pub struct BootResult {
    pub accel: Accel,
    pub console: String,
    pub stdout: String,
    pub stderr: String,
    /// Status from the `KC-EXIT <status>` marker.
    pub exit_status: Option<i32>,
    pub userspace_started: bool,
    pub splats: Vec<Splat>,
    /// Hang, timeout, or the guest died before `KC-EXIT`.
    pub failure: Option<String>,
    pub console_log: PathBuf,
    pub duration: Duration,
    kvm_failed: bool,
}

impl BootResult {
    /// Is the run clean (finished, no splat)? The job's own status is
    /// judged by the caller.
    pub fn clean(&self) -> bool {
        self.failure.is_none() && self.splats.is_empty() && self.exit_status.is_some()
    }

    /// Print splats and failures (with console context) to stderr.
    pub fn report_problems(&self, tag: &str) {
        const WITH_EXCERPT: usize = 3;
        for (i, s) in self.splats.iter().enumerate() {
            eprintln!("[{tag}] KERNEL SPLAT ({}): {}", s.pattern, s.line.trim());
            if i < WITH_EXCERPT {
                eprintln!(
                    "----- console excerpt ({}) -----\n{}\n-----",
                    self.console_log.display(),
                    s.excerpt
                );
            }
        }
        if self.splats.len() > WITH_EXCERPT {
            eprintln!(
                "[{tag}] {} kernel splats in all; excerpts of the first {WITH_EXCERPT} above, the rest in {}",
                self.splats.len(),
                self.console_log.display()
            );
        }
        if let Some(f) = &self.failure {
            let stage = if self.userspace_started {
                "after userspace started"
            } else {
                "before userspace started"
            };
            eprintln!("[{tag}] GUEST FAILURE ({stage}): {f}");
            eprintln!(
                "----- last console lines ({}) -----\n{}\n-----",
                self.console_log.display(),
                util::tail_lines(&self.console, 30)
            );
        }
    }
}

/// Find splats in the console text; overlapping ones share one excerpt.
pub fn find_splats(console_text: &str) -> Vec<Splat> {
    let lines: Vec<&str> = console_text.lines().collect();
    let mut out = Vec::new();
    let mut covered_until = 0usize;
    for (i, l) in lines.iter().enumerate() {
        if let Some(p) = guest_output::splat_pattern(l) {
            if i < covered_until && !out.is_empty() {
                continue;
            }
            let from = i.saturating_sub(5);
            let to = (i + 20).min(lines.len());
            covered_until = to;
            out.push(Splat {
                pattern: p,
                line: l.to_string(),
                excerpt: lines[from..to].join("\n"),
            });
        }
    }
    out
}

/// Guest log folder: target/guest/.
pub fn guest_dir() -> PathBuf {
    util::target_dir().join("guest")
}

/// Per-run folder `target/guest/<name>-<pid>/` (initramfs, console,
/// stdout and stderr logs), so concurrent runs never share files.
/// Folders of finished runs with the same name are removed when a new
/// one is made; `target/guest/<name>-latest` points at the newest.
pub fn run_dir(name: &str) -> Result<PathBuf> {
    let base = guest_dir();
    let me = std::process::id();
    let dir = base.join(format!("{name}-{me}"));
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base)?;
    for e in std::fs::read_dir(&base)?.filter_map(|e| e.ok()) {
        let f = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = f.strip_prefix(name).and_then(|r| r.strip_prefix('-')) else {
            continue;
        };
        if let Ok(pid) = pid.parse::<u32>() {
            if pid != me && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    std::fs::create_dir_all(&dir)?;
    let latest = base.join(format!("{name}-latest"));
    let tmp = base.join(format!(".{name}-latest-{me}"));
    let _ = std::fs::remove_file(&tmp);
    if std::os::unix::fs::symlink(dir.file_name().unwrap(), &tmp).is_ok() {
        let _ = std::fs::rename(&tmp, &latest);
    }
    Ok(dir)
}

/// Boot a non-interactive guest, falling back from KVM to TCG if KVM fails.
pub fn boot(kernel: &Kernel, opts: &BootOptions) -> Result<BootResult> {
    boot_with(kernel, opts, &Hardware::default())
}

/// [`boot`] on a given machine; a forced accelerator is used as is (no fallback).
pub fn boot_with(kernel: &Kernel, opts: &BootOptions, hw: &Hardware) -> Result<BootResult> {
    if let Some(a) = hw.accel {
        return boot_once(kernel, opts, a, hw);
    }
    let (accel, may_fallback) = first_choice(kernel);
    let r = boot_once(kernel, opts, accel, hw)?;
    if accel == Accel::Kvm && may_fallback {
        if r.kvm_failed {
            util::stage(
                &format!("guest {}", opts.name),
                "KVM did not work for this guest (see log); falling back to TCG and remembering that",
            );
            write_verdict(kernel, Accel::Tcg);
            return boot_once(kernel, opts, Accel::Tcg, hw);
        }
        write_verdict(kernel, Accel::Kvm);
    }
    Ok(r)
}

/// Pick the accelerator for an interactive boot (probing once if needed).
pub fn choose_accel_interactive(kernel: &Kernel, initrd_probe: &Path) -> Result<Accel> {
    let (accel, may_fallback) = first_choice(kernel);
    if accel == Accel::Kvm && may_fallback && read_verdict(kernel).is_none() {
        let opts = BootOptions {
            name: "kvm-probe".into(),
            initrd: initrd_probe.to_path_buf(),
            kunit: false,
            idle_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(120),
            echo: Echo::Quiet,
        };
        let r = boot_once(kernel, &opts, Accel::Kvm, &Hardware::default())?;
        let a = if r.kvm_failed { Accel::Tcg } else { Accel::Kvm };
        write_verdict(kernel, a);
        return Ok(a);
    }
    Ok(accel)
}

/// Interactive boot: QEMU inherits the terminal (serial console on stdio).
pub fn boot_interactive(kernel: &Kernel, initrd: &Path, accel: Accel) -> Result<i32> {
    let mut c = base_cmd(kernel, initrd, accel, false, &Hardware::default());
    c.args(["-serial", "mon:stdio", "-serial", "null", "-serial", "null"]);
    util::stage(
        "guest",
        &format!(
            "interactive shell, accelerator {} (Ctrl-A X kills QEMU)",
            accel.name()
        ),
    );
    let st = c.status().context("run qemu-system-x86_64")?;
    Ok(st.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splat_excerpts_merge() {
        let mut con = String::new();
        for i in 0..10 {
            con.push_str(&format!("[ 1.{i}] boot line {i}\n"));
        }
        con.push_str(
            "[ 2.0] WARNING: CPU: 0 PID: 9 at x.c:1 f\n[ 2.1] Call Trace:\n[ 2.2]  <TASK>\n",
        );
        for i in 0..30 {
            con.push_str(&format!("[ 3.{i}] after {i}\n"));
        }
        con.push_str("[ 9.0] BUG: KASAN: use-after-free\n");
        let s = find_splats(&con);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].pattern, "WARNING:");
        assert!(s[0].excerpt.contains("boot line 9") && s[0].excerpt.contains("Call Trace:"));
        assert_eq!(s[1].pattern, "BUG:");
        assert!(find_splats("[ 1.0] all fine\nKC-EXIT 0\n").is_empty());
    }
}
