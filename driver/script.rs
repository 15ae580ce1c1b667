// SPDX-License-Identifier: GPL-2.0
//! Kernel Lua scripts: `RUN`, `STOP` and `SCRIPTS` on `/dev/kcompletion`.
//!
//! `RUN` compiles the source in the caller's context (so a syntax error comes back as text)
//! into a Lua state of its own (`driver/lua/kclua_vm.c`, capped allocator), then starts a
//! kernel thread named after the script that runs it. The thread records how the script
//! ended (finished, or failed with its error text), closes the Lua state and returns.
//!
//! Lifetime: the thread borrows its [`Script`] (the `data` pointer of `kthread_create`),
//! and every path that drops the table's reference first collects the thread with
//! `kthread_stop`, which returns only once the thread is gone; the table keeps a task
//! reference so that collecting an already-ended thread is valid. `STOP` on a running
//! script stops it (a wait returns `nil, "interrupt"`, the count hook fails every
//! instruction) and leaves it listed with its final state; `STOP` on an ended script
//! reaps it, and so does a later `RUN` of the same name. Module exit stops every script
//! before the registry goes.

use crate::abi::*;
use crate::name::Name;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code::{EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, EPERM};
use kernel::ffi::{c_char, c_int, c_long, c_ulong, c_void};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::types::{AsBytes, FromBytes};
use kernel::uaccess::UserSlice;

// SAFETY: `#[repr(C)]` structs of integers and byte arrays with explicit padding, so every
// bit pattern is valid and no byte is uninitialised.
unsafe impl FromBytes for KcRun {}
// SAFETY: See above.
unsafe impl AsBytes for KcRun {}
// SAFETY: See above.
unsafe impl FromBytes for KcScripts {}
// SAFETY: See above.
unsafe impl AsBytes for KcScripts {}
// SAFETY: See above.
unsafe impl AsBytes for KcScriptInfo {}

/// A Lua state of `kclua_vm.c` (opaque here).
#[repr(C)]
struct KcluaVm {
    _opaque: [u8; 0],
}

extern "C" {
    fn kclua_vm_new(
        name: *const u8,
        name_len: usize,
        source: *const u8,
        source_len: usize,
        err: *mut u8,
        errlen: usize,
        errcode: *mut c_int,
    ) -> *mut KcluaVm;
    fn kclua_vm_run(vm: *mut KcluaVm, err: *mut u8, errlen: usize) -> c_int;
    fn kclua_vm_close(vm: *mut KcluaVm);
    fn kclua_vm_free(vm: *mut KcluaVm);
    fn kclua_vm_memory(vm: *const KcluaVm) -> usize;
}

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

/// The bytes of a NUL-terminated buffer before the NUL.
fn c_text(buf: &[u8]) -> &[u8] {
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    &buf[..n]
}

/// The kernel thread of a script, with a task reference (null once collected).
struct Thread(*mut bindings::task_struct);

/// One script.
#[pin_data(PinnedDrop)]
pub(crate) struct Script {
    name: Name,
    vm: *mut KcluaVm,
    state: AtomicU32,
    #[pin]
    error: Mutex<ErrorText>,
    #[pin]
    thread: Mutex<Thread>,
}

// SAFETY: `vm` is used by the script's thread only (and by `Drop`, after that thread is
// gone), except for `kclua_vm_memory`, an atomic read; `thread` is guarded by its mutex.
unsafe impl Send for Script {}
// SAFETY: See `Send`.
unsafe impl Sync for Script {}

impl Script {
    fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    fn fail(&self, text: &[u8]) {
        self.error.lock().set(text);
        self.state.store(KC_SCRIPT_FAILED, Ordering::Release);
    }

