//! Requests the driver must refuse without changing anything: nonzero reserved fields,
//! unknown flags, bad modes and access (`EINVAL`), bad pointers (`EFAULT`), unknown ioctls and
//! ioctls on the wrong kind of fd (`ENOTTY`).

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd};

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "nonzero reserved fields, unknown flags, bad mode or access give EINVAL",
        || {
            let name = b"t.reserved";
            let mut c = KcCreate {
                name: kname(name),
                mode: 0o600,
                flags: 0,
            };
            c.name.reserved = 1;
            expect_err(
                "name.reserved",
                ioctl(dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            c.name.reserved = 0;
            c.flags = 2;
            expect_err(
                "create flags",
                ioctl(dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            c.flags = 0;
            c.mode = 0o1000;
            expect_err(
                "mode 01000",
                ioctl(dev, KC_IOC_CREATE, &mut c),
                libc::EINVAL,
            )?;
            let fd = ok("create", create(dev, "t.reserved"))?;
            for (access, reserved) in [(0, 0), (4, 0), (1, 1)] {
                let mut o = KcOpen {
                    name: kname(name),
                    access,
                    reserved,
                };
                expect_err(
                    &format!("open access {access} reserved {reserved}"),
                    ioctl(dev, KC_IOC_OPEN, &mut o),
                    libc::EINVAL,
                )?;
            }
            let mut w = KcWait {
                deadline_ns: 0,
                flags: 0,
                reserved: 1,
            };
            expect_err(
                "wait reserved",
                ioctl(&fd, KC_IOC_WAIT, &mut w),
                libc::EINVAL,
            )?;
            w.reserved = 0;
            w.flags = 2;
            expect_err("wait flags", ioctl(&fd, KC_IOC_WAIT, &mut w), libc::EINVAL)?;
            w.flags = 0;
            w.deadline_ns = i64::MAX as u64 + 1;
            expect_err(
                "wait deadline > INT64_MAX",
                ioctl(&fd, KC_IOC_WAIT, &mut w),
                libc::EINVAL,
            )?;
            let mut buf = [KcInfo::default(); 2];
            for (capacity, reserved) in [(0, 0), (KC_LIST_MAX + 1, 0), (2, 1)] {
                let mut l = KcList {
                    entries: buf.as_mut_ptr() as u64,
                    capacity,
                    count: 0,
                    cursor: 0,
                    reserved,
                };
                expect_err(
                    &format!("list capacity {capacity} reserved {reserved}"),
                    ioctl(dev, KC_IOC_LIST, &mut l),
                    libc::EINVAL,
                )?;
            }
            ok("unlink", unlink(dev, "t.reserved"))
        },
    );

    s.case(
        "bad pointers (NULL, unmapped, kernel) give EFAULT and change nothing",
        || {
            let fd = ok("create", create(dev, "t.efault"))?;
            for addr in [0usize, 1, 0x10, 0xffff_8000_0000_0000, usize::MAX - 7] {
                for cmd in [
                    KC_IOC_VERSION,
                    KC_IOC_CREATE,
                    KC_IOC_OPEN,
                    KC_IOC_UNLINK,
                    KC_IOC_LIST,
                ] {
                    expect_err(
                        &format!("dev ioctl {cmd:#x} arg {addr:#x}"),
                        ioctl_raw(dev.as_raw_fd(), cmd, addr),
                        libc::EFAULT,
                    )?;
                }
                for cmd in [KC_IOC_WAIT, KC_IOC_INFO] {
                    expect_err(
                        &format!("obj ioctl {cmd:#x} arg {addr:#x}"),
                        ioctl_raw(fd.as_raw_fd(), cmd, addr),
                        libc::EFAULT,
                    )?;
                }
                let mut c = KcCreate {
                    name: KcName {
                        ptr: addr as u64,
                        len: 5,
                        reserved: 0,
                    },
                    mode: 0o600,
                    flags: 0,
                };
                expect_err("name ptr", ioctl(dev, KC_IOC_CREATE, &mut c), libc::EFAULT)?;
                let mut l = KcList {
                    entries: addr as u64,
                    capacity: 4,
                    count: 0,
                    cursor: 0,
                    reserved: 0,
                };
                expect_err(
                    "list entries",
                    ioctl(dev, KC_IOC_LIST, &mut l),
                    libc::EFAULT,
                )?;
            }
            let i = ok("info", info(&fd))?;
            check!(i.done == 0 && i.handles == 1, "state changed: {i:?}");
            ok("unlink", unlink(dev, "t.efault"))
        },
    );

    s.case(
        "unknown ioctls and ioctls on the wrong kind of fd give ENOTTY",
        || {
            let fd = ok("create", create(dev, "t.enotty"))?;
            for cmd in [
                0u32,
                0xC700_0099,
                kc_ioc(0, 0x7f, 0),
                KC_IOC_COMPLETE,
                KC_IOC_WAIT,
            ] {
                expect_err(
                    &format!("dev {cmd:#x}"),
                    ioctl_raw(dev.as_raw_fd(), cmd, 0),
                    libc::ENOTTY,
                )?;
            }
            for cmd in [
                0u32,
                kc_ioc(0, 0x7f, 0),
                KC_IOC_CREATE,
                KC_IOC_VERSION,
                KC_IOC_LIST,
            ] {
                expect_err(
                    &format!("obj {cmd:#x}"),
                    ioctl_raw(fd.as_raw_fd(), cmd, 0),
                    libc::ENOTTY,
                )?;
            }
            ok("unlink", unlink(dev, "t.enotty"))
        },
    );
}
