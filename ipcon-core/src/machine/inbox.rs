//! Receiving on a peer's data socket (or on a socket that only watches kernel events):
//! which datagrams are deliveries, which are dropped and counted, and how many kernel
//! events were missed before each one.
//!
//! The caller receives a datagram and hands it over with the port it came from; the inbox
//! checks it ([`Inbox::open`]) and then hands out the deliveries it holds, one at a time
//! and borrowed from the datagram ([`Inbox::next`]), or straight into a [`Message`]
//! ([`Inbox::next_into`], one pass over a unicast or group message's attributes: what
//! a receive does). A datagram may carry several. Everything else is counted in
//! [`InboxStats`], never lost silently.
use crate::error::WireError;
use crate::kevent::KeventSeq;
use crate::message::Message;
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
    /// Datagrams cut short by the receive buffer, messages that did not parse, and
    /// deliveries the receiver could not hold.
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

    /// Checks one received datagram: `source_port` is the port it came from, `full_len`
    /// its length as the kernel reported it (longer than `datagram` when the receive
    /// buffer cut it). Returns its netlink messages, to be taken one delivery at a time
    /// with [`Inbox::next`], or `None` for a datagram not from the kernel or cut short
    /// (counted).
    ///
    /// A datagram may hold several deliveries; every one of them is handed out, in
    /// order, or counted as dropped.
    pub fn open<'a>(
        &mut self,
        source_port: u32,
        full_len: usize,
        datagram: &'a [u8],
    ) -> Option<&'a [u8]> {
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
        Some(datagram)
    }

    /// Takes the next delivery from `unread`, the messages [`Inbox::open`] returned (or
    /// what an earlier call left of them), and moves `unread` past it. Returns `None`
    /// once `unread` holds no more deliveries: it is empty then. Malformed messages are
    /// counted and skipped; a broken framing counts once and ends the datagram; ACKs and
    /// other non-deliveries are skipped.
    ///
    /// An error ACK on a data socket answers a posted request refused before the module
    /// saw it (its sequence number is the ticket): it becomes a
    /// [`Delivery::SendFailed`] like the module's own failure notices.
    pub fn next<'a>(&mut self, unread: &mut &'a [u8]) -> Option<Received<'a>> {
        let mut packets = Messages::new(unread);
        let delivery = loop {
            let Some(packet) = packets.next() else {
                *unread = &[];
                return None;
            };
            let Ok(packet) = packet else {
                // The framing is broken: nothing after this point can be read.
                self.stats.malformed_dropped += 1;
                continue;
            };
            match parse_incoming(&packet, self.family_id) {
                Ok(Incoming::Delivery(delivery)) => break delivery,
                Ok(Incoming::Error { seq, errno, ext }) => {
                    break Delivery::SendFailed(SendFailure {
                        ticket: seq,
                        errno: u32::try_from(errno).unwrap_or(0),
                        message: ext.message,
                        peer: None,
                        group: None,
                        missed: 0,
                    })
                }
                Ok(_) => {}
                Err(_e) => {
                    self.stats.malformed_dropped += 1;
                    log_warn!("ipcon: dropped a malformed delivery: {}", _e);
                }
            }
        };
        *unread = packets.rest();
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

    /// Takes the next delivery from `unread` straight into `msg`, as [`Inbox::next`]
    /// followed by [`Message::fill_received`] would; a delivery `msg` cannot hold is
    /// counted as dropped and the next one taken. Returns whether `msg` was filled:
    /// `false` once `unread` holds no more deliveries (it is empty then).
    ///
    /// Unicast and group messages, what a data socket mostly receives, are read in one
    /// pass over their attributes without the intermediate [`Delivery`]; everything else
    /// goes the way of [`Inbox::next`].
    pub fn next_into<const N: usize>(&mut self, unread: &mut &[u8], msg: &mut Message<N>) -> bool {
        loop {
            let mut packets = Messages::new(unread);
            if let Some(Ok(packet)) = packets.next() {
                if let Some(filled) = msg.fill_data_delivery(&packet, self.family_id) {
                    *unread = packets.rest();
                    match filled {
                        Ok(()) => return true,
                        Err(_e) => {
                            self.stats.malformed_dropped += 1;
                            log_warn!("ipcon: dropped a delivery: {}", _e);
                            continue;
                        }
                    }
                }
            }
            let Some(received) = self.next(unread) else {
                return false;
            };
            if msg.fill_received(&received).is_ok() {
                return true;
            }
            self.count_malformed();
        }
    }
}

impl<const N: usize> Message<N> {
    /// Copies what a receive accepted in (see [`Inbox`]): the delivery, and for a kernel
    /// event how many events were missed just before it.
    pub fn fill_received(&mut self, received: &Received<'_>) -> Result<(), WireError> {
        self.fill(&received.delivery)?;
        self.set_kevents_missed(received.kevents_missed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::{Kevent, KeventKind, PeerIdentity};
    use crate::message::MessageKind;
    use crate::name::Name;
    use crate::spec::{PeerFlags, RemoveReason};
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

    /// The first delivery of a datagram, as a receiver of one-delivery datagrams takes it;
    /// checks that nothing follows it.
    fn accept<'a>(
        inbox: &mut Inbox,
        port: u32,
        full_len: usize,
        datagram: &'a [u8],
    ) -> Option<Received<'a>> {
        let mut unread = inbox.open(port, full_len, datagram)?;
        let got = inbox.next(&mut unread);
        assert!(unread.is_empty(), "{} bytes left", unread.len());
        got
    }

