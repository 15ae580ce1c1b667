//! Allocation-failure injection (failslab) into every driver operation.
//!
//! `kc-failslab [--random N] [--seed S]`. Needs a kernel with `CONFIG_FAILSLAB` and
//! `CONFIG_FAULT_INJECTION_DEBUG_FS` (the debug flavour); without them every case fails.
//!
//! 1. Systematic: for each operation, fail its 1st slab allocation, then its 2nd, ... (the
//!    per-thread `/proc/thread-self/fail-nth` counter) until it runs with none failed. Each
//!    run must end in success or `ENOMEM` (or the operation's documented error), and leave
//!    the registry as if the operation had either happened or not: a failed `CREATE` leaves
//!    no name, a failed `UNLINK` leaves the name, a failed `OPEN` leaves the handle count.
//! 2. Random: failslab aimed at this task only (`task-filter`, `make-it-fail`) with a
//!    probability, over N random operations; same rules. Leaks and splats are caught by the
//!    runner (kmemleak after the suite).
//!
//! KTAP output; prints how many failures were injected.

use kcompletion_abi::*;
use kcompletion_driver_tests::args;
use kcompletion_driver_tests::rng::Rng;
use kcompletion_driver_tests::sys::*;
use kcompletion_test_harness::ktap::Ktap;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

const FAILSLAB: &str = "/sys/kernel/debug/failslab";
/// This thread's switch for failslab's `task-filter`.
const MAKE_IT_FAIL: &str = "/proc/thread-self/make-it-fail";

fn set(attr: &str, value: &str) -> Result<(), String> {
    fs::write(format!("{FAILSLAB}/{attr}"), value)
        .map_err(|e| format!("{FAILSLAB}/{attr} <- {value}: {e}"))
}

fn get(attr: &str) -> Result<String, String> {
    fs::read_to_string(format!("{FAILSLAB}/{attr}"))
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{FAILSLAB}/{attr}: {e}"))
}

/// This thread's `fail-nth`: write N to fail the Nth slab allocation of this thread from now
/// on; reads back 0 once that failure was injected. The file cannot seek, and a read moves
/// its position, so every read needs a fresh descriptor: the next one is opened while
/// nothing is armed (opening allocates).
struct FailNth {
    writer: fs::File,
    reader: fs::File,
    /// What was armed last (so an operation can pause and re-arm around its own setup).
    armed: u32,
}

const FAIL_NTH: &str = "/proc/thread-self/fail-nth";

impl FailNth {
    fn open() -> Result<Self, String> {
        let open = |write: bool| {
            fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open(FAIL_NTH)
                .map_err(|e| format!("{FAIL_NTH}: {e}"))
        };
        Ok(FailNth {
            writer: open(true)?,
            reader: open(false)?,
            armed: 0,
        })
    }
    fn arm(&mut self, n: u32) {
        if n != 0 {
            self.armed = n;
        }
        self.writer.write_all(n.to_string().as_bytes()).unwrap();
    }
    /// True if the armed failure was injected; disarms in any case.
    fn fired(&mut self) -> bool {
        let mut s = String::new();
        self.reader.read_to_string(&mut s).unwrap();
        let fired = s.trim() == "0";
        self.arm(0);
        self.reader = fs::File::open(FAIL_NTH).unwrap();
        fired
    }
}

/// One operation under injection: runs it, returns its result as an errno (0 = success).
type Op<'a> = Box<dyn FnMut(&mut FailNth) -> (i32, bool) + 'a>;

fn code<T>(r: Res<T>) -> i32 {
    r.map(|_| 0).unwrap_or_else(|e| e)
}

fn run_script(dev: &OwnedFd, name: &str, src: &str) -> i32 {
    let mut err = [0u8; 128];
    let mut r = run_req(name.as_bytes(), src.as_bytes(), &mut err);
    match ioctl(dev, KC_IOC_RUN, &mut r) {
        Ok(_) => 0,
        // A compile that ran out of memory is reported as the Lua error it is.
        Err(libc::ENOEXEC) if String::from_utf8_lossy(&err).contains("not enough memory") => {
            libc::ENOMEM
        }
        Err(e) => e,
    }
}

