//! The receiving side: the data socket, its sanity checks and counters, and
//! the posted sends that go out on it (so that their failures come back on it).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::LocalKey;
use std::time::Instant;

use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::wire::ipcon::{parse_incoming, Delivery, Incoming, Request, SendFailure};
use ipcon_core::wire::netlink::Messages;
use ipcon_core::KeventSeq;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::socket::{Datagram, NetlinkSocket, Wait};
use crate::sys::RECVMMSG_MAX;

/// Receive buffer on the stack: one delivery is a full payload plus two
/// names and a few numbers, well under this.
const DELIVERY_BUF_LEN: usize = MAX_PAYLOAD_LEN + 512;

/// Buffer on the stack for one posted request: a full payload, a name and a
/// few numbers with their headers.
const POST_BUF_LEN: usize = MAX_PAYLOAD_LEN + 128;

/// Datagrams one `recvmmsg` of [`Receiver::receive_many`] takes: its
/// buffers are on the stack (40 KiB).
const RECV_MANY_CHUNK: usize = RECVMMSG_MAX;

thread_local! {
    static DELIVERY_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static MANY_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static POST_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on `len` bytes of this thread's buffer `scratch`, allocated
/// on the thread's first use and kept. A buffer on the stack would be
/// cleared on every call: 2.5 KiB per receive and post, 40 KiB per
/// `receive_many`, a tenth of a small message's cost. The contents are
/// whatever the previous call left; callers only read what they wrote.
fn with_scratch<R>(
    scratch: &'static LocalKey<RefCell<Vec<u8>>>,
    len: usize,
    work: impl FnOnce(&mut [u8]) -> R,
) -> R {
    scratch.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            work(&mut buf[..len])
        }
        // Only if a call ran inside another on this thread (none does).
        Err(_) => work(&mut vec![0u8; len]),
    })
}

/// A data socket and what it counted.
#[derive(Debug)]
pub(crate) struct Receiver {
    socket: NetlinkSocket,
    family: u16,
    foreign_dropped: AtomicU64,
    malformed: AtomicU64,
    kevents_missed: AtomicU64,
    kevent_seq: Mutex<KeventSeq>,
}

impl Receiver {
    pub fn new(socket: NetlinkSocket, family: u16) -> Self {
        Self {
            socket,
            family,
            foreign_dropped: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            kevents_missed: AtomicU64::new(0),
            kevent_seq: Mutex::new(KeventSeq::new()),
        }
    }

    pub fn socket(&self) -> &NetlinkSocket {
        &self.socket
    }

    /// Sends a posted request (one with a ticket, asking for no ACK) on the
    /// data socket with one system call: its failure, if any, is queued to
    /// this socket before the call returns (a send-failed delivery, or an
    /// error ACK with the ticket as its sequence number). No heap allocation.
    pub fn post(&self, operation: &'static str, request: &Request<'_>) -> Result<()> {
        let seq = request.ticket().unwrap_or(0);
        with_scratch(&POST_SCRATCH, POST_BUF_LEN, |buf| {
            let len = request
                .emit(&request.header(self.family, seq, 0), buf)
                .map_err(|_| Error::new(operation, crate::ErrorKind::TooBig))?;
            self.socket
                .send(&buf[..len])
                .map_err(|e| Error::from_io(operation, &e))
        })
    }

    /// Forgets the last kernel event seen (on a new subscription).
    pub fn reset_kevent_seq(&self) {
        *self.kevent_seq.lock().unwrap_or_else(|e| e.into_inner()) = KeventSeq::new();
    }

    /// Receives as `wait` says into `msg`; returns how many kernel events
    /// were missed just before this one (0 for anything but a kernel event).
    /// Datagrams not from the kernel or not parsing are dropped and counted.
    /// No heap allocation.
    pub fn receive(&self, msg: &mut Message, wait: Wait) -> Result<u64> {
        let deadline = match wait {
            Wait::Timeout(t) => Instant::now().checked_add(t),
            _ => None,
        };
        with_scratch(&DELIVERY_SCRATCH, DELIVERY_BUF_LEN, |buf| loop {
            let this_wait = match (wait, deadline) {
                (Wait::Timeout(_), Some(d)) => {
                    Wait::Timeout(d.saturating_duration_since(Instant::now()))
                }
                _ => wait,
            };
            let got = self
                .socket
                .recv(buf, this_wait)
                .map_err(|e| Error::from_io("receive", &e))?;
            if let Some(missed) = self.accept(&got, buf, msg) {
                return Ok(missed);
            }
        })
    }

    /// Receives up to `msgs.len()` deliveries, several per `recvmmsg`,
    /// waiting as `wait` says for the first only; returns how many of `msgs`
    /// were filled (at least 1, unless `msgs` is empty). Every datagram goes
    /// through the checks of [`Receiver::receive`]. No heap allocation.
    pub fn receive_many(&self, msgs: &mut [Message], wait: Wait) -> Result<usize> {
        let deadline = match wait {
            Wait::Timeout(t) => Instant::now().checked_add(t),
            _ => None,
        };
        with_scratch(
            &MANY_SCRATCH,
            RECV_MANY_CHUNK * DELIVERY_BUF_LEN,
            |storage| self.receive_many_into(storage, msgs, wait, deadline),
        )
    }

