//! Reading what a guest printed: printk timestamps, kernel splat patterns, KTAP cases
//! and plans, the guest suites between `KC-SUITE` markers, boot-time KUnit results, and
//! the `test result:` lines of `cargo test` on the host. Pure text logic, unit tested.

/// Strip the `[   12.345678] ` timestamp that `CONFIG_PRINTK_TIME` adds.
pub fn strip_printk_time(line: &str) -> &str {
    let t = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(end) = rest.find("] ") {
            let stamp = rest[..end].trim();
            if !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return &rest[end + 2..];
            }
        }
    }
    t
}

/// Patterns that mark a kernel splat on the console. Matched case-sensitively
/// against the line with its printk timestamp removed.
const SPLAT_PATTERNS: &[&str] = &[
    "BUG:",
    "WARNING:",
    "Oops",
    "KASAN",
    "general protection fault",
    "Kernel panic",
    "Call Trace:",
    "possible circular locking",
    "inconsistent lock state",
    "possible recursive locking",
    "suspicious RCU usage",
    "lockdep",
    "unreferenced object",
    "suspected memory leak",
    "soft lockup",
    "hung_task",
    "blocked for more than",
    "UBSAN",
    "kernel BUG",
    "Unable to handle kernel",
];

/// Boot-time lines that contain a splat pattern but are harmless banners.
const BENIGN: &[&str] = &[
    "Lock dependency validator",
    "lockdep: ",
    "... MAX_LOCKDEP",
    "... CHAINHASH_SIZE",
    "per task-struct memory footprint",
    "KernelAddressSanitizer initialized",
    "hung_task_timeout_secs",
    "RCU lockdep checking is enabled",
];

/// Is this console line (timestamp included or not) a kernel splat?
/// Returns the pattern that matched.
pub fn splat_pattern(line: &str) -> Option<&'static str> {
    let l = strip_printk_time(line);
    // KTAP result lines and diagnostics of KUnit are counted separately;
    // test names may contain words such as "lockdep".
    let trimmed = l.trim_start();
    if parse_ktap_case(trimmed).is_some() || trimmed.starts_with("# Subtest:") {
        return None;
    }
    if BENIGN.iter().any(|b| l.contains(b)) && !l.contains("BUG:") && !l.contains("WARNING:") {
        return None;
    }
    for p in SPLAT_PATTERNS {
        if l.contains(p) {
            return Some(p);
        }
    }
    // rcu.*stall
    if let Some(i) = l.find("rcu") {
        if l[i..].contains("stall") && !l.contains("stall warnings") && !l.contains("stall_timeout")
        {
            return Some("rcu.*stall");
        }
    }
    None
}

/// One KTAP test case line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub ok: bool,
    pub number: u32,
    pub description: String,
    /// `# SKIP` directive (counted as a failure: no silent skips).
    pub skip: bool,
    /// Leading indentation (KUnit subtests are indented by 4 spaces).
    pub indent: usize,
}

impl Case {
    pub fn passed(&self) -> bool {
        self.ok && !self.skip
    }
}

/// Parse `ok N - description`, `not ok N description # SKIP reason`.
/// Leading whitespace is allowed (recorded in `indent`).
pub fn parse_ktap_case(line: &str) -> Option<Case> {
    let line = line.trim_end_matches(['\r', '\n']);
    let indent = line.len() - line.trim_start().len();
    let l = line.trim_start();
    let (ok, rest) = if let Some(r) = l.strip_prefix("not ok ") {
        (false, r)
    } else if let Some(r) = l.strip_prefix("ok ") {
        (true, r)
    } else {
        return None;
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let number = digits.parse().ok()?;
    let rest = &rest[digits.len()..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (description, directive) = match rest
        .find(" # ")
        .or_else(|| rest.strip_prefix("# ").map(|_| 0))
    {
        Some(i) => (
            rest[..i].trim(),
            rest[i..].trim_start().trim_start_matches('#').trim(),
        ),
        None => (rest.trim(), ""),
    };
    let skip = directive.to_ascii_uppercase().starts_with("SKIP");
    Some(Case {
        ok,
        number,
        description: description.to_string(),
        skip,
        indent,
    })
}

/// Parse a KTAP plan line `1..N`.
pub fn parse_plan(line: &str) -> Option<u32> {
    line.trim().strip_prefix("1..")?.parse().ok()
}

/// The result of one guest suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteReport {
    pub name: String,
    pub cases: Vec<Case>,
    pub plan: Option<u32>,
    /// Exit status; `None` if the end marker never appeared.
    pub status: Option<i32>,
    /// Failures that are not individual cases (non-zero exit without
    /// `not ok`, no cases, plan mismatch, missing end marker).
    pub problems: Vec<String>,
    /// Everything the suite printed (for failure reports).
    pub output: String,
}

impl SuiteReport {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed()).count() + self.problems.len()
    }

    fn finish(&mut self) {
        if self.cases.is_empty() {
            self.problems.push("suite printed no test cases".into());
        }
        if let Some(plan) = self.plan {
            if self.cases.len() as u32 != plan {
                self.problems
                    .push(format!("plan 1..{plan} but {} cases ran", self.cases.len()));
            }
        }
        match self.status {
            None => self
                .problems
                .push("suite did not finish (no KC-SUITE-END marker)".into()),
            Some(0) => {}
            Some(s) => {
                if !self.cases.iter().any(|c| !c.ok) && !self.cases.is_empty() {
                    self.problems
                        .push(format!("suite exited with status {s} without a `not ok`"));
                } else if self.cases.is_empty() {
                    // already counted as "no cases"; mention the status too
                    self.problems
                        .last_mut()
                        .unwrap()
                        .push_str(&format!(" (exit status {s})"));
                }
            }
        }
    }
}