fn stop_script(dev: &OwnedFd, name: &str) -> i32 {
    let mut kn = kname(name.as_bytes());
    code(ioctl(dev, KC_IOC_STOP, &mut kn))
}

fn scripts(dev: &OwnedFd) -> i32 {
    let mut entries = vec![KcScriptInfo::default(); 4];
    let mut s = KcScripts {
        entries: entries.as_mut_ptr() as u64,
        capacity: entries.len() as u32,
        ..Default::default()
    };
    code(ioctl(dev, KC_IOC_SCRIPTS, &mut s))
}

fn read_proc() -> i32 {
    match fs::read_to_string("/proc/kcompletion") {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
    }
}

fn exists(dev: &OwnedFd, name: &str) -> bool {
    open(dev, name).is_ok()
}

/// An operation that only makes `call`: its result, and whether the failure was injected.
fn plain<'a>(mut call: impl FnMut() -> i32 + 'a) -> Op<'a> {
    Box::new(move |f| {
        let r = call();
        (r, f.fired())
    })
}

/// The first error of a sequence of calls (0 if none failed).
fn first_error(codes: &[i32]) -> i32 {
    codes.iter().copied().find(|&e| e != 0).unwrap_or(0)
}

/// An operation that opens the object of `base` once more with `call` (CREATE or OPEN of its
/// name) and closes that handle again: its result, or `EBADE` if `base` is not back to its one
/// handle afterwards.
fn reopen<'a>(base: &'a OwnedFd, mut call: impl FnMut() -> Res<OwnedFd> + 'a) -> Op<'a> {
    Box::new(move |f| {
        let r = call();
        let fired = f.fired();
        let r = code(r.map(drop));
        let r = match info(base) {
            Ok(i) if i.handles == 1 => r,
            _ => libc::EBADE,
        };
        (r, fired)
    })
}

/// The result of a CREATE or OPEN as an errno, the fd kept in `fds`.
fn keep(fds: &mut Vec<OwnedFd>, r: Res<OwnedFd>) -> i32 {
    match r {
        Ok(fd) => {
            fds.push(fd);
            0
        }
        Err(e) => e,
    }
}

/// `MAP_INFO`, then a read-only `mmap` of the state page, a read of the slot and `munmap`:
/// 0, or the errno of the step that failed (slot and page allocation, the vma, its file).
fn map_state(fd: &OwnedFd) -> i32 {
    match StatePage::map(fd) {
        Ok(page) => {
            std::hint::black_box(page.word(1));
            0
        }
        Err(e) => e,
    }
}

