//! What the cases share: their type, `ensure!`, [`ok`] and [`fails`], unique names that are
//! unlinked afterwards, polling, and running a command as `kcuser`.

pub use kcompletion::{Access, Completion, Deadline, ErrorKind, Info, Options};
pub use std::process::{Command, Output, Stdio};
pub use std::time::{Duration, Instant, SystemTime};

pub type R = Result<(), String>;

/// A test case: its KTAP description and its function.
pub type Case = (&'static str, fn() -> R);

/// Fails the case unless the condition holds, naming the line and the condition.
macro_rules! ensure {
    ($c:expr) => {
        if !$c {
            return Err(format!("line {}: {}", line!(), stringify!($c)));
        }
    };
    ($c:expr, $($a:tt)+) => {
        if !$c {
            return Err(format!("line {}: {}: {}", line!(), stringify!($c), format!($($a)+)));
        }
    };
}
pub(crate) use ensure;

/// `Ok(value)` or the error's message.
pub fn ok<T>(r: kcompletion::Result<T>) -> Result<T, String> {
    r.map_err(|e| {
        format!(
            "unexpected error: {e} (kind {:?}, errno {:?})",
            e.kind(),
            e.raw_os_error()
        )
    })
}

/// Checks that `r` failed with `kind` (and `errno`, if given).
pub fn fails<T: std::fmt::Debug>(
    r: kcompletion::Result<T>,
    kind: ErrorKind,
    errno: Option<i32>,
) -> R {
    match r {
        Ok(v) => Err(format!("expected {kind:?}, got Ok({v:?})")),
        Err(e) if e.kind() == kind && (errno.is_none() || e.raw_os_error() == errno) => Ok(()),
        Err(e) => Err(format!(
            "expected {kind:?} ({errno:?}), got {:?} ({:?}): {e}",
            e.kind(),
            e.raw_os_error()
        )),
    }
}

/// A name unique to this run.
pub fn name(tag: &str) -> String {
    format!("ut{}-{tag}", std::process::id())
}

/// Unlinks its name when dropped (ignoring errors).
pub struct Cleanup(pub Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = kcompletion::unlink(n);
        }
    }
}

pub fn cleanup(names: &[&str]) -> Cleanup {
    Cleanup(names.iter().map(|s| s.to_string()).collect())
}

/// Polls `f` every 5 ms for up to `ms` milliseconds.
pub fn wait_for(ms: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn waiters(c: &Completion) -> u32 {
    c.info().map(|i| i.waiters).unwrap_or(u32::MAX)
}

pub fn create(n: &str) -> Result<Completion, String> {
    ok(Completion::create(n, &Options::new().exclusive(true)))
}

/// A new object of its own for a case: its name (from `tag`), the guard that unlinks it, and
/// the handle from an exclusive create.
pub fn object(tag: &str) -> Result<(String, Cleanup, Completion), String> {
    let n = name(tag);
    let g = cleanup(&[&n]);
    let c = create(&n)?;
    Ok((n, g, c))
}

/// `n` threads that each wait on a clone of `c`, at most `timeout`.
pub fn spawn_waiters(
    c: &Completion,
    n: usize,
    timeout: Duration,
) -> Vec<std::thread::JoinHandle<kcompletion::Result<()>>> {
    (0..n)
        .map(|_| {
            let c2 = c.try_clone().unwrap();
            std::thread::spawn(move || c2.wait(Some(timeout)))
        })
        .collect()
}

/// Runs `cmd` with `sh` as `kcuser` (uid 1000).
pub fn su_kcuser(cmd: &str) -> Result<Output, String> {
    Command::new("su")
        .args(["-s", "/bin/sh", "kcuser", "-c", cmd])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run su: {e}"))
}
