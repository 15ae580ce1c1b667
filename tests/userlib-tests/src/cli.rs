//! The `kcompletion` command as a process (`$KCOMPLETION_CLI` or `kcompletion` on PATH): help,
//! every subcommand, its messages and exit codes, as `kcuser` too, and in a shell pipeline.

use crate::common::*;

fn cli_path() -> String {
    std::env::var("KCOMPLETION_CLI").unwrap_or_else(|_| "kcompletion".into())
}

fn kc(args: &[&str]) -> Result<Output, String> {
    Command::new(cli_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cli_path()))
}

/// A new object of its own for a case, made by `kcompletion create`: its name (from `tag`) and
/// the guard that unlinks it.
fn cli_object(tag: &str) -> Result<(String, Cleanup), String> {
    let n = name(tag);
    let g = cleanup(&[&n]);
    kc_expect(&["create", &n], 0)?;
    Ok((n, g))
}

/// Runs the CLI and checks its exit code; returns (stdout, stderr).
fn kc_expect(args: &[&str], code: i32) -> Result<(String, String), String> {
    let out = kc(args)?;
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(code) {
        return Err(format!(
            "kcompletion {}: exit {:?}, expected {code}; stdout {so:?} stderr {se:?}",
            args.join(" "),
            out.status.code()
        ));
    }
    Ok((so, se))
}

fn cli_help() -> R {
    for sub in [
        "create", "open", "complete", "wait", "trywait", "reinit", "unlink", "info", "list",
    ] {
        let (so, _) = kc_expect(&[sub, "--help"], 0)?;
        ensure!(
            so.contains("Exit codes") && so.contains("10  driver not loaded"),
            "{sub}: {so}"
        );
    }
    let (so, _) = kc_expect(&["--help"], 0)?;
    ensure!(so.contains("Exit codes"));
    Ok(())
}

fn cli_create_exists() -> R {
    let (n, _g) = cli_object("c-create")?;
    kc_expect(&["create", &n], 0)?;
    let (_, se) = kc_expect(&["create", &n, "--exclusive"], 8)?;
    ensure!(
        se == format!("kcompletion: create \"{n}\": already exists\n"),
        "{se:?}"
    );
    let n2 = name("c-mode");
    let _g2 = cleanup(&[&n2]);
    kc_expect(&["create", &n2, "--mode", "640"], 0)?;
    ensure!(ok(ok(Completion::open(&n2))?.info())?.mode == 0o640);
    Ok(())
}

fn cli_open() -> R {
    let n = name("c-open");
    let _g = cleanup(&[&n]);
    let (_, se) = kc_expect(&["open", &n], 5)?;
    ensure!(
        se == format!("kcompletion: open \"{n}\": no such completion\n"),
        "{se:?}"
    );
    kc_expect(&["create", &n], 0)?;
    kc_expect(&["open", &n], 0)?;
    kc_expect(&["open", &n, "--access", "r"], 0)?;
    Ok(())
}

fn cli_complete_trywait() -> R {
    let (n, _g) = cli_object("c-try")?;
    kc_expect(&["trywait", &n], 4)?;
    kc_expect(&["complete", &n], 0)?;
    kc_expect(&["complete", &n], 0)?;
    kc_expect(&["trywait", &n], 0)?;
    kc_expect(&["wait", &n], 0)?;
    kc_expect(&["trywait", &n], 4)?;
    Ok(())
}

fn cli_wait_timeout() -> R {
    let (n, _g) = cli_object("c-timeout")?;
    let t = Instant::now();
    let (_, se) = kc_expect(&["wait", &n, "--timeout", "50"], 3)?;
    ensure!(t.elapsed() >= Duration::from_millis(50));
    ensure!(
        se == format!("kcompletion: wait \"{n}\": timed out after 50 ms\n"),
        "{se:?}"
    );
    kc_expect(&["wait", "--timeout", "0", &n], 3)?;
    Ok(())
}

fn cli_complete_all_reinit() -> R {
    let (n, _g) = cli_object("c-all")?;
    kc_expect(&["complete", &n, "--all"], 0)?;
    for _ in 0..3 {
        kc_expect(&["wait", &n, "--timeout", "1000"], 0)?;
    }
    kc_expect(&["reinit", &n], 0)?;
    kc_expect(&["trywait", &n], 4)?;
    Ok(())
}

