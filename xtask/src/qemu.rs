//! Booting the guest in QEMU: accelerator choice (KVM with automatic
//! fallback to TCG), console watching, hang detection and job output.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::console;
use crate::kernel::Kernel;
use crate::util;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
    /// TCG with `-icount shift=0,sleep=off`: guest time counts executed instructions (1 ns
    /// each), deterministic; one vCPU runs at a time (`cargo xtask bench`).
    TcgIcount,
}

impl Accel {
    fn args(self) -> &'static [&'static str] {
        match self {
            Accel::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => &["-accel", "tcg,thread=multi", "-cpu", "max"],
            Accel::TcgIcount => &[
                "-accel",
                "tcg",
                "-icount",
                "shift=0,sleep=off",
                "-cpu",
                "max",
            ],
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
            Accel::TcgIcount => "tcg-icount",
        }
    }
}

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

/// A writer that prefixes every line and writes whole lines to stderr.
struct Prefixer {
    prefix: &'static str,
    buf: Vec<u8>,
}

impl Write for Prefixer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line);
            eprint!("{}{}", self.prefix, text.trim_end_matches(['\n', '\r']));
            eprintln!();
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Prefixer {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            eprintln!("{}{}", self.prefix, String::from_utf8_lossy(&self.buf));
        }
    }
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
        if let Some(p) = console::splat_pattern(l) {
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

fn qemu_version() -> String {
    util::cmd_output(Command::new("qemu-system-x86_64").arg("--version"))
        .map(|s| s.lines().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn kvm_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

fn verdict_path(kernel: &Kernel) -> PathBuf {
    let key = util::sha256_hex(&[qemu_version().as_bytes(), kernel.key.as_bytes()]);
    util::cache_root().join("accel").join(&key[..16])
}

fn read_verdict(kernel: &Kernel) -> Option<Accel> {
    match std::fs::read_to_string(verdict_path(kernel)).ok()?.trim() {
        "kvm" => Some(Accel::Kvm),
        "tcg" => Some(Accel::Tcg),
        _ => None,
    }
}

fn write_verdict(kernel: &Kernel, a: Accel) {
    let p = verdict_path(kernel);
    let _ = std::fs::create_dir_all(p.parent().unwrap());
    let _ = std::fs::write(p, format!("{}\n", a.name()));
}

/// Accelerator to try first: `KCOMPLETION_ACCEL` override, else the
/// remembered verdict, else KVM if /dev/kvm is usable.
fn first_choice(kernel: &Kernel) -> (Accel, bool) {
    match std::env::var("KCOMPLETION_ACCEL").as_deref() {
        Ok("tcg") => return (Accel::Tcg, false),
        Ok("kvm") => return (Accel::Kvm, false),
        _ => {}
    }
    if !kvm_usable() {
        return (Accel::Tcg, false);
    }
    match read_verdict(kernel) {
        Some(Accel::Tcg | Accel::TcgIcount) => (Accel::Tcg, false),
        Some(Accel::Kvm) => (Accel::Kvm, true),
        None => (Accel::Kvm, true),
    }
}

fn cmdline(kunit: bool, accel: Accel) -> String {
    // A 120 s hung-task threshold: the detector still catches a task stuck in D state (a
    // deadlock in the driver), but not the slow-but-progressing exits of hundreds of processes
    // under TCG with KASAN and lockdep, which took over 20 s (the config's default).
    format!(
        "console=ttyS0 panic=-1 loglevel=7 printk.devkmsg=on \
         sysctl.kernel.hung_task_timeout_secs=120 kunit.enable={}{}",
        if kunit { 1 } else { 0 },
        tsc_args(accel)
    )
}

/// Keep the guest on its TSC with 2 vCPUs. Without these the guest fell back to the
/// `refined-jiffies` clocksource (4 ms steps, no high-resolution timers):
/// - QEMU's TSC is one clock for all vCPUs (the instruction count under `-icount`, the
///   host's TSC otherwise), but `-cpu max` under TCG is neither Intel nor has an invariant
///   TSC, so with more than one possible CPU the kernel assumes a multi-socket box with
///   unsynchronised TSCs ("Marking TSC unstable due to TSCs unsynchronized"): `tsc=reliable`.
/// - Under plain TCG on a loaded host, calibration against the PIT fails ("could not
///   calculate TSC khz") when the other guest or a build keeps the cores busy: the rate is
///   known (1 GHz under `-icount shift=0`; otherwise the host's own TSC rate, measured
///   here), so it is given with `tsc_early_khz`.
fn tsc_args(accel: Accel) -> String {
    let khz = match accel {
        Accel::TcgIcount => Some(1_000_000),
        Accel::Tcg => host_tsc_khz(),
        Accel::Kvm => None,
    };
    match (accel, khz) {
        (Accel::Kvm, _) => String::new(),
        (_, Some(khz)) => format!(" tsc=reliable tsc_early_khz={khz}"),
        (_, None) => " tsc=reliable".into(),
    }
}

/// The host's TSC rate in kHz (the rate of a TCG guest's TSC), measured against
/// `CLOCK_MONOTONIC` over 50 ms; only on a host whose TSC rate is constant (`constant_tsc`
/// in /proc/cpuinfo).
fn host_tsc_khz() -> Option<u64> {
    static KHZ: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *KHZ.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let flags = info.lines().find(|l| l.starts_with("flags"))?;
        if !flags.split_whitespace().any(|w| w == "constant_tsc") {
            return None;
        }
        let (t0, c0) = (Instant::now(), rdtsc());
        std::thread::sleep(Duration::from_millis(50));
        let (c1, dt) = (rdtsc(), t0.elapsed());
        let khz = c1.wrapping_sub(c0) as f64 / dt.as_secs_f64() / 1000.0;
        (khz > 1000.0 && khz < 100_000_000.0).then(|| khz.round() as u64)
    })
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads the time-stamp counter; it has no preconditions on x86_64.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
}

fn base_cmd(kernel: &Kernel, initrd: &Path, accel: Accel, kunit: bool, hw: &Hardware) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args(accel.args());
    c.arg("-m").arg(hw.mem_mb.to_string());
    c.arg("-smp").arg(smp_arg(hw.smp));
    c.args(["-nographic", "-no-reboot"]);
    c.arg("-kernel")
        .arg(&kernel.bzimage)
        .arg("-initrd")
        .arg(initrd);
    c.arg("-append").arg(cmdline(kunit, accel));
    c
}

