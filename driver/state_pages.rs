// SPDX-License-Identifier: GPL-2.0
//! State pages: kernel pages of [`KcState`] slots that object fds map read-only
//! (`KC_IOC_MAP_INFO`, `mmap`), so that userspace reads `done` without a system call.
//!
//! An object gets a slot the first time it is mapped (or asked for its slot); from then on
//! every change of its state is written to the slot under the object's lock (the completion's
//! `Locked` guard publishes `done` as it unlocks; `set_linked` the flags). When the object
//! is freed its slot reads `id == 0`, [`KC_STATE_GONE`], and may go to a later object, whose
//! own id then tells old readers the slot is no longer theirs. A page whose slots are all free
//! is given back; a mapping keeps its own reference to the page, so it stays readable (and
//! reads "gone") until unmapped. A mapping does not keep its object alive: `mmap` gives the
//! vma a file of its own (`glue.c`), which only keeps the module loaded.
//!
//! # Who shares a page
//!
//! A mapping shows its whole page, so a page must show nobody an object they could not open
//! for reading. Objects share a page only within a [`Class`]: named objects with the same
//! owner uid, owner gid and mode, for which `Object::permits` gives every caller the same
//! answer (it depends on nothing else), and an anonymous object alone (nobody can open it by
//! name). `mmap` checks the caller's own credentials against the object (not only the fd's
//! access: an fd passed over a socket does not grant a look at its neighbours), so whoever
//! maps a page may read every object on it.
//!
//! # Memory
//!
//! An object pays 4 bytes for its slot number ([`Object`]'s `state`, in what was padding), and
//! a mapped one 16 bytes of page (256 slots per 4 KiB page) plus a share of the page's
//! `struct page`. Pages are reached by number through a fixed table of [`MAX_PAGES`] entries
//! (32 KiB), which writers read without a lock.

use crate::abi::{KcState, KC_STATE_GONE, KC_STATE_LINKED, KC_STATE_REVOKED};
use crate::ffi;
use core::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
use kernel::alloc::flags::{__GFP_ZERO, GFP_KERNEL, GFP_KERNEL_ACCOUNT};
use kernel::error::code::{ENOMEM, ENOSPC};
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;

/// Slots in a page.
pub(crate) const SLOTS_PER_PAGE: usize = PAGE_SIZE / core::mem::size_of::<KcState>();
const _: () = assert!(SLOTS_PER_PAGE == 256);

/// State pages at most, module-wide: enough for 1M objects of one class (4096 x 256), or
/// fewer classes of fewer objects. Beyond, `MAP_INFO` and `mmap` fail with `ENOSPC` (the
/// libraries then use the ioctls).
pub(crate) const MAX_PAGES: usize = 4096;

/// The address of each state page's first slot, by page number (0: no page). Claimed by
/// compare-and-swap, read without a lock by writers of objects whose slot is on the page.
#[allow(clippy::declare_interior_mutable_const)] // only used to initialise `PAGES`
const NO_PAGE: AtomicUsize = AtomicUsize::new(0);
static PAGES: [AtomicUsize; MAX_PAGES] = [NO_PAGE; MAX_PAGES];

/// A slot as the driver writes it: [`KcState`]'s layout, with atomic fields.
#[repr(C)]
pub(crate) struct StateCell {
    seq: AtomicU32,
    done: AtomicU32,
    id: AtomicU32,
    flags: AtomicU32,
}

const _: () = assert!(core::mem::size_of::<StateCell>() == core::mem::size_of::<KcState>());

impl StateCell {
    /// Writes the slot as a seqcount writer: `seq` odd, the fields, `seq` even (release), so
    /// a reader that sees the same even `seq` before and after its loads saw one state.
    /// Callers are serialised (the object's lock, or the registry's mutex for a slot no
    /// live object uses).
    fn write(&self, f: impl FnOnce(&StateCell)) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // The odd `seq` is visible before any field changes (`smp_wmb`).
        fence(Ordering::Release);
        f(self);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// Publishes `done` if it changed. Under the object's lock.
    pub(crate) fn publish_done(&self, done: u32) {
        if self.done.load(Ordering::Relaxed) != done {
            self.write(|c| c.done.store(done, Ordering::Relaxed));
        }
    }

    /// Publishes whether the object has its name. Under the object's lock.
    pub(crate) fn publish_linked(&self, linked: bool) {
        let flags = if linked { KC_STATE_LINKED } else { 0 };
        self.write(|c| c.flags.store(flags, Ordering::Relaxed));
    }

    /// Shows the object revoked: no name, nothing to consume. Under the object's lock.
    pub(crate) fn publish_revoked(&self) {
        self.write(|c| {
            c.done.store(0, Ordering::Relaxed);
            c.flags.store(KC_STATE_REVOKED, Ordering::Relaxed);
        });
    }

    /// Gives the slot to the object `id`, showing `done` and `linked`. Under the object's
    /// lock, before the object's `state` names the slot.
    pub(crate) fn attach(&self, id: u32, done: u32, linked: bool) {
        self.write(|c| {
            c.id.store(id, Ordering::Relaxed);
            c.done.store(done, Ordering::Relaxed);
            c.flags
                .store(if linked { KC_STATE_LINKED } else { 0 }, Ordering::Relaxed);
        });
    }

