// SPDX-License-Identifier: GPL-2.0
//! One kernel Lua script: its compiled Lua state, its kernel thread and how it ended.
//!
//! `RUN` compiles the source in the caller's context (so a syntax error comes back as text)
//! into a Lua state of its own ([`Vm`], capped allocator), then starts a kernel thread named
//! after the script that runs it. The thread records how the script ended (finished, or
//! failed with its error text), closes the Lua state and returns.
//!
//! Lifetime: the thread borrows its [`Script`] (the `data` pointer of `kthread_create`),
//! and every path that drops the table's reference first collects the thread with
//! `kthread_stop` ([`Script::collect_thread`]), which returns only once the thread is gone;
//! the script keeps a task reference so that collecting an already-ended thread is valid.

use super::vm::{c_text, Vm};
use crate::abi::*;
use crate::compat::ARef;
use crate::name::Name;
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::ffi::{c_char, c_int, c_void};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::task::Task;

/// Error text of a script, cut to what `SCRIPTS` reports.
struct ErrorText {
    len: usize,
    bytes: [u8; KC_SCRIPT_ERROR_MAX],
}

impl ErrorText {
    fn set(&mut self, text: &[u8]) {
        let n = text.len().min(KC_SCRIPT_ERROR_MAX);
        self.bytes[..n].copy_from_slice(&text[..n]);
        self.bytes[n..].fill(0);
        self.len = n;
    }
}

/// The kernel thread of a script, with a task reference (none until started and once
/// collected).
struct Thread(Option<ARef<Task>>);

/// One script.
#[pin_data]
pub(super) struct Script {
    name: Name,
    vm: Vm,
    state: AtomicU32,
    #[pin]
    error: Mutex<ErrorText>,
    #[pin]
    thread: Mutex<Thread>,
}

// SAFETY: `vm` is run and closed by the script's thread only (and by `collect_thread` when
// that thread never ran), see `Vm`'s contracts; `thread` and `error` are guarded by their
// mutexes; the rest is immutable or atomic.
unsafe impl Send for Script {}
// SAFETY: See `Send`.
unsafe impl Sync for Script {}

impl Script {
    /// A script of the compiled `vm`, not started yet.
    pub(super) fn new(name: Name, vm: Vm) -> impl PinInit<Self> {
        pin_init!(Script {
            name,
            vm,
            state: AtomicU32::new(KC_SCRIPT_RUNNING),
            error <- new_mutex!(ErrorText { len: 0, bytes: [0; KC_SCRIPT_ERROR_MAX] }, "kcompletion_script_error"),
            thread <- new_mutex!(Thread(None), "kcompletion_script_thread"),
        })
    }

    pub(super) fn name(&self) -> &Name {
        &self.name
    }

    pub(super) fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    fn fail(&self, text: &[u8]) {
        self.error.lock().set(text);
        self.state.store(KC_SCRIPT_FAILED, Ordering::Release);
    }

    /// Starts the script's kernel thread, named after the script. The caller keeps `self`
    /// (the table's reference) until [`Self::collect_thread`] has returned.
    pub(super) fn start(self: &Arc<Self>) -> Result {
        let mut comm = [0u8; KC_NAME_MAX + 1];
        comm[..self.name.as_bytes().len()].copy_from_slice(self.name.as_bytes());
        // SAFETY: `script_thread` matches the kthread signature; `data` is the script, which
        // outlives the thread (module docs); the name is a NUL-terminated "%s" argument.
        let task = from_err_ptr(unsafe {
            bindings::kthread_create_on_node(
                Some(script_thread),
                ptr::from_ref::<Script>(self).cast_mut().cast(),
                bindings::NUMA_NO_NODE,
                kernel::c_str!("%s").as_char_ptr(),
                comm.as_ptr().cast::<c_char>(),
            )
        })?;
        // SAFETY: `task` is a new, not yet woken kthread, valid until it is woken and exits;
        // `Task` is a transparent wrapper of `task_struct`. `ARef::from` takes our own
        // reference (given back when `collect_thread` drops it), so the task stays valid.
        let task: ARef<Task> = unsafe { &*task.cast::<Task>() }.into();
        self.thread.lock().0.insert(task).wake_up();
        Ok(())
    }

    /// Asks the thread to stop and waits until it is gone (at once if it already ended).
    /// Only the first caller does it; later ones return at once.
    pub(super) fn collect_thread(&self) {
        let Some(task) = self.thread.lock().0.take() else {
            return;
        };
        // SAFETY: `task` is the script's kthread and we own a reference to it, so it is valid
        // even if the thread already ended. No lock is held. Dropping `task` afterwards gives
        // the reference back.
        unsafe { bindings::kthread_stop(ptr::from_ref::<Task>(&task).cast_mut().cast()) };
        drop(task);
        if self.state() == KC_SCRIPT_RUNNING {
            // kthread_stop came before the thread ever ran the script: close its Lua state
            // now (the thread would have), so that it is listed with no memory.
            // SAFETY: The thread is gone and never touched `vm`; only the first caller of
            // `collect_thread` gets here.
            unsafe { self.vm.close() };
            self.fail(b"stopped before it started");
        }
    }

    pub(super) fn info(&self) -> KcScriptInfo {
        let mut info = KcScriptInfo {
            name_len: self.name.as_bytes().len() as u32,
            state: self.state(),
            memory: self.vm.memory() as u64,
            ..Default::default()
        };
        info.name[..self.name.as_bytes().len()].copy_from_slice(self.name.as_bytes());
        let e = self.error.lock();
        info.error_len = e.len as u32;
        info.error[..e.len].copy_from_slice(&e.bytes[..e.len]);
        info
    }
}

/// The thread function: runs the script, records how it ended, closes its Lua state.
///
/// # Safety
///
/// Only `kthread_create` calls it, with `data` a `Script` that outlives the thread (it is
/// dropped only after `kthread_stop` on this thread returned).
unsafe extern "C" fn script_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the script, kept alive until `kthread_stop` on this thread returned
    // (module docs).
    let script = unsafe { &*data.cast::<Script>() };
    let mut err = [0u8; KC_SCRIPT_ERROR_MAX + 1];
    // SAFETY: This thread is the only user of `vm` while it runs (`collect_thread` closes it
    // only after `kthread_stop` returned).
    let rc = unsafe { script.vm.run(&mut err) };
    // SAFETY: As above; the state is closed once, here.
    unsafe { script.vm.close() };
    if rc == 0 {
        script.state.store(KC_SCRIPT_FINISHED, Ordering::Release);
    } else {
        let text = c_text(&err);
        pr_info!(
            "script {} failed: {}\n",
            core::str::from_utf8(script.name.as_bytes()).unwrap_or("?"),
            core::str::from_utf8(text).unwrap_or("(not UTF-8)")
        );
        script.fail(text);
    }
    0
}
