//! `cargo xtask test`: build everything, run the guest suites (spread over
//! `lanes::LANES` guests) on 6.12 and the 7.3 set on 7.3, the DKMS build against both
//! trees, the runner self-test, the quick benchmarks and the host tests; print
//! `N passed, M failed`.

mod host;
mod selftest;
mod tally;

use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};

use crate::bench;
use crate::dkms;
use crate::initramfs::GuestSpec;
use crate::kernel::{self, Flavour, Kernel};
use crate::kernels::KernelLine;
use crate::lanes;
use crate::prepare::{build_initrd, job_conf, prepare, Prepared, MODULE_PATH};
use crate::qemu::{self, BootOptions, Echo};
use crate::suites::{self, suite_name};
use crate::util;
use tally::Tally;

/// The suite lines of tests/guest/`file` (or, with `only`, those that contain one
/// of its comma-separated words).
fn suite_lines(file: &str, only: Option<&str>) -> Result<Vec<String>> {
    let path = util::repo_root().join("tests/guest").join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| selected(l, only))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        bail!("{} lists no suites (for {only:?})", path.display());
    }
    Ok(lines)
}

/// Whether suite line `line` is chosen by `--suites` (`only`: comma-separated words; `None`:
/// every line).
fn selected(line: &str, only: Option<&str>) -> bool {
    only.is_none_or(|o| o.split(',').any(|w| !w.is_empty() && line.contains(w)))
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
    suites_job(&suite_lines(SUITES, only)?)
}

/// The full suite set, and the set CI runs on 7.3 as well.
const SUITES: &str = "suites";
const SUITES_7_3: &str = "suites-7.3";

/// One piece of `cargo xtask test` that a worker thread runs.
enum Piece {
    /// Guest N of the debug suites, with its share of the suite lines.
    Guest(usize, Vec<String>),
    /// The 7.3 guest (lane `lanes::KERNEL_7_3_LANE`) with the 7.3 suite lines.
    Guest73(Vec<String>),
    Bench,
    Selftest,
    Dkms,
}

enum PieceResult {
    Guest(usize, Result<qemu::BootResult>),
    Bench(Result<bench::Outcome>),
    Selftest(Result<std::result::Result<(), String>>),
    Dkms(Result<Vec<(String, Result<()>)>>),
}

/// `kernel`: the full suite set on that kernel only; `None` (CI): the full set on 6.12, the
/// 7.3 set on 7.3 and the DKMS build against both.
pub fn cmd_test(only: Option<&str>, kernel: Option<KernelLine>) -> Result<i32> {
    let t0 = Instant::now();
    let p = prepare(kernel.unwrap_or_default(), Flavour::Debug, true)?;
    let second = match kernel {
        Some(_) => None,
        None => Some(prepare(KernelLine::V7_3, Flavour::Debug, true)?),
    };
    let selftest_ko = {
        let _lock = util::lock(&util::target_dir().join("xtask/build.lock"), "build")?;
        kernel::build_selftest_module(&p.tc, &p.kernel)?
    };
    let mut tally = Tally::default();

    // The debug suites spread over lanes::LANES guests, the runner self-test and the
    // quick benchmarks: two worker threads (one per host core) take them in turn.
    let lines = suite_lines(SUITES, only)?;
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
    if let Some(second) = &second {
        let lines = suite_lines(SUITES_7_3, None)?
            .into_iter()
            .filter(|l| selected(l, only))
            .collect::<Vec<_>>();
        if !lines.is_empty() {
            util::stage(
                "test",
                &format!(
                    "7.3 guest ({}) runs: {}",
                    second.kernel.build_dir.display(),
                    lines
                        .iter()
                        .map(|l| suite_name(l))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            queue.push_back(Piece::Guest73(lines));
        }
    }
    if only.is_none() {
        queue.push_back(Piece::Bench);
    }
    queue.push_back(Piece::Selftest);
    if second.is_some() && only.is_none() {
        queue.push_back(Piece::Dkms);
    }
    let bench_line = kernel.unwrap_or_default();
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
                    Piece::Guest73(lines) => {
                        let lane = lanes::KERNEL_7_3_LANE;
                        let second = second.as_ref().expect("7.3 prepared");
                        PieceResult::Guest(lane, run_guest(second, lane, &lines))
                    }
                    Piece::Bench => PieceResult::Bench(bench::run(&bench::BenchOptions {
                        quick: true,
                        kernel: bench_line,
                        ..Default::default()
                    })),
                    Piece::Dkms => {
                        let second = second.as_ref().expect("7.3 prepared");
                        let trees: [&Kernel; 2] = [&p.kernel, &second.kernel];
                        PieceResult::Dkms(dkms::check(&trees).map(|mut v| {
                            v.push((
                                format!("udev rule {} well-formed", dkms::UDEV_RULE),
                                dkms::udev_rule_check(),
                            ));
                            if let Some(r) = dkms::udevadm_verify() {
                                v.push((format!("udevadm verify {}", dkms::UDEV_RULE), r));
                            }
                            v
                        }))
                    }
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
        PieceResult::Dkms(_) => 102,
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

/// Boot debug guest `lane` with its share of the suites (KUnit on in guest 0 and the 7.3
/// guest only).
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
        kunit: lane == 0 || lane == lanes::KERNEL_7_3_LANE,
        idle_timeout: Duration::from_secs(300),
        total_timeout: Duration::from_secs(3900),
        echo: Echo::Lane(lane),
    };
    qemu::boot(&p.kernel, &opts)
}
