//! Receiving on a peer's data socket (or on a socket that only watches kernel events):
//! which datagrams are deliveries, which are dropped and counted, and how many kernel
//! events were missed before each one.
//!
//! The caller receives a datagram and hands it over with the port it came from; the inbox
//! answers with the delivery it holds, borrowed from the datagram, or with nothing.
//! Everything else is counted in [`InboxStats`], never lost silently.
use crate::kevent::KeventSeq;
use crate::wire::ipcon::{parse_incoming, Delivery, Incoming, SendFailure};
use crate::wire::netlink::Messages;

/// A delivery the inbox accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// What arrived: a unicast, a group message, a kernel event, or the failure of a
    /// posted send.
    pub delivery: Delivery<'a>,
    /// For a kernel event: how many events were missed just before it (a gap in the
    /// sequence numbers); 0 otherwise.
    pub kevents_missed: u64,
}

impl<'a> From<Delivery<'a>> for Received<'a> {
    fn from(delivery: Delivery<'a>) -> Self {
        Self {
            delivery,
            kevents_missed: 0,
        }
    }
}

/// What an inbox dropped or found missing since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InboxStats {
    /// Datagrams that did not come from the kernel (port 0): only the kernel delivers.
    pub foreign_dropped: u64,
    /// Datagrams cut short by the receive buffer or that did not parse, deliveries the
    /// receiver could not hold, and deliveries after the first of one datagram (the
    /// kernel sends one per datagram: more would be a datagram not made by the module).
    pub malformed_dropped: u64,
    /// Kernel events lost: the sum of the gaps in their sequence numbers.
    pub kevents_missed: u64,
}

/// The receiving machine of one socket.
#[derive(Debug, Clone)]
pub struct Inbox {
    family_id: u16,
    kevent_seq: KeventSeq,
    stats: InboxStats,
}

impl Inbox {
    /// An inbox for the ipcon family with id `family_id`.
    pub const fn new(family_id: u16) -> Self {
        Self {
            family_id,
            kevent_seq: KeventSeq::new(),
            stats: InboxStats {
                foreign_dropped: 0,
                malformed_dropped: 0,
                kevents_missed: 0,
            },
        }
    }

    /// The family id deliveries must carry.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Forgets the last kernel event seen: a new subscription starts a new sequence.
    pub fn restart_kevents(&mut self) {
        self.kevent_seq = KeventSeq::new();
    }

    /// What was dropped or missed so far.
    pub fn stats(&self) -> InboxStats {
        self.stats
    }

    /// Counts a delivery the caller accepted but could not hold (e.g. a payload larger
    /// than its buffer).
    pub fn count_malformed(&mut self) {
        self.stats.malformed_dropped += 1;
    }

