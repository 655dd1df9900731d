//! The clock every process of a measurement shares.
//!
//! A sender's start and a receiver's last message are taken in different
//! processes; `CLOCK_MONOTONIC` is one clock for the whole system, so the
//! two readings subtract (an `Instant` cannot leave its process).

use rustix::time::{clock_gettime, ClockId};

/// Nanoseconds of `CLOCK_MONOTONIC`.
pub fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    // The monotonic clock is never negative.
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// Nanoseconds of CPU time this process has used (user and system, all
/// threads): what a sender itself costs, apart from its receivers.
pub fn process_cpu_ns() -> u64 {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// Events per second for `events` over `[start_ns, end_ns]`; 0 for an
/// empty interval (so a broken run cannot print infinity).
pub fn rate(events: u64, start_ns: u64, end_ns: u64) -> f64 {
    let elapsed = end_ns.saturating_sub(start_ns);
    if elapsed == 0 {
        return 0.0;
    }
    events as f64 * 1e9 / elapsed as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward() {
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = now_ns();
        assert!(b >= a + 2_000_000, "{a} {b}");
    }

    #[test]
    fn rate_is_per_second() {
        assert_eq!(rate(500, 1_000_000_000, 1_500_000_000), 1000.0);
        assert_eq!(rate(5, 7, 7), 0.0);
        assert_eq!(rate(5, 9, 7), 0.0);
    }
}
