//! WAIT_MANY (any and all, with an alert) and REVOKE, in the spirit of ntsync's selftests:
//! any takes the lowest ready index and wakes when one becomes ready; all never wakes for
//! objects ready one at a time and never consumes part of its set (timeout, signal);
//! complete_all members stay done; duplicates, 128 and 129 objects, every bad argument;
//! members closed or unlinked mid-wait; revoke mid-wait for single, any and all waiters and
//! a kernel Lua waiter; pollers see the revoke; wait sets in epoll (any and all), beside
//! single waiters on their members (128 members, complete_all, a stale hint), their checks
//! and revoke; a wait-all storm across two CPUs balances.

use super::{expect_err, ok, Suite};
use kcompletion_abi::*;
use kcompletion_driver_tests::sys::*;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// `n` new anonymous objects (read and write access).
fn objects(dev: &OwnedFd, n: usize) -> Res<Vec<OwnedFd>> {
    (0..n).map(|_| create_anonymous(dev)).collect()
}

fn raw(fds: &[OwnedFd]) -> Vec<RawFd> {
    fds.iter().map(|f| f.as_raw_fd()).collect()
}

/// Waits until `fd` has `n` waiters (at most 10 s).
fn until_waiters(fd: &OwnedFd, n: u32) -> Result<(), String> {
    for _ in 0..2000 {
        if ok("info", info(fd))?.waiters >= n {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(5));
    }
    Err(format!("never {n} waiters"))
}