    /// Asks the thread to stop and waits until it is gone (at once if it already ended).
    /// Only the first caller does it; later ones return at once.
    fn collect_thread(&self) {
        let task = core::mem::replace(&mut self.thread.lock().0, ptr::null_mut());
        if task.is_null() {
            return;
        }
        // SAFETY: `task` is the script's kthread and we own a reference to it (taken at
        // creation), so it is valid even if the thread already ended. No lock is held.
        unsafe {
            bindings::kthread_stop(task);
            bindings::put_task_struct(task);
        }
        if self.state() == KC_SCRIPT_RUNNING {
            // kthread_stop came before the thread ever ran the script: close its Lua state
            // now (the thread would have), so that it is listed with no memory.
            // SAFETY: The thread is gone and never touched `vm`; only the first caller of
            // `collect_thread` gets here, and `kclua_vm_free` skips a closed state.
            unsafe { kclua_vm_close(self.vm) };
            self.fail(b"stopped before it started");
        }
    }

    fn info(&self) -> KcScriptInfo {
        let mut info = KcScriptInfo {
            name_len: self.name.as_bytes().len() as u32,
            state: self.state(),
            // SAFETY: `vm` lives as long as the script; this is an atomic read.
            memory: unsafe { kclua_vm_memory(self.vm) } as u64,
            ..Default::default()
        };
        info.name[..self.name.as_bytes().len()].copy_from_slice(self.name.as_bytes());
        let e = self.error.lock();
        info.error_len = e.len as u32;
        info.error[..e.len].copy_from_slice(&e.bytes[..e.len]);
        info
    }
}

#[pinned_drop]
impl PinnedDrop for Script {
    fn drop(self: Pin<&mut Self>) {
        // The thread is gone (collected before the last reference went), so the Lua state
        // is ours; closing it gives back the completion references it still held.
        // SAFETY: `vm` came from `kclua_vm_new` and nothing else uses it any more.
        unsafe { kclua_vm_free(self.vm) };
    }
}

/// The thread function: runs the script, records how it ended, closes its Lua state.
unsafe extern "C" fn script_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the script, kept alive until `kthread_stop` on this thread returned
    // (module docs).
    let script = unsafe { &*data.cast::<Script>() };
    let mut err = [0u8; KC_SCRIPT_ERROR_MAX + 1];
    // SAFETY: This thread is the only user of `vm` while it runs; `err` is writable.
    let rc = unsafe { kclua_vm_run(script.vm, err.as_mut_ptr(), err.len()) };
    // SAFETY: As above; the state is closed once, here (`kclua_vm_free` skips it then).
    unsafe { kclua_vm_close(script.vm) };
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

/// Every script, in slots.
struct Slots([Option<Arc<Script>>; KC_SCRIPTS_MAX as usize]);

impl Slots {
    fn find(&self, name: &Name) -> Option<usize> {
        self.0
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name == *name))
    }
}

/// The scripts of the loaded module.
#[pin_data]
pub(crate) struct Scripts {
    #[pin]
    slots: Mutex<Slots>,
    /// Serialises `RUN`s (a name check, a compile and a thread start each).
    #[pin]
    run_lock: Mutex<()>,
}

static SCRIPTS: AtomicPtr<Scripts> = AtomicPtr::new(ptr::null_mut());

fn scripts() -> Result<&'static Scripts> {
    let p = SCRIPTS.load(Ordering::Acquire);
    if p.is_null() {
        return Err(ENOENT);
    }
    // SAFETY: `SCRIPTS` points at the pinned table from `publish` until `unpublish`, and the
    // ioctls that call this hold a file of the module, which unpublishes only at exit.
    Ok(unsafe { &*p })
}