    fn receive_many_into(
        &self,
        storage: &mut [u8],
        msgs: &mut [Message],
        wait: Wait,
        deadline: Option<Instant>,
    ) -> Result<usize> {
        let mut got = [Datagram::default(); RECV_MANY_CHUNK];
        let mut filled = 0;
        while filled < msgs.len() {
            // Once something arrived, only take what is already queued.
            let this_wait = match (filled, wait, deadline) {
                (1.., _, _) => Wait::Never,
                (0, Wait::Timeout(_), Some(d)) => {
                    Wait::Timeout(d.saturating_duration_since(Instant::now()))
                }
                _ => wait,
            };
            let want = (msgs.len() - filled).min(RECV_MANY_CHUNK);
            let received =
                match self
                    .socket
                    .recv_many(storage, DELIVERY_BUF_LEN, &mut got[..want], this_wait)
                {
                    Ok(n) => n,
                    // What was received is returned; a lasting error shows
                    // again on the next call.
                    Err(_) if filled > 0 => break,
                    Err(e) => return Err(Error::from_io("receive", &e)),
                };
            for (datagram, slot) in got[..received]
                .iter()
                .zip(storage.chunks_exact(DELIVERY_BUF_LEN))
            {
                if self.accept(datagram, slot, &mut msgs[filled]).is_some() {
                    filled += 1;
                }
            }
            // A short read means the queue is empty.
            if filled > 0 && received < want {
                break;
            }
        }
        Ok(filled)
    }

