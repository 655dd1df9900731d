//! One-way streams (unicast throughput and fan-out): the sending and the
//! receiving loop, the same for every implementation.
//!
//! An implementation only says how to send a run of payloads and how to
//! receive; the loops number the messages, resend what found a full queue,
//! pace bursts, time the stream and check what arrived.

use std::collections::VecDeque;

use crate::clock::{now_ns, process_cpu_ns};
use crate::error::Result;
use crate::payload::{self, Arrival, Tally};

/// The sending side: one receiver (unicast) or every subscriber (fan-out).
pub trait Publish {
    /// How many messages one [`Publish::send`] takes (1 for an API that
    /// sends one message per call).
    fn batch_limit(&self) -> usize {
        1
    }

    /// Waits until every receiver is connected (after `GO`, before the
    /// clock starts); nothing to do for connectionless transports.
    fn connect_peers(&mut self) -> Result<()> {
        Ok(())
    }

    /// Sends the `size`-byte payloads packed one after the other in
    /// `payloads` (at most [`Publish::batch_limit`] of them). The index of
    /// each payload that found a receiver's queue full, and so was not
    /// queued, is appended to `full`; the caller sends it again later.
    fn send(&mut self, payloads: &[u8], size: usize, full: &mut Vec<usize>) -> Result<()>;

    /// Appends the sequence numbers of messages sent earlier that the
    /// kernel has since reported as not queued because a receiver's queue
    /// was full; the caller sends them again. For an API whose sends do not
    /// wait for the verdict (failures arrive later, as notices); nothing to
    /// do where [`Publish::send`] reports every failure itself.
    fn collect_failed(&mut self, _seqs: &mut Vec<u64>) -> Result<()> {
        Ok(())
    }

    /// Delivers `marker` to every receiver without loss (waiting while a
    /// queue is full): the end of the stream.
    fn finish(&mut self, marker: &[u8]) -> Result<()>;
}

/// The receiving side.
pub trait Consume {
    /// Waits until the sender is connected (after `READY`); nothing to do
    /// for connectionless transports.
    fn connect_peer(&mut self) -> Result<()> {
        Ok(())
    }

    /// Waits for at least one message and hands every message received to
    /// `each` with the count of messages the kernel reported as missed
    /// before it. Returns [`Arrival::End`] once `each` saw the end marker.
    fn receive(&mut self, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival>;
}

/// What a sender did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Messages queued (each exactly once).
    pub sent: u64,
    /// Attempts that found a full queue and were repeated.
    pub retries: u64,
    /// When sending started (`CLOCK_MONOTONIC` ns).
    pub start_ns: u64,
    /// When the last message was queued.
    pub end_ns: u64,
    /// CPU time the sender used from `start_ns` to `end_ns` (its system
    /// calls included, its receivers' work not).
    pub cpu_ns: u64,
}

/// What a full queue makes a sender do: give the (single) CPU to the
/// receivers, which were woken by the queued messages and drain them.
/// Waking again is the scheduler's next turn, without a timer's latency.
pub fn back_off() {
    std::thread::yield_now();
}

/// Sends messages `0..count` of `size` bytes, resending each that found a
/// full queue, then the marker `end` ([`payload::END_MARKER`], or
/// [`payload::WARM_UP_END`] for a warm-up). The sender yields the CPU after every
/// `burst` messages queued: a sender that is never blocked lets its
/// receivers (which do not preempt it, see [`crate::sched`]) drain their
/// queues instead of overrunning them, so `burst` must fit every
/// receiver's queue. At each pause and at the end it collects the failures
/// reported late ([`Publish::collect_failed`]) and sends those again.
pub fn send_stream(
    sink: &mut dyn Publish,
    count: u64,
    size: usize,
    burst: usize,
    end: u64,
) -> Result<Sent> {
    let limit = sink.batch_limit().max(1);
    let mut packed = payload::template(size).repeat(limit);
    let mut seqs: Vec<u64> = Vec::with_capacity(limit);
    let mut full = Vec::with_capacity(limit);
    let mut late = Vec::new();
    let mut again: VecDeque<u64> = VecDeque::new();
    let mut next = 0u64;
    let mut retries = 0u64;
    let mut since_pause = 0usize;

    sink.connect_peers()?;
    let start_ns = now_ns();
    let start_cpu_ns = process_cpu_ns();
    loop {
        while next < count || !again.is_empty() {
            seqs.clear();
            while seqs.len() < limit {
                if let Some(seq) = again.pop_front() {
                    seqs.push(seq);
                } else if next < count {
                    seqs.push(next);
                    next += 1;
                } else {
                    break;
                }
            }
            for (slot, &seq) in packed.chunks_mut(size).zip(&seqs) {
                payload::stamp(slot, seq);
            }
            full.clear();
            sink.send(&packed[..seqs.len() * size], size, &mut full)?;
            for &index in &full {
                again.push_back(seqs[index]);
            }
            retries += full.len() as u64;
            if !full.is_empty() {
                back_off();
            }
            since_pause += seqs.len() - full.len();
            if since_pause >= burst {
                since_pause = 0;
                back_off();
                late.clear();
                sink.collect_failed(&mut late)?;
                retries += late.len() as u64;
                again.extend(&late);
            }
        }
        // Everything was sent once; what failed late is sent again.
        late.clear();
        sink.collect_failed(&mut late)?;
        if late.is_empty() {
            break;
        }
        retries += late.len() as u64;
        again.extend(&late);
        back_off();
    }
    let end_ns = now_ns();
    let cpu_ns = process_cpu_ns().saturating_sub(start_cpu_ns);

    let mut marker = payload::template(size);
    payload::stamp(&mut marker, end);
    sink.finish(&marker)?;
    Ok(Sent {
        sent: count,
        retries,
        start_ns,
        end_ns,
        cpu_ns,
    })
}

