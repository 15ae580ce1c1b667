//! `cargo xtask bench`: boots ONE guest on the release kernel and runs `kc-bench` (bench/),
//! which prints one `KCB ...` line per measurement; here they become medians and spreads,
//! ratios against the baselines and the targets of issue 6, a terminal table,
//! `target/bench/report.md` and SVG plots (plotters, SVG backend: no font files needed).
//!
//! Clock: by default QEMU `-accel tcg -icount shift=0,sleep=off`, where guest time counts
//! executed instructions (1 ns each) and figures repeat to the nanosecond; `--wallclock`
//! uses real time under KVM where it works, else plain TCG (emulated, noisy), and says so.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::initramfs::GuestSpec;
use crate::kernel::Flavour;
use crate::qemu::{self, Accel, BootOptions, Echo, Hardware};
use crate::util;

/// vCPUs of the benchmark guest. Under `-icount` QEMU runs one vCPU at a time (round robin
/// on one host thread), so a cross-CPU wake-up pays the IPI and the other vCPU's idle exit
/// in instructions rather than in parallel time. P1 and P3 measure both placements (same
/// vCPU, pinned; different vCPUs) in the same boot.
pub const DEFAULT_SMP: u32 = 2;
/// Guest memory: P4 keeps a million objects alive.
const MEM_MB: u32 = 3072;

#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    pub quick: bool,
    pub wallclock: bool,
    pub smp: Option<u32>,
    pub reps: Option<usize>,
    pub only: Option<String>,
}

/// One `KCB` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub scenario: String,
    pub case: String,
    pub mech: String,
    pub param: u64,
    pub rep: usize,
    pub value: f64,
    pub unit: String,
}

/// Everything kc-bench printed.
#[derive(Debug, Default)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    pub meta: BTreeMap<String, String>,
    pub skips: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub ended: bool,
}

fn fields(rest: &str) -> BTreeMap<&str, &str> {
    rest.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect()
}

