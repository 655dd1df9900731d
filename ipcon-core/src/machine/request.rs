//! Request/acknowledgement tracking: hands out sequence numbers, matches ACKs, errors,
//! replies and ends of dumps to pending requests, and reports timeouts against deadlines
//! the caller supplies.
use core::fmt;

use heapless::Vec;

use crate::wire::ipcon::Incoming;

/// Why a request could not be tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestError {
    /// As many requests are in flight as the tracker holds.
    Full,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("too many requests in flight"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RequestError {}

/// What a received message meant for the tracked requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Tracked {
    /// A reply to the pending request `seq`; the request stays pending until its ACK
    /// (or, for a dump, its `NLMSG_DONE`).
    Reply {
        /// The request.
        seq: u32,
    },
    /// Request `seq` completed successfully (ACK, or the end of its dump); no longer pending.
    Completed {
        /// The request.
        seq: u32,
    },
    /// Request `seq` failed with a positive errno; no longer pending.
    Failed {
        /// The request.
        seq: u32,
        /// Positive errno.
        errno: i32,
    },
    /// An answer for a sequence number not pending (a request that already timed out or
    /// completed, or someone else's): to be dropped.
    Stale {
        /// The sequence number.
        seq: u32,
    },
    /// Not an answer: a delivery or a kernel event.
    Unsolicited,
    /// Nothing to act on (`NLMSG_NOOP`, another family's message).
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    seq: u32,
    deadline: u64,
    dump: bool,
}

/// Tracks up to `N` requests in flight.
#[derive(Debug, Clone)]
pub struct RequestTracker<const N: usize> {
    pending: Vec<Pending, N>,
    next_seq: u32,
}

impl<const N: usize> Default for RequestTracker<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RequestTracker<N> {
    /// An empty tracker whose first sequence number is 1.
    pub const fn new() -> Self {
        Self::with_first_seq(1)
    }

    /// An empty tracker starting at `seq` (0 is skipped: it marks unsolicited messages).
    pub const fn with_first_seq(seq: u32) -> Self {
        Self {
            pending: Vec::new(),
            next_seq: seq,
        }
    }

    /// Starts tracking a new request and returns its sequence number. The request expires
    /// at `now_ms + timeout_ms`. `dump` requests end with `NLMSG_DONE` instead of an ACK.
    pub fn begin(&mut self, dump: bool, now_ms: u64, timeout_ms: u64) -> Result<u32, RequestError> {
        if self.pending.is_full() {
            return Err(RequestError::Full);
        }
        // Skip 0 and any sequence number still in flight after a wrap-around.
        let mut seq = self.next_seq;
        while seq == 0 || self.is_pending(seq) {
            seq = seq.wrapping_add(1);
        }
        self.next_seq = seq.wrapping_add(1);
        let entry = Pending {
            seq,
            deadline: now_ms.saturating_add(timeout_ms),
            dump,
        };
        self.pending.push(entry).map_err(|_| RequestError::Full)?;
        Ok(seq)
    }

    /// Stops tracking `seq` (e.g. the send failed). Returns whether it was pending.
    pub fn cancel(&mut self, seq: u32) -> bool {
        self.take(seq).is_some()
    }

    /// Whether `seq` is in flight.
    pub fn is_pending(&self, seq: u32) -> bool {
        self.pending.iter().any(|p| p.seq == seq)
    }