impl Scripts {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            slots <- new_mutex!(Slots([const { None }; KC_SCRIPTS_MAX as usize]), "kcompletion_scripts"),
            run_lock <- new_mutex!((), "kcompletion_scripts_run"),
        })
    }

    /// Publishes `self` for the ioctls.
    ///
    /// # Safety
    ///
    /// `self` must stay pinned and alive until [`Self::unpublish`].
    pub(crate) unsafe fn publish(&self) {
        SCRIPTS.store(ptr::from_ref(self).cast_mut(), Ordering::Release);
    }

    /// Stops every script and drops them (module exit: no ioctl can run any more).
    pub(crate) fn unpublish(&self) {
        SCRIPTS.store(ptr::null_mut(), Ordering::Release);
        let _run = self.run_lock.lock();
        let mut taken: [Option<Arc<Script>>; KC_SCRIPTS_MAX as usize] =
            [const { None }; KC_SCRIPTS_MAX as usize];
        {
            let mut slots = self.slots.lock();
            for (t, s) in taken.iter_mut().zip(slots.0.iter_mut()) {
                *t = s.take();
            }
        }
        for s in taken.iter().flatten() {
            s.collect_thread();
        }
        // `taken` drops here, with no lock but `run_lock` held: each drop closes a Lua state
        // (registry mutex only, which never nests the other way).
    }

    fn run(&self, name: Name, source: &[u8], err: &mut [u8]) -> Result {
        let _run = self.run_lock.lock();
        let (slot, old) = {
            let mut slots = self.slots.lock();
            match slots.find(&name) {
                Some(i) => {
                    if slots.0[i]
                        .as_ref()
                        .is_some_and(|s| s.state() == KC_SCRIPT_RUNNING)
                    {
                        return Err(EEXIST);
                    }
                    (i, slots.0[i].take())
                }
                None => (
                    slots.0.iter().position(|s| s.is_none()).ok_or(ENOSPC)?,
                    None,
                ),
            }
        };
        // Reap the ended script of the same name (its thread may still be collectable).
        if let Some(old) = old {
            old.collect_thread();
            drop(old);
        }
        let mut errcode: c_int = 0;
        // SAFETY: `name` and `source` are valid for their lengths; `err` is writable.
        let vm = unsafe {
            kclua_vm_new(
                name.as_bytes().as_ptr(),
                name.as_bytes().len(),
                source.as_ptr(),
                source.len(),
                err.as_mut_ptr(),
                err.len(),
                &mut errcode,
            )
        };
        if vm.is_null() {
            return Err(if errcode < 0 {
                Error::from_errno(errcode)
            } else {
                ENOMEM
            });
        }
        let script = match Arc::pin_init(
            pin_init!(Script {
                name,
                vm,
                state: AtomicU32::new(KC_SCRIPT_RUNNING),
                error <- new_mutex!(ErrorText { len: 0, bytes: [0; KC_SCRIPT_ERROR_MAX] }, "kcompletion_script_error"),
                thread <- new_mutex!(Thread(ptr::null_mut()), "kcompletion_script_thread"),
            }),
            GFP_KERNEL,
        ) {
            Ok(s) => s,
            Err(e) => {
                // SAFETY: `vm` is ours; no thread uses it.
                unsafe { kclua_vm_free(vm) };
                return Err(e);
            }
        };
        let mut comm = [0u8; KC_NAME_MAX + 1];
        comm[..name.as_bytes().len()].copy_from_slice(name.as_bytes());
        // SAFETY: `script_thread` matches the kthread signature; `data` is the script, which
        // outlives the thread (module docs); the name is a NUL-terminated "%s" argument.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(script_thread),
                ptr::from_ref::<Script>(&script).cast_mut().cast(),
                bindings::NUMA_NO_NODE,
                c"%s".as_ptr().cast::<c_char>(),
                comm.as_ptr().cast::<c_char>(),
            )
        };
        if (task as usize) >= (-4095isize) as usize {
            return Err(Error::from_errno(task as isize as c_int));
        }
        // SAFETY: `task` is a new, not yet woken kthread; the reference we take is given
        // back in `collect_thread`.
        unsafe { bindings::get_task_struct(task) };
        script.thread.lock().0 = task;
        self.slots.lock().0[slot] = Some(script);
        // SAFETY: `task` is valid (we hold a reference).
        unsafe { bindings::wake_up_process(task) };
        Ok(())
    }

    fn stop(&self, name: &Name) -> Result {
        let script = {
            let slots = self.slots.lock();
            let i = slots.find(name).ok_or(ENOENT)?;
            slots.0[i].clone().ok_or(ENOENT)?
        };
        if script.state() == KC_SCRIPT_RUNNING {
            script.collect_thread();
            return Ok(());
        }
        // Ended: reap it (if it is still the listed one).
        let removed = {
            let mut slots = self.slots.lock();
            match slots.find(name) {
                Some(i) if slots.0[i].as_ref().is_some_and(|s| Arc::ptr_eq(s, &script)) => {
                    slots.0[i].take()
                }
                _ => None,
            }
        };
        script.collect_thread();
        drop(removed);
        drop(script);
        Ok(())
    }

    fn list(&self, out: &mut KVec<KcScriptInfo>, max: usize) -> Result<u32> {
        let slots = self.slots.lock();
        let mut count = 0;
        for s in slots.0.iter().flatten() {
            count += 1;
            if out.len() < max {
                out.push(s.info(), GFP_KERNEL)?;
            }
        }
        Ok(count)
    }
}

