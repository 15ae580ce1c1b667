//! Absolute deadlines for [`Completion::wait_until`](crate::Completion::wait_until).

use kcompletion_abi::{KcWait, KC_DEADLINE_NEVER, KC_WAIT_REALTIME};
use rustix::time::{clock_gettime, ClockId};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The largest finite deadline the driver accepts, in nanoseconds.
const MAX_FINITE_NS: u64 = i64::MAX as u64;

/// An absolute point in time at which a wait gives up, or [`Deadline::NEVER`].
///
/// The driver takes absolute deadlines so that a wait interrupted by a signal can be
/// restarted with the same `Deadline` without stretching the total wait. Deadlines are on
/// `CLOCK_MONOTONIC` (the clock of [`std::time::Instant`]) unless made from a
/// [`SystemTime`] or with [`Deadline::from_realtime_ns`], which use `CLOCK_REALTIME`.
///
/// # Examples
///
/// ```no_run
/// use kcompletion::{Completion, Deadline};
/// use std::time::{Duration, Instant};
///
/// let c = Completion::open("job1")?;
/// let deadline = Deadline::after(Duration::from_secs(5));
/// loop {
///     match c.wait_until(deadline) {
///         Err(e) if e.kind() == kcompletion::ErrorKind::Interrupted => continue,
///         other => break other?,
///     }
/// }
/// // An Instant converts too.
/// c.wait_until(Instant::now() + Duration::from_millis(10)).ok();
/// # Ok::<(), kcompletion::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Deadline {
    ns: u64,
    realtime: bool,
}

impl Deadline {
    /// Wait forever.
    pub const NEVER: Deadline = Deadline {
        ns: KC_DEADLINE_NEVER,
        realtime: false,
    };

    /// The deadline `timeout` from now on `CLOCK_MONOTONIC`. A timeout too large to
    /// represent (about 292 years of uptime) becomes [`Deadline::NEVER`].
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::from_monotonic_ns(deadline_after(monotonic_now_ns(), timeout))
    }

    /// `Some(timeout)` as [`Deadline::after`], `None` as [`Deadline::NEVER`].
    pub fn from_timeout(timeout: Option<Duration>) -> Deadline {
        match timeout {
            Some(t) => Deadline::after(t),
            None => Deadline::NEVER,
        }
    }

    /// A raw absolute `CLOCK_MONOTONIC` time in nanoseconds. Values above `i64::MAX`
    /// (including `u64::MAX`) mean [`Deadline::NEVER`].
    pub fn from_monotonic_ns(ns: u64) -> Deadline {
        Deadline {
            ns: clamp_ns(ns),
            realtime: false,
        }
    }

    /// A raw absolute `CLOCK_REALTIME` time in nanoseconds since the Unix epoch. Values above
    /// `i64::MAX` mean [`Deadline::NEVER`].
    pub fn from_realtime_ns(ns: u64) -> Deadline {
        match clamp_ns(ns) {
            KC_DEADLINE_NEVER => Deadline::NEVER,
            ns => Deadline { ns, realtime: true },
        }
    }

    /// Whether this is [`Deadline::NEVER`].
    pub fn is_never(&self) -> bool {
        self.ns == KC_DEADLINE_NEVER
    }

    /// Whether the deadline is on `CLOCK_REALTIME` rather than `CLOCK_MONOTONIC`.
    pub fn is_realtime(&self) -> bool {
        self.realtime
    }

    /// The raw deadline in nanoseconds on its clock; `u64::MAX` for [`Deadline::NEVER`].
    pub fn as_nanos(&self) -> u64 {
        self.ns
    }

    /// Time left until the deadline (zero if it has passed), or `None` for
    /// [`Deadline::NEVER`].
    pub fn remaining(&self) -> Option<Duration> {
        if self.is_never() {
            return None;
        }
        let now = if self.realtime {
            realtime_now_ns()
        } else {
            monotonic_now_ns()
        };
        Some(Duration::from_nanos(self.ns.saturating_sub(now)))
    }

    /// The ioctl argument for this deadline.
    pub fn to_raw(&self) -> KcWait {
        KcWait {
            deadline_ns: self.ns,
            flags: if self.realtime { KC_WAIT_REALTIME } else { 0 },
            reserved: 0,
        }
    }
}

impl From<Instant> for Deadline {
    /// Converts an `Instant` (which is `CLOCK_MONOTONIC` on Linux) by measuring its distance
    /// from now.
    fn from(instant: Instant) -> Deadline {
        let (now_instant, now_ns) = (Instant::now(), monotonic_now_ns());
        let ns = match instant.checked_duration_since(now_instant) {
            Some(ahead) => deadline_after(now_ns, ahead),
            None => deadline_before(now_ns, now_instant.duration_since(instant)),
        };
        Deadline::from_monotonic_ns(ns)
    }
}

impl From<SystemTime> for Deadline {
    /// A `CLOCK_REALTIME` deadline; times before the epoch are already past.
    fn from(t: SystemTime) -> Deadline {
        let ns = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(KC_DEADLINE_NEVER),
            Err(_) => 0,
        };
        Deadline::from_realtime_ns(ns)
    }
}