    /// Shows the object gone.
    fn detach(&self) {
        self.write(|c| {
            c.id.store(0, Ordering::Relaxed);
            c.done.store(0, Ordering::Relaxed);
            c.flags.store(KC_STATE_GONE, Ordering::Relaxed);
        });
    }
}

/// A slot's number as an object stores it: `(page + 1) << 8 | slot`; 0 is "none".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotNo(u32);

impl SlotNo {
    fn new(page: usize, slot: usize) -> SlotNo {
        SlotNo((((page + 1) << 8) | slot) as u32)
    }

    /// The slot an object's `state` field names, if any.
    pub(crate) fn from_raw(raw: u32) -> Option<SlotNo> {
        (raw != 0).then_some(SlotNo(raw))
    }

    pub(crate) fn raw(self) -> u32 {
        self.0
    }

    fn page(self) -> usize {
        (self.0 >> 8) as usize - 1
    }

    fn slot(self) -> usize {
        (self.0 & 0xff) as usize
    }

    /// The slot's byte offset in its page (`KcMapInfo::offset`).
    pub(crate) fn offset(self) -> u32 {
        (self.slot() * core::mem::size_of::<KcState>()) as u32
    }

    /// The slot. Valid while the object that holds the slot number lives (its page is not
    /// given back while any of its slots is taken).
    pub(crate) fn cell(self) -> &'static StateCell {
        let base = PAGES[self.page()].load(Ordering::Acquire);
        // SAFETY: A slot number is handed out only for a page whose address is in `PAGES`
        // (stored before the number exists), and the page stays until every slot on it is
        // freed; `slot < 256` keeps the cell inside the page; the page is zeroed memory,
        // valid for atomics of any value.
        unsafe { &*(base as *const StateCell).add(self.slot()) }
    }
}

/// Who may share a page (see the module's comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Named { uid: u32, gid: u32, mode: u16 },
    Anonymous { id: u32 },
}

/// One state page and which of its slots are taken.
struct PoolPage {
    page: Page,
    number: usize,
    class: Class,
    taken: [u64; SLOTS_PER_PAGE / 64],
    count: usize,
}

impl Drop for PoolPage {
    fn drop(&mut self) {
        PAGES[self.number].store(0, Ordering::Release);
    }
}

/// The state pages of one registry, under its mutex. A page given back leaves a `None` that
/// the next new page takes.
pub(crate) struct StatePool {
    pages: KVec<Option<PoolPage>>,
}

impl StatePool {
    pub(crate) fn new() -> StatePool {
        StatePool { pages: KVec::new() }
    }

    fn find(&self, number: usize) -> Option<usize> {
        self.pages
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.number == number))
    }

    /// A new page of `class` in `self.pages`; its index there.
    fn add_page(&mut self, class: Class) -> Result<usize> {
        let hole = self.pages.iter().position(Option::is_none);
        if hole.is_none() {
            self.pages.reserve(1, GFP_KERNEL)?;
        }
        let page = Page::alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO).map_err(|_| ENOMEM)?;
        // SAFETY: `page` is a valid page we own; on 64-bit every page has a kernel address.
        let base = unsafe { ffi::kcompletion_page_address(page.as_ptr()) } as usize;
        let number = PAGES
            .iter()
            .position(|p| {
                p.compare_exchange(0, base, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            })
            .ok_or(ENOSPC)?;
        let entry = Some(PoolPage {
            page,
            number,
            class,
            taken: [0; SLOTS_PER_PAGE / 64],
            count: 0,
        });
        Ok(match hole {
            Some(i) => {
                self.pages[i] = entry;
                i
            }
            None => {
                // Reserved above: cannot fail.
                self.pages.push(entry, GFP_KERNEL)?;
                self.pages.len() - 1
            }
        })
    }

    /// A free slot for an object of `class`: on a page of that class with room, or on a new
    /// page. `ENOSPC` when [`MAX_PAGES`] are in use, `ENOMEM`.
    pub(crate) fn take(&mut self, class: Class) -> Result<SlotNo> {
        let room = self.pages.iter().position(|p| {
            p.as_ref()
                .is_some_and(|p| p.class == class && p.count < SLOTS_PER_PAGE)
        });
        let i = match room {
            Some(i) => i,
            None => self.add_page(class)?,
        };
        let Some(p) = self.pages[i].as_mut() else {
            return Err(ENOSPC);
        };
        let word = p.taken.iter().position(|w| *w != u64::MAX).ok_or(ENOSPC)?;
        let bit = (!p.taken[word]).trailing_zeros() as usize;
        p.taken[word] |= 1 << bit;
        p.count += 1;
        Ok(SlotNo::new(p.number, word * 64 + bit))
    }

    /// The page of a taken slot, to map.
    pub(crate) fn page(&self, slot: SlotNo) -> Option<&Page> {
        let i = self.find(slot.page())?;
        self.pages[i].as_ref().map(|p| &p.page)
    }

    /// Frees the slot of an object that is gone: it reads "gone"; an empty page is given
    /// back (mappings keep their own reference to it).
    pub(crate) fn give_back(&mut self, slot: SlotNo) {
        let Some(i) = self.find(slot.page()) else {
            return;
        };
        slot.cell().detach();
        let Some(p) = self.pages[i].as_mut() else {
            return;
        };
        let (word, bit) = (slot.slot() / 64, slot.slot() % 64);
        p.taken[word] &= !(1 << bit);
        p.count -= 1;
        if p.count == 0 {
            self.pages[i] = None;
        }
    }
}