pub fn parse(stdout: &str) -> Parsed {
    let mut p = Parsed::default();
    for line in stdout.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("KCB ") {
            let f = fields(rest);
            let get = |k: &str| f.get(k).map(|v| v.to_string());
            let s = (|| {
                Some(Sample {
                    scenario: get("scenario")?,
                    case: get("case")?,
                    mech: get("mech")?,
                    param: get("param")?.parse().ok()?,
                    rep: get("rep")?.parse().ok()?,
                    value: get("value")?.parse().ok()?,
                    unit: get("unit")?,
                })
            })();
            if let Some(s) = s {
                p.samples.push(s);
            }
        } else if let Some(rest) = line.strip_prefix("KCB-META ") {
            for (k, v) in fields(rest) {
                p.meta.insert(k.to_string(), v.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("KCB-SKIP ") {
            let (sc, reason) = match rest.split_once(" reason=") {
                Some((a, b)) => (a.trim_start_matches("scenario=").to_string(), b.to_string()),
                None => ("?".to_string(), rest.to_string()),
            };
            p.skips.push((sc, reason));
        } else if let Some(rest) = line.strip_prefix("KCB-NOTE ") {
            p.notes.push(rest.to_string());
        } else if line.trim() == "KCB-END" {
            p.ended = true;
        }
    }
    p
}

/// Median and spread of the repetitions of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }
    /// (max - min) / median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

/// (scenario, case, mech, param)
pub type Key = (String, String, String, u64);

pub struct Results {
    pub parsed: Parsed,
    pub stats: BTreeMap<Key, (Stat, String)>,
}

impl Results {
    pub fn new(parsed: Parsed) -> Results {
        let mut groups: BTreeMap<Key, (Vec<f64>, String)> = BTreeMap::new();
        for s in &parsed.samples {
            let e = groups
                .entry((s.scenario.clone(), s.case.clone(), s.mech.clone(), s.param))
                .or_insert_with(|| (Vec::new(), s.unit.clone()));
            e.0.push(s.value);
        }
        let stats = groups
            .into_iter()
            .filter_map(|(k, (v, u))| Stat::of(&v).map(|s| (k, (s, u))))
            .collect();
        Results { parsed, stats }
    }

    pub fn get(&self, scenario: &str, case: &str, mech: &str, param: u64) -> Option<Stat> {
        self.stats
            .get(&(scenario.into(), case.into(), mech.into(), param))
            .map(|(s, _)| *s)
    }

    /// Params measured for (scenario, case, mech), ascending.
    pub fn params(&self, scenario: &str, case: &str, mech: &str) -> Vec<u64> {
        self.stats
            .keys()
            .filter(|k| k.0 == scenario && k.1 == case && k.2 == mech)
            .map(|k| k.3)
            .collect()
    }

    fn skip_reason(&self, scenario: &str) -> Option<String> {
        let r: Vec<&str> = self
            .parsed
            .skips
            .iter()
            .filter(|(s, _)| s == scenario)
            .map(|(_, r)| r.as_str())
            .collect();
        (!r.is_empty()).then(|| r.join("; "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Met,
    Missed,
    Info,
    NotMeasured(String),
}

/// One line of the summary table.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    pub what: String,
    pub figure: String,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub target: String,
    pub verdict: Verdict,
}

fn fmt_ns(v: f64) -> String {
    if v >= 100_000.0 {
        format!("{:.1} µs", v / 1000.0)
    } else {
        format!("{v:.0} ns")
    }
}

fn fmt_stat(s: &Stat, unit: &str) -> String {
    let f = |v: f64| match unit {
        "ns" => fmt_ns(v),
        "B" => format!("{v:.0} B"),
        _ => format!("{v:.1} {unit}"),
    };
    if s.n > 1 && s.spread_pct() >= 0.05 {
        format!("{} (±{:.1}%)", f(s.median), s.spread_pct() / 2.0)
    } else {
        f(s.median)
    }
}

fn not_measured(res: &Results, scenario: &str) -> Verdict {
    Verdict::NotMeasured(
        res.skip_reason(scenario)
            .unwrap_or_else(|| "no figure (see the guest log)".into()),
    )
}

/// A ratio row: `a` against `b`, target `ratio <= max` (or `< max` when `strict`).
#[allow(clippy::too_many_arguments)]
fn ratio_row(
    res: &Results,
    scenario: &'static str,
    what: String,
    a: Option<Stat>,
    b: Option<Stat>,
    b_name: &str,
    max: f64,
    unit: &str,
) -> Row {
    match (a, b) {
        (Some(a), Some(b)) => {
            let r = a.median / b.median;
            Row {
                scenario,
                what,
                figure: fmt_stat(&a, unit),
                baseline: format!("{b_name} {}", fmt_stat(&b, unit)),
                ratio: Some(r),
                target: format!("≤ {max:.2}x"),
                verdict: if r <= max {
                    Verdict::Met
                } else {
                    Verdict::Missed
                },
            }
        }
        _ => Row {
            scenario,
            what,
            figure: "—".into(),
            baseline: b_name.into(),
            ratio: None,
            target: format!("≤ {max:.2}x"),
            verdict: not_measured(res, scenario),
        },
    }
}

/// The summary: every target of issue 6 beside its figure.
pub fn rows(res: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    for case in ["threads", "processes", "threads-xcpu", "processes-xcpu"] {
        let kc = res.get("P1", case, "kcompletion", 0);
        if kc.is_none() && case.ends_with("-xcpu") {
            continue;
        }
        let label = match case.strip_suffix("-xcpu") {
            Some(c) => format!("{c} on different vCPUs"),
            None => format!("{case}, same vCPU"),
        };
        let mut row = ratio_row(
            res,
            "P1",
            format!("round trip, two {label}, kcompletion vs eventfd"),
            kc,
            res.get("P1", case, "eventfd", 0),
            "eventfd",
            1.10,
            "ns",
        );
        let others: Vec<String> = ["futex", "pipe"]
            .iter()
            .filter_map(|m| {
                res.get("P1", case, m, 0)
                    .map(|s| format!("{m} {}", fmt_ns(s.median)))
            })
            .collect();
        if !others.is_empty() {
            row.baseline = format!("{}; {}", row.baseline, others.join(", "));
        }
        rows.push(row);
    }
    let mut p2 = ratio_row(
        res,
        "P2",
        "round trip, Lua 5.4 process ↔ kernel Lua script, vs P1 (processes, kcompletion)".into(),
        res.get("P2", "roundtrip", "lua-klua", 0),
        res.get("P2", "roundtrip", "rust-rust", 0),
        "P1",
        1.5,
        "ns",
    );
    if let Some(s) = res.get("P2", "roundtrip", "rust-klua", 0) {
        p2.baseline = format!("{}; Rust ↔ kernel Lua {}", p2.baseline, fmt_ns(s.median));
    }
    rows.push(p2);
    for (case, where_) in [
        ("wake-all", "waiters on the waker's vCPU"),
        ("wake-all-xcpu", "waiters on the other vCPU"),
    ] {
        let p3_sizes = res.params("P3", case, "kcompletion");
        if p3_sizes.is_empty() && case == "wake-all-xcpu" {
            continue;
        }
        for n in if p3_sizes.is_empty() {
            vec![10, 100, 1000]
        } else {
            p3_sizes
        } {
            let mut row = ratio_row(
                res,
                "P3",
                format!(
                    "complete_all, {n} waiters ({where_}): until the last runs, vs futex wake-all"
                ),
                res.get("P3", case, "kcompletion", n),
                res.get("P3", case, "futex", n),
                "futex",
                1.0,
                "ns",
            );
            if let Some(s) = res.get("P3", case, "eventfd-epoll", n) {
                row.baseline = format!("{}; eventfd+epoll {}", row.baseline, fmt_ns(s.median));
            }
            rows.push(row);
        }
    }
    let sizes = res.params("P4", "open", "kcompletion");
    let (lo, hi) = (sizes.first().copied(), sizes.last().copied());
    let at = |op: &str, n: Option<u64>| n.and_then(|n| res.get("P4", op, "kcompletion", n));
    let label = |n: Option<u64>| n.map(fmt_count).unwrap_or_else(|| "?".into());
    rows.push(ratio_row(
        res,
        "P4",
        format!(
            "open by name at {} live objects vs at {}",
            label(hi),
            label(lo)
        ),
        at("open", hi),
        at("open", lo),
        &format!("at {}", label(lo)),
        1.5,
        "ns",
    ));
    for op in ["create", "unlink"] {
        if let (Some(a), Some(b)) = (at(op, hi), at(op, lo)) {
            rows.push(Row {
                scenario: "P4",
                what: format!("{op} at {} live objects vs at {}", label(hi), label(lo)),
                figure: fmt_stat(&a, "ns"),
                baseline: format!("at {} {}", label(lo), fmt_stat(&b, "ns")),
                ratio: Some(a.median / b.median),
                target: "—".into(),
                verdict: Verdict::Info,
            });
        }
    }
    let mem_sizes = res.params("P4", "memory", "slab-objects");
    match mem_sizes.last() {
        Some(&n) => {
            let slab = res.get("P4", "memory", "slab-objects", n).unwrap();
            // judged: slab objects plus the vmalloc'd name table (all the kernel memory)
            let s = res.get("P4", "memory", "total", n).unwrap_or(slab);
            let part = |m: &str, l: &str| {
                res.get("P4", "memory", m, n)
                    .map(|p| format!("{l} {:.0} B", p.median))
            };
            let parts: Vec<String> = [
                part("slab-objects", "slab objects"),
                part("vmalloc", "vmalloc (name table)"),
                part("slab-pages", "slab pages"),
            ]
            .into_iter()
            .flatten()
            .collect();
            rows.push(Row {
                scenario: "P4",
                what: format!(
                    "kernel memory per object (slab + vmalloc, growing to {})",
                    fmt_count(n)
                ),
                figure: format!("{:.0} B", s.median),
                baseline: parts.join(", "),
                ratio: None,
                target: "< 192 B".into(),
                verdict: if s.median < 192.0 {
                    Verdict::Met
                } else {
                    Verdict::Missed
                },
            });
        }
        None => rows.push(Row {
            scenario: "P4",
            what: "kernel memory per object".into(),
            figure: "—".into(),
            baseline: String::new(),
            ratio: None,
            target: "< 192 B".into(),
            verdict: not_measured(res, "P4"),
        }),
    }
    for (interp, label) in [("lua5.4", "Lua 5.4"), ("luajit", "LuaJIT")] {
        rows.push(ratio_row(
            res,
            "P6",
            format!("c:complete() + c:trywait() in {label} vs Rust raw ioctls"),
            res.get("P6", "complete+trywait", interp, 0),
            res.get("P6", "complete+trywait", "rust-ioctl", 0),
            "Rust",
            1.3,
            "ns",
        ));
    }
    rows
}

pub fn fmt_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Met => "met".into(),
        Verdict::Missed => "MISSED".into(),
        Verdict::Info => "(no target)".into(),
        Verdict::NotMeasured(r) => format!("not measured: {r}"),
    }
}

/// Checks for `cargo xtask test`: every scenario produced figures (never judged by value).
pub fn checks(res: &Results, quick: bool) -> Vec<(String, bool)> {
    let has = |sc: &str, case: &str, mech: &str| {
        res.stats
            .keys()
            .any(|k| k.0 == sc && k.1 == case && k.2 == mech)
    };
    let mut out = Vec::new();
    // A jiffies clocksource ticks every 4 ms: every figure below a tick would read 0.
    let clock = res.parsed.meta.get("clocksource").map(String::as_str);
    out.push((
        format!(
            "guest clocksource is a TSC, not jiffies (it is {})",
            clock.unwrap_or("not reported")
        ),
        clock.is_some_and(|c| c.starts_with("tsc")),
    ));
    let cpus: u32 = res
        .parsed
        .meta
        .get("cpus")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    out.push((
        format!("guest has at least 2 CPUs online ({cpus})"),
        cpus >= 2,
    ));
    for case in ["threads", "processes", "threads-xcpu", "processes-xcpu"] {
        let ok = ["kcompletion", "eventfd", "futex", "pipe"]
            .iter()
            .all(|m| has("P1", case, m));
        out.push((
            format!("P1 ({case}) produced a figure for every mechanism"),
            ok,
        ));
    }
    out.push((
        "P2 produced figures (Lua ↔ kernel Lua and its P1 baseline)".into(),
        has("P2", "roundtrip", "lua-klua") && has("P2", "roundtrip", "rust-rust"),
    ));
    for case in ["wake-all", "wake-all-xcpu"] {
        let p3 = [10u64, 100, 1000].iter().all(|&n| {
            ["kcompletion", "futex", "eventfd-epoll"]
                .iter()
                .all(|m| res.get("P3", case, m, n).is_some())
        });
        out.push((
            format!("P3 ({case}) produced figures (10/100/1000 waiters, 3 mechanisms)"),
            p3,
        ));
    }
    let want_sizes: &[u64] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    let p4 = want_sizes.iter().all(|&n| {
        ["create", "open", "unlink"]
            .iter()
            .all(|op| res.get("P4", op, "kcompletion", n).is_some())
    }) && !res.params("P4", "memory", "slab-objects").is_empty();
    out.push((
        "P4 produced figures (create/open/unlink per size, memory)".into(),
        p4,
    ));
    out.push((
        "P6 produced figures (Rust, Lua 5.4, LuaJIT)".into(),
        ["rust-ioctl", "lua5.4", "luajit"]
            .iter()
            .all(|m| has("P6", "complete+trywait", m)),
    ));
    out
}

// ---------------------------------------------------------------- output

/// How the figures were measured, for the report.
pub struct RunInfo {
    pub accel: Accel,
    pub smp: u32,
    pub mem_mb: u32,
    pub quick: bool,
    pub guest_time: Duration,
    pub kernel: String,
    pub date: String,
}

impl RunInfo {
    pub fn clock(&self) -> &'static str {
        match self.accel {
            Accel::TcgIcount => "guest instructions: QEMU TCG `-icount shift=0,sleep=off` (1 ns = 1 instruction; deterministic)",
            Accel::Kvm => "wall clock, KVM",
            Accel::Tcg => "emulated wall clock under plain TCG (KVM unusable here): noisy, not real-machine time",
        }
    }
}

pub fn terminal_table(rows: &[Row]) -> String {
    let mut t = String::new();
    let w = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(10)
        .min(80);
    for r in rows {
        let ratio = r
            .ratio
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            t,
            "{:<3} {:<w$}  {:>18}  {:>7}  {:<8} {}",
            r.scenario,
            r.what,
            r.figure,
            ratio,
            r.target,
            verdict_text(&r.verdict),
        );
        if !r.baseline.is_empty() {
            let _ = writeln!(t, "    {:<w$}  vs {}", "", r.baseline);
        }
    }
    t
}

