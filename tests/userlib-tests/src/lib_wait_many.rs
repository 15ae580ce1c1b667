//! The library and the command on waiting for many (issue 13): `wait_any`, `wait_all`,
//! `wait_many` with an alert, `Completion::revoke` and `ErrorKind::Removed`; `kcompletion wait
//! A B --any|--all` and `kcompletion unlink NAME --revoke` (exit code 12).

use crate::common::*;
use std::sync::Arc;

fn cli() -> String {
    std::env::var("KCOMPLETION_CLI").unwrap_or_else(|_| "kcompletion".into())
}

/// Three new objects of their own: names, the guard, the handles.
fn three(tag: &str) -> Result<(Vec<String>, Cleanup, Vec<Completion>), String> {
    let names: Vec<String> = (0..3).map(|i| name(&format!("{tag}-{i}"))).collect();
    let g = cleanup(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let objs = names
        .iter()
        .map(|n| create(n))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((names, g, objs))
}

fn refs(v: &[Completion]) -> Vec<&Completion> {
    v.iter().collect()
}

fn any_lowest_and_timeout() -> R {
    let (_, _g, o) = three("wm-any")?;
    ok(o[2].complete())?;
    ok(o[1].complete())?;
    ensure!(ok(kcompletion::wait_any(&refs(&o), Some(Duration::ZERO)))? == 1);
    ensure!(ok(kcompletion::wait_any(&refs(&o), Some(Duration::ZERO)))? == 2);
    let t = Instant::now();
    let r = kcompletion::wait_any(&refs(&o), Some(Duration::from_millis(30)));
    ensure!(
        t.elapsed() >= Duration::from_millis(30),
        "{:?}",
        t.elapsed()
    );
    match r {
        Err(e) if e.kind() == ErrorKind::Timeout => {
            ensure!(e.to_string() == "wait_any: timed out after 30 ms", "{e}")
        }
        other => return Err(format!("{other:?}")),
    }
    fails(
        kcompletion::wait_any(&[], None),
        ErrorKind::InvalidArgument,
        None,
    )?;
    Ok(())
}

fn any_wakes_from_thread() -> R {
    let (_, _g, o) = three("wm-wake")?;
    let o = Arc::new(o);
    let o2 = o.clone();
    let t = std::thread::spawn(move || {
        wait_for(10_000, || waiters(&o2[1]) == 1);
        o2[1].complete()
    });
    let got = kcompletion::wait_any(&refs(&o), Some(Duration::from_secs(10)));
    ok(t.join().unwrap())?;
    ensure!(ok(got)? == 1);
    Ok(())
}

fn all_or_nothing() -> R {
    let (_, _g, o) = three("wm-all")?;
    ok(o[0].complete())?;
    ok(o[2].complete())?;
    fails(
        kcompletion::wait_all(&refs(&o), Some(Duration::from_millis(20))),
        ErrorKind::Timeout,
        None,
    )?;
    ensure!(
        ok(o[0].is_done())? && ok(o[2].is_done())?,
        "a timeout consumed"
    );
    ok(o[1].complete())?;
    ok(kcompletion::wait_all(&refs(&o), None))?;
    ensure!(!ok(o[0].is_done())? && !ok(o[1].is_done())? && !ok(o[2].is_done())?);
    fails(
        kcompletion::wait_all(&[&o[0], &o[0]], Some(Duration::ZERO)),
        ErrorKind::InvalidArgument,
        Some(libc::EINVAL),
    )?;
    Ok(())
}

fn alert() -> R {
    let (_, _g, o) = three("wm-alert")?;
    ok(o[2].complete())?;
    let r = kcompletion::wait_many(&[&o[0], &o[1]], true, Some(&o[2]), None::<Duration>);
    ensure!(ok(r)? == kcompletion::Woken::Alert);
    ok(o[0].complete())?;
    let r = kcompletion::wait_many(&[&o[0], &o[1]], false, Some(&o[2]), None::<Duration>);
    ensure!(ok(r)? == kcompletion::Woken::Object(0));
    Ok(())
}

fn revoke() -> R {
    let (n, _g, o) = three("wm-revoke")?;
    let a = Arc::new(ok(Completion::open(&n[0]))?);
    let a2 = a.clone();
    let t = std::thread::spawn(move || a2.wait(Some(Duration::from_secs(10))));
    wait_for(10_000, || waiters(&o[0]) == 1);
    ok(o[0].revoke())?;
    fails(t.join().unwrap(), ErrorKind::Removed, Some(libc::EIDRM))?;
    fails(a.complete(), ErrorKind::Removed, None)?;
    fails(a.is_done(), ErrorKind::Removed, None)?;
    fails(a.try_wait(), ErrorKind::Removed, None)?;
    fails(a.info(), ErrorKind::Removed, None)?;
    fails(a.revoke(), ErrorKind::Removed, None)?;
    fails(
        kcompletion::wait_any(&[&o[1], &a], Some(Duration::ZERO)),
        ErrorKind::Removed,
        None,
    )?;
    fails(Completion::open(&n[0]), ErrorKind::NotFound, None)?;
    let e = a.complete().unwrap_err();
    ensure!(
        e.to_string() == format!("complete \"{}\": the completion was revoked", n[0]),
        "{e}"
    );
    let ro = ok(Completion::open_with(&n[1], Access::Read))?;
    fails(ro.revoke(), ErrorKind::BadAccess, None)?;
    Ok(())
}

fn wait_set() -> R {
    use std::os::fd::AsRawFd;
    let (_, _g, o) = three("wm-set")?;
    let all = ok(kcompletion::WaitSet::all(&refs(&o)))?;
    let any = ok(kcompletion::WaitSet::any(&refs(&o)))?;
    let poll = |fd: i32| {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: One valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) };
        p.revents & libc::POLLIN != 0
    };
    ok(o[1].complete())?;
    ensure!(poll(any.as_raw_fd()) && !poll(all.as_raw_fd()), "one done");
    ok(o[0].complete())?;
    ok(o[2].complete())?;
    ensure!(poll(all.as_raw_fd()), "all done, the all set not ready");
    ensure!(ok(all.wait(Some(Duration::ZERO)))? == 0);
    ensure!(
        !poll(any.as_raw_fd()),
        "the all set did not consume every member"
    );
    fails(any.wait(Some(Duration::ZERO)), ErrorKind::Timeout, None)?;
    drop(o);
    fails(
        any.wait(Some(Duration::from_millis(5))),
        ErrorKind::Timeout,
        None,
    )?;
    Ok(())
}

