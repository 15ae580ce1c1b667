//! The runner self-test of `cargo xtask test`: a guest whose module WARNs on load must
//! be judged not clean.

use anyhow::Result;
use std::path::Path;
use std::time::Duration;

use crate::initramfs::GuestSpec;
use crate::prepare::{build_initrd, job_conf, Prepared, MODULE_PATH};
use crate::qemu::{self, BootOptions, Echo};
use crate::util;

/// Boot a guest that loads a module doing `WARN(1, ...)` and check the
/// runner flags the splat and fails the run. Ok(()) when it does.
pub fn runner_selftest(p: &Prepared, ko: &Path) -> Result<std::result::Result<(), String>> {
    let spec = GuestSpec {
        module: None,
        extra_modules: vec![ko.to_path_buf()],
        job_conf: job_conf("job", false, MODULE_PATH, false, false),
        job: Some(
            "insmod /lib/modules/warn_on_load.ko && echo 'ok 1 - warn_on_load loaded'\n".into(),
        ),
        ..Default::default()
    };
    let initrd = build_initrd("selftest", &spec)?;
    let opts = BootOptions {
        name: "selftest".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(120),
        total_timeout: Duration::from_secs(600),
        echo: Echo::Quiet,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    let seen = r
        .splats
        .iter()
        .any(|s| s.excerpt.contains("kcompletion runner self-test"));
    let verdict = if r.exit_status != Some(0) {
        Err(format!(
            "the self-test job itself failed (status {:?}, {:?})",
            r.exit_status, r.failure
        ))
    } else if !seen {
        Err(format!(
            "the WARN was not reported as a splat (console: {})",
            r.console_log.display()
        ))
    } else if r.clean() {
        Err("the runner judged a run with a WARN clean".into())
    } else {
        Ok(())
    };
    match &verdict {
        Ok(()) => util::stage(
            "selftest",
            "ok: the runner caught the WARN and failed that run (as it must)",
        ),
        Err(e) => util::stage("selftest", &format!("FAILED: {e}")),
    }
    Ok(verdict)
}
