//! Time, as the engine sees it: the caller's [`Clock`], how long a call may
//! [`Wait`], and deadlines that read the clock only once they have to.

use core::time::Duration;

/// A monotonic clock the caller provides: the engine reads it when a call
/// has to wait (a receive with a time limit, a request whose answer is not
/// there yet), and hands it to ipcon-core's machines as `now`.
pub trait Clock {
    /// The time since a fixed origin of the clock's choosing; it never goes
    /// back.
    fn now(&self) -> Duration;

    /// [`Clock::now`] in whole milliseconds, as ipcon-core's machines take it.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.now().as_millis()).unwrap_or(u64::MAX)
    }

    /// [`Clock::now`] in whole milliseconds rounded up: where a deadline
    /// starts (see [`ms_rounded_up`]).
    fn start_ms(&self) -> u64 {
        ms_rounded_up(self.now())
    }
}

/// `d` in whole milliseconds, rounded up. ipcon-core's machines expire a
/// deadline once the clock in whole milliseconds, rounded down
/// ([`Clock::now_ms`]), reaches it; a deadline counted from a start and a
/// time limit rounded up ([`Clock::start_ms`] plus this) therefore never
/// ends before its limit has passed, where one counted from values rounded
/// down could end up to a millisecond early (a 100 ms call timed out after
/// 99.97 ms in the e2e suite).
pub(crate) fn ms_rounded_up(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// `CLOCK_MONOTONIC`, read through rustix (the vDSO where the kernel offers
/// one): the clock of [`Handler`](crate::Handler) and the default of the
/// engine's halves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
}

/// How long a receive may wait for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Until one arrives.
    Forever,
    /// Not at all: [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock)
    /// when nothing is queued.
    Never,
    /// At most this long: [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// when nothing arrived in time.
    Timeout(Duration),
}

/// A time limit that starts when it is first asked how much time is left: a
/// call reads the clock only once it has to wait, never for a datagram that
/// is already queued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    limit: Duration,
    at: Option<Duration>,
}

impl Deadline {
    /// `limit` from the first wait on.
    pub fn after(limit: Duration) -> Self {
        Self { limit, at: None }
    }

    /// The deadline of a receive that waits as `wait` says: one for
    /// [`Wait::Timeout`], none otherwise.
    pub fn of_wait(wait: Wait) -> Option<Self> {
        match wait {
            Wait::Timeout(limit) => Some(Self::after(limit)),
            Wait::Forever | Wait::Never => None,
        }
    }

    /// The time left; the first call starts the clock and returns the whole
    /// limit.
    pub fn left(&mut self, clock: &impl Clock) -> Duration {
        let now = clock.now();
        match self.at {
            Some(at) => at.saturating_sub(now),
            None => {
                self.at = Some(now.saturating_add(self.limit));
                self.limit
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::cell::Cell;

    /// A clock the test moves by hand.
    #[derive(Debug, Default)]
    pub(crate) struct ManualClock(pub Cell<Duration>);

    impl Clock for ManualClock {
        fn now(&self) -> Duration {
            self.0.get()
        }
    }

    #[test]
    fn a_deadline_starts_at_its_first_wait() {
        let clock = ManualClock::default();
        clock.0.set(Duration::from_secs(100));
        let mut deadline = Deadline::after(Duration::from_secs(5));
        clock.0.set(Duration::from_secs(200));
        assert_eq!(deadline.left(&clock), Duration::from_secs(5));
        clock.0.set(Duration::from_secs(203));
        assert_eq!(deadline.left(&clock), Duration::from_secs(2));
        clock.0.set(Duration::from_secs(300));
        assert_eq!(deadline.left(&clock), Duration::ZERO);
    }

    #[test]
    fn a_deadline_from_rounded_up_times_never_ends_early() {
        let ms = Duration::from_millis;
        assert_eq!(ms_rounded_up(ms(100)), 100);
        assert_eq!(ms_rounded_up(Duration::new(0, 100_000_001)), 101);
        assert_eq!(ms_rounded_up(Duration::MAX), u64::MAX);
        let clock = ManualClock::default();
        clock.0.set(Duration::new(0, 5_900_000));
        assert_eq!((clock.now_ms(), clock.start_ms()), (5, 6));
        // The first instant the rounded-down clock reaches the deadline is
        // no earlier than start + limit.
        let limit = Duration::new(0, 100_000_001);
        let deadline = ms(clock.start_ms() + ms_rounded_up(limit));
        assert!(deadline >= clock.now() + limit);
    }

    #[test]
    fn the_monotonic_clock_moves_forward_in_milliseconds() {
        let a = MonotonicClock.now();
        let b = MonotonicClock.now();
        assert!(b >= a && a > Duration::ZERO);
        assert!(MonotonicClock.now_ms() >= u64::try_from(a.as_millis()).unwrap());
    }
}
