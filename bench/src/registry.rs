//! P4: create, open by name and unlink as the registry grows to 1k, 10k, 100k and 1M live
//! named objects (cost per operation at each size), and kernel memory per object from
//! `/proc/slabinfo`.
//!
//! At each size, every repetition times K creates of new names, K opens of random existing
//! names and the K unlinks of the new names (the registry stays at its size). Names are
//! formatted before the clock starts; descriptors are closed after it stops.

use crate::sys::*;
use crate::{emit, fail, progress, Config};
use kcompletion_abi::{raw, KcMapInfo};
use std::collections::HashMap;
use std::os::fd::RawFd;

/// cache -> (active objects, object size, bytes in slab pages)
fn slabs() -> HashMap<String, (u64, u64, u64)> {
    let text = std::fs::read_to_string("/proc/slabinfo").unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            // name active_objs num_objs objsize objperslab pagesperslab : tunables l b s
            // : slabdata active_slabs num_slabs sharedavail
            let pages = num(5)? * num(14)? * 4096;
            Some((f.first()?.to_string(), (num(1)?, num(3)?, pages)))
        })
        .collect()
}

/// (object bytes, slab page bytes, the caches that grew most) gained since `before`.
fn growth(before: &HashMap<String, (u64, u64, u64)>, n: u64) -> (u64, i64, String) {
    let after = slabs();
    let mut objs = 0u64;
    let mut pages = 0i64;
    let mut grew = Vec::new();
    for (name, &(active, size, p)) in &after {
        let (old_active, _, old_pages) = before.get(name).copied().unwrap_or((0, 0, 0));
        pages += p as i64 - old_pages as i64;
        if active > old_active {
            let d = active - old_active;
            objs += d * size;
            if d * 10 >= n {
                grew.push(format!("{name}:+{d}x{size}B"));
            }
        }
    }
    grew.sort();
    (objs, pages, grew.join(","))
}

/// A `/proc/meminfo` field in bytes (`VmallocUsed`: the name table's slot array is a
/// `KVVec`, vmalloc-backed once large, so slab accounting alone would miss it).
fn meminfo_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Lets RCU free what the fill's closed fds left (files, dentries) before slabs are read.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

