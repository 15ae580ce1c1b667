//! Small helpers: paths, running commands with logs and progress.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// Cache root: `$KCOMPLETION_CACHE` or `~/.cache/kcompletion`.
pub fn cache_root() -> PathBuf {
    match std::env::var_os("KCOMPLETION_CACHE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => home().join(".cache/kcompletion"),
    }
}

/// Repository root (parent of the xtask crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// `target/` of the workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target"),
    }
}

/// The cargo that runs us (or `cargo`).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

pub fn stage(tag: &str, msg: &str) {
    eprintln!("[{tag}] {msg}");
}

pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Render a command for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(d) = cmd.get_current_dir() {
        s.push_str(&format!("(cd {} && ", d.display()));
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&crate::shell::shell_quote(&a.to_string_lossy()));
    }
    if cmd.get_current_dir().is_some() {
        s.push(')');
    }
    s
}

/// Run a command with inherited stdio; fail on non-zero exit.
pub fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let st = cmd
        .status()
        .with_context(|| format!("{what}: cannot run {}", describe(cmd)))?;
    if !st.success() {
        bail!("{what} failed ({st}): {}", describe(cmd));
    }
    Ok(())
}

/// Run a command and return its stdout; fail on non-zero exit.
pub fn cmd_output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {}", describe(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run a command with stdout and stderr appended to `log`, printing a
/// progress line every 30 s. On failure prints the last 40 lines of the log
/// and the command.
pub fn run_logged(cmd: &mut Command, log: &Path, tag: &str, what: &str) -> Result<Duration> {
    let f = open_creating_dir(log, File::options().create(true).append(true))?;
    cmd.stdout(f.try_clone()?).stderr(f).stdin(Stdio::null());
    let start = Instant::now();
    stage(tag, &format!("{what} (log: {})", log.display()));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", describe(cmd)))?;
    let mut next = Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
        if start.elapsed() >= next {
            stage(
                tag,
                &format!(
                    "{what} (log: {}) … {} elapsed",
                    log.display(),
                    fmt_duration(start.elapsed())
                ),
            );
            next += Duration::from_secs(30);
        }
    };
    let took = start.elapsed();
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        eprintln!(
            "----- last 40 lines of {} -----\n{}\n-----",
            log.display(),
            tail_lines(&text, 40)
        );
        bail!(
            "[{tag}] {what} failed ({status}) after {}: {}",
            fmt_duration(took),
            describe(cmd)
        );
    }
    stage(tag, &format!("{what}: done in {}", fmt_duration(took)));
    Ok(took)
}

/// Remove make's jobserver variables inherited from cargo, so kbuild runs
/// with its own `-j`.
pub fn clean_make_env(cmd: &mut Command) {
    for v in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS"] {
        cmd.env_remove(v);
    }
}

pub fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

pub fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Take an exclusive lock on `path` (created if needed), waiting for other
/// xtask runs that hold it. The lock is released when the file is dropped.
pub fn lock(path: &Path, tag: &str) -> Result<File> {
    let f = open_creating_dir(
        path,
        File::options().create(true).truncate(false).write(true),
    )?;
    match f.try_lock() {
        Ok(()) => return Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            stage(
                tag,
                &format!(
                    "waiting for another cargo xtask run (lock {})",
                    path.display()
                ),
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("lock {}", path.display()))
        }
    }
    f.lock()
        .with_context(|| format!("lock {}", path.display()))?;
    Ok(f)
}

/// Open `path` with `opts`, creating its folder first.
fn open_creating_dir(path: &Path, opts: &std::fs::OpenOptions) -> Result<File> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    opts.open(path)
        .with_context(|| format!("open {}", path.display()))
}
