//! Request/response round trips: the client's timing loop and the server's
//! echo loop, the same for every implementation.

use std::time::Instant;

use crate::error::{bail, Result};
use crate::payload::{self, END_MARKER};
use crate::stats;

/// The client side: send a request, wait for the answer.
pub trait Request {
    /// Sends `request` and waits for the answer, written into `reply`;
    /// returns the answer's length.
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize>;
}

/// The server side: answer each request with its own bytes.
pub trait Respond {
    /// Waits until the client is connected (after `READY`); nothing to do
    /// for connectionless transports.
    fn connect_peer(&mut self) -> Result<()> {
        Ok(())
    }

    /// Waits for one request and sends its bytes back to its sender;
    /// returns the request's payload sequence number.
    fn serve_one(&mut self) -> Result<Option<u64>>;
}

/// Copies an answer into the client's `reply` (as much as fits); returns the
/// answer's whole length, which the client loop checks.
pub fn answer_into(answer: &[u8], reply: &mut [u8]) -> usize {
    let len = answer.len().min(reply.len());
    reply[..len].copy_from_slice(&answer[..len]);
    answer.len()
}

/// What a client measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrips {
    /// Round trips timed.
    pub trips: u64,
    /// Their median, in nanoseconds.
    pub median_ns: f64,
    /// Their 99th percentile, in nanoseconds.
    pub p99_ns: u64,
}

/// Makes `warmup` untimed round trips, then `count` timed ones, then one
/// with the end marker (the server stops after answering it).
pub fn client_loop(
    client: &mut dyn Request,
    count: u64,
    warmup: u64,
    size: usize,
) -> Result<RoundTrips> {
    let mut request = payload::template(size);
    let mut reply = vec![0u8; size.max(payload::MIN_SIZE) + 1];
    let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for seq in 0..warmup + count {
        payload::stamp(&mut request, seq);
        let start = Instant::now();
        let len = client.round_trip(&request, &mut reply)?;
        let elapsed = start.elapsed();
        check_answer(&reply[..len], &request, seq)?;
        if seq >= warmup {
            samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    payload::stamp(&mut request, END_MARKER);
    let len = client.round_trip(&request, &mut reply)?;
    check_answer(&reply[..len], &request, END_MARKER)?;

    let median_ns = stats::median(&mut samples).unwrap_or(0.0);
    let p99_ns = stats::percentile(&mut samples, 99.0).unwrap_or(0);
    Ok(RoundTrips {
        trips: count,
        median_ns,
        p99_ns,
    })
}

/// Answers requests until the end marker; returns how many it answered
/// (the end marker not counted).
pub fn server_loop(server: &mut dyn Respond) -> Result<u64> {
    server.connect_peer()?;
    let mut served = 0u64;
    loop {
        match server.serve_one()? {
            Some(END_MARKER) => return Ok(served),
            Some(_) => served += 1,
            None => bail!("a request without a sequence number"),
        }
    }
}

fn check_answer(answer: &[u8], request: &[u8], seq: u64) -> Result<()> {
    if answer.len() != request.len() {
        bail!(
            "round trip #{seq}: answer of {} bytes to a request of {}",
            answer.len(),
            request.len()
        );
    }
    if payload::seq_of(answer) != Some(seq) {
        bail!(
            "round trip #{seq}: answer to another request ({:?})",
            payload::seq_of(answer)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server in the same value: the reply is the request, after a
    /// "network" that loses no time.
    struct Mirror {
        answered: Vec<u64>,
        corrupt_at: Option<u64>,
    }

    impl Request for Mirror {
        fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
            let seq = payload::seq_of(request).unwrap();
            self.answered.push(seq);
            reply[..request.len()].copy_from_slice(request);
            if Some(seq) == self.corrupt_at {
                payload::stamp(reply, seq + 1);
            }
            Ok(request.len())
        }
    }

    #[test]
    fn warmup_is_not_timed_and_the_end_marker_closes() {
        let mut mirror = Mirror {
            answered: Vec::new(),
            corrupt_at: None,
        };
        let trips = client_loop(&mut mirror, 100, 10, 64).unwrap();
        assert_eq!(trips.trips, 100);
        assert!(trips.p99_ns as f64 >= trips.median_ns);
        assert_eq!(mirror.answered.len(), 111);
        assert_eq!(mirror.answered.last(), Some(&END_MARKER));
    }

    #[test]
    fn a_wrong_answer_is_an_error() {
        let mut mirror = Mirror {
            answered: Vec::new(),
            corrupt_at: Some(5),
        };
        let err = client_loop(&mut mirror, 100, 0, 64).unwrap_err();
        assert!(err.to_string().contains("round trip #5"), "{err}");
    }
}
