// SPDX-License-Identifier: GPL-2.0
//! The file operations: ioctls on `/dev/kcompletion` and on object fds, poll and release.
//!
//! A file of `/dev/kcompletion` reaches the module's registry and scripts through its
//! `private_data`: the [`Device`]'s context, which lives until module exit (open files pin the
//! module). An object fd is an anonymous-inode file whose `private_data` owns one [`Handle`],
//! given back in `release`. Its access (read: wait, try-wait, poll, info; write: complete,
//! complete-all, reinit) is the file's `f_mode`, fixed at open time.

use crate::abi::*;
use crate::compat::{ARef, AsBytes, FromBytes, LocalFile, VmaNew};
use crate::completion::{deadline_from_user, eidrm, Deadline, POLL_ERROR};
use crate::ffi;
use crate::handle::{ForeignSlot, Handle};
use crate::lua::Scripts;
use crate::name::Name;
use crate::object::Object;
use crate::registry::Registry;
use crate::wait_many::{Member, Mode};
use crate::wait_set::WaitSet;
use core::ptr;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code::{EACCES, EAGAIN, EBADF, EINVAL, ENOTTY};
use kernel::error::from_err_ptr;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::sync::Arc;

/// `FMODE_READ` and `FMODE_WRITE` from `<linux/fs.h>` (cast macros bindgen does not export).
const FMODE_READ: u32 = 0x1;
const FMODE_WRITE: u32 = 0x2;

fn read_arg<T: FromBytes>(arg: c_ulong) -> Result<T> {
    crate::compat::user_slice(arg, core::mem::size_of::<T>())
        .reader()
        .read::<T>()
}

fn write_arg<T: AsBytes>(arg: c_ulong, value: &T) -> Result {
    crate::compat::user_slice(arg, core::mem::size_of::<T>())
        .writer()
        .write(value)
}

/// The deadline of a `KC_IOC_WAIT` argument (on an object fd or a wait set's fd): `EINVAL` for
/// unknown flags, a reserved field set or a deadline out of range.
pub(crate) fn read_wait(arg: c_ulong) -> Result<Deadline> {
    let req: KcWait = read_arg(arg)?;
    if req.reserved != 0 || req.flags & !KC_WAIT_REALTIME != 0 {
        return Err(EINVAL);
    }
    deadline_from_user(req.deadline_ns, req.flags != 0)
}

fn into_ret(r: Result<c_long>) -> c_long {
    match r {
        Ok(v) => v,
        Err(e) => e.to_errno() as c_long,
    }
}

/// A new object fd, made before the object it will hold is created or looked up, so that
/// nothing can fail once an object is published or taken: a CREATE that fails leaves no
/// name behind. Dropped without `install`, it is discarded.
struct PreparedFd {
    file: *mut bindings::file,
    fd: c_int,
    slot: Option<ForeignSlot>,
}

