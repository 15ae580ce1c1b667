//! `cargo xtask fuzz`: the ioctl fuzzer `kc-fuzz` in a debug guest with kmemleak, for
//! longer than CI runs it (a `cargo xtask vm -- kc-fuzz ...` run).

use anyhow::Result;

use crate::kernel::Flavour;
use crate::vm::cmd_vm;

pub fn cmd_fuzz(calls: u64, seed: Option<u64>, threads: u32, timeout: u64) -> Result<i32> {
    cmd_vm(
        &[],
        (crate::kernels::KernelLine::V6_12, Flavour::Debug),
        timeout,
        false,
        true,
        &fuzz_args(calls, seed, threads),
    )
}

/// The `kc-fuzz` command line run in the guest.
fn fuzz_args(calls: u64, seed: Option<u64>, threads: u32) -> Vec<String> {
    let mut cmd = vec![
        "kc-fuzz".to_string(),
        "--calls".into(),
        calls.to_string(),
        "--threads".into(),
        threads.to_string(),
    ];
    if let Some(seed) = seed {
        cmd.extend(["--seed".into(), seed.to_string()]);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_command_line() {
        assert_eq!(
            fuzz_args(5, None, 2),
            ["kc-fuzz", "--calls", "5", "--threads", "2"]
        );
        assert_eq!(
            fuzz_args(5, Some(7), 2)[5..],
            ["--seed".to_string(), "7".to_string()]
        );
    }
}
