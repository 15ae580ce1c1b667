//! State pages (`KC_IOC_MAP_INFO`, `mmap` of an object fd): the slot agrees with DONE/INFO
//! after every operation; every mapping that could write, execute, grow or show someone
//! else's objects is refused; mappings outlive close, unlink and the object; fork shares
//! them; a map storm and a munmap storm beside a complete storm on another CPU.

use super::{as_user, expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use kcompletion_driver_tests::{cpus, os};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// A read-only mapping of an object's state page, its `MAP_INFO` checked.
struct Mapped(StatePage);

impl Mapped {
    fn new(fd: &OwnedFd) -> Result<Mapped, String> {
        let m = ok("mmap", StatePage::map(fd))?;
        let mi = m.info;
        check!(
            mi.slot_size == 16
                && mi.offset.is_multiple_of(16)
                && (mi.offset as usize) < m.len
                && mi.reserved == 0,
            "MAP_INFO {mi:?}"
        );
        let i = ok("info", info(fd))?;
        check!(
            mi.id == i.id,
            "MAP_INFO id {} is not INFO's {}",
            mi.id,
            i.id
        );
        Ok(Mapped(m))
    }

    /// The slot, read as the ABI says (seq even and unchanged around the fields).
    fn state(&self) -> KcState {
        let at = |i| self.0.word(i);
        loop {
            let seq = at(0);
            if seq & 1 != 0 {
                continue;
            }
            let s = KcState {
                seq,
                done: at(1),
                id: at(2),
                flags: at(3),
            };
            if at(0) == seq {
                return s;
            }
        }
    }

    /// Every slot's id on the page.
    fn ids(&self) -> Vec<u32> {
        (0..self.0.len / 16)
            .map(|i| self.0.word_at(4 * i + 2))
            .filter(|&id| id != 0)
            .collect()
    }
}

/// The slot agrees with INFO.
fn agrees(m: &Mapped, fd: &OwnedFd, what: &str) -> Result<KcState, String> {
    let i = ok("info", info(fd))?;
    let s = m.state();
    let linked = if i.flags & KC_INFO_LINKED != 0 {
        KC_STATE_LINKED
    } else {
        0
    };
    check!(
        s.done == i.done && s.id == i.id && s.flags == linked && s.seq.is_multiple_of(2),
        "{what}: slot {s:?}, INFO done {} id {} flags {}",
        i.done,
        i.id,
        i.flags
    );
    Ok(s)
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "state page: the slot follows every operation, as INFO does",
        || {
            let fd = ok("create", create(dev, "t.sp.ops"))?;
            let m = Mapped::new(&fd)?;
            let mut seq = agrees(&m, &fd, "fresh")?.seq;
            let mut step = |what: &str, f: &dyn Fn() -> Res<()>| -> Result<(), String> {
                ok(what, f())?;
                let st = agrees(&m, &fd, what)?;
                check!(
                    st.seq > seq,
                    "{what}: seq {} did not grow from {seq}",
                    st.seq
                );
                seq = st.seq;
                Ok(())
            };
            step("complete", &|| complete(&fd))?;
            step("complete again", &|| complete(&fd))?;
            step("try_wait", &|| try_wait(&fd))?;
            step("wait", &|| wait_ms(&fd, 0))?;
            step("complete_all", &|| {
                ioctl0(&fd, KC_IOC_COMPLETE_ALL).map(drop)
            })?;
            check!(m.state().done == KC_DONE_ALL, "done after complete_all");
            step("reinit", &|| reinit(&fd))?;
            expect_err("try_wait on 0", try_wait(&fd), libc::EAGAIN)?;
            agrees(&m, &fd, "failed try_wait")?;
            ok("unlink", unlink(dev, "t.sp.ops"))?;
            agrees(&m, &fd, "unlinked")?;
            Ok(())
        },
    );

    s.case(
        "state page: a second MAP_INFO and mmap give the same slot",
        || {
            let fd = ok("create", create(dev, "t.sp.same"))?;
            let (a, b) = (Mapped::new(&fd)?, Mapped::new(&fd)?);
            check!(
                a.0.info.offset == b.0.info.offset,
                "offsets {} and {}",
                a.0.info.offset,
                b.0.info.offset
            );
            ok("complete", complete(&fd))?;
            check!(
                a.state().done == 1 && b.state().done == 1,
                "both mappings see done 1"
            );
            ok("unlink", unlink(dev, "t.sp.same"))
        },
    );

    s.case(
        "state page: writable, executable, offset, length, write-only fd, mprotect and mremap are refused",
        || {
            let fd = ok("create", create(dev, "t.sp.refuse"))?;
            let len = page_size();
            let (r, sh, pr) = (libc::PROT_READ, libc::MAP_SHARED, libc::MAP_PRIVATE);
            let w = libc::PROT_WRITE;
            for (what, l, prot, flags, off, want) in [
                ("PROT_WRITE, MAP_SHARED", len, r | w, sh, 0, libc::EACCES),
                ("PROT_WRITE, MAP_PRIVATE", len, r | w, pr, 0, libc::EACCES),
                // EPERM on 7.x, whose anonymous-inode mount is noexec: do_mmap refuses first.
                ("PROT_EXEC", len, r | libc::PROT_EXEC, sh, 0, -1),
                ("offset one page", len, r, sh, len as i64, libc::EINVAL),
                ("two pages", 2 * len, r, sh, 0, libc::EINVAL),
            ] {
                match mmap(&fd, l, prot, flags, off) {
                    Ok(p) => {
                        munmap(p, l);
                        return Err(format!("{what}: mapped, want {}", errname(want)));
                    }
                    Err(e) if want == -1 => check!(
                        e == libc::EACCES || e == libc::EPERM,
                        "{what}: {}, want EACCES or EPERM",
                        errname(e)
                    ),
                    Err(e) => check!(e == want, "{what}: {}, want {}", errname(e), errname(want)),
                }
            }
            let wo = ok("open write-only", open_access(dev, "t.sp.refuse", KC_ACCESS_WRITE))?;
            expect_err("mmap of a write-only fd", mmap(&wo, len, r, sh, 0), libc::EACCES)?;
            expect_err("MAP_INFO on a write-only fd", map_info(&wo), libc::EBADF)?;
            for flags in [sh, pr] {
                let p = ok("mmap read-only", mmap(&fd, len, r, flags, 0))?;
                // SAFETY: `p` is our mapping of `len` bytes.
                let e = unsafe { libc::mprotect(p.cast(), len, r | w) };
                let err = errno();
                // SAFETY: As above.
                let x = unsafe { libc::mprotect(p.cast(), len, r | libc::PROT_EXEC) };
                let xerr = errno();
                // SAFETY: As above; growing in place or moving.
                let g = unsafe { libc::mremap(p.cast(), len, 2 * len, libc::MREMAP_MAYMOVE) };
                let gerr = errno();
                munmap(p, len);
                check!(e == -1 && err == libc::EACCES, "mprotect to write: {e}, {}", errname(err));
                check!(x == -1 && xerr == libc::EACCES, "mprotect to exec: {x}, {}", errname(xerr));
                check!(
                    g == libc::MAP_FAILED && gerr == libc::EFAULT,
                    "mremap to two pages: {g:?}, {}",
                    errname(gerr)
                );
            }
            ok("unlink", unlink(dev, "t.sp.refuse"))
        },
    );

    s.case(
        "state page: the mapping outlives close and unlink, then shows the object gone",
        || {
            let fd = ok("create", create(dev, "t.sp.gone"))?;
            let id = ok("info", info(&fd))?.id;
            let m = Mapped::new(&fd)?;
            ok("complete", complete(&fd))?;
            drop(fd);
            let s = m.state();
            check!(
                s.id == id && s.done == 1 && s.flags == KC_STATE_LINKED,
                "closed: {s:?}"
            );
            ok("unlink", unlink(dev, "t.sp.gone"))?;
            let s = m.state();
            check!(
                s.id == 0 && s.done == 0 && s.flags == KC_STATE_GONE,
                "freed: {s:?}"
            );
            // A new object may take the slot: the old mapping never shows it as its own.
            let again = ok("create again", create(dev, "t.sp.gone"))?;
            let m2 = Mapped::new(&again)?;
            let s = m.state();
            check!(
                s.id != id,
                "the old slot shows the old id {id} again: {s:?}"
            );
            drop(m2);
            ok("unlink", unlink(dev, "t.sp.gone"))
        },
    );

    s.case("state page: a forked child reads the same page", || {
        let fd = ok("create", create(dev, "t.sp.fork"))?;
        let m = Mapped::new(&fd)?;
        ok("complete", complete(&fd))?;
        // SAFETY: The suite is single-threaded here; the child only reads and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let s = m.state();
            let code = if s.done == 1 { 0 } else { 1 };
            // SAFETY: Leave the child without running the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        let (_, status) = os::reap(pid);
        check!(
            os::exited_ok(status),
            "the child read another state (status {status:#x})"
        );
        ok("try_wait", try_wait(&fd))?;
        agrees(&m, &fd, "after the child")?;
        ok("unlink", unlink(dev, "t.sp.fork"))
    });

    s.case(
        "state page: objects share a page only with the same owner, group and mode; an fd passed to someone not allowed cannot map",
        || {
            let a = ok("create 0600", create_mode(dev, "t.sp.c600", 0o600, 0))?;
            let b = ok("create 0644", create_mode(dev, "t.sp.c644", 0o644, 0))?;
            let c = ok("create 0644 too", create_mode(dev, "t.sp.c644b", 0o644, 0))?;
            let anon = {
                let mut req = KcCreate {
                    flags: KC_CREATE_ANONYMOUS,
                    ..KcCreate::default()
                };
                ok("anonymous", ioctl(dev, KC_IOC_CREATE, &mut req).map(to_fd))?
            };
            let (ma, mb, mc, mn) = (
                Mapped::new(&a)?,
                Mapped::new(&b)?,
                Mapped::new(&c)?,
                Mapped::new(&anon)?,
            );
            let id = |fd: &OwnedFd| info(fd).map(|i| i.id).unwrap_or(0);
            let (ia, ib, ic, ian) = (id(&a), id(&b), id(&c), id(&anon));
            check!(!ma.ids().contains(&ib) && !ma.ids().contains(&ian), "0600 page {:?}", ma.ids());
            check!(mb.ids().contains(&ic) && !mb.ids().contains(&ia), "0644 page {:?}", mb.ids());
            check!(mn.ids() == vec![ian], "anonymous page {:?}", mn.ids());
            drop(mc);
            // kcuser (not the owner, "other" bits): may map the 0644 object, whose page
            // holds only root's 0644 objects; may not map the 0600 one through an fd it got
            // from root (fork keeps fds across the credential change).
            as_user(1000, 1000, || {
                let dev = open_dev();
                let r = ok("open 0644 for read", open_access(&dev, "t.sp.c644", KC_ACCESS_READ))?;
                let m = Mapped::new(&r)?;
                for other in [ia, ian] {
                    check!(!m.ids().contains(&other), "kcuser's page shows id {other}");
                }
                expect_err(
                    "mmap of root's 0600 object through an inherited fd",
                    mmap(&a, page_size(), libc::PROT_READ, libc::MAP_SHARED, 0),
                    libc::EACCES,
                )
            })?;
            for n in ["t.sp.c600", "t.sp.c644", "t.sp.c644b"] {
                ok("unlink", unlink(dev, n))?;
            }
            Ok(())
        },
    );

    s.case(
        "state page: 1000 objects mapped, each slot its own and right",
        || {
            let fds: Vec<OwnedFd> = (0..1000)
                .map(|i| create(dev, &format!("t.sp.storm.{i}")))
                .collect::<Res<_>>()
                .map_err(|e| format!("create: {}", errname(e)))?;
            let maps: Vec<Mapped> = fds.iter().map(Mapped::new).collect::<Result<_, _>>()?;
            for (i, fd) in fds.iter().enumerate() {
                if i % 3 == 0 {
                    ok("complete", complete(fd))?;
                }
            }
            for (i, (fd, m)) in fds.iter().zip(&maps).enumerate() {
                agrees(m, fd, &format!("object {i}"))?;
            }
            drop(maps);
            for i in 0..1000 {
                ok("unlink", unlink(dev, &format!("t.sp.storm.{i}")))?;
            }
            Ok(())
        },
    );

    s.case(
        "state page: map and unmap in a loop on one CPU while another completes and consumes",
        || {
            let fd = ok("create", create(dev, "t.sp.munmap"))?;
            let stop = AtomicBool::new(false);
            let (rounds, maps) = std::thread::scope(|sc| {
                let worker = sc.spawn(|| {
                    cpus::pin_spread(1);
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let _ = complete(&fd);
                        let _ = try_wait(&fd);
                        n += 1;
                    }
                    n
                });
                cpus::pin_spread(0);
                let mut maps = 0;
                for _ in 0..3000 {
                    match mmap(&fd, page_size(), libc::PROT_READ, libc::MAP_SHARED, 0) {
                        Ok(p) => {
                            munmap(p, page_size());
                            maps += 1;
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            return (0, -e);
                        }
                    }
                }
                stop.store(true, Ordering::Relaxed);
                (worker.join().unwrap_or(0), maps)
            });
            cpus::unpin();
            check!(maps == 3000, "mmap failed: {}", errname(-maps));
            check!(rounds > 0, "the other CPU made no round");
            ok("unlink", unlink(dev, "t.sp.munmap"))
        },
    );
}