impl From<Option<Duration>> for Deadline {
    /// Same as [`Deadline::from_timeout`].
    fn from(timeout: Option<Duration>) -> Deadline {
        Deadline::from_timeout(timeout)
    }
}

fn clamp_ns(ns: u64) -> u64 {
    if ns > MAX_FINITE_NS {
        KC_DEADLINE_NEVER
    } else {
        ns
    }
}

/// `now_ns + timeout`, or `KC_DEADLINE_NEVER` if that exceeds `i64::MAX` nanoseconds.
pub(crate) fn deadline_after(now_ns: u64, timeout: Duration) -> u64 {
    match u64::try_from(timeout.as_nanos()) {
        Ok(t) => match now_ns.checked_add(t) {
            Some(ns) if ns <= MAX_FINITE_NS => ns,
            _ => KC_DEADLINE_NEVER,
        },
        Err(_) => KC_DEADLINE_NEVER,
    }
}

/// `now_ns - ago`, saturating at zero (a deadline in the past).
pub(crate) fn deadline_before(now_ns: u64, ago: Duration) -> u64 {
    now_ns.saturating_sub(u64::try_from(ago.as_nanos()).unwrap_or(u64::MAX))
}

fn timespec_ns(ts: rustix::time::Timespec) -> u64 {
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Now on `CLOCK_MONOTONIC`, in nanoseconds.
pub fn monotonic_now_ns() -> u64 {
    timespec_ns(clock_gettime(ClockId::Monotonic))
}

fn realtime_now_ns() -> u64 {
    timespec_ns(clock_gettime(ClockId::Realtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_adds() {
        assert_eq!(deadline_after(1_000, Duration::from_nanos(500)), 1_500);
        assert_eq!(deadline_after(5, Duration::ZERO), 5);
        assert_eq!(
            deadline_after(1_000_000_000, Duration::from_millis(50)),
            1_050_000_000
        );
    }

    #[test]
    fn after_saturates_to_never() {
        assert_eq!(deadline_after(1, Duration::MAX), KC_DEADLINE_NEVER);
        assert_eq!(
            deadline_after(MAX_FINITE_NS, Duration::from_nanos(1)),
            KC_DEADLINE_NEVER
        );
        assert_eq!(
            deadline_after(MAX_FINITE_NS - 1, Duration::from_nanos(1)),
            MAX_FINITE_NS
        );
        assert_eq!(
            deadline_after(u64::MAX - 1, Duration::from_secs(1)),
            KC_DEADLINE_NEVER
        );
    }

    #[test]
    fn before_saturates_to_zero() {
        assert_eq!(deadline_before(100, Duration::from_nanos(30)), 70);
        assert_eq!(deadline_before(100, Duration::from_secs(1)), 0);
        assert_eq!(deadline_before(100, Duration::MAX), 0);
    }

    #[test]
    fn constructors() {
        assert!(Deadline::NEVER.is_never());
        assert_eq!(Deadline::from_timeout(None), Deadline::NEVER);
        assert!(Deadline::from_monotonic_ns(u64::MAX).is_never());
        assert!(Deadline::from_monotonic_ns(i64::MAX as u64 + 1).is_never());
        assert!(Deadline::from_realtime_ns(u64::MAX).is_never());
        assert!(!Deadline::from_realtime_ns(u64::MAX).is_realtime());
        let d = Deadline::from_realtime_ns(7);
        assert!(d.is_realtime());
        assert_eq!(d.to_raw().flags, KC_WAIT_REALTIME);
        assert_eq!(d.to_raw().deadline_ns, 7);
        assert_eq!(Deadline::NEVER.to_raw().deadline_ns, u64::MAX);
        assert_eq!(Deadline::NEVER.remaining(), None);
    }

    #[test]
    fn after_uses_the_monotonic_clock() {
        let before = monotonic_now_ns();
        let d = Deadline::after(Duration::from_secs(1));
        let after = monotonic_now_ns();
        assert!(d.as_nanos() >= before + 1_000_000_000);
        assert!(d.as_nanos() <= after + 1_000_000_000);
        let rem = d.remaining().unwrap();
        assert!(rem <= Duration::from_secs(1) && rem > Duration::from_millis(500));
    }

    #[test]
    fn instant_conversion() {
        let now = monotonic_now_ns();
        let d = Deadline::from(Instant::now() + Duration::from_secs(2));
        assert!(d.as_nanos() >= now + 2_000_000_000 - 1_000_000);
        assert!(d.as_nanos() <= monotonic_now_ns() + 2_000_000_000);
        let past = Deadline::from(Instant::now() - Duration::from_millis(1));
        assert!(past.as_nanos() < monotonic_now_ns());
        assert_eq!(past.remaining(), Some(Duration::ZERO));
    }

    #[test]
    fn system_time_conversion() {
        let d = Deadline::from(UNIX_EPOCH + Duration::from_secs(3));
        assert_eq!(d.as_nanos(), 3_000_000_000);
        assert!(d.is_realtime());
    }
}
