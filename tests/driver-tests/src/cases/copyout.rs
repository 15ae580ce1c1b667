//! Every struct the driver copies out is fully written: reserved fields and name/error
//! padding come back zero over a 0xA5 pattern, nothing is written past a count.

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;

/// A value of a plain-integer ABI struct with every byte 0xA5, to see what the driver writes.
fn patterned<T: Copy>() -> T {
    let mut v = std::mem::MaybeUninit::<T>::uninit();
    // SAFETY: Only used with the `repr(C)` ABI structs, made of integers and byte arrays
    // without implicit padding (sizes asserted in the abi crate): every bit pattern is valid.
    unsafe {
        std::ptr::write_bytes(v.as_mut_ptr().cast::<u8>(), 0xA5, std::mem::size_of::<T>());
        v.assume_init()
    }
}

pub fn run(s: &mut Suite) {
    s.case(
        "every struct copied out is fully written: over a 0xA5 pattern, reserved fields and name/error padding come back zero",
        || {
            let dev = open_dev();
            let mut v: KcVersion = patterned();
            ok("VERSION", ioctl(&dev, KC_IOC_VERSION, &mut v))?;
            check!(v.version == KC_ABI_VERSION && v.reserved == 0, "{v:?}");

            let fds: Vec<OwnedFd> = ["t.pad.a", "t.pad.bb", "t.pad.ccc"]
                .iter()
                .map(|n| ok("create", create(&dev, n)))
                .collect::<Result<_, _>>()?;
            let clean_info = |i: &KcInfo| {
                i.reserved == 0
                    && (i.name_len as usize) < i.name.len()
                    && i.name[i.name_len as usize..].iter().all(|&b| b == 0)
            };
            let mut i: KcInfo = patterned();
            ok("INFO", ioctl(&fds[1], KC_IOC_INFO, &mut i))?;
            check!(clean_info(&i) && info_name(&i) == "t.pad.bb", "INFO {i:?}");

            let mut entries: Vec<KcInfo> = (0..8).map(|_| patterned()).collect();
            let mut l = KcList {
                entries: entries.as_mut_ptr() as u64,
                capacity: entries.len() as u32,
                ..Default::default()
            };
            ok("LIST", ioctl(&dev, KC_IOC_LIST, &mut l))?;
            check!(l.count >= 3 && l.reserved == 0, "LIST {l:?}");
            let written = (l.count as usize).min(entries.len());
            for e in &entries[..written] {
                check!(clean_info(e), "LIST entry {e:?}");
            }
            for e in &entries[written..] {
                check!(*e == patterned::<KcInfo>(), "LIST wrote past count: {e:?}");
            }

            // RUN of a syntax error: error_len, then the message NUL-terminated in
            // error_size bytes; nothing beyond.
            let name = b"t.pad.script";
            let src = b"x = = 1";
            let mut err = [0xA5u8; 64];
            let mut r = run_req(name, src, &mut err[..16]);
            expect_err("RUN syntax error", ioctl(&dev, KC_IOC_RUN, &mut r), libc::ENOEXEC)?;
            let cut = (r.error_len as usize).min(15);
            check!(r.error_len > 0 && r.reserved == 0, "RUN {r:?}");
            check!(err[..cut].iter().all(|&b| b != 0) && err[cut] == 0, "RUN error {err:?}");
            check!(err[cut + 1..].iter().all(|&b| b == 0xA5), "RUN wrote past error_size: {err:?}");

            // A script that fails at run time: its SCRIPTS entry.
            let src = b"error('padding check')";
            let mut r = KcRun {
                name: kname(name),
                source: src.as_ptr() as u64,
                source_len: src.len() as u32,
                ..Default::default()
            };
            ok("RUN", ioctl(&dev, KC_IOC_RUN, &mut r))?;
            let mut found = None;
            for _ in 0..500 {
                let mut entries: Vec<KcScriptInfo> = (0..4).map(|_| patterned()).collect();
                let mut sc = KcScripts {
                    entries: entries.as_mut_ptr() as u64,
                    capacity: entries.len() as u32,
                    ..Default::default()
                };
                ok("SCRIPTS", ioctl(&dev, KC_IOC_SCRIPTS, &mut sc))?;
                let written = (sc.count as usize).min(entries.len());
                for e in &entries[written..] {
                    check!(*e == patterned::<KcScriptInfo>(), "SCRIPTS wrote past count");
                }
                found = entries[..written]
                    .iter()
                    .find(|e| &e.name[..e.name_len as usize] == name && e.state == KC_SCRIPT_FAILED)
                    .copied();
                if found.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let e = found.ok_or("the script never showed as failed")?;
            check!(
                e.reserved == 0
                    && e.name[e.name_len as usize..].iter().all(|&b| b == 0)
                    && e.error_len > 0
                    && (e.error_len as usize) < e.error.len()
                    && e.error[e.error_len as usize..].iter().all(|&b| b == 0),
                "SCRIPTS entry: reserved {} name_len {} error_len {} error {:?}",
                e.reserved,
                e.name_len,
                e.error_len,
                String::from_utf8_lossy(&e.error)
            );
            let mut kn = kname(name);
            ok("STOP removes the ended script", ioctl(&dev, KC_IOC_STOP, &mut kn))?;
            for n in ["t.pad.a", "t.pad.bb", "t.pad.ccc"] {
                ok("unlink", unlink(&dev, n))?;
            }
            Ok(())
        },
    );
}