pub fn markdown_table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| | measure | kcompletion | baseline | ratio | target | verdict |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let ratio = r
            .ratio
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "—".into());
        let v = match &r.verdict {
            Verdict::Missed => "**MISSED**".to_string(),
            v => verdict_text(v),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.scenario, r.what, r.figure, r.baseline, ratio, r.target, v
        );
    }
    t
}

fn detail_tables(res: &Results) -> String {
    let mut t = String::new();
    let mut last = String::new();
    for ((sc, case, mech, param), (s, unit)) in &res.stats {
        if *sc != last {
            let _ = writeln!(
                t,
                "\n#### {sc}\n\n| case | mechanism | param | median | min | max | spread | reps |\n|---|---|---|---|---|---|---|---|"
            );
            last = sc.clone();
        }
        let _ = writeln!(
            t,
            "| {case} | {mech} | {} | {:.1} {unit} | {:.1} | {:.1} | {:.2}% | {} |",
            if *param == 0 {
                "—".into()
            } else {
                fmt_count(*param)
            },
            s.median,
            s.min,
            s.max,
            s.spread_pct(),
            s.n
        );
    }
    t
}

pub fn report_md(res: &Results, rows: &[Row], info: &RunInfo, plots: &[String]) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# kcompletion benchmarks\n");
    let _ = writeln!(
        m,
        "Generated by `cargo xtask bench{}` on {}.\n",
        if info.quick { " --quick" } else { "" },
        info.date
    );
    let _ = writeln!(m, "- **Clock**: {}", info.clock());
    let _ = writeln!(
        m,
        "- **Accelerator**: {} ; guest: {} vCPU, {} MiB, kernel {} (release flavour); {} CPU(s) online",
        info.accel.name(),
        info.smp,
        info.mem_mb,
        info.kernel,
        res.parsed.meta.get("cpus").map(String::as_str).unwrap_or("?")
    );
    let _ = writeln!(
        m,
        "- **Runs**: {} mode, {} repetitions per figure (medians; ± is half the min–max spread), baselines and kcompletion interleaved in every repetition; one guest boot ({}); guest clocksource {}",
        res.parsed.meta.get("mode").map(String::as_str).unwrap_or("?"),
        res.parsed.meta.get("reps").map(String::as_str).unwrap_or("?"),
        util::fmt_duration(info.guest_time),
        res.parsed.meta.get("clocksource").map(String::as_str).unwrap_or("?"),
    );
    let missed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Missed)
        .collect();
    let unmeasured: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::NotMeasured(_)))
        .collect();
    let _ = writeln!(m, "\n## Summary\n");
    if missed.is_empty() && unmeasured.is_empty() {
        let _ = writeln!(m, "Every target is met.\n");
    } else {
        for r in &missed {
            let _ = writeln!(
                m,
                "- **Target missed** — {} {}: {} ({}), target {}.",
                r.scenario,
                r.what,
                r.figure,
                r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default(),
                r.target
            );
        }
        for r in &unmeasured {
            let _ = writeln!(
                m,
                "- **Not measured** — {} {}: {}.",
                r.scenario,
                r.what,
                verdict_text(&r.verdict)
            );
        }
        let _ = writeln!(m);
    }
    m.push_str(&markdown_table(rows));
    let _ = writeln!(m, "\n## Plots\n");
    for p in plots {
        let _ = writeln!(m, "![{p}]({p})\n");
    }
    let _ = writeln!(m, "## Method\n");
    m.push_str(METHOD);
    let _ = writeln!(m, "\n## All figures\n");
    m.push_str(&detail_tables(res));
    if !res.parsed.skips.is_empty() || !res.parsed.notes.is_empty() {
        let _ = writeln!(m, "\n## Notes from the guest\n");
        for (s, r) in &res.parsed.skips {
            let _ = writeln!(m, "- {s} not measured: {r}");
        }
        for n in &res.parsed.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    m
}

