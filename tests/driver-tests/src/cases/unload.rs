//! Module unload: refused while an fd is open; frees the named objects nobody has open.

use super::{module_path, ok, reload, sh, Suite};
use kcompletion_abi::*;
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

    s.case(
        "rmmod is refused while a state page is mapped (the vma holds the file), and works after munmap",
        || {
            let dev = open_dev();
            let fd = ok("create", create(&dev, "t.rmmod.map"))?;
            let page = ok("mmap", StatePage::map(&fd))?;
            ok("unlink", unlink(&dev, "t.rmmod.map"))?;
            drop(dev);
            drop(fd);
            let refused = sh("rmmod", &["kcompletion"]).is_err();
            let flags = page.word(3);
            drop(page);
            check!(refused, "rmmod succeeded with a mapping");
            check!(flags == KC_STATE_GONE, "the object is not shown gone: flags {flags}");
            sh("rmmod", &["kcompletion"])?;
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
