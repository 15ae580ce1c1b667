//! Module unload: refused while an fd is open; frees the named objects nobody has open.

use super::{module_path, ok, reload, sh, Suite};
use kcompletion_driver_tests::sys::*;

pub fn run(s: &mut Suite) {
    s.case(
        "rmmod is refused while an fd is open, and works after close",
        || {
            let dev = open_dev();
            let fd = ok("create", create(&dev, "t.rmmod"))?;
            drop(dev);
            check!(
                sh("rmmod", &["kcompletion"]).is_err(),
                "rmmod succeeded with an fd open"
            );
            let dev = open_dev();
            ok("unlink", unlink(&dev, "t.rmmod"))?;
            drop(dev);
            drop(fd);
            sh("rmmod", &["kcompletion"])?;
            check!(!std::path::Path::new(DEV).exists(), "{DEV} still exists");
            sh("insmod", &[&module_path()])
        },
    );

    s.case("unload frees named objects that nobody has open", || {
        let dev = open_dev();
        for i in 0..50 {
            ok("create", create(&dev, &format!("t.leftover.{i}")))?;
        }
        drop(dev);
        reload(&[])?;
        let dev = open_dev();
        let left = ok("list", list_all(&dev, 64))?;
        check!(left.is_empty(), "{} objects survived a reload", left.len());
        Ok(())
    });
}
