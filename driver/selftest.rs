// SPDX-License-Identifier: GPL-2.0
//! Kernel-side API self-test, run at load time with `selftest=1`.
//!
//! 6.12 has no `#[kunit_tests]` for Rust, so the module prints KTAP-style lines
//! (`kcompletion: selftest: ok N - ...`) to the kernel log, and the guest suite
//! `tests/guest/kernel-api.sh` collects them. It exercises [`crate::api`] exactly as
//! other kernel code would: by name, through refcounted handles, waiting with deadlines, and
//! completing from another kernel thread.

use crate::api::{self, Handle};
use crate::handle::ForeignSlot;
use crate::object::{Deadline, WaitError};
use crate::registry::Registry;
use kernel::bindings;
use kernel::error::code::{EEXIST, EINVAL, ENOENT};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

struct Harness {
    n: u32,
    failed: u32,
}

impl Harness {
    fn case(&mut self, desc: &str, f: impl FnOnce() -> core::result::Result<(), &'static str>) {
        self.n += 1;
        match f() {
            Ok(()) => pr_info!("selftest: ok {} - {}\n", self.n, desc),
            Err(why) => {
                self.failed += 1;
                pr_info!("selftest: not ok {} - {}\n", self.n, desc);
                pr_info!("selftest: # {}\n", why);
            }
        }
    }
}

fn now_ns() -> i64 {
    // SAFETY: `ktime_get` may be called from any context once timekeeping is up.
    unsafe { bindings::ktime_get() }
}

fn is<T>(r: Result<T>, e: Error) -> bool {
    matches!(r, Err(x) if x.to_errno() == e.to_errno())
}

/// Kernel thread body: sleeps 30 ms, then completes the object it was given.
///
/// # Safety
///
/// Only `kthread_run` calls it, with `data` from `ForeignSlot::fill`, whose handle this
/// function takes over.
unsafe extern "C" fn completer(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the handle handed over by `complete_from_thread`.
    let obj = unsafe { Handle::from_foreign(data) };
    // SAFETY: Sleeping is fine in a kernel thread.
    unsafe { bindings::msleep(30) };
    let _ = obj.complete();
    0
}

/// Starts a kernel thread that completes `obj` after 30 ms; returns it (with a reference
/// held) so the caller can `kthread_stop_put` it.
fn complete_from_thread(obj: &Handle) -> Option<*mut bindings::task_struct> {
    let raw = ForeignSlot::new().ok()?.fill(obj.clone());
    // SAFETY: `completer` matches the kthread function signature; the format string is a
    // NUL-terminated literal without conversions.
    let task = unsafe {
        bindings::kthread_create_on_node(
            Some(completer),
            raw.cast_mut().cast(),
            bindings::NUMA_NO_NODE,
            kernel::c_str!("kcompletion-selftest").as_char_ptr(),
        )
    };
    if task.is_null() || (task as usize) >= (-4095isize) as usize {
        // SAFETY: The thread was not created, so the handle is still ours.
        drop(unsafe { Handle::from_foreign(raw) });
        return None;
    }
    // SAFETY: `task` is a valid new kthread; the extra reference lets us stop it even after
    // its function returned.
    unsafe {
        bindings::get_task_struct(task);
        bindings::wake_up_process(task);
    }
    Some(task)
}

