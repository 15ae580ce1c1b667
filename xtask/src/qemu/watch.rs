//! One boot of a non-interactive guest: QEMU with the console on a pipe and the job's
//! stdout and stderr on two more serial ports (files), watched for the userspace and exit
//! markers, splats, hangs and timeouts; KVM failures are reported for the fallback.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::accel::base_cmd;
use super::{find_splats, run_dir, Accel, BootOptions, BootResult, Echo, Hardware};
use crate::guest_output;
use crate::kernel::Kernel;
use crate::util;

/// A writer that prefixes every line and writes whole lines to stderr.
struct Prefixer {
    prefix: &'static str,
    buf: Vec<u8>,
}

impl Write for Prefixer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line);
            eprint!("{}{}", self.prefix, text.trim_end_matches(['\n', '\r']));
            eprintln!();
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Prefixer {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            eprintln!("{}{}", self.prefix, String::from_utf8_lossy(&self.buf));
        }
    }
}

type Sink = Box<dyn Write + Send>;

/// Follows a file that QEMU writes, copying new bytes to a sink.
fn tail_file(
    path: PathBuf,
    done: Arc<AtomicBool>,
    activity: Arc<AtomicU64>,
    start: Instant,
    mut sink: Option<Sink>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut f = None;
        let mut buf = [0u8; 8192];
        loop {
            let finished = done.load(Ordering::SeqCst);
            if f.is_none() {
                f = std::fs::File::open(&path).ok();
            }
            let mut got = 0;
            if let Some(file) = f.as_mut() {
                got = file.read(&mut buf).unwrap_or(0);
                if got > 0 {
                    all.extend_from_slice(&buf[..got]);
                    activity.store(start.elapsed().as_millis() as u64, Ordering::SeqCst);
                    if let Some(s) = sink.as_mut() {
                        let _ = s.write_all(&buf[..got]);
                        let _ = s.flush();
                    }
                }
            }
            if got == 0 {
                if finished {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        all
    })
}

enum Msg {
    Console(String),
    Stderr(String),
    ConsoleEof,
}

pub(super) fn boot_once(
    kernel: &Kernel,
    opts: &BootOptions,
    accel: Accel,
    hw: &Hardware,
) -> Result<BootResult> {
    let tag = format!("guest {}", opts.name);
    let dir = run_dir(&opts.name)?;
    let console_log = dir.join("console.log");
    let out_path = dir.join("stdout.log");
    let err_path = dir.join("stderr.log");
    for p in [&out_path, &err_path] {
        std::fs::write(p, b"")?;
    }
    let mut c = base_cmd(kernel, &opts.initrd, accel, opts.kunit, hw);
    c.args(["-monitor", "none", "-serial", "stdio"]);
    c.arg("-serial").arg(format!("file:{}", out_path.display()));
    c.arg("-serial").arg(format!("file:{}", err_path.display()));
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    util::stage(
        &tag,
        &format!(
            "booting {} with accelerator {} (console log: {})",
            kernel.bzimage.display(),
            accel.name(),
            console_log.display()
        ),
    );
    let start = Instant::now();
    let mut child: Child = c.spawn().context("run qemu-system-x86_64")?;

    let (tx, rx) = mpsc::channel::<Msg>();
    let stdout = child.stdout.take().unwrap();
    let tx1 = tx.clone();
    let console_reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let s = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    if tx1.send(Msg::Console(s)).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx1.send(Msg::ConsoleEof);
    });
    let stderr = child.stderr.take().unwrap();
    let tx2 = tx;
    let stderr_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(l) = line else { break };
            if tx2.send(Msg::Stderr(l)).is_err() {
                break;
            }
        }
    });

    let done = Arc::new(AtomicBool::new(false));
    let activity = Arc::new(AtomicU64::new(0));
    let (out_sink, err_sink): (Option<Sink>, Option<Sink>) = match opts.echo {
        Echo::Raw => (
            Some(Box::new(std::io::stdout())),
            Some(Box::new(std::io::stderr())),
        ),
        Echo::Prefixed => (
            Some(Box::new(Prefixer {
                prefix: "  | ",
                buf: Vec::new(),
            })),
            Some(Box::new(Prefixer {
                prefix: "  |2 ",
                buf: Vec::new(),
            })),
        ),
        Echo::Lane(n) => (
            Some(Box::new(crate::lanes::Progress::new(
                n,
                crate::lanes::load_times(),
            ))),
            None,
        ),
        Echo::Quiet => (None, None),
    };
    let out_tail = tail_file(
        out_path.clone(),
        done.clone(),
        activity.clone(),
        start,
        out_sink,
    );
    let err_tail = tail_file(
        err_path.clone(),
        done.clone(),
        activity.clone(),
        start,
        err_sink,
    );

    let mut log = std::fs::File::create(&console_log)?;
    let mut console_text = String::new();
    let mut qemu_err = String::new();
    let mut failure = None;
    let mut kvm_failed = false;
    let mut userspace = false;
    let mut exit_status: Option<i32> = None;
    let mut last_console = Instant::now();
    let mut next_progress = Duration::from_secs(30);
    let marker_deadline = match accel {
        Accel::Kvm => Duration::from_secs(60),
        Accel::Tcg | Accel::TcgIcount => opts.total_timeout,
    };
    let mut console_eof = false;
    let mut console_lines = 0usize;
    let mut quiet_until = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Console(l)) => {
                last_console = Instant::now();
                let _ = writeln!(log, "{l}");
                let t = guest_output::strip_printk_time(&l);
                if t.trim() == "KC-USERSPACE-START" {
                    userspace = true;
                    util::stage(
                        &tag,
                        &format!("userspace up after {}", util::fmt_duration(start.elapsed())),
                    );
                }
                if let Some(s) = t.trim().strip_prefix("KC-EXIT ") {
                    exit_status = s.trim().parse().ok();
                }
                console_lines += 1;
                if let Some(p) = guest_output::splat_pattern(&l) {
                    // one live line per splat (its report follows at the end)
                    if console_lines >= quiet_until {
                        util::stage(
                            &tag,
                            &format!("kernel splat on console ({p}): {}", l.trim()),
                        );
                    }
                    quiet_until = console_lines + 25;
                }
                console_text.push_str(&l);
                console_text.push('\n');
            }
            Ok(Msg::Stderr(l)) => {
                let _ = writeln!(log, "QEMU: {l}");
                if accel == Accel::Kvm
                    && (l.contains("KVM internal error")
                        || l.contains("emulation failure")
                        || l.contains("failed to set MSR"))
                {
                    kvm_failed = true;
                }
                qemu_err.push_str(&l);
                qemu_err.push('\n');
            }
            Ok(Msg::ConsoleEof) => console_eof = true,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => console_eof = true,
        }
        if console_eof {
            break;
        }
        let elapsed = start.elapsed();
        let idle_job =
            elapsed.saturating_sub(Duration::from_millis(activity.load(Ordering::SeqCst)));
        let idle = last_console.elapsed().min(idle_job);
        if kvm_failed {
            failure = Some("KVM failed (QEMU error output)".into());
            break;
        }
        if !userspace && accel == Accel::Kvm && elapsed > marker_deadline {
            kvm_failed = true;
            failure = Some(format!(
                "no userspace marker within {}s under KVM",
                marker_deadline.as_secs()
            ));
            break;
        }
        if idle > opts.idle_timeout {
            failure = Some(format!("guest hung: no output for {}s", idle.as_secs()));
            break;
        }
        if elapsed > opts.total_timeout {
            failure = Some(format!("guest timed out after {}s", elapsed.as_secs()));
            break;
        }
        // A `Lane` guest has its own per-suite progress lines (lanes::Progress).
        if elapsed >= next_progress && !matches!(opts.echo, Echo::Lane(_)) {
            util::stage(
                &tag,
                &format!("running … {} elapsed", util::fmt_duration(elapsed)),
            );
            next_progress += Duration::from_secs(30);
        }
    }
    // Stop QEMU if it is still running, then collect everything.
    if child.try_wait()?.is_none() {
        if failure.is_some() {
            let _ = child.kill();
        } else {
            // console closed: QEMU is exiting
            let t = Instant::now();
            while child.try_wait()?.is_none() && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
    }
    let status = child.wait()?;
    let _ = console_reader.join();
    let _ = stderr_reader.join();
    for m in rx.try_iter() {
        match m {
            Msg::Console(l) => {
                let _ = writeln!(log, "{l}");
                console_text.push_str(&l);
                console_text.push('\n');
            }
            Msg::Stderr(l) => {
                qemu_err.push_str(&l);
                qemu_err.push('\n');
            }
            Msg::ConsoleEof => {}
        }
    }
    done.store(true, Ordering::SeqCst);
    let stdout = String::from_utf8_lossy(&out_tail.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_tail.join().unwrap_or_default()).into_owned();
    if accel == Accel::Kvm && !userspace {
        kvm_failed = true;
    }
    if failure.is_none() && exit_status.is_none() {
        failure = Some(format!(
            "guest stopped before finishing its job (QEMU {status}){}",
            if qemu_err.trim().is_empty() {
                String::new()
            } else {
                format!("; QEMU said: {}", qemu_err.trim())
            }
        ));
    }
    let duration = start.elapsed();
    util::stage(
        &tag,
        &format!(
            "guest finished in {} (accelerator {}, job status {})",
            util::fmt_duration(duration),
            accel.name(),
            exit_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "none".into())
        ),
    );
    let splats = find_splats(&console_text);
    Ok(BootResult {
        accel,
        console: console_text,
        stdout,
        stderr,
        exit_status,
        userspace_started: userspace,
        splats,
        failure,
        console_log,
        duration,
        kvm_failed,
    })
}
