//! What every benchmark message carries, and the receiver's account of it.
//!
//! The first 8 bytes of a payload are its sequence number (little endian);
//! the rest is filler. The last message of a stream is the end marker, so a
//! receiver stops even when the tail of a stream was dropped, and learns the
//! drops from the marker's `missed` count. A receiver checks every number
//! once: a duplicate, a number out of range or a payload of the wrong size
//! is an error, and at the end the orchestrator compares what arrived (plus
//! what the kernel reported as missed) with what was sent.
//!
//! A stream may be preceded by an untimed warm-up stream of its own,
//! numbered from 0 again and closed by [`WARM_UP_END`] instead.

use crate::clock::now_ns;
use crate::error::{bail, Result};

/// The sequence number of the end marker.
pub const END_MARKER: u64 = u64::MAX;

/// The sequence number that closes a warm-up stream.
pub const WARM_UP_END: u64 = u64::MAX - 1;

/// The smallest payload that holds a sequence number.
pub const MIN_SIZE: usize = 8;

/// A payload buffer of `size` bytes with recognisable filler.
pub fn template(size: usize) -> Vec<u8> {
    assert!(
        size >= MIN_SIZE,
        "payload of {size} bytes holds no sequence number"
    );
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// Writes `seq` into `payload`.
pub fn stamp(payload: &mut [u8], seq: u64) {
    payload[..MIN_SIZE].copy_from_slice(&seq.to_le_bytes());
}

/// The sequence number of `payload`, if it is long enough to hold one.
pub fn seq_of(payload: &[u8]) -> Option<u64> {
    let bytes = payload.get(..MIN_SIZE)?;
    let mut seq = [0u8; MIN_SIZE];
    seq.copy_from_slice(bytes);
    Some(u64::from_le_bytes(seq))
}

/// What arrived: a data message or the end of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A message of the stream.
    Data,
    /// The end marker: nothing more will come.
    End,
}

/// A receiver's account of one stream of `count` messages of `size` bytes.
#[derive(Debug, Clone)]
pub struct Tally {
    size: usize,
    count: u64,
    /// The marker that closes this stream.
    end: u64,
    seen: Vec<u64>,
    /// Data messages received.
    pub received: u64,
    /// Messages the kernel reported as missed (queue full), end marker
    /// included.
    pub missed: u64,
    /// When the last data message arrived (`CLOCK_MONOTONIC` ns; 0: none).
    pub last_ns: u64,
}

impl Tally {
    /// An empty account for messages `0..count`, closed by `end`
    /// ([`END_MARKER`] or [`WARM_UP_END`]).
    pub fn new(count: u64, size: usize, end: u64) -> Self {
        let words = usize::try_from(count.div_ceil(64)).expect("message count fits memory");
        Self {
            size,
            count,
            end,
            seen: vec![0; words],
            received: 0,
            missed: 0,
            last_ns: 0,
        }
    }

    /// Records one received payload and the `missed` count it came with.
    pub fn record(&mut self, payload: &[u8], missed: u64) -> Result<Arrival> {
        self.missed += missed;
        if payload.len() != self.size {
            bail!(
                "received a payload of {} bytes, sent {}",
                payload.len(),
                self.size
            );
        }
        let Some(seq) = seq_of(payload) else {
            bail!("received a payload without a sequence number");
        };
        if seq == self.end {
            return Ok(Arrival::End);
        }
        if seq >= self.count {
            bail!("received message #{seq} of a stream of {}", self.count);
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[word] & bit != 0 {
            bail!("received message #{seq} twice");
        }
        self.seen[word] |= bit;
        self.received += 1;
        self.last_ns = now_ns();
        Ok(Arrival::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, size: usize) -> Vec<u8> {
        let mut p = template(size);
        stamp(&mut p, seq);
        p
    }

    #[test]
    fn stamp_and_read_back() {
        let p = message(0x0102_0304_0506_0708, 64);
        assert_eq!(seq_of(&p), Some(0x0102_0304_0506_0708));
        assert_eq!(&p[8..12], &[8, 9, 10, 11]);
        assert_eq!(seq_of(&p[..7]), None);
    }

    #[test]
    fn tally_counts_each_message_once() {
        let mut t = Tally::new(130, 64, END_MARKER);
        for seq in [0, 129, 64, 5] {
            assert_eq!(t.record(&message(seq, 64), 0).unwrap(), Arrival::Data);
        }
        assert_eq!(t.received, 4);
        assert!(t.last_ns > 0);
        let dup = t.record(&message(64, 64), 0).unwrap_err();
        assert_eq!(dup.to_string(), "received message #64 twice");
        assert!(t.record(&message(130, 64), 0).is_err());
        assert!(t.record(&message(1, 63), 0).is_err());
    }

    #[test]
    fn the_end_marker_ends_and_brings_its_missed_count() {
        let mut t = Tally::new(10, 2048, END_MARKER);
        t.record(&message(0, 2048), 0).unwrap();
        t.record(&message(3, 2048), 2).unwrap();
        assert_eq!(
            t.record(&message(END_MARKER, 2048), 7).unwrap(),
            Arrival::End
        );
        assert_eq!((t.received, t.missed), (2, 9));
    }

    #[test]
    fn a_warm_up_ends_at_its_own_marker_only() {
        let mut warm = Tally::new(10, 64, WARM_UP_END);
        warm.record(&message(9, 64), 0).unwrap();
        let err = warm.record(&message(END_MARKER, 64), 0).unwrap_err();
        assert!(err.to_string().contains("of a stream of 10"), "{err}");
        assert_eq!(
            warm.record(&message(WARM_UP_END, 64), 0).unwrap(),
            Arrival::End
        );
        // A timed stream does not end at a warm-up's marker.
        assert!(Tally::new(10, 64, END_MARKER)
            .record(&message(WARM_UP_END, 64), 0)
            .is_err());
    }
}