/// Runs every case; returns the number of failures.
pub(crate) fn run(reg: &Arc<Registry>) -> u32 {
    let mut h = Harness { n: 0, failed: 0 };
    pr_info!("selftest: KTAP version 1\n");

    h.case(
        "api::create makes a named object; EXCL on it gives EEXIST",
        || {
            let a = api::create(reg, b"kst.create", 0o600, true).map_err(|_| "create")?;
            if !is(api::create(reg, b"kst.create", 0o600, true), EEXIST) {
                return Err("second exclusive create did not fail with EEXIST");
            }
            let b = api::create(reg, b"kst.create", 0o600, false).map_err(|_| "open-or-create")?;
            if a.id() != b.id() || a.name_bytes() != b"kst.create" {
                return Err("open-or-create returned another object");
            }
            api::unlink(reg, b"kst.create").map_err(|_| "unlink")
        },
    );

    h.case("api rejects bad names and modes", || {
        if !is(api::create(reg, b"", 0o600, false), EINVAL)
            || !is(api::create(reg, b"a b", 0o600, false), EINVAL)
            || !is(api::create(reg, b"x\x80", 0o600, false), EINVAL)
            || !is(api::create(reg, b"kst.mode", 0o1000, false), EINVAL)
        {
            return Err("a bad name or mode was accepted");
        }
        let long = [b'x'; 64];
        match api::create(reg, &long, 0o600, false) {
            Err(e) if e.to_errno() == -(bindings::ENAMETOOLONG as i32) => Ok(()),
            _ => Err("64-byte name not ENAMETOOLONG"),
        }
    });

    h.case("complete/try_wait count like struct completion", || {
        let c = api::create(reg, b"kst.count", 0o600, true).map_err(|_| "create")?;
        c.complete().map_err(|_| "complete")?;
        c.complete().map_err(|_| "complete")?;
        let ok = (c.done() == Ok(true))
            && (c.try_wait() == Ok(true))
            && (c.try_wait() == Ok(true))
            && (c.try_wait() == Ok(false))
            && (c.done() == Ok(false));
        api::unlink(reg, b"kst.count").map_err(|_| "unlink")?;
        if ok {
            Ok(())
        } else {
            Err("counts wrong")
        }
    });

    h.case("complete_all lets every wait through until reinit", || {
        let c = api::create(reg, b"kst.all", 0o600, true).map_err(|_| "create")?;
        c.complete_all().map_err(|_| "complete_all")?;
        for _ in 0..10 {
            c.wait_until(Deadline::Never, || false)
                .map_err(|_| "wait after complete_all")?;
        }
        c.reinit().map_err(|_| "reinit")?;
        let ok = (c.done() == Ok(false)) && (c.try_wait() == Ok(false));
        api::unlink(reg, b"kst.all").map_err(|_| "unlink")?;
        if ok {
            Ok(())
        } else {
            Err("reinit left it done")
        }
    });

    h.case(
        "a 20 ms monotonic deadline times out no earlier than 20 ms",
        || {
            let c = api::create(reg, b"kst.deadline", 0o600, true).map_err(|_| "create")?;
            let start = now_ns();
            let r = c.wait_until(Deadline::Monotonic(start + 20_000_000), || false);
            let elapsed = now_ns() - start;
            api::unlink(reg, b"kst.deadline").map_err(|_| "unlink")?;
            if r != Err(WaitError::TimedOut) {
                return Err("did not time out");
            }
            if elapsed < 20_000_000 {
                return Err("timed out early");
            }
            Ok(())
        },
    );

    h.case(
        "the interrupted check stops a wait (kernel-thread stop path)",
        || {
            let c = api::create(reg, b"kst.intr", 0o600, true).map_err(|_| "create")?;
            let r = c.wait_until(Deadline::Never, || true);
            api::unlink(reg, b"kst.intr").map_err(|_| "unlink")?;
            if r == Err(WaitError::Interrupted) && (c.done() == Ok(false)) {
                Ok(())
            } else {
                Err("not interrupted")
            }
        },
    );

    h.case(
        "a wait is woken by a complete from another kernel thread",
        || {
            let c = api::create(reg, b"kst.thread", 0o600, true).map_err(|_| "create")?;
            let task = complete_from_thread(&c).ok_or("kthread_create failed")?;
            let start = now_ns();
            let r = c.wait_until(Deadline::Monotonic(start + 5_000_000_000), || false);
            // SAFETY: We hold a reference on `task` from `complete_from_thread`.
            unsafe { bindings::kthread_stop_put(task) };
            api::unlink(reg, b"kst.thread").map_err(|_| "unlink")?;
            if r.is_ok() {
                Ok(())
            } else {
                Err("wait did not see the completion")
            }
        },
    );

    h.case(
        "unlink frees the name; handles keep working; open then fails",
        || {
            let c = api::create(reg, b"kst.unlink", 0o600, true).map_err(|_| "create")?;
            api::unlink(reg, b"kst.unlink").map_err(|_| "unlink")?;
            if !is(api::open(reg, b"kst.unlink"), ENOENT)
                || !is(api::unlink(reg, b"kst.unlink"), ENOENT)
            {
                return Err("name still there");
            }
            c.complete().map_err(|_| "complete")?;
            if c.try_wait() == Ok(false) {
                return Err("handle stopped working");
            }
            let again = api::create(reg, b"kst.unlink", 0o600, true).map_err(|_| "re-create")?;
            let fresh = again.id() != c.id() && (again.done() == Ok(false));
            api::unlink(reg, b"kst.unlink").map_err(|_| "unlink again")?;
            if fresh {
                Ok(())
            } else {
                Err("re-created name reached the old object")
            }
        },
    );

    h.case(
        "a kernel handle and a userspace-visible name share one object",
        || {
            let k = api::create(reg, b"kst.shared", 0o666, true).map_err(|_| "create")?;
            let o = api::open(reg, b"kst.shared").map_err(|_| "open")?;
            o.complete().map_err(|_| "complete")?;
            let ok = k.try_wait() == Ok(true);
            api::unlink(reg, b"kst.shared").map_err(|_| "unlink")?;
            if ok {
                Ok(())
            } else {
                Err("completion not shared")
            }
        },
    );

    h.case(
        "complete_and_wait completes one handle, then waits on another (a kernel thread answers)",
        || {
            let a = api::create(reg, b"kst.caw.a", 0o600, true).map_err(|_| "create a")?;
            let b = api::create(reg, b"kst.caw.b", 0o600, true).map_err(|_| "create b")?;
            // A past deadline only tries: nothing to take yet, but `a` is completed anyway.
            let tried = a.complete_and_wait(false, &b, Deadline::Monotonic(0), || false);
            let kept = a.try_wait() == Ok(true);
            let task = complete_from_thread(&b).ok_or("kthread_create failed")?;
            let deadline = Deadline::Monotonic(now_ns() + 5_000_000_000);
            let answered = a.complete_and_wait(false, &b, deadline, || false);
            // SAFETY: We hold a reference on `task` from `complete_from_thread`.
            unsafe { bindings::kthread_stop_put(task) };
            let left = ((a.try_wait() == Ok(true)), (b.done() == Ok(true)));
            api::unlink(reg, b"kst.caw.a").map_err(|_| "unlink a")?;
            api::unlink(reg, b"kst.caw.b").map_err(|_| "unlink b")?;
            if tried != Err(WaitError::TimedOut) || !kept {
                return Err("a timed-out complete_and_wait did not keep its completion");
            }
            if answered.is_err() || left != (true, false) {
                return Err("the answer was not consumed, or the completion not made");
            }
            Ok(())
        },
    );

    pr_info!("selftest: 1..{}\n", h.n);
    h.failed
}
