//! The host part of `cargo xtask test`: `cargo test --workspace`.

use anyhow::{Context, Result};
use std::process::Command;

use crate::guest_output;
use crate::util;

/// `cargo test --workspace`; returns (passed, failed).
pub fn host_tests() -> Result<(usize, usize)> {
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
    let s = guest_output::parse_cargo_test(&text);
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