    /// `deliveries` back to back in one datagram, each 4-byte aligned.
    fn datagram(deliveries: &[Delivery<'_>], buf: &mut [u8]) -> usize {
        let mut len = 0;
        for delivery in deliveries {
            len = (len + 3) & !3;
            len += emit(delivery, &mut buf[len..]);
        }
        len
    }

    #[test]
    fn a_kevent_names_its_peer_as_sender_and_counts_what_was_missed() {
        let peer = PeerIdentity {
            name: Name::new("srv").ok(),
            port: 7,
            pid: 8,
            uid: 9,
            flags: PeerFlags::empty(),
        };
        let event = Kevent {
            seq: 10,
            kind: KeventKind::PeerRemove {
                peer,
                reason: RemoveReason::Closed,
            },
        };
        let mut m: Message<4> = Message::new();
        m.fill_received(&Received {
            delivery: Delivery::Kevent(event),
            kevents_missed: 3,
        })
        .unwrap();
        assert_eq!((m.kind(), m.kevents_missed()), (MessageKind::Kevent, 3));
        assert_eq!((m.sender().name, m.sender().port), (peer.name, 7));
        assert_eq!((m.sender().pid, m.sender().uid), (8, 9));
        m.clear();
        assert_eq!((m.kind(), m.kevents_missed()), (MessageKind::Empty, 0));
    }

    #[test]
    fn every_delivery_of_a_datagram_is_handed_out_in_order() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 512];
        let unicast = Delivery::Unicast(UnicastDelivery {
            sender: Sender {
                name: Name::new("srv").ok(),
                port: 9,
                pid: 42,
                uid: 1000,
            },
            payload: b"second",
            missed: 0,
            overrun: None,
        });
        let len = datagram(&[kevent(1), unicast, kevent(3)], &mut buf);
        let mut unread = inbox.open(0, len, &buf[..len]).unwrap();
        assert_eq!(inbox.next(&mut unread).unwrap().delivery, kevent(1));
        assert_eq!(inbox.next(&mut unread).unwrap().delivery, unicast);
        let third = inbox.next(&mut unread).unwrap();
        assert_eq!(third.delivery, kevent(3));
        // The gap in the kernel events is seen across the unicast between them.
        assert_eq!(third.kevents_missed, 1);
        assert!(unread.is_empty());
        assert_eq!(inbox.next(&mut unread), None);
        assert_eq!(
            inbox.stats(),
            InboxStats {
                kevents_missed: 1,
                ..InboxStats::default()
            }
        );
    }

    #[test]
    fn a_malformed_message_between_deliveries_is_counted_and_skipped() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 512];
        let first = datagram(&[kevent(1)], &mut buf);
        // A whole netlink message of the family whose generic netlink header is cut.
        let bad_at = (first + 3) & !3;
        let bad = NetlinkHeaderRepr {
            message_type: FAMILY,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        assert_eq!(bad.emit(2, &mut buf[bad_at..]).unwrap(), 16);
        let last_at = (bad_at + 18 + 3) & !3;
        let len = last_at + emit(&kevent(2), &mut buf[last_at..]);
        let mut unread = inbox.open(0, len, &buf[..len]).unwrap();
        assert_eq!(inbox.next(&mut unread).unwrap().delivery, kevent(1));
        assert_eq!(inbox.next(&mut unread).unwrap().delivery, kevent(2));
        assert_eq!(inbox.next(&mut unread), None);
        assert_eq!(inbox.stats().malformed_dropped, 1);
    }

    #[test]
    fn a_broken_framing_counts_once_and_ends_the_datagram() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 512];
        let first = datagram(&[kevent(1)], &mut buf);
        // A length field longer than what is left.
        let bad_at = (first + 3) & !3;
        buf[bad_at..bad_at + 4].copy_from_slice(&400u32.to_ne_bytes());
        let len = bad_at + 16;
        let mut unread = inbox.open(0, len, &buf[..len]).unwrap();
        assert_eq!(inbox.next(&mut unread).unwrap().delivery, kevent(1));
        assert_eq!(inbox.next(&mut unread), None);
        assert!(unread.is_empty());
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
        let got = accept(&mut inbox, 0, len, &buf[..len]).unwrap();
        assert_eq!(got, Received::from(unicast));
        assert_eq!(inbox.stats(), InboxStats::default());
    }

    #[test]
    fn foreign_cut_and_malformed_datagrams_are_counted() {
        let mut inbox = Inbox::new(FAMILY);
        let mut buf = [0u8; 256];
        let len = emit(&kevent(1), &mut buf);
        assert_eq!(accept(&mut inbox, 4242, len, &buf[..len]), None);
        assert_eq!(accept(&mut inbox, 0, len + 10, &buf[..len]), None);
        assert_eq!(accept(&mut inbox, 0, 10, &buf[..10]), None);
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
            accept(inbox, 0, len, &buf[..len]).unwrap().kevents_missed
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
        let got = accept(&mut inbox, 0, len, &buf[..len]).unwrap();
        let Delivery::SendFailed(failure) = got.delivery else {
            panic!("not a failure: {got:?}");
        };
        assert_eq!((failure.ticket, failure.errno), (17, 107));
        assert_eq!(failure.message, Some("socket is not a registered peer"));
        // A plain ACK is no delivery.
        let ack = ErrorRepr { error: 0, ..repr };
        let len = ack.emit(&mut buf).unwrap();
        assert_eq!(accept(&mut inbox, 0, len, &buf[..len]), None);
        assert_eq!(inbox.stats(), InboxStats::default());
    }
}
