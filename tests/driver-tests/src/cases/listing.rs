//! Enumeration: LIST in batches, and /proc/kcompletion (unlinked objects until closed).

use super::{ok, proc_lines, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "LIST enumerates 300 objects exactly once, in batches",
        || {
            let names: Vec<String> = (0..300).map(|i| format!("t.list.{i}")).collect();
            for n in &names {
                ok("create", create(dev, n))?;
            }
            for batch in [1, 7, 100, KC_LIST_MAX] {
                let all = ok("list", list_all(dev, batch))?;
                let mut seen: Vec<String> = all
                    .iter()
                    .map(info_name)
                    .filter(|n| n.starts_with("t.list."))
                    .collect();
                seen.sort();
                let mut want = names.clone();
                want.sort();
                check!(seen == want, "batch {batch}: {} of 300", seen.len());
                check!(all.windows(2).all(|w| w[0].id < w[1].id), "not in id order");
            }
            for n in &names {
                ok("unlink", unlink(dev, n))?;
            }
            let left = ok("list", list_all(dev, 64))?;
            check!(
                left.iter().all(|i| !info_name(i).starts_with("t.list.")),
                "left over"
            );
            Ok(())
        },
    );

    s.case(
        "/proc/kcompletion lists objects, unlinked ones until closed",
        || {
            let fd = ok("create", create(dev, "t.proc"))?;
            let id = ok("info", info(&fd))?.id;
            let line = |id: u32| {
                proc_lines()
                    .into_iter()
                    .find(|l| l.split('\t').next() == Some(&id.to_string()))
            };
            let l = line(id).ok_or_else(|| {
                format!(
                    "object {id} missing from {:?}",
                    std::fs::read_to_string("/proc/kcompletion")
                )
            })?;
            check!(
                l.ends_with("\tyes\tt.proc") && l.contains("\t0600\t"),
                "line {l:?}"
            );
            ok("unlink", unlink(dev, "t.proc"))?;
            let l = line(id).ok_or("unlinked object missing")?;
            check!(l.contains("\tno\t"), "line {l:?}");
            drop(fd);
            check!(line(id).is_none(), "freed object still listed");
            check!(
                proc_lines().first().map(|h| h.starts_with("id\t")) == Some(true),
                "header"
            );
            Ok(())
        },
    );
}
