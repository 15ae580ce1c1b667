//! The object's state page (ABI.md, "State pages"): its [`KcState`] slot mapped read-only, so
//! that [`Completion::is_done`](crate::Completion::is_done) and a failing
//! [`Completion::try_wait`](crate::Completion::try_wait) cost no system call.
//!
//! Mapped on first use; where that fails (a driver without state pages, a write-only handle,
//! a handle passed from a process allowed more than this one) the handle keeps using the
//! ioctls. The slot stays this object's while the handle lives (the handle keeps the object,
//! and its slot, alive), so reads need not check its `id`.

use kcompletion_abi::raw;
use kcompletion_abi::{KcMapInfo, KcState, KC_STATE_REVOKED};
use rustix::fd::BorrowedFd;
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::sys::ioctl;

/// A mapped state page and this object's slot in it (unmapped on drop).
pub struct StateMap {
    page: *mut c_void,
    len: usize,
    slot: *const [AtomicU32; 4],
    id: u32,
}

/// A [`StateMap`] as plain data, for a holder that cannot run destructors (a Lua userdata):
/// [`StateMap::into_raw`], [`RawStateMap::done`], and [`StateMap::from_raw`] to unmap.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawStateMap {
    page: *mut c_void,
    len: usize,
    slot: *const [AtomicU32; 4],
    id: u32,
}

impl RawStateMap {
    /// No mapping.
    pub const NONE: RawStateMap = RawStateMap {
        page: std::ptr::null_mut(),
        len: 0,
        slot: std::ptr::null(),
        id: 0,
    };

    /// Whether this is a mapping.
    pub fn is_mapped(&self) -> bool {
        !self.page.is_null()
    }

    /// As [`StateMap::done`]; `None` for [`RawStateMap::NONE`].
    #[inline]
    ///
    /// # Safety
    ///
    /// `self` came from [`StateMap::into_raw`] and was not given to [`StateMap::from_raw`].
    pub unsafe fn done(&self) -> Option<u32> {
        if self.slot.is_null() {
            return None;
        }
        // SAFETY: Per the contract the slot is inside a live mapping.
        read_live_done(unsafe { &*self.slot })
    }
}

// SAFETY: The mapping is read-only shared memory that the kernel updates; reading it through
// atomics is safe from any thread, and `Drop` unmaps it once.
unsafe impl Send for StateMap {}
// SAFETY: See `Send`: every access is an atomic load.
unsafe impl Sync for StateMap {}

impl StateMap {
    /// Maps the state page of the object `fd` refers to, or `None` if the driver does not
    /// give it (see the module's comment).
    pub fn map(fd: BorrowedFd<'_>) -> Option<StateMap> {
        let mut info = KcMapInfo::default();
        ioctl::<raw::MapInfo>(fd, &mut info).ok()?;
        let len = rustix::param::page_size();
        let slot_size = std::mem::size_of::<KcState>();
        if info.slot_size as usize != slot_size || info.offset as usize + slot_size > len {
            return None;
        }
        // SAFETY: A new shared read-only mapping of the driver's page; no existing memory is
        // touched.
        let page = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .ok()?;
        // SAFETY: `offset + 16 <= len`, inside the mapping; `KcState` is four `u32`s, 16-byte
        // aligned at a multiple of 16 in a page.
        let slot = unsafe { page.cast::<u8>().add(info.offset as usize) }.cast::<[AtomicU32; 4]>();
        Some(StateMap {
            page,
            len,
            slot,
            id: info.id,
        })
    }

    /// `done` as the slot shows it now.
    #[inline]
    pub fn done(&self) -> u32 {
        // SAFETY: The slot is inside the mapping, which lives as long as `self`.
        read_done(unsafe { &*self.slot })
    }

    /// `done` as the slot shows it now, or `None` once the object is revoked (its `done`
    /// reads 0 then, but an operation must fail: ask the driver, which says `EIDRM`).
    #[inline]
    pub fn live_done(&self) -> Option<u32> {
        // SAFETY: As in `done`.
        read_live_done(unsafe { &*self.slot })
    }

    /// The mapping as plain data; it stays mapped until given back to [`StateMap::from_raw`].
    pub fn into_raw(self) -> RawStateMap {
        let me = std::mem::ManuallyDrop::new(self);
        RawStateMap {
            page: me.page,
            len: me.len,
            slot: me.slot,
            id: me.id,
        }
    }

    /// Takes back a mapping from [`StateMap::into_raw`] (to unmap it by dropping).
    ///
    /// # Safety
    ///
    /// `raw` came from [`StateMap::into_raw`], is mapped ([`RawStateMap::is_mapped`]), and
    /// is given back once.
    pub unsafe fn from_raw(raw: RawStateMap) -> StateMap {
        StateMap {
            page: raw.page,
            len: raw.len,
            slot: raw.slot,
            id: raw.id,
        }
    }
}