/// Parse the job output of a `test` run: suites between `KC-SUITE <name>`
/// and `KC-SUITE-END <name> <status>` markers.
pub fn parse_suites(output: &str) -> Vec<SuiteReport> {
    let mut out = Vec::new();
    let mut cur: Option<SuiteReport> = None;
    for raw in output.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("KC-SUITE-END ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap_or("").to_string();
            let status = parts.next().and_then(|s| s.parse().ok());
            let mut s = cur.take().unwrap_or_else(|| SuiteReport {
                name: name.clone(),
                ..Default::default()
            });
            s.status = status;
            s.finish();
            out.push(s);
        } else if let Some(name) = line.strip_prefix("KC-SUITE ") {
            if let Some(mut s) = cur.take() {
                s.finish();
                out.push(s);
            }
            cur = Some(SuiteReport {
                name: name.trim().to_string(),
                ..Default::default()
            });
        } else if let Some(s) = cur.as_mut() {
            s.output.push_str(line);
            s.output.push('\n');
            if let Some(c) = parse_ktap_case(line) {
                // Only top-level cases count for a suite; nested ones are
                // summarised by their parent line.
                if c.indent == 0 {
                    s.cases.push(c);
                }
            } else if let Some(p) = parse_plan(line) {
                if s.plan.is_none() {
                    s.plan = Some(p);
                }
            }
        }
    }
    if let Some(mut s) = cur.take() {
        s.finish();
        out.push(s);
    }
    out
}

/// KUnit results of one suite as printed on the console at boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KunitReport {
    pub suite: String,
    pub cases: Vec<Case>,
}

/// Collect the KTAP subtest lines (indented) of the KUnit suite `suite`
/// from console lines (printk timestamps allowed).
pub fn parse_kunit(console: &str, suite: &str) -> KunitReport {
    let mut rep = KunitReport {
        suite: suite.to_string(),
        cases: Vec::new(),
    };
    let mut inside = false;
    for raw in console.lines() {
        let l = strip_printk_time(raw);
        let t = l.trim_start();
        if let Some(name) = t.strip_prefix("# Subtest:") {
            inside = name.trim() == suite;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(c) = parse_ktap_case(l) {
            if c.indent == 0 {
                // the suite's own summary line ends the subtests
                inside = false;
            } else {
                rep.cases.push(c);
            }
        }
    }
    rep
}

/// Sum of the `test result:` lines of `cargo test`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CargoTestSummary {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub result_lines: usize,
}