impl PreparedFd {
    fn new(read: bool, write: bool) -> Result<Self> {
        let slot = ForeignSlot::new()?;
        let mut file = ptr::null_mut();
        // SAFETY: `file` is a valid place for the new file pointer.
        let fd = unsafe { ffi::kcompletion_obj_file_prepare(read, write, &mut file) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        Ok(PreparedFd {
            file,
            fd,
            slot: Some(slot),
        })
    }

    /// Gives the file `handle` and publishes the fd.
    fn install(mut self, handle: Handle) -> c_long {
        handle.handle_opened();
        let Some(slot) = self.slot.take() else {
            // Never: `slot` is set in `new` and taken only here, which consumes `self`.
            return EINVAL.to_errno() as c_long;
        };
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: The prepared file and fd are ours and not yet installed; the file's
        // `private_data` takes over the handle, which `kcompletion_obj_release` gives back.
        unsafe { ffi::kcompletion_obj_file_install(me.file, me.fd, slot.fill(handle)) };
        me.fd as c_long
    }
}

impl Drop for PreparedFd {
    fn drop(&mut self) {
        // SAFETY: Never installed: the reserved fd and the file (no object yet) are ours.
        unsafe { ffi::kcompletion_obj_file_discard(self.file, self.fd) };
    }
}

/// What the files of `/dev/kcompletion` reach.
pub(crate) struct DeviceContext {
    registry: Arc<Registry>,
    scripts: Arc<Scripts>,
}

fn dev_ioctl(ctx: &DeviceContext, cmd: c_uint, arg: c_ulong) -> Result<c_long> {
    let registry = &ctx.registry;
    match cmd {
        KC_IOC_VERSION => {
            write_arg(
                arg,
                &KcVersion {
                    version: KC_ABI_VERSION,
                    reserved: 0,
                },
            )?;
            Ok(0)
        }
        KC_IOC_CREATE => {
            let req: KcCreate = read_arg(arg)?;
            if req.flags == KC_CREATE_ANONYMOUS {
                if req.name != KcName::default() || req.mode != 0 {
                    return Err(EINVAL);
                }
                let fd = PreparedFd::new(true, true)?;
                return Ok(fd.install(registry.create_anonymous()?));
            }
            if req.mode > 0o777 || req.flags & !KC_CREATE_EXCL != 0 {
                return Err(EINVAL);
            }
            let name = Name::from_user(&req.name)?;
            let fd = PreparedFd::new(true, true)?;
            let (obj, _new) = registry.create(&name, req.mode as u16, req.flags != 0)?;
            Ok(fd.install(obj))
        }
        KC_IOC_OPEN => {
            let req: KcOpen = read_arg(arg)?;
            let known = KC_ACCESS_READ | KC_ACCESS_WRITE;
            if req.reserved != 0 || req.access == 0 || req.access & !known != 0 {
                return Err(EINVAL);
            }
            let name = Name::from_user(&req.name)?;
            let read = req.access & KC_ACCESS_READ != 0;
            let write = req.access & KC_ACCESS_WRITE != 0;
            let fd = PreparedFd::new(read, write)?;
            let obj = registry.open(&name, read, write)?;
            Ok(fd.install(obj))
        }
        KC_IOC_UNLINK => {
            let req: KcName = read_arg(arg)?;
            registry.unlink(&Name::from_user(&req)?)?;
            Ok(0)
        }
        KC_IOC_LIST => list(registry, arg),
        KC_IOC_WAIT_MANY => wait_many(arg),
        KC_IOC_WAIT_SET => wait_set(arg),
        KC_IOC_RUN => crate::lua::ioctl_run(&ctx.scripts, registry, arg),
        KC_IOC_STOP => crate::lua::ioctl_stop(&ctx.scripts, arg),
        KC_IOC_SCRIPTS => crate::lua::ioctl_scripts(&ctx.scripts, arg),
        _ => Err(ENOTTY),
    }
}

/// The object files of a list of `count` fds at user address `fds` (`WAIT_MANY`,
/// `WAIT_SET`): `EINVAL` for a count out of range or an fd that is not an object fd, `EBADF`
/// for one not open or without read access, `EINVAL` for the same object twice when
/// `unique`.
fn object_files(fds: u64, count: u32, unique: bool) -> Result<KVec<OtherObjectFd>> {
    if count == 0 || count > KC_WAIT_MANY_MAX {
        return Err(EINVAL);
    }
    let count = count as usize;
    let mut raw = [0u8; 4 * KC_WAIT_MANY_MAX as usize];
    crate::compat::user_slice(fds as usize, 4 * count)
        .reader()
        .read_slice(&mut raw[..4 * count])?;
    let mut files = KVec::with_capacity(count, GFP_KERNEL)?;
    for fd in raw[..4 * count].chunks_exact(4) {
        let fd = i32::from_ne_bytes([fd[0], fd[1], fd[2], fd[3]]);
        files.push(readable_object(fd)?, GFP_KERNEL)?;
    }
    if unique {
        for (i, a) in files.iter().enumerate() {
            if files[..i].iter().any(|b| ptr::eq(object(a), object(b))) {
                return Err(EINVAL);
            }
        }
    }
    Ok(files)
}

/// The object file of `fd`, which must allow reading (`EBADF`).
fn readable_object(fd: i32) -> Result<OtherObjectFd> {
    let f = OtherObjectFd::get(fd)?;
    if f.object().1 & FMODE_READ == 0 {
        return Err(EBADF);
    }
    Ok(f)
}

fn object(f: &OtherObjectFd) -> &Object {
    f.object().0
}

fn member(f: &OtherObjectFd) -> Member<'_> {
    let obj = object(f);
    Member {
        completion: obj,
        mirror: obj.mirror(),
    }
}

