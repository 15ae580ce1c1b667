//! The cases of `kc-driver-tests`, one file a topic, and what they share: the [`Suite`] that
//! runs and reports each case, `check!`, [`expect_err`], [`ok`], and helpers to reload the
//! module, act as another user and read /proc/kcompletion.

use kcompletion_driver_tests::os;
use kcompletion_driver_tests::sys::{errname, Res};
use kcompletion_test_harness::ktap::Ktap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a case found: nothing, or why it failed.
pub type Outcome = Result<(), String>;

/// Fails the case with the message unless `cond` holds.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

pub mod copyout;
pub mod counting;
pub mod create_open;
pub mod hand_off;
pub mod invalid;
pub mod kill;
pub mod listing;
pub mod permissions;
pub mod poll;
pub mod quotas;
pub mod state_page;
pub mod unload;
pub mod wait;
pub mod wait_many;

/// `res` must fail with `want`.
pub fn expect_err<T>(what: &str, res: Res<T>, want: i32) -> Outcome {
    match res {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: got {}, want {}",
            errname(e),
            errname(want)
        )),
        Ok(_) => Err(format!("{what}: succeeded, want {}", errname(want))),
    }
}

pub fn ok<T>(what: &str, res: Res<T>) -> Result<T, String> {
    res.map_err(|e| format!("{what}: {}", errname(e)))
}

/// Runs the cases and reports them in KTAP; only those whose description contains
/// `$KC_TESTS` when that is set (for debugging).
pub struct Suite {
    ktap: Ktap,
}

impl Suite {
    /// Prints the KTAP header.
    pub fn start() -> Self {
        Suite {
            ktap: Ktap::start().only(std::env::var("KC_TESTS").ok()),
        }
    }

    pub fn case(&mut self, desc: &str, f: impl FnOnce() -> Outcome) {
        if !self.ktap.selected(desc) {
            return;
        }
        let r = catch_unwind(AssertUnwindSafe(f))
            .unwrap_or_else(|p| Err(format!("panicked: {:?}", p.downcast_ref::<String>())));
        self.ktap.case(r.is_ok(), desc);
        if let Err(why) = r {
            self.ktap.diag(why);
        }
    }

    /// Prints the plan and the totals, and exits with the verdict.
    pub fn finish(self) -> ! {
        self.ktap.finish_with_totals()
    }
}

/// The first case: the waiter and kill cases race across CPUs.
pub fn cpus(s: &mut Suite) {
    s.case(
        "at least 2 CPUs online (the waiter and kill cases race across them)",
        || {
            let n = kcompletion_driver_tests::cpus::online();
            check!(n >= 2, "{n} CPU online");
            Ok(())
        },
    );
}

pub fn module_path() -> String {
    std::env::var("KC_MODULE").unwrap_or_else(|_| "/lib/modules/kcompletion.ko".into())
}

pub fn sh(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub fn reload(params: &[&str]) -> Outcome {
    sh("rmmod", &["kcompletion"])?;
    let ko = module_path();
    let mut args = vec![ko.as_str()];
    args.extend_from_slice(params);
    sh("insmod", &args)
}

/// Runs `f` in a child process with the given uid/gid; Ok if it returned Ok.
pub fn as_user(uid: u32, gid: u32, f: impl FnOnce() -> Outcome) -> Outcome {
    // SAFETY: The suite is single-threaded whenever it forks (threads are joined first).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: Plain credential syscalls in the child.
        let code = unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                3
            } else {
                match f() {
                    Ok(()) => 0,
                    Err(why) => {
                        println!("# as uid {uid}: {why}");
                        1
                    }
                }
            }
        };
        // SAFETY: Leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let (_, status) = os::reap(pid);
    check!(
        os::exited_ok(status),
        "child as uid {uid} failed (status {status:#x})"
    );
    Ok(())
}

pub fn proc_lines() -> Vec<String> {
    std::fs::read_to_string("/proc/kcompletion")
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}