    /// Fills `msg` from the datagram `got` described, received into `buf`,
    /// if it is a delivery from the kernel; otherwise counts it as dropped.
    fn accept(&self, got: &Datagram, buf: &[u8], msg: &mut Message) -> Option<u64> {
        if got.source_port != 0 {
            self.foreign_dropped.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "log")]
            log::warn!(
                "ipcon: dropped a datagram from port {} (only the kernel may deliver)",
                got.source_port
            );
            return None;
        }
        if got.truncated {
            self.malformed.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "log")]
            log::warn!("ipcon: dropped a truncated datagram");
            return None;
        }
        self.take_delivery(&buf[..got.len.min(buf.len())], msg)
    }

    /// Fills `msg` from the first delivery in `datagram` (the kernel sends
    /// one per datagram); `None` when it held none (a late ACK, or something
    /// malformed).
    fn take_delivery(&self, datagram: &[u8], msg: &mut Message) -> Option<u64> {
        for packet in Messages::new(datagram) {
            let Ok(packet) = packet else {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            let delivery = match parse_incoming(&packet, self.family) {
                Ok(Incoming::Delivery(delivery)) => delivery,
                // Only posted requests are sent on the data socket once it
                // is registered: an error ACK on it is one of them refused
                // before the module could send a notice (a policy error, or
                // the peer is gone), and its sequence number is the ticket.
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
                    self.malformed.fetch_add(1, Ordering::Relaxed);
                    #[cfg(feature = "log")]
                    log::warn!("ipcon: dropped a malformed delivery: {_e}");
                    continue;
                }
            };
            let missed = match delivery {
                Delivery::Kevent(event) => {
                    let missed = self
                        .kevent_seq
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .observe(event.seq);
                    self.kevents_missed.fetch_add(missed, Ordering::Relaxed);
                    missed
                }
                _ => 0,
            };
            if msg.fill(&delivery, missed).is_err() {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Some(missed);
        }
        None
    }

    /// Datagrams dropped because they did not come from the kernel.
    pub fn foreign_dropped(&self) -> u64 {
        self.foreign_dropped.load(Ordering::Relaxed)
    }

    /// Datagrams dropped because they did not parse.
    pub fn malformed_dropped(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Kernel events missed (sequence gaps) since the handler was created.
    pub fn kevents_missed(&self) -> u64 {
        self.kevents_missed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;
    use ipcon_core::wire::ipcon::UnicastDelivery;
    use ipcon_core::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};

    /// A second socket of this process sends `count` well-formed-looking
    /// datagrams of the receiver's family straight to its port: none may be
    /// taken for a delivery. `false` when this process may not send to
    /// another port (root may, unprivileged processes may not).
    fn send_fake_deliveries(receiver: &Receiver, count: usize) -> bool {
        let sender = NetlinkSocket::open().unwrap();
        let fake = NetlinkHeaderRepr {
            message_type: 0x20,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        let mut datagram = [0u8; 64];
        let len = fake.emit(4, &mut datagram).unwrap();
        let target = rustix::net::netlink::SocketAddrNetlink::new(receiver.socket().port(), 0);
        (0..count).all(|_| {
            rustix::net::sendto(
                &sender,
                &datagram[..len + 4],
                rustix::net::SendFlags::empty(),
                &target,
            )
            .is_ok()
        })
    }

    #[test]
    fn foreign_datagrams_are_dropped_and_counted() {
        let receiver = Receiver::new(NetlinkSocket::open().unwrap(), 0x20);
        if !send_fake_deliveries(&receiver, 1) {
            return;
        }
        let mut msg = Message::new();
        let err = receiver
            .receive(
                &mut msg,
                Wait::Timeout(std::time::Duration::from_millis(100)),
            )
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Timeout);
        assert_eq!(receiver.foreign_dropped(), 1);
    }

    #[test]
    fn a_kernel_delivery_fills_the_message() {
        let receiver = Receiver::new(NetlinkSocket::open().unwrap(), 0x20);
        let sender = ipcon_core::wire::ipcon::Sender {
            name: Some(ipcon_core::Name::new("srv").unwrap()),
            port: 9,
            pid: 42,
            uid: 1000,
        };
        let delivery = Delivery::Unicast(UnicastDelivery {
            sender,
            payload: b"hi",
            missed: 0,
        });
        let mut buf = [0u8; 256];
        let hdr = NetlinkHeaderRepr {
            message_type: 0x20,
            flags: NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        let len = delivery.emit(&hdr, &mut buf).unwrap();
        let mut msg = Message::new();
        assert_eq!(receiver.take_delivery(&buf[..len], &mut msg), Some(0));
        assert_eq!(msg.kind(), MessageKind::Unicast);
        assert_eq!(msg.payload(), b"hi");
        assert_eq!(
            (msg.sender().port, msg.sender().pid, msg.sender().uid),
            (9, 42, 1000)
        );
        // Garbage is counted, not delivered.
        assert_eq!(receiver.take_delivery(&buf[..10], &mut msg), None);
        assert_eq!(receiver.malformed_dropped(), 1);
    }

    #[test]
    fn failure_notices_and_error_acks_become_send_failed_messages() {
        use crate::ErrorKind;
        use ipcon_core::wire::ack::{ErrorRepr, ExtAck};
        use ipcon_core::wire::ipcon::PeerRef;

        let receiver = Receiver::new(NetlinkSocket::open().unwrap(), 0x20);
        let hdr = NetlinkHeaderRepr {
            message_type: 0x20,
            flags: NetlinkFlags::empty(),
            seq: 5,
            port_id: 0,
        };
        let notice = Delivery::SendFailed(SendFailure {
            ticket: 5,
            errno: libc::EAGAIN as u32,
            message: Some("receiver queue is full"),
            peer: Some(PeerRef::Port(77)),
            group: None,
            missed: 1,
        });
        let mut buf = [0u8; 256];
        let len = notice.emit(&hdr, &mut buf).unwrap();
        let mut msg = Message::new();
        assert_eq!(receiver.take_delivery(&buf[..len], &mut msg), Some(0));
        assert_eq!(msg.kind(), MessageKind::SendFailed);
        assert_eq!(msg.ticket().map(|t| t.get()), Some(5));
        assert_eq!(msg.missed(), 1);
        let err = msg.send_error().unwrap();
        assert_eq!(err.kind(), ErrorKind::QueueFull);
        assert_eq!(err.errno(), Some(libc::EAGAIN));
        assert_eq!(err.operation(), "post unicast");
        assert_eq!(err.kernel_message(), Some("receiver queue is full"));

        // A posted request refused before the module saw it: an error ACK
        // whose sequence number is the ticket.
        let ack = ErrorRepr {
            error: -libc::EINVAL,
            request: NetlinkHeaderRepr {
                message_type: 0x20,
                flags: NetlinkFlags::REQUEST,
                seq: 6,
                port_id: 99,
            },
            ext: ExtAck {
                message: Some("Unknown attribute type"),
                offset: None,
                missing_type: None,
            },
        };
        let len = ack.emit(&mut buf).unwrap();
        assert_eq!(receiver.take_delivery(&buf[..len], &mut msg), Some(0));
        assert_eq!(msg.kind(), MessageKind::SendFailed);
        assert_eq!(msg.ticket().map(|t| t.get()), Some(6));
        let err = msg.send_error().unwrap();
        assert_eq!(err.errno(), Some(libc::EINVAL));
        assert_eq!(err.operation(), "post");
        assert_eq!(err.kernel_message(), Some("Unknown attribute type"));
        assert!(msg.as_core().target().is_none() && msg.group().is_none());
        // A plain ACK is no message.
        let ack = ErrorRepr { error: 0, ..ack };
        let len = ack.emit(&mut buf).unwrap();
        assert_eq!(receiver.take_delivery(&buf[..len], &mut msg), None);
    }

    #[test]
    fn receive_many_drops_and_counts_foreign_datagrams() {
        let receiver = Receiver::new(NetlinkSocket::open().unwrap(), 0x20);
        if !send_fake_deliveries(&receiver, 3) {
            return;
        }
        let mut msgs = [Message::new(), Message::new()];
        let err = receiver
            .receive_many(
                &mut msgs,
                Wait::Timeout(std::time::Duration::from_millis(100)),
            )
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Timeout);
        assert_eq!(receiver.foreign_dropped(), 3);
        assert_eq!(msgs[0].kind(), MessageKind::Empty);
        assert_eq!(receiver.receive_many(&mut [], Wait::Never).unwrap(), 0);
    }
}
