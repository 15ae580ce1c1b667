//! P5 and P5b (issue 12): reading an object's state page instead of making an ioctl. P5: a
//! `done` check (`Completion::is_done` through the page, `c:done()` in Lua 5.4 and LuaJIT)
//! against the `DONE` ioctl; P5b: a failing `try_wait` against `TRY_WAIT`'s `EAGAIN`. Rust
//! through the library (`kcompletion::Completion`, which maps the page on first use), beside
//! the raw ioctl in the same repetition; Lua through the module's C methods (5.4) and its FFI
//! methods (LuaJIT), both reading the page.

use crate::pingpong::time_process;
use crate::sys::*;
use crate::{emit, fail, Config};
use kcompletion::Completion;
use std::hint::black_box;
use std::os::fd::{FromRawFd, OwnedFd};

const P5_LUA: &str = include_str!("../lua/p5.lua");

/// Per call of `script N op` under `interp` (the 2N−N process difference, as P6).
fn per_call(interp: &str, script: &str, op: &str, n: u64) -> Result<f64, String> {
    let run = |k: u64| time_process(interp, &[script.to_string(), k.to_string(), op.to_string()]);
    let (a, b) = (run(n)?, run(2 * n)?);
    Ok((b as f64 - a as f64) / n as f64)
}

pub fn p5(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let raw = kc_fresh(dev, "kcb.p5.raw");
    // SAFETY: `kc_fresh` returns a new object fd that nothing else owns.
    let lib = Completion::from_fd(unsafe { OwnedFd::from_raw_fd(kc_fresh(dev, "kcb.p5.lib")) });
    if !lib.uses_state_page() {
        fail(
            "P5",
            "the library maps no state page (MAP_INFO or mmap failed)",
        );
        close(raw);
        close(dev);
        return;
    }
    let script = "/tmp/kcb-p5.lua";
    std::fs::write(script, P5_LUA).expect("write /tmp/kcb-p5.lua");
    let n = cfg.pick(200_000u64, 10_000);
    for rep in 0..cfg.reps {
        let v = time_per_call(n, || {
            black_box(kc_done(raw));
        });
        emit("P5", "done", "ioctl", 0, rep, v, "ns");
        let v = time_per_call(n, || {
            black_box(lib.is_done().expect("is_done"));
        });
        emit("P5", "done", "rust-page", 0, rep, v, "ns");
        let v = time_per_call(n, || {
            black_box(kc_try_wait(raw));
        });
        emit("P5b", "failing-trywait", "ioctl", 0, rep, v, "ns");
        let v = time_per_call(n, || {
            black_box(lib.try_wait().expect("try_wait"));
        });
        emit("P5b", "failing-trywait", "rust-page", 0, rep, v, "ns");
        for interp in ["lua5.4", "luajit"] {
            for (scenario, case, op) in [
                ("P5", "done", "done"),
                ("P5b", "failing-trywait", "trywait"),
            ] {
                match per_call(interp, script, op, n) {
                    Ok(v) => emit(scenario, case, interp, 0, rep, v, "ns"),
                    Err(e) => fail(scenario, &format!("{interp}: {e}")),
                }
            }
        }
    }
    close(raw);
    close(dev);
}