/// Receives a stream of `count` messages of `size` bytes up to its marker
/// `end` and accounts for every message.
pub fn receive_stream(
    source: &mut dyn Consume,
    count: u64,
    size: usize,
    end: u64,
) -> Result<Tally> {
    let mut tally = Tally::new(count, size, end);
    source.connect_peer()?;
    while source.receive(&mut |payload, missed| tally.record(payload, missed))? != Arrival::End {}
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{END_MARKER, WARM_UP_END};
    use std::collections::VecDeque;

    /// An in-memory transport: what is sent is queued for the receiving
    /// side of the same value.
    struct Loopback {
        queue: VecDeque<Vec<u8>>,
        limit: usize,
        finished: bool,
    }

    impl Publish for Loopback {
        fn batch_limit(&self) -> usize {
            self.limit
        }

        fn send(&mut self, payloads: &[u8], size: usize, _full: &mut Vec<usize>) -> Result<()> {
            self.queue.extend(payloads.chunks(size).map(<[u8]>::to_vec));
            Ok(())
        }

        fn finish(&mut self, marker: &[u8]) -> Result<()> {
            self.finished = true;
            self.queue.push_back(marker.to_vec());
            Ok(())
        }
    }

    impl Consume for Loopback {
        fn receive(
            &mut self,
            each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>,
        ) -> Result<Arrival> {
            let p = self.queue.pop_front().expect("a message is queued");
            each(&p, 0)
        }
    }

    #[test]
    fn a_warm_up_and_the_stream_after_it_are_told_apart() {
        let mut link = Loopback {
            queue: VecDeque::new(),
            limit: 32,
            finished: false,
        };
        send_stream(&mut link, 128, 64, 64, WARM_UP_END).unwrap();
        let sent = send_stream(&mut link, 1000, 64, 64, END_MARKER).unwrap();
        assert_eq!(sent.sent, 1000);
        let warm = receive_stream(&mut link, 128, 64, WARM_UP_END).unwrap();
        assert_eq!((warm.received, warm.missed), (128, 0));
        // The timed stream's numbers start at 0 again: a fresh account.
        let tally = receive_stream(&mut link, 1000, 64, END_MARKER).unwrap();
        assert_eq!((tally.received, tally.missed), (1000, 0));
        assert!(link.queue.is_empty());
    }

    #[test]
    fn every_message_arrives_once_in_single_sends_and_batches() {
        for limit in [1, 32] {
            let mut link = Loopback {
                queue: VecDeque::new(),
                limit,
                finished: false,
            };
            let sent = send_stream(&mut link, 1000, 64, 100, END_MARKER).unwrap();
            assert_eq!((sent.sent, sent.retries), (1000, 0));
            assert!(link.finished);
            let tally = receive_stream(&mut link, 1000, 64, END_MARKER).unwrap();
            assert_eq!((tally.received, tally.missed), (1000, 0));
        }
    }

    #[test]
    fn failures_reported_late_are_sent_again_before_the_end() {
        /// Every fifth message "fails" after it was sent: its notice is
        /// only handed out by the next collect_failed.
        struct Posting {
            got: Vec<u64>,
            failed: Vec<u64>,
            finished_after: Option<usize>,
        }
        impl Publish for Posting {
            fn send(&mut self, payloads: &[u8], size: usize, _full: &mut Vec<usize>) -> Result<()> {
                for p in payloads.chunks(size) {
                    let seq = payload::seq_of(p).unwrap();
                    let attempt = self.got.len() + self.failed.len();
                    if attempt % 5 == 0 {
                        self.failed.push(seq);
                    } else {
                        self.got.push(seq);
                    }
                }
                Ok(())
            }
            fn collect_failed(&mut self, seqs: &mut Vec<u64>) -> Result<()> {
                seqs.append(&mut self.failed);
                Ok(())
            }
            fn finish(&mut self, _marker: &[u8]) -> Result<()> {
                assert!(self.failed.is_empty(), "the end waits for every failure");
                self.finished_after = Some(self.got.len());
                Ok(())
            }
        }
        let mut sink = Posting {
            got: Vec::new(),
            failed: Vec::new(),
            finished_after: None,
        };
        let sent = send_stream(&mut sink, 1000, 16, 64, END_MARKER).unwrap();
        assert!(sent.retries >= 200, "{}", sent.retries);
        assert_eq!(sink.finished_after, Some(1000));
        sink.got.sort_unstable();
        assert_eq!(sink.got, (0..1000).collect::<Vec<u64>>());
    }

    #[test]
    fn full_queues_are_retried_not_lost() {
        struct Flaky {
            calls: usize,
            got: Vec<u64>,
        }
        impl Publish for Flaky {
            fn batch_limit(&self) -> usize {
                8
            }
            fn send(&mut self, payloads: &[u8], size: usize, full: &mut Vec<usize>) -> Result<()> {
                self.calls += 1;
                for (i, p) in payloads.chunks(size).enumerate() {
                    // Every third message of every second call finds the queue full.
                    if self.calls % 2 == 0 && i % 3 == 0 {
                        full.push(i);
                    } else {
                        self.got.push(payload::seq_of(p).unwrap());
                    }
                }
                Ok(())
            }
            fn finish(&mut self, _marker: &[u8]) -> Result<()> {
                Ok(())
            }
        }
        let mut sink = Flaky {
            calls: 0,
            got: Vec::new(),
        };
        let sent = send_stream(&mut sink, 500, 16, 64, END_MARKER).unwrap();
        assert!(sent.retries > 0);
        sink.got.sort_unstable();
        assert_eq!(sink.got, (0..500).collect::<Vec<u64>>());
    }
}