fn reload(ko: &str, params: &[String]) -> Result<(), String> {
    let _ = std::process::Command::new("rmmod")
        .arg("kcompletion")
        .status();
    let st = std::process::Command::new("insmod")
        .arg(ko)
        .args(params)
        .status()
        .map_err(|e| format!("insmod: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("insmod {ko} {}: {st}", params.join(" ")))
    }
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn fill_name(i: u64) -> String {
    format!("kcb.p4.{i}")
}

pub fn p4(cfg: &Config) {
    let sizes: Vec<u64> = cfg.pick(vec![1_000, 10_000, 100_000, 1_000_000], vec![1_000, 10_000]);
    let k = cfg.pick(1_000usize, 200);
    let reps = cfg.reps.min(5);
    let ko = std::env::var("KC_MODULE").unwrap_or_else(|_| "/lib/modules/kcompletion.ko".into());
    let limit = sizes.iter().max().unwrap() + 2 * k as u64 + 1000;
    if let Err(e) = reload(
        &ko,
        &[
            format!("max_objects={limit}"),
            format!("max_per_user={limit}"),
        ],
    ) {
        fail("P4", &e);
        return;
    }
    raise_nofile();
    let dev = match open_dev() {
        Ok(d) => d,
        Err(e) => {
            fail("P4", &format!("open {DEV} after reload: errno {e}"));
            return;
        }
    };
    let mut live = 0u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut fds: Vec<RawFd> = Vec::with_capacity(k);
    'sizes: for &size in &sizes {
        settle();
        let before = slabs();
        let vmalloc_before = meminfo_bytes("VmallocUsed");
        let from = live;
        let t_fill = now_ns();
        while live < size {
            match kc_create(dev, fill_name(live).as_bytes()) {
                Ok(fd) => close(fd),
                Err(e) => {
                    fail("P4", &format!("create object {live} of {size}: errno {e}"));
                    break 'sizes;
                }
            }
            live += 1;
            if live.is_multiple_of(100_000) {
                progress(&format!("P4 filled {live} objects"));
            }
        }
        let added = live - from;
        let fill_ns = now_ns() - t_fill;
        settle();
        let (obj_bytes, page_bytes, grew) = growth(&before, added);
        let vmalloc = meminfo_bytes("VmallocUsed") as f64 - vmalloc_before as f64;
        // Every new object's state slot (issue 12: a slot is 16 bytes in a shared page, taken
        // at the first MAP_INFO): what the pages cost, from MemFree (they are not slab).
        let free_before = meminfo_bytes("MemFree");
        for i in from..live {
            let fd = match kc_open(dev, fill_name(i).as_bytes()) {
                Ok(fd) => fd,
                Err(e) => {
                    fail("P4", &format!("open object {i} for its slot: errno {e}"));
                    break 'sizes;
                }
            };
            let mut info = KcMapInfo::default();
            if let Err(e) = raw::ioctl::<raw::MapInfo>(fd, &mut info) {
                fail("P4", &format!("MAP_INFO of object {i}: errno {e}"));
                break 'sizes;
            }
            close(fd);
        }
        settle();
        let slots = free_before.saturating_sub(meminfo_bytes("MemFree")) as f64;
        if added >= 500 {
            let per = |b: f64| b / added as f64;
            emit(
                "P4",
                "memory",
                "slab-objects",
                size,
                0,
                per(obj_bytes as f64),
                "B",
            );
            emit(
                "P4",
                "memory",
                "slab-pages",
                size,
                0,
                per(page_bytes as f64),
                "B",
            );
            emit("P4", "memory", "vmalloc", size, 0, per(vmalloc), "B");
            emit("P4", "memory", "state-slots", size, 0, per(slots), "B");
            emit(
                "P4",
                "memory",
                "total",
                size,
                0,
                per(obj_bytes as f64 + vmalloc + slots),
                "B",
            );
            emit(
                "P4",
                "fill",
                "create+close",
                size,
                0,
                fill_ns as f64 / added as f64,
                "ns",
            );
            println!("KCB-NOTE scenario=P4 size={size} added={added} slab_growth={grew}");
        }
        let extra: Vec<String> = (0..k).map(|j| format!("kcb.p4.x.{j}")).collect();
        for rep in 0..reps {
            // create K new names
            let t0 = now_ns();
            for name in &extra {
                fds.push(kc_create(dev, name.as_bytes()).expect("P4 create"));
            }
            let v = (now_ns() - t0) as f64 / k as f64;
            emit("P4", "create", "kcompletion", size, rep, v, "ns");
            fds.drain(..).for_each(close);
            // open K random existing names
            let names: Vec<String> = (0..k)
                .map(|_| fill_name(xorshift(&mut seed) % size))
                .collect();
            let t0 = now_ns();
            for name in &names {
                fds.push(kc_open(dev, name.as_bytes()).expect("P4 open"));
            }
            let v = (now_ns() - t0) as f64 / k as f64;
            emit("P4", "open", "kcompletion", size, rep, v, "ns");
            fds.drain(..).for_each(close);
            // unlink the K new names (each frees its object)
            let t0 = now_ns();
            for name in &extra {
                kc_unlink(dev, name.as_bytes()).expect("P4 unlink");
            }
            let v = (now_ns() - t0) as f64 / k as f64;
            emit("P4", "unlink", "kcompletion", size, rep, v, "ns");
        }
        progress(&format!("P4 at {size} objects done"));
    }
    progress(&format!("P4 unlinking {live} objects"));
    for i in 0..live {
        let _ = kc_unlink(dev, fill_name(i).as_bytes());
    }
    close(dev);
    if let Err(e) = reload(&ko, &[]) {
        fail("P4", &format!("reload with default limits: {e}"));
    }
}
