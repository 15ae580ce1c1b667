//! The per-user quota, as user `kcuser` (uid 1000) through this program's `--fill-quota` mode,
//! then through the CLI.

use crate::common::*;

pub fn fill_quota(prefix: &str) -> ! {
    let mut n = 0u32;
    loop {
        match Completion::create(&format!("{prefix}-{n}"), &Options::new().exclusive(true)) {
            Ok(_) => n += 1,
            Err(e) => {
                println!(
                    "created {n} {:?} {}",
                    e.kind(),
                    e.raw_os_error().unwrap_or(0)
                );
                std::process::exit(0);
            }
        }
    }
}

fn read_param(p: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/module/kcompletion/parameters/{p}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn lib_user_quota() -> R {
    let max = read_param("max_per_user").unwrap_or(4096);
    let prefix = name("quota");
    let names: Vec<String> = (0..=max).map(|i| format!("{prefix}-{i}")).collect();
    let _g = Cleanup(names);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = su_kcuser(&format!("{} --fill-quota {prefix}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        text.trim() == format!("created {max} Limit {}", libc::EDQUOT),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI reports it with exit code 9.
    let out = su_kcuser(&format!("kcompletion create {prefix}-extra"))?;
    ensure!(out.status.code() == Some(9), "{out:?}");
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("limit"),
        "{out:?}"
    );
    let _ = kcompletion::unlink(&format!("{prefix}-extra"));
    Ok(())
}

pub const CASES: &[Case] = &[(
    "library: per-user quota is Limit (EDQUOT), CLI exit 9",
    lib_user_quota,
)];