fn main() {
    let mut ktap = Ktap::start();
    let mut random: u64 = 20_000;
    let mut seed: u64 = now_ns(libc::CLOCK_REALTIME) | 1;
    args::parse(
        "kc-failslab [--random N] [--seed S]",
        &mut [("random", &mut random), ("seed", &mut seed)],
    );
    println!("# kc-failslab --random {random} --seed {seed}");
    let setup = (|| {
        set("verbose", "0")?;
        set("ignore-gfp-wait", "N")?;
        set("cache-filter", "N")?;
        set("probability", "0")?;
        set("interval", "1")?;
        set("times", "-1")?;
        set("space", "0")?;
        set("task-filter", "Y")
    })();
    if !ktap.case(
        setup.is_ok(),
        format!("failslab is configurable ({FAILSLAB}): {setup:?}"),
    ) {
        ktap.finish(None);
    }
    let mut nth = match FailNth::open() {
        Ok(f) => f,
        Err(e) => {
            ktap.case(false, e);
            ktap.finish(None);
        }
    };

    let dev = open_dev();
    let base = create(&dev, "fs.base").expect("create fs.base");
    complete(&base).unwrap();
    let empty = create(&dev, "fs.empty").expect("create fs.empty");

    // Systematic.
    let mut total_injected = 0u64;
    let mut results: Vec<(String, Result<String, String>)> = Vec::new();
    {
        // Each operation makes its calls with the failure armed, then disarms (`fired`)
        // before checking what it left, so the checks never meet an injected failure.
        let mut ops: Vec<(&str, Op, &[i32])> = vec![
            (
                "VERSION",
                plain(|| code(ioctl(&dev, KC_IOC_VERSION, &mut KcVersion::default()))),
                &[],
            ),
            (
                "CREATE of a new name",
                Box::new(|f| {
                    let r = create_excl(&dev, "fs.new");
                    let fired = f.fired();
                    let r = code(r.map(drop));
                    // Either it exists now (removed for the next run) or it must not.
                    let there = exists(&dev, "fs.new");
                    let _ = unlink(&dev, "fs.new");
                    (if (r == 0) != there { libc::EBADE } else { r }, fired)
                }),
                &[],
            ),
            (
                "CREATE of an existing name (open)",
                reopen(&base, || create(&dev, "fs.base")),
                &[],
            ),
            ("OPEN", reopen(&base, || open(&dev, "fs.base")), &[]),
            (
                "UNLINK",
                Box::new(|f| {
                    let n = f.armed;
                    f.arm(0);
                    let keep = create(&dev, "fs.gone");
                    f.arm(n);
                    let r = code(unlink(&dev, "fs.gone"));
                    let fired = f.fired();
                    let there = exists(&dev, "fs.gone");
                    let _ = unlink(&dev, "fs.gone");
                    let made = keep.is_ok();
                    drop(keep);
                    // Unlinked, or (on failure) still there: never half-done.
                    (
                        if !made || (r == 0) == there {
                            libc::EBADE
                        } else {
                            r
                        },
                        fired,
                    )
                }),
                &[],
            ),
            ("LIST", plain(|| code(list_all(&dev, 8))), &[]),
            (
                "COMPLETE + TRY_WAIT",
                plain(|| first_error(&[code(complete(&base)), code(try_wait(&base))])),
                &[],
            ),
            (
                "COMPLETE_ALL + DONE + REINIT",
                plain(|| {
                    first_error(&[
                        code(complete_all(&base)),
                        code(done(&base)),
                        code(reinit(&base)),
                        code(complete(&base)),
                    ])
                }),
                &[],
            ),
            (
                "WAIT (taking the pending one) + COMPLETE, WAIT until a deadline",
                plain(|| {
                    first_error(&[
                        code(wait_ms(&base, 1)),
                        code(complete(&base)),
                        match wait_ms(&empty, 1) {
                            Err(libc::ETIMEDOUT) => 0,
                            other => code(other).max(1),
                        },
                    ])
                }),
                &[],
            ),
            ("INFO", plain(|| code(info(&base))), &[]),
            (
                "WAIT_MANY any (taking base's pending one) + COMPLETE, then all",
                plain(|| {
                    let fds = [empty.as_raw_fd(), base.as_raw_fd()];
                    let any = wait_many(&dev, &fds, 0, 0, KC_NO_ALERT);
                    let put_back = match any {
                        Ok(1) => code(complete(&base)),
                        Ok(_) => libc::EBADE,
                        Err(e) => e,
                    };
                    let all = match wait_many(&dev, &fds, KC_WAIT_ALL, 0, KC_NO_ALERT) {
                        Err(libc::ETIMEDOUT) => 0,
                        other => code(other.map(drop)).max(1),
                    };
                    first_error(&[put_back, all])
                }),
                &[],
            ),
            (
                "WAIT_SET any (WAIT takes base's pending one) + COMPLETE, then an all set",
                plain(|| {
                    let fds = [empty.as_raw_fd(), base.as_raw_fd()];
                    let any = match wait_set(&dev, &fds, 0) {
                        Ok(set) => match wait_set_wait(&set, 0) {
                            Ok(1) => code(complete(&base)),
                            Ok(_) => libc::EBADE,
                            Err(e) => e,
                        },
                        Err(e) => e,
                    };
                    let all = match wait_set(&dev, &fds, KC_WAIT_ALL) {
                        Ok(set) => match wait_set_wait(&set, 0) {
                            Err(libc::ETIMEDOUT) => 0,
                            other => code(other.map(drop)).max(1),
                        },
                        Err(e) => e,
                    };
                    first_error(&[any, all])
                }),
                &[],
            ),
            (
                "REVOKE of a new anonymous object, then COMPLETE is EIDRM",
                plain(|| match create_anonymous(&dev) {
                    Ok(fd) => match code(revoke(&fd)) {
                        0 if complete(&fd) == Err(libc::EIDRM) => 0,
                        0 => libc::EBADE,
                        e => e,
                    },
                    Err(e) => e,
                }),
                &[],
            ),
            ("poll", plain(|| i32::from(!readable(&base, 0))), &[]),
            (
                "RUN + STOP of a script",
                Box::new(|f| {
                    let r = run_script(&dev, "fs.script", "local c = require('completion').new('fs.kernel') c:complete() assert(c:wait(1000))");
                    let s = stop_script(&dev, "fs.script");
                    let fired = f.fired();
                    let _ = stop_script(&dev, "fs.script");
                    let _ = unlink(&dev, "fs.kernel");
                    (
                        if r == 0 && s != 0 && s != libc::ENOENT {
                            s
                        } else {
                            r
                        },
                        fired,
                    )
                }),
                &[],
            ),
            ("SCRIPTS", plain(|| scripts(&dev)), &[]),
            ("read /proc/kcompletion", plain(read_proc), &[]),
        ];
        for (what, op, allowed) in ops.iter_mut() {
            let mut injected = 0u64;
            let mut outcome = Ok(String::new());
            let mut enomem = 0;
            for n in 1..=2000u32 {
                nth.arm(n);
                let (r, fired) = op(&mut nth);
                if fired {
                    injected += 1;
                }
                let fine = r == 0 || r == libc::ENOMEM || allowed.contains(&r);
                if !fine || (r == libc::ENOMEM && !fired) {
                    outcome = Err(format!(
                        "failing allocation {n}: {} (injected: {fired})",
                        errname(r)
                    ));
                    break;
                }
                if r == libc::ENOMEM {
                    enomem += 1;
                }
                if !fired {
                    outcome = Ok(format!(
                        "{injected} allocations failed one by one: {enomem} gave ENOMEM, {} still succeeded; then it ran clean",
                        injected - enomem
                    ));
                    break;
                }
                if n == 2000 {
                    outcome = Err("still allocating after 2000 runs".into());
                }
            }
            total_injected += injected;
            results.push((what.to_string(), outcome));
        }
    }
    for (what, outcome) in results {
        let ok = outcome.is_ok();
        let text = match outcome {
            Ok(s) | Err(s) => s,
        };
        ktap.case(ok, format!("{what}: {text}"));
    }
    ktap.case(
        try_wait(&base).is_ok() && try_wait(&base) == Err(libc::EAGAIN),
        "fs.base kept its one pending completion through every injected failure",
    );

    // Random: failslab with a probability, aimed at this thread only.
    let times: i64 = 1_000_000_000;
    // Opened before anything is armed and kept: opening a file allocates (a `struct file`
    // at least), so an open while armed can itself fail, and a disarm that must open first
    // can leave this thread armed and make every later read of the counters fail too. A
    // write through an open descriptor of this file allocates nothing.
    let make_it_fail = fs::OpenOptions::new()
        .write(true)
        .open(MAKE_IT_FAIL)
        .map_err(|e| format!("{MAKE_IT_FAIL}: {e}"));
    let switch = |on: &str| match &make_it_fail {
        Ok(file) => {
            let mut file: &fs::File = file;
            file.write_all(on.as_bytes())
                .map_err(|e| format!("{MAKE_IT_FAIL} <- {on}: {e}"))
        }
        Err(e) => Err(e.clone()),
    };
    let arm = (|| {
        set("probability", "10")?;
        set("times", &times.to_string())?;
        switch("1")
    })();
    let mut rng = Rng::new(seed, 0);
    let mut bad: Vec<String> = Vec::new();
    let mut enomem = 0u64;
    let mut fds: Vec<OwnedFd> = Vec::new();
    if arm.is_ok() {
        for i in 0..random {
            let name = format!("fs.r{}", rng.below(8));
            let (what, r, allowed): (&str, i32, &[i32]) = match rng.below(12) {
                0 => (
                    "create",
                    keep(&mut fds, create(&dev, &name)),
                    &[libc::EMFILE],
                ),
                1 => (
                    "open",
                    keep(&mut fds, open(&dev, &name)),
                    &[libc::ENOENT, libc::EMFILE],
                ),
                2 => ("unlink", code(unlink(&dev, &name)), &[libc::ENOENT]),
                3 => ("list", code(list_all(&dev, 4)), &[]),
                4 if !fds.is_empty() => {
                    let k = rng.below(fds.len() as u64) as usize;
                    drop(fds.swap_remove(k));
                    ("close", 0, &[])
                }
                5 if !fds.is_empty() => {
                    let fd = &fds[rng.below(fds.len() as u64) as usize];
                    (
                        "complete+trywait",
                        code(complete(fd).and_then(|()| try_wait(fd))),
                        &[libc::EAGAIN],
                    )
                }
                6 if !fds.is_empty() => ("info", code(info(&fds[0])), &[]),
                7 if rng.chance(10) => {
                    let r = run_script(&dev, "fs.rs", "return 1");
                    let _ = stop_script(&dev, "fs.rs");
                    ("run", r, &[libc::EEXIST])
                }
                8 => ("scripts", scripts(&dev), &[]),
                9 if !fds.is_empty() => {
                    let fd = &fds[rng.below(fds.len() as u64) as usize];
                    ("map the state page", map_state(fd), &[])
                }
                10 if !fds.is_empty() => {
                    let n = 1 + rng.below(3) as usize;
                    let list: Vec<i32> = (0..n)
                        .map(|_| fds[rng.below(fds.len() as u64) as usize].as_raw_fd())
                        .collect();
                    let flags = if rng.chance(50) { KC_WAIT_ALL } else { 0 };
                    (
                        "wait_many",
                        code(wait_many(&dev, &list, flags, 0, KC_NO_ALERT).map(drop)),
                        &[libc::ETIMEDOUT, libc::EINVAL],
                    )
                }
                _ => ("/proc", read_proc(), &[]),
            };
            if r == libc::ENOMEM {
                enomem += 1;
            } else if r != 0 && !allowed.contains(&r) && bad.len() < 10 {
                bad.push(format!("call {i}: {what}: {}", errname(r)));
            }
        }
    }
    let disarm = switch("0");
    let left = get("times").and_then(|s| {
        s.parse::<i64>()
            .map_err(|e| format!("{FAILSLAB}/times: {s:?}: {e}"))
    });
    let _ = set("probability", "0");
    let _ = set("times", "-1");
    let injected = left.as_ref().map_or(0, |left| times - left);
    ktap.case(
        arm.is_ok() && disarm.is_ok() && left.is_ok() && bad.is_empty() && injected > 0,
        format!(
            "random: {random} operations with failslab at 10% on this task: {injected} allocations failed, {enomem} operations gave ENOMEM, every other result documented {bad:?} (arm {arm:?}, disarm {disarm:?}, counter {left:?})"
        ),
    );
    total_injected += injected.max(0) as u64;

    drop(fds);
    let _ = stop_script(&dev, "fs.rs");
    drop(empty);
    for n in [
        "fs.empty",
        "fs.base",
        "fs.new",
        "fs.gone",
        "fs.gate",
        "fs.kernel",
    ] {
        let _ = unlink(&dev, n);
    }
    for k in 0..8 {
        let _ = unlink(&dev, &format!("fs.r{k}"));
    }
    let left = list_all(&dev, 64).map(|v| v.len());
    ktap.case(left == Ok(0), format!("no object left behind ({left:?})"));
    println!("# {total_injected} allocation failures injected in all");
    ktap.finish(Some(format!(
        "replay: kc-failslab --random {random} --seed {seed}"
    )));
}
