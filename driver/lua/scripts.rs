// SPDX-License-Identifier: GPL-2.0
//! The table of kernel Lua scripts: at most `KC_SCRIPTS_MAX`, by name.
//!
//! `STOP` on a running script stops it (a wait returns `nil, "interrupt"`, the count hook
//! fails every instruction) and leaves it listed with its final state; `STOP` on an ended
//! script reaps it, and so does a later `RUN` of the same name. The module owns the table
//! through [`Running`], whose drop (module exit) stops every script before the registry goes;
//! the device's files reach it through their context.

use super::script::Script;
use super::vm::Vm;
use crate::abi::*;
use crate::name::Name;
use crate::registry::Registry;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::code::{EEXIST, ENOENT, ENOSPC};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Every script, in slots.
struct Slots([Option<Arc<Script>>; KC_SCRIPTS_MAX as usize]);

impl Slots {
    fn find(&self, name: &Name) -> Option<usize> {
        self.0
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name() == name))
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

/// The module's script table: stops every script when dropped (module exit, once no file can
/// reach the table any more).
pub(crate) struct Running(Arc<Scripts>);

impl Running {
    /// An empty table.
    pub(crate) fn new() -> Result<Running> {
        Ok(Running(Arc::pin_init(Scripts::new(), GFP_KERNEL)?))
    }

    /// The table, for the device's files.
    pub(crate) fn scripts(&self) -> Arc<Scripts> {
        self.0.clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.stop_all();
    }
}

impl Scripts {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            slots <- new_mutex!(Slots([const { None }; KC_SCRIPTS_MAX as usize]), "kcompletion_scripts"),
            run_lock <- new_mutex!((), "kcompletion_scripts_run"),
        })
    }

    /// Stops every script and drops them (module exit: no ioctl can run any more).
    fn stop_all(&self) {
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
        // `taken` drops here, with no lock but `run_lock` held: each drop closes a Lua state,
        // whose handles go back to the registry (its mutex only, which never nests the other
        // way).
    }

    pub(super) fn run(
        &self,
        registry: &Arc<Registry>,
        name: Name,
        source: &[u8],
        err: &mut [u8],
    ) -> Result {
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
        let vm = Vm::new(registry.clone(), name.as_bytes(), source, err)?;
        // On failure the initializer, and with it `vm`, is dropped: the state is freed.
        let script = Arc::pin_init(Script::new(name, vm), GFP_KERNEL)?;
        script.start()?;
        self.slots.lock().0[slot] = Some(script);
        Ok(())
    }

    pub(super) fn stop(&self, name: &Name) -> Result {
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

    pub(super) fn list(&self, out: &mut KVec<KcScriptInfo>, max: usize) -> Result<u32> {
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