fn run_cli(args: &[&str]) -> Result<(i32, String, String), String> {
    let out = Command::new(cli())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn cli_wait_many_and_revoke() -> R {
    let (n, _g, o) = three("wm-cli")?;
    ok(o[2].complete())?;
    let (code, so, _) = run_cli(&["wait", &n[0], &n[1], &n[2], "--any"])?;
    ensure!(code == 0 && so == format!("{}\n", n[2]), "{code} {so:?}");
    let (code, so, _) = run_cli(&["wait", &n[0], &n[1], "--timeout", "20"])?;
    ensure!(code == 3 && so.is_empty(), "any timeout: {code} {so:?}");
    ok(o[0].complete())?;
    let (code, _, se) = run_cli(&["wait", &n[0], &n[1], "--all", "--timeout", "20"])?;
    ensure!(code == 3, "all, one not done: {code} {se}");
    ensure!(ok(o[0].is_done())?, "a timed-out --all consumed");
    ok(o[1].complete())?;
    let (code, _, se) = run_cli(&["wait", &n[0], &n[1], "--all"])?;
    ensure!(code == 0, "all: {code} {se}");
    ensure!(!ok(o[0].is_done())? && !ok(o[1].is_done())?);
    // A waiter in another process learns of the revoke: exit code 12.
    let child = Command::new(cli())
        .args(["wait", &n[0], "--timeout", "10000"])
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    wait_for(10_000, || waiters(&o[0]) == 1);
    let (code, _, se) = run_cli(&["unlink", &n[0], "--revoke"])?;
    ensure!(code == 0, "unlink --revoke: {code} {se}");
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let se = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(12),
        "the waiter exited {:?}: {se}",
        out.status.code()
    );
    ensure!(se.contains("the completion was revoked"), "{se}");
    let (code, _, _) = run_cli(&["unlink", &n[0], "--revoke"])?;
    ensure!(code == 5, "revoking a gone name: {code}");
    Ok(())
}

pub const CASES: &[Case] = &[
    (
        "lib: wait_any takes the lowest ready index; times out naming the op",
        any_lowest_and_timeout,
    ),
    (
        "lib: wait_any wakes when another thread completes one",
        any_wakes_from_thread,
    ),
    (
        "lib: wait_all is all or nothing; a duplicate is InvalidArgument",
        all_or_nothing,
    ),
    (
        "lib: wait_many's alert ends a wait-all and a wait-any",
        alert,
    ),
    (
        "lib: WaitSet::any and ::all are pollable fds; wait consumes as wait_any/wait_all",
        wait_set,
    ),
    (
        "lib: revoke wakes a waiter with Removed; every later operation is Removed",
        revoke,
    ),
    (
        "cli: wait A B C --any prints the name, --all, exit 3 on timeout; unlink --revoke, exit 12",
        cli_wait_many_and_revoke,
    ),
];
