//! Permissions as a non-root user (uid 1000): the mode decides EACCES, the access of the fd
//! decides EBADF; root bypasses.

use super::{as_user, expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "permissions: a non-root user gets EACCES/EBADF as the mode says",
        || {
            let _private = ok("create", create_mode(dev, "t.perm.private", 0o600, 0))?;
            let _readable = ok("create", create_mode(dev, "t.perm.read", 0o644, 0))?;
            let _open = ok("create", create_mode(dev, "t.perm.open", 0o666, 0))?;
            as_user(1000, 1000, || {
                let dev = open_dev();
                expect_err("open 0600", open(&dev, "t.perm.private"), libc::EACCES)?;
                expect_err(
                    "create-open 0600",
                    create(&dev, "t.perm.private"),
                    libc::EACCES,
                )?;
                expect_err(
                    "create-open 0644",
                    create(&dev, "t.perm.read"),
                    libc::EACCES,
                )?;
                expect_err(
                    "open 0644 for write",
                    open_access(&dev, "t.perm.read", KC_ACCESS_WRITE),
                    libc::EACCES,
                )?;
                let r = ok(
                    "open 0644 for read",
                    open_access(&dev, "t.perm.read", KC_ACCESS_READ),
                )?;
                expect_err("complete on read-only fd", complete(&r), libc::EBADF)?;
                expect_err("reinit on read-only fd", reinit(&r), libc::EBADF)?;
                expect_err(
                    "complete_all on read-only fd",
                    complete_all(&r),
                    libc::EBADF,
                )?;
                expect_err("try_wait on read-only fd", try_wait(&r), libc::EAGAIN)?;
                expect_err("unlink 0644", unlink(&dev, "t.perm.read"), libc::EACCES)?;
                let w = ok(
                    "open 0666 write-only",
                    open_access(&dev, "t.perm.open", KC_ACCESS_WRITE),
                )?;
                ok("complete on write-only fd", complete(&w))?;
                expect_err("try_wait on write-only fd", try_wait(&w), libc::EBADF)?;
                expect_err("info on write-only fd", info(&w).map(|_| ()), libc::EBADF)?;
                let mine = ok("create own", create_mode(&dev, "t.perm.mine", 0o600, 0))?;
                let i = ok("info", info(&mine))?;
                check!(i.uid == 1000 && i.gid == 1000, "owner {}:{}", i.uid, i.gid);
                ok("unlink own", unlink(&dev, "t.perm.mine"))
            })?;
            let o = ok("root opens", open(dev, "t.perm.open"))?;
            ok("completion from uid 1000 arrived", try_wait(&o))?;
            // Root bypasses with CAP_IPC_OWNER: an object of uid 1000 with mode 0.
            as_user(1000, 1000, || {
                let dev = open_dev();
                let _fd = ok("create mode 0", create_mode(&dev, "t.perm.zero", 0, 0))?;
                Ok(())
            })?;
            ok("root opens mode 0", open(dev, "t.perm.zero"))?;
            for n in [
                "t.perm.private",
                "t.perm.read",
                "t.perm.open",
                "t.perm.zero",
            ] {
                ok("unlink", unlink(dev, n))?;
            }
            Ok(())
        },
    );
}