pub fn run(s: &mut Suite, dev: &OwnedFd) {
    let dev_fd = dev.as_raw_fd();

    s.case(
        "wait-any takes the lowest ready index, one count at a time",
        || {
            let o = ok("objects", objects(dev, 4))?;
            ok("complete 3", complete(&o[3]))?;
            ok("complete 1", complete(&o[1]))?;
            ok("complete 1", complete(&o[1]))?;
            let fds = raw(&o);
            let past = 0;
            for want in [1, 1, 3] {
                let got = ok("wait-any", wait_many(dev, &fds, 0, past, KC_NO_ALERT))?;
                check!(got == want, "index {got}, want {want}");
            }
            expect_err(
                "nothing left",
                wait_many(dev, &fds, 0, past, KC_NO_ALERT),
                libc::ETIMEDOUT,
            )?;
            check!(
                o.iter().all(|f| done(f) == Ok(false)),
                "something left done"
            );
            Ok(())
        },
    );

    s.case(
        "wait-any sleeps until one member is completed from another thread",
        || {
            let o = Arc::new(ok("objects", objects(dev, 3))?);
            let fds = raw(&o);
            let o2 = o.clone();
            let t = thread::spawn(move || {
                until_waiters(&o2[2], 1)?;
                ok("complete 2", complete(&o2[2]))
            });
            let got = wait_many(dev, &fds, 0, in_ms(10_000), KC_NO_ALERT);
            t.join().unwrap()?;
            check!(got == Ok(2), "woke with {got:?}");
            check!(
                o.iter()
                    .all(|f| ok("info", info(f)).map(|i| i.waiters) == Ok(0)),
                "waiters left"
            );
            Ok(())
        },
    );

    s.case(
        "wait-all takes one from every member at once; complete_all members stay done",
        || {
            let o = ok("objects", objects(dev, 3))?;
            ok("complete 0", complete(&o[0]))?;
            ok("complete_all 1", complete_all(&o[1]))?;
            ok("complete 2", complete(&o[2]))?;
            ok("complete 2", complete(&o[2]))?;
            let got = ok(
                "wait-all",
                wait_many(dev, &raw(&o), KC_WAIT_ALL, 0, KC_NO_ALERT),
            )?;
            check!(got == 0, "index {got}");
            check!(done(&o[0]) == Ok(false), "member 0 not consumed");
            check!(
                ok("info", info(&o[1]))?.done == KC_DONE_ALL,
                "complete_all member consumed"
            );
            check!(
                ok("info", info(&o[2]))?.done == 1,
                "member 2 not consumed once"
            );
            Ok(())
        },
    );

    s.case(
        "wait-all is all or nothing: a timeout and a signal leave the ready members",
        || {
            let o = ok("objects", objects(dev, 3))?;
            ok("complete 0", complete(&o[0]))?;
            ok("complete 2", complete(&o[2]))?;
            let fds = raw(&o);
            expect_err(
                "wait-all, 1 not ready",
                wait_many(dev, &fds, KC_WAIT_ALL, in_ms(30), KC_NO_ALERT),
                libc::ETIMEDOUT,
            )?;
            check!(
                done(&o[0]) == Ok(true) && done(&o[2]) == Ok(true),
                "a timeout consumed some"
            );
            let fds2 = fds.clone();
            let t = thread::spawn(move || {
                let dev = open_dev();
                wait_many(&dev, &fds2, KC_WAIT_ALL, in_ms(10_000), KC_NO_ALERT)
            });
            until_waiters(&o[1], 1)?;
            // SAFETY: `t` is not joined yet, so its pthread id names it.
            unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGUSR1) };
            expect_err("interrupted wait-all", t.join().unwrap(), libc::EINTR)?;
            check!(
                done(&o[0]) == Ok(true) && done(&o[2]) == Ok(true),
                "a signal consumed some"
            );
            check!(
                ok("info", info(&o[1]))?.waiters == 0,
                "the wait-all is still queued"
            );
            Ok(())
        },
    );

    s.case(
        "wait-all never wakes for members ready one at a time, never together",
        || {
            let o = Arc::new(ok("objects", objects(dev, 2))?);
            let fds = raw(&o);
            let o2 = o.clone();
            let t = thread::spawn(move || -> Result<u32, String> {
                until_waiters(&o2[0], 1)?;
                let mut rounds = 0;
                let end = std::time::Instant::now() + Duration::from_millis(200);
                while std::time::Instant::now() < end {
                    for f in o2.iter() {
                        ok("complete", complete(f))?;
                        // The waiter must not take it alone: it is ours to take back.
                        ok("take back", try_wait(f))?;
                    }
                    rounds += 1;
                }
                Ok(rounds)
            });
            let r = wait_many(dev, &fds, KC_WAIT_ALL, in_ms(400), KC_NO_ALERT);
            let rounds = t.join().unwrap()?;
            expect_err("wait-all over alternating members", r, libc::ETIMEDOUT)?;
            println!("# {rounds} rounds of one-at-a-time completions");
            check!(rounds > 0, "no rounds");
            Ok(())
        },
    );

    s.case(
        "the alert ends a wait-any and a wait-all: index = count, one consumed",
        || {
            let o = ok("objects", objects(dev, 3))?;
            let alert = ok("alert", create_anonymous(dev))?;
            ok("complete alert", complete(&alert))?;
            ok("complete alert", complete(&alert))?;
            let fds = raw(&o);
            let a = alert.as_raw_fd();
            check!(
                wait_many(dev, &fds, 0, 0, a) == Ok(3),
                "wait-any with the alert ready"
            );
            ok("complete 0", complete(&o[0]))?;
            check!(
                wait_many(dev, &fds, KC_WAIT_ALL, 0, a) == Ok(3),
                "wait-all with the alert ready"
            );
            check!(done(&alert) == Ok(false), "the alert not consumed twice");
            check!(
                done(&o[0]) == Ok(true),
                "a wait-all ended by the alert consumed a member"
            );
            // Members first when both are ready.
            ok("complete alert", complete(&alert))?;
            check!(
                wait_many(dev, &fds, 0, 0, a) == Ok(0),
                "a ready member before the alert"
            );
            Ok(())
        },
    );

    s.case(
        "duplicates: allowed in wait-any, EINVAL in wait-all",
        || {
            let o = ok("objects", objects(dev, 2))?;
            let twice = vec![o[0].as_raw_fd(), o[1].as_raw_fd(), o[0].as_raw_fd()];
            ok("complete 0", complete(&o[0]))?;
            check!(
                wait_many(dev, &twice, 0, 0, KC_NO_ALERT) == Ok(0),
                "wait-any over a duplicate"
            );
            expect_err(
                "wait-all over a duplicate",
                wait_many(dev, &twice, KC_WAIT_ALL, 0, KC_NO_ALERT),
                libc::EINVAL,
            )?;
            // Another fd of the same object is the same object.
            let again = ok("dup", dup(&o[1]))?;
            let fds = vec![o[1].as_raw_fd(), again.as_raw_fd()];
            expect_err(
                "wait-all over two fds of one object",
                wait_many(dev, &fds, KC_WAIT_ALL, 0, KC_NO_ALERT),
                libc::EINVAL,
            )?;
            Ok(())
        },
    );

    s.case(
        "128 objects work (any and all), 0 and 129 are EINVAL",
        || {
            let o = ok("objects", objects(dev, 129))?;
            let fds = raw(&o);
            ok("complete 127", complete(&o[127]))?;
            check!(
                wait_many(dev, &fds[..128], 0, 0, KC_NO_ALERT) == Ok(127),
                "wait-any over 128"
            );
            for f in &o[..128] {
                ok("complete", complete(f))?;
            }
            check!(
                wait_many(dev, &fds[..128], KC_WAIT_ALL, in_ms(1000), KC_NO_ALERT) == Ok(0),
                "wait-all over 128"
            );
            check!(
                o[..128].iter().all(|f| done(f) == Ok(false)),
                "not all consumed"
            );
            expect_err("129", wait_many(dev, &fds, 0, 0, KC_NO_ALERT), libc::EINVAL)?;
            expect_err(
                "0",
                wait_many(dev, &fds[..0], 0, 0, KC_NO_ALERT),
                libc::EINVAL,
            )?;
            Ok(())
        },
    );

    s.case(
        "WAIT_MANY checks every field and fd: EINVAL, EBADF, EFAULT",
        || {
            let o = ok("objects", objects(dev, 2))?;
            let fds = raw(&o);
            let base = KcWaitMany {
                deadline_ns: 0,
                fds: fds.as_ptr() as u64,
                count: 2,
                flags: 0,
                alert_fd: KC_NO_ALERT,
                index: 0,
                reserved: 0,
            };
            let call = |mut a: KcWaitMany| ioctl(dev, KC_IOC_WAIT_MANY, &mut a).map(|_| a.index);
            expect_err(
                "reserved",
                call(KcWaitMany {
                    reserved: 1,
                    ..base
                }),
                libc::EINVAL,
            )?;
            expect_err(
                "unknown flag",
                call(KcWaitMany { flags: 4, ..base }),
                libc::EINVAL,
            )?;
            expect_err(
                "bad fds pointer",
                call(KcWaitMany { fds: 16, ..base }),
                libc::EFAULT,
            )?;
            expect_err(
                "deadline above i64",
                call(KcWaitMany {
                    deadline_ns: 1 << 63,
                    ..base
                }),
                libc::EINVAL,
            )?;
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            let wo = ok("write-only handle", {
                let name = "t.wm.wo";
                let f = create(dev, name);
                let w = open_access(dev, name, KC_ACCESS_WRITE);
                let _ = unlink(dev, name);
                f.and(w)
            })?;
            for (what, bad, want) in [
                ("a closed fd", 999, libc::EBADF),
                ("a negative fd", -5, libc::EBADF),
                ("not a kcompletion fd", null.as_raw_fd(), libc::EINVAL),
                ("the control device", dev_fd, libc::EINVAL),
                ("a write-only handle", wo.as_raw_fd(), libc::EBADF),
            ] {
                let list = [fds[0], bad];
                expect_err(
                    what,
                    call(KcWaitMany {
                        fds: list.as_ptr() as u64,
                        ..base
                    }),
                    want,
                )?;
                expect_err(
                    &format!("{what} as the alert"),
                    call(KcWaitMany {
                        alert_fd: bad,
                        ..base
                    }),
                    want,
                )?;
            }
            expect_err(
                "WAIT_MANY on an object fd",
                ioctl(&o[0], KC_IOC_WAIT_MANY, &mut base.clone()),
                libc::ENOTTY,
            )?;
            check!(
                o.iter()
                    .all(|f| ok("info", info(f)).map(|i| i.waiters) == Ok(0)),
                "waiters left"
            );
            Ok(())
        },
    );

    s.case(
        "members closed and unlinked mid-wait: the wait holds them and still works",
        || {
            let name = "t.wm.unlinked";
            let a = ok("create", create(dev, name))?;
            let b = ok("b", create_anonymous(dev))?;
            let keep = ok("open b again", dup(&b))?;
            let fds = vec![a.as_raw_fd(), b.as_raw_fd()];
            let t = thread::spawn(move || {
                let dev = open_dev();
                wait_many(&dev, &fds, 0, in_ms(10_000), KC_NO_ALERT)
            });
            until_waiters(&a, 1)?;
            ok("unlink a", unlink(dev, name))?;
            drop(b);
            thread::sleep(Duration::from_millis(20));
            ok("complete b", complete(&keep))?;
            let got = t.join().unwrap();
            check!(got == Ok(1), "woke with {got:?}");
            Ok(())
        },
    );

    s.case(
        "revoke: a single, a wait-any and a wait-all waiter get EIDRM at once",
        || {
            let name = "t.wm.revoke";
            let r = Arc::new(ok("create", create(dev, name))?);
            let other = ok("other", objects(dev, 1))?;
            let (rf, of) = (r.as_raw_fd(), other[0].as_raw_fd());
            let single = {
                let r = r.clone();
                thread::spawn(move || wait_deadline(&*r, in_ms(10_000), 0))
            };
            let any = thread::spawn(move || {
                wait_many(&open_dev(), &[of, rf], 0, in_ms(10_000), KC_NO_ALERT)
            });
            let all = thread::spawn(move || {
                wait_many(
                    &open_dev(),
                    &[of, rf],
                    KC_WAIT_ALL,
                    in_ms(10_000),
                    KC_NO_ALERT,
                )
            });
            until_waiters(&r, 3)?;
            let t0 = now_ns(libc::CLOCK_MONOTONIC);
            ok("revoke", revoke(&r))?;
            expect_err("single waiter", single.join().unwrap(), libc::EIDRM)?;
            expect_err("wait-any waiter", any.join().unwrap(), libc::EIDRM)?;
            expect_err("wait-all waiter", all.join().unwrap(), libc::EIDRM)?;
            let ms = (now_ns(libc::CLOCK_MONOTONIC) - t0) / 1_000_000;
            check!(ms < 2000, "the waiters took {ms} ms to learn it");
            check!(
                ok("other", info(&other[0]))?.waiters == 0,
                "the other member still has waiters"
            );
            Ok(())
        },
    );

    s.case(
        "revoke: every later operation is EIDRM, the name is gone, pollers see ERR|HUP",
        || {
            let name = "t.wm.revoked";
            let a = ok("create", create(dev, name))?;
            let b = ok("open", open(dev, name))?;
            ok("complete", complete(&a))?;
            ok("revoke", revoke(&b))?;
            for (what, r) in [
                ("complete", complete(&a)),
                ("complete_all", complete_all(&a)),
                ("reinit", reinit(&a)),
                ("try_wait", try_wait(&a)),
                ("done", done(&a).map(|_| ())),
                ("info", info(&a).map(|_| ())),
                ("map_info", map_info(&a).map(|_| ())),
                ("wait", wait_deadline(&a, 0, 0)),
                (
                    "wait-many",
                    wait_many(dev, &[a.as_raw_fd()], 0, 0, KC_NO_ALERT).map(|_| ()),
                ),
                ("revoke again", revoke(&a)),
            ] {
                expect_err(what, r, libc::EIDRM)?;
            }
            expect_err(
                "mmap",
                mmap(&a, page_size(), libc::PROT_READ, libc::MAP_SHARED, 0).map(|_| ()),
                libc::EIDRM,
            )?;
            expect_err("open by name", open(dev, name), libc::ENOENT)?;
            let ev = revents(&a);
            check!(
                ev & libc::POLLERR != 0 && ev & libc::POLLHUP != 0 && ev & libc::POLLIN == 0,
                "revents {ev:#x}"
            );
            // The name is free for a new object.
            let fresh = ok("re-create", create_excl(dev, name))?;
            ok("the new object works", complete(&fresh))?;
            ok("unlink", unlink(dev, name))
        },
    );

    s.case(
        "revoke: a mapped state page shows it, a poller is woken, write access needed",
        || {
            let name = "t.wm.revoke.map";
            let a = ok("create", create(dev, name))?;
            let ro = ok("open read-only", open_access(dev, name, KC_ACCESS_READ))?;
            expect_err(
                "revoke through a read-only handle",
                revoke(&ro),
                libc::EBADF,
            )?;
            let page = ok("map", StatePage::map(&a))?;
            ok("complete", complete(&a))?;
            let ro = Arc::new(ro);
            let ro2 = ro.clone();
            let poller = thread::spawn(move || {
                let mut p = libc::pollfd {
                    fd: ro2.as_raw_fd(),
                    events: 0,
                    revents: 0,
                };
                // SAFETY: One valid pollfd.
                unsafe { libc::poll(&mut p, 1, 10_000) };
                p.revents
            });
            thread::sleep(Duration::from_millis(30));
            ok("revoke", revoke(&a))?;
            let ev = poller.join().unwrap();
            check!(ev & libc::POLLHUP != 0, "the poller saw {ev:#x}");
            check!(
                page.word(1) == 0 && page.word(3) == KC_STATE_REVOKED,
                "slot done {} flags {}",
                page.word(1),
                page.word(3)
            );
            Ok(())
        },
    );

    s.case(
        "revoke wakes a kernel Lua waiter with nil, \"removed\"",
        || {
            let (name, res) = ("t.wm.klua", "t.wm.klua.result");
            let a = ok("create", create(dev, name))?;
            let result = ok("create result", create(dev, res))?;
            let src = format!(
                "local completion = require 'completion'\n\
             local c = assert(completion.open('{name}'))\n\
             local ok, err = c:wait(10000)\n\
             if ok == nil and err == 'removed' then\n\
               local again, msg = c:complete()\n\
               if again == nil and msg == 'removed' then completion.open('{res}'):complete() end\n\
             end\n"
            );
            let mut error = [0u8; 256];
            let mut req = run_req(b"t-wm-klua", src.as_bytes(), &mut error);
            ok("run", ioctl(dev, KC_IOC_RUN, &mut req))?;
            until_waiters(&a, 1)?;
            ok("revoke", revoke(&a))?;
            let r = wait_deadline(&result, in_ms(10_000), 0);
            let _ = ioctl(dev, KC_IOC_STOP, &mut kname(b"t-wm-klua"));
            let _ = ioctl(dev, KC_IOC_STOP, &mut kname(b"t-wm-klua"));
            ok("the script saw removed twice", r)?;
            ok("unlink", unlink(dev, res))
        },
    );

    s.case(
        "a wait set in epoll beside eventfds: ready while any member is done, WAIT gives the index",
        || {
            let o = ok("objects", objects(dev, 3))?;
            let set = ok("wait set", wait_set(dev, &raw(&o), 0))?;
            // SAFETY: Plain syscalls on fds we own.
            let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            check!(ep >= 0, "epoll_create1");
            let ep = to_fd(ep);
            // SAFETY: As above.
            let efd = to_fd(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) });
            for (fd, tag) in [(set.as_raw_fd(), 1u64), (efd.as_raw_fd(), 2)] {
                let mut ev = libc::epoll_event {
                    events: libc::EPOLLIN as u32,
                    u64: tag,
                };
                // SAFETY: As above.
                let r =
                    unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
                check!(r == 0, "epoll_ctl");
            }
            let events = |ms: i32| -> Vec<u64> {
                let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
                // SAFETY: Room for 4 events.
                let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), evs.as_mut_ptr(), 4, ms) };
                evs[..n.max(0) as usize].iter().map(|e| e.u64).collect()
            };
            check!(events(0).is_empty(), "ready before anything happened");
            let o2 = ok("dup 2", dup(&o[2]))?;
            let t = thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                complete(&o2)
            });
            let got = events(10_000);
            ok("complete from the thread", t.join().unwrap())?;
            check!(got == vec![1], "epoll said {got:?}");
            check!(wait_set_wait(&set, 0) == Ok(2), "WAIT on the set");
            check!(events(0).is_empty(), "still ready after the WAIT consumed");
            // SAFETY: Writes 8 bytes.
            unsafe { libc::write(efd.as_raw_fd(), &1u64 as *const u64 as *const _, 8) };
            check!(events(0) == vec![2], "the eventfd beside it");
            // The set keeps its objects: the member fds may go.
            drop(o);
            expect_err(
                "WAIT on an empty set",
                wait_set_wait(&set, 0),
                libc::ETIMEDOUT,
            )?;
            Ok(())
        },
    );

    s.case(
        "a wait-all set: ready only when all are done, consumes all; revoke gives ERR|HUP, EIDRM",
        || {
            let o = ok("objects", objects(dev, 3))?;
            let set = ok("wait set", wait_set(dev, &raw(&o), KC_WAIT_ALL))?;
            ok("complete 0", complete(&o[0]))?;
            ok("complete 1", complete(&o[1]))?;
            check!(revents(&set) & libc::POLLIN == 0, "ready with one not done");
            expect_err("WAIT", wait_set_wait(&set, in_ms(20)), libc::ETIMEDOUT)?;
            ok("complete 2", complete(&o[2]))?;
            check!(revents(&set) & libc::POLLIN != 0, "not ready with all done");
            check!(wait_set_wait(&set, 0) == Ok(0), "WAIT on the set");
            check!(o.iter().all(|f| done(f) == Ok(false)), "not all consumed");
            let set2 = Arc::new(set);
            let s2 = set2.clone();
            let waiter = thread::spawn(move || wait_set_wait(&*s2, in_ms(10_000)));
            // A set's waiter sleeps on the set, not on the members (no waiter count to watch):
            // give it the time to get there. Either way only the revoke can end its wait.
            thread::sleep(Duration::from_millis(50));
            ok("revoke 1", revoke(&o[1]))?;
            expect_err("the set's waiter", waiter.join().unwrap(), libc::EIDRM)?;
            let ev = revents(&*set2);
            check!(
                ev & libc::POLLERR != 0 && ev & libc::POLLHUP != 0,
                "revents {ev:#x}"
            );
            Ok(())
        },
    );

    s.case(
        "a wait set of 128 beside single waiters: counts shared, none lost; complete_all wakes every set waiter",
        || {
            let o = Arc::new(ok("objects", objects(dev, 128))?);
            let set = Arc::new(ok("wait set", wait_set(dev, &raw(&o), 0))?);
            let set_waiter = || {
                let set = set.clone();
                thread::spawn(move || wait_set_wait(&*set, in_ms(10_000)))
            };
            // Two set waiters asleep; complete_all of the last member wakes both.
            let (a, b) = (set_waiter(), set_waiter());
            thread::sleep(Duration::from_millis(50));
            ok("complete_all 127", complete_all(&o[127]))?;
            let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
            check!(ra == Ok(127) && rb == Ok(127), "set waiters: {ra:?} {rb:?}");
            ok("reinit 127", reinit(&o[127]))?;
            // A single waiter on member 5 and a set waiter: two completes serve both, one
            // each, whoever comes first; nothing is left over.
            let o2 = o.clone();
            let single = thread::spawn(move || wait_deadline(&o2[5], in_ms(10_000), 0));
            let on_set = set_waiter();
            until_waiters(&o[5], 1)?;
            thread::sleep(Duration::from_millis(20));
            ok("complete 5", complete(&o[5]))?;
            thread::sleep(Duration::from_millis(20));
            ok("complete 5 again", complete(&o[5]))?;
            let (r1, r2) = (single.join().unwrap(), on_set.join().unwrap());
            check!(r1.is_ok() && r2 == Ok(5), "single {r1:?}, set {r2:?}");
            check!(o.iter().all(|f| done(f) == Ok(false)), "a count left over");
            // Taken behind the set's back: its hint is stale, and a WAIT finds nothing.
            ok("complete 9", complete(&o[9]))?;
            ok("try_wait 9", try_wait(&o[9]))?;
            expect_err("WAIT after a steal", wait_set_wait(&*set, in_ms(20)), libc::ETIMEDOUT)?;
            check!(revents(&*set) & libc::POLLIN == 0, "readable after a steal");
            // Several ready: the lowest index first.
            for i in [70, 3, 100] {
                ok("complete", complete(&o[i]))?;
            }
            for want in [3, 70, 100] {
                check!(wait_set_wait(&*set, 0) == Ok(want), "not index {want}");
            }
            Ok(())
        },
    );

    s.case(
        "a wait-all set sleeps through members done one at a time, wakes on the last",
        || {
            let o = Arc::new(ok("objects", objects(dev, 3))?);
            let set = Arc::new(ok("wait set", wait_set(dev, &raw(&o), KC_WAIT_ALL))?);
            let s2 = set.clone();
            let waiter = thread::spawn(move || wait_set_wait(&*s2, in_ms(10_000)));
            thread::sleep(Duration::from_millis(30));
            ok("complete 0", complete(&o[0]))?;
            ok("complete 1", complete(&o[1]))?;
            thread::sleep(Duration::from_millis(30));
            check!(
                !waiter.is_finished(),
                "the wait-all ended with one not done"
            );
            // Taken and given back: still not all at once until the last.
            ok("try_wait 0", try_wait(&o[0]))?;
            ok("complete 0", complete(&o[0]))?;
            ok("complete 2", complete(&o[2]))?;
            check!(waiter.join().unwrap() == Ok(0), "the wait-all");
            check!(o.iter().all(|f| done(f) == Ok(false)), "not all consumed");
            Ok(())
        },
    );

    s.case(
        "WAIT_SET checks its argument; a set fd is not an object fd; other ioctls ENOTTY",
        || {
            let o = ok("objects", objects(dev, 2))?;
            let fds = raw(&o);
            let base = KcWaitSet {
                fds: fds.as_ptr() as u64,
                count: 2,
                flags: 0,
                reserved: 0,
            };
            let call = |mut a: KcWaitSet| ioctl(dev, KC_IOC_WAIT_SET, &mut a).map(to_fd);
            expect_err(
                "reserved",
                call(KcWaitSet {
                    reserved: 1,
                    ..base
                }),
                libc::EINVAL,
            )?;
            expect_err(
                "unknown flag",
                call(KcWaitSet { flags: 1, ..base }),
                libc::EINVAL,
            )?;
            expect_err(
                "count 0",
                call(KcWaitSet { count: 0, ..base }),
                libc::EINVAL,
            )?;
            expect_err(
                "count 129",
                call(KcWaitSet { count: 129, ..base }),
                libc::EINVAL,
            )?;
            expect_err(
                "bad pointer",
                call(KcWaitSet { fds: 8, ..base }),
                libc::EFAULT,
            )?;
            let twice = [fds[0], fds[0]];
            expect_err(
                "all with a duplicate",
                call(KcWaitSet {
                    fds: twice.as_ptr() as u64,
                    flags: KC_WAIT_ALL,
                    ..base
                }),
                libc::EINVAL,
            )?;
            let closed = [fds[0], 999];
            expect_err(
                "a closed fd",
                call(KcWaitSet {
                    fds: closed.as_ptr() as u64,
                    ..base
                }),
                libc::EBADF,
            )?;
            let set = ok("set", call(base))?;
            let nested = [fds[0], set.as_raw_fd()];
            expect_err(
                "a set inside a set",
                call(KcWaitSet {
                    fds: nested.as_ptr() as u64,
                    ..base
                }),
                libc::EINVAL,
            )?;
            expect_err(
                "a set in WAIT_MANY",
                wait_many(dev, &nested, 0, 0, KC_NO_ALERT),
                libc::EINVAL,
            )?;
            expect_err(
                "COMPLETE on a set",
                ioctl0(&set, KC_IOC_COMPLETE),
                libc::ENOTTY,
            )?;
            expect_err(
                "mmap of a set",
                mmap(&set, page_size(), libc::PROT_READ, libc::MAP_SHARED, 0).map(drop),
                libc::ENODEV,
            )?;
            let mut w = KcWait {
                deadline_ns: 0,
                flags: 0,
                reserved: 1,
            };
            expect_err(
                "WAIT with reserved set",
                ioctl(&set, KC_IOC_WAIT, &mut w),
                libc::EINVAL,
            )?;
            Ok(())
        },
    );

    s.case(
        "wait-all storm across two CPUs: every completion accounted for",
        || {
            let o = Arc::new(ok("objects", objects(dev, 4))?);
            let fds = raw(&o);
            const ROUNDS: usize = 3000;
            let o2 = o.clone();
            let completer = thread::spawn(move || -> Res<()> {
                kcompletion_driver_tests::cpus::pin_spread(1);
                for _ in 0..ROUNDS {
                    for f in o2.iter() {
                        complete(f)?;
                    }
                }
                Ok(())
            });
            kcompletion_driver_tests::cpus::pin_spread(0);
            let mut taken = 0;
            while taken < ROUNDS {
                ok(
                    "wait-all",
                    wait_many(dev, &fds, KC_WAIT_ALL, in_ms(10_000), KC_NO_ALERT),
                )?;
                taken += 1;
            }
            kcompletion_driver_tests::cpus::unpin();
            ok("completer", completer.join().unwrap())?;
            check!(o.iter().all(|f| done(f) == Ok(false)), "counts left over");
            Ok(())
        },
    );
}