fn need_admin() -> Result {
    // SAFETY: `capable` may be called from any process context.
    if unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `KC_IOC_RUN`.
pub(crate) fn ioctl_run(arg: c_ulong) -> Result<c_long> {
    need_admin()?;
    let mut req: KcRun = UserSlice::new(arg as usize, core::mem::size_of::<KcRun>())
        .reader()
        .read()?;
    if req.reserved != 0 || req.source_len > KC_SCRIPT_SOURCE_MAX {
        return Err(EINVAL);
    }
    let name = Name::from_user(&req.name)?;
    let mut source = KVec::with_capacity(req.source_len as usize, GFP_KERNEL)?;
    UserSlice::new(req.source as usize, req.source_len as usize)
        .read_all(&mut source, GFP_KERNEL)?;
    let mut err = KBox::new([0u8; 512], GFP_KERNEL)?;
    let result = scripts()?.run(name, &source, &mut err[..]);
    let text = c_text(&err[..]);
    req.error_len = text.len() as u32;
    if req.error_size > 0 && !text.is_empty() {
        let n = text.len().min(req.error_size as usize - 1);
        let mut w = UserSlice::new(req.error as usize, n + 1).writer();
        w.write_slice(&text[..n])?;
        w.write_slice(&[0])?;
    }
    UserSlice::new(arg as usize, core::mem::size_of::<KcRun>())
        .writer()
        .write(&req)
        .map_err(|_| EFAULT)?;
    result.map(|()| 0)
}

/// `KC_IOC_STOP`.
pub(crate) fn ioctl_stop(arg: c_ulong) -> Result<c_long> {
    need_admin()?;
    let req: KcName = UserSlice::new(arg as usize, core::mem::size_of::<KcName>())
        .reader()
        .read()?;
    scripts()?.stop(&Name::from_user(&req)?)?;
    Ok(0)
}

/// `KC_IOC_SCRIPTS`.
pub(crate) fn ioctl_scripts(arg: c_ulong) -> Result<c_long> {
    let mut req: KcScripts = UserSlice::new(arg as usize, core::mem::size_of::<KcScripts>())
        .reader()
        .read()?;
    let cap = req.capacity.min(KC_SCRIPTS_MAX) as usize;
    let mut infos = KVec::with_capacity(cap, GFP_KERNEL)?;
    req.count = scripts()?.list(&mut infos, cap)?;
    let size = core::mem::size_of::<KcScriptInfo>();
    let mut out = UserSlice::new(req.entries as usize, infos.len() * size).writer();
    for i in infos.iter() {
        out.write(i)?;
    }
    UserSlice::new(arg as usize, core::mem::size_of::<KcScripts>())
        .writer()
        .write(&req)?;
    Ok(req.count as c_long)
}
