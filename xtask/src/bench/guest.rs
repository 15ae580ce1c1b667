//! One bench run: build, boot the release guest, run kc-bench, write the report and plots.

use anyhow::{Context, Result};
use std::time::{Duration, Instant};

use super::floor;
use super::parse::parse;
use super::report::{report_md, terminal_table, RunInfo};
use super::stats::Results;
use super::svg::plots;
use super::targets::rows;
use super::{BenchOptions, Outcome, DEFAULT_SMP};
use crate::initramfs::GuestSpec;
use crate::kernel::Flavour;
use crate::kernels::KernelLine;
use crate::prepare::{build_initrd, job_conf, prepare, MODULE_PATH};
use crate::qemu::{self, Accel, BootOptions, Echo, Hardware};
use crate::shell::shell_join;
use crate::util;

/// Guest memory: P4 keeps a million objects alive.
const MEM_MB: u32 = 3072;

fn utc_now() -> String {
    util::cmd_output(std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Builds (release kernel, module, kc-bench), boots one guest, runs kc-bench, writes the
/// report and plots. Does not judge targets: the caller does.
pub fn run(opts: &BenchOptions) -> Result<Outcome> {
    let t0 = Instant::now();
    let p = prepare(opts.kernel, Flavour::Release, true)?;
    let mut out_dir = if opts.quick {
        util::target_dir().join("bench/quick")
    } else {
        util::target_dir().join("bench")
    };
    if opts.kernel != KernelLine::V6_12 {
        out_dir = out_dir.join(opts.kernel.name());
    }
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
        // P6's floor module (issue 16), whatever the --only: it takes a second to build.
        files: floor::build()?,
        job_conf: job_conf("job", true, MODULE_PATH, false, false),
        job: Some(format!("cd /root\n{}\n", shell_join(&args))),
        ..Default::default()
    };
    let initrd = build_initrd("bench", &spec)?;
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