    /// Number of requests in flight.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The earliest deadline of the requests in flight.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    fn take(&mut self, seq: u32) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.seq == seq)?;
        Some(self.pending.swap_remove(i))
    }

    /// Matches one classified message to the requests in flight.
    pub fn handle(&mut self, incoming: &Incoming<'_>) -> Tracked {
        match *incoming {
            Incoming::Ack { seq } => match self.pending.iter().find(|p| p.seq == seq) {
                // A dump completes with NLMSG_DONE; an ACK for it (older kernels) just ends it too.
                Some(_) => {
                    self.take(seq);
                    Tracked::Completed { seq }
                }
                None => self.stale(seq),
            },
            Incoming::Error { seq, errno, .. } => match self.take(seq) {
                Some(_) => Tracked::Failed { seq, errno },
                None => self.stale(seq),
            },
            Incoming::Done { seq, errno } => match self.pending.iter().find(|p| p.seq == seq) {
                Some(p) if p.dump => {
                    self.take(seq);
                    if errno == 0 {
                        Tracked::Completed { seq }
                    } else {
                        Tracked::Failed { seq, errno }
                    }
                }
                // NLMSG_DONE for a request that is not a dump: not ours to end.
                _ => self.stale(seq),
            },
            Incoming::Reply { seq, .. } => {
                if self.is_pending(seq) {
                    Tracked::Reply { seq }
                } else {
                    self.stale(seq)
                }
            }
            Incoming::Delivery(_) => Tracked::Unsolicited,
            Incoming::Ignored { .. } => Tracked::Ignored,
        }
    }

    fn stale(&self, seq: u32) -> Tracked {
        log_debug!("ipcon: dropping answer for stale seq {}", seq);
        Tracked::Stale { seq }
    }

    /// Removes and returns one request whose deadline is at or before `now_ms`; call until
    /// `None` to collect every timeout.
    pub fn expire(&mut self, now_ms: u64) -> Option<u32> {
        let i = self.pending.iter().position(|p| p.deadline <= now_ms)?;
        let p = self.pending.swap_remove(i);
        log_warn!("ipcon: request seq {} timed out", p.seq);
        Some(p.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ack::ExtAck;
    use crate::wire::ipcon::{MulticastOutcome, Reply};

    fn reply(seq: u32) -> Incoming<'static> {
        Incoming::Reply {
            seq,
            multi: false,
            reply: Reply::Multicast(MulticastOutcome::new(1, 0)),
        }
    }

    #[test]
    fn matches_ack_error_reply() {
        let mut t: RequestTracker<4> = RequestTracker::new();
        let a = t.begin(false, 0, 100).unwrap();
        let b = t.begin(false, 0, 100).unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(t.handle(&reply(a)), Tracked::Reply { seq: a });
        assert!(t.is_pending(a));
        assert_eq!(
            t.handle(&Incoming::Ack { seq: a }),
            Tracked::Completed { seq: a }
        );
        assert!(!t.is_pending(a));
        assert_eq!(
            t.handle(&Incoming::Ack { seq: a }),
            Tracked::Stale { seq: a }
        );
        assert_eq!(t.handle(&reply(a)), Tracked::Stale { seq: a });
        let err = Incoming::Error {
            seq: b,
            errno: 17,
            ext: ExtAck::default(),
        };
        assert_eq!(t.handle(&err), Tracked::Failed { seq: b, errno: 17 });
        assert!(t.is_empty());
        assert_eq!(
            t.handle(&Incoming::Ignored { message_type: 1 }),
            Tracked::Ignored
        );
    }

    #[test]
    fn dumps_end_with_done() {
        let mut t: RequestTracker<2> = RequestTracker::new();
        let d = t.begin(true, 0, 100).unwrap();
        let n = t.begin(false, 0, 100).unwrap();
        assert_eq!(
            t.handle(&Incoming::Done { seq: n, errno: 0 }),
            Tracked::Stale { seq: n }
        );
        assert!(t.is_pending(n));
        assert_eq!(
            t.handle(&Incoming::Done { seq: d, errno: 4 }),
            Tracked::Failed { seq: d, errno: 4 }
        );
        let d = t.begin(true, 0, 100).unwrap();
        assert_eq!(
            t.handle(&Incoming::Done { seq: d, errno: 0 }),
            Tracked::Completed { seq: d }
        );
    }

    #[test]
    fn capacity_and_timeouts() {
        let mut t: RequestTracker<2> = RequestTracker::new();
        let a = t.begin(false, 0, 10).unwrap();
        let b = t.begin(false, 5, 10).unwrap();
        assert_eq!(t.begin(false, 0, 10), Err(RequestError::Full));
        assert_eq!(t.next_deadline(), Some(10));
        assert_eq!(t.expire(9), None);
        assert_eq!(t.expire(10), Some(a));
        assert_eq!(t.expire(10), None);
        assert_eq!(t.expire(100), Some(b));
        assert!(t.is_empty());
        assert_eq!(
            t.handle(&Incoming::Ack { seq: a }),
            Tracked::Stale { seq: a }
        );
    }

    #[test]
    fn sequence_numbers_skip_zero_and_in_flight() {
        let mut t: RequestTracker<4> = RequestTracker::with_first_seq(u32::MAX);
        assert_eq!(t.begin(false, 0, 1).unwrap(), u32::MAX);
        assert_eq!(t.begin(false, 0, 1).unwrap(), 1);
        let mut t: RequestTracker<4> = RequestTracker::with_first_seq(1);
        let first = t.begin(false, 0, 1).unwrap();
        t.next_seq = first;
        assert_eq!(t.begin(false, 0, 1).unwrap(), first + 1);
        assert!(t.cancel(first));
        assert!(!t.cancel(first));
    }
}