fn cli_info() -> R {
    let (n, _g) = cli_object("c-info")?;
    kc_expect(&["complete", &n], 0)?;
    let (so, _) = kc_expect(&["info", &n, "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    ensure!(
        v["name"] == n.as_str() && v["done"] == 1 && v["mode"] == 0o600,
        "{v}"
    );
    ensure!(
        v["linked"] == true && v["completed_all"] == false && v["waiters"] == 0,
        "{v}"
    );
    ensure!(
        v["mode_octal"] == "0600" && v["id"].is_u64() && v["uid"] == 0,
        "{v}"
    );
    ensure!(
        v["state_page"] == true,
        "info --json: state page not used: {v}"
    );
    let (so, _) = kc_expect(&["info", &n], 0)?;
    ensure!(so.contains("state page: mapped"), "{so}");
    ensure!(
        so.contains(&format!("name:    {n}\n")) && so.contains("done:    1\n"),
        "{so}"
    );
    kc_expect(&["complete", "--all", &n], 0)?;
    let (so, _) = kc_expect(&["info", &n, "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    ensure!(v["completed_all"] == true && v["done"] == u32::MAX, "{v}");
    kc_expect(&["info", &name("c-info-missing")], 5)?;
    Ok(())
}

fn cli_list() -> R {
    let n = name("c-list");
    let _g = cleanup(&[&n]);
    kc_expect(&["create", &n, "--mode", "604"], 0)?;
    let (so, _) = kc_expect(&["list", "--json"], 0)?;
    let v: serde_json::Value = serde_json::from_str(&so).map_err(|e| format!("{e}: {so}"))?;
    let arr = v.as_array().ok_or("not an array")?;
    let mine: Vec<_> = arr.iter().filter(|x| x["name"] == n.as_str()).collect();
    ensure!(mine.len() == 1 && mine[0]["mode"] == 0o604, "{mine:?}");
    let (so, _) = kc_expect(&["list"], 0)?;
    ensure!(so.starts_with("    ID  NAME"), "{so}");
    ensure!(
        so.lines().any(|l| l.contains(&n) && l.ends_with("0604")),
        "{so}"
    );
    Ok(())
}

fn cli_unlink() -> R {
    let (n, _g) = cli_object("c-unlink")?;
    kc_expect(&["unlink", &n], 0)?;
    let (_, se) = kc_expect(&["unlink", &n], 5)?;
    ensure!(se.contains(&format!("unlink \"{n}\"")), "{se}");
    kc_expect(&["open", &n], 5)?;
    Ok(())
}

fn cli_usage_errors() -> R {
    let (_, se) = kc_expect(&["wait", "bad name"], 2)?;
    ensure!(se.contains("invalid name"), "{se}");
    kc_expect(&["create", &"x".repeat(64)], 2)?;
    kc_expect(&["create", "x", "--mode", "999"], 2)?;
    kc_expect(&["create", "x", "--mode", "1000"], 2)?;
    kc_expect(&["wait", "x", "--timeout", "-5"], 2)?;
    kc_expect(&["wait"], 2)?;
    kc_expect(&["frobnicate"], 2)?;
    kc_expect(&[], 2)?;
    Ok(())
}

fn cli_permissions() -> R {
    let private = name("c-private");
    let shared = name("c-shared");
    let _g = cleanup(&[&private, &shared]);
    kc_expect(&["create", &private], 0)?;
    kc_expect(&["create", &shared, "--mode", "644"], 0)?;
    let code = |cmd: &str| -> Result<Option<i32>, String> {
        Ok(su_kcuser(&format!("{} {cmd}", cli_path()))?.status.code())
    };
    ensure!(code(&format!("open {private}"))? == Some(6));
    ensure!(code(&format!("info {private}"))? == Some(6));
    ensure!(code(&format!("unlink {private}"))? == Some(6));
    ensure!(code(&format!("info {shared}"))? == Some(0));
    ensure!(code(&format!("wait {shared} --timeout 1"))? == Some(3));
    ensure!(code(&format!("complete {shared}"))? == Some(6));
    ensure!(
        code(&format!("create {shared}"))? == Some(6),
        "create-open needs rw"
    );
    ensure!(
        code(&format!("open {shared}"))? == Some(6),
        "rw open of a 644 object"
    );
    let out = su_kcuser(&format!("{} complete {shared}", cli_path()))?;
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(
        se == format!("kcompletion: complete \"{shared}\": permission denied\n"),
        "{se:?}"
    );
    Ok(())
}

fn cli_interrupted() -> R {
    let (n, _g, c) = object("c-eintr")?;
    let child = Command::new(cli_path())
        .args(["wait", &n])
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    ensure!(wait_for(5000, || waiters(&c) == 1), "the CLI never blocked");
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGUSR1) };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(7), "{out:?}");
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(
        se == format!("kcompletion: wait \"{n}\": interrupted by a signal\n"),
        "{se:?}"
    );
    Ok(())
}

