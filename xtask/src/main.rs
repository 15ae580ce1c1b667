//! `cargo xtask`: the kcompletion test bench.
//!
//! Builds a Rust-enabled guest kernel (cached), the `kcompletion.ko` module
//! and the workspace's userspace binaries, packs them into an initramfs and
//! runs them in QEMU, watching the console for kernel splats. One module per
//! command (`test`, `demo`, `vm`, `fuzz`, `bench`, `soak`); `prepare` builds what
//! every guest needs.

mod apt;
mod bench;
mod demo;
mod deps;
mod dkms;
mod fuzz;
mod guest_output;
mod initramfs;
mod kernel;
mod kernels;
mod lanes;
mod prepare;
mod qemu;
mod shell;
mod soak;
mod suites;
mod test;
mod util;
mod vm;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use kernel::Flavour;
use kernels::KernelLine;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "kcompletion test bench")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build everything, run the guest suites, the runner self-test and the
    /// host tests; print `N passed, M failed`.
    Test {
        /// Development only: run just the guest suites whose line in tests/guest/suites
        /// contains one of these words (comma-separated), and skip the benchmarks. The
        /// summary then says PARTIAL RUN; CI never passes this.
        #[arg(long, value_name = "WORDS")]
        suites: Option<String>,
        /// Run the full suite set on this kernel only. Without it (CI): the full set on
        /// 6.12 and the 7.3 set (tests/guest/suites-7.3) on 7.3.
        #[arg(long, value_enum)]
        kernel: Option<KernelLine>,
    },
    /// Boot the guest, load the module and run tests/demo.sh.
    Demo {
        #[arg(long, value_enum, default_value = "6.12")]
        kernel: KernelLine,
    },
    /// Boot the guest with the module loaded; run CMD in it, or an
    /// interactive shell without CMD.
    Vm {
        /// File or folder copied into the guest at /mnt/host/<basename>.
        #[arg(long = "include", value_name = "PATH")]
        include: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "debug")]
        flavour: Flavour,
        #[arg(long, value_enum, default_value = "6.12")]
        kernel: KernelLine,
        /// Overall time limit for a CMD run, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Do not build or load kcompletion.ko.
        #[arg(long)]
        no_module: bool,
        /// Scan for memory leaks (kmemleak) after CMD.
        #[arg(long)]
        kmemleak: bool,
        /// Command to run as root in the guest (cwd /root).
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// Run the ioctl fuzzer (kc-fuzz) on the debug kernel for longer than CI does; a
    /// failure prints the seed that replays it. Fails on a finding, a splat or a leak.
    Fuzz {
        /// Calls in all (CI runs 200000).
        #[arg(long, default_value_t = 1_000_000)]
        calls: u64,
        /// Seed to replay (default: from the clock, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Fuzzing threads.
        #[arg(long, default_value_t = 4)]
        threads: u32,
        /// Overall time limit, in seconds.
        #[arg(long, default_value_t = 6 * 3600)]
        timeout: u64,
    },
    /// Benchmarks (issue 6): one guest boot on the release kernel, deterministic
    /// instruction-count clock by default; writes target/bench/report.md and SVG plots.
    Bench {
        /// A few seconds of each scenario (what `cargo xtask test` runs); output in
        /// target/bench/quick/.
        #[arg(long)]
        quick: bool,
        /// Real time: KVM if it works here, else plain TCG (labelled as such).
        #[arg(long)]
        wallclock: bool,
        /// vCPUs of the guest (default 2; see xtask/src/bench/mod.rs).
        #[arg(long)]
        smp: Option<u32>,
        /// Repetitions per figure (default 7, quick 3).
        #[arg(long)]
        reps: Option<usize>,
        /// Only these scenarios, e.g. P1,P3.
        #[arg(long)]
        only: Option<String>,
        /// The kernel of the guest (its release flavour).
        #[arg(long, value_enum, default_value = "6.12")]
        kernel: KernelLine,
    },
    /// Build kcompletion.ko against a prepared kernel build tree of your own (any kernel
    /// with CONFIG_RUST; the toolchain is read from its .config, as DKMS does).
    Module {
        #[arg(long, value_name = "DIR")]
        kdir: PathBuf,
    },
    /// Write a self-contained driver source folder (driver/ with the Lua core) for DKMS,
    /// by default /usr/src/kcompletion-<version>.
    DkmsSource {
        #[arg(value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Boot the debug guest N times with 2 vCPUs (two boots at a time); every boot must
    /// bring up both CPUs, pass a cross-CPU hand-off and show no kernel splat.
    BootSoak {
        #[arg(default_value_t = 50)]
        boots: usize,
        /// Boot the debug kernel with ACPI (flavour debug-acpi) instead: why the guests run
        /// without it.
        #[arg(long)]
        acpi: bool,
    },
    /// Write the `test` initramfs to a file and list nothing else (debugging aid).
    #[command(hide = true)]
    Initramfs { out: PathBuf },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Test { suites, kernel } => test::cmd_test(suites.as_deref(), kernel),
        Cmd::Demo { kernel } => demo::cmd_demo(kernel),
        Cmd::Vm {
            include,
            flavour,
            kernel,
            timeout,
            no_module,
            kmemleak,
            cmd,
        } => vm::cmd_vm(
            &include,
            (kernel, flavour),
            timeout,
            no_module,
            kmemleak,
            &cmd,
        ),
        Cmd::Module { kdir } => dkms::cmd_module(&kdir),
        Cmd::DkmsSource { out } => dkms::cmd_dkms_source(out.as_deref()),
        Cmd::Initramfs { out } => vm::initramfs_only(&out),
        Cmd::BootSoak { boots, acpi } => soak::cmd_boot_soak(
            boots,
            if acpi {
                Flavour::DebugAcpi
            } else {
                Flavour::Debug
            },
        ),
        Cmd::Fuzz {
            calls,
            seed,
            threads,
            timeout,
        } => fuzz::cmd_fuzz(calls, seed, threads, timeout),
        Cmd::Bench {
            quick,
            wallclock,
            smp,
            reps,
            only,
            kernel,
        } => bench::cmd_bench(&bench::BenchOptions {
            quick,
            wallclock,
            smp,
            reps,
            only,
            kernel,
        }),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
