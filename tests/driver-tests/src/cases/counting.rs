//! Counting: every COMPLETE lets one TRY_WAIT or WAIT through; DONE looks without taking;
//! COMPLETE_ALL opens the object until REINIT.

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::OwnedFd;

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    s.case(
        "counting: 3 completes let 3 try-waits through, the 4th gets EAGAIN",
        || {
            let fd = ok("create", create(dev, "t.count"))?;
            for _ in 0..3 {
                ok("complete", complete(&fd))?;
            }
            check!(ok("info", info(&fd))?.done == 3, "done != 3");
            for i in 0..3 {
                ok(&format!("try_wait {i}"), try_wait(&fd))?;
            }
            expect_err("4th try_wait", try_wait(&fd), libc::EAGAIN)?;
            ok("unlink", unlink(dev, "t.count"))
        },
    );

    s.case(
        "counting: 3 completes let 3 waits through, the 4th times out",
        || {
            let fd = ok("create", create(dev, "t.count2"))?;
            for _ in 0..3 {
                ok("complete", complete(&fd))?;
            }
            for i in 0..3 {
                ok(&format!("wait {i}"), wait_ms(&fd, 1000))?;
            }
            expect_err("4th wait", wait_ms(&fd, 20), libc::ETIMEDOUT)?;
            ok("unlink", unlink(dev, "t.count2"))
        },
    );

    s.case(
        "DONE reports pending completions without consuming them",
        || {
            let fd = ok("create", create(dev, "t.done"))?;
            check!(!ok("done", done(&fd))?, "done before complete");
            ok("complete", complete(&fd))?;
            check!(ok("done", done(&fd))? && ok("done", done(&fd))?, "not done");
            ok("try_wait", try_wait(&fd))?;
            check!(!ok("done", done(&fd))?, "still done");
            ok("unlink", unlink(dev, "t.done"))
        },
    );

    s.case(
        "COMPLETE_ALL lets every wait through until REINIT; COMPLETE saturates",
        || {
            let fd = ok("create", create(dev, "t.all"))?;
            ok("complete_all", complete_all(&fd))?;
            check!(ok("info", info(&fd))?.done == KC_DONE_ALL, "done != all");
            for _ in 0..5 {
                ok("wait", wait_ms(&fd, 100))?;
                ok("try_wait", try_wait(&fd))?;
            }
            ok("complete", complete(&fd))?;
            check!(
                ok("info", info(&fd))?.done == KC_DONE_ALL,
                "complete changed done-all"
            );
            ok("reinit", reinit(&fd))?;
            check!(ok("info", info(&fd))?.done == 0, "reinit left done");
            expect_err("try_wait after reinit", try_wait(&fd), libc::EAGAIN)?;
            ok("unlink", unlink(dev, "t.all"))
        },
    );
}
