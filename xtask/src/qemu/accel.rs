//! The accelerator (KVM, remembered per QEMU and kernel when it fails; TCG; TCG with
//! `-icount`) and the QEMU command line: machine, kernel command line, TSC settings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::Hardware;
use crate::kernel::Kernel;
use crate::kernels::KernelLine;
use crate::util;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
    /// TCG with `-icount shift=0,sleep=off`: guest time counts executed instructions (1 ns
    /// each), deterministic; one vCPU runs at a time (`cargo xtask bench`).
    TcgIcount,
}

/// Every guest runs with 4-level paging (`la57=off`). With LA57 the kernel reads
/// `pgtable_l5_enabled()` from `boot_cpu_data` until alternatives are patched, and
/// `identify_boot_cpu()` (from `arch_cpu_finalize_init()`, with interrupts on) zeroes
/// `x86_capability` before it re-reads CPUID. An interrupt in that window sees 4-level
/// limits, so KASAN takes a valid `ff11...` direct-map address for one without shadow and
/// reports "wild-memory-access in do_raw_spin_lock" from `handle_edge_irq` about a second
/// into boot: a false report in the kernel (6.12 and 7.3 alike), seen once in CI. Without
/// LA57 the window reads the same answer as the rest of the boot.
const CPU_HOST: &str = "host,la57=off";
const CPU_TCG: &str = "max,la57=off";

impl Accel {
    fn args(self) -> &'static [&'static str] {
        match self {
            Accel::Kvm => &["-accel", "kvm", "-cpu", CPU_HOST],
            Accel::Tcg => &["-accel", "tcg,thread=multi", "-cpu", CPU_TCG],
            Accel::TcgIcount => &[
                "-accel",
                "tcg",
                "-icount",
                "shift=0,sleep=off",
                "-cpu",
                CPU_TCG,
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

pub(super) fn read_verdict(kernel: &Kernel) -> Option<Accel> {
    match std::fs::read_to_string(verdict_path(kernel)).ok()?.trim() {
        "kvm" => Some(Accel::Kvm),
        "tcg" => Some(Accel::Tcg),
        _ => None,
    }
}

pub(super) fn write_verdict(kernel: &Kernel, a: Accel) {
    let p = verdict_path(kernel);
    let _ = std::fs::create_dir_all(p.parent().unwrap());
    let _ = std::fs::write(p, format!("{}\n", a.name()));
}

/// Accelerator to try first: `KCOMPLETION_ACCEL` override, else the
/// remembered verdict, else KVM if /dev/kvm is usable.
pub(super) fn first_choice(kernel: &Kernel) -> (Accel, bool) {
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

/// The kernel's own KUnit cases left out, as a `kunit.filter_glob` argument. Linux 7.3.4's
/// doctests of `rust/kernel/time/hrtimer.rs` set up hrtimers on the stack without the
/// on-stack annotation (an upstream bug): with `DEBUG_OBJECTS_TIMERS`, "ODEBUG: object ... is
/// on stack ..., but NOT annotated" and a WARNING, which fails the run. One glob cannot leave
/// out a single module, only a first letter: 17 of 7.3's 355 doctests (`task`, `time`,
/// `transmute`, `types`) are not run. 6.12 runs all of its 114.
fn kunit_filter(line: KernelLine) -> &'static str {
    match line {
        KernelLine::V6_12 => "",
        KernelLine::V7_3 => " kunit.filter_glob=rust_doctests_kernel.rust_doctest_kernel_[!t]*",
    }
}

fn cmdline(kunit: bool, accel: Accel, line: KernelLine) -> String {
    // A 120 s hung-task threshold: the detector still catches a task stuck in D state (a
    // deadlock in the driver), but not the slow-but-progressing exits of hundreds of processes
    // under TCG with KASAN and lockdep, which took over 20 s (the config's default).
    format!(
        "console=ttyS0 panic=-1 loglevel=7 printk.devkmsg=on \
         sysctl.kernel.hung_task_timeout_secs=120 kunit.enable={}{}{}",
        if kunit { 1 } else { 0 },
        if kunit { kunit_filter(line) } else { "" },
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

pub(super) fn base_cmd(
    kernel: &Kernel,
    initrd: &Path,
    accel: Accel,
    kunit: bool,
    hw: &Hardware,
) -> Command {
    let mut c = Command::new("qemu-system-x86_64");
    c.args(accel.args());
    c.arg("-m").arg(hw.mem_mb.to_string());
    c.arg("-smp").arg(smp_arg(hw.smp));
    c.args(["-nographic", "-no-reboot"]);
    c.arg("-kernel")
        .arg(&kernel.bzimage)
        .arg("-initrd")
        .arg(initrd);
    c.arg("-append").arg(cmdline(kunit, accel, kernel.line));
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
