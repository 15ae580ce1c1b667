//! `cargo xtask boot-soak N`: boot the debug guest N times with 2 vCPUs and
//! count the boots that were not clean.
//!
//! Each boot must bring up both CPUs ("smp: Brought up 1 node, 2 CPUs" on the
//! console, `0-1` in `/sys/devices/system/cpu/online`), load the module, hand
//! one completion from a task on CPU 1 to a waiter on CPU 0 through the CLI,
//! keep its TSC as clocksource (see qemu::tsc_args), unload the module and power off, with
//! no kernel splat. Two boots run at a
//! time (one per host core); a boot that fails keeps its console log as
//! `target/guest/soak-failed-<i>.log`.

use anyhow::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::initramfs::GuestSpec;
use crate::kernel::Flavour;
use crate::kernels::KernelLine;
use crate::prepare::{build_initrd, job_conf, prepare, MODULE_PATH};
use crate::qemu::{self, BootOptions, Echo};
use crate::util;

/// The guest job: KTAP cases, status 0 only if all pass.
const JOB: &str = r#"
fail=0
online=$(cat /sys/devices/system/cpu/online)
if [ "$online" = 0-1 ]; then echo "ok 1 - cpus online: $online"; else echo "not ok 1 - cpus online: $online (want 0-1)"; fail=1; fi
kcompletion create soak --mode 600 >/dev/null
taskset -c 0 kcompletion wait soak --timeout 20000 & w=$!
sleep 0.2
taskset -c 1 kcompletion complete soak
if wait $w; then echo "ok 2 - completion handed from CPU 1 to a waiter on CPU 0"; else echo "not ok 2 - hand-off from CPU 1 to CPU 0"; fail=1; fi
kcompletion unlink soak
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
if [ "$cs" = tsc ]; then echo "ok 3 - clocksource $cs"; else echo "not ok 3 - clocksource $cs (want tsc)"; fail=1; fi
exit $fail
"#;

/// The console line a kernel with both CPUs prints.
const BROUGHT_UP: &str = "smp: Brought up 1 node, 2 CPUs";

pub fn cmd_boot_soak(boots: usize, flavour: Flavour) -> Result<i32> {
    let t0 = Instant::now();
    let p = prepare(KernelLine::V6_12, flavour, true)?;
    let spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        job_conf: job_conf("job", true, MODULE_PATH, false, true),
        job: Some(JOB.into()),
        ..Default::default()
    };
    // One image for both lanes: QEMU only reads it.
    let initrd = build_initrd("soak", &spec)?;
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    util::stage(
        "soak",
        &format!(
            "{boots} {} boots with 2 vCPUs, two at a time",
            flavour.name()
        ),
    );
    std::thread::scope(|sc| {
        for lane in 0..2 {
            let (p, next, outcomes, initrd) = (&p, &next, &outcomes, &initrd);
            sc.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= boots {
                    break;
                }
                let opts = BootOptions {
                    name: format!("soak-{lane}"),
                    initrd: initrd.clone(),
                    kunit: false,
                    idle_timeout: Duration::from_secs(120),
                    total_timeout: Duration::from_secs(300),
                    echo: Echo::Quiet,
                };
                let verdict = match qemu::boot(&p.kernel, &opts) {
                    Ok(r) => judge(i, &r),
                    Err(e) => (Err(format!("{e:#}")), Duration::ZERO),
                };
                let line = match &verdict.0 {
                    Ok(()) => format!(
                        "boot {:>3}/{boots}: clean, 2 CPUs, {}",
                        i + 1,
                        util::fmt_duration(verdict.1)
                    ),
                    Err(e) => format!("boot {:>3}/{boots}: FAILED: {e}", i + 1),
                };
                util::stage("soak", &line);
                outcomes.lock().unwrap().push(verdict);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let failed = outcomes.iter().filter(|o| o.0.is_err()).count();
    let mut times: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.0.is_ok())
        .map(|o| o.1)
        .collect();
    times.sort();
    let figure = |q: usize| {
        times
            .get(q.min(times.len().saturating_sub(1)))
            .map(|d| format!("{:.1} s", d.as_secs_f64()))
            .unwrap_or_else(|| "-".into())
    };
    util::stage(
        "soak",
        &format!(
            "{} of {boots} boots clean, {failed} failed; boot to power-off min {}, median {}, max {}; wall {}",
            boots - failed,
            figure(0),
            figure(times.len() / 2),
            figure(times.len()),
            util::fmt_duration(t0.elapsed())
        ),
    );
    println!("{} passed, {} failed", boots - failed, failed);
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Clean, both CPUs up, job passed; keeps the console of a failed boot.
fn judge(i: usize, r: &qemu::BootResult) -> (std::result::Result<(), String>, Duration) {
    let mut problems = Vec::new();
    if !r.clean() {
        r.report_problems(&format!("soak boot {}", i + 1));
        problems.push(match (&r.failure, r.splats.first()) {
            (Some(f), _) => f.clone(),
            (None, Some(s)) => format!("kernel splat: {}", s.line.trim()),
            _ => "no exit status".into(),
        });
    }
    if !r.console.contains(BROUGHT_UP) {
        problems.push(format!("the console lacks {BROUGHT_UP:?}"));
    }
    if r.exit_status != Some(0) {
        problems.push(format!(
            "job status {:?}: {}",
            r.exit_status,
            r.stdout
                .lines()
                .filter(|l| l.starts_with("not ok"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if problems.is_empty() {
        return (Ok(()), r.duration);
    }
    let keep = qemu::guest_dir().join(format!("soak-failed-{}.log", i + 1));
    let _ = std::fs::copy(&r.console_log, &keep);
    (
        Err(format!(
            "{} (console {})",
            problems.join("; "),
            keep.display()
        )),
        r.duration,
    )
}
