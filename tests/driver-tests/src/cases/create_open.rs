//! CREATE, OPEN, UNLINK and INFO on their success paths, and the names they accept: the
//! longest, every printable byte, and what is too long or not printable.

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd};

fn cloexec(fd: &OwnedFd) -> bool {
    // SAFETY: F_GETFD on a valid fd.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case("VERSION reports ABI version 1", || {
        let mut v = KcVersion {
            version: 0,
            reserved: 0xdead,
        };
        ok("VERSION", ioctl(dev, KC_IOC_VERSION, &mut v))?;
        check!(v.version == KC_ABI_VERSION && v.reserved == 0, "got {v:?}");
        Ok(())
    });

    s.case(
        "CREATE returns a close-on-exec fd; INFO describes the object",
        || {
            let fd = ok("create", create_mode(dev, "t.create", 0o640, 0))?;
            check!(cloexec(&fd), "fd is not O_CLOEXEC");
            let i = ok("info", info(&fd))?;
            check!(i.id != 0, "id 0");
            check!(info_name(&i) == "t.create", "name {:?}", info_name(&i));
            check!(i.done == 0 && i.waiters == 0 && i.handles == 1, "{i:?}");
            check!(i.uid == 0 && i.gid == 0 && i.mode == 0o640, "{i:?}");
            check!(i.flags == KC_INFO_LINKED && i.reserved == 0, "{i:?}");
            check!(
                i.name[i.name_len as usize..].iter().all(|&b| b == 0),
                "name padding"
            );
            ok("unlink", unlink(dev, "t.create"))
        },
    );

    s.case(
        "CREATE with ANONYMOUS: a nameless object, reached only through its fds; every other field refused",
        || {
            let anon = |name: KcName, mode: u32, flags: u32| {
                let mut req = KcCreate { name, mode, flags };
                ioctl(dev, KC_IOC_CREATE, &mut req).map(to_fd)
            };
            let a = ok("create anonymous", anon(KcName::default(), 0, KC_CREATE_ANONYMOUS))?;
            check!(cloexec(&a), "fd is not O_CLOEXEC");
            let i = ok("info", info(&a))?;
            check!(i.id != 0 && i.name_len == 0 && i.name.iter().all(|&b| b == 0), "{i:?}");
            check!(i.mode == 0o600 && i.uid == 0 && i.handles == 1, "{i:?}");
            check!(i.flags & KC_INFO_LINKED == 0, "anonymous but linked: {i:?}");
            ok("complete", complete(&a))?;
            ok("try_wait", try_wait(&a))?;
            // a second one is another object
            let b = ok("second anonymous", anon(KcName::default(), 0, KC_CREATE_ANONYMOUS))?;
            let ib = ok("info", info(&b))?;
            check!(ib.id != i.id, "two anonymous objects share id {}", i.id);
            let named = kname(b"t.anon");
            let half = KcName {
                len: 3,
                ..KcName::default()
            };
            let reserved = KcName {
                reserved: 1,
                ..KcName::default()
            };
            let ptr_only = KcName {
                ptr: named.ptr,
                ..KcName::default()
            };
            for (what, name, mode, flags) in [
                ("with a name", named, 0, KC_CREATE_ANONYMOUS),
                ("with a length and no pointer", half, 0, KC_CREATE_ANONYMOUS),
                ("with a pointer and no length", ptr_only, 0, KC_CREATE_ANONYMOUS),
                ("with name.reserved", reserved, 0, KC_CREATE_ANONYMOUS),
                ("with a mode", KcName::default(), 0o600, KC_CREATE_ANONYMOUS),
                ("with EXCL", KcName::default(), 0, KC_CREATE_ANONYMOUS | KC_CREATE_EXCL),
                ("with an unknown flag", KcName::default(), 0, KC_CREATE_ANONYMOUS | 4),
            ] {
                expect_err(what, anon(name, mode, flags), libc::EINVAL)?;
            }
            expect_err("the name was not created", open(dev, "t.anon"), libc::ENOENT)?;
            Ok(())
        },
    );

    s.case("CREATE without EXCL opens the existing object", || {
        let a = ok("create", create(dev, "t.reopen"))?;
        let b = ok("create again", create(dev, "t.reopen"))?;
        let (ia, ib) = (ok("info", info(&a))?, ok("info", info(&b))?);
        check!(ia.id == ib.id && ib.handles == 2, "{ia:?} {ib:?}");
        ok("complete", complete(&a))?;
        ok("try_wait via other fd", try_wait(&b))?;
        ok("unlink", unlink(dev, "t.reopen"))
    });

    s.case(
        "CREATE with EXCL on an existing name fails with EEXIST",
        || {
            let _a = ok("create", create_excl(dev, "t.excl"))?;
            expect_err("create excl", create_excl(dev, "t.excl"), libc::EEXIST)?;
            ok("unlink", unlink(dev, "t.excl"))
        },
    );

    s.case(
        "OPEN of a missing name fails with ENOENT; UNLINK too",
        || {
            expect_err("open", open(dev, "t.missing"), libc::ENOENT)?;
            expect_err("unlink", unlink(dev, "t.missing"), libc::ENOENT)
        },
    );

    s.case(
        "names: 63 printable bytes work, 64 give ENAMETOOLONG",
        || {
            let long = "x".repeat(63);
            let _fd = ok("create 63", create(dev, &long))?;
            ok("open 63", open(dev, &long))?;
            ok("unlink 63", unlink(dev, &long))?;
            let too = "y".repeat(64);
            expect_err("create 64", create(dev, &too), libc::ENAMETOOLONG)?;
            expect_err("open 64", open(dev, &too), libc::ENAMETOOLONG)?;
            expect_err("unlink 64", unlink(dev, &too), libc::ENAMETOOLONG)?;
            let mut req = KcCreate {
                name: KcName {
                    ptr: 0,
                    len: 300,
                    reserved: 0,
                },
                mode: 0o600,
                flags: 0,
            };
            expect_err(
                "len 300",
                ioctl(dev, KC_IOC_CREATE, &mut req),
                libc::ENAMETOOLONG,
            )
        },
    );

    s.case(
        "names: empty, space, DEL, NUL, 0x80 and 0xff give EINVAL",
        || {
            for bad in [&b""[..], b"a b", b"a\x7f", b"a\0b", b"\x80", b"\xff", b"\n"] {
                let mut req = KcCreate {
                    name: kname(bad),
                    mode: 0o600,
                    flags: 0,
                };
                expect_err(
                    &format!("create {bad:?}"),
                    ioctl(dev, KC_IOC_CREATE, &mut req),
                    libc::EINVAL,
                )?;
            }
            Ok(())
        },
    );

    s.case("every printable byte 0x21..0x7e is a valid name", || {
        let all: Vec<u8> = (0x21u8..=0x7e).collect();
        for chunk in all.chunks(63) {
            let name = std::str::from_utf8(chunk).unwrap();
            let _fd = ok("create", create_excl(dev, name))?;
            ok("unlink", unlink(dev, name))?;
        }
        Ok(())
    });
}
