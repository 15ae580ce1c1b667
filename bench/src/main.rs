//! `kc-bench`: the guest side of `cargo xtask bench`.
//!
//! Runs the scenarios of issue 6 (and P9 of issue 18) on raw system calls, baselines and
//! kcompletion interleaved within every repetition, and prints one line per measurement on
//! stdout:
//!
//! ```text
//! KCB scenario=P1 case=threads mech=eventfd param=0 rep=2 value=5973.0 unit=ns
//! ```
//!
//! plus `KCB-META key=value` lines (how it ran) and `KCB-SKIP scenario=.. reason=..` when a
//! scenario cannot run. Progress goes to stderr. The host (`xtask/src/bench/`) computes
//! medians and spreads, compares against the targets and writes the report.
//!
//! Usage: `kc-bench [--quick] [--reps N] [--only P1,P3,...]` (scenarios: micro, P1, P2, P3,
//! P4, P5 (with P5b), P6, P9; `profile` only on request). Exit status 1 if a measurement the run must make
//! could not be made (P6's C floor module missing).
//!
//! P4 reloads the module (`$KC_MODULE`, default /lib/modules/kcompletion.ko) with limits
//! large enough and reloads it with the defaults at the end, so it runs last.

mod fanout;
mod handoff;
mod lua;
mod pingpong;
mod registry;
mod statepage;
mod sys;
mod waitmany;

use std::io::Write;

/// What to run and how much.
#[derive(Clone, Debug)]
pub struct Config {
    pub quick: bool,
    pub reps: usize,
    pub only: Vec<String>,
}

impl Config {
    pub fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s.eq_ignore_ascii_case(scenario))
    }
    /// Full size, or the quick size.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One measurement line.
pub fn emit(
    scenario: &str,
    case: &str,
    mech: &str,
    param: u64,
    rep: usize,
    value: f64,
    unit: &str,
) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "KCB scenario={scenario} case={case} mech={mech} param={param} rep={rep} value={value:.1} unit={unit}"
    );
    let _ = out.flush();
}

/// A scenario (or a case of one) that could not run, as the report reads it: only through
/// [`fail`], which also fails the run.
fn skip(scenario: &str, reason: &str) {
    let reason = reason.replace(['\n', '\r'], " ");
    println!("KCB-SKIP scenario={scenario} reason={reason}");
    eprintln!("[kc-bench] {scenario}: not measured: {reason}");
}

/// Set by [`fail`]: kc-bench exits 1 after its last line.
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A measurement the run is supposed to make could not be made: reported like a skip (so the
/// summary says why), and the run fails (exit status 1 after `KCB-END`).
pub fn fail(scenario: &str, reason: &str) {
    skip(scenario, reason);
    FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn progress(msg: &str) {
    eprintln!("[kc-bench] {msg}");
}

fn meta() {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().replace(char::is_whitespace, "_"))
            .unwrap_or_else(|_| "?".into())
    };
    // SAFETY: Plain query.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    println!("KCB-META cpus={cpus}");
    println!("KCB-META kernel={}", read("/proc/sys/kernel/osrelease"));
    println!(
        "KCB-META clocksource={}",
        read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
    );
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "?".into());
    println!("KCB-META mem_kib={mem}");
}

fn main() {
    let mut cfg = Config {
        quick: false,
        reps: 0,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => cfg.quick = true,
            "--reps" => cfg.reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--only" => {
                cfg.only = args
                    .next()
                    .expect("--only P1,P2,...")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "-h" | "--help" => {
                println!(
                    "usage: kc-bench [--quick] [--reps N] [--only micro,P1,P2,P3,P4,P5,P6,P7,P9,profile]"
                );
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if cfg.reps == 0 {
        cfg.reps = cfg.pick(7, 3);
    }
    meta();
    println!(
        "KCB-META mode={} reps={}",
        if cfg.quick { "quick" } else { "full" },
        cfg.reps
    );
    let t0 = std::time::Instant::now();
    if sys::open_dev().map(sys::close).is_err() {
        for s in ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P9"] {
            fail(s, "/dev/kcompletion cannot be opened (module not loaded?)");
        }
        std::process::exit(1);
    }
    let run = |name: &str, f: &dyn Fn(&Config)| {
        if cfg.wants(name) {
            let t = std::time::Instant::now();
            progress(&format!("{name} ..."));
            f(&cfg);
            progress(&format!("{name} done in {:.1}s", t.elapsed().as_secs_f64()));
        }
    };
    run("micro", &pingpong::micro);
    run("P1", &pingpong::p1);
    run("P2", &pingpong::p2);
    run("P3", &fanout::p3);
    run("P5", &statepage::p5);
    run("P6", &lua::p6);
    run("P9", &handoff::p9);
    run("P7", &waitmany::p7);
    // Only on request: where the Lua binding's time goes.
    if cfg.only.iter().any(|s| s == "profile") {
        lua::profile(&cfg);
    }
    // Last: it reloads the module.
    run("P4", &registry::p4);
    progress(&format!("all done in {:.1}s", t0.elapsed().as_secs_f64()));
    println!("KCB-END");
    if FAILED.load(std::sync::atomic::Ordering::Relaxed) {
        progress("failed: a measurement the run must make was not made (KCB-SKIP lines above)");
        std::process::exit(1);
    }
}
