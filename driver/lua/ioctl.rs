// SPDX-License-Identifier: GPL-2.0
//! `RUN`, `STOP` and `SCRIPTS` on `/dev/kcompletion`: requests copied in and checked, results
//! copied out.

use super::scripts::Scripts;
use super::vm::c_text;
use crate::abi::*;
use crate::name::Name;
use crate::registry::Registry;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code::{EFAULT, EINVAL, EPERM};
use kernel::ffi::{c_long, c_ulong};
use kernel::prelude::*;
use kernel::sync::Arc;

fn need_admin() -> Result {
    // SAFETY: `capable` may be called from any process context.
    if unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `KC_IOC_RUN`.
pub(crate) fn ioctl_run(
    scripts: &Scripts,
    registry: &Arc<Registry>,
    arg: c_ulong,
) -> Result<c_long> {
    need_admin()?;
    let mut req: KcRun = crate::compat::user_slice(arg, core::mem::size_of::<KcRun>())
        .reader()
        .read()?;
    if req.reserved != 0 || req.source_len > KC_SCRIPT_SOURCE_MAX {
        return Err(EINVAL);
    }
    let name = Name::from_user(&req.name)?;
    let mut source = KVec::with_capacity(req.source_len as usize, GFP_KERNEL)?;
    crate::compat::user_slice(req.source as usize, req.source_len as usize)
        .read_all(&mut source, GFP_KERNEL)?;
    let mut err = KBox::new([0u8; 512], GFP_KERNEL)?;
    let result = scripts.run(registry, name, &source, &mut err[..]);
    let text = c_text(&err[..]);
    req.error_len = text.len() as u32;
    if req.error_size > 0 && !text.is_empty() {
        let n = text.len().min(req.error_size as usize - 1);
        let mut w = crate::compat::user_slice(req.error as usize, n + 1).writer();
        w.write_slice(&text[..n])?;
        w.write_slice(&[0])?;
    }
    crate::compat::user_slice(arg, core::mem::size_of::<KcRun>())
        .writer()
        .write(&req)
        .map_err(|_| EFAULT)?;
    result.map(|()| 0)
}

/// `KC_IOC_STOP`.
pub(crate) fn ioctl_stop(scripts: &Scripts, arg: c_ulong) -> Result<c_long> {
    need_admin()?;
    let req: KcName = crate::compat::user_slice(arg, core::mem::size_of::<KcName>())
        .reader()
        .read()?;
    scripts.stop(&Name::from_user(&req)?)?;
    Ok(0)
}

/// `KC_IOC_SCRIPTS`.
pub(crate) fn ioctl_scripts(scripts: &Scripts, arg: c_ulong) -> Result<c_long> {
    let mut req: KcScripts = crate::compat::user_slice(arg, core::mem::size_of::<KcScripts>())
        .reader()
        .read()?;
    let cap = req.capacity.min(KC_SCRIPTS_MAX) as usize;
    let mut infos = KVec::with_capacity(cap, GFP_KERNEL)?;
    req.count = scripts.list(&mut infos, cap)?;
    let size = core::mem::size_of::<KcScriptInfo>();
    let mut out = crate::compat::user_slice(req.entries as usize, infos.len() * size).writer();
    for i in infos.iter() {
        out.write(i)?;
    }
    crate::compat::user_slice(arg, core::mem::size_of::<KcScripts>())
        .writer()
        .write(&req)?;
    Ok(req.count as c_long)
}
