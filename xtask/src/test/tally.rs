//! Counting the results of `cargo xtask test`: guest suites and KUnit cases, the
//! runner self-test, the quick benchmarks' checks, and the table of suite times.

use anyhow::Result;
use std::collections::BTreeMap;
use std::time::Duration;

use super::PieceResult;
use crate::bench;
use crate::guest_output;
use crate::lanes;
use crate::qemu;
use crate::util;

/// Counted results.
#[derive(Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<String>,
}

impl Tally {
    pub fn case(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(what.to_string());
        }
    }

    /// Count what the worker threads produced (sorted: guests, self-test, bench); the
    /// accelerator of the guests and whether any suite ran. A guest or self-test that
    /// could not run at all is an error.
    pub fn pieces(&mut self, results: Vec<PieceResult>) -> Result<(&'static str, bool)> {
        let mut accel = "?";
        let mut any_suite = false;
        for r in results {
            match r {
                PieceResult::Guest(i, r) => {
                    let r = r?;
                    accel = r.accel.name();
                    any_suite |= self.guest(i, &r);
                }
                PieceResult::Selftest(st) => {
                    let st = st?;
                    self.case(
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
                            self.case(ok, &format!("bench --quick: {name}"));
                        }
                        self.case(
                            o.clean && o.problem.is_none(),
                            &format!(
                                "bench --quick: guest run clean and kc-bench finished{}",
                                o.problem.map(|p| format!(" ({p})")).unwrap_or_default()
                            ),
                        );
                    }
                    Err(e) => self.case(false, &format!("bench --quick: {e:#}")),
                },
                PieceResult::Dkms(d) => match d {
                    Ok(builds) => {
                        for (name, r) in builds {
                            if let Err(e) = &r {
                                eprintln!("  FAILED {name}: {e:#}");
                            }
                            self.case(r.is_ok(), &name);
                        }
                    }
                    Err(e) => self.case(false, &format!("dkms: {e:#}")),
                },
            }
        }
        Ok((accel, any_suite))
    }

    /// Count guest `lane`'s suites, KUnit results (guest 0 and the 7.3 guest) and
    /// cleanliness; true if any suite ran.
    fn guest(&mut self, lane: usize, r: &qemu::BootResult) -> bool {
        let second = lane == lanes::KERNEL_7_3_LANE;
        // Labels of the 7.3 guest say so; the 6.12 ones read as before.
        let (kern, guest) = if second {
            ("7.3 ", "7.3 guest".to_string())
        } else {
            ("", format!("guest {lane}"))
        };
        let suites = guest_output::parse_suites(&r.stdout);
        for s in &suites {
            for c in &s.cases {
                let label = format!(
                    "{kern}guest {}: {} {} - {}{}",
                    s.name,
                    if c.ok { "ok" } else { "not ok" },
                    c.number,
                    c.description,
                    if c.skip { " # SKIP" } else { "" }
                );
                if !c.passed() {
                    eprintln!("  FAILED {label}");
                }
                self.case(c.passed(), &label);
            }
            for prob in &s.problems {
                eprintln!("  {kern}guest {}: FAILED: {prob}", s.name);
                self.case(false, &format!("{kern}guest {}: {prob}", s.name));
            }
            if s.failed() > 0 || !s.problems.is_empty() {
                eprintln!(
                    "[suite {kern}{}] {} passed, {} failed (exit status {:?})",
                    s.name,
                    s.passed(),
                    s.failed(),
                    s.status
                );
            }
        }
        if !r.stderr.trim().is_empty() {
            eprintln!("----- {guest} job stderr -----\n{}-----", r.stderr);
        }
        if lane == 0 || second {
            let ku = guest_output::parse_kunit(&r.console, "rust_doctests_kernel");
            let ku_pass = ku.cases.iter().filter(|c| c.passed()).count();
            eprintln!(
                "[{kern}kunit rust_doctests_kernel] {} passed, {} failed",
                ku_pass,
                ku.cases.len() - ku_pass
            );
            for c in &ku.cases {
                self.case(
                    c.passed(),
                    &format!("{kern}kunit rust_doctests_kernel: {}", c.description),
                );
            }
            if ku.cases.is_empty() {
                self.case(
                    false,
                    &format!("{kern}kunit: the kernel printed no rust_doctests_kernel results"),
                );
            }
        }
        for l in r.console.lines() {
            let t = guest_output::strip_printk_time(l).trim();
            if t.starts_with("KC-INSMOD-FAILED")
                || t.starts_with("KC-INSMOD-MISSING")
                || t.starts_with("KC-RMMOD-FAILED")
            {
                self.case(false, &format!("{guest}: {t}"));
            }
        }
        r.report_problems(&format!("test-{lane}"));
        self.case(
            r.clean(),
            &format!("{guest} run clean: no kernel splat, no hang, job finished"),
        );
        !suites.is_empty()
    }
}

/// Print the table of the suites that finished (cases, failures, host wall time, the time
/// of their after-suite check); returns their times for `lanes::save_times`.
pub fn print_suite_table(finished: &[(String, Duration, usize, usize)]) -> BTreeMap<String, u64> {
    let mut record = BTreeMap::new();
    eprintln!("[test] suites (wall time as seen from the host; guests ran at the same time):");
    eprintln!(
        "  {:<28} {:>6} {:>7} {:>9}",
        "suite", "cases", "failed", "time"
    );
    for (name, d, cases, failed) in finished {
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
    record
}
