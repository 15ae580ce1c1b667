//! `cargo xtask demo`: boot the debug guest, load the module and run `tests/demo.sh`.

use anyhow::{Context, Result};
use std::time::Duration;

use crate::initramfs::GuestSpec;
use crate::kernel::Flavour;
use crate::kernels::KernelLine;
use crate::prepare::{build_initrd, job_conf, prepare, MODULE_PATH};
use crate::qemu::{self, BootOptions, Echo};
use crate::util;
use crate::vm::job_exit_code;

pub fn cmd_demo(line: KernelLine) -> Result<i32> {
    let p = prepare(line, Flavour::Debug, true)?;
    let demo = util::repo_root().join("tests/demo.sh");
    let script =
        std::fs::read_to_string(&demo).with_context(|| format!("read {}", demo.display()))?;
    let spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        job_conf: job_conf("job", true, MODULE_PATH, false, false),
        // one stream, so `set -x` traces stay next to their output
        job: Some(format!("exec 2>&1\n{script}")),
        ..Default::default()
    };
    let initrd = build_initrd("demo", &spec)?;
    let opts = BootOptions {
        name: "demo".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(180),
        total_timeout: Duration::from_secs(900),
        echo: Echo::Raw,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    Ok(job_exit_code("demo", &r))
}
