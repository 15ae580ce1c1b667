//! Registry scale check and figures: creates 1k, then 10k, then 100k named objects and at
//! each size (a) checks that every object is reachable by name and by LIST, (b) reports the
//! mean cost of an open-by-name (OPEN + close) over random names and (c) the kernel memory per
//! object from /proc/slabinfo. KTAP cases check correctness only; the figures are `#` lines
//! (performance is judged by `cargo xtask bench`, never by a timed assertion).
//!
//! Usage: `kc-scale [SIZE...]` (default 1000 10000 100000). The program reloads the module
//! with limits large enough (`$KC_MODULE`, default /lib/modules/kcompletion.ko) and reloads
//! it with the default limits at the end.

use kcompletion_driver_tests::sys::*;
use kcompletion_test_harness::ktap::Ktap;
use std::collections::HashMap;

fn slab_bytes() -> HashMap<String, (u64, u64)> {
    // name -> (active objects, object size)
    let text = std::fs::read_to_string("/proc/slabinfo").unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.to_string(),
                (f.get(1)?.parse().ok()?, f.get(3)?.parse().ok()?),
            ))
        })
        .collect()
}

fn bytes_per_object(before: &HashMap<String, (u64, u64)>, n: u64) -> (f64, String) {
    let after = slab_bytes();
    let mut total = 0u64;
    let mut grew = Vec::new();
    for (name, &(objs, size)) in &after {
        let old = before.get(name).map_or(0, |b| b.0);
        if objs > old {
            let d = objs - old;
            total += d * size;
            if d * 20 >= n {
                grew.push(format!("{name} +{d}x{size}B"));
            }
        }
    }
    grew.sort();
    (total as f64 / n as f64, grew.join(", "))
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn main() {
    let mut ktap = Ktap::start();
    let ko = std::env::var("KC_MODULE").unwrap_or_else(|_| "/lib/modules/kcompletion.ko".into());
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are integers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let limit = format!("{}", sizes.iter().max().unwrap() * 2);
    let _ = std::process::Command::new("rmmod")
        .arg("kcompletion")
        .status();
    let st = std::process::Command::new("insmod")
        .args([
            ko.as_str(),
            &format!("max_objects={limit}"),
            &format!("max_per_user={limit}"),
        ])
        .status();
    ktap.case(
        matches!(st, Ok(s) if s.success()),
        format!("reload with max_objects={limit}"),
    );
    let dev = open_dev();
    let mut created = 0u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut figures = Vec::new();
    for size in sizes {
        let before = slab_bytes();
        let from = created;
        let mut ok_create = true;
        while created < size {
            match create(&dev, &format!("scale.{created}")) {
                Ok(fd) => drop(fd),
                Err(e) => {
                    println!("# create scale.{created}: {}", errname(e));
                    ok_create = false;
                    break;
                }
            }
            created += 1;
        }
        let (bpo, grew) = bytes_per_object(&before, created - from);
        ktap.case(ok_create, format!("create {size} named objects"));
        let listed = list_all(&dev, 256).map(|v| v.len() as u64);
        ktap.case(
            listed == Ok(size),
            format!("LIST finds all {size} ({listed:?})"),
        );
        let rounds = 2000;
        let t0 = now_ns(libc::CLOCK_MONOTONIC);
        let mut ok_open = true;
        for _ in 0..rounds {
            let i = xorshift(&mut seed) % size;
            if open(&dev, &format!("scale.{i}")).is_err() {
                ok_open = false;
            }
        }
        let per_open = (now_ns(libc::CLOCK_MONOTONIC) - t0) / rounds;
        ktap.case(
            ok_open,
            format!("{rounds} opens by name at {size} objects all succeed"),
        );
        println!("# {size} objects: open-by-name {per_open} ns/op; slab growth {bpo:.0} B/object ({grew})");
        figures.push((size, per_open));
    }
    if let (Some(first), Some(last)) = (figures.first(), figures.last()) {
        println!(
            "# lookup ratio {} vs {} objects: {:.2}x",
            last.0,
            first.0,
            last.1 as f64 / first.1 as f64
        );
    }
    let mut ok_unlink = true;
    for i in 0..created {
        if unlink(&dev, &format!("scale.{i}")).is_err() {
            ok_unlink = false;
        }
    }
    ktap.case(ok_unlink, format!("unlink all {created}"));
    let left = list_all(&dev, 256).map(|v| v.len());
    ktap.case(left == Ok(0), "registry empty afterwards");
    drop(dev);
    let st = std::process::Command::new("rmmod")
        .arg("kcompletion")
        .status();
    let st2 = std::process::Command::new("insmod").arg(&ko).status();
    ktap.case(
        matches!((st, st2), (Ok(a), Ok(b)) if a.success() && b.success()),
        "reload with default limits",
    );
    ktap.finish(None);
}