/// `KC_IOC_WAIT_MANY`: checks everything it reads (reserved, flags, count, every fd and its
/// access, duplicates in a wait-all) before it waits; holds each object's file for the call.
fn wait_many(arg: c_ulong) -> Result<c_long> {
    let mut req: KcWaitMany = read_arg(arg)?;
    if req.reserved != 0 || req.flags & !(KC_WAIT_REALTIME | KC_WAIT_ALL) != 0 {
        return Err(EINVAL);
    }
    let mode = wait_mode(req.flags);
    let deadline = deadline_from_user(req.deadline_ns, req.flags & KC_WAIT_REALTIME != 0)?;
    let files = object_files(req.fds, req.count, mode == Mode::All)?;
    let alert = match req.alert_fd {
        KC_NO_ALERT => None,
        fd => Some(readable_object(fd)?),
    };
    let mut members = KVec::with_capacity(files.len(), GFP_KERNEL)?;
    for f in files.iter() {
        members.push(member(f), GFP_KERNEL)?;
    }
    let alert = alert.as_ref().map(member);
    let index = crate::wait_many::wait_many(&members, alert, mode, deadline, || false)?;
    req.index = index as u32;
    write_arg(arg, &req)?;
    Ok(0)
}

fn wait_mode(flags: u32) -> Mode {
    if flags & KC_WAIT_ALL != 0 {
        Mode::All
    } else {
        Mode::Any
    }
}

/// `KC_IOC_WAIT_SET`: checks as `WAIT_MANY` does, then makes the set's fd, which holds a
/// handle on each object.
fn wait_set(arg: c_ulong) -> Result<c_long> {
    let req: KcWaitSet = read_arg(arg)?;
    if req.reserved != 0 || req.flags & !KC_WAIT_ALL != 0 {
        return Err(EINVAL);
    }
    let mode = wait_mode(req.flags);
    let files = object_files(req.fds, req.count, mode == Mode::All)?;
    let mut handles = KVec::with_capacity(files.len(), GFP_KERNEL)?;
    for f in files.iter() {
        handles.push(f.object().0.clone(), GFP_KERNEL)?;
    }
    WaitSet::create(handles, mode)
}

fn list(registry: &Registry, arg: c_ulong) -> Result<c_long> {
    let mut req: KcList = read_arg(arg)?;
    if req.reserved != 0 || req.capacity == 0 || req.capacity > KC_LIST_MAX {
        return Err(EINVAL);
    }
    let mut snaps = KVec::with_capacity(req.capacity as usize, GFP_KERNEL)?;
    let next = registry.list(req.cursor, req.capacity as usize, false, &mut snaps)?;
    let size = core::mem::size_of::<KcInfo>();
    let mut out = crate::compat::user_slice(req.entries as usize, snaps.len() * size).writer();
    for s in snaps.iter() {
        out.write(&KcInfo::from(s))?;
    }
    req.count = snaps.len() as u32;
    req.cursor = next;
    write_arg(arg, &req)?;
    Ok(req.count as c_long)
}

/// # Safety
///
/// `file` must be an object file (its `private_data` owns a [`Handle`]), in one of its
/// operations other than `release`, or one the caller holds a reference on (`fget`) that was
/// reached through an fd.
unsafe fn object_of<'a>(file: *mut bindings::file) -> (&'a Handle, u32) {
    // SAFETY: Per the contract, `private_data` came from `ForeignSlot::fill` and the file keeps
    // that handle until release, which cannot run during one of the file's operations.
    unsafe { (Handle::borrow_foreign((*file).private_data), (*file).f_mode) }
}

/// Another object fd named in an ioctl's argument, held for the length of the call.
struct OtherObjectFd(ARef<LocalFile>);

impl OtherObjectFd {
    /// `EBADF` if `fd` is not open, `EINVAL` if it is not a kcompletion object fd.
    fn get(fd: i32) -> Result<OtherObjectFd> {
        let fd = u32::try_from(fd).map_err(|_| EBADF)?;
        let file = LocalFile::fget(fd)?;
        // SAFETY: `file` is a live file (we hold a reference).
        if !unsafe { ffi::kcompletion_is_object_file(file.as_ptr()) } {
            return Err(EINVAL);
        }
        Ok(OtherObjectFd(file))
    }

    /// Its object and access.
    fn object(&self) -> (&Handle, u32) {
        // SAFETY: An object file, which cannot be released while we hold its reference; an
        // object file reachable through an fd has its handle (installed before the fd is).
        unsafe { object_of(self.0.as_ptr()) }
    }
}