const METHOD: &str = "\
- **P1**: one side signals `ping` and waits for `pong`, the peer (a thread, or a forked process) \
waits for `ping` and signals `pong`; mean over N round trips after N/10 warm-up rounds. \
kcompletion: `KC_IOC_COMPLETE` + `KC_IOC_WAIT` (no deadline) on two objects; eventfd: \
`EFD_SEMAPHORE`, `write`/`read` of 8 bytes; futex: a word set to 1 + `FUTEX_WAKE`, the waiter \
swaps it to 0 or sleeps in `FUTEX_WAIT` (private for threads, shared memory for processes); \
pipe: one byte each way.
- **P2**: a kernel Lua script (`RUN` ioctl) answers every `ping:wait()` with `pong:complete()`; \
`lua5.4` with `require \"kcompletion\"` runs `ping:complete(); pong:wait()` N times. Timed as \
(time of a 2N-round process − time of an N-round process) / N, so exec and `require` cancel \
out. Baseline: P1 between processes on kcompletion, measured in the same repetition. \
`rust-klua` is a Rust process against the same kernel script (the kernel side alone).
- **P3**: N threads block in the mechanism (verified in `/proc/self/task/*/stat`, and for \
kcompletion in the object's waiter count), then the clock starts and one call wakes them all: \
`KC_IOC_COMPLETE_ALL`; `FUTEX_WAKE` of `INT_MAX` on a private futex; a `write` to an eventfd \
watched by one epoll instance per waiter. Figure: time until the last waiter read the clock.
- **P4**: the registry is filled to each size with named objects (fds closed, names keep them \
alive); at each size every repetition times K `CREATE`s of new names, K `OPEN`s of random \
existing names, and the K `UNLINK`s of the new names (freeing them). Names are formatted \
before the clock starts. Memory: growth of `/proc/slabinfo` (active objects × object size, \
and slab pages) over the fill, divided by the objects added.
- **P6**: N iterations of `c:complete(); c:trywait()` in `lua5.4` and `luajit` (2N−N process \
difference as in P2) against the same two raw ioctls in a Rust loop.
";

// ---------------------------------------------------------------- plots

use plotters::prelude::*;

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}

