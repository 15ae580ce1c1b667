//! P6's measurement floor (issue 16): `bench/floor/kcfloor.c`, a plain Lua C module that makes
//! only the two ioctls behind userdata methods, compiled with the host C compiler against the
//! Lua headers of the pinned `lua-src` crate (the one driver/lua-sources pins), once for
//! Lua 5.4 and once for Lua 5.1 (LuaJIT loads the 5.1 build), for the bench guest only.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// Where the guest finds them: `<dir>/5.4/kcfloor.so`, `<dir>/5.1/kcfloor.so` (kc-bench's
/// bench/lua/p6_floor.lua reads the same folder).
pub const GUEST_DIR: &str = "/usr/lib/kcompletion/floor";

/// (Lua ABI, prefix of its source folder in lua-src)
const ABIS: &[(&str, &str)] = &[("5.4", "lua-5.4."), ("5.1", "lua-5.1.")];

/// The folder of the `lua-src` crate, from `cargo metadata` (as driver/lua/prepare-sources.sh).
fn lua_src_dir() -> Result<PathBuf> {
    let out = util::cmd_output(
        Command::new(util::cargo())
            .current_dir(util::repo_root())
            .args(["metadata", "--format-version", "1", "--locked"]),
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    let manifest = v["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "lua-src")
        .and_then(|p| p["manifest_path"].as_str())
        .context("lua-src is not in cargo metadata (driver/lua-sources pins it)")?;
    Ok(Path::new(manifest)
        .parent()
        .context("lua-src manifest path")?
        .to_path_buf())
}

/// The one folder under `dir` whose name starts with `prefix` (e.g. `lua-5.4.` → `lua-5.4.9`).
fn source_folder(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .filter(|p| p.join("lua.h").is_file())
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => bail!("{n} folders {prefix}* with lua.h in {}", dir.display()),
    }
}

/// Compiles the floor module for each ABI; returns (guest path, host file) pairs for the
/// initramfs. Any failure fails the bench run: a P6 run without its floor is not a P6 run.
pub fn build() -> Result<Vec<(String, PathBuf)>> {
    let root = util::repo_root();
    let src = root.join("bench/floor/kcfloor.c");
    let lua = lua_src_dir()?;
    let out_dir = util::target_dir().join("bench-floor");
    let log = util::target_dir().join("xtask/bench-floor-build.log");
    let _ = std::fs::remove_file(&log);
    let mut files = Vec::new();
    for (abi, prefix) in ABIS {
        let headers = source_folder(&lua, prefix)?;
        let out = out_dir.join(abi).join("kcfloor.so");
        std::fs::create_dir_all(out.parent().unwrap())?;
        let mut c = Command::new("cc");
        c.args([
            "-std=gnu99",
            "-O2",
            "-fPIC",
            "-shared",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .arg("-I")
        .arg(&headers)
        .arg("-I")
        .arg(root.join("driver/uapi"))
        .arg(&src)
        .arg("-o")
        .arg(&out);
        util::run_logged(
            &mut c,
            &log,
            "bench",
            &format!(
                "P6 floor module for Lua {abi} (bench/floor/kcfloor.c, headers {})",
                headers.display()
            ),
        )?;
        files.push((format!("{GUEST_DIR}/{abi}/kcfloor.so"), out));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::source_folder;

    #[test]
    fn picks_the_one_source_folder_with_lua_h() {
        let d = std::env::temp_dir().join(format!("kc-floor-test-{}", std::process::id()));
        for (sub, header) in [
            ("lua-5.4.9", true),
            ("lua-5.1.5", true),
            ("lua-5.4.x-notes", false),
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            if header {
                std::fs::write(d.join(sub).join("lua.h"), "").unwrap();
            }
        }
        assert_eq!(source_folder(&d, "lua-5.4.").unwrap(), d.join("lua-5.4.9"));
        assert_eq!(source_folder(&d, "lua-5.1.").unwrap(), d.join("lua-5.1.5"));
        assert!(source_folder(&d, "lua-5.3.").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
