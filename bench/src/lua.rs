//! P6: the Lua binding's overhead. A loop of `c:complete()` + `c:trywait()` in Lua 5.4, Lua 5.1
//! and LuaJIT (`require "kcompletion"`) against the same loop in Rust on raw ioctls, and
//! against the floor: the same loop over `kcfloor` (bench/floor/kcfloor.c, a plain C module
//! making only the two ioctls, installed by `cargo xtask bench`), same interpreter, same
//! repetition.

use crate::pingpong::per_iteration;
use crate::sys::*;
use crate::{emit, fail, progress, Config};

const P6_LUA: &str = include_str!("../lua/p6.lua");
const P6_FLOOR_LUA: &str = include_str!("../lua/p6_floor.lua");

/// The interpreters P6 runs: the binding's mechanism name is the interpreter's, the floor's
/// `floor-<interpreter>`.
const INTERPS: [&str; 3] = ["lua5.4", "lua5.1", "luajit"];

pub fn p6(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let script = "/tmp/kcb-p6.lua";
    std::fs::write(script, P6_LUA).expect("write /tmp/kcb-p6.lua");
    let floor_script = "/tmp/kcb-p6-floor.lua";
    std::fs::write(floor_script, P6_FLOOR_LUA).expect("write /tmp/kcb-p6-floor.lua");
    let n = cfg.pick(100_000u64, 5_000);
    let fd = kc_fresh(dev, "kcb.p6.rust");
    // A binding that cannot run is skipped (as before); a floor that cannot run fails the run.
    let mut failed = [[false; 2]; INTERPS.len()];
    for rep in 0..cfg.reps {
        // Rust, raw ioctls: the same two calls per iteration.
        for _ in 0..n / 10 {
            kc_complete(fd);
            kc_try_wait(fd);
        }
        let t0 = now_ns();
        for _ in 0..n {
            kc_complete(fd);
            assert!(kc_try_wait(fd));
        }
        let v = (now_ns() - t0) as f64 / n as f64;
        emit("P6", "complete+trywait", "rust-ioctl", 0, rep, v, "ns");
        for (i, interp) in INTERPS.into_iter().enumerate() {
            let floor = format!("floor-{interp}");
            for (j, (mech, path)) in [(interp, script), (floor.as_str(), floor_script)]
                .into_iter()
                .enumerate()
            {
                if failed[i][j] {
                    continue;
                }
                match per_iteration(interp, path, n) {
                    Ok(v) => emit("P6", "complete+trywait", mech, 0, rep, v, "ns"),
                    Err(e) if j == 0 => {
                        fail("P6", &format!("{interp}: {e}"));
                        failed[i][j] = true;
                    }
                    Err(e) => {
                        fail("P6", &format!("{mech} (the C floor module): {e}"));
                        failed[i][j] = true;
                    }
                }
            }
        }
        progress(&format!("P6 rep {} of {}", rep + 1, cfg.reps));
    }
    close(fd);
    close(dev);
}

const PROFILE_LUA: &str = include_str!("../lua/profile.lua");

/// `--only profile`: where the binding's time goes (not part of the default run).
pub fn profile(cfg: &Config) {
    let script = "/tmp/kcb-profile.lua";
    std::fs::write(script, PROFILE_LUA).expect("write /tmp/kcb-profile.lua");
    let n = cfg.pick(200_000u64, 20_000).to_string();
    for interp in INTERPS {
        match std::process::Command::new(interp)
            .args([script, &n, interp])
            .output()
        {
            Ok(o) => {
                print!("{}", String::from_utf8_lossy(&o.stdout));
                eprint!("{}", String::from_utf8_lossy(&o.stderr));
            }
            Err(e) => fail("profile", &format!("{interp}: {e}")),
        }
    }
}
