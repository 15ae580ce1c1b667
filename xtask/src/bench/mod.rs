//! `cargo xtask bench`: boots ONE guest on the release kernel and runs `kc-bench` (bench/),
//! which prints one `KCB ...` line per measurement; here they become medians and spreads,
//! ratios against the baselines and the targets of issue 6, a terminal table,
//! `target/bench/report.md` and SVG plots (plotters, SVG backend: no font files needed).
//!
//! Clock: by default QEMU `-accel tcg -icount shift=0,sleep=off`, where guest time counts
//! executed instructions (1 ns each) and figures repeat to the nanosecond; `--wallclock`
//! uses real time under KVM where it works, else plain TCG (emulated, noisy), and says so.

mod floor;
mod guest;
mod parse;
mod report;
mod stats;
mod svg;
mod targets;

use anyhow::Result;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use guest::run;
pub use stats::Results;
pub use targets::checks;
use targets::{Row, Verdict};

/// vCPUs of the benchmark guest. Under `-icount` QEMU runs one vCPU at a time (round robin
/// on one host thread), so a cross-CPU wake-up pays the IPI and the other vCPU's idle exit
/// in instructions rather than in parallel time. P1 and P3 measure both placements (same
/// vCPU, pinned; different vCPUs) in the same boot.
pub const DEFAULT_SMP: u32 = 2;

#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    pub quick: bool,
    pub wallclock: bool,
    pub smp: Option<u32>,
    pub reps: Option<usize>,
    pub only: Option<String>,
    /// The guest's kernel line (release flavour).
    pub kernel: crate::kernels::KernelLine,
}

/// What a bench run produced.
pub struct Outcome {
    pub results: Results,
    pub rows: Vec<Row>,
    pub report: PathBuf,
    pub clean: bool,
    pub problem: Option<String>,
}

pub fn cmd_bench(opts: &BenchOptions) -> Result<i32> {
    let o = run(opts)?;
    if let Some(p) = &o.problem {
        eprintln!("[bench] problem: {p}");
    }
    let missing: BTreeSet<String> = checks(&o.results, opts.quick && opts.only.is_none())
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| n)
        .collect();
    if opts.only.is_none() {
        for m in &missing {
            eprintln!("[bench] no figure: {m}");
        }
    }
    let missed = o
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Missed)
        .count();
    if missed > 0 {
        eprintln!(
            "[bench] {missed} target(s) missed (see {})",
            o.report.display()
        );
    }
    Ok(if o.clean && o.problem.is_none() { 0 } else { 1 })
}
