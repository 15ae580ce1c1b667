//! `cargo xtask vm`: boot the guest with the module loaded and run a command in it, or
//! an interactive shell; also the hidden `initramfs` debugging aid.

use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::initramfs::{self, GuestSpec};
use crate::kernel::Flavour;
use crate::kernels::KernelLine;
use crate::prepare::{build_initrd, job_conf, prepare, MODULE_PATH};
use crate::qemu::{self, BootOptions, BootResult, Echo};
use crate::shell::shell_join;
use crate::util;

/// Boot a guest (kernel `line` of flavour `flavour`, the module loaded unless `no_module`) and run `cmd` as
/// root in it, or an interactive shell when `cmd` is empty.
pub fn cmd_vm(
    include: &[PathBuf],
    (line, flavour): (KernelLine, Flavour),
    timeout: u64,
    no_module: bool,
    kmemleak: bool,
    cmd: &[String],
) -> Result<i32> {
    let p = prepare(line, flavour, !no_module)?;
    let insmod = !no_module;
    if insmod && p.module.is_none() {
        util::stage(
            "vm",
            "warning: no kcompletion.ko (no driver yet); booting without it",
        );
    }
    let mut spec = GuestSpec {
        module: p.module.clone(),
        bins: p.bins.clone(),
        includes: include.to_vec(),
        ..Default::default()
    };
    if cmd.is_empty() {
        // Probe image for the accelerator choice (only used once).
        spec.job_conf = job_conf("job", false, MODULE_PATH, false, false);
        spec.job = Some("true\n".into());
        let probe = build_initrd("kvm-probe", &spec)?;
        let accel = qemu::choose_accel_interactive(&p.kernel, &probe)?;
        spec.job_conf = job_conf("interactive", insmod, MODULE_PATH, false, false);
        spec.job = None;
        let initrd = build_initrd("vm", &spec)?;
        return qemu::boot_interactive(&p.kernel, &initrd, accel);
    }
    spec.job_conf = job_conf("job", insmod, MODULE_PATH, kmemleak, kmemleak);
    spec.job = Some(format!("cd /root || cd /\n{}\n", shell_join(cmd)));
    let initrd = build_initrd("vm", &spec)?;
    let opts = BootOptions {
        name: "vm".into(),
        initrd,
        kunit: false,
        idle_timeout: Duration::from_secs(timeout),
        total_timeout: Duration::from_secs(timeout),
        echo: Echo::Raw,
    };
    let r = qemu::boot(&p.kernel, &opts)?;
    Ok(job_exit_code("vm", &r))
}

/// Print where the boot log of a finished job guest is and its problems; the exit code
/// of the command: the job's status, else 1 if the run was not clean, else 0.
pub fn job_exit_code(tag: &str, r: &BootResult) -> i32 {
    eprintln!(
        "[{tag}] boot log: {} (accelerator {})",
        r.console_log.display(),
        r.accel.name()
    );
    r.report_problems(tag);
    let status = r.exit_status.unwrap_or(1);
    if status != 0 {
        status
    } else if r.clean() {
        0
    } else {
        1
    }
}

/// Write the `test` initramfs (all suites in one guest) to `out`.
pub fn initramfs_only(out: &Path) -> Result<i32> {
    let ko = util::repo_root().join("driver/kcompletion.ko");
    let spec = GuestSpec {
        module: ko.is_file().then_some(ko),
        job_conf: job_conf("job", true, MODULE_PATH, true, true),
        job: Some(crate::test::test_job(None)?),
        ..Default::default()
    };
    initramfs::build(&spec, out)?;
    Ok(0)
}
