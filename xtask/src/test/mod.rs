//! `cargo xtask test`: build everything, run the guest suites (spread over
//! `lanes::LANES` guests), the runner self-test, the quick benchmarks and the host
//! tests; print `N passed, M failed`.

mod host;
mod selftest;
mod tally;

use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};

use crate::bench;
use crate::initramfs::GuestSpec;
use crate::kernel::{self, Flavour};
use crate::lanes;
use crate::prepare::{build_initrd, job_conf, prepare, Prepared, MODULE_PATH};
use crate::qemu::{self, BootOptions, Echo};
use crate::suites::{self, suite_name};
use crate::util;
use tally::Tally;

/// The suite lines of tests/guest/suites (or, with `only`, those that contain one
/// of its comma-separated words).
fn suite_lines(only: Option<&str>) -> Result<Vec<String>> {
    let path = util::repo_root().join("tests/guest/suites");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let words: Vec<&str> = only
        .map(|o| o.split(',').filter(|w| !w.is_empty()).collect())
        .unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| only.is_none() || words.iter().any(|w| l.contains(w)))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        bail!("{} lists no suites (for {only:?})", path.display());
    }
    Ok(lines)
}

/// The guest job that runs `lines`, each followed by the after-suite check.
fn suites_job(lines: &[String]) -> Result<String> {
    suites::job_script(
        &lines.join("\n"),
        "/usr/share/kcompletion/tests",
        Some("sh after-suite.sh"),
    )
    .context("no suites for this guest")
}

/// The guest job of `cargo xtask test` in one guest (the `initramfs` aid).
pub fn test_job(only: Option<&str>) -> Result<String> {
    suites_job(&suite_lines(only)?)
}

/// One piece of `cargo xtask test` that a worker thread runs.
enum Piece {
    /// Guest N of the debug suites, with its share of the suite lines.
    Guest(usize, Vec<String>),
    Bench,
    Selftest,
}

enum PieceResult {
    Guest(usize, Result<qemu::BootResult>),
    Bench(Result<bench::Outcome>),
    Selftest(Result<std::result::Result<(), String>>),
}

pub fn cmd_test(only: Option<&str>) -> Result<i32> {
    let t0 = Instant::now();
    let p = prepare(Flavour::Debug, true)?;
    let selftest_ko = {
        let _lock = util::lock(&util::target_dir().join("xtask/build.lock"), "build")?;
        kernel::build_selftest_module(&p.tc, &p.kernel)?
    };
    let mut tally = Tally::default();

    // The debug suites spread over lanes::LANES guests, the runner self-test and the
    // quick benchmarks: two worker threads (one per host core) take them in turn.
    let lines = suite_lines(only)?;
    let times = lanes::load_times();
    let shares = lanes::split(&lines, &times, lanes::LANES);
    let mut queue: std::collections::VecDeque<Piece> = shares
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| Piece::Guest(i, s))
        .collect();
    for (i, share) in queue.iter().filter_map(|p| match p {
        Piece::Guest(i, s) => Some((i, s)),
        _ => None,
    }) {
        let est: u64 = share
            .iter()
            .map(|l| lanes::expected(&times, &suite_name(l)))
            .sum();
        util::stage(
            "test",
            &format!(
                "guest {i} runs: {} (about {} by the last run's times)",
                share
                    .iter()
                    .map(|l| suite_name(l))
                    .collect::<Vec<_>>()
                    .join(", "),
                util::fmt_duration(Duration::from_secs(est))
            ),
        );
    }
    if only.is_none() {
        queue.push_back(Piece::Bench);
    }
    queue.push_back(Piece::Selftest);
    let queue = std::sync::Mutex::new(queue);
    let results = std::sync::Mutex::new(Vec::new());
    let guests_t0 = Instant::now();
    std::thread::scope(|sc| {
        for _ in 0..lanes::LANES {
            sc.spawn(|| loop {
                let Some(piece) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let r = match piece {
                    Piece::Guest(i, share) => PieceResult::Guest(i, run_guest(&p, i, &share)),
                    Piece::Bench => PieceResult::Bench(bench::run(&bench::BenchOptions {
                        quick: true,
                        ..Default::default()
                    })),
                    Piece::Selftest => {
                        PieceResult::Selftest(selftest::runner_selftest(&p, &selftest_ko))
                    }
                };
                results.lock().unwrap().push(r);
            });
        }
    });
    let guests_time = guests_t0.elapsed();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| match r {
        PieceResult::Guest(i, _) => *i,
        PieceResult::Selftest(_) => 100,
        PieceResult::Bench(_) => 101,
    });
    let (accel, any_suite) = tally.pieces(results)?;
    if only.is_some() {
        eprintln!("[test] --suites: benchmarks skipped (PARTIAL RUN)");
        tally.case(false, "bench --quick: skipped by --suites");
    }
    if !any_suite {
        tally.case(false, "guest: no suite ran");
    }
    let finished: Vec<_> = lanes::FINISHED.lock().unwrap().clone();
    lanes::save_times(&tally::print_suite_table(&finished));

    // `cargo test --workspace` on the host
    let (hp, hf) = host::host_tests()?;
    tally.passed += hp;
    tally.failed += hf;
    if hf > 0 {
        tally.failures.push(format!("host cargo test: {hf} failed"));
    }

    eprintln!(
        "[test] guests, self-test and bench {} (accelerator {accel}), whole run {}",
        util::fmt_duration(guests_time),
        util::fmt_duration(t0.elapsed())
    );
    if !tally.failures.is_empty() {
        eprintln!("[test] failures:");
        for f in &tally.failures {
            eprintln!("  - {f}");
        }
    }
    if let Some(only) = only {
        println!("PARTIAL RUN (--suites {only}): not a test result");
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed == 0 { 0 } else { 1 })
}

/// Boot debug guest `lane` with its share of the suites (KUnit on in guest 0 only).
fn run_guest(p: &Prepared, lane: usize, share: &[String]) -> Result<qemu::BootResult> {
    let name = format!("test-{lane}");
    let spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        job_conf: job_conf("job", true, MODULE_PATH, true, true),
        job: Some(suites_job(share)?),
        ..Default::default()
    };
    let initrd = build_initrd(&name, &spec)?;
    let opts = BootOptions {
        name,
        initrd,
        kunit: lane == 0,
        idle_timeout: Duration::from_secs(300),
        total_timeout: Duration::from_secs(3900),
        echo: Echo::Lane(lane),
    };
    qemu::boot(&p.kernel, &opts)
}