    /// Takes one received datagram: `source_port` is the port it came from, `full_len`
    /// its length as the kernel reported it (longer than `datagram` when the receive
    /// buffer cut it). Returns the delivery it carries (the kernel sends one per
    /// datagram; any more in it are counted as dropped), or `None` when it carries none:
    /// foreign, cut or malformed datagrams are counted; ACKs and other non-deliveries
    /// are skipped.
    ///
    /// An error ACK on a data socket answers a posted request refused before the module
    /// saw it (its sequence number is the ticket): it becomes a
    /// [`Delivery::SendFailed`] like the module's own failure notices.
    pub fn accept<'a>(
        &mut self,
        source_port: u32,
        full_len: usize,
        datagram: &'a [u8],
    ) -> Option<Received<'a>> {
        if source_port != 0 {
            self.stats.foreign_dropped += 1;
            log_warn!(
                "ipcon: dropped a datagram from port {} (only the kernel delivers)",
                source_port
            );
            return None;
        }
        if full_len > datagram.len() {
            self.stats.malformed_dropped += 1;
            log_warn!("ipcon: dropped a datagram cut to {} bytes", datagram.len());
            return None;
        }
        // The first delivery is the one; any after it are counted as dropped,
        // not passed over unseen.
        let mut first = None;
        for packet in Messages::new(datagram) {
            let Ok(packet) = packet else {
                // The framing is broken: nothing after this point can be read.
                self.stats.malformed_dropped += 1;
                break;
            };
            let delivery = match parse_incoming(&packet, self.family_id) {
                Ok(Incoming::Delivery(delivery)) => delivery,
                Ok(Incoming::Error { seq, errno, ext }) => Delivery::SendFailed(SendFailure {
                    ticket: seq,
                    errno: u32::try_from(errno).unwrap_or(0),
                    message: ext.message,
                    peer: None,
                    group: None,
                    missed: 0,
                }),
                Ok(_) => continue,
                Err(_e) => {
                    self.stats.malformed_dropped += 1;
                    log_warn!("ipcon: dropped a malformed delivery: {}", _e);
                    continue;
                }
            };
            if first.is_some() {
                self.stats.malformed_dropped += 1;
                log_warn!("ipcon: dropped a second delivery in one datagram");
            } else {
                first = Some(delivery);
            }
        }
        let delivery = first?;
        let kevents_missed = match &delivery {
            Delivery::Kevent(event) => {
                let missed = self.kevent_seq.observe(event.seq);
                self.stats.kevents_missed += missed;
                missed
            }
            _ => 0,
        };
        Some(Received {
            delivery,
            kevents_missed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::{Kevent, KeventKind};
    use crate::name::Name;
    use crate::wire::ack::{ErrorRepr, ExtAck};
    use crate::wire::ipcon::{Sender, UnicastDelivery};
    use crate::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};

    const FAMILY: u16 = 0x20;

    fn emit(delivery: &Delivery<'_>, buf: &mut [u8]) -> usize {
        let hdr = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        delivery.emit(&hdr, buf).unwrap()
    }

    fn kevent(seq: u64) -> Delivery<'static> {
        Delivery::Kevent(Kevent {
            seq,
            kind: KeventKind::Unknown(99),
        })
    }

    #[test]
    fn a_second_delivery_in_one_datagram_is_counted_as_dropped() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 256];
        let first = emit(&kevent(1), &mut buf);
        // Netlink messages in one datagram start 4-byte aligned.
        let second_at = (first + 3) & !3;
        let len = second_at + emit(&kevent(2), &mut buf[second_at..]);
        let got = inbox.accept(0, len, &buf[..len]).unwrap();
        assert_eq!(got.delivery, kevent(1));
        assert_eq!(inbox.stats().malformed_dropped, 1);
        // A datagram with one delivery adds nothing.
        inbox.accept(0, first, &buf[..first]).unwrap();
        assert_eq!(inbox.stats().malformed_dropped, 1);
    }

    #[test]
    fn deliveries_from_the_kernel_are_accepted() {
        let mut inbox = Inbox::new(FAMILY);
        let unicast = Delivery::Unicast(UnicastDelivery {
            sender: Sender {
                name: Name::new("srv").ok(),
                port: 9,
                pid: 42,
                uid: 1000,
            },
            payload: b"hi",
            missed: 0,
            overrun: None,
        });
        let mut buf = [0u8; 256];
        let len = emit(&unicast, &mut buf);
        let got = inbox.accept(0, len, &buf[..len]).unwrap();
        assert_eq!(got, Received::from(unicast));
        assert_eq!(inbox.stats(), InboxStats::default());
    }

    #[test]
    fn foreign_cut_and_malformed_datagrams_are_counted() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 256];
        let len = emit(&kevent(1), &mut buf);
        assert_eq!(inbox.accept(4242, len, &buf[..len]), None);
        assert_eq!(inbox.accept(0, len + 10, &buf[..len]), None);
        assert_eq!(inbox.accept(0, 10, &buf[..10]), None);
        assert_eq!(
            inbox.stats(),
            InboxStats {
                foreign_dropped: 1,
                malformed_dropped: 2,
                kevents_missed: 0
            }
        );
    }

    #[test]
    fn kevent_gaps_are_counted_until_a_new_subscription() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 256];
        let mut missed = |inbox: &mut Inbox, seq| {
            let len = emit(&kevent(seq), &mut buf);
            inbox.accept(0, len, &buf[..len]).unwrap().kevents_missed
        };
        assert_eq!(missed(&mut inbox, 5), 0);
        assert_eq!(missed(&mut inbox, 6), 0);
        assert_eq!(missed(&mut inbox, 9), 2);
        inbox.restart_kevents();
        assert_eq!(missed(&mut inbox, 20), 0);
        assert_eq!(inbox.stats().kevents_missed, 2);
    }

    #[test]
    fn an_error_ack_is_a_failed_post() {
        let mut inbox = Inbox::new(FAMILY);
        let repr = ErrorRepr {
            error: -107,
            request: NetlinkHeaderRepr {
                message_type: FAMILY,
                flags: NetlinkFlags::REQUEST,
                seq: 17,
                port_id: 5,
            },
            ext: ExtAck {
                message: Some("socket is not a registered peer"),
                ..ExtAck::default()
            },
        };
        let mut buf = [0u8; 256];
        let len = repr.emit(&mut buf).unwrap();
        let got = inbox.accept(0, len, &buf[..len]).unwrap();
        let Delivery::SendFailed(failure) = got.delivery else {
            panic!("not a failure: {got:?}");
        };
        assert_eq!((failure.ticket, failure.errno), (17, 107));
        assert_eq!(failure.message, Some("socket is not a registered peer"));
        // A plain ACK is no delivery.
        let ack = ErrorRepr { error: 0, ..repr };
        let len = ack.emit(&mut buf).unwrap();
        assert_eq!(inbox.accept(0, len, &buf[..len]), None);
        assert_eq!(inbox.stats(), InboxStats::default());
    }
}
