//! The receiving side: the data socket, its sanity checks and counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::message::{Kevent, Message, MessageKind, MAX_PAYLOAD_LEN};
use crate::proto::cmd;
use crate::socket::{NetlinkSocket, Wait};
use crate::wire::{GenlMessage, Messages};

/// Receive buffer on the stack: one delivery is a full payload plus two
/// names and a few numbers, well under this.
const DELIVERY_BUF_LEN: usize = MAX_PAYLOAD_LEN + 512;

/// A data socket and what it counted.
#[derive(Debug)]
pub(crate) struct Receiver {
    socket: NetlinkSocket,
    family: u16,
    foreign_dropped: AtomicU64,
    malformed: AtomicU64,
    last_kevent_seq: AtomicU64,
}

impl Receiver {
    pub fn new(socket: NetlinkSocket, family: u16) -> Self {
        Self {
            socket,
            family,
            foreign_dropped: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            last_kevent_seq: AtomicU64::new(0),
        }
    }

    pub fn socket(&self) -> &NetlinkSocket {
        &self.socket
    }

    /// Forgets the last kernel event seen (on a new subscription).
    pub fn reset_kevent_seq(&self) {
        self.last_kevent_seq.store(0, Ordering::Relaxed);
    }

    /// Receives as `wait` says; datagrams not from the kernel or not
    /// parsing are dropped and counted. No heap allocation.
    pub fn receive(&self, msg: &mut Message, wait: Wait) -> Result<()> {
        let deadline = match wait {
            Wait::Timeout(t) => Instant::now().checked_add(t),
            _ => None,
        };
        let mut buf = [0u8; DELIVERY_BUF_LEN];
        loop {
            let this_wait = match (wait, deadline) {
                (Wait::Timeout(_), Some(d)) => {
                    Wait::Timeout(d.saturating_duration_since(Instant::now()))
                }
                _ => wait,
            };
            let got = self
                .socket
                .recv(&mut buf, this_wait)
                .map_err(|e| Error::from_io("receive", &e))?;
            if got.source_port != 0 {
                self.foreign_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if got.truncated {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if self.take_delivery(&buf[..got.len], msg) {
                return Ok(());
            }
        }
    }

    /// Fills `msg` from the first delivery in `datagram`; `false` when the
    /// datagram held none (a late ACK, or something malformed).
    fn take_delivery(&self, datagram: &[u8], msg: &mut Message) -> bool {
        let family = self.family;
        for nl in Messages::new(datagram) {
            let Ok(nl) = nl else {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                return false;
            };
            if nl.kind != family {
                continue;
            }
            let Some(genl) = GenlMessage::parse(nl.payload)
                .ok()
                .filter(|g| g.attrs.validate().is_ok())
            else {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let ok = match genl.cmd {
                cmd::UNICAST => msg.fill_delivery(MessageKind::Unicast, genl.attrs),
                cmd::MULTICAST => msg.fill_delivery(MessageKind::Group, genl.attrs),
                cmd::KEVENT => match Kevent::parse(genl.attrs) {
                    Some(kevent) => {
                        let missed = kevent_gap(&self.last_kevent_seq, kevent.seq());
                        msg.fill_kevent(kevent, missed);
                        true
                    }
                    None => false,
                },
                _ => continue,
            };
            if ok {
                return true;
            }
            self.malformed.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    /// Datagrams dropped because they did not come from the kernel.
    pub fn foreign_dropped(&self) -> u64 {
        self.foreign_dropped.load(Ordering::Relaxed)
    }

    /// Datagrams dropped because they did not parse.
    pub fn malformed_dropped(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }
}

/// Records `seq` as the latest kernel event seen; how many were skipped
/// since the previous one (0 for the first).
fn kevent_gap(last_seq: &AtomicU64, seq: u64) -> u64 {
    let previous = last_seq.fetch_max(seq, Ordering::Relaxed);
    if previous != 0 && seq > previous + 1 {
        seq - previous - 1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kevent_gaps_are_counted() {
        let last = AtomicU64::new(0);
        assert_eq!(kevent_gap(&last, 5), 0, "the first event has no gap");
        assert_eq!(kevent_gap(&last, 6), 0);
        assert_eq!(kevent_gap(&last, 9), 2);
        // A late, older event (another receiving thread) is no gap.
        assert_eq!(kevent_gap(&last, 8), 0);
        assert_eq!(kevent_gap(&last, 10), 0);
    }
}