fn obj_ioctl(handle: &Handle, f_mode: u32, cmd: c_uint, arg: c_ulong) -> Result<c_long> {
    let obj: &Object = handle;
    let readable = f_mode & FMODE_READ != 0;
    let writable = f_mode & FMODE_WRITE != 0;
    let need = |ok: bool| if ok { Ok(()) } else { Err(EBADF) };
    match cmd {
        KC_IOC_COMPLETE => {
            need(writable)?;
            obj.complete()?;
            Ok(0)
        }
        KC_IOC_COMPLETE_ALL => {
            need(writable)?;
            obj.complete_all()?;
            Ok(0)
        }
        KC_IOC_REINIT => {
            need(writable)?;
            obj.reinit()?;
            Ok(0)
        }
        KC_IOC_REVOKE => {
            need(writable)?;
            handle.registry().revoke(obj)?;
            Ok(0)
        }
        KC_IOC_WAIT => {
            need(readable)?;
            obj.wait_until(read_wait(arg)?, || false)?;
            Ok(0)
        }
        KC_IOC_COMPLETE_AND_WAIT => {
            need(readable)?;
            let req: KcCompleteAndWait = read_arg(arg)?;
            if req.flags & !(KC_WAIT_REALTIME | KC_COMPLETE_AND_WAIT_ALL) != 0 {
                return Err(EINVAL);
            }
            let deadline = deadline_from_user(req.deadline_ns, req.flags & KC_WAIT_REALTIME != 0)?;
            let other = OtherObjectFd::get(req.complete_fd)?;
            let (first, first_mode) = other.object();
            need(first_mode & FMODE_WRITE != 0)?;
            first.complete_before_wait(req.flags & KC_COMPLETE_AND_WAIT_ALL != 0)?;
            // The other file is not held while this one waits.
            drop(other);
            obj.wait_until(deadline, || false)?;
            Ok(0)
        }
        KC_IOC_TRY_WAIT => {
            need(readable)?;
            if obj.try_wait()? {
                Ok(0)
            } else {
                Err(EAGAIN)
            }
        }
        KC_IOC_DONE => {
            need(readable)?;
            Ok(c_long::from(obj.done()?))
        }
        KC_IOC_INFO => {
            need(readable)?;
            let snapshot = obj.snapshot();
            if snapshot.revoked {
                return Err(eidrm());
            }
            write_arg(arg, &KcInfo::from(&snapshot))?;
            Ok(0)
        }
        KC_IOC_MAP_INFO => {
            need(readable)?;
            if obj.is_revoked() {
                return Err(eidrm());
            }
            let slot = handle.registry().state_slot(obj)?;
            let info = KcMapInfo {
                offset: slot.offset(),
                id: obj.id(),
                slot_size: core::mem::size_of::<KcState>() as u32,
                reserved: 0,
            };
            write_arg(arg, &info)?;
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

/// `unlocked_ioctl` of `/dev/kcompletion` (called from glue.c's file operations).
///
/// # Safety
///
/// Called by the VFS only, for an open file of the misc device (its `private_data` set by
/// `glue.c`'s open to the [`Device`]'s context).
#[no_mangle]
unsafe extern "C" fn kcompletion_dev_ioctl(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: Per the contract, `private_data` is the context of the registered device, which
    // is freed only at module exit, when no file of the module is open.
    let ctx = unsafe { &*(*file).private_data.cast::<DeviceContext>() };
    into_ret(dev_ioctl(ctx, cmd, arg))
}

/// `unlocked_ioctl` of an object fd.
///
/// # Safety
///
/// Called by the VFS only, with `file` an open object fd (its `private_data` set by
/// `PreparedFd::install`).
#[no_mangle]
unsafe extern "C" fn kcompletion_obj_ioctl(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The VFS calls this only for files opened with the object fops.
    let (handle, f_mode) = unsafe { object_of(file) };
    into_ret(obj_ioctl(handle, f_mode, cmd, arg))
}

/// `poll` of an object fd.
///
/// # Safety
///
/// Called by the VFS only, with `file` an open object fd and `pt` this poll call's table.
#[no_mangle]
unsafe extern "C" fn kcompletion_obj_poll(
    file: *mut bindings::file,
    pt: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: The VFS calls this only for files opened with the object fops.
    let (obj, f_mode) = unsafe { object_of(file) };
    if f_mode & FMODE_READ == 0 {
        return POLL_ERROR;
    }
    // SAFETY: `file` and `pt` are this poll call's arguments.
    unsafe { obj.poll(file, pt) }
}

/// `mmap` of an object fd: the object's state page, read-only (`state_pages.rs`). Needs read
/// access on the fd and, for a named object, read permission by the caller's own credentials
/// (a page shows every object of its class): `EACCES`. One page at offset 0 (`EINVAL`), never
/// writable or executable now or later (`EACCES`), not growable by `mremap`.
///
/// # Safety
///
/// Called by the VFS only, with `file` an open object fd and `vma` the new vma being set up
/// for it (its mm's lock held for writing).
#[no_mangle]
unsafe extern "C" fn kcompletion_obj_mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: The VFS calls this only for files opened with the object fops.
    let (handle, f_mode) = unsafe { object_of(file) };
    // SAFETY: `vma` is being set up by this `mmap` call (this function's contract).
    let vma = unsafe { VmaNew::from_raw(vma) };
    match map_state(handle, f_mode, vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

fn map_state(handle: &Handle, f_mode: u32, vma: &VmaNew) -> Result {
    let obj: &Object = handle;
    if f_mode & FMODE_READ == 0 {
        return Err(EACCES);
    }
    if obj.is_revoked() {
        return Err(eidrm());
    }
    // SAFETY: The vma is valid during its setup; `vm_pgoff` is plain data.
    let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
    if pgoff != 0 || vma.end() - vma.start() != kernel::page::PAGE_SIZE {
        return Err(EINVAL);
    }
    if !obj.name_bytes().is_empty() && !obj.permits(true, false) {
        return Err(EACCES);
    }
    vma.try_clear_maywrite().map_err(|_| EACCES)?;
    vma.try_clear_mayexec().map_err(|_| EACCES)?;
    vma.set_dontexpand();
    let mixed = vma.set_mixedmap();
    handle
        .registry()
        .with_state_page(obj, |page| mixed.vm_insert_page(mixed.start(), page))?;
    // The mapping holds a file of its own, not this object fd's: the object can be freed
    // while it is mapped (the slot then reads "gone"), and the module stays loaded.
    // SAFETY: `vma` is in its initial setup (this `mmap` call).
    kernel::error::to_result(unsafe { ffi::kcompletion_vma_own_file(vma.as_ptr()) })
}

/// `release` of an object fd: gives back the file's handle.
///
/// # Safety
///
/// Called by the VFS only, once per object fd (or for a prepared file discarded before it got
/// an object, whose `private_data` is null).
#[no_mangle]
unsafe extern "C" fn kcompletion_obj_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: The file is being released; nothing else uses it.
    let raw = unsafe { (*file).private_data };
    if raw.is_null() {
        // A prepared file discarded before it got an object.
        return 0;
    }
    // SAFETY: The file's handle, given in `PreparedFd::install`, is taken back exactly once.
    let handle = unsafe { Handle::from_foreign(raw) };
    handle.handle_closed();
    drop(handle);
    0
}

/// `/dev/kcompletion` (the misc device of `glue.c`, whose file operations are the ones above),
/// deregistered on drop; its files reach `context`.
pub(crate) struct Device {
    raw: *mut ffi::KcompletionDevice,
    /// Freed after `raw` is deregistered (fields drop after `drop`).
    _context: KBox<DeviceContext>,
}

// SAFETY: `raw` is only used to deregister, which may happen on any thread.
unsafe impl Send for Device {}
// SAFETY: `Device` has no `&self` methods.
unsafe impl Sync for Device {}

impl Device {
    pub(crate) fn register(registry: Arc<Registry>, scripts: Arc<Scripts>) -> Result<Device> {
        let context = KBox::new(DeviceContext { registry, scripts }, GFP_KERNEL)?;
        let ptr = ptr::from_ref::<DeviceContext>(&context).cast();
        // SAFETY: `context` is boxed, so `ptr` stays valid until `drop` frees it, after the
        // device is deregistered; deregistered once, in `drop`.
        let raw = from_err_ptr(unsafe { ffi::kcompletion_misc_register(ptr) })?;
        Ok(Device {
            raw,
            _context: context,
        })
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: Registered (this value exists only then); deregistered once. No file is open
        // (files pin the module), so nothing uses the context once this returns.
        unsafe { ffi::kcompletion_misc_deregister(self.raw) };
    }
}