/// Bars (median) with min–max whiskers.
fn bar_chart(path: &Path, title: &str, y_desc: &str, bars: &[(String, Stat)]) -> Result<()> {
    if bars.is_empty() {
        return Ok(());
    }
    let width = (130 * bars.len() as u32 + 160).max(700);
    let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let ymax = bars.iter().map(|b| b.1.max).fold(0.0, f64::max) * 1.15;
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..ymax)
        .map_err(plot_err)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc)
        .x_labels(n)
        .x_label_style(("sans-serif", 12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                labels.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (l, s))| {
            let color = if l.contains("kcompletion") || l.contains("klua") || l.starts_with("lua") {
                RGBColor(0xd9, 0x5f, 0x02)
            } else {
                RGBColor(0x1b, 0x9e, 0x77)
            };
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), s.median),
                ],
                color.filled(),
            );
            r.set_margin(0, 0, 12, 12);
            r
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, s))| {
            PathElement::new(
                vec![
                    (SegmentValue::CenterOf(i), s.min),
                    (SegmentValue::CenterOf(i), s.max),
                ],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, s))| {
            Text::new(
                fmt_ns(s.median),
                (SegmentValue::CenterOf(i), s.median + ymax * 0.02),
                ("sans-serif", 13),
            )
        }))
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Lines over a logarithmic x axis, one per series, with min–max whiskers.
fn line_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, Stat)>)],
) -> Result<()> {
    let pts: Vec<&(f64, Stat)> = series.iter().flat_map(|s| s.1.iter()).collect();
    if pts.is_empty() {
        return Ok(());
    }
    let xmin = pts.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let ymax = pts.iter().map(|p| p.1.max).fold(0.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xmin * 0.8..xmax * 1.25).log_scale(), 0f64..ymax)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| fmt_count(x.round() as u64))
        .draw()
        .map_err(plot_err)?;
    let colors = [
        RGBColor(0xd9, 0x5f, 0x02),
        RGBColor(0x1b, 0x9e, 0x77),
        RGBColor(0x75, 0x70, 0xb3),
        RGBColor(0xe7, 0x29, 0x8a),
    ];
    for (i, (name, p)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(
                p.iter().map(|(x, s)| (*x, s.median)),
                c.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(
                p.iter()
                    .map(|(x, s)| Circle::new((*x, s.median), 4, c.filled())),
            )
            .map_err(plot_err)?;
        chart
            .draw_series(
                p.iter().map(|(x, s)| {
                    PathElement::new(vec![(*x, s.min), (*x, s.max)], c.stroke_width(1))
                }),
            )
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Writes the SVG plots into `dir`; returns their file names.
pub fn plots(res: &Results, dir: &Path, clock: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let unit = format!("ns ({clock})");
    let p1: Vec<(String, Stat)> = ["threads", "processes"]
        .iter()
        .flat_map(|case| {
            ["kcompletion", "eventfd", "futex", "pipe"]
                .iter()
                .filter_map(move |m| {
                    res.get("P1", case, m, 0)
                        .map(|s| (format!("{m} ({case})"), s))
                })
        })
        .collect();
    if !p1.is_empty() {
        bar_chart(
            &dir.join("p1.svg"),
            "P1: round trip through two objects",
            &unit,
            &p1,
        )?;
        out.push("p1.svg".into());
    }
    let p2: Vec<(String, Stat)> = [
        ("rust-rust", "P1 Rust ↔ Rust (processes)"),
        ("rust-klua", "Rust ↔ kernel Lua"),
        ("lua-klua", "Lua 5.4 ↔ kernel Lua"),
    ]
    .iter()
    .filter_map(|(m, l)| res.get("P2", "roundtrip", m, 0).map(|s| (l.to_string(), s)))
    .collect();
    if !p2.is_empty() {
        bar_chart(
            &dir.join("p2.svg"),
            "P2: round trip with a kernel Lua script",
            &unit,
            &p2,
        )?;
        out.push("p2.svg".into());
    }
    let p3: Vec<(String, Vec<(f64, Stat)>)> = ["kcompletion", "futex", "eventfd-epoll"]
        .iter()
        .map(|m| {
            let pts = res
                .params("P3", "wake-all", m)
                .into_iter()
                .filter_map(|n| res.get("P3", "wake-all", m, n).map(|s| (n as f64, s)))
                .collect();
            (m.to_string(), pts)
        })
        .collect();
    if p3.iter().any(|s| !s.1.is_empty()) {
        line_chart(
            &dir.join("p3.svg"),
            "P3: wake all waiters, time until the last one runs",
            "waiters",
            &unit,
            &p3,
        )?;
        out.push("p3.svg".into());
    }
    let p4: Vec<(String, Vec<(f64, Stat)>)> = ["create", "open", "unlink"]
        .iter()
        .map(|op| {
            let pts = res
                .params("P4", op, "kcompletion")
                .into_iter()
                .filter_map(|n| res.get("P4", op, "kcompletion", n).map(|s| (n as f64, s)))
                .collect();
            (format!("{op} (per operation)"), pts)
        })
        .collect();
    if p4.iter().any(|s| !s.1.is_empty()) {
        line_chart(
            &dir.join("p4.svg"),
            "P4: cost per operation as the registry grows",
            "live named objects",
            &unit,
            &p4,
        )?;
        out.push("p4.svg".into());
    }
    let p6: Vec<(String, Stat)> = [
        ("rust-ioctl", "Rust raw ioctls"),
        ("lua5.4", "Lua 5.4 binding"),
        ("luajit", "LuaJIT binding"),
    ]
    .iter()
    .filter_map(|(m, l)| {
        res.get("P6", "complete+trywait", m, 0)
            .map(|s| (l.to_string(), s))
    })
    .collect();
    if !p6.is_empty() {
        bar_chart(
            &dir.join("p6.svg"),
            "P6: complete() + trywait(), per iteration",
            &unit,
            &p6,
        )?;
        out.push("p6.svg".into());
    }
    Ok(out)
}

// ---------------------------------------------------------------- run

/// What a bench run produced.
pub struct Outcome {
    pub results: Results,
    pub rows: Vec<Row>,
    pub report: PathBuf,
    pub clean: bool,
    pub problem: Option<String>,
}

fn utc_now() -> String {
    util::cmd_output(std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Builds (release kernel, module, kc-bench), boots one guest, runs kc-bench, writes the
/// report and plots. Does not judge targets: the caller does.
pub fn run(opts: &BenchOptions) -> Result<Outcome> {
    let t0 = Instant::now();
    let p = crate::prepare(Flavour::Release, true)?;
    let out_dir = if opts.quick {
        util::target_dir().join("bench/quick")
    } else {
        util::target_dir().join("bench")
    };
    std::fs::create_dir_all(&out_dir)?;
    let mut args = vec!["kc-bench".to_string()];
    if opts.quick {
        args.push("--quick".into());
    }
    if let Some(r) = opts.reps {
        args.push("--reps".into());
        args.push(r.to_string());
    }
    if let Some(o) = &opts.only {
        args.push("--only".into());
        args.push(o.clone());
    }
    let spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        job_conf: crate::job_conf("job", true, crate::MODULE_PATH, false, false),
        job: Some(format!("cd /root\n{}\n", crate::console::shell_join(&args))),
        ..Default::default()
    };
    let initrd = crate::build_initrd("bench", &spec)?;
    let hw = Hardware {
        smp: opts.smp.unwrap_or(DEFAULT_SMP),
        mem_mb: MEM_MB,
        accel: if opts.wallclock {
            None
        } else {
            Some(Accel::TcgIcount)
        },
    };
    let boot = BootOptions {
        name: "bench".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(900),
        total_timeout: Duration::from_secs(if opts.quick { 1800 } else { 3 * 3600 }),
        echo: Echo::Prefixed,
    };
    util::stage(
        "bench",
        &format!(
            "{} run: {} vCPU, {} MiB, {}",
            if opts.quick { "quick" } else { "full" },
            hw.smp,
            hw.mem_mb,
            if opts.wallclock {
                "wall clock (KVM if it works, else TCG)"
            } else {
                "icount clock (TCG -icount shift=0,sleep=off)"
            }
        ),
    );
    let r = qemu::boot_with(&p.kernel, &boot, &hw)?;
    r.report_problems("bench");
    std::fs::write(out_dir.join("raw.txt"), &r.stdout)?;
    std::fs::write(out_dir.join("stderr.txt"), &r.stderr)?;
    let parsed = parse(&r.stdout);
    let mut problem = None;
    if r.exit_status != Some(0) {
        problem = Some(format!(
            "kc-bench exit status {:?} (guest stderr: {})",
            r.exit_status,
            out_dir.join("stderr.txt").display()
        ));
    } else if !parsed.ended {
        problem = Some("kc-bench did not finish (no KCB-END)".into());
    }
    let results = Results::new(parsed);
    let rows = rows(&results);
    let info = RunInfo {
        accel: r.accel,
        smp: hw.smp,
        mem_mb: hw.mem_mb,
        quick: opts.quick,
        guest_time: r.duration,
        kernel: results
            .parsed
            .meta
            .get("kernel")
            .cloned()
            .unwrap_or_else(|| "?".into()),
        date: utc_now(),
    };
    let clock = if r.accel == Accel::TcgIcount {
        "icount"
    } else {
        r.accel.name()
    };
    let plot_files = plots(&results, &out_dir, clock).context("plots")?;
    let report = out_dir.join("report.md");
    std::fs::write(&report, report_md(&results, &rows, &info, &plot_files))?;
    eprintln!(
        "\n[bench] clock: {}; accelerator {}, {} vCPU",
        info.clock(),
        r.accel.name(),
        hw.smp
    );
    print!("{}", terminal_table(&rows));
    util::stage(
        "bench",
        &format!(
            "report {} (plots: {}), whole run {}",
            report.display(),
            plot_files.join(" "),
            util::fmt_duration(t0.elapsed())
        ),
    );
    Ok(Outcome {
        results,
        rows,
        report,
        clean: r.clean(),
        problem,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "KCB-META cpus=1\nKCB-META mode=quick reps=3\n\
KCB scenario=P1 case=threads mech=kcompletion param=0 rep=0 value=6000.0 unit=ns\n\
KCB scenario=P1 case=threads mech=kcompletion param=0 rep=1 value=6200.0 unit=ns\n\
KCB scenario=P1 case=threads mech=kcompletion param=0 rep=2 value=6100.0 unit=ns\n\
KCB scenario=P1 case=threads mech=eventfd param=0 rep=0 value=5000.0 unit=ns\n\
KCB scenario=P4 case=open mech=kcompletion param=1000 rep=0 value=900.0 unit=ns\n\
KCB scenario=P4 case=open mech=kcompletion param=10000 rep=0 value=1000.0 unit=ns\n\
KCB-SKIP scenario=P2 reason=kernel Lua not available\ngarbage line\nKCB-END\n";

    #[test]
    fn parse_and_judge() {
        let p = parse(OUT);
        assert_eq!(p.samples.len(), 6);
        assert!(p.ended);
        assert_eq!(p.meta["cpus"], "1");
        assert_eq!(
            (p.meta["mode"].as_str(), p.meta["reps"].as_str()),
            ("quick", "3")
        );
        assert_eq!(
            p.skips,
            vec![("P2".into(), "kernel Lua not available".into())]
        );
        let res = Results::new(p);
        let s = res.get("P1", "threads", "kcompletion", 0).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (6100.0, 6000.0, 6200.0, 3));
        let rows = rows(&res);
        let p1 = &rows[0];
        assert_eq!(p1.verdict, Verdict::Missed);
        assert!((p1.ratio.unwrap() - 1.22).abs() < 1e-9);
        assert!(matches!(rows[1].verdict, Verdict::NotMeasured(_)));
        let p2 = rows.iter().find(|r| r.scenario == "P2").unwrap();
        assert_eq!(
            p2.verdict,
            Verdict::NotMeasured("kernel Lua not available".into())
        );
        let p4 = rows
            .iter()
            .find(|r| r.what.starts_with("open by name"))
            .unwrap();
        assert_eq!(p4.verdict, Verdict::Met);
        let c = checks(&res, true);
        assert!(c.iter().all(|(_, ok)| !ok), "{c:?}");
    }

    #[test]
    fn plots_render() {
        let mut out = String::new();
        for (i, m) in ["kcompletion", "eventfd", "futex", "pipe"]
            .iter()
            .enumerate()
        {
            for case in ["threads", "processes"] {
                out += &format!(
                    "KCB scenario=P1 case={case} mech={m} param=0 rep=0 value={}.0 unit=ns\n",
                    5000 + i * 300
                );
            }
        }
        for (i, n) in [1000u64, 10_000, 100_000, 1_000_000].iter().enumerate() {
            for op in ["create", "open", "unlink"] {
                for rep in 0..3 {
                    out += &format!(
                        "KCB scenario=P4 case={op} mech=kcompletion param={n} rep={rep} value={}.0 unit=ns\n",
                        1000 + i * 50 + rep * 10
                    );
                }
            }
        }
        for n in [10u64, 100, 1000] {
            for m in ["kcompletion", "futex", "eventfd-epoll"] {
                out += &format!(
                    "KCB scenario=P3 case=wake-all mech={m} param={n} rep=0 value={}.0 unit=ns\n",
                    n * 900
                );
            }
        }
        let res = Results::new(parse(&out));
        let dir = std::env::temp_dir().join(format!("kc-bench-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = plots(&res, &dir, "icount").unwrap();
        assert_eq!(files, vec!["p1.svg", "p3.svg", "p4.svg"]);
        let svg = std::fs::read_to_string(dir.join("p4.svg")).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("open (per operation)"),
            "{svg}"
        );
        if std::env::var_os("KC_KEEP_PLOTS").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn median_even() {
        let s = Stat::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stat::of(&[]).is_none());
    }
}