/// `done` of the reader's own slot: one acquire load. A lone `done` needs no seqcount retry
/// (ABI.md), and a slot cannot change owner while a handle holds its object alive (the slot
/// is freed with the object), so `id` needs no check here.
#[inline]
fn read_done(slot: &[AtomicU32; 4]) -> u32 {
    slot[1].load(Ordering::Acquire)
}

/// As [`read_done`], `None` if the object was revoked. Revoking sets `done` to 0 and the flag
/// in one change, so only a 0 needs the flags read.
#[inline]
fn read_live_done(slot: &[AtomicU32; 4]) -> Option<u32> {
    let done = read_done(slot);
    if done == 0 && slot[3].load(Ordering::Acquire) & KC_STATE_REVOKED != 0 {
        return None;
    }
    Some(done)
}

impl Drop for StateMap {
    fn drop(&mut self) {
        // SAFETY: `page`/`len` are the mapping made in `map`, unmapped only here.
        let _ = unsafe { munmap(self.page, self.len) };
    }
}

/// How long [`Completion::wait`](crate::Completion::wait) may spin on the state page before it
/// sleeps in `WAIT` (nanoseconds; `u64::MAX`: not read from the environment yet).
static SPIN_MAX_NS: AtomicU64 = AtomicU64::new(u64::MAX);

/// The default longest spin of a wait on a machine with two CPUs or more: 20 µs, about two
/// round trips between vCPUs in the bench guest. Measured there (P1, 2 vCPUs): a round trip
/// across vCPUs takes 0.27x to 0.28x as long as without the spin; one on a single vCPU 1.03x
/// to 1.04x (the spins that find nothing decay to a probe every 128 waits).
pub const DEFAULT_WAIT_SPIN: Duration = Duration::from_micros(20);

/// The longest spin of a wait: [`set_wait_spin`], else `KCOMPLETION_SPIN_NS` from the
/// environment, else [`DEFAULT_WAIT_SPIN`]; and 0 when this process may run on one CPU only
/// (its affinity when first asked: the peer cannot run while this one spins).
pub fn wait_spin() -> Duration {
    let mut ns = SPIN_MAX_NS.load(Ordering::Relaxed);
    if ns == u64::MAX {
        ns = std::env::var("KCOMPLETION_SPIN_NS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_WAIT_SPIN.as_nanos() as u64);
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            ns = 0;
        }
        SPIN_MAX_NS.store(ns, Ordering::Relaxed);
    }
    Duration::from_nanos(ns)
}

/// Sets the longest spin of every wait in this process (0: never spin).
pub fn set_wait_spin(max: Duration) {
    SPIN_MAX_NS.store(
        max.as_nanos().min(u64::MAX as u128 - 1) as u64,
        Ordering::Relaxed,
    );
}

/// A handle's adaptive spin: its budget halves after a spin that found nothing (a peer on the
/// same CPU, or a slow one) or found it only after overrunning its budget (descheduled while
/// the peer ran), and doubles, up to [`wait_spin`], after one that found it in time.
pub(crate) struct Spin {
    budget_ns: AtomicU64,
    /// Waits that did not spin since the budget decayed below [`SPIN_MIN_NS`].
    skipped: AtomicU64,
}

impl Spin {
    pub(crate) const fn new() -> Spin {
        Spin {
            budget_ns: AtomicU64::new(u64::MAX),
            skipped: AtomicU64::new(0),
        }
    }

    /// Spins on `map` until it shows a completion (true) or the budget is spent (false).
    pub(crate) fn spin(&self, map: &StateMap) -> bool {
        let max = wait_spin().as_nanos() as u64;
        if max == 0 {
            return false;
        }
        // Already there: no spin was needed, and it says nothing of whether spinning pays
        // (counted as a success, it kept the budget high for waits that find nothing: on one
        // CPU a peer that answers before this side waits makes every other wait such a hit).
        if map.done() != 0 {
            return true;
        }
        let budget = self.budget_ns.load(Ordering::Relaxed).min(max);
        if budget < SPIN_MIN_NS {
            // Decayed: every 128th wait spins the minimum, so a peer that became fast (or
            // moved to another CPU) is found again.
            if !self
                .skipped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(128)
            {
                return false;
            }
        }
        let budget = budget.max(SPIN_MIN_NS);
        let start = crate::monotonic_now_ns();
        loop {
            for _ in 0..32 {
                if map.done() != 0 {
                    // Found within the budget: spinning paid, spin longer next time. Found
                    // only after it (this thread was descheduled mid-spin, e.g. by the peer
                    // it waits for, on the same CPU): the spin did not find it; the peer ran
                    // while we were off the CPU, so spin less.
                    let took = crate::monotonic_now_ns() - start;
                    let next = if took <= budget {
                        budget * 2
                    } else {
                        budget / 2
                    };
                    self.budget_ns.store(next.min(max), Ordering::Relaxed);
                    return true;
                }
                std::hint::spin_loop();
            }
            if crate::monotonic_now_ns() - start >= budget {
                self.budget_ns.store(budget / 2, Ordering::Relaxed);
                return false;
            }
        }
    }
}

/// The shortest spin worth starting (below, the budget has decayed).
const SPIN_MIN_NS: u64 = 500;
