//! `cargo xtask`: the kcompletion test bench.
//!
//! Builds a Rust-enabled guest kernel (cached), the `kcompletion.ko` module
//! and the workspace's userspace binaries, packs them into an initramfs and
//! runs them in QEMU, watching the console for kernel splats.

mod apt;
mod bench;
mod console;
mod deps;
mod initramfs;
mod kernel;
mod lanes;
mod qemu;
mod soak;
mod util;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use console::{shell_join, shell_quote};
use initramfs::GuestSpec;
use kernel::{Flavour, Kernel};
use qemu::{BootOptions, Echo};

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
    },
    /// Boot the guest, load the module and run tests/demo.sh.
    Demo,
    /// Boot the guest with the module loaded; run CMD in it, or an
    /// interactive shell without CMD.
    Vm {
        /// File or folder copied into the guest at /mnt/host/<basename>.
        #[arg(long = "include", value_name = "PATH")]
        include: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "debug")]
        flavour: Flavour,
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
        /// vCPUs of the guest (default 2; see xtask/src/bench.rs).
        #[arg(long)]
        smp: Option<u32>,
        /// Repetitions per figure (default 7, quick 3).
        #[arg(long)]
        reps: Option<usize>,
        /// Only these scenarios, e.g. P1,P3.
        #[arg(long)]
        only: Option<String>,
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
        Cmd::Test { suites } => cmd_test(suites.as_deref()),
        Cmd::Demo => cmd_demo(),
        Cmd::Vm {
            include,
            flavour,
            timeout,
            no_module,
            kmemleak,
            cmd,
        } => cmd_vm(&include, flavour, timeout, no_module, kmemleak, &cmd),
        Cmd::Initramfs { out } => initramfs_only(&out),
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
        } => {
            let mut cmd = vec![
                "kc-fuzz".to_string(),
                "--calls".into(),
                calls.to_string(),
                "--threads".into(),
                threads.to_string(),
            ];
            if let Some(seed) = seed {
                cmd.extend(["--seed".into(), seed.to_string()]);
            }
            cmd_vm(&[], Flavour::Debug, timeout, false, true, &cmd)
        }
        Cmd::Bench {
            quick,
            wallclock,
            smp,
            reps,
            only,
        } => bench::cmd_bench(&bench::BenchOptions {
            quick,
            wallclock,
            smp,
            reps,
            only,
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

/// Everything a guest needs, built.
struct Prepared {
    kernel: Kernel,
    tc: deps::Toolchain,
    module: Option<PathBuf>,
    bins: Vec<PathBuf>,
}

/// Install, build and collect everything. Builds run under locks (one per
/// kernel flavour in the cache, one for the repository's builds), so
/// concurrent `cargo xtask` runs wait instead of corrupting each other's
/// kbuild trees; the locks are released before any guest boots.
fn prepare(flavour: Flavour, with_module: bool) -> Result<Prepared> {
    let cache = util::cache_root();
    let tc = {
        let _lock = util::lock(&cache.join(".lock-deps"), "deps")?;
        deps::ensure_all(&cache)?
    };
    let kernel = {
        let _lock = util::lock(
            &cache.join(format!(".lock-build-{}", flavour.name())),
            "kernel",
        )?;
        kernel::ensure_kernel(&tc, &cache, flavour)?
    };
    let _lock = util::lock(&util::target_dir().join("xtask/build.lock"), "build")?;
    let module = if with_module {
        kernel::build_driver(&tc, &kernel)?
    } else {
        util::stage(
            "module",
            "--no-module: not building or loading kcompletion.ko",
        );
        None
    };
    let bins = build_userspace()?;
    Ok(Prepared {
        kernel,
        tc,
        module,
        bins,
    })
}

/// Hook for the Lua C modules: `userlib/lua/build-all.sh` builds
/// `target/release/libkcompletion_{lua54,lua51,luajit}.so` (see
/// initramfs::LUA_MODULE_HOOK for where they go in the guest).
const LUA_MODULE_BUILD: &str = "userlib/lua/build-all.sh";

fn build_lua_modules() -> Result<()> {
    let script = util::repo_root().join(LUA_MODULE_BUILD);
    if !script.is_file() {
        util::stage(
            "lua",
            &format!("no {LUA_MODULE_BUILD}: no Lua C modules in the guest"),
        );
        return Ok(());
    }
    let log = util::target_dir().join("xtask/lua-modules-build.log");
    let _ = std::fs::remove_file(&log);
    let mut c = Command::new("sh");
    c.arg(&script).current_dir(util::repo_root());
    util::run_logged(
        &mut c,
        &log,
        "lua",
        "building the Lua modules (lua54, lua51, luajit)",
    )?;
    Ok(())
}

/// `cargo build --release` of the workspace's bin targets (not xtask).
fn build_userspace() -> Result<Vec<PathBuf>> {
    build_lua_modules()?;
    let names = initramfs::workspace_bins()?;
    if names.is_empty() {
        util::stage("userspace", "no workspace binaries yet");
        return Ok(Vec::new());
    }
    util::stage(
        "userspace",
        &format!("cargo build --release: {}", names.join(" ")),
    );
    let mut c = Command::new(util::cargo());
    c.current_dir(util::repo_root());
    c.args([
        "build",
        "--release",
        "--workspace",
        "--exclude",
        "xtask",
        "--bins",
    ]);
    util::run(&mut c, "cargo build --release")?;
    let rel = util::target_dir().join("release");
    names
        .iter()
        .map(|n| {
            let p = rel.join(n);
            if p.is_file() {
                Ok(p)
            } else {
                bail!("{} was not built", p.display())
            }
        })
        .collect()
}

fn job_conf(mode: &str, insmod: bool, module: &str, kmemleak: bool, rmmod_after: bool) -> String {
    format!(
        "KC_MODE={mode}\nKC_INSMOD={}\nKC_MODULE={}\nKC_KMEMLEAK={}\nKC_RMMOD_AFTER={}\n",
        insmod as u8,
        shell_quote(module),
        kmemleak as u8,
        rmmod_after as u8
    )
}

const MODULE_PATH: &str = "/lib/modules/kcompletion.ko";

fn build_initrd(name: &str, spec: &GuestSpec) -> Result<PathBuf> {
    let p = qemu::run_dir(name)?.join("initramfs.cpio");
    initramfs::build(spec, &p)?;
    Ok(p)
}

fn initramfs_only(out: &Path) -> Result<i32> {
    let ko = util::repo_root().join("driver/kcompletion.ko");
    let spec = GuestSpec {
        module: ko.is_file().then_some(ko),
        job_conf: job_conf("job", true, MODULE_PATH, true, true),
        job: Some(test_job(None)?),
        ..Default::default()
    };
    initramfs::build(&spec, out)?;
    Ok(0)
}

// ---------------------------------------------------------------- vm / demo

fn cmd_vm(
    include: &[PathBuf],
    flavour: Flavour,
    timeout: u64,
    no_module: bool,
    kmemleak: bool,
    cmd: &[String],
) -> Result<i32> {
    let p = prepare(flavour, !no_module)?;
    let insmod = !no_module;
    if insmod && p.module.is_none() {
        util::stage(
            "vm",
            "warning: no kcompletion.ko (no driver yet); booting without it",
        );
    }
    let mut spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        includes: include.to_vec(),
        ..Default::default()
    };
    if cmd.is_empty() {
        // Probe image for the accelerator choice (only used once).
        spec.job_conf = job_conf("job", false, MODULE_PATH, false, false);
        spec.job = Some("true\n".into());
        let probe = build_initrd("kvm-probe", &spec)?;
        let accel = qemu::choose_accel_interactive(&p.kernel, &probe)?;
        spec.job_conf = job_conf("interactive", insmod, MODULE_PATH, false, false);
        spec.job = None;
        let initrd = build_initrd("vm", &spec)?;
        return qemu::boot_interactive(&p.kernel, &initrd, accel);
    }
    spec.job_conf = job_conf("job", insmod, MODULE_PATH, kmemleak, kmemleak);
    spec.job = Some(format!("cd /root || cd /\n{}\n", shell_join(cmd)));
    let initrd = build_initrd("vm", &spec)?;
    let opts = BootOptions {
        name: "vm".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(timeout),
        total_timeout: Duration::from_secs(timeout),
        echo: Echo::Raw,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    eprintln!(
        "[vm] boot log: {} (accelerator {})",
        r.console_log.display(),
        r.accel.name()
    );
    r.report_problems("vm");
    let status = r.exit_status.unwrap_or(1);
    if status != 0 {
        return Ok(status);
    }
    Ok(if r.clean() { 0 } else { 1 })
}

fn cmd_demo() -> Result<i32> {
    let p = prepare(Flavour::Debug, true)?;
    let demo = util::repo_root().join("tests/demo.sh");
    let script =
        std::fs::read_to_string(&demo).with_context(|| format!("read {}", demo.display()))?;
    let spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        job_conf: job_conf("job", true, MODULE_PATH, false, false),
        // one stream, so `set -x` traces stay next to their output
        job: Some(format!("exec 2>&1\n{script}")),
        ..Default::default()
    };
    let initrd = build_initrd("demo", &spec)?;
    let opts = BootOptions {
        name: "demo".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(180),
        total_timeout: Duration::from_secs(900),
        echo: Echo::Raw,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    eprintln!(
        "[demo] boot log: {} (accelerator {})",
        r.console_log.display(),
        r.accel.name()
    );
    r.report_problems("demo");
    let status = r.exit_status.unwrap_or(1);
    Ok(if status != 0 {
        status
    } else if r.clean() {
        0
    } else {
        1
    })
}

// ---------------------------------------------------------------- test

/// Counted results.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Tally {
    fn case(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(what.to_string());
        }
    }
}

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
    console::suites_job(
        &lines.join("\n"),
        "/usr/share/kcompletion/tests",
        Some("sh after-suite.sh"),
    )
    .context("no suites for this guest")
}

