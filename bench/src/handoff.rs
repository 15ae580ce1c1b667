//! P9: P1's round trip through `KC_IOC_COMPLETE_AND_WAIT`, which completes one object and
//! waits on another in one system call (issue 18), beside P1's two-call kcompletion, eventfd
//! and futex, all re-measured here in the same repetition loop.
//!
//! The rounds: this side completes `ping` and waits for `pong` in one call per round. The
//! peer first waits for `ping` once, then every round completes `pong` and waits for the next
//! `ping` in one call, except in its last round, where it only completes `pong`. So each side
//! makes exactly as many completions as the other consumes, and nothing is left pending. The
//! two-call mechanisms make the same calls in the same order (P1's loop, regrouped).

use crate::pingpong::{make, placements, with_peer, Chan, Mode};
use crate::sys::*;
use crate::{emit, progress, Config};
use std::os::fd::RawFd;

/// One side's moves of a round trip, as the calls a mechanism makes.
trait Turns: Sync {
    /// This side, every round: signal `ping`, then wait for `pong`.
    fn ping_then_pong(&self);
    /// The peer, once before its first round: wait for the first `ping`.
    fn first_ping(&self);
    /// The peer, every round but the last: signal `pong`, then wait for the next `ping`.
    fn pong_then_ping(&self);
    /// The peer's last round: signal `pong` only.
    fn last_pong(&self);
}

/// A two-call mechanism of P1: signal and wait are separate system calls.
struct TwoCalls<'a> {
    ping: &'a dyn Chan,
    pong: &'a dyn Chan,
}

impl Turns for TwoCalls<'_> {
    #[inline]
    fn ping_then_pong(&self) {
        self.ping.signal();
        self.pong.wait();
    }
    #[inline]
    fn first_ping(&self) {
        self.ping.wait();
    }
    #[inline]
    fn pong_then_ping(&self) {
        self.pong.signal();
        self.ping.wait();
    }
    #[inline]
    fn last_pong(&self) {
        self.pong.signal();
    }
}

/// kcompletion through `KC_IOC_COMPLETE_AND_WAIT`: one system call per move.
struct CompleteAndWait {
    ping: RawFd,
    pong: RawFd,
}

impl Turns for CompleteAndWait {
    #[inline]
    fn ping_then_pong(&self) {
        kc_complete_and_wait(self.ping, self.pong);
    }
    #[inline]
    fn first_ping(&self) {
        kc_wait(self.ping);
    }
    #[inline]
    fn pong_then_ping(&self) {
        kc_complete_and_wait(self.pong, self.ping);
    }
    #[inline]
    fn last_pong(&self) {
        kc_complete(self.pong);
    }
}

/// The mechanisms of P9, in the order each repetition measures them.
pub const MECHS: &[&str] = &["kc-complete-and-wait", "kcompletion", "eventfd", "futex"];

/// Mean round-trip time in ns, this side pinned to `cpus.0` and the peer to `cpus.1`.
fn round_trips(t: &dyn Turns, mode: Mode, warm: usize, rounds: usize, cpus: (usize, usize)) -> f64 {
    let total = warm + rounds;
    pin(cpus.0);
    let peer = || {
        pin(cpus.1);
        t.first_ping();
        for _ in 1..total {
            t.pong_then_ping();
        }
        t.last_pong();
    };
    let measure = || {
        for _ in 0..warm {
            t.ping_then_pong();
        }
        let t0 = now_ns();
        for _ in 0..rounds {
            t.ping_then_pong();
        }
        (now_ns() - t0) as f64 / rounds as f64
    };
    with_peer(mode, peer, measure)
}

/// One figure of mechanism `mech`.
fn measure(
    dev: RawFd,
    mech: &str,
    mode: Mode,
    warm: usize,
    rounds: usize,
    cpus: (usize, usize),
) -> f64 {
    if mech == "kc-complete-and-wait" {
        let ping = kc_fresh(dev, "kcb.p9.ping");
        let pong = kc_fresh(dev, "kcb.p9.pong");
        let v = round_trips(&CompleteAndWait { ping, pong }, mode, warm, rounds, cpus);
        close(ping);
        close(pong);
        return v;
    }
    let (ping, pong, fds) = make(dev, mech, mode);
    let v = round_trips(
        &TwoCalls {
            ping: &*ping,
            pong: &*pong,
        },
        mode,
        warm,
        rounds,
        cpus,
    );
    fds.into_iter().for_each(close);
    v
}

/// P9 runs P1's cases, in P1's [`placements`].
pub fn p9(cfg: &Config) {
    let dev = open_dev().expect("open /dev/kcompletion");
    let rounds = cfg.pick(20_000, 2_000);
    let warm = rounds / 10;
    let placements = placements("P9");
    for rep in 0..cfg.reps {
        for &(suffix, cpus) in &placements {
            for mode in [Mode::Threads, Mode::Processes] {
                for &mech in MECHS {
                    let v = measure(dev, mech, mode, warm, rounds, cpus);
                    emit(
                        "P9",
                        &format!("{}{suffix}", mode.name()),
                        mech,
                        0,
                        rep,
                        v,
                        "ns",
                    );
                }
            }
        }
        progress(&format!("P9 rep {} of {}", rep + 1, cfg.reps));
    }
    close(dev);
}