/// `-smp N` as one socket per CPU. SeaBIOS writes only the first logical CPU
/// of each package into its MP table (legacy MPS predates multi-core
/// packages, see its `mptable.c`), and QEMU's plain `-smp 2` makes one socket
/// with two cores, so a kernel without ACPI, which finds its CPUs in the MP
/// table, brought up one: "Allowing 1 present CPUs". With `sockets=N` every
/// CPU is a package of its own and the MP table lists them all.
pub fn smp_arg(n: u32) -> String {
    format!("{n},sockets={n},cores=1,threads=1")
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

type Sink = Box<dyn Write + Send>;

/// Follows a file that QEMU writes, copying new bytes to a sink.
fn tail_file(
    path: PathBuf,
    done: Arc<AtomicBool>,
    activity: Arc<AtomicU64>,
    start: Instant,
    mut sink: Option<Sink>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut f = None;
        let mut buf = [0u8; 8192];
        loop {
            let finished = done.load(Ordering::SeqCst);
            if f.is_none() {
                f = std::fs::File::open(&path).ok();
            }
            let mut got = 0;
            if let Some(file) = f.as_mut() {
                got = file.read(&mut buf).unwrap_or(0);
                if got > 0 {
                    all.extend_from_slice(&buf[..got]);
                    activity.store(start.elapsed().as_millis() as u64, Ordering::SeqCst);
                    if let Some(s) = sink.as_mut() {
                        let _ = s.write_all(&buf[..got]);
                        let _ = s.flush();
                    }
                }
            }
            if got == 0 {
                if finished {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        all
    })
}

enum Msg {
    Console(String),
    Stderr(String),
    ConsoleEof,
}

fn boot_once(
    kernel: &Kernel,
    opts: &BootOptions,
    accel: Accel,
    hw: &Hardware,
) -> Result<BootResult> {
    let tag = format!("guest {}", opts.name);
    let dir = run_dir(&opts.name)?;
    let console_log = dir.join("console.log");
    let out_path = dir.join("stdout.log");
    let err_path = dir.join("stderr.log");
    for p in [&out_path, &err_path] {
        std::fs::write(p, b"")?;
    }
    let mut c = base_cmd(kernel, &opts.initrd, accel, opts.kunit, hw);
    c.args(["-monitor", "none", "-serial", "stdio"]);
    c.arg("-serial").arg(format!("file:{}", out_path.display()));
    c.arg("-serial").arg(format!("file:{}", err_path.display()));
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    util::stage(
        &tag,
        &format!(
            "booting {} with accelerator {} (console log: {})",
            kernel.bzimage.display(),
            accel.name(),
            console_log.display()
        ),
    );
    let start = Instant::now();
    let mut child: Child = c.spawn().context("run qemu-system-x86_64")?;

    let (tx, rx) = mpsc::channel::<Msg>();
    let stdout = child.stdout.take().unwrap();
    let tx1 = tx.clone();
    let console_reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let s = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    if tx1.send(Msg::Console(s)).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx1.send(Msg::ConsoleEof);
    });
    let stderr = child.stderr.take().unwrap();
    let tx2 = tx;
    let stderr_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(l) = line else { break };
            if tx2.send(Msg::Stderr(l)).is_err() {
                break;
            }
        }
    });

    let done = Arc::new(AtomicBool::new(false));
    let activity = Arc::new(AtomicU64::new(0));
    let (out_sink, err_sink): (Option<Sink>, Option<Sink>) = match opts.echo {
        Echo::Raw => (
            Some(Box::new(std::io::stdout())),
            Some(Box::new(std::io::stderr())),
        ),
        Echo::Prefixed => (
            Some(Box::new(Prefixer {
                prefix: "  | ",
                buf: Vec::new(),
            })),
            Some(Box::new(Prefixer {
                prefix: "  |2 ",
                buf: Vec::new(),
            })),
        ),
        Echo::Lane(n) => (
            Some(Box::new(crate::lanes::Progress::new(
                n,
                crate::lanes::load_times(),
            ))),
            None,
        ),
        Echo::Quiet => (None, None),
    };
    let out_tail = tail_file(
        out_path.clone(),
        done.clone(),
        activity.clone(),
        start,
        out_sink,
    );
    let err_tail = tail_file(
        err_path.clone(),
        done.clone(),
        activity.clone(),
        start,
        err_sink,
    );

    let mut log = std::fs::File::create(&console_log)?;
    let mut console_text = String::new();
    let mut qemu_err = String::new();
    let mut failure = None;
    let mut kvm_failed = false;
    let mut userspace = false;
    let mut exit_status: Option<i32> = None;
    let mut last_console = Instant::now();
    let mut next_progress = Duration::from_secs(30);
    let marker_deadline = match accel {
        Accel::Kvm => Duration::from_secs(60),
        Accel::Tcg | Accel::TcgIcount => opts.total_timeout,
    };
    let mut console_eof = false;
    let mut console_lines = 0usize;
    let mut quiet_until = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Console(l)) => {
                last_console = Instant::now();
                let _ = writeln!(log, "{l}");
                let t = console::strip_printk_time(&l);
                if t.trim() == "KC-USERSPACE-START" {
                    userspace = true;
                    util::stage(
                        &tag,
                        &format!("userspace up after {}", util::fmt_duration(start.elapsed())),
                    );
                }
                if let Some(s) = t.trim().strip_prefix("KC-EXIT ") {
                    exit_status = s.trim().parse().ok();
                }
                console_lines += 1;
                if let Some(p) = console::splat_pattern(&l) {
                    // one live line per splat (its report follows at the end)
                    if console_lines >= quiet_until {
                        util::stage(
                            &tag,
                            &format!("kernel splat on console ({p}): {}", l.trim()),
                        );
                    }
                    quiet_until = console_lines + 25;
                }
                console_text.push_str(&l);
                console_text.push('\n');
            }
            Ok(Msg::Stderr(l)) => {
                let _ = writeln!(log, "QEMU: {l}");
                if accel == Accel::Kvm
                    && (l.contains("KVM internal error")
                        || l.contains("emulation failure")
                        || l.contains("failed to set MSR"))
                {
                    kvm_failed = true;
                }
                qemu_err.push_str(&l);
                qemu_err.push('\n');
            }
            Ok(Msg::ConsoleEof) => console_eof = true,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => console_eof = true,
        }
        if console_eof {
            break;
        }
        let elapsed = start.elapsed();
        let idle_job =
            elapsed.saturating_sub(Duration::from_millis(activity.load(Ordering::SeqCst)));
        let idle = last_console.elapsed().min(idle_job);
        if kvm_failed {
            failure = Some("KVM failed (QEMU error output)".into());
            break;
        }
        if !userspace && accel == Accel::Kvm && elapsed > marker_deadline {
            kvm_failed = true;
            failure = Some(format!(
                "no userspace marker within {}s under KVM",
                marker_deadline.as_secs()
            ));
            break;
        }
        if idle > opts.idle_timeout {
            failure = Some(format!("guest hung: no output for {}s", idle.as_secs()));
            break;
        }
        if elapsed > opts.total_timeout {
            failure = Some(format!("guest timed out after {}s", elapsed.as_secs()));
            break;
        }
        // A `Lane` guest has its own per-suite progress lines (lanes::Progress).
        if elapsed >= next_progress && !matches!(opts.echo, Echo::Lane(_)) {
            util::stage(
                &tag,
                &format!("running … {} elapsed", util::fmt_duration(elapsed)),
            );
            next_progress += Duration::from_secs(30);
        }
    }
    // Stop QEMU if it is still running, then collect everything.
    if child.try_wait()?.is_none() {
        if failure.is_some() {
            let _ = child.kill();
        } else {
            // console closed: QEMU is exiting
            let t = Instant::now();
            while child.try_wait()?.is_none() && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
    }
    let status = child.wait()?;
    let _ = console_reader.join();
    let _ = stderr_reader.join();
    for m in rx.try_iter() {
        match m {
            Msg::Console(l) => {
                let _ = writeln!(log, "{l}");
                console_text.push_str(&l);
                console_text.push('\n');
            }
            Msg::Stderr(l) => {
                qemu_err.push_str(&l);
                qemu_err.push('\n');
            }
            Msg::ConsoleEof => {}
        }
    }
    done.store(true, Ordering::SeqCst);
    let stdout = String::from_utf8_lossy(&out_tail.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_tail.join().unwrap_or_default()).into_owned();
    if accel == Accel::Kvm && !userspace {
        kvm_failed = true;
    }
    if failure.is_none() && exit_status.is_none() {
        failure = Some(format!(
            "guest stopped before finishing its job (QEMU {status}){}",
            if qemu_err.trim().is_empty() {
                String::new()
            } else {
                format!("; QEMU said: {}", qemu_err.trim())
            }
        ));
    }
    let duration = start.elapsed();
    util::stage(
        &tag,
        &format!(
            "guest finished in {} (accelerator {}, job status {})",
            util::fmt_duration(duration),
            accel.name(),
            exit_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "none".into())
        ),
    );
    let splats = find_splats(&console_text);
    Ok(BootResult {
        accel,
        console: console_text,
        stdout,
        stderr,
        exit_status,
        userspace_started: userspace,
        splats,
        failure,
        console_log,
        duration,
        kvm_failed,
    })
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