fn cli_driver_not_loaded() -> R {
    let out = Command::new(cli_path())
        .args(["list"])
        .env("KCOMPLETION_DEVICE", "/nonexistent/kcompletion")
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(10), "{out:?}");
    ensure!(String::from_utf8_lossy(&out.stderr).contains("modprobe kcompletion"));
    Ok(())
}

fn cli_pipeline() -> R {
    let n = name("c-pipe");
    let _g = cleanup(&[&n]);
    let k = cli_path();
    // One process waits, another completes; the waiter's success feeds the pipeline.
    let script = format!(
        "{k} create {n} || exit 1
         ({k} wait {n} --timeout 5000 && echo woke) | tr a-z A-Z > /tmp/{n}.out &
         sleep 0.2
         {k} complete {n} || exit 2
         wait
         {k} info {n} --json | grep -q '\"done\":0' || exit 3
         {k} list --json | grep -q '\"name\":\"{n}\"' || exit 4
         cat /tmp/{n}.out; rm -f /tmp/{n}.out"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(out.status.success(), "{out:?}");
    ensure!(String::from_utf8_lossy(&out.stdout) == "WOKE\n", "{out:?}");
    Ok(())
}

/// `done` of `n`, read through a handle of its own.
fn done_of(n: &str) -> Result<u32, String> {
    Ok(ok(ok(Completion::open_with(n, Access::Read))?.info())?.done)
}

fn cli_then_wait_timeout() -> R {
    let (a, _ga) = cli_object("c-tw-a")?;
    let (b, _gb) = cli_object("c-tw-b")?;
    let t = Instant::now();
    let (so, se) = kc_expect(&["complete", &a, "--then-wait", &b, "--timeout", "50"], 3)?;
    let el = t.elapsed();
    ensure!(
        el >= Duration::from_millis(50) && el < Duration::from_secs(5),
        "{el:?}"
    );
    ensure!(so.is_empty(), "{so:?}");
    ensure!(
        se.starts_with("kcompletion: ") && se.ends_with(": timed out after 50 ms\n"),
        "{se:?}"
    );
    // The completion stays made: a is done once, b untouched.
    ensure!(done_of(&a)? == 1, "a: {}", done_of(&a)?);
    ensure!(done_of(&b)? == 0, "b: {}", done_of(&b)?);
    kc_expect(&["trywait", &a], 0)?;
    kc_expect(&["trywait", &a], 4)?;
    // --timeout 0 only tries, and completes a all the same.
    kc_expect(&["complete", &a, "--then-wait", &b, "--timeout", "0"], 3)?;
    ensure!(done_of(&a)? == 1);
    Ok(())
}

fn cli_then_wait_done() -> R {
    let (a, _ga) = cli_object("c-twd-a")?;
    let (b, _gb) = cli_object("c-twd-b")?;
    kc_expect(&["complete", &b], 0)?;
    let t = Instant::now();
    let (so, se) = kc_expect(
        &["complete", &a, "--then-wait", &b, "--timeout", "10000"],
        0,
    )?;
    ensure!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    ensure!(so.is_empty() && se.is_empty(), "{so:?} {se:?}");
    ensure!(done_of(&a)? == 1 && done_of(&b)? == 0);
    // Without --timeout (waits for ever; b is done, so it returns).
    kc_expect(&["complete", &b], 0)?;
    kc_expect(&["complete", &a, "--then-wait", &b], 0)?;
    ensure!(done_of(&a)? == 2 && done_of(&b)? == 0);
    // The same object on both sides: completes, then consumes that completion.
    kc_expect(&["complete", &b, "--then-wait", &b, "--timeout", "0"], 0)?;
    ensure!(done_of(&b)? == 0);
    Ok(())
}

fn cli_then_wait_peer() -> R {
    let (a, _ga, ca) = object("c-twp-a")?;
    let (b, _gb, cb) = object("c-twp-b")?;
    let child = Command::new(cli_path())
        .args(["complete", &a, "--then-wait", &b, "--timeout", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let blocked = wait_for(10000, || waiters(&cb) == 1);
    let a_done = ok(ca.is_done());
    ok(cb.complete())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(blocked, "the CLI never blocked on b");
    ensure!(a_done?, "a was not completed while the CLI waited on b");
    ensure!(out.status.code() == Some(0), "{out:?}");
    ensure!(out.stderr.is_empty(), "{out:?}");
    let (ia, ib) = (ok(ca.info())?, ok(cb.info())?);
    ensure!(
        ia.done == 1 && ib.done == 0 && ib.waiters == 0,
        "{ia:?} {ib:?}"
    );
    // Two CLI processes: one waits on a and answers on b, the other hands off.
    ok(ca.reinit())?;
    let k = cli_path();
    let script = format!(
        "({k} wait {a} --timeout 20000 && {k} complete {b}) &
         {k} complete {a} --then-wait {b} --timeout 20000; st=$?
         wait $! || exit 9
         exit $st"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(0), "{out:?}");
    let (ia, ib) = (ok(ca.info())?, ok(cb.info())?);
    ensure!(ia.done == 0 && ib.done == 0, "{ia:?} {ib:?}");
    Ok(())
}

fn cli_then_wait_all() -> R {
    let (a, _ga, ca) = object("c-twall-a")?;
    let (b, _gb) = cli_object("c-twall-b")?;
    let waiters_of_a: Vec<_> = (0..2)
        .map(|_| {
            Command::new(cli_path())
                .args(["wait", &a, "--timeout", "20000"])
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let blocked = wait_for(10000, || waiters(&ca) == 2);
    let r = kc_expect(
        &[
            "complete",
            &a,
            "--all",
            "--then-wait",
            &b,
            "--timeout",
            "50",
        ],
        3,
    );
    if r.is_err() || !blocked {
        let _ = ca.complete_all();
    }
    for w in waiters_of_a {
        let out = w.wait_with_output().map_err(|e| e.to_string())?;
        ensure!(out.status.code() == Some(0), "a waiter of a: {out:?}");
    }
    ensure!(blocked, "the waiters never blocked");
    r?;
    let i = ok(ca.info())?;
    ensure!(i.is_completed_all() && i.done == u32::MAX, "{i:?}");
    ok(ca.reinit())?;
    kc_expect(&["complete", &b], 0)?;
    kc_expect(
        &[
            "complete",
            "--all",
            &a,
            "--then-wait",
            &b,
            "--timeout",
            "10000",
        ],
        0,
    )?;
    ensure!(ok(ca.info())?.is_completed_all());
    ensure!(done_of(&b)? == 0);
    Ok(())
}

fn cli_then_wait_errors() -> R {
    let (a, _ga) = cli_object("c-twe-a")?;
    let (b, _gb) = cli_object("c-twe-b")?;
    // --timeout belongs to --then-wait.
    let (_, se) = kc_expect(&["complete", &a, "--timeout", "50"], 2)?;
    ensure!(se.contains("--then-wait"), "{se}");
    kc_expect(&["complete", &a, "--all", "--timeout", "50"], 2)?;
    kc_expect(&["complete", &a, "--then-wait"], 2)?;
    let (_, se) = kc_expect(&["complete", &a, "--then-wait", "bad name"], 2)?;
    ensure!(se.contains("invalid name"), "{se}");
    kc_expect(&["complete", &a, "--then-wait", &b, "--timeout", "-5"], 2)?;
    kc_expect(&["complete", &a, "--then-wait", &b, "--timeout", "soon"], 2)?;
    kc_expect(&["complete", "--then-wait", &b], 2)?;
    ensure!(done_of(&a)? == 0, "a usage error completed a");
    // Not found on either side: exit 5, nothing completed or consumed.
    let missing = name("c-twe-missing");
    let (_, se) = kc_expect(
        &["complete", &a, "--then-wait", &missing, "--timeout", "0"],
        5,
    )?;
    ensure!(se.contains("no such completion"), "{se}");
    ensure!(done_of(&a)? == 0, "a completed although b was missing");
    kc_expect(&["complete", &b], 0)?;
    kc_expect(
        &["complete", &missing, "--then-wait", &b, "--timeout", "0"],
        5,
    )?;
    ensure!(done_of(&b)? == 1, "b consumed although a was missing");
    Ok(())
}

fn cli_then_wait_permissions() -> R {
    // kcuser may complete `open` (0666) but not read `private` (0600), and may read
    // `readable` (0644) but not complete it: exit 6, and nothing happens on the other side.
    let open = name("c-twperm-open");
    let private = name("c-twperm-private");
    let readable = name("c-twperm-readable");
    let _g = cleanup(&[&open, &private, &readable]);
    kc_expect(&["create", &open, "--mode", "666"], 0)?;
    kc_expect(&["create", &private], 0)?;
    kc_expect(&["create", &readable, "--mode", "644"], 0)?;
    let k = cli_path();
    let out = su_kcuser(&format!(
        "{k} complete {open} --then-wait {private} --timeout 0"
    ))?;
    ensure!(out.status.code() == Some(6), "{out:?}");
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("permission denied"),
        "{out:?}"
    );
    ensure!(
        done_of(&open)? == 0,
        "completed although the wait side was refused"
    );
    kc_expect(&["complete", &open], 0)?;
    let out = su_kcuser(&format!(
        "{k} complete {readable} --then-wait {open} --timeout 0"
    ))?;
    ensure!(out.status.code() == Some(6), "{out:?}");
    ensure!(
        done_of(&open)? == 1,
        "consumed although the complete side was refused"
    );
    ensure!(done_of(&readable)? == 0);
    // Allowed on both sides: write on `open`, read on `readable`.
    kc_expect(&["complete", &readable], 0)?;
    let out = su_kcuser(&format!(
        "{k} complete {open} --then-wait {readable} --timeout 0"
    ))?;
    ensure!(out.status.code() == Some(0), "{out:?}");
    ensure!(done_of(&open)? == 2 && done_of(&readable)? == 0);
    Ok(())
}

fn cli_then_wait_interrupted() -> R {
    let (a, _ga, ca) = object("c-twi-a")?;
    let (b, _gb, cb) = object("c-twi-b")?;
    let child = Command::new(cli_path())
        .args(["complete", &a, "--then-wait", &b])
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if !wait_for(10000, || waiters(&cb) == 1) {
        let _ = cb.complete();
        let _ = child.wait_with_output();
        return Err("the CLI never blocked on b".into());
    }
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGUSR1) };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(out.status.code() == Some(7), "{out:?}");
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(se.contains("interrupted by a signal"), "{se:?}");
    ensure!(
        ok(ca.info())?.done == 1,
        "the signal took back a's completion"
    );
    let ib = ok(cb.info())?;
    ensure!(ib.done == 0 && ib.waiters == 0, "{ib:?}");
    Ok(())
}

fn cli_then_wait_help() -> R {
    let (so, _) = kc_expect(&["complete", "--help"], 0)?;
    ensure!(
        so.contains("--then-wait") && so.contains("--timeout") && so.contains("--all"),
        "{so}"
    );
    Ok(())
}

/// `run --check`: the dialect check in userspace, without the driver (the device path points
/// nowhere): a good file exits 0, a bad one 11 with `FILE:LINE:COL: message` lines.
fn cli_run_check() -> R {
    let dir = std::env::temp_dir();
    let good = dir.join(format!("kc-check-good-{}.lua", std::process::id()));
    let bad = dir.join(format!("kc-check-bad-{}.lua", std::process::id()));
    std::fs::write(
        &good,
        "local completion = require \"completion\"\nlocal c = completion.new()\n\
         c:complete()\nreturn 7 // 2, string.format('%d', 1)\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        &bad,
        "local x = 1\nlocal y = x * 2\nlocal z = 1.5\nreturn math.floor(y)\n",
    )
    .map_err(|e| e.to_string())?;
    let (g, b) = (good.display().to_string(), bad.display().to_string());
    let check = |file: &str| {
        Command::new(cli_path())
            .args(["run", "--check", file])
            .env("KCOMPLETION_DEVICE", "/nonexistent/kcompletion")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())
    };
    let (og, ob) = (check(&g), check(&b));
    std::fs::remove_file(&good).ok();
    std::fs::remove_file(&bad).ok();
    let (og, ob) = (og?, ob?);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    ensure!(og.status.code() == Some(0), "{og:?}");
    ensure!(
        text(&og.stdout) == format!("{g}: ok for kernel Lua\n"),
        "{og:?}"
    );
    ensure!(og.stderr.is_empty(), "{og:?}");
    ensure!(ob.status.code() == Some(11), "{ob:?}");
    let se = text(&ob.stderr);
    let lines: Vec<&str> = se.lines().collect();
    ensure!(lines.len() == 2, "{se}");
    ensure!(
        lines[0]
            == format!(
                "{b}:3:11: malformed number near '1.5' (kernel Lua has integers only: no float \
             literals; use '//' for integer division)"
            ),
        "{se}"
    );
    ensure!(
        lines[1].starts_with(&format!(
            "{b}:4:8: attempt to index a nil value (global 'math')"
        )),
        "{se}"
    );
    ensure!(ob.stdout.is_empty(), "{ob:?}");
    let (so, _) = kc_expect(&["run", "--help"], 0)?;
    ensure!(so.contains("--check"), "{so}");
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "cli: --help of every subcommand lists the exit codes",
        cli_help,
    ),
    (
        "cli: create, --mode, --exclusive exits 8",
        cli_create_exists,
    ),
    ("cli: open exits 5 when missing", cli_open),
    (
        "cli: complete, trywait exits 4 when not done, wait",
        cli_complete_trywait,
    ),
    (
        "cli: wait --timeout exits 3 with a message",
        cli_wait_timeout,
    ),
    ("cli: complete --all, reinit", cli_complete_all_reinit),
    (
        "cli: complete --then-wait --timeout exits 3, the completion stays made",
        cli_then_wait_timeout,
    ),
    (
        "cli: complete --then-wait of a done object exits 0 and consumes it",
        cli_then_wait_done,
    ),
    (
        "cli: complete --then-wait wakes a peer and exits 0 on its answer",
        cli_then_wait_peer,
    ),
    (
        "cli: complete --all --then-wait completes all, then waits",
        cli_then_wait_all,
    ),
    (
        "cli: complete --then-wait usage errors exit 2, missing objects 5",
        cli_then_wait_errors,
    ),
    (
        "cli: complete --then-wait permission denied exits 6 (as kcuser)",
        cli_then_wait_permissions,
    ),
    (
        "cli: a signal interrupts complete --then-wait, exit 7",
        cli_then_wait_interrupted,
    ),
    (
        "cli: complete --help shows --then-wait and --timeout",
        cli_then_wait_help,
    ),
    ("cli: info and info --json", cli_info),
    ("cli: list and list --json", cli_list),
    ("cli: unlink, exits 5 when missing", cli_unlink),
    ("cli: usage errors exit 2", cli_usage_errors),
    (
        "cli: permission denied exits 6 (as kcuser)",
        cli_permissions,
    ),
    ("cli: a signal interrupts wait, exit 7", cli_interrupted),
    ("cli: driver not loaded exits 10", cli_driver_not_loaded),
    (
        "cli: run --check: a good file exits 0, a bad one 11 with FILE:LINE:COL (no driver)",
        cli_run_check,
    ),
    (
        "cli: shell pipeline, one process waits and another completes",
        cli_pipeline,
    ),
];