/// The guest job of `cargo xtask test` in one guest (the `initramfs` aid).
fn test_job(only: Option<&str>) -> Result<String> {
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

fn cmd_test(only: Option<&str>) -> Result<i32> {
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
            .map(|l| lanes::expected(&times, &console::suite_name(l)))
            .sum();
        util::stage(
            "test",
            &format!(
                "guest {i} runs: {} (about {} by the last run's times)",
                share
                    .iter()
                    .map(|l| console::suite_name(l))
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
                    Piece::Selftest => PieceResult::Selftest(runner_selftest(&p, &selftest_ko)),
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
    let mut accel = "?";
    let mut any_suite = false;
    for r in results {
        match r {
            PieceResult::Guest(i, r) => {
                let r = r?;
                accel = r.accel.name();
                any_suite |= tally_guest(&mut tally, i, &r);
            }
            PieceResult::Selftest(st) => {
                let st = st?;
                tally.case(
                    st.is_ok(),
                    &format!(
                        "host runner-selftest: {}",
                        st.as_ref().err().cloned().unwrap_or_default()
                    ),
                );
            }
            PieceResult::Bench(b) => match b {
                Ok(o) => {
                    for (name, ok) in bench::checks(&o.results, true) {
                        tally.case(ok, &format!("bench --quick: {name}"));
                    }
                    tally.case(
                        o.clean && o.problem.is_none(),
                        &format!(
                            "bench --quick: guest run clean and kc-bench finished{}",
                            o.problem.map(|p| format!(" ({p})")).unwrap_or_default()
                        ),
                    );
                }
                Err(e) => tally.case(false, &format!("bench --quick: {e:#}")),
            },
        }
    }
    if only.is_some() {
        eprintln!("[test] --suites: benchmarks skipped (PARTIAL RUN)");
        tally.case(false, "bench --quick: skipped by --suites");
    }
    if !any_suite {
        tally.case(false, "guest: no suite ran");
    }
    let finished: Vec<_> = lanes::FINISHED.lock().unwrap().clone();
    let mut record = std::collections::BTreeMap::new();
    eprintln!("[test] suites (wall time as seen from the host; guests ran at the same time):");
    eprintln!(
        "  {:<28} {:>6} {:>7} {:>9}",
        "suite", "cases", "failed", "time"
    );
    for (name, d, cases, failed) in &finished {
        record.insert(name.clone(), d.as_secs().max(1));
        if !name.starts_with("after-") {
            let after = finished
                .iter()
                .find(|f| f.0 == format!("after-{name}"))
                .map(|f| f.1)
                .unwrap_or_default();
            eprintln!(
                "  {:<28} {:>6} {:>7} {:>9}  (+{} after-suite)",
                name,
                cases,
                failed,
                util::fmt_duration(*d),
                util::fmt_duration(after)
            );
        }
    }
    lanes::save_times(&record);

    // (f) host tests
    let (hp, hf) = host_tests()?;
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

/// Count guest `lane`'s suites, KUnit results (guest 0) and cleanliness;
/// true if any suite ran.
fn tally_guest(tally: &mut Tally, lane: usize, r: &qemu::BootResult) -> bool {
    let suites = console::parse_suites(&r.stdout);
    for s in &suites {
        for c in &s.cases {
            let label = format!(
                "guest {}: {} {} - {}{}",
                s.name,
                if c.ok { "ok" } else { "not ok" },
                c.number,
                c.description,
                if c.skip { " # SKIP" } else { "" }
            );
            if !c.passed() {
                eprintln!("  FAILED {label}");
            }
            tally.case(c.passed(), &label);
        }
        for prob in &s.problems {
            eprintln!("  guest {}: FAILED: {prob}", s.name);
            tally.case(false, &format!("guest {}: {prob}", s.name));
        }
        if s.failed() > 0 || !s.problems.is_empty() {
            eprintln!(
                "[suite {}] {} passed, {} failed (exit status {:?})",
                s.name,
                s.passed(),
                s.failed(),
                s.status
            );
        }
    }
    if !r.stderr.trim().is_empty() {
        eprintln!("----- guest {lane} job stderr -----\n{}-----", r.stderr);
    }
    if lane == 0 {
        let ku = console::parse_kunit(&r.console, "rust_doctests_kernel");
        let ku_pass = ku.cases.iter().filter(|c| c.passed()).count();
        eprintln!(
            "[kunit rust_doctests_kernel] {} passed, {} failed",
            ku_pass,
            ku.cases.len() - ku_pass
        );
        for c in &ku.cases {
            tally.case(
                c.passed(),
                &format!("kunit rust_doctests_kernel: {}", c.description),
            );
        }
        if ku.cases.is_empty() {
            tally.case(
                false,
                "kunit: the kernel printed no rust_doctests_kernel results",
            );
        }
    }
    for l in r.console.lines() {
        let t = console::strip_printk_time(l).trim();
        if t.starts_with("KC-INSMOD-FAILED")
            || t.starts_with("KC-INSMOD-MISSING")
            || t.starts_with("KC-RMMOD-FAILED")
        {
            tally.case(false, &format!("guest {lane}: {t}"));
        }
    }
    r.report_problems(&format!("test-{lane}"));
    tally.case(
        r.clean(),
        &format!("guest {lane} run clean: no kernel splat, no hang, job finished"),
    );
    !suites.is_empty()
}

/// Boot a guest that loads a module doing `WARN(1, ...)` and check the
/// runner flags the splat and fails the run. Ok(()) when it does.
fn runner_selftest(p: &Prepared, ko: &Path) -> Result<std::result::Result<(), String>> {
    let spec = GuestSpec {
        module: None,
        extra_modules: vec![ko.to_path_buf()],
        job_conf: job_conf("job", false, MODULE_PATH, false, false),
        job: Some(
            "insmod /lib/modules/warn_on_load.ko && echo 'ok 1 - warn_on_load loaded'\n".into(),
        ),
        ..Default::default()
    };
    let initrd = build_initrd("selftest", &spec)?;
    let opts = BootOptions {
        name: "selftest".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(120),
        total_timeout: Duration::from_secs(600),
        echo: Echo::Quiet,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    let seen = r
        .splats
        .iter()
        .any(|s| s.excerpt.contains("kcompletion runner self-test"));
    let verdict = if r.exit_status != Some(0) {
        Err(format!(
            "the self-test job itself failed (status {:?}, {:?})",
            r.exit_status, r.failure
        ))
    } else if !seen {
        Err(format!(
            "the WARN was not reported as a splat (console: {})",
            r.console_log.display()
        ))
    } else if r.clean() {
        Err("the runner judged a run with a WARN clean".into())
    } else {
        Ok(())
    };
    match &verdict {
        Ok(()) => util::stage(
            "selftest",
            "ok: the runner caught the WARN and failed that run (as it must)",
        ),
        Err(e) => util::stage("selftest", &format!("FAILED: {e}")),
    }
    Ok(verdict)
}

/// `cargo test --workspace`; returns (passed, failed).
fn host_tests() -> Result<(usize, usize)> {
    util::stage("host", "cargo test --workspace");
    let out = Command::new(util::cargo())
        .current_dir(util::repo_root())
        .args(["test", "--workspace"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("run cargo test")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let log = util::target_dir().join("xtask/host-tests.log");
    let _ = std::fs::create_dir_all(log.parent().unwrap());
    let _ = std::fs::write(&log, text.as_bytes());
    let s = console::parse_cargo_test(&text);
    for l in text
        .lines()
        .filter(|l| l.starts_with("test result:") || l.contains("FAILED") || l.starts_with("---- "))
    {
        eprintln!("  {l}");
    }
    let mut failed = s.failed;
    if !out.status.success() && failed == 0 {
        eprintln!(
            "[host] cargo test failed ({}) without a failing test case (build error?); log {}",
            out.status,
            log.display()
        );
        failed = 1;
    }
    util::stage(
        "host",
        &format!(
            "{} passed, {} failed, {} ignored (log {})",
            s.passed,
            failed,
            s.ignored,
            log.display()
        ),
    );
    Ok((s.passed, failed))
}
