//! Limits: `max_per_user` (EDQUOT) and `max_objects` (ENOSPC), with the module reloaded.

use super::{as_user, expect_err, ok, reload, Suite};
use kcompletion_driver_tests::sys::*;

pub fn run(s: &mut Suite) {
    s.case(
        "limits: max_per_user gives EDQUOT, max_objects gives ENOSPC",
        || {
            reload(&["max_objects=6", "max_per_user=3"])?;
            as_user(1000, 1000, || {
                let dev = open_dev();
                for i in 0..3 {
                    ok("create", create(&dev, &format!("t.quota.{i}")))?;
                }
                expect_err("4th as uid 1000", create(&dev, "t.quota.3"), libc::EDQUOT)?;
                ok("unlink", unlink(&dev, "t.quota.0"))?;
                ok("create after unlink", create(&dev, "t.quota.3"))?;
                Ok(())
            })?;
            let dev = open_dev();
            for i in 0..3 {
                ok("root create", create(&dev, &format!("t.limit.{i}")))?;
            }
            expect_err("7th object", create(&dev, "t.limit.3"), libc::ENOSPC)?;
            expect_err(
                "open-or-create of a new name",
                create(&dev, "t.limit.x"),
                libc::ENOSPC,
            )?;
            ok("open existing at the limit", open(&dev, "t.limit.0"))?;
            drop(dev);
            reload(&[])
        },
    );
}