/// Parse `test result: ok. 3 passed; 1 failed; 0 ignored; ...` lines.
pub fn parse_cargo_test(output: &str) -> CargoTestSummary {
    let mut s = CargoTestSummary::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        s.result_lines += 1;
        for part in rest.split(['.', ';']) {
            let mut it = part.split_whitespace();
            if let (Some(n), Some(what)) = (it.next(), it.next()) {
                if let Ok(n) = n.parse::<usize>() {
                    match what {
                        "passed" => s.passed += n,
                        "failed" => s.failed += n,
                        "ignored" => s.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printk_time_is_stripped() {
        assert_eq!(strip_printk_time("[   12.345678] BUG: foo"), "BUG: foo");
        assert_eq!(strip_printk_time("[    0.000000]     ok 1 x"), "    ok 1 x");
        assert_eq!(strip_printk_time("[x] not time"), "[x] not time");
        assert_eq!(strip_printk_time("plain\r"), "plain");
    }

    #[test]
    fn splats_are_detected() {
        let yes = [
            "[   3.1] WARNING: CPU: 0 PID: 1 at warn_on_load.c:7 init+0x1/0x2",
            "[   3.1] BUG: KASAN: slab-use-after-free in foo",
            "[   3.1] Call Trace:",
            "[   3.1] Oops: general protection fault, probably for non-canonical address",
            "[   3.1] Kernel panic - not syncing: Fatal exception",
            "[   3.1] WARNING: possible circular locking dependency detected",
            "[   3.1] unreferenced object 0xffff888003a1c000 (size 64):",
            "[   3.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
            "[   3.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!",
            "[   3.1] INFO: task sh:1 blocked for more than 20 seconds.",
            "[   3.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "[   3.1] UBSAN: shift-out-of-bounds in foo.c:3:4",
        ];
        for l in yes {
            assert!(splat_pattern(l).is_some(), "not detected: {l}");
        }
        let no = [
            "[   0.1] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
            "[   0.1] ... MAX_LOCKDEP_SUBCLASSES:  8",
            "[   0.1] kasan: KernelAddressSanitizer initialized (generic)",
            "[   0.1] rcu: \tRCU CPU stall warnings timeout set to 21 (rcu_cpu_stall_timeout).",
            "[   5.0]     ok 3 rust_doctest_kernel_sync_lockdep_rs_0",
            "[   0.2] Run /init as init process",
        ];
        for l in no {
            assert_eq!(splat_pattern(l), None, "false positive: {l}");
        }
    }

    #[test]
    fn ktap_cases() {
        let c = parse_ktap_case("ok 1 - module is loaded").unwrap();
        assert!(c.ok && c.passed() && c.number == 1 && c.description == "module is loaded");
        let c = parse_ktap_case("not ok 12 - thing # TODO later").unwrap();
        assert!(!c.ok && c.number == 12 && c.description == "thing");
        let c = parse_ktap_case("ok 3 - lua # SKIP no lua").unwrap();
        assert!(c.ok && c.skip && !c.passed());
        let c = parse_ktap_case("ok 4 # SKIP").unwrap();
        assert!(c.skip && c.description.is_empty());
        let c = parse_ktap_case("    ok 7 rust_doctest_kernel_x").unwrap();
        assert_eq!(c.indent, 4);
        assert_eq!(c.description, "rust_doctest_kernel_x");
        assert!(parse_ktap_case("okay 1").is_none());
        assert!(parse_ktap_case("ok x").is_none());
        assert!(parse_ktap_case("ok 1x").is_none());
        assert_eq!(parse_plan("1..6"), Some(6));
    }

    #[test]
    fn suites_are_parsed() {
        let out = "noise\nKC-SUITE basics\n1..3\nok 1 - a\nnot ok 2 - b\nok 3 - c # SKIP x\n\
                   KC-SUITE-END basics 1\nKC-SUITE quiet\nKC-SUITE-END quiet 0\n\
                   KC-SUITE crash\nok 1 - a\nKC-SUITE-END crash 139\nKC-SUITE hang\nok 1 - x\n";
        let s = parse_suites(out);
        assert_eq!(s.len(), 4);
        assert_eq!((s[0].passed(), s[0].failed()), (1, 2));
        assert_eq!(s[1].failed(), 1, "{:?}", s[1]);
        assert_eq!((s[2].passed(), s[2].failed()), (1, 1));
        assert_eq!((s[3].passed(), s[3].failed()), (1, 1));
        let s = parse_suites("KC-SUITE p\n1..3\nok 1 - a\nKC-SUITE-END p 0\n");
        assert_eq!(s[0].failed(), 1);
    }

    #[test]
    fn kunit_cases_are_collected() {
        let con = "[ 1.0] KTAP version 1\n[ 1.0] 1..1\n[ 1.0]     KTAP version 1\n\
                   [ 1.0]     # Subtest: rust_doctests_kernel\n[ 1.0]     1..3\n\
                   [ 1.1]     ok 1 rust_doctest_kernel_a\n[ 1.2]     not ok 2 rust_doctest_kernel_b\n\
                   [ 1.3]     ok 3 rust_doctest_kernel_c\n[ 1.4] # rust_doctests_kernel: pass:2 fail:1\n\
                   [ 1.4] not ok 1 rust_doctests_kernel\n[ 2.0]     ok 9 other\n";
        let r = parse_kunit(con, "rust_doctests_kernel");
        assert_eq!(r.cases.len(), 3);
        assert_eq!(r.cases.iter().filter(|c| c.passed()).count(), 2);
        assert!(parse_kunit("nothing", "rust_doctests_kernel")
            .cases
            .is_empty());
    }

    #[test]
    fn cargo_test_summary() {
        let out = "running 3 tests\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   test result: FAILED. 5 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out\n";
        let s = parse_cargo_test(out);
        assert_eq!(
            (s.passed, s.failed, s.ignored, s.result_lines),
            (8, 2, 1, 2)
        );
    }
}
